#include "api/metrics.h"

#include <set>
#include <sstream>

namespace onshid::api {

std::string EscapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

namespace {
std::string Num(double v) {
  std::ostringstream ss;
  ss.precision(15);
  ss << v;
  return ss.str();
}
}  // namespace

Metrics::Metrics(std::string version) : version_(std::move(version)) {}

void Metrics::ObserveRpc(const std::string& method, const std::string& code, double seconds) {
  std::lock_guard lock(mu_);
  Histogram& h = rpc_[{method, code}];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::CountAuthFailure(const std::string& method, const std::string& reason) {
  std::lock_guard lock(mu_);
  ++auth_failures_[{method, reason}];
}

void Metrics::AddSampler(Sampler sampler) {
  std::lock_guard lock(mu_);
  samplers_.push_back(std::move(sampler));
}

std::string Metrics::Render() const {
  std::ostringstream out;
  std::vector<Sampler> samplers;
  {
    std::lock_guard lock(mu_);
    samplers = samplers_;
    out << "# HELP onshid_build_info Build information; the value is always 1.\n"
        << "# TYPE onshid_build_info gauge\n"
        << "onshid_build_info{version=\"" << EscapeLabel(version_) << "\"} 1\n";

    out << "# HELP onshid_rpc_requests_total Finished RPCs by method and status code.\n"
        << "# TYPE onshid_rpc_requests_total counter\n";
    for (const auto& [key, h] : rpc_) {
      out << "onshid_rpc_requests_total{method=\"" << EscapeLabel(key.first) << "\",code=\""
          << EscapeLabel(key.second) << "\"} " << h.count << "\n";
    }
    out << "# HELP onshid_rpc_duration_seconds RPC latency by method and status code.\n"
        << "# TYPE onshid_rpc_duration_seconds histogram\n";
    for (const auto& [key, h] : rpc_) {
      std::string labels = "method=\"" + EscapeLabel(key.first) + "\",code=\"" + EscapeLabel(key.second) + "\"";
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        out << "onshid_rpc_duration_seconds_bucket{" << labels << ",le=\"" << Num(kBuckets[i])
            << "\"} " << h.buckets[i] << "\n";
      }
      out << "onshid_rpc_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << h.count << "\n";
      out << "onshid_rpc_duration_seconds_sum{" << labels << "} " << Num(h.sum) << "\n";
      out << "onshid_rpc_duration_seconds_count{" << labels << "} " << h.count << "\n";
    }
    out << "# HELP onshid_auth_failures_total Calls refused as unauthenticated or out of scope.\n"
        << "# TYPE onshid_auth_failures_total counter\n";
    for (const auto& [key, n] : auth_failures_) {
      out << "onshid_auth_failures_total{method=\"" << EscapeLabel(key.first) << "\",reason=\""
          << EscapeLabel(key.second) << "\"} " << n << "\n";
    }
  }
  // Gauges: group samples by name so each family gets one HELP/TYPE header.
  std::map<std::string, std::vector<Sample>> families;
  std::map<std::string, std::string> helps;
  for (const auto& s : samplers) {
    for (auto& sample : s()) {
      helps.emplace(sample.name, sample.help);
      families[sample.name].push_back(std::move(sample));
    }
  }
  for (const auto& [name, samples] : families) {
    out << "# HELP " << name << " " << helps[name] << "\n# TYPE " << name << " gauge\n";
    for (const auto& s : samples) {
      out << name;
      if (!s.labels.empty()) {
        out << "{";
        for (std::size_t i = 0; i < s.labels.size(); ++i) {
          out << (i ? "," : "") << s.labels[i].first << "=\"" << EscapeLabel(s.labels[i].second) << "\"";
        }
        out << "}";
      }
      out << " " << Num(s.value) << "\n";
    }
  }
  return out.str();
}

}  // namespace onshid::api
