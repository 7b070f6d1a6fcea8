#pragma once
// Small helpers shared by the C++ benchmark programs (bench/README.md): temporary directories,
// child processes killed by PID, the daemon started with NOTIFY_SOCKET readiness, latency
// statistics and the table the programs print. Benchmarks print numbers for people; nothing here
// asserts anything about speed.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace onshid::bench {

using SteadyClock = std::chrono::steady_clock;

// Milliseconds between two steady_clock points, as a double.
double Ms(SteadyClock::time_point from, SteadyClock::time_point to);

// A free TCP port on 127.0.0.1 (bound and released).
int FreePort();

// Lower-case hex SHA-256 (the form auth.tokens[].sha256 takes).
std::string Sha256Hex(const std::string& data);

// A fresh directory under /tmp (mode 0755, so the managed PostgreSQL user can reach its data
// dir), removed with everything in it by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process with stdout and stderr appended to `log_path`. The destructor sends SIGTERM to
// this PID, then SIGKILL if it has not exited within 10 s, and reaps it.
class Child {
 public:
  // `env` adds (or replaces) variables in the child's environment.
  Child(std::vector<std::string> argv, std::string log_path,
        std::map<std::string, std::string> env = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Signals the child and waits for it (SIGKILL after `grace`). Returns the exit status or -1.
  int Stop(int sig, std::chrono::milliseconds grace);
  std::string Log() const;  // the last 4 KiB of the log

 private:
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);

  std::string log_path_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

// The onshid daemon as a child process, ready once it sent READY=1 on its NOTIFY_SOCKET.
class Daemon {
 public:
  // Writes `config_json` to <dir>/onshid.jsonc; the daemon's stderr goes to <dir>/daemon.log.
  Daemon(std::string binary, std::string dir, const std::string& config_json);
  ~Daemon();  // SIGTERM (then SIGKILL) by PID
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // True when READY=1 arrived within `timeout`.
  bool Start(std::chrono::milliseconds timeout);
  std::chrono::milliseconds ready_after() const { return ready_after_; }
  std::string Log() const;

 private:
  std::string binary_;
  std::string dir_;
  int notify_fd_ = -1;
  std::optional<Child> child_;
  std::chrono::milliseconds ready_after_{0};
};

// Waits (bounded) until a Unix stream socket accepts connections.
bool WaitForUnixSocket(const std::string& path, std::chrono::milliseconds timeout);

// Runs argv, waits for it (bounded by `timeout`, then SIGKILL) and returns its stdout.
std::optional<std::string> RunCapture(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout);

std::string ReadFile(const std::string& path);
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
