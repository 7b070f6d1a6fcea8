#pragma once
// Runs the real onshid binary as a child process for integration tests.
//
// Readiness is the systemd notification protocol: the test owns a NOTIFY_SOCKET datagram socket and
// waits for the daemon's READY=1 (so the daemon's sd_notify path is exercised too). The process is
// a ChildProcess: exit is awaited through a pidfd, never by sleeping. The benchmarks use it too.

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "child_process.h"

namespace onshid::testing {

// A free TCP port on 127.0.0.1 (bound and released; good enough on a test machine).
int FreePort();

// A fresh empty directory /tmp/<prefix>-XXXXXX (mode 0755, so the managed PostgreSQL user can
// reach its data dir), removed with everything in it by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "onshid-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct DaemonOptions {
  std::string binary;  // "" = the onshid of this build tree
  // While the daemon still runs, the destructor sends this signal, then SIGKILL after stop_grace.
  int stop_signal = SIGKILL;
  std::chrono::milliseconds stop_grace{10000};
};

class DaemonProcess {
 public:
  // `config_json` is written to <dir>/onshid.jsonc; `env` adds variables to the child's environment
  // (ONSHID_* and NOTIFY_SOCKET of the test's own are left out).
  DaemonProcess(std::string dir, std::string config_json,
                std::map<std::string, std::string> env = {}, DaemonOptions options = {});
  ~DaemonProcess();  // stops the daemon if still running (see DaemonOptions)

  // Starts the binary. Returns true when it sent READY=1 within `timeout`; false when it exited or
  // the time passed (see log()).
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Waits for a systemd notification containing `what` (e.g. "READY=1" after a SIGHUP reload).
  bool WaitNotify(const std::string& what, std::chrono::milliseconds timeout);

  // Sends a signal.
  void Signal(int sig);

  // Waits for exit; the exit code, or nullopt on timeout. A death by signal is 128 + signal.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);

  // How long Start() took until READY=1.
  std::chrono::milliseconds ready_after() const { return ready_after_; }

  // Everything the daemon wrote to stderr so far.
  std::string log() const;

  pid_t pid() const { return child_ ? child_->pid() : -1; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }

 private:
  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  std::map<std::string, std::string> env_;
  DaemonOptions options_;
  std::unique_ptr<ChildProcess> child_;
  int notify_fd_ = -1;
  std::chrono::milliseconds ready_after_{0};
};

}  // namespace onshid::testing
