#include "bench_util.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <numeric>

namespace onshid::bench {

double Ms(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

std::string Tail(const std::string& text, std::size_t bytes) {
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  return static_cast<bool>(out);
}

double Stats::Percentile(double p) const {
  if (samples.empty()) return 0;
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double Stats::Mean() const {
  if (samples.empty()) return 0;
  return std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
}

double Stats::Max() const {
  return samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
}

void PrintHeader() {
  std::printf("%-58s %6s %9s %9s %9s %8s %8s\n", "measurement (ms)", "n", "p50", "p99", "max",
              "x p50", "x p99");
}

void PrintRow(const std::string& what, const Stats& s, const Stats* baseline) {
  std::string x50 = "1.00", x99 = "1.00";
  if (baseline) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", s.Percentile(50) / std::max(baseline->Percentile(50), 1e-3));
    x50 = buf;
    std::snprintf(buf, sizeof buf, "%.2f", s.Percentile(99) / std::max(baseline->Percentile(99), 1e-3));
    x99 = buf;
  }
  std::printf("%-58s %6zu %9.3f %9.3f %9.3f %8s %8s\n", what.c_str(), s.count(), s.Percentile(50),
              s.Percentile(99), s.Max(), x50.c_str(), x99.c_str());
  std::fflush(stdout);
}

Flags::Flags(int argc, char** argv, std::map<std::string, std::string> defaults, const char* usage)
    : values_(std::move(defaults)) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0 || values_.count(arg.substr(2)) == 0 || i + 1 >= argc) {
      std::cerr << "unknown or incomplete option: " << arg << "\n" << usage;
      std::exit(2);
    }
    values_[arg.substr(2)] = argv[++i];
  }
}

std::string Flags::Get(const std::string& name) const { return values_.at(name); }

long Flags::Int(const std::string& name, long min, long max) const {
  const std::string& v = values_.at(name);
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < min || n > max) {
    std::cerr << "--" << name << " must be an integer in " << min << ".." << max << "\n";
    std::exit(2);
  }
  return n;
}

}  // namespace onshid::bench
