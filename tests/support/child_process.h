#pragma once
// A helper program (terminal simulator, virtual card...) run as a separate process by a test.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace onshid::testing {

class ChildProcess {
 public:
  // Starts `argv` (argv[0] is the binary path) with stderr and stdout appended to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();  // SIGTERM, then SIGKILL if it does not exit within 5 s

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Signal(int sig);
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  bool Running();
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> exit_code_;
};

// Waits until a Unix stream socket at `path` accepts connections (woken by inotify on its folder,
// never by sleeping). False on timeout.
bool WaitForUnixSocket(const std::string& path, std::chrono::milliseconds timeout);

// Waits until a file whose name starts with `prefix` exists in `dir` (inotify). Returns its name.
std::optional<std::string> WaitForFile(const std::string& dir, const std::string& prefix,
                                       std::chrono::milliseconds timeout);

// Runs a shell command; returns exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command);

}  // namespace onshid::testing
