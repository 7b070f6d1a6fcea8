#include "bench_util.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace onshid::bench {

double Ms(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind(127.0.0.1:0) failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
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

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Child::Child(std::vector<std::string> argv, std::string log_path,
             std::map<std::string, std::string> env)
    : log_path_(std::move(log_path)) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && env.count(kv.substr(0, eq)) != 0) continue;
    if (kv.rfind("ONSHID_", 0) == 0 || kv.rfind("NOTIFY_SOCKET=", 0) == 0) continue;
    env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

Child::~Child() {
  Stop(SIGTERM, std::chrono::seconds(10));
  if (pidfd_ >= 0) close(pidfd_);
}

std::optional<int> Child::WaitExit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid_, &status, pidfd_ >= 0 ? 0 : WNOHANG) != pid_) return std::nullopt;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

bool Child::Running() { return pid_ > 0 && !WaitExit(std::chrono::milliseconds(0)); }

int Child::Stop(int sig, std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (!status_) {
    kill(pid_, sig);
    if (!WaitExit(grace)) {
      kill(pid_, SIGKILL);
      WaitExit(std::chrono::seconds(10));
    }
  }
  return status_ ? *status_ : -1;
}

std::string Child::Log() const {
  std::string all = ReadFile(log_path_);
  return all.size() > 4096 ? all.substr(all.size() - 4096) : all;
}

Daemon::Daemon(std::string binary, std::string dir, const std::string& config_json)
    : binary_(std::move(binary)), dir_(std::move(dir)) {
  WriteFile(dir_ + "/onshid.jsonc", config_json);
}

Daemon::~Daemon() {
  if (child_) child_->Stop(SIGTERM, std::chrono::seconds(15));
  child_.reset();
  if (notify_fd_ >= 0) close(notify_fd_);
}

bool Daemon::Start(std::chrono::milliseconds timeout) {
  const auto t0 = SteadyClock::now();
  const std::string notify_path = dir_ + "/notify.sock";
  unlink(notify_path.c_str());
  notify_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, notify_path.c_str(), sizeof(addr.sun_path) - 1);
  if (bind(notify_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  child_.emplace(std::vector<std::string>{binary_, "--config", dir_ + "/onshid.jsonc"},
                 dir_ + "/daemon.log", std::map<std::string, std::string>{{"NOTIFY_SOCKET", notify_path}});
  while (true) {
    auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
    if (left.count() <= 0) return false;
    pollfd p{notify_fd_, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 200)));
    if (n > 0) {
      char buf[4096];
      ssize_t len = recv(notify_fd_, buf, sizeof buf, 0);
      if (len > 0 && std::string(buf, static_cast<std::size_t>(len)).find("READY=1") != std::string::npos) {
        ready_after_ = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
        return true;
      }
    }
    if (!child_->Running()) return false;
  }
}

std::string Daemon::Log() const { return child_ ? child_->Log() : ""; }

bool WaitForUnixSocket(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::optional<std::string> RunCapture(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    dup2(fds[1], 1);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  const auto deadline = SteadyClock::now() + timeout;
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
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
