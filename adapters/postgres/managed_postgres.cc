#include "postgres/managed_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>
#include <system_error>
#include <vector>

#include "postgres/pg_errors.h"

namespace onshid::postgres {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr const char* kRunAsKey = "storage.managed.run_as";
constexpr milliseconds kReadyProbeInterval{50};
constexpr milliseconds kQuitGrace{5000};

core::DomainError ConfigError(const std::string& message) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "MANAGED_POSTGRES_CONFIG";
  e.message = message;
  e.message_ja = "内蔵データベースの設定に誤りがあります。システム管理者に連絡してください。";
  return e;
}

core::DomainError InitFailed(const std::string& message, const fs::path& log_file) {
  return core::Unavailable(
      "MANAGED_POSTGRES_INIT_FAILED", message + "; see " + log_file.string(),
      "内蔵データベースを初期化できませんでした。システム管理者に連絡してください。");
}

core::DomainError StartFailed(const std::string& message, const fs::path& log_file) {
  return core::Unavailable(
      "MANAGED_POSTGRES_START_FAILED", message + "; see " + log_file.string(),
      "内蔵データベースを起動できませんでした。システム管理者に連絡してください。");
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// A value for a libpq "key=value" connection string.
std::string ConnValue(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \t\n\\'") == std::string::npos) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string DescribeWaitStatus(int status) {
  if (status < 0) return "exit status unknown";
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int PidFdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  const long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
  }
#else
  (void)pid;
#endif
  return -1;  // old kernel: callers fall back to polling
}

// Who initdb and postgres run as.
struct Identity {
  bool switch_user = false;  // true when we are root and run the server as another user
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;
};

core::Result<Identity> ResolveIdentity(const std::string& run_as) {
  Identity id;
  id.uid = geteuid();
  id.gid = getegid();
  if (id.uid != 0) return id;  // not root: run as ourselves, run_as is ignored

  if (run_as.empty()) {
    core::DomainError e = ConfigError(std::string(kRunAsKey) +
                                      " is empty; when onshid runs as root the managed PostgreSQL "
                                      "must run as an unprivileged user");
    e.reason = "MANAGED_POSTGRES_RUN_AS_UNKNOWN";
    return e;
  }
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = getpwnam_r(run_as.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr || found->pw_uid == 0) {
    core::DomainError e = ConfigError(
        std::string(kRunAsKey) + " = \"" + run_as + "\": " +
        (found != nullptr ? std::string("must not be root")
                          : std::string("no such user; create it (e.g. adduser --system ") +
                                run_as + ") or set " + kRunAsKey + " to an existing user"));
    e.reason = "MANAGED_POSTGRES_RUN_AS_UNKNOWN";
    return e;
  }
  id.switch_user = true;
  id.uid = found->pw_uid;
  id.gid = found->pw_gid;
  id.name = run_as;
  int ngroups = 32;
  id.groups.resize(static_cast<std::size_t>(ngroups));
  while (getgrouplist(run_as.c_str(), id.gid, id.groups.data(), &ngroups) < 0) {
    id.groups.resize(static_cast<std::size_t>(ngroups) + 1);
    ngroups = static_cast<int>(id.groups.size());
  }
  id.groups.resize(static_cast<std::size_t>(ngroups));
  return id;
}

// True when `id` may search (enter) directory `dir`, judged by its mode bits.
bool Searchable(const fs::path& dir, const Identity& id) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return false;
  if (st.st_uid == id.uid) return (st.st_mode & S_IXUSR) != 0;
  if (std::find(id.groups.begin(), id.groups.end(), st.st_gid) != id.groups.end() ||
      st.st_gid == id.gid) {
    return (st.st_mode & S_IXGRP) != 0;
  }
  return (st.st_mode & S_IXOTH) != 0;
}

core::Status CheckReachable(const fs::path& dir, const Identity& id) {
  if (!id.switch_user) return core::OkStatus();
  for (fs::path p = dir.parent_path(); !p.empty(); p = p.parent_path()) {
    if (!Searchable(p, id)) {
      return ConfigError("directory " + p.string() + " cannot be entered by user " + id.name +
                         " (" + kRunAsKey + "), so PostgreSQL cannot reach " + dir.string() +
                         "; allow it (e.g. chmod o+x " + p.string() +
                         ") or move the state directory");
    }
    if (p == p.root_path()) break;
  }
  return core::OkStatus();
}

// Creates `dir` if needed and gives it `mode` and (when switching user) the server's owner.
core::Status PrepareDir(const fs::path& dir, mode_t mode, const Identity& id,
                        bool chown_to_server) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ConfigError("cannot create directory " + dir.string() + ": " + ec.message());
  if (chmod(dir.c_str(), mode) != 0) {
    return ConfigError("cannot set the mode of " + dir.string() + ": " + ErrnoText(errno));
  }
  if (id.switch_user && chown_to_server && chown(dir.c_str(), id.uid, id.gid) != 0) {
    return ConfigError("cannot give " + dir.string() + " to user " + id.name + ": " +
                       ErrnoText(errno));
  }
  return core::OkStatus();
}

void ChildFail(const char* what) {
  // Only async-signal-safe calls between fork and exec.
  const char prefix[] = "onshid: cannot start managed PostgreSQL process: ";
  ssize_t ignored = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
  ignored = write(STDERR_FILENO, what, strlen(what));
  ignored = write(STDERR_FILENO, "\n", 1);
  (void)ignored;
  _exit(127);
}

// Starts `args[0]` with `args` as a new session, output appended to `log_file`, as `id`.
core::Result<pid_t> Spawn(const std::vector<std::string>& args, const Identity& id,
                          const fs::path& log_file, bool die_with_parent) {
  const int log_fd = open(log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    return ConfigError("cannot open log file " + log_file.string() + ": " + ErrnoText(errno));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    return core::Internal("cannot open /dev/null: " + ErrnoText(errno));
  }

  // Everything the child needs is prepared before fork: the child may only make system calls.
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C"};
  if (const char* tz = getenv("TZ")) env_strings.push_back(std::string("TZ=") + tz);
  std::vector<char*> envp;
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = getpid();

  // Block signals across fork so the child cannot run our handlers before it resets them.
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = fork();
  if (pid == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    setsid();  // not in the daemon's process group: a terminal's Ctrl+C reaches only the daemon
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0) {
      _exit(127);
    }
#ifdef SYS_close_range
    syscall(SYS_close_range, 3U, ~0U, 0U);  // keep none of the daemon's sockets open
#endif
    if (chdir("/") != 0) ChildFail("chdir(/) failed");
    if (id.switch_user) {
      if (setgroups(id.groups.size(), id.groups.data()) != 0) ChildFail("setgroups failed");
      if (setgid(id.gid) != 0) ChildFail("setgid failed");
      if (setuid(id.uid) != 0) ChildFail("setuid failed");
      if (getuid() != id.uid || geteuid() != id.uid) ChildFail("uid change did not take effect");
    }
    // After the uid change, which clears the parent-death signal.
    if (die_with_parent) {
      if (prctl(PR_SET_PDEATHSIG, SIGINT) != 0) ChildFail("prctl(PR_SET_PDEATHSIG) failed");
      if (getppid() != parent) _exit(1);  // the daemon died meanwhile
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    ChildFail("execve failed");
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  close(log_fd);
  close(null_fd);
  if (pid < 0) return core::Internal("fork failed: " + ErrnoText(fork_errno));
  return pid;
}

int WaitBlocking(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// State letter from /proc/<pid>/stat ('Z' zombie...), or 0 when unreadable.
char ProcState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const auto close_paren = line.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= line.size()) return 0;
  return line[close_paren + 2];
}

bool ProcessGone(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, WNOHANG);  // reaps it if it happens to be our child; else ECHILD
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  return ProcState(pid) == 'Z';
}

// Waits until a process that may not be our child has exited, or until `deadline`.
bool WaitGone(pid_t pid, Clock::time_point deadline) {
  const int pidfd = PidFdOpen(pid);
  bool gone = false;
  for (;;) {
    if (ProcessGone(pid)) {
      gone = true;
      break;
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - now).count() + 1;
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
    } else {
      poll(nullptr, 0, static_cast<int>(std::min<long long>(left, 20)));
    }
  }
  if (pidfd >= 0) close(pidfd);
  return gone;
}

struct PidFile {
  pid_t pid = 0;
  std::string data_dir;
};

std::optional<PidFile> ReadPidFile(const fs::path& file) {
  std::ifstream in(file);
  std::string pid_line;
  if (!std::getline(in, pid_line)) return std::nullopt;
  PidFile pf;
  try {
    pf.pid = static_cast<pid_t>(std::stol(pid_line));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::getline(in, pf.data_dir);
  if (pf.pid <= 0) return std::nullopt;
  return pf;
}

// True when `pid` is a running postgres executable.
std::optional<bool> IsPostgres(pid_t pid) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  if (ec) return std::nullopt;  // not ours to inspect: cannot tell
  // A package upgrade leaves "/usr/lib/postgresql/15/bin/postgres (deleted)".
  return exe.filename().string().rfind("postgres", 0) == 0;
}

bool SamePath(const fs::path& a, const fs::path& b) {
  std::error_code ec1;
  std::error_code ec2;
  return fs::weakly_canonical(a, ec1) == fs::weakly_canonical(b, ec2) && !ec1 && !ec2;
}

}  // namespace

core::Result<fs::path> FindPostgresBinDir(const fs::path& root) {
  std::error_code ec;
  fs::path best;
  double best_version = -1;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const fs::path bin = entry.path() / "bin";
    if (access((bin / "initdb").c_str(), X_OK) != 0 ||
        access((bin / "postgres").c_str(), X_OK) != 0) {
      continue;
    }
    double version = 0;
    try {
      version = std::stod(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    if (version > best_version) {
      best_version = version;
      best = bin;
    }
  }
  if (best.empty()) {
    return ConfigError("no PostgreSQL server binaries (initdb, postgres) found under " +
                       root.string() + "/*/bin; install the postgresql package or set the bin dir");
  }
  return best;
}

struct ManagedPostgres::Resolved {
  fs::path data_dir;
  fs::path socket_dir;
  fs::path log_file;
  fs::path bin_dir;
  Identity identity;
  std::string admin_dsn;
};

ManagedPostgres::ManagedPostgres(ManagedPostgresOptions options, ManagedPostgresListener listener)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  fs::path log_file = options_.log_file;
  if (log_file.empty() && !options_.data_dir.empty()) {
    log_file = fs::absolute(options_.data_dir).parent_path() / "log" / "postgres.log";
  }
  log_file_ = log_file;
}

ManagedPostgres::~ManagedPostgres() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

std::string ManagedPostgres::Dsn() const {
  std::lock_guard lock(mu_);
  return dsn_;
}

std::string ManagedPostgres::AdminDsn() const {
  std::lock_guard lock(mu_);
  return admin_dsn_;
}

pid_t ManagedPostgres::ServerPid() const {
  std::lock_guard lock(mu_);
  return server_pid_;
}

fs::path ManagedPostgres::LogFile() const {
  std::lock_guard lock(mu_);
  return log_file_;
}

void ManagedPostgres::Wake() {
  const std::uint64_t one = 1;
  if (wake_fd_ >= 0) {
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
}

void ManagedPostgres::Notify(ManagedPostgresEvent event, const std::string& detail) {
  if (!listener_) return;
  try {
    listener_(event, detail);
  } catch (const std::exception& e) {
    PostgresLogger()->error("managed postgres listener threw: {}", e.what());
  }
}

void ManagedPostgres::Stop() {
  stop_requested_ = true;
  Wake();  // cancels a Start() that is still waiting for the server
  std::lock_guard lock(start_mu_);
  if (!supervisor_.joinable()) return;
  stop_requested_ = true;  // a Start() that ran meanwhile reset it
  Wake();
  supervisor_.join();
  PostgresLogger()->info("managed PostgreSQL stopped");
}

void ManagedPostgres::AbandonForTest() {
  std::lock_guard lock(start_mu_);
  if (!supervisor_.joinable()) return;
  abandon_requested_ = true;
  Wake();
  supervisor_.join();
}

core::Result<std::string> ManagedPostgres::Start() {
  std::lock_guard lock(start_mu_);
  if (supervisor_.joinable()) return Dsn();
  return StartLocked();
}

core::Result<std::string> ManagedPostgres::StartLocked() {
  auto log = PostgresLogger();
  if (wake_fd_ < 0) return core::Internal("eventfd failed; cannot supervise PostgreSQL");
  std::uint64_t drained = 0;
  while (read(wake_fd_, &drained, sizeof(drained)) > 0) {
  }
  stop_requested_ = false;
  abandon_requested_ = false;

  if (options_.data_dir.empty()) return ConfigError("the managed PostgreSQL data dir is not set");
  if (options_.socket_dir.empty())
    return ConfigError("the managed PostgreSQL socket dir is not set");
  if (options_.database.empty())
    return ConfigError("the managed PostgreSQL database name is empty");

  Resolved r;
  r.data_dir = fs::absolute(options_.data_dir).lexically_normal();
  r.socket_dir = fs::absolute(options_.socket_dir).lexically_normal();
  r.log_file = LogFile();
  if (options_.bin_dir.empty()) {
    auto bin = FindPostgresBinDir();
    if (!bin) return bin.error();
    r.bin_dir = *bin;
  } else {
    r.bin_dir = options_.bin_dir;
    if (access((r.bin_dir / "initdb").c_str(), X_OK) != 0 ||
        access((r.bin_dir / "postgres").c_str(), X_OK) != 0) {
      return ConfigError("no initdb and postgres executables in " + r.bin_dir.string());
    }
  }
  const std::string socket_file = (r.socket_dir / ".s.PGSQL.5432").string();
  if (socket_file.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return ConfigError("socket dir " + r.socket_dir.string() + " is too long for a Unix socket (" +
                       std::to_string(socket_file.size()) + " bytes with the file name, at most " +
                       std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + ")");
  }
  if (r.socket_dir.string().find(',') != std::string::npos) {
    return ConfigError("socket dir " + r.socket_dir.string() + " must not contain a comma");
  }
  auto identity = ResolveIdentity(options_.run_as);
  if (!identity) return identity.error();
  r.identity = *identity;

  if (auto s = PrepareDir(r.data_dir, 0700, r.identity, true); !s) return s.error();
  if (auto s = PrepareDir(r.socket_dir, 0700, r.identity, true); !s) return s.error();
  if (auto s = PrepareDir(r.log_file.parent_path(), 0750, r.identity, false); !s) return s.error();
  if (auto s = CheckReachable(r.data_dir, r.identity); !s) return s.error();
  if (auto s = CheckReachable(r.socket_dir, r.identity); !s) return s.error();

  const std::string host = ConnValue(r.socket_dir.string());
  r.admin_dsn = "host=" + host + " dbname=postgres user=" + kSuperuser;
  {
    std::lock_guard lock(mu_);
    admin_dsn_ = r.admin_dsn;
    dsn_ = "host=" + host + " dbname=" + ConnValue(options_.database) + " user=" + kSuperuser;
  }

  if (auto s = StopOrphan(r); !s) return s.error();
  if (!fs::exists(r.data_dir / "PG_VERSION")) {
    if (auto s = InitDb(r); !s) return s.error();
  }

  std::promise<core::Status> started;
  std::future<core::Status> started_future = started.get_future();
  supervisor_ =
      std::thread([this, r, started = std::move(started)]() mutable { Supervise(r, started); });
  core::Status status = started_future.get();
  if (!status) {
    supervisor_.join();
    return status.error();
  }
  if (auto s = CreateDatabaseIfMissing(); !s) {
    stop_requested_ = true;
    Wake();
    supervisor_.join();
    return s.error();
  }
  log->info("managed PostgreSQL ready (data dir {}, socket dir {})", r.data_dir.string(),
            r.socket_dir.string());
  return Dsn();
}

core::Status ManagedPostgres::InitDb(const Resolved& r) {
  auto log = PostgresLogger();
  std::error_code ec;
  if (!fs::is_empty(r.data_dir, ec) || ec) {
    return InitFailed("data dir " + r.data_dir.string() +
                          " is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it "
                          "away so a new cluster can be created",
                      r.log_file);
  }
  // initdb into a sibling directory and rename it into place, so that an interrupted initdb never
  // leaves a half-made cluster where the next start would take it for a real one.
  fs::path staging = r.data_dir;
  staging += ".initdb";
  fs::remove_all(staging, ec);
  if (auto s = PrepareDir(staging, 0700, r.identity, true); !s) return s.error();

  log->info("initialising a new PostgreSQL cluster in {}", r.data_dir.string());
  std::vector<std::string> args = {(r.bin_dir / "initdb").string(),
                                   "-D",
                                   staging.string(),
                                   "-U",
                                   kSuperuser,
                                   "--auth=trust",  // safe: socket dir 0700, no TCP
                                   "-E",
                                   "UTF8",
                                   "--locale=C"};
  if (options_.unsafe_no_fsync) args.push_back("--no-sync");
  auto pid = Spawn(args, r.identity, r.log_file, true);
  if (!pid) return pid.error();
  const int status = WaitBlocking(*pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fs::remove_all(staging, ec);
    log->error("initdb failed ({})", DescribeWaitStatus(status));
    return InitFailed("initdb failed (" + DescribeWaitStatus(status) + ")", r.log_file);
  }
  fs::rename(staging, r.data_dir, ec);  // replaces the empty data dir
  if (ec) {
    return InitFailed(
        "cannot move the new cluster into " + r.data_dir.string() + ": " + ec.message(),
        r.log_file);
  }
  return core::OkStatus();
}

core::Status ManagedPostgres::StopOrphan(const Resolved& r) {
  auto log = PostgresLogger();
  std::error_code ec;
  // postmaster.pid, and the socket lock which postgres checks the same way.
  for (const fs::path& lock_file :
       {r.data_dir / "postmaster.pid", r.socket_dir / ".s.PGSQL.5432.lock"}) {
    const std::optional<PidFile> pf = ReadPidFile(lock_file);
    if (!pf || ProcessGone(pf->pid)) continue;  // absent or dead: postgres handles stale files
    const std::optional<bool> is_postgres = IsPostgres(pf->pid);
    if (!is_postgres) continue;  // cannot tell: leave it to postgres, which will say so in its log
    const bool ours = SamePath(pf->data_dir, r.data_dir);
    if (!*is_postgres) {
      // The pid was reused by an unrelated process: the file is stale and would block start-up.
      log->warn("removing stale lock file {} (pid {} is not PostgreSQL)", lock_file.string(),
                pf->pid);
      fs::remove(lock_file, ec);
      continue;
    }
    if (!ours) continue;
    log->warn("stopping an orphaned PostgreSQL (pid {}) left on {} by an earlier run", pf->pid,
              r.data_dir.string());
    kill(pf->pid, SIGINT);  // fast shutdown
    if (!WaitGone(pf->pid, Clock::now() + options_.stop_timeout)) {
      log->warn("orphaned PostgreSQL (pid {}) ignored fast shutdown; sending SIGQUIT", pf->pid);
      kill(pf->pid, SIGQUIT);
      if (!WaitGone(pf->pid, Clock::now() + kQuitGrace)) {
        kill(pf->pid, SIGKILL);
        if (!WaitGone(pf->pid, Clock::now() + kQuitGrace)) {
          return StartFailed("an orphaned PostgreSQL (pid " + std::to_string(pf->pid) +
                                 ") on this data dir cannot be stopped",
                             r.log_file);
        }
      }
    }
  }
  return core::OkStatus();
}

core::Status ManagedPostgres::CreateDatabaseIfMissing() {
  try {
    pqxx::connection c(AdminDsn() + " connect_timeout=10");
    pqxx::nontransaction txn(c, "create_database");
    if (txn.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", options_.database)
            .empty()) {
      PostgresLogger()->info("creating database {}", options_.database);
      txn.exec0("CREATE DATABASE " + txn.quote_name(options_.database));
    }
    return core::OkStatus();
  } catch (...) {
    MappedError mapped = MapDatabaseException(std::current_exception());
    return StartFailed("cannot create database " + options_.database + ": " + mapped.error.message,
                       LogFile());
  }
}

void ManagedPostgres::CloseChild(Child& child) {
  if (child.pidfd >= 0) close(child.pidfd);
  child = Child{};
}

ManagedPostgres::WaitOutcome ManagedPostgres::WaitChild(Child& child, bool wake_on_request,
                                                        Clock::time_point deadline, int* status) {
  for (;;) {
    const pid_t r = waitpid(child.pid, status, WNOHANG);
    if (r == child.pid) return WaitOutcome::kExited;
    if (r < 0 && errno == ECHILD) {  // reaped by someone else (SIGCHLD ignored?)
      *status = -1;
      return WaitOutcome::kExited;
    }
    if (wake_on_request && Cancelled()) return WaitOutcome::kWoken;
    const auto now = Clock::now();
    if (now >= deadline) return WaitOutcome::kTimedOut;

    pollfd fds[2];
    nfds_t n = 0;
    if (wake_on_request) fds[n++] = {wake_fd_, POLLIN, 0};
    if (child.pidfd >= 0) fds[n++] = {child.pidfd, POLLIN, 0};
    int timeout = -1;
    if (deadline != Clock::time_point::max()) {
      timeout = static_cast<int>(std::min<long long>(
          std::chrono::duration_cast<milliseconds>(deadline - now).count() + 1, 60'000));
    }
    if (child.pidfd < 0) timeout = timeout < 0 ? 50 : std::min(timeout, 50);  // no pidfd: poll
    poll(fds, n, timeout);
  }
}

void ManagedPostgres::ShutDownChild(Child& child) {
  auto log = PostgresLogger();
  int status = 0;
  kill(child.pid, SIGINT);  // fast shutdown: roll back open transactions, checkpoint, exit
  if (WaitChild(child, false, Clock::now() + options_.stop_timeout, &status) ==
      WaitOutcome::kTimedOut) {
    log->warn("PostgreSQL did not stop within {} ms; sending SIGQUIT",
              options_.stop_timeout.count());
    kill(child.pid, SIGQUIT);
    if (WaitChild(child, false, Clock::now() + kQuitGrace, &status) == WaitOutcome::kTimedOut) {
      log->error("PostgreSQL did not quit; sending SIGKILL");
      kill(child.pid, SIGKILL);
      WaitChild(child, false, Clock::time_point::max(), &status);
    }
  }
  CloseChild(child);
  std::lock_guard lock(mu_);
  server_pid_ = 0;
}

core::Result<ManagedPostgres::Child> ManagedPostgres::SpawnAndWaitReady(const Resolved& r) {
  std::vector<std::string> args = {
      (r.bin_dir / "postgres").string(),
      "-D",
      r.data_dir.string(),
      "-c",
      "listen_addresses=",  // no TCP at all
      "-c",
      "unix_socket_directories=" + r.socket_dir.string(),
      "-c",
      "unix_socket_permissions=0700",
      // Small-memory settings for a clinic PC running one daemon.
      "-c",
      "max_connections=40",
      "-c",
      "shared_buffers=32MB",
      "-c",
      "work_mem=4MB",
      "-c",
      "maintenance_work_mem=32MB",
      "-c",
      "effective_cache_size=256MB",
      "-c",
      "min_wal_size=80MB",
      "-c",
      "max_wal_size=256MB",
      "-c",
      "max_worker_processes=4",
      "-c",
      "max_parallel_workers=2",
      "-c",
      "max_parallel_workers_per_gather=0",
      "-c",
      "autovacuum_max_workers=2",
      "-c",
      "logging_collector=off",
      "-c",
      "log_destination=stderr",
      "-c",
      "log_line_prefix=%m [%p] ",
  };
  if (options_.unsafe_no_fsync) {
    // Not synchronous_commit=off: that would lose commits when the server process is killed.
    for (const char* s : {"fsync=off", "full_page_writes=off"}) {
      args.push_back("-c");
      args.push_back(s);
    }
  }
  auto pid = Spawn(args, r.identity, r.log_file, options_.stop_with_daemon);
  if (!pid) return pid.error();
  Child child{*pid, PidFdOpen(*pid)};
  {
    std::lock_guard lock(mu_);
    server_pid_ = child.pid;
  }

  const auto deadline = Clock::now() + options_.start_timeout;
  for (;;) {
    int status = 0;
    const auto outcome =
        WaitChild(child, true, std::min(deadline, Clock::now() + kReadyProbeInterval), &status);
    if (outcome == WaitOutcome::kExited) {
      CloseChild(child);
      std::lock_guard lock(mu_);
      server_pid_ = 0;
      return StartFailed("PostgreSQL exited during start-up (" + DescribeWaitStatus(status) + ")",
                         r.log_file);
    }
    if (outcome == WaitOutcome::kWoken) {
      ShutDownChild(child);
      return StartFailed("start-up cancelled", r.log_file);
    }
    try {
      pqxx::connection probe(r.admin_dsn + " connect_timeout=2");
      return child;
    } catch (const std::exception&) {
      // not accepting connections yet
    }
    if (Clock::now() >= deadline) {
      ShutDownChild(child);
      return StartFailed("PostgreSQL did not accept connections within " +
                             std::to_string(options_.start_timeout.count() / 1000) + " s",
                         r.log_file);
    }
  }
}

void ManagedPostgres::Supervise(const Resolved& r, std::promise<core::Status>& started) {
  auto log = PostgresLogger();
  auto first = SpawnAndWaitReady(r);
  if (!first) {
    log->error("{}", first.error().message);
    started.set_value(first.error());
    return;
  }
  Child child = *first;
  started.set_value(core::OkStatus());

  milliseconds backoff = options_.restart_backoff_initial;
  auto up_since = Clock::now();
  for (;;) {
    int status = 0;
    if (WaitChild(child, true, Clock::time_point::max(), &status) == WaitOutcome::kWoken) {
      if (abandon_requested_) {
        log->warn("no longer supervising PostgreSQL pid {} (test hook)", child.pid);
        CloseChild(child);
        std::lock_guard lock(mu_);
        server_pid_ = 0;
      } else {
        ShutDownChild(child);
      }
      return;
    }
    CloseChild(child);
    {
      std::lock_guard lock(mu_);
      server_pid_ = 0;
    }
    if (Clock::now() - up_since >= options_.restart_backoff_max) {
      backoff = options_.restart_backoff_initial;
    }
    const std::string detail = "PostgreSQL exited unexpectedly (" + DescribeWaitStatus(status) +
                               "); restarting in " + std::to_string(backoff.count()) + " ms; see " +
                               r.log_file.string();
    log->error("{}", detail);
    Notify(ManagedPostgresEvent::kDown, detail);

    for (;;) {
      // Cancellable wait for the backoff.
      const auto until = Clock::now() + backoff;
      while (!Cancelled() && Clock::now() < until) {
        pollfd pfd{wake_fd_, POLLIN, 0};
        const auto left =
            std::chrono::duration_cast<milliseconds>(until - Clock::now()).count() + 1;
        poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 60'000)));
      }
      if (Cancelled()) return;
      backoff = std::min(backoff * 2, options_.restart_backoff_max);
      auto next = SpawnAndWaitReady(r);
      if (next) {
        child = *next;
        up_since = Clock::now();
        log->info("PostgreSQL restarted (pid {})", child.pid);
        Notify(ManagedPostgresEvent::kUp, "PostgreSQL restarted");
        break;
      }
      if (Cancelled()) return;
      log->error("restarting PostgreSQL failed: {}; next attempt in {} ms", next.error().message,
                 backoff.count());
    }
  }
}

}  // namespace onshid::postgres
