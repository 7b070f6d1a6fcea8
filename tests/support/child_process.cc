#include "child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace onshid::testing {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kMaxListenFds = 16;

std::runtime_error Failure(const std::string& what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

bool Unset(const std::string& entry, const ChildOptions& o) {
  const std::string name = entry.substr(0, entry.find('='));
  if (o.env.count(name) != 0) return true;
  if (!o.listen_fds.empty() && name.rfind("LISTEN_", 0) == 0) return true;
  for (const auto& u : o.unset_env) {
    if (!u.empty() && u.back() == '*') {
      if (name.rfind(u.substr(0, u.size() - 1), 0) == 0) return true;
    } else if (name == u) {
      return true;
    }
  }
  return false;
}

int OpenAppend(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Failure("cannot open " + path, errno);
  return fd;
}

// Closes the descriptors from..~0 except `keep` (the exec-error pipe). Async-signal-safe.
void CloseFrom(int from, int keep) {
  const auto first = static_cast<unsigned>(from);
  const auto kept = static_cast<unsigned>(keep);
  if (keep < from) {
    syscall(SYS_close_range, first, ~0U, 0U);
    return;
  }
  if (keep > from) syscall(SYS_close_range, first, kept - 1, 0U);
  syscall(SYS_close_range, kept + 1, ~0U, 0U);
}

// In the child, after fork: only async-signal-safe calls. When a step fails, the child sends its
// errno over `report_fd` (close-on-exec: exec closes it silently) and exits.
[[noreturn]] void ExecChild(const char* path, char* const* argv, char* const* envp, int null_fd,
                            int stdout_fd, int stderr_fd, const int* listen, int listen_count,
                            char* listen_pid, const char* dir, int report_fd) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  auto fail = [&report_fd]() {
    const int e = errno;
    (void)!write(report_fd, &e, sizeof e);
    _exit(127);
  };
  // Every source moves above the targets (0, 1, 2, 3 .. 3+n-1) first, so no dup2 overwrites one.
  const int low = 3 + listen_count;
  auto lift = [&](int fd) {
    if (fd < 0 || fd >= low) return fd;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, low);
    if (moved < 0) fail();
    return moved;
  };
  report_fd = lift(report_fd);
  null_fd = lift(null_fd);
  stdout_fd = lift(stdout_fd);
  stderr_fd = lift(stderr_fd);
  int lifted[kMaxListenFds];
  for (int i = 0; i < listen_count; ++i) lifted[i] = lift(listen[i]);
  if (dup2(null_fd, 0) < 0) fail();
  if (stdout_fd >= 0 && dup2(stdout_fd, 1) < 0) fail();
  if (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0) fail();
  for (int i = 0; i < listen_count; ++i) {
    if (dup2(lifted[i], 3 + i) < 0) fail();
  }
  if (listen_pid != nullptr) {
    // Decimal formatting of our own PID into the prepared LISTEN_PID=... buffer.
    pid_t self = getpid();
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + self % 10);
      self /= 10;
    } while (self > 0);
    for (int i = 0; i < n; ++i) listen_pid[i] = digits[n - 1 - i];
    listen_pid[n] = '\0';
  }
  CloseFrom(low, report_fd);  // none of the test's sockets and files stays open in the child
  if (dir != nullptr && chdir(dir) != 0) fail();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(path, argv, envp);
  fail();
  _exit(127);  // not reached: fail() exits
}

ChildOptions LogTo(std::vector<std::string> argv, std::string log_path) {
  ChildOptions o;
  o.argv = std::move(argv);
  o.stdout_path = std::move(log_path);
  o.stderr_to_stdout = true;
  return o;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path)
    : ChildProcess(LogTo(std::move(argv), std::move(log_path))) {}

ChildProcess::ChildProcess(ChildOptions options) : options_(std::move(options)) {
  if (options_.argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  if (options_.listen_fds.size() > kMaxListenFds) {
    throw std::invalid_argument("ChildProcess: too many listening descriptors");
  }

  // Everything the child needs, before fork.
  std::vector<char*> argv;
  for (auto& a : options_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!Unset(*e, options_)) env.emplace_back(*e);
  }
  for (const auto& [k, v] : options_.env) env.push_back(k + "=" + v);
  std::size_t listen_pid_at = 0;
  if (!options_.listen_fds.empty()) {
    env.push_back("LISTEN_FDS=" + std::to_string(options_.listen_fds.size()));
    env.push_back("LISTEN_PID=" + std::string(20, '0'));  // filled in by the child
    listen_pid_at = env.size() - 1;
  }
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  char* listen_pid = options_.listen_fds.empty()
                         ? nullptr
                         : env[listen_pid_at].data() + std::strlen("LISTEN_PID=");

  std::vector<int> opened;
  auto close_opened = [&] {
    for (int fd : opened) close(fd);
  };
  int null_fd = -1, out_fd = -1, err_fd = -1;  // stdin, stdout, stderr in the child
  int pipe_fds[2] = {-1, -1};
  try {
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) throw Failure("cannot open /dev/null", errno);
    opened.push_back(null_fd);
    if (options_.stdout_path) {
      out_fd = OpenAppend(*options_.stdout_path);
      opened.push_back(out_fd);
    }
    if (options_.stderr_to_stdout) {
      err_fd = out_fd >= 0 ? out_fd : 1;
    } else if (options_.stderr_path) {
      err_fd = OpenAppend(*options_.stderr_path);
      opened.push_back(err_fd);
    }
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw Failure("pipe2", errno);
    opened.push_back(pipe_fds[0]);
    opened.push_back(pipe_fds[1]);
  } catch (...) {
    close_opened();
    throw;
  }
  const char* dir = options_.working_dir.empty() ? nullptr : options_.working_dir.c_str();

  // Signals stay blocked across fork so the child cannot run one of our handlers before it
  // resets them.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_ = fork();
  if (pid_ == 0) {
    ExecChild(argv[0], argv.data(), envp.data(), null_fd, out_fd, err_fd,
              options_.listen_fds.data(), static_cast<int>(options_.listen_fds.size()), listen_pid,
              dir, pipe_fds[1]);
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  close(pipe_fds[1]);
  std::erase(opened, pipe_fds[1]);
  if (pid_ < 0) {
    close_opened();
    throw Failure("fork", fork_errno);
  }
  // exec succeeded when the pipe closes without a word; otherwise the child sends its errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(pipe_fds[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close_opened();
  if (n > 0) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw Failure("cannot start " + options_.argv[0], child_errno);
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) {
    const int e = errno;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw Failure("pidfd_open", e);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Stop(options_.stop_signal, options_.stop_grace);
  if (pidfd_ >= 0) close(pidfd_);
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);
}

std::optional<int> ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    pollfd fd{pidfd_, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    const int r = poll(&fd, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (r > 0) break;
    if (r == 0 || errno != EINTR) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

bool ChildProcess::Running() { return pid_ > 0 && !WaitExit(std::chrono::milliseconds(0)); }

int ChildProcess::Stop(int sig, std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (!exit_code_) {
    kill(pid_, sig);
    if (!WaitExit(grace)) {
      kill(pid_, SIGKILL);
      WaitExit(std::chrono::seconds(10));
    }
  }
  return exit_code_.value_or(-1);
}

std::string ChildProcess::log() const {
  if (options_.stderr_to_stdout || !options_.stderr_path) {
    return options_.stdout_path ? ReadFile(*options_.stdout_path) : "";
  }
  return ReadFile(*options_.stderr_path);
}

CommandResult RunToEnd(ChildOptions options, std::chrono::milliseconds timeout) {
  char path[] = "/tmp/onshid-run-XXXXXX";
  const int fd = mkostemp(path, O_CLOEXEC);
  if (fd < 0) throw Failure("mkostemp", errno);
  close(fd);
  options.stdout_path = path;
  CommandResult r;
  {
    ChildProcess child(std::move(options));
    if (auto code = child.WaitExit(timeout)) {
      r.exit_code = *code;
    } else {
      r.timed_out = true;
      child.Stop(SIGKILL, std::chrono::seconds(10));
    }
  }
  r.output = ReadFile(path);
  unlink(path);
  return r;
}

CommandResult Run(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  ChildOptions o;
  o.argv = std::move(argv);
  o.stderr_to_stdout = true;
  return RunToEnd(std::move(o), timeout);
}

CommandResult RunCommand(const std::string& command, std::chrono::milliseconds timeout) {
  return Run({"/bin/sh", "-c", command}, timeout);
}

namespace {
bool CanConnect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Calls `check` whenever something changes in `dir` until it returns true or time runs out.
template <typename Check>
bool WaitInDir(const std::string& dir, std::chrono::milliseconds timeout, Check check) {
  const auto deadline = SteadyClock::now() + timeout;
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  inotify_add_watch(in, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB);
  bool ok = false;
  while (!(ok = check())) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) break;
    pollfd fd{in, POLLIN, 0};
    // Bounded wait: re-check at least every 200 ms in case the event raced the watch.
    if (poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 200))) > 0) {
      char buf[4096];
      while (read(in, buf, sizeof buf) > 0) {
      }
    }
  }
  close(in);
  return ok;
}
}  // namespace

bool WaitForUnixSocket(const std::string& path, std::chrono::milliseconds timeout) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return WaitInDir(dir, timeout, [&] { return CanConnect(path); });
}

std::optional<std::string> WaitForFile(const std::string& dir, const std::string& prefix,
                                       std::chrono::milliseconds timeout) {
  std::optional<std::string> found;
  WaitInDir(dir, timeout, [&] {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) {
        found = name;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace onshid::testing
