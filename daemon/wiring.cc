#include "wiring.h"

#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "api/auth.h"
#include "api/metrics.h"
#include "api/server.h"
#include "app/case_check_ins.h"
#include "app/checkin.h"
#include "app/dependency_board.h"
#include "app/dependency_monitor.h"
#include "app/eligibility.h"
#include "app/executor.h"
#include "app/fallback_cases.h"
#include "app/instance_id.h"
#include "app/logging.h"
#include "app/random_ids.h"
#include "app/reader_events.h"
#include "app/sweeper.h"
#include "core/clock.h"
#include "core/dependency.h"
#include "failpoint/failpoint.h"
#include "onshid/version.h"
#include "oqs_folder/oqs_folder_upstream.h"
#include "oqs_folder/pugixml_codec.h"
#include "pcsc/pcsc_card_readers.h"
#include "pcsc/x509_certificate.h"
#include "postgres/managed_postgres.h"
#include "postgres/pg_store.h"

namespace onshid {
namespace {

core::DomainError StartupError(std::string reason, std::string message) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = std::move(reason);
  e.message = std::move(message);
  return e;
}

}  // namespace

Daemon::Daemon(app::Config config)
    : config_(std::move(config)),
      clock_(std::make_unique<core::SystemClock>()),
      ids_(std::make_unique<app::RandomIds>()),
      board_(std::make_unique<core::StatusBoard>(*clock_)),
      metrics_(std::make_unique<api::Metrics>(kVersion)),
      auth_(std::make_unique<api::Authenticator>(config_.auth.tokens)) {}

Daemon::~Daemon() { Stop(); }

core::Status Daemon::Start() {
  auto log = app::Logger("main");
  const auto start_time = clock_->Now();
  std::error_code ec;
  std::filesystem::create_directories(config_.state_dir, ec);
  if (ec) {
    return StartupError("STATE_DIR_UNUSABLE",
                        "state_dir: cannot create " + config_.state_dir + ": " + ec.message());
  }

  app::ReportDatabaseStarting(*board_);

  std::string dsn = config_.storage.dsn;
  if (dsn.empty()) {
    postgres::ManagedPostgresOptions opts;
    opts.data_dir = config_.state_dir + "/pgdata";
    opts.socket_dir = config_.state_dir + "/run";
    opts.log_file = config_.state_dir + "/log/postgres.log";
    opts.bin_dir = config_.storage.managed.bin_dir;
    opts.run_as = config_.storage.managed.run_as;
    managed_pg_ = std::make_unique<postgres::ManagedPostgres>(
        opts, [this](postgres::ManagedPostgresEvent event, const std::string& detail) {
      const bool up = event == postgres::ManagedPostgresEvent::kUp;
      pg_restarting_ = !up;
      if (up) {
        app::ReportDatabaseOk(*board_);
      } else {
        app::ReportManagedDatabaseRestarting(*board_, detail);
      }
      if (api_) api_->RefreshHealth();
    });
    log->info("starting managed PostgreSQL under {}", opts.data_dir.string());
    auto started = managed_pg_->Start();
    if (!started) return started.error();
    dsn = started.value();
  } else {
    log->info("using the configured PostgreSQL server (storage.dsn)");
  }

  postgres::PgStoreOptions store_opts;
  store_opts.dsn = dsn;
  store_opts.pool_size = config_.storage.pool_size;
  store_opts.connect_timeout_ms = config_.storage.connect_timeout_ms;
  store_opts.statement_timeout_ms = config_.storage.statement_timeout_ms;
  store_opts.lock_timeout_ms = config_.storage.lock_timeout_ms;
  store_opts.idle_in_transaction_timeout_ms = config_.storage.idle_in_transaction_timeout_ms;
  store_opts.keepalives_idle_s = config_.storage.keepalives_idle_s;
  store_opts.keepalives_interval_s = config_.storage.keepalives_interval_s;
  store_opts.keepalives_count = config_.storage.keepalives_count;
  store_ = std::make_unique<postgres::PgStore>(store_opts);
  auto version = store_->Open();
  if (!version) return version.error();
  log->info("database migrated to schema version {}", version.value());
  app::ReportDatabaseOk(*board_);

  metrics_->AddSampler([this, start_time] {
    std::vector<api::Metrics::Sample> s;
    using namespace std::chrono;
    s.push_back({"onshid_uptime_seconds", "Seconds since the daemon started.", {},
                 duration<double>(clock_->Now() - start_time).count()});
    s.push_back({"onshid_start_time_seconds", "Start time of the daemon (Unix time).", {},
                 duration<double>(start_time.time_since_epoch()).count()});
    if (store_) {
      auto p = store_->PoolUsage();
      s.push_back({"onshid_db_pool_connections", "Database connections in the pool.", {},
                   static_cast<double>(p.size)});
      s.push_back({"onshid_db_pool_busy", "Database connections running a query.", {},
                   static_cast<double>(p.busy)});
      s.push_back({"onshid_db_pool_queued", "Database jobs waiting for a connection.", {},
                   static_cast<double>(p.queued)});
    }
    for (const auto& d : board_->Snapshot()) {
      s.push_back({"onshid_dependency_up", "1 when the dependency is OK (or disabled), else 0.",
                   {{"name", d.name}},
                   d.state == core::DependencyState::kOk || d.state == core::DependencyState::kDisabled ? 1.0 : 0.0});
    }
    s.push_back({"onshid_ready", "1 when the daemon is ready to serve.", {}, board_->Ready() ? 1.0 : 0.0});
    return s;
  });

  executor_ = std::make_unique<app::Executor>(config_.service.worker_threads);
  if (failpoint::Active()) log->warn("failpoints are set (ONSHID_FAILPOINT): this is a test run");

  if (config_.upstream.folder.empty()) {
    app::ReportUpstreamNotConfigured(*board_);
  } else {
    const auto encoding = config_.upstream.encoding == "shift_jis" ? oqs_folder::Encoding::kShiftJis
                                                                   : oqs_folder::Encoding::kUtf8;
    codec_ = std::make_unique<oqs_folder::PugixmlCodec>(encoding);
    auto instance = app::LoadInstanceId(config_.state_dir, config_.upstream.folder);
    if (!instance) return instance.error();
    log->info("instance {} on the terminal folder (upstream.folder)", instance.value());
    oqs_folder::OqsFolderOptions o;
    o.instance_id = instance.value();
    o.answer_timeout = std::chrono::seconds(config_.upstream.answer_timeout_s);
    o.late_answer_window = std::chrono::seconds(config_.upstream.late_answer_window_s);
    o.folder = config_.upstream.folder;
    o.encoding = encoding;
    o.max_in_flight = config_.upstream.max_in_flight;
    o.max_queued = config_.upstream.max_queued;
    o.archive_dir = config_.state_dir + "/oqs/archive";
    o.quarantine_dir = config_.state_dir + "/oqs/quarantine";
    o.face_mirror_dir = config_.upstream.face_mirror_dir;
    o.poll_interval = std::chrono::milliseconds(config_.upstream.poll_interval_ms);
    o.settle_delay = std::chrono::milliseconds(config_.upstream.settle_ms);
    upstream_ = std::make_unique<oqs_folder::OqsFolderUpstream>(o, *clock_, *store_);
    eligibility_ = std::make_unique<app::EligibilityUseCases>(
        *upstream_, *store_, *store_, *store_, *store_, *codec_, *clock_, *ids_, *executor_,
        app::EligibilityOptions{config_.upstream.medical_institution_code});
  }

  if (auto s = StartReaders(); !s) return s.error();
  StartCheckIns();
  StartFallback();
  app::DependencyMonitorOptions monitor_opts;
  monitor_opts.interval = std::chrono::milliseconds(config_.storage.health_interval_ms);
  monitor_opts.stale_request_warn = std::chrono::seconds(config_.upstream.stale_request_warn_s);
  monitor_opts.database_restarting = [this] { return pg_restarting_.load(); };
  monitor_ = std::make_unique<app::DependencyMonitor>(*store_, upstream_.get(), readers_.get(),
                                                      *board_, *store_, *clock_, monitor_opts);
  if (upstream_) {
    // Started after the check-in use cases exist, so that no face result misses correlation.
    if (auto s = upstream_->Start(eligibility_->Handlers()); !s) return s.error();
    log->info("watching the terminal folder (upstream.folder)");
    monitor_->RefreshUpstream();
  }

  api::ApiDeps deps;
  deps.config = &config_;
  deps.auth = auth_.get();
  deps.metrics = metrics_.get();
  deps.store = store_.get();
  deps.request_keys = store_.get();
  deps.events = store_.get();
  deps.results = store_.get();
  deps.eligibility = eligibility_.get();
  deps.readers = readers_.get();
  deps.checkins = checkins_.get();
  deps.fallback_cases = fallback_.get();
  deps.board = board_.get();
  deps.executor = executor_.get();
  deps.ids = ids_.get();
  deps.clock = clock_.get();
  deps.start_time = start_time;
  deps.schema_version = version.value();
  deps.gateway_secret = ids_->NewId();
  api_ = std::make_unique<api::ApiServer>(deps);
  if (auto s = api_->Start(); !s) return s.error();

  monitor_->Start([this] {
    if (api_) api_->RefreshHealth();
  });
  app::SweeperOptions sweeper_opts;
  sweeper_opts.interval = std::chrono::milliseconds(config_.checkin.sweep_interval_ms);
  sweeper_opts.purge_interval = std::chrono::seconds(config_.fallback.purge_interval_s);
  sweeper_opts.request_key_retention = std::chrono::hours(config_.service.request_key_retention_h);
  sweeper_ = std::make_unique<app::Sweeper>(*checkins_, *fallback_, *store_, upstream_.get(),
                                            *board_, *clock_, sweeper_opts);
  sweeper_->Start();
  if (config_.auth.tokens.empty()) {
    log->warn("auth.tokens is empty: every API call will be refused as UNAUTHENTICATED");
  }
  return core::OkStatus();
}

core::Status Daemon::StartReaders() {
  if (!config_.readers.enabled) {
    app::ReportReadersDisabled(*board_);
    return core::OkStatus();
  }
  pcsc::PcscOptions o;
  auto anchors = std::make_shared<pcsc::TrustAnchors>();
  for (const auto& file : config_.readers.trust_anchor_files) {
    try {
      anchors->AddFile(file);
    } catch (const std::exception& e) {
      return StartupError("TRUST_ANCHOR_UNREADABLE",
                          "readers.trust_anchor_files: " + file + ": " + e.what());
    }
  }
  o.card.trust_anchors = anchors;
  std::ifstream secret_in(config_.readers.card_key_secret_file, std::ios::binary);
  std::string secret((std::istreambuf_iterator<char>(secret_in)), std::istreambuf_iterator<char>());
  if (secret.size() < 16) {
    return StartupError("CARD_KEY_SECRET_UNUSABLE",
                        "readers.card_key_secret_file: " + config_.readers.card_key_secret_file +
                            " must hold at least 16 bytes");
  }
  o.card.card_key_secret.assign(secret.begin(), secret.end());
  std::fill(secret.begin(), secret.end(), '\0');
  o.card.max_certificate_bytes = static_cast<std::size_t>(config_.readers.max_certificate_bytes);
  readers_ = std::make_unique<pcsc::PcscCardReaders>(o, *clock_, app::Logger("readers"));
  reader_events_ =
      std::make_unique<app::ReaderEventPublisher>(*readers_, *store_, *board_, *executor_);
  reader_events_->Start();
  readers_->Start();
  reader_events_->ReadersStarted();
  return core::OkStatus();
}

void Daemon::StartCheckIns() {
  app::CheckInOptions o;
  for (const auto& desk : config_.checkin.desks) {
    o.known_desks.insert(desk.id);
    for (const auto& device : desk.devices) o.desks.emplace(device, desk.id);
  }
  o.face_device = "face";
  o.window.after_start = std::chrono::seconds(config_.checkin.result_window_s);
  o.late_window = std::chrono::seconds(config_.checkin.late_window_s);
  o.query_timeout = std::chrono::seconds(config_.checkin.query_timeout_s);
  checkins_ = std::make_unique<app::CheckInUseCases>(*store_, eligibility_.get(), readers_.get(),
                                                     *clock_, *ids_, *executor_, o);
  if (eligibility_) {
    eligibility_->SetResultListener([this](const app::ResultView& view) {
      // Off the upstream's thread; a result that is stored but not yet correlated when the
      // daemon stops is picked up by the sweep after the restart.
      executor_->Post([this, view] { checkins_->OnResult(view); });
    });
  }
}

void Daemon::StartFallback() {
  app::FallbackOptions o;
  o.reads_smartphones = config_.fallback.reads_smartphones;
  o.personal_data_retention = std::chrono::hours(24 * config_.fallback.personal_data_retention_days);
  o.reverify_interval = std::chrono::milliseconds(config_.fallback.reverify_interval_ms);
  o.reverify_max_attempts = config_.fallback.reverify_max_attempts;
  o.return_watch_days = config_.fallback.return_watch_days;
  case_checkins_ = std::make_unique<app::CheckInBridge>(*checkins_, eligibility_.get());
  fallback_ = std::make_unique<app::FallbackCaseUseCases>(*store_, *store_, case_checkins_.get(),
                                                          *clock_, *ids_, *executor_, o);
  checkins_->SetChangeListener([this](const app::CheckInView& view) { fallback_->OnCheckIn(view); });
  if (upstream_) checkins_->SetUpstreamGate([this] { return app::UpstreamAnswering(*board_); });
}

void Daemon::Reload(const app::Config& fresh) {
  auto log = app::Logger("main");
  app::SetLogLevel(fresh.log.level);
  auth_->Reload(fresh.auth.tokens);
  config_.log = fresh.log;
  config_.auth = fresh.auth;
  log->info("reloaded: log level {}, {} API token(s)", fresh.log.level, fresh.auth.tokens.size());
}

void Daemon::Stop() {
  // Background work first: both read what is torn down below.
  if (monitor_) monitor_->Stop();
  if (sweeper_) sweeper_->Stop();
  monitor_.reset();
  sweeper_.reset();
  if (api_) api_->Shutdown(std::chrono::milliseconds(config_.service.shutdown_grace_ms));
  if (eligibility_) {
    eligibility_->SetResultListener(nullptr);
    eligibility_->Shutdown();
  }
  if (reader_events_) reader_events_->Stop();
  if (readers_) readers_->Stop();
  if (upstream_) upstream_->Stop();
  if (executor_) executor_->Join();
  api_.reset();
  reader_events_.reset();
  fallback_.reset();
  case_checkins_.reset();
  checkins_.reset();
  eligibility_.reset();
  readers_.reset();
  upstream_.reset();
  codec_.reset();
  if (store_) store_->Close();
  store_.reset();
  if (managed_pg_) managed_pg_->Stop();
  managed_pg_.reset();
}

bool Daemon::Alive(std::chrono::milliseconds timeout) {
  if (!executor_ || !store_) return false;
  // One probe on the executor that pings the database pool: it answers when the executor runs
  // tasks and the pool answers (an error is an answer: a database that is down is reported on the
  // board, not a hang of this process). One probe at a time: a probe still running from before
  // means one of them does not answer. Stop() joins the executor, so the probe never outlives us.
  if (db_probe_running_.exchange(true)) return false;
  auto answered = std::make_shared<std::promise<void>>();
  auto future = answered->get_future();
  executor_->Post([this, answered] {
    (void)store_->Ping();
    db_probe_running_ = false;
    answered->set_value();
  });
  return future.wait_for(timeout) == std::future_status::ready;
}

int Daemon::grpc_port() const { return api_ ? api_->grpc_port() : 0; }
int Daemon::rest_port() const { return api_ ? api_->rest_port() : 0; }
int Daemon::health_port() const { return api_ ? api_->health_port() : 0; }

int RunDaemon(app::Config config, const std::string& config_path) {
  auto log = app::Logger("main");
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);

  const auto t0 = std::chrono::steady_clock::now();
  log->info("onshid {} starting (site {})", kVersion, config.site_id);
  Daemon daemon(config);
  if (auto s = daemon.Start(); !s) {
    log->critical("start-up failed: {} [{}]", s.error().message, s.error().reason);
    sd_notifyf(0, "STATUS=start-up failed: %s", s.error().reason.c_str());
    daemon.Stop();
    return 1;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  log->info("ready in {} ms: gRPC {} REST {} health {}", ms, daemon.grpc_port(), daemon.rest_port(),
            daemon.health_port());
  sd_notify(0, "READY=1\nSTATUS=serving");

  // Watchdog keep-alive at half the interval systemd asks for.
  std::uint64_t watchdog_usec = 0;
  std::mutex wd_mu;
  std::condition_variable wd_cv;
  bool wd_stop = false;
  std::thread watchdog;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    // Fed only while the daemon answers a liveness probe (its executor runs tasks and its
    // database pool answers), so systemd restarts a hung daemon.
    const auto half = std::chrono::microseconds(watchdog_usec / 2);
    watchdog = std::thread([&, half] {
      bool was_alive = true;
      std::unique_lock lock(wd_mu);
      while (!wd_cv.wait_for(lock, half, [&] { return wd_stop; })) {
        lock.unlock();
        const bool alive =
            daemon.Alive(std::chrono::duration_cast<std::chrono::milliseconds>(half));
        if (alive) sd_notify(0, "WATCHDOG=1");
        if (alive != was_alive) {
          if (alive) {
            log->info("liveness probe answered again; watchdog fed");
          } else {
            log->error("liveness probe not answered (executor or database pool hung); the systemd "
                       "watchdog is not fed");
          }
          was_alive = alive;
        }
        lock.lock();
      }
    });
  }

  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      try {
        app::Config fresh = config_path.empty() ? app::Config{} : app::LoadConfigFile(config_path);
        app::ApplyEnvironment(fresh, app::OnshidEnvironment());
        daemon.Reload(fresh);
      } catch (const app::ConfigError& e) {
        log->error("reload refused, keeping the running configuration: {}", e.what());
      }
      sd_notify(0, "READY=1");
      continue;
    }
    log->info("signal {} received: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  sd_notify(0, "STOPPING=1");
  {
    std::lock_guard lock(wd_mu);
    wd_stop = true;
  }
  wd_cv.notify_all();
  if (watchdog.joinable()) watchdog.join();
  daemon.Stop();
  log->info("stopped");
  return 0;
}

}  // namespace onshid
