#pragma once
// Small helpers shared by the C++ benchmark programs (bench/README.md): latency statistics, the
// table the programs print and their command-line flags. Processes (the daemon, the terminal
// simulator, other programs), temporary directories and the daemon's event stream come from the
// tests' support library (tests/support: child_process.h, daemon_process.h, desk_client.h), so the
// benchmarks start, stop and watch them exactly as the integration tests do. Benchmarks print
// numbers for people; nothing here asserts anything about speed.

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace onshid::bench {

using SteadyClock = std::chrono::steady_clock;

// Milliseconds between two steady_clock points, as a double.
double Ms(SteadyClock::time_point from, SteadyClock::time_point to);

// Lower-case hex SHA-256 (the form auth.tokens[].sha256 takes).
std::string Sha256Hex(const std::string& data);

// The last `bytes` of `text` (a log's tail for an error message).
std::string Tail(const std::string& text, std::size_t bytes = 4096);

// Writes `data` to `path` (created or truncated). False on any error.
bool WriteFile(const std::string& path, const std::string& data);

// Latency samples in milliseconds.
struct Stats {
  std::vector<double> samples;
  void Add(double ms) { samples.push_back(ms); }
  std::size_t count() const { return samples.size(); }
  // Nearest-rank percentile (p in 0..100); 0 when empty.
  double Percentile(double p) const;
  double Mean() const;
  double Max() const;
};

// Prints "measurement / n / p50 / p99 / max / x baseline p50 / x baseline p99" rows.
void PrintHeader();
void PrintRow(const std::string& what, const Stats& s, const Stats* baseline);

// --name value command-line options with defaults; unknown names are an error.
class Flags {
 public:
  Flags(int argc, char** argv, std::map<std::string, std::string> defaults, const char* usage);
  std::string Get(const std::string& name) const;
  long Int(const std::string& name, long min, long max) const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace onshid::bench
