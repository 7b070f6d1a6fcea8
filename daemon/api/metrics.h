#pragma once
// Prometheus metrics in the text exposition format (version 0.0.4), served on the health port.
//
// Hand-written because Debian 12 ships no Prometheus client library for C++; it covers only what
// the daemon exports: counters and histograms with fixed label sets, and gauges sampled at scrape
// time through a callback. Thread-safe.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace onshid::api {

class Metrics {
 public:
  // A gauge value sampled at scrape time: name, help, labels, value.
  struct Sample {
    std::string name;
    std::string help;
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
  };
  using Sampler = std::function<std::vector<Sample>()>;

  explicit Metrics(std::string version);

  // One finished RPC (gRPC or REST through the gateway): counts it and observes its latency.
  void ObserveRpc(const std::string& method, const std::string& code, double seconds);

  // A call refused before it ran: reason is UNAUTHENTICATED or PERMISSION_DENIED.
  void CountAuthFailure(const std::string& method, const std::string& reason);

  // Adds gauges computed at scrape time (uptime, pool usage, dependency states...).
  void AddSampler(Sampler sampler);

  // The whole exposition text.
  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::string version_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Histogram> rpc_;  // (method, code)
  std::map<std::pair<std::string, std::string>, std::uint64_t> auth_failures_;
  std::vector<Sampler> samplers_;
};

// Escapes a label value for the exposition format.
std::string EscapeLabel(const std::string& value);

}  // namespace onshid::api
