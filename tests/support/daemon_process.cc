#include "daemon_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#ifndef ONSHID_BINARY
#error "ONSHID_BINARY must be defined to the path of the onshid executable"
#endif

namespace onshid::testing {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind(0) failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/onshid-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  // The managed PostgreSQL runs as an unprivileged user that must be able to reach its data dir.
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

DaemonProcess::DaemonProcess(std::string dir, std::string config_json,
                             std::map<std::string, std::string> env)
    : dir_(std::move(dir)), env_(std::move(env)) {
  config_path_ = dir_ + "/onshid.jsonc";
  log_path_ = dir_ + "/daemon.stderr";
  std::ofstream(config_path_) << config_json;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    WaitExit(std::chrono::seconds(10));
  }
  if (pidfd_ >= 0) close(pidfd_);
  if (notify_fd_ >= 0) close(notify_fd_);
}

bool DaemonProcess::Start(std::chrono::milliseconds timeout) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string notify_path = dir_ + "/notify.sock";
  unlink(notify_path.c_str());
  notify_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, notify_path.c_str(), sizeof(addr.sun_path) - 1);
  if (bind(notify_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot bind notify socket");
  }

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("ONSHID_", 0) == 0 || kv.rfind("NOTIFY_SOCKET=", 0) == 0) continue;
    env_strings.push_back(kv);
  }
  env_strings.push_back("NOTIFY_SOCKET=" + notify_path);
  for (const auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string binary = ONSHID_BINARY;
  std::vector<std::string> args = {binary, "--config", config_path_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));

  while (true) {
    auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0);
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{notify_fd_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) {
      char buf[4096];
      ssize_t len = recv(notify_fd_, buf, sizeof buf - 1, 0);
      if (len > 0) {
        std::string msg(buf, static_cast<std::size_t>(len));
        if (msg.find("READY=1") != std::string::npos) {
          ready_after_ = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - t0);
          return true;
        }
      }
    }
    if (fds[1].revents & POLLIN) {
      WaitExit(std::chrono::milliseconds(0));
      return false;
    }
  }
}

bool DaemonProcess::WaitNotify(const std::string& what, std::chrono::milliseconds timeout) {
  const auto t0 = std::chrono::steady_clock::now();
  while (true) {
    auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0);
    if (left.count() <= 0) return false;
    pollfd fd{notify_fd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t len = recv(notify_fd_, buf, sizeof buf - 1, 0);
    if (len > 0 && std::string(buf, static_cast<std::size_t>(len)).find(what) != std::string::npos) {
      return true;
    }
  }
}

void DaemonProcess::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);
}

std::optional<int> DaemonProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  pollfd fd{pidfd_, POLLIN, 0};
  if (poll(&fd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_path_);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace onshid::testing
