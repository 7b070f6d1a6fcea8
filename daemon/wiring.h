#pragma once
// The wiring (composition root): the only code that knows every adapter. It builds the daemon's
// objects from a Config and connects them, starts and stops the background components of
// daemon/app (dependency monitor, sweeper, reader-event publisher), runs the daemon until
// SIGTERM/SIGINT, reloads on SIGHUP, and tears it down in order. No rules live here.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "app/config.h"
#include "core/error.h"

namespace onshid {

namespace oqs_folder {
class OqsFolderUpstream;
class PugixmlCodec;
}  // namespace oqs_folder
namespace pcsc {
class PcscCardReaders;
}  // namespace pcsc
namespace postgres {
class ManagedPostgres;
class PgStore;
}  // namespace postgres
namespace api {
class ApiServer;
class Authenticator;
class Metrics;
}  // namespace api
namespace app {
class CaseCheckIns;
class CheckInUseCases;
class DependencyMonitor;
class EligibilityUseCases;
class FallbackCaseUseCases;
class Executor;
class RandomIds;
class ReaderEventPublisher;
class Sweeper;
}  // namespace app
namespace core {
class StatusBoard;
class SystemClock;
}  // namespace core

class Daemon {
 public:
  explicit Daemon(app::Config config);
  ~Daemon();

  // Starts storage (managed PostgreSQL unless storage.dsn is set), migrates, starts the API.
  // On failure everything already started is stopped again and the error says what failed.
  core::Status Start();

  // Applies what SIGHUP reloads (log level, API tokens) from a freshly loaded config.
  void Reload(const app::Config& fresh);

  // Stops accepting, lets in-flight calls finish within service.shutdown_grace_ms, stops storage.
  void Stop();

  // Liveness for the systemd watchdog: true when the application executor ran a task and the
  // database pool answered a ping (successfully or not) within `timeout`. Thread-safe.
  bool Alive(std::chrono::milliseconds timeout);

  int grpc_port() const;
  int rest_port() const;
  int health_port() const;

 private:
  // Starts the PC/SC adapter and its event publisher when readers.enabled.
  core::Status StartReaders();
  void StartCheckIns();
  // Fallback cases: opened for NEEDS_FALLBACK check-ins, re-verified when the terminal answers.
  void StartFallback();

  app::Config config_;
  std::unique_ptr<core::SystemClock> clock_;
  std::unique_ptr<app::RandomIds> ids_;
  std::unique_ptr<core::StatusBoard> board_;
  std::unique_ptr<api::Metrics> metrics_;
  std::unique_ptr<api::Authenticator> auth_;
  std::unique_ptr<postgres::ManagedPostgres> managed_pg_;
  std::unique_ptr<postgres::PgStore> store_;
  std::unique_ptr<app::Executor> executor_;
  std::unique_ptr<oqs_folder::PugixmlCodec> codec_;
  std::unique_ptr<oqs_folder::OqsFolderUpstream> upstream_;
  std::unique_ptr<app::EligibilityUseCases> eligibility_;
  std::unique_ptr<pcsc::PcscCardReaders> readers_;
  std::unique_ptr<app::ReaderEventPublisher> reader_events_;
  std::unique_ptr<app::CheckInUseCases> checkins_;
  std::unique_ptr<app::CaseCheckIns> case_checkins_;
  std::unique_ptr<app::FallbackCaseUseCases> fallback_;
  std::unique_ptr<api::ApiServer> api_;
  std::unique_ptr<app::DependencyMonitor> monitor_;  // database, upstream and readers → board
  std::unique_ptr<app::Sweeper> sweeper_;  // check-in time-outs and recovery, re-verification, purge

  std::atomic<bool> pg_restarting_{false};  // the managed PostgreSQL is being restarted
  std::atomic<bool> db_probe_running_{false};  // a liveness ping is waiting for the pool
};

// Runs the daemon the way main() does: blocks SIGTERM/SIGINT/SIGHUP (the caller must have blocked
// them before starting any thread), starts, notifies systemd (READY=1, watchdog keep-alive), waits
// for signals, stops. `config_path` is re-read on SIGHUP. Returns the process exit code.
int RunDaemon(app::Config config, const std::string& config_path);

}  // namespace onshid
