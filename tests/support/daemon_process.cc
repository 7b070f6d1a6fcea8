#include "daemon_process.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

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

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  // The managed PostgreSQL runs as an unprivileged user that must be able to reach its data dir.
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

DaemonProcess::DaemonProcess(std::string dir, std::string config_json,
                             std::map<std::string, std::string> env, DaemonOptions options)
    : dir_(std::move(dir)), env_(std::move(env)), options_(std::move(options)) {
  if (options_.binary.empty()) options_.binary = ONSHID_BINARY;
  config_path_ = dir_ + "/onshid.jsonc";
  log_path_ = dir_ + "/daemon.stderr";
  std::ofstream(config_path_) << config_json;
}

DaemonProcess::~DaemonProcess() {
  child_.reset();
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

  ChildOptions child;
  child.argv = {options_.binary, "--config", config_path_};
  child.env = env_;
  child.env["NOTIFY_SOCKET"] = notify_path;
  child.unset_env = {"ONSHID_*", "NOTIFY_SOCKET"};
  child.stderr_path = log_path_;
  child.stop_signal = options_.stop_signal;
  child.stop_grace = options_.stop_grace;
  child_ = std::make_unique<ChildProcess>(std::move(child));

  while (true) {
    auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0);
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{notify_fd_, POLLIN, 0}, {child_->pidfd(), POLLIN, 0}};
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
      child_->WaitExit(std::chrono::milliseconds(0));
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
  if (child_) child_->Signal(sig);
}

std::optional<int> DaemonProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (!child_) return std::nullopt;
  return child_->WaitExit(timeout);
}

std::string DaemonProcess::log() const { return ReadFile(log_path_); }

}  // namespace onshid::testing
