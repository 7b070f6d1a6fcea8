#pragma once
// The one way tests and benchmarks run another program (the daemon, the terminal simulator, pcscd,
// the virtual card, onshictl, a shell command): ChildProcess.
//
// Everything the child needs (argv, environment, files, descriptors) is prepared before fork():
// the test process has threads, so between fork and exec the child makes only async-signal-safe
// system calls. The child starts with default signal dispositions, an empty signal mask, stdin on
// /dev/null and no descriptor of the test's open except its stdout/stderr and the listening
// sockets it is given. A program that cannot be executed is reported by the constructor (the
// errno comes back over a close-on-exec pipe), not as a mysterious exit code 127 later.
// Exit is awaited through a pidfd, never by sleeping.

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace onshid::testing {

struct ChildOptions {
  std::vector<std::string> argv;  // argv[0] is the program's path (no PATH search)
  // Set in the child's environment (added, or replacing the test's value).
  std::map<std::string, std::string> env;
  // Left out of the test's environment: a name, or a prefix ending in '*' ("ONSHID_*").
  std::vector<std::string> unset_env;
  std::string working_dir;  // "" = the test's
  // Appended to (created 0644). nullopt = the test's own stdout / stderr.
  std::optional<std::string> stdout_path = "/dev/null";
  std::optional<std::string> stderr_path = "/dev/null";
  bool stderr_to_stdout = false;  // stderr shares stdout's file (in order); stderr_path is unused
  // systemd socket activation: these descriptors become 3, 4, ... in the child, with LISTEN_FDS
  // and LISTEN_PID (the child's own PID) set and any inherited LISTEN_* removed.
  std::vector<int> listen_fds;
  // What the destructor does while the child still runs: this signal, then SIGKILL after
  // stop_grace.
  int stop_signal = SIGTERM;
  std::chrono::milliseconds stop_grace{5000};
};

class ChildProcess {
 public:
  // Starts the child; throws std::runtime_error when it cannot be started or executed.
  explicit ChildProcess(ChildOptions options);
  // `argv` with stdout and stderr appended to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();  // Stop(stop_signal, stop_grace) while it still runs

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends `sig` to this PID (nothing once the child exited and was reaped).
  void Signal(int sig);
  // The exit code once the child exited (a death by signal is 128 + signal); nullopt while it
  // still runs after `timeout`.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  bool Running();
  // Sends `sig`, waits up to `grace`, then SIGKILL; reaps the child. The exit code as WaitExit.
  int Stop(int sig, std::chrono::milliseconds grace);

  // What the child wrote to its stderr file so far (its stdout file when stderr goes there).
  std::string log() const;
  pid_t pid() const { return pid_; }
  // Readable once the child exited: poll it together with other descriptors.
  int pidfd() const { return pidfd_; }

 private:
  ChildOptions options_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> exit_code_;
};

// What a program that ran to its end printed.
struct CommandResult {
  int exit_code = -1;      // as ChildProcess::WaitExit; -1 when it was killed after the timeout
  std::string output;      // stdout, and stderr when it went there
  bool timed_out = false;  // killed (SIGKILL) after the timeout
};

// Runs `options` to its end, bounded by `timeout`. Its stdout is captured (stdout_path is not
// used), and its stderr with it when stderr_to_stdout.
CommandResult RunToEnd(ChildOptions options, std::chrono::milliseconds timeout);

// Runs `argv`; stdout and stderr captured together.
CommandResult Run(std::vector<std::string> argv,
                  std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Runs a shell command (/bin/sh -c); stdout and stderr captured together.
CommandResult RunCommand(const std::string& command,
                         std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Waits until a Unix stream socket at `path` accepts connections (woken by inotify on its folder,
// never by sleeping). False on timeout.
bool WaitForUnixSocket(const std::string& path, std::chrono::milliseconds timeout);

// Waits until a file whose name starts with `prefix` exists in `dir` (inotify). Returns its name.
std::optional<std::string> WaitForFile(const std::string& dir, const std::string& prefix,
                                       std::chrono::milliseconds timeout);

// The whole content of a file ("" when it cannot be read).
std::string ReadFile(const std::string& path);

}  // namespace onshid::testing
