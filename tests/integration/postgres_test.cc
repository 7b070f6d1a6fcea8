// adapters/postgres against a real PostgreSQL run by ManagedPostgres (tests/support/pg_test_env.h):
// managed mode life cycle, the contracts of every store port on PgStore (Store, CheckInStore,
// FallbackCaseStore, EventStore, UpstreamJournal, ResultStore, ReferenceNumberStore,
// RequestKeyStore — the suites the in-memory fakes pass too), the migrations runner, the supervisor
// and orphan clean-up; and (issue 11) event cursors in commit order under another connection's
// held transaction, what the database itself refuses, migration 0006 and session bounds.

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "postgres/connection_pool.h"
#include "postgres/managed_postgres.h"
#include "postgres/migrate.h"
#include "postgres/pg_session.h"
#include "postgres/pg_store.h"
#include "schema/migrations.h"
#include "support/check_in_store_contract.h"
#include "support/event_store_contract.h"
#include "support/fallback_case_store_contract.h"
#include "support/pg_test_env.h"
#include "support/request_key_store_contract.h"
#include "support/result_store_contract.h"
#include "support/store_contract.h"
#include "support/upstream_journal_contract.h"

namespace onshid {
namespace {

namespace fs = std::filesystem;
using postgres::ManagedPostgres;
using postgres::ManagedPostgresEvent;
using postgres::PgStore;
using postgres::PgStoreOptions;
using testing::PgTestEnv;
using testing::SharedPgTestEnv;

std::string Describe(const core::DomainError& e) { return e.reason + ": " + e.message; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The real uid of a process, from /proc/<pid>/status.
uid_t ProcessUid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) return static_cast<uid_t>(std::stoul(line.substr(4)));
  }
  return static_cast<uid_t>(-1);
}

// As root the server runs as the test's run_as user, else as ourselves.
uid_t ExpectedServerUid() {
  if (geteuid() != 0) return geteuid();
  const passwd* pw = getpwnam(testing::TestRunAsUser().c_str());
  return pw != nullptr ? pw->pw_uid : static_cast<uid_t>(-1);
}

core::AuditRecord SampleRecord(const std::string& request_id) {
  core::AuditRecord r;
  r.at = core::SystemTime(std::chrono::seconds(1711929600));
  r.request_id = request_id;
  r.client = "reception-1";
  r.method = "/onshi.v1.CheckInService/Create";
  r.channel = "rest";
  r.subject = "checkin:1";
  r.outcome = "OK";
  return r;
}

// Collects supervisor events; waits on a condition variable, never sleeps.
class EventRecorder {
 public:
  postgres::ManagedPostgresListener Listener() {
    return [this](ManagedPostgresEvent event, const std::string&) {
      std::lock_guard lock(mu_);
      events_.push_back(event);
      cv_.notify_all();
    };
  }

  // True when at least `count` events arrived within `timeout`.
  bool WaitFor(std::size_t count, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= count; });
  }

  std::vector<ManagedPostgresEvent> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ManagedPostgresEvent> events_;
};

TEST_CASE("managed postgres initialises once and keeps data across a restart",
          "[postgres][managed]") {
  PgTestEnv env;
  const auto options = env.Options();
  REQUIRE_FALSE(fs::exists(options.data_dir / "PG_VERSION"));

  {
    ManagedPostgres pg(options);
    auto dsn = pg.Start();
    INFO((dsn.ok() ? std::string() : Describe(dsn.error())));
    REQUIRE(dsn.ok());
    CHECK(*dsn == "host=" + options.socket_dir.string() + " dbname=onshid user=onshid");
    CHECK(fs::exists(options.data_dir / "PG_VERSION"));
    REQUIRE(pg.ServerPid() > 0);
    CHECK(ProcessUid(pg.ServerPid()) == ExpectedServerUid());
    CHECK((fs::status(options.socket_dir).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK(fs::exists(options.log_file));

    PgStore store(PgStoreOptions{*dsn, 2, 5000});
    auto version = store.Open();
    INFO((version.ok() ? std::string() : Describe(version.error())));
    REQUIRE(version.ok());
    CHECK(*version == schema::LatestVersion());
    REQUIRE(store.AppendAudit(SampleRecord("before-restart")).ok());
    store.Close();

    pg.Stop();
    CHECK(pg.ServerPid() == 0);
    CHECK_FALSE(fs::exists(options.data_dir / "postmaster.pid"));  // clean shutdown
  }

  // A marker in the data dir: initdb would refuse a non-empty dir, and we check it survives.
  std::ofstream(options.data_dir / "onshid-test-marker") << "keep";

  ManagedPostgres pg(options);
  auto dsn = pg.Start();
  INFO((dsn.ok() ? std::string() : Describe(dsn.error())));
  REQUIRE(dsn.ok());
  CHECK(fs::exists(options.data_dir / "onshid-test-marker"));
  PgStore store(PgStoreOptions{*dsn, 2, 5000});
  auto version = store.Open();
  REQUIRE(version.ok());
  CHECK(*version == schema::LatestVersion());
  core::AuditQuery q;
  q.request_id = "before-restart";
  auto listed = store.ListAudit(q);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].subject == "checkin:1");
  store.Close();
  pg.Stop();
}

TEST_CASE("PgStore contract", "[postgres][store][contract]") {
  PgTestEnv& env = SharedPgTestEnv();
  testing::RunStoreContract([&env]() -> std::unique_ptr<core::Store> {
    auto store = std::make_unique<PgStore>(PgStoreOptions{env.CreateDatabase(), 2, 5000});
    auto version = store->Open();
    INFO((version.ok() ? std::string() : Describe(version.error())));
    REQUIRE(version.ok());
    return store;
  });
}

// Stores a result of `source` received at `received_at` and returns its id.
std::int64_t StoreResultAt(PgStore& store, const std::string& source,
                           core::SystemTime received_at) {
  static int stored = 0;
  core::StoredResult r;
  r.source = source;
  r.file_name = source + "-" + std::to_string(++stored) + ".xml";
  r.raw = "<result>" + r.file_name + "</result>";
  r.raw_sha256 = "sha-" + r.file_name;  // distinct: not a duplicate delivery
  r.xml_utf8 = r.raw;
  r.received_at = received_at;
  auto outcome = store.StoreResult(r, {});
  INFO((outcome.ok() ? std::string() : Describe(outcome.error())));
  REQUIRE(outcome.ok());
  return outcome->id;
}

TEST_CASE("PgStore check-in store contract", "[postgres][check_in_store][contract]") {
  PgTestEnv& env = SharedPgTestEnv();
  PgStore store(PgStoreOptions{env.CreateDatabase(), 2, 5000});  // a new database per section
  auto version = store.Open();
  INFO((version.ok() ? std::string() : Describe(version.error())));
  REQUIRE(version.ok());
  using core::checkin::Attachments;
  using testing::check_in_contract_internal::At;
  using testing::check_in_contract_internal::Row;
  auto events = [&store] {
    auto listed = store.ListAfter(0, 1000);
    INFO((listed.ok() ? std::string() : Describe(listed.error())));
    REQUIRE(listed.ok());
    return *listed;
  };

  SECTION("the contract") {
    testing::CheckInStoreHooks hooks;
    hooks.add_face_result = [&store](core::SystemTime at) {
      return StoreResultAt(store, "face", at);
    };
    hooks.events = events;
    testing::RunCheckInStoreContract(store, hooks);
  }

  SECTION("events written with a check-in are listed in order and wake subscribers") {
    // Shared with the callback, which the listener thread may still be running after Unsubscribe.
    struct Wakes {
      std::mutex mu;
      std::condition_variable cv;
      int count = 0;
    };
    auto wakes = std::make_shared<Wakes>();
    const int handle = store.Subscribe([wakes] {
      std::lock_guard lock(wakes->mu);
      ++wakes->count;
      wakes->cv.notify_all();
    });
    REQUIRE(store.Append(core::Event{0, At(1), "face.received", 0, "", "f.xml", "", {}}).ok());

    Attachments with;
    with.events = {core::Event{0, At(2), "checkin.created", 0, "req-1", "", "created", {}},
                   core::Event{0, At(2, 1), "checkin.bound", 0, "req-1", "", "bound", {}}};
    int before = 0;
    {
      std::lock_guard lock(wakes->mu);
      before = wakes->count;
    }
    const core::Status inserted = store.InsertCheckIn(Row("ci_ev", 2), with);
    INFO((inserted.ok() ? std::string() : Describe(inserted.error())));
    REQUIRE(inserted.ok());
    {
      std::unique_lock lock(wakes->mu);
      CHECK(wakes->cv.wait_for(lock, std::chrono::seconds(10),
                               [&] { return wakes->count > before; }));
    }
    store.Unsubscribe(handle);

    const auto listed = events();
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].type == "face.received");
    CHECK(listed[1].type == "checkin.created");
    CHECK(listed[1].at == At(2));
    CHECK(listed[1].request_id == "req-1");
    CHECK(listed[2].type == "checkin.bound");
    CHECK(listed[2].at == At(2, 1));
    CHECK(listed[0].cursor < listed[1].cursor);
    CHECK(listed[1].cursor < listed[2].cursor);
    auto after = store.ListAfter(listed[1].cursor, 10);
    REQUIRE(after.ok());
    REQUIRE(after->size() == 1);
    CHECK((*after)[0].type == "checkin.bound");
  }

  SECTION("only face results are unlinked face results") {
    StoreResultAt(store, "query", At(5));
    const std::int64_t face = StoreResultAt(store, "face", At(5));
    auto unlinked = store.UnlinkedFaceResults(At(0));
    REQUIRE(unlinked.ok());
    CHECK(*unlinked == std::vector<std::int64_t>{face});
  }

  SECTION("a link to a result that does not exist is refused and nothing is written") {
    Attachments with;
    with.result_link = core::checkin::ResultLink{999999, "", "BOUND", At(1), {}};
    with.events = {core::Event{0, At(1), "checkin.created", 0, "", "", "", {}}};
    const core::Status inserted = store.InsertCheckIn(Row("ci_x", 1), with);
    REQUIRE_FALSE(inserted.ok());
    CHECK(inserted.error().kind == core::ErrorKind::kInternal);
    auto got = store.GetCheckIn("ci_x");
    REQUIRE(got.ok());
    CHECK_FALSE(got->has_value());
    CHECK(events().empty());
  }
}

TEST_CASE("PgStore fallback case store contract", "[postgres][fallback_case_store][contract]") {
  PgTestEnv& env = SharedPgTestEnv();
  PgStore store(PgStoreOptions{env.CreateDatabase(), 2, 5000});  // a new database per section
  REQUIRE(store.Open().ok());
  testing::RunFallbackCaseStoreContract(store, [&store] {
    auto listed = store.ListAfter(0, 1000);
    REQUIRE(listed.ok());
    return *listed;
  });
}

TEST_CASE("the proof of attempt cannot be changed in the database", "[postgres][fallback_case_store]") {
  PgTestEnv& env = SharedPgTestEnv();
  const std::string dsn = env.CreateDatabase();
  PgStore store(PgStoreOptions{dsn, 2, 5000});
  REQUIRE(store.Open().ok());
  core::fallback::CaseRow row;
  row.id = "fb_1";
  row.version = 1;
  row.state = "OPEN";
  row.day = "2026-11-21";
  row.body = "{}";
  core::fallback::CaseWrite with;
  with.attempts = {core::fallback::Attempt{"", 0, {}, "desk", "OPENED", "{}"}};
  REQUIRE(store.InsertCase(row, with).ok());
  pqxx::connection c(dsn);
  pqxx::work txn(c);
  CHECK_THROWS_WITH(txn.exec("UPDATE fallback_attempts SET kind = 'X'"),
                    Catch::Contains("append-only"));
}

TEST_CASE("PgStore reports its pool usage", "[postgres][store]") {
  PgTestEnv& env = SharedPgTestEnv();
  PgStore store(PgStoreOptions{env.CreateDatabase(), 3, 5000});
  CHECK(store.PoolUsage().size == 0);
  REQUIRE(store.Open().ok());
  REQUIRE(store.Ping().ok());
  const postgres::PoolStats stats = store.PoolUsage();
  CHECK(stats.size == 3);
  CHECK(stats.busy == 0);
  CHECK(stats.queued == 0);
  CHECK(stats.connections_opened >= 1);
  CHECK(stats.connect_failures == 0);
  store.Close();
  auto ping = store.Ping();
  REQUIRE_FALSE(ping.ok());
  CHECK(ping.error().reason == "DATABASE_UNAVAILABLE");
}

TEST_CASE("PgStore on an unreachable server fails with DATABASE_UNAVAILABLE", "[postgres][store]") {
  PgTestEnv env;  // never started: nothing listens on its socket dir
  PgStore store(
      PgStoreOptions{"host=" + (env.StateDir() / "run").string() + " dbname=x user=x", 1, 1000});
  auto version = store.Open();
  REQUIRE_FALSE(version.ok());
  CHECK(version.error().kind == core::ErrorKind::kUnavailable);
  CHECK(version.error().reason == "DATABASE_UNAVAILABLE");
}

TEST_CASE("migrations are applied once and are idempotent", "[postgres][migrate]") {
  PgTestEnv& env = SharedPgTestEnv();
  pqxx::connection c(env.CreateDatabase());

  auto before = postgres::ReadSchemaVersion(c);
  REQUIRE(before.ok());
  CHECK(*before == 0);

  const auto migrations = schema::Migrations();
  REQUIRE_FALSE(migrations.empty());
  auto first = postgres::Migrate(c, migrations);
  INFO((first.ok() ? std::string() : Describe(first.error())));
  REQUIRE(first.ok());
  CHECK(*first == schema::LatestVersion());
  auto second = postgres::Migrate(c, migrations);
  REQUIRE(second.ok());
  CHECK(*second == *first);

  pqxx::work txn(c);
  CHECK(txn.exec1("SELECT count(*) FROM schema_migrations")[0].as<std::size_t>() ==
        migrations.size());
  CHECK(txn.exec1("SELECT name FROM schema_migrations WHERE version = 1")[0].as<std::string>() ==
        "foundation");
  CHECK(txn.exec1("SELECT to_regclass('audit_log') IS NOT NULL")[0].as<bool>());
}

TEST_CASE("pending migrations are applied in order and all or nothing", "[postgres][migrate]") {
  PgTestEnv& env = SharedPgTestEnv();
  std::vector<schema::Migration> migrations = schema::Migrations();
  const int latest = schema::LatestVersion();

  SECTION("a later migration is applied on top of an earlier schema") {
    pqxx::connection c(env.CreateDatabase());
    REQUIRE(postgres::Migrate(c, migrations).ok());
    migrations.push_back({latest + 1, "extra", "CREATE TABLE extra (id int);"});
    auto v = postgres::Migrate(c, migrations);
    REQUIRE(v.ok());
    CHECK(*v == latest + 1);
    pqxx::work txn(c);
    CHECK(txn.exec1("SELECT to_regclass('extra') IS NOT NULL")[0].as<bool>());
  }

  SECTION("a failing migration leaves the database untouched") {
    pqxx::connection c(env.CreateDatabase());
    migrations.push_back({latest + 1, "broken", "CREATE TABLE broken (id int); SELEKT 1;"});
    auto v = postgres::Migrate(c, migrations);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == core::ErrorKind::kInternal);
    CHECK(v.error().message.find("migration " + std::to_string(latest + 1)) != std::string::npos);
    auto version = postgres::ReadSchemaVersion(c);
    REQUIRE(version.ok());
    CHECK(*version == 0);
    pqxx::work txn(c);
    CHECK(txn.exec1("SELECT to_regclass('audit_log') IS NULL")[0].as<bool>());
  }

  SECTION("unsorted migrations are refused") {
    pqxx::connection c(env.CreateDatabase());
    std::vector<schema::Migration> unsorted = {{2, "b", "SELECT 1;"}, {1, "a", "SELECT 1;"}};
    auto v = postgres::Migrate(c, unsorted);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().kind == core::ErrorKind::kInternal);
  }
}

TEST_CASE("a database migrated by a newer onshid is refused with SCHEMA_TOO_NEW",
          "[postgres][migrate]") {
  PgTestEnv& env = SharedPgTestEnv();
  const std::string dsn = env.CreateDatabase();
  const int latest = schema::LatestVersion();
  const int future = latest + 5;
  {
    pqxx::connection c(dsn);
    REQUIRE(postgres::Migrate(c, schema::Migrations()).ok());
    pqxx::work txn(c);
    txn.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')", future);
    txn.commit();
  }

  auto check = [&](const core::DomainError& e) {
    CHECK(e.kind == core::ErrorKind::kFailedPrecondition);
    CHECK(e.reason == "SCHEMA_TOO_NEW");
    CHECK(e.message.find(std::to_string(future)) != std::string::npos);
    CHECK(e.message.find(std::to_string(latest)) != std::string::npos);
    CHECK(e.message.find("upgrade onshid") != std::string::npos);
    CHECK_FALSE(e.message_ja.empty());
  };

  pqxx::connection c(dsn);
  auto migrated = postgres::Migrate(c, schema::Migrations());
  REQUIRE_FALSE(migrated.ok());
  check(migrated.error());

  PgStore store(PgStoreOptions{dsn, 1, 5000});
  auto opened = store.Open();
  REQUIRE_FALSE(opened.ok());
  check(opened.error());
}

TEST_CASE("a killed postgres is restarted and reported down then up", "[postgres][managed]") {
  PgTestEnv env;
  EventRecorder recorder;
  auto dsn = env.Start(recorder.Listener());
  INFO((dsn.ok() ? std::string() : Describe(dsn.error())));
  REQUIRE(dsn.ok());
  PgStore store(PgStoreOptions{*dsn, 2, 5000});
  REQUIRE(store.Open().ok());
  REQUIRE(store.Ping().ok());

  const pid_t first_pid = env.Postgres().ServerPid();
  REQUIRE(first_pid > 0);
  REQUIRE(kill(first_pid, SIGKILL) == 0);

  REQUIRE(recorder.WaitFor(2, std::chrono::seconds(60)));
  CHECK(recorder.Events() ==
        std::vector<ManagedPostgresEvent>{ManagedPostgresEvent::kDown, ManagedPostgresEvent::kUp});
  const pid_t second_pid = env.Postgres().ServerPid();
  CHECK(second_pid > 0);
  CHECK(second_pid != first_pid);

  // At most one call sees the dropped connection; then the whole pool reconnects.
  auto ping = store.Ping();
  if (!ping.ok()) CHECK(ping.error().reason == "DATABASE_UNAVAILABLE");
  CHECK(store.Ping().ok());
  CHECK(store.Ping().ok());
  CHECK(store.AppendAudit(SampleRecord("after-restart")).ok());
  store.Close();

  env.Postgres().Stop();
  CHECK(env.Postgres().ServerPid() == 0);
  CHECK(recorder.Events().size() == 2);  // a requested stop is not reported as down
}

TEST_CASE("an orphaned postmaster on the data dir is stopped before start", "[postgres][managed]") {
  PgTestEnv env;
  auto orphan_options = env.Options();
  orphan_options.stop_with_daemon = false;
  ManagedPostgres crashed(orphan_options);
  REQUIRE(crashed.Start().ok());
  const pid_t orphan_pid = crashed.ServerPid();
  REQUIRE(orphan_pid > 0);
  crashed.AbandonForTest();  // as if the daemon had died and its server survived
  REQUIRE(kill(orphan_pid, 0) == 0);
  REQUIRE(fs::exists(env.Options().data_dir / "postmaster.pid"));

  ManagedPostgres pg(env.Options());
  auto dsn = pg.Start();
  INFO((dsn.ok() ? std::string() : Describe(dsn.error())));
  REQUIRE(dsn.ok());
  CHECK(pg.ServerPid() != orphan_pid);
  CHECK(kill(orphan_pid, 0) != 0);  // stopped (and, being our child here, reaped)
  PgStore store(PgStoreOptions{*dsn, 1, 5000});
  CHECK(store.Open().ok());
  store.Close();
  pg.Stop();
}

TEST_CASE("a server that cannot start is reported with the log file", "[postgres][managed]") {
  PgTestEnv env;
  const auto options = env.Options();
  {
    ManagedPostgres pg(options);
    REQUIRE(pg.Start().ok());
    pg.Stop();
  }
  std::ofstream(options.data_dir / "postgresql.conf", std::ios::app) << "\nthis is not a setting\n";

  ManagedPostgres pg(options);
  auto dsn = pg.Start();
  REQUIRE_FALSE(dsn.ok());
  CHECK(dsn.error().reason == "MANAGED_POSTGRES_START_FAILED");
  CHECK(dsn.error().message.find(options.log_file.string()) != std::string::npos);
  CHECK(pg.ServerPid() == 0);
  CHECK(ReadFile(options.log_file).find("syntax error") != std::string::npos);
}

TEST_CASE("a missing run_as user is refused naming the config key", "[postgres][managed]") {
  if (geteuid() != 0) {
    SUCCEED("run_as applies only when running as root");
    return;
  }
  PgTestEnv env;
  auto options = env.Options();
  options.run_as = "onshid-no-such-user";
  ManagedPostgres pg(options);
  auto dsn = pg.Start();
  REQUIRE_FALSE(dsn.ok());
  CHECK(dsn.error().reason == "MANAGED_POSTGRES_RUN_AS_UNKNOWN");
  CHECK(dsn.error().message.find("storage.managed.run_as") != std::string::npos);
}

TEST_CASE("server binaries are found under /usr/lib/postgresql", "[postgres][managed]") {
  auto bin = postgres::FindPostgresBinDir();
  REQUIRE(bin.ok());
  CHECK(fs::exists(*bin / "initdb"));
  CHECK(fs::exists(*bin / "postgres"));
  auto none = postgres::FindPostgresBinDir("/nonexistent-onshid");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().reason == "MANAGED_POSTGRES_CONFIG");
}

// ---- issue 11: integrity under faults
// ------------------------------------------------------------

PgStoreOptions Options(const std::string& dsn, int pool_size = 2) {
  PgStoreOptions o;
  o.dsn = dsn;
  o.pool_size = pool_size;
  o.connect_timeout_ms = 5000;
  return o;
}

// The migrations built into this binary up to `version`, to play a database of an older onshid.
std::vector<schema::Migration> MigrationsUpTo(int version) {
  std::vector<schema::Migration> out;
  for (auto& m : schema::Migrations()) {
    if (m.version <= version) out.push_back(std::move(m));
  }
  return out;
}

template <typename T>
T Value(core::Result<T> result) {
  INFO((result.ok() ? std::string() : Describe(result.error())));
  REQUIRE(result.ok());
  return std::move(result).value();
}

void RequireOk(const core::Status& status) {
  INFO((status.ok() ? std::string() : Describe(status.error())));
  REQUIRE(status.ok());
}

core::SystemTime T(std::int64_t seconds) {
  return core::SystemTime(std::chrono::seconds(1'790'000'000 + seconds));
}

core::Event Ev(const std::string& type, const std::string& request_id = "") {
  core::Event e;
  e.at = T(0);
  e.type = type;
  e.request_id = request_id;
  return e;
}

std::vector<std::string> Types(const std::vector<core::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

// A journal entry of `instance` journalled at T(at); the payload holds a NUL byte on purpose.
core::JournalEntry Entry(const std::string& key, const std::string& instance, std::int64_t at) {
  core::JournalEntry e;
  e.request_id = key;
  e.client_request_id = "x-" + key;
  e.instance_id = instance;
  e.message_type = "OQSsiquc01";
  e.kind = "eligibility_query";
  e.file_name = "OQSsiquc01req_" + key + ".xml";
  e.payload_sha256 = std::string(64, 'c');
  e.payload = "<?xml version=\"1.0\"?><req>";
  e.payload += '\0';
  e.payload += key + "</req>";
  e.arbitrary_file_identifier = "afi-" + key;
  e.journalled_at = T(at);
  return e;
}

core::JournalEntry GetEntry(PgStore& store, const std::string& key) {
  auto found = Value(store.Get(key));
  REQUIRE(found.has_value());
  return *found;
}

std::vector<std::string> Keys(const std::vector<core::JournalEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.request_id);
  return out;
}

core::StoredResult QueryResult(const std::string& request_id, const std::string& file,
                               std::int64_t at) {
  core::StoredResult r;
  r.source = "query";
  r.request_id = request_id;
  r.client_request_id = "x-" + request_id;
  r.file_name = file;
  r.raw = "<result>" + file + "</result>";
  r.raw_sha256 = "sha-" + file;
  r.xml_utf8 = r.raw;
  r.received_at = T(at);
  r.keys.insurer_number = "06139992";
  return r;
}

// What a subscriber that read up to some cursor sees when a transaction that inserted an event
// before that cursor was drawn commits after it was read (the interleaving of issue 11):
//   1. connection A inserts an event and keeps its transaction open (another writer, another
//      daemon);
//   2. the store appends (and commits) a later event;
//   3. a subscriber reads everything after 0 and remembers the last cursor;
//   4. A commits;
//   5. the subscriber reads everything after the cursor it remembered.
struct HeldWriterRun {
  std::vector<core::Event> read_first;  // step 3
  std::vector<core::Event> read_after;  // step 5
  std::vector<core::Event> all;         // everything, at the end
};

HeldWriterRun RunHeldWriter(const std::vector<schema::Migration>& migrations) {
  const std::string dsn = SharedPgTestEnv().CreateDatabase();
  PgStore store(Options(dsn));
  Value(store.Open(migrations));
  pqxx::connection a(dsn);
  pqxx::work held(a);
  // A plain INSERT, as every writer does (the store's own writes are no different).
  held.exec0("INSERT INTO events (at, type) VALUES (now(), 'held.event')");
  RequireOk(store.Append(Ev("later.event")));
  HeldWriterRun run;
  run.read_first = Value(store.ListAfter(0, 100));
  held.commit();
  const std::int64_t seen = run.read_first.empty() ? 0 : run.read_first.back().cursor;
  run.read_after = Value(store.ListAfter(seen, 100));
  run.all = Value(store.ListAfter(0, 100));
  return run;
}

TEST_CASE("an event committed after a later cursor was read is still delivered",
          "[postgres][events][issue11]") {
  SECTION("with cursors drawn at commit (0006) the held event follows the later one") {
    const HeldWriterRun run = RunHeldWriter(schema::Migrations());
    CHECK(Types(run.read_first) == std::vector<std::string>{"later.event"});
    CHECK(Types(run.read_after) == std::vector<std::string>{"held.event"});
    REQUIRE(run.all.size() == 2);
    CHECK(run.all[0].cursor < run.all[1].cursor);
    CHECK(Types(run.all) == std::vector<std::string>{"later.event", "held.event"});
  }

  SECTION("control: the schema before 0006 loses the held event for that subscriber") {
    // Shows that the interleaving above is the one that lost events: with cursors drawn at insert
    // the held event gets the smaller cursor and is never listed after the remembered one.
    const HeldWriterRun run = RunHeldWriter(MigrationsUpTo(5));
    CHECK(Types(run.read_first) == std::vector<std::string>{"later.event"});
    CHECK(run.read_after.empty());
    CHECK(Types(run.all) == std::vector<std::string>{"held.event", "later.event"});
  }
}

TEST_CASE("a tailing subscriber sees every event exactly once under concurrent writers",
          "[postgres][events][issue11]") {
  PgTestEnv& env = SharedPgTestEnv();
  const std::string dsn = env.CreateDatabase();
  PgStore writers(Options(dsn, 4));
  Value(writers.Open());
  PgStore reader(Options(dsn, 1));  // as another daemon on the same database
  Value(reader.Open());

  constexpr int kRounds = 40;
  std::atomic<int> events_written{0};
  std::atomic<int> write_failures{0};
  auto count = [&](const core::Status& s, int events) {
    if (s.ok()) {
      events_written += events;
    } else {
      ++write_failures;
    }
  };

  testing::EventLogTail tail(reader, 50);

  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // EventStore::Append
    for (int i = 0; i < kRounds; ++i) count(writers.Append(Ev("append." + std::to_string(i))), 1);
  });
  threads.emplace_back([&] {  // ResultStore::StoreResult with its events
    for (int i = 0; i < kRounds; ++i) {
      core::StoredResult r = QueryResult("", "face-" + std::to_string(i) + ".xml", i);
      r.source = "face";
      auto stored = writers.StoreResult(r, [](const core::StoreOutcome& o) {
        core::Event e = Ev("face.received");
        e.result_id = o.id;
        return std::vector<core::Event>{e};
      });
      count(stored.ok() ? core::OkStatus() : core::Status(stored.error()), 1);
    }
  });
  threads.emplace_back([&] {  // CheckInStore::InsertCheckIn with two events
    for (int i = 0; i < kRounds; ++i) {
      core::checkin::Attachments with;
      with.events = {Ev("checkin.created"), Ev("checkin.waiting")};
      count(writers.InsertCheckIn(
                testing::check_in_contract_internal::Row("ci_" + std::to_string(i), i), with),
            2);
    }
  });
  threads.emplace_back([&] {  // UpstreamJournal::Complete and ResultStore::Quarantine
    for (int i = 0; i < kRounds; ++i) {
      const std::string key = "stress-" + std::to_string(i);
      if (!writers.Record(Entry(key, "daemon-a", i)).ok()) ++write_failures;
      if (i % 2 == 0) {
        count(writers.Complete(key, core::JournalState::kAbandoned, T(i),
                               {Ev("upstream.abandoned", key)}),
              1);
      } else {
        core::QuarantinedFile q{"bad-" + key + ".xml", "\x01\x02", "not XML", T(i), key};
        count(writers.Quarantine(q, {Ev("upstream.file_quarantined", key)}), 1);
      }
    }
  });
  for (auto& t : threads) t.join();
  tail.Finish();
  const std::vector<core::Event>& seen = tail.seen();

  CHECK(write_failures == 0);
  CHECK(tail.read_failures() == 0);
  const auto all = Value(reader.ListAfter(0, 100000));
  CHECK(all.size() == static_cast<std::size_t>(events_written.load()));
  CHECK(all.size() == static_cast<std::size_t>(kRounds * 5));
  // What the subscriber saw, in the order it saw it, is the whole log: no gap, no duplicate.
  std::vector<std::int64_t> seen_cursors, all_cursors;
  for (const auto& e : seen) seen_cursors.push_back(e.cursor);
  for (const auto& e : all) all_cursors.push_back(e.cursor);
  CHECK(seen_cursors == all_cursors);
  CHECK(std::adjacent_find(seen_cursors.begin(), seen_cursors.end(),
                           [](std::int64_t a, std::int64_t b) { return a >= b; }) ==
        seen_cursors.end());
}

TEST_CASE("the database refuses a final journal entry that keeps its request bytes",
          "[postgres][journal][issue11]") {
  PgTestEnv& env = SharedPgTestEnv();
  const std::string dsn = env.CreateDatabase();
  PgStore store(Options(dsn));
  Value(store.Open());
  const core::JournalEntry wanted = Entry("q1", "daemon-a", 1);
  RequireOk(store.Record(wanted));
  pqxx::connection c(dsn);
  pqxx::work txn(c);
  CHECK_THROWS_AS(txn.exec0("UPDATE upstream_journal SET state = 'ANSWERED'"),
                  pqxx::check_violation);
}

TEST_CASE("migration 0006 carries journal entries, results and registrations forward",
          "[postgres][journal][migrate][issue11]") {
  PgTestEnv& env = SharedPgTestEnv();
  const std::string dsn = env.CreateDatabase();
  {
    // What an onshid before 0006 left behind.
    pqxx::connection c(dsn);
    REQUIRE(postgres::Migrate(c, MigrationsUpTo(5)).ok());
    pqxx::work txn(c);
    const std::string journal =
        "INSERT INTO upstream_journal (request_id, message_type, kind, file_name, payload_sha256,"
        " journalled_at, completed_at) VALUES ($1, $2, $3, $4, 'sha', to_timestamp($5),"
        " to_timestamp($6::bigint))";
    txn.exec_params0(journal, "desk/r-pending", "OQSsiquc01", "eligibility_query",
                     "OQSsiquc01req_1.xml", 1'790'000'001, static_cast<const char*>(nullptr));
    txn.exec_params0(journal, "desk/r-done", "OQSsiquc01", "eligibility_query",
                     "OQSsiquc01req_2.xml", 1'790'000'002, 1'790'000'012);
    txn.exec_params0(journal, "checkin:ci_1#r2", "OQSsiquc01", "eligibility_query",
                     "OQSsiquc01req_3.xml", 1'790'000'003, static_cast<const char*>(nullptr));
    txn.exec_params0(journal, "refno:desk/r-ref", "OQSsiimm01", "reference_number",
                     "OQSsiimm01req_4.xml", 1'790'000'004, static_cast<const char*>(nullptr));
    const std::string result =
        "INSERT INTO eligibility_results (source, request_id, file_name, raw, raw_sha256, xml,"
        " received_at) VALUES ($1, $2, $3, '\\x00'::bytea, 'sha', '<x/>', now())";
    txn.exec_params0(result, "query", "desk/r-done", "OQSsiquc01res_2.xml");
    txn.exec_params0(result, "query", "checkin:ci_1", "OQSsiquc01res_5.xml");
    txn.exec_params0(result, "face", "", "face_1.xml");
    txn.exec0(
        "INSERT INTO reference_number_registrations (request_id, reference_number, insurer_number,"
        " insured_identification_number, state, requested_at)"
        " VALUES ('refno:desk/r-ref', 'P-1', '06139992', '5678', 'PENDING', now())");
    txn.exec0("INSERT INTO events (at, type) VALUES (now(), 'legacy.one'), (now(), 'legacy.two')");
    txn.commit();
  }

  PgStore store(Options(dsn));
  CHECK(Value(store.Open()) == schema::LatestVersion());

  // A pending legacy entry may have been written: it is awaited, never written again.
  core::JournalEntry pending = GetEntry(store, "desk/r-pending");
  CHECK(pending.state == core::JournalState::kWritten);
  CHECK(pending.written_at == pending.journalled_at);
  CHECK(pending.payload.empty());
  CHECK(pending.instance_id.empty());
  CHECK(pending.client_request_id == "r-pending");
  RequireOk(store.Advance("desk/r-pending", core::JournalState::kWriting, T(50)));
  CHECK(GetEntry(store, "desk/r-pending").state == core::JournalState::kWritten);
  const core::JournalEntry done = GetEntry(store, "desk/r-done");
  CHECK(done.state == core::JournalState::kAnswered);
  CHECK(done.completed_at == T(12));
  CHECK(GetEntry(store, "checkin:ci_1#r2").client_request_id.empty());
  CHECK(GetEntry(store, "refno:desk/r-ref").client_request_id == "r-ref");

  auto by_request = [&store](const std::string& key) {
    auto found = Value(store.ResultForRequest(key));
    REQUIRE(found.has_value());
    return found->client_request_id;
  };
  CHECK(by_request("desk/r-done") == "r-done");
  CHECK(by_request("checkin:ci_1").empty());
  auto registration = Value(store.RegistrationForRequest("refno:desk/r-ref"));
  REQUIRE(registration.has_value());
  CHECK(registration->client_request_id == "r-ref");

  // Legacy entries go to the first instance that recovers.
  CHECK(Keys(Value(store.Recoverable("daemon-a", T(100)))) ==
        std::vector<std::string>{"desk/r-pending", "checkin:ci_1#r2", "refno:desk/r-ref"});
  CHECK(Value(store.Recoverable("daemon-b", T(0))).empty());

  // Events keep their cursors; new ones continue after them.
  const auto before = Value(store.ListAfter(0, 10));
  REQUIRE(before.size() == 2);
  CHECK(before[0].cursor == 1);
  CHECK(before[1].cursor == 2);
  RequireOk(store.Append(Ev("after.migration")));
  const auto after = Value(store.ListAfter(2, 10));
  REQUIRE(after.size() == 1);
  CHECK(after[0].cursor == 3);
}

// The ResultStore contract (run below) covers what every store does; these are PostgreSQL's own.
TEST_CASE("results and quarantined files are checked and kept by the database",
          "[postgres][results][issue11]") {
  PgTestEnv& env = SharedPgTestEnv();
  const std::string dsn = env.CreateDatabase();
  PgStore store(Options(dsn));
  Value(store.Open());
  auto events = [&store] { return Value(store.ListAfter(0, 100)); };
  RequireOk(store.Record(Entry("desk/q1", "daemon-a", 1)));
  RequireOk(store.Advance("desk/q1", core::JournalState::kWritten, T(2)));

  // The builder sees what the store found and reports it.
  std::vector<core::StoreOutcome> seen;
  auto report = [&seen](const core::StoreOutcome& o) {
    seen.push_back(o);
    core::Event e = Ev(o.duplicate_of ? "eligibility.duplicate" : "eligibility.result");
    e.result_id = o.id;
    return std::vector<core::Event>{e};
  };

  SECTION("a result that cannot be stored writes no event and leaves the journal") {
    core::StoredResult bad = QueryResult("desk/q1", "OQSsiquc01res_1.xml", 3);
    bad.source = "neither";  // refused by the table's CHECK
    const auto stored = store.StoreResult(bad, report);
    REQUIRE_FALSE(stored.ok());
    CHECK(seen.empty());
    CHECK(GetEntry(store, "desk/q1").state == core::JournalState::kWritten);
    CHECK(events().empty());
  }

  SECTION("a quarantined answer completes its journal entry with its events") {
    core::QuarantinedFile file{"OQSsiquc01res_1.xml", std::string("\xff\x00\xfe", 3),
                               "not well-formed XML", T(4), "desk/q1"};
    RequireOk(store.Quarantine(file, {Ev("upstream.file_quarantined", "x-desk/q1")}));
    const core::JournalEntry entry = GetEntry(store, "desk/q1");
    CHECK(entry.state == core::JournalState::kAnswered);
    CHECK(entry.completed_at == T(4));
    CHECK(entry.payload.empty());
    CHECK(Types(events()) == std::vector<std::string>{"upstream.file_quarantined"});
    pqxx::connection c(dsn);
    pqxx::read_transaction txn(c);
    const pqxx::row row = txn.exec1("SELECT file_name, raw, reason FROM quarantined_files");
    CHECK(row[0].as<std::string>() == file.file_name);
    CHECK(pqxx::binarystring(row[1]).str() == file.raw);
    CHECK(row[2].as<std::string>() == file.reason);

    // A file that answered nothing of ours is only kept.
    RequireOk(store.Quarantine({"stray.xml", "x", "unknown file", T(5), ""}, {}));
    CHECK(events().size() == 1);
  }
}

// The contracts of the upstream-side ports (tests/support/*_contract.h), which the in-memory fakes
// pass too (tests/unit/mem_stores_contract_test.cc). A new database for every section.
TEST_CASE("PgStore event store contract", "[postgres][events][contract]") {
  PgStore store(Options(SharedPgTestEnv().CreateDatabase(), 4));
  Value(store.Open());
  testing::RunEventStoreContract(store);
}

TEST_CASE("PgStore upstream journal contract", "[postgres][journal][contract]") {
  PgStore store(Options(SharedPgTestEnv().CreateDatabase()));
  Value(store.Open());
  testing::RunUpstreamJournalContract(store, store);
}

TEST_CASE("PgStore result store contract", "[postgres][results][contract]") {
  PgStore store(Options(SharedPgTestEnv().CreateDatabase()));
  Value(store.Open());
  testing::RunResultStoreContract({store, store, store, store});
}

TEST_CASE("PgStore reference number store contract", "[postgres][reference_numbers][contract]") {
  PgStore store(Options(SharedPgTestEnv().CreateDatabase()));
  Value(store.Open());
  testing::RunReferenceNumberStoreContract({store, store, store, store});
}

TEST_CASE("PgStore request key store contract", "[postgres][request_keys][contract]") {
  PgStore store(Options(SharedPgTestEnv().CreateDatabase(), 4));
  Value(store.Open());
  testing::RunRequestKeyStoreContract(store);
}

TEST_CASE("sessions are bounded by the configured time-outs", "[postgres][session][issue11]") {
  PgTestEnv& env = SharedPgTestEnv();
  const std::string dsn = env.CreateDatabase();

  SECTION("every pooled session shows the configured settings") {
    PgStoreOptions o = Options(dsn, 2);
    o.statement_timeout_ms = 1500;
    o.lock_timeout_ms = 700;
    o.idle_in_transaction_timeout_ms = 45000;
    PgStore store(o);
    Value(store.Open());
    for (int i = 0; i < 2; ++i) {  // whichever connection of the pool answers
      CHECK(Value(store.ServerSetting("statement_timeout")) == "1500ms");
      CHECK(Value(store.ServerSetting("lock_timeout")) == "700ms");
      CHECK(Value(store.ServerSetting("idle_in_transaction_session_timeout")) == "45s");
    }
    CHECK(store.PoolUsage().connections_opened >= 1);
    const auto unknown = store.ServerSetting("no_such_setting");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().kind == core::ErrorKind::kInternal);
  }

  SECTION("what the DSN sets itself wins") {
    PgStoreOptions o = Options(dsn + " options='-c statement_timeout=4321'", 1);
    o.lock_timeout_ms = 800;
    PgStore store(o);
    Value(store.Open());
    CHECK(Value(store.ServerSetting("statement_timeout")) == "4321ms");
    CHECK(Value(store.ServerSetting("lock_timeout")) == "800ms");
    CHECK(Value(store.ServerSetting("idle_in_transaction_session_timeout")) == "1min");
  }

  SECTION("a statement longer than statement_timeout fails quickly with DATABASE_TIMEOUT") {
    postgres::SessionBounds bounds;
    bounds.statement_timeout_ms = 300;
    postgres::ConnectionPool pool(postgres::BoundedDsn(dsn, bounds), 1);
    const auto started = std::chrono::steady_clock::now();
    const core::Status slept = pool.Run([](pqxx::connection& c) {
      pqxx::work txn(c);
      txn.exec("SELECT pg_sleep(20)");
    });
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(slept.ok());
    CHECK(slept.error().kind == core::ErrorKind::kUnavailable);
    CHECK(slept.error().reason == "DATABASE_TIMEOUT");
    CHECK_FALSE(slept.error().message_ja.empty());
    CHECK(took < std::chrono::seconds(5));
    // The connection is still good.
    CHECK(pool.Run([](pqxx::connection& c) { pqxx::nontransaction(c).exec1("SELECT 1"); }).ok());
    CHECK(pool.Stats().connections_opened == 1);
  }

  SECTION("a write waiting for a lock fails with DATABASE_TIMEOUT after lock_timeout") {
    PgStoreOptions o = Options(dsn, 1);
    o.lock_timeout_ms = 300;
    PgStore store(o);
    Value(store.Open());
    const std::int64_t id = Value(store.AppendAudit(SampleRecord("locked")));
    pqxx::connection holder(dsn);
    pqxx::work hold(holder);
    hold.exec_params("SELECT 1 FROM audit_log WHERE id = $1 FOR UPDATE", id);
    const auto started = std::chrono::steady_clock::now();
    const core::Status finished = store.FinishAudit(id, "OK", "", T(1));
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(finished.ok());
    CHECK(finished.error().reason == "DATABASE_TIMEOUT");
    CHECK(finished.error().metadata ==
          std::vector<std::pair<std::string, std::string>>{{"sqlstate", "55P03"}});
    CHECK(took < std::chrono::seconds(5));
    hold.abort();
    RequireOk(store.FinishAudit(id, "OK", "", T(1)));
  }

  SECTION("without lock_timeout the statement_timeout still ends a lock wait") {
    PgStoreOptions o = Options(dsn, 1);
    o.lock_timeout_ms = 0;
    o.statement_timeout_ms = 300;
    PgStore store(o);
    Value(store.Open());
    const std::int64_t id = Value(store.AppendAudit(SampleRecord("locked")));
    pqxx::connection holder(dsn);
    pqxx::work hold(holder);
    hold.exec_params("SELECT 1 FROM audit_log WHERE id = $1 FOR UPDATE", id);
    const core::Status finished = store.FinishAudit(id, "OK", "", T(1));
    REQUIRE_FALSE(finished.ok());
    CHECK(finished.error().reason == "DATABASE_TIMEOUT");
    CHECK(finished.error().metadata ==
          std::vector<std::pair<std::string, std::string>>{{"sqlstate", "57014"}});
  }
}

TEST_CASE("session bounds are added to any DSN form without overriding it",
          "[postgres][session][issue11]") {
  postgres::SessionBounds bounds;
  bounds.connect_timeout_ms = 2500;
  const std::string kv =
      postgres::BoundedDsn("host=/run/x dbname=onshid keepalives_idle=99", bounds);
  CHECK(kv.find("host='/run/x'") != std::string::npos);
  CHECK(kv.find("connect_timeout='3'") != std::string::npos);
  CHECK(kv.find("keepalives='1'") != std::string::npos);
  CHECK(kv.find("keepalives_idle='99'") != std::string::npos);
  CHECK(kv.find("keepalives_interval='10'") != std::string::npos);
  CHECK(kv.find("keepalives_count='3'") != std::string::npos);
  CHECK(kv.find("options='-c statement_timeout=30000 -c lock_timeout=10000"
                " -c idle_in_transaction_session_timeout=60000'") != std::string::npos);

  const std::string uri = postgres::BoundedDsn(
      "postgresql://onshid:p%27w@db.example:5433/onshid?connect_timeout=7"
      "&options=-c%20lock_timeout%3D5s",
      bounds);
  CHECK(uri.find("password='p\\'w'") != std::string::npos);
  CHECK(uri.find("port='5433'") != std::string::npos);
  CHECK(uri.find("connect_timeout='7'") != std::string::npos);
  CHECK(uri.find("options='-c lock_timeout=5s -c statement_timeout=30000"
                 " -c idle_in_transaction_session_timeout=60000'") != std::string::npos);

  // Not a connection string libpq understands: left as it is, so connecting reports it.
  CHECK(postgres::BoundedDsn("host='unterminated", bounds) == "host='unterminated");
}

}  // namespace
}  // namespace onshid
