#pragma once
// Runs the real onshid binary as a child process for integration tests.
//
// Readiness is the systemd notification protocol: the test owns a NOTIFY_SOCKET datagram socket and
// waits for the daemon's READY=1 (so the daemon's sd_notify path is exercised too). Exit is awaited
// through a pidfd, never by sleeping.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace onshid::testing {

// A free TCP port on 127.0.0.1 (bound and released; good enough on a test machine).
int FreePort();

// A fresh empty directory under /tmp, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class DaemonProcess {
 public:
  // `config_json` is written to <dir>/onshid.jsonc; `env` adds variables to the child's environment.
  DaemonProcess(std::string dir, std::string config_json, std::map<std::string, std::string> env = {});
  ~DaemonProcess();  // kills the daemon if still running

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

  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }

 private:
  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int notify_fd_ = -1;
  std::optional<int> exit_code_;
  std::chrono::milliseconds ready_after_{0};
};

}  // namespace onshid::testing
