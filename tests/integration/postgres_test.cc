// adapters/postgres against a real PostgreSQL run by ManagedPostgres (tests/support/pg_test_env.h):
// managed mode life cycle, the Store contract on PgStore, the migrations runner, the supervisor and
// orphan clean-up.

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "postgres/managed_postgres.h"
#include "postgres/migrate.h"
#include "postgres/pg_store.h"
#include "schema/migrations.h"
#include "support/check_in_store_contract.h"
#include "support/fallback_case_store_contract.h"
#include "support/pg_test_env.h"
#include "support/store_contract.h"

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
  auto outcome = store.StoreResult(r);
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

TEST_CASE("PgStore keeps 照会番号 registrations with their journal entries",
          "[postgres][reference_numbers]") {
  PgTestEnv& env = SharedPgTestEnv();
  PgStore store(PgStoreOptions{env.CreateDatabase(), 2, 5000});
  REQUIRE(store.Open().ok());
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  core::ReferenceNumberRecord wanted;
  wanted.request_id = "refno:desk/r1";
  wanted.reference_number = "P-1";
  wanted.insurer_number = "06139992";
  wanted.insured_identification_number = "5678";
  wanted.requested_at = t0;
  auto created = store.CreateRegistration(wanted);
  REQUIRE(created.ok());
  CHECK(created->id > 0);
  CHECK(created->state == "PENDING");
  CHECK_FALSE(created->completed_at);

  // A retry with the same request id returns the first registration, whatever it carries.
  auto other = wanted;
  other.reference_number = "P-2";
  auto again = store.CreateRegistration(other);
  REQUIRE(again.ok());
  CHECK(again->id == created->id);
  CHECK(again->reference_number == "P-1");

  core::JournalEntry entry;
  entry.request_id = wanted.request_id;
  entry.message_type = "OQSsiimm01";
  entry.kind = "reference_number";
  entry.file_name = "OQSsiimm01req_20261121000001.xml";
  entry.payload_sha256 = std::string(64, 'a');
  entry.journalled_at = t0;
  REQUIRE(store.Record(entry).ok());

  core::ReferenceNumberRecord outcome;
  outcome.request_id = wanted.request_id;
  outcome.state = "REGISTERED";
  outcome.file_name = "OQSsiimm01res_20261121000001.xml";
  outcome.raw = std::string("<XmlMsg>\0bytes</XmlMsg>", 23);
  outcome.raw_sha256 = std::string(64, 'b');
  outcome.completed_at = t0 + std::chrono::seconds(2);
  auto completed = store.CompleteRegistration(outcome);
  REQUIRE(completed.ok());
  CHECK(completed->second);
  CHECK(completed->first.state == "REGISTERED");
  CHECK(completed->first.raw == outcome.raw);
  CHECK(completed->first.completed_at == outcome.completed_at);
  // The journal entry was completed in the same transaction.
  auto pending = store.Pending();
  REQUIRE(pending.ok());
  CHECK(pending->empty());

  // The same file read again after a crash changes nothing.
  auto twice = outcome;
  twice.state = "FAILED";
  auto repeated = store.CompleteRegistration(twice);
  REQUIRE(repeated.ok());
  CHECK_FALSE(repeated->second);
  CHECK(repeated->first.state == "REGISTERED");

  // Read back by id, by request id and by 照会番号 (newest first).
  wanted.request_id = "refno:desk/r2";
  wanted.requested_at = t0 + std::chrono::seconds(10);
  auto second = store.CreateRegistration(wanted);
  REQUIRE(second.ok());
  auto listed = store.ListRegistrations("P-1", 10);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK(listed->at(0).id == second->id);
  CHECK(listed->at(1).id == created->id);
  auto by_id = store.GetRegistration(created->id);
  REQUIRE(by_id.ok());
  REQUIRE(by_id->has_value());
  CHECK((*by_id)->file_name == outcome.file_name);
  auto by_request = store.RegistrationForRequest("refno:desk/r2");
  REQUIRE(by_request.ok());
  REQUIRE(by_request->has_value());
  CHECK((*by_request)->state == "PENDING");
  CHECK_FALSE(store.ListRegistrations("P-1", 0).ok());

  // An answer for a request without a registration is reported, not invented.
  outcome.request_id = "refno:desk/none";
  auto missing = store.CompleteRegistration(outcome);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().reason == "REFERENCE_NUMBER_NOT_FOUND");
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

}  // namespace
}  // namespace onshid
