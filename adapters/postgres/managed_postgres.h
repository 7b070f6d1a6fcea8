#pragma once
// ManagedPostgres: a private PostgreSQL cluster run from the installed server binaries (the
// "embedded" default when no DSN is configured; see ARCHITECTURE.md, "Managed PostgreSQL").
//
// The cluster lives in options.data_dir, listens on a Unix socket in options.socket_dir only
// (listen_addresses=''; the socket dir is mode 0700), and trusts local connections as superuser
// "onshid" - safe only because nothing but this process's user can reach the socket. When the
// daemon runs as root, initdb and postgres run as options.run_as and the directories are chown'ed
// to that user; otherwise they run as the current user and run_as is ignored.
//
// Start(): initialises the cluster on first use (no PG_VERSION yet), stops an orphaned postmaster
// left on the same data dir by a crashed daemon, starts `postgres` as a child process (its output
// goes to options.log_file, never to our stderr), waits until it accepts connections, creates the
// database if missing and returns its DSN. A supervisor thread then watches the child: if it exits
// unexpectedly the listener gets kDown, the server is restarted with backoff
// (restart_backoff_initial doubling up to restart_backoff_max) and the listener gets kUp once it
// accepts connections again. Stop(): fast shutdown (SIGINT), then SIGQUIT and SIGKILL after bounded
// waits; joins the supervisor. The server is also told to shut down (SIGINT, via PR_SET_PDEATHSIG)
// if the daemon dies.
//
// Threading: Start() and Stop() may be called from any thread (they serialise); Stop() may be
// called concurrently with a Start() that is still waiting and cancels it. The listener runs on the
// supervisor thread and must not call Start() or Stop(). The process must not ignore SIGCHLD
// (SIG_IGN) or reap children with waitpid(-1), or the supervisor cannot see the server exit.
//
// Errors (Start() returns them; nothing is thrown for expected failures):
//   FAILED_PRECONDITION "MANAGED_POSTGRES_CONFIG"        bad options (missing dirs, no server
//                                                        binaries, socket path too long, data dir
//                                                        not reachable by run_as); message says
//                                                        which
//   FAILED_PRECONDITION "MANAGED_POSTGRES_RUN_AS_UNKNOWN" running as root and
//   storage.managed.run_as
//                                                        names no user (or root)
//   UNAVAILABLE "MANAGED_POSTGRES_INIT_FAILED"           initdb failed; message names the log file
//   UNAVAILABLE "MANAGED_POSTGRES_START_FAILED"          the server exited or did not accept
//                                                        connections within start_timeout; message
//                                                        names the log file

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"

namespace onshid::postgres {

struct ManagedPostgresOptions {
  std::filesystem::path data_dir;    // e.g. <state_dir>/pgdata; created mode 0700
  std::filesystem::path socket_dir;  // e.g. <state_dir>/run; created mode 0700
  std::filesystem::path log_file;    // empty: <data_dir>/../log/postgres.log
  std::filesystem::path bin_dir;     // empty: the highest /usr/lib/postgresql/*/bin with the server
  std::string run_as = "onshid";     // config key storage.managed.run_as; used only as root
  std::string database = "onshid";
  std::chrono::milliseconds start_timeout{30000};  // until the server accepts connections
  std::chrono::milliseconds stop_timeout{20000};   // fast shutdown, before SIGQUIT/SIGKILL
  std::chrono::milliseconds restart_backoff_initial{1000};
  std::chrono::milliseconds restart_backoff_max{30000};
  // Tests only: true turns off fsync (data may be lost when the machine, not the server, crashes).
  bool unsafe_no_fsync = false;
  // Tests only: false lets the server outlive this process (to simulate an orphaned postmaster).
  bool stop_with_daemon = true;
};

// The highest <root>/<major>/bin holding both initdb and postgres (Debian's layout), or
// MANAGED_POSTGRES_CONFIG when there is none.
core::Result<std::filesystem::path> FindPostgresBinDir(
    const std::filesystem::path& root = "/usr/lib/postgresql");

enum class ManagedPostgresEvent {
  kDown,  // the server exited unexpectedly; a restart is scheduled
  kUp,    // the server was restarted and accepts connections again
};

// Called on the supervisor thread; `detail` is English for IT staff (no personal data).
using ManagedPostgresListener =
    std::function<void(ManagedPostgresEvent event, const std::string& detail)>;

class ManagedPostgres {
 public:
  static constexpr const char* kSuperuser = "onshid";

  // No I/O; never throws for bad options (Start() reports them).
  explicit ManagedPostgres(ManagedPostgresOptions options, ManagedPostgresListener listener = {});
  ~ManagedPostgres();  // Stop()

  ManagedPostgres(const ManagedPostgres&) = delete;
  ManagedPostgres& operator=(const ManagedPostgres&) = delete;

  // Brings the server up (see above) and returns the DSN of the database, e.g.
  // "host=/var/lib/onshid/run dbname=onshid user=onshid". Returns the same DSN when already
  // running. May be called again after Stop().
  core::Result<std::string> Start();

  // Stops the server and the supervisor. Idempotent; a no-op when not started.
  void Stop();

  // The DSN of the database (valid after a successful Start()); "" before.
  std::string Dsn() const;
  // The DSN of the maintenance database "postgres" (for tests and tools).
  std::string AdminDsn() const;
  // The postmaster's pid while supervised, else 0.
  pid_t ServerPid() const;
  // Where the server's and initdb's output goes.
  std::filesystem::path LogFile() const;

  // Test hook simulating a daemon that crashed while its server survived: stops supervising
  // without stopping the server (which keeps running only with stop_with_daemon = false).
  void AbandonForTest();

 private:
  struct Resolved;  // validated paths and the identity to run as
  struct Child {
    pid_t pid = 0;
    int pidfd = -1;
  };
  enum class WaitOutcome { kExited, kWoken, kTimedOut };

  core::Result<std::string> StartLocked();
  core::Status InitDb(const Resolved& r);
  core::Status StopOrphan(const Resolved& r);
  core::Status CreateDatabaseIfMissing();
  void Supervise(const Resolved& r, std::promise<core::Status>& started);
  core::Result<Child> SpawnAndWaitReady(const Resolved& r);
  void ShutDownChild(Child& child);
  WaitOutcome WaitChild(Child& child, bool wake_on_request,
                        std::chrono::steady_clock::time_point deadline, int* status);
  bool Cancelled() const { return stop_requested_.load() || abandon_requested_.load(); }
  void Wake();
  void Notify(ManagedPostgresEvent event, const std::string& detail);
  static void CloseChild(Child& child);

  const ManagedPostgresOptions options_;
  const ManagedPostgresListener listener_;
  int wake_fd_ = -1;  // eventfd: readable once Stop()/AbandonForTest() was requested

  std::mutex start_mu_;  // serialises Start() and Stop()
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> abandon_requested_{false};
  std::thread supervisor_;

  mutable std::mutex mu_;  // guards the fields below
  std::string dsn_;
  std::string admin_dsn_;
  std::filesystem::path log_file_;
  pid_t server_pid_ = 0;
};

}  // namespace onshid::postgres
