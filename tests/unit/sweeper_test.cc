// The sweeper (daemon/app/sweeper.h): what one Tick() does, over the real check-in and fallback
// use cases on in-memory stores, a fake upstream whose status the test sets, a status board the
// test writes, in-memory request keys and a manual clock. Re-verifications reach a fake of the
// check-ins that records them.

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/checkin.h"
#include "app/checkin_record.h"
#include "app/dependency_board.h"
#include "app/executor.h"
#include "app/fallback_cases.h"
#include "app/random_ids.h"
#include "app/sweeper.h"
#include "core/dependency.h"
#include "support/fake_upstream.h"
#include "support/manual_clock.h"
#include "support/mem_case_store.h"
#include "support/mem_check_in_store.h"
#include "support/mem_request_key_store.h"
#include "support/mem_store.h"
#include "support/mem_upstream_journal.h"

namespace {

namespace app = onshid::app;
namespace core = onshid::core;
namespace ck = onshid::core::checkin;
namespace fb = onshid::core::fallback;
namespace oqs = onshid::core::oqs;
namespace testing = onshid::testing;
using core::DependencyState;
using namespace std::chrono_literals;

// 2025-12-10 10:00 JST.
const core::SystemTime kStart =
    std::chrono::sys_days{std::chrono::year{2025} / 12 / 10} + std::chrono::hours{1};

// The check-ins as the fallback cases see them; re-verifications are only recorded.
class RecordingCaseCheckIns final : public app::CaseCheckIns {
 public:
  void Put(const app::CheckInView& v) {
    std::lock_guard lock(mu_);
    views_[v.record.id] = v;
  }
  core::Result<app::CheckInView> Get(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = views_.find(id);
    if (it == views_.end()) return core::Internal("no check-in " + id);
    return it->second;
  }
  core::Result<app::ResultView> GetResult(std::int64_t) override {
    return core::Internal("no results here");
  }
  bool CanReverify(const app::CheckInView& view) override { return view.record.query.has_value(); }
  void Reverify(const std::string& id, int,
                std::function<void(core::Result<app::ResultView>)>) override {
    std::lock_guard lock(mu_);
    reverified_.push_back(id);
  }
  std::vector<std::string> Reverified() const {
    std::lock_guard lock(mu_);
    return reverified_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, app::CheckInView> views_;
  std::vector<std::string> reverified_;
};

// The in-memory case store, recording when the scheduled purge asked for its due cases.
class PurgeRecordingCaseStore final : public fb::FallbackCaseStore {
 public:
  core::Status InsertCase(const fb::CaseRow& row, const fb::CaseWrite& with) override {
    return store_.InsertCase(row, with);
  }
  core::Status UpdateCase(const fb::CaseRow& row, const fb::CaseWrite& with) override {
    return store_.UpdateCase(row, with);
  }
  core::Result<std::optional<fb::CaseRow>> GetCase(const std::string& id) override {
    return store_.GetCase(id);
  }
  core::Result<std::optional<fb::CaseRow>> CaseForClientKey(const std::string& key) override {
    return store_.CaseForClientKey(key);
  }
  core::Result<std::optional<fb::CaseRow>> CaseForCheckIn(const std::string& id) override {
    return store_.CaseForCheckIn(id);
  }
  core::Result<std::vector<fb::CaseRow>> ListCases(const fb::CaseQuery& query) override {
    return store_.ListCases(query);
  }
  core::Result<std::vector<fb::Attempt>> Attempts(const std::string& case_id) override {
    return store_.Attempts(case_id);
  }
  core::Result<std::optional<std::string>> PersonalData(const std::string& case_id) override {
    return store_.PersonalData(case_id);
  }
  core::Result<std::vector<fb::Task>> ListTasks(const fb::TaskQuery& query) override {
    return store_.ListTasks(query);
  }
  core::Result<std::vector<std::string>> CasesToPurge(core::SystemTime before,
                                                      int limit) override {
    {
      std::lock_guard lock(mu_);
      purge_queries_.push_back(before);
    }
    return store_.CasesToPurge(before, limit);
  }
  std::vector<core::SystemTime> PurgeQueries() const {
    std::lock_guard lock(mu_);
    return purge_queries_;
  }

 private:
  testing::MemFallbackCaseStore store_;
  mutable std::mutex mu_;
  std::vector<core::SystemTime> purge_queries_;
};

// A document-query check-in that needs the fallback path (the terminal did not answer).
app::CheckInView NeedsFallback(const std::string& id) {
  app::CheckInView v;
  v.record.id = id;
  v.record.day = "2025-12-10";
  v.record.channel = ck::Channel::kDocumentQuery;
  v.record.documents = {ck::Document::kQualificationCertificateCard};
  oqs::EligibilityQueryInput q;
  q.insurer_number = "06139992";
  q.insured_identification_number = "1234";
  q.birth_date = "19800115";
  v.record.query = q;
  v.record.query_key = "checkin/" + id;
  v.record.state = ck::CheckInState::kNeedsFallback;
  v.record.cause = ck::FallbackCause::kNetworkError;
  return v;
}

app::SweeperOptions Options() {
  app::SweeperOptions o;
  o.interval = 1h;  // the tests call Tick()
  o.purge_interval = 3600s;
  o.request_key_retention = 72h;
  return o;
}

struct Fixture {
  explicit Fixture(bool with_upstream = true)
      : clock(kStart),
        executor(1),
        checkins(checkin_store, nullptr, nullptr, clock, ids, executor, MakeCheckInOptions()),
        fallback(case_store, audit, &case_checkins, clock, ids, executor, MakeFallbackOptions()),
        upstream(journal, clock),
        board(clock),
        sweeper(checkins, fallback, request_keys, with_upstream ? &upstream : nullptr, board,
                clock, Options()) {
    app::ReportDatabaseOk(board);
    board.Set(app::kUpstreamEntry, DependencyState::kOk, "", "in flight 0, queued 0");
  }
  ~Fixture() { executor.Join(); }

  static app::CheckInOptions MakeCheckInOptions() {
    app::CheckInOptions o;
    o.window.after_start = 10min;
    return o;
  }
  static app::FallbackOptions MakeFallbackOptions() {
    app::FallbackOptions o;
    o.reverify_interval = 2s;
    o.reverify_max_attempts = 5;
    o.personal_data_retention = 48h;
    return o;
  }

  // Opens a fallback case queued for re-verification, as the check-ins' change listener does.
  void QueueReverification(const std::string& check_in_id) {
    const auto v = NeedsFallback(check_in_id);
    case_checkins.Put(v);
    fallback.OnCheckIn(v);
    auto c = case_store.CaseForCheckIn(check_in_id);
    REQUIRE(c.ok());
    REQUIRE(c->has_value());
    auto view = fallback.Get((*c)->id);
    REQUIRE(view.ok());
    REQUIRE(view->reverify == app::ReverifyState::kQueued);
  }

  void ClaimRequestKey(const std::string& id, core::SystemTime at) {
    core::RequestKey k{"desk-1", id, "/onshi.v1.CheckInService/StartCheckIn", "f"};
    REQUIRE(request_keys.ClaimRequestKey(k, at).ok());
  }
  // Whether desk-1's request key `id` is still stored.
  bool KeyKept(const std::string& id) const {
    for (const auto& r : request_keys.Records()) {
      if (r.key.client == "desk-1" && r.key.request_id == id) return true;
    }
    return false;
  }

  testing::ManualClock clock;
  testing::MemCheckInStore checkin_store;
  PurgeRecordingCaseStore case_store;
  testing::MemStore audit;
  RecordingCaseCheckIns case_checkins;
  app::RandomIds ids;
  app::Executor executor;
  app::CheckInUseCases checkins;
  app::FallbackCaseUseCases fallback;
  testing::MemRequestKeyStore request_keys;
  testing::MemUpstreamJournal journal;
  testing::FakeUpstream upstream;
  core::StatusBoard board;
  app::Sweeper sweeper;
};

core::UpstreamStatus Idle() {
  core::UpstreamStatus s;
  s.folder_reachable = true;
  s.inotify_active = true;
  return s;
}

}  // namespace

TEST_CASE("sweeper: a tick runs the check-in sweep", "[sweeper]") {
  Fixture f;
  // A check-in waiting for a face result since 10:00.
  app::CheckInRecord r;
  r.id = "ci_waiting";
  r.version = 1;
  r.day = "2025-12-10";
  r.desk_id = "desk-1";
  r.channel = ck::Channel::kManual;
  r.state = ck::CheckInState::kWaiting;
  r.created_at = kStart;
  r.updated_at = kStart;
  REQUIRE(f.checkin_store.InsertCheckIn(app::EncodeRecord(r), {}).ok());

  f.clock.Advance(10min + 1s);  // past the result window
  f.sweeper.Tick();
  auto v = f.checkins.Get("ci_waiting");
  REQUIRE(v.ok());
  CHECK(v->record.timed_out);
}

TEST_CASE("sweeper: re-verification waits while the terminal does not answer or is busy",
          "[sweeper]") {
  Fixture f;
  f.QueueReverification("ci_a");

  SECTION("the upstream entry is DOWN") {
    f.board.Set(app::kUpstreamEntry, DependencyState::kDown, "UPSTREAM_FOLDER_UNAVAILABLE");
  }
  SECTION("the upstream entry is DEGRADED (req/ not consumed)") {
    f.board.Set(app::kUpstreamEntry, DependencyState::kDegraded, "UPSTREAM_NOT_CONSUMING");
  }
  SECTION("requests are queued toward the terminal") {
    auto s = Idle();
    s.queued = 1;
    f.upstream.SetStatus(s);
  }
  SECTION("a request file still waits in req/ (even a fresh one)") {
    auto s = Idle();
    s.oldest_request_age = 0s;
    f.upstream.SetStatus(s);
  }
  f.clock.Advance(10s);
  f.sweeper.Tick();
  f.sweeper.Tick();
  CHECK(f.case_checkins.Reverified().empty());

  // Answering and idle again: the next tick sends it.
  f.board.Set(app::kUpstreamEntry, DependencyState::kOk, "", "in flight 0, queued 0");
  f.upstream.SetStatus(Idle());
  f.sweeper.Tick();
  CHECK(f.case_checkins.Reverified() == std::vector<std::string>{"ci_a"});
}

TEST_CASE("sweeper: an answering, idle terminal gets the re-verification at the first tick",
          "[sweeper]") {
  Fixture f;
  f.QueueReverification("ci_a");
  f.clock.Advance(10s);
  f.sweeper.Tick();
  CHECK(f.case_checkins.Reverified() == std::vector<std::string>{"ci_a"});
  CHECK(f.upstream.StatusCalls() == 1);
}

TEST_CASE("sweeper: without an upstream nothing is re-verified", "[sweeper]") {
  Fixture f(/*with_upstream=*/false);
  f.QueueReverification("ci_a");
  f.clock.Advance(10s);
  f.sweeper.Tick();
  f.sweeper.Tick();
  CHECK(f.case_checkins.Reverified().empty());
  CHECK(f.upstream.StatusCalls() == 0);
}

TEST_CASE("sweeper: purges at the first tick, then once purge_interval has passed on the clock",
          "[sweeper]") {
  Fixture f;  // purge every hour; request keys kept 72 h; case personal data kept 48 h
  f.ClaimRequestKey("old", kStart - 72h - 1s);
  f.ClaimRequestKey("kept", kStart - 72h + 1s);

  f.sweeper.Tick();
  CHECK_FALSE(f.KeyKept("old"));
  CHECK(f.KeyKept("kept"));
  CHECK(f.request_keys.PurgeCalls() == std::vector<core::SystemTime>{kStart - 72h});
  CHECK(f.case_store.PurgeQueries() == std::vector<core::SystemTime>{kStart - 48h});

  // Not again before the interval, however many ticks.
  f.sweeper.Tick();
  f.clock.Advance(3599s);
  f.sweeper.Tick();
  CHECK(f.KeyKept("kept"));
  CHECK(f.request_keys.PurgeCalls().size() == 1);
  CHECK(f.case_store.PurgeQueries().size() == 1);

  // An hour after the last purge: "kept" is now past its retention too.
  f.clock.Advance(1s);
  f.sweeper.Tick();
  CHECK_FALSE(f.KeyKept("kept"));
  CHECK(f.request_keys.PurgeCalls() ==
        std::vector<core::SystemTime>{kStart - 72h, kStart + 1h - 72h});
  CHECK(f.case_store.PurgeQueries() ==
        std::vector<core::SystemTime>{kStart - 48h, kStart + 1h - 48h});
}

TEST_CASE("sweeper: a failed purge is tried again at the next purge, not at the next tick",
          "[sweeper]") {
  Fixture f;
  f.ClaimRequestKey("old", kStart - 100h);
  f.request_keys.SetReachable(false);
  f.sweeper.Tick();  // fails: logged
  f.request_keys.SetReachable(true);
  f.sweeper.Tick();
  CHECK(f.KeyKept("old"));
  CHECK(f.request_keys.PurgeCalls().size() == 1);
  f.clock.Advance(1h);
  f.sweeper.Tick();
  CHECK_FALSE(f.KeyKept("old"));
}

TEST_CASE("sweeper: the thread ticks at once and stops without waiting for the interval",
          "[sweeper]") {
  Fixture f;  // interval 1 h
  f.QueueReverification("ci_a");
  f.clock.Advance(10s);
  f.sweeper.Start();
  // The first tick ends with the purge: wait for that to happen (not for time to pass).
  REQUIRE(f.request_keys.WaitForPurgeCalls(1, 30s));
  REQUIRE(f.request_keys.PurgeCalls().size() == 1);
  const auto t0 = std::chrono::steady_clock::now();
  f.sweeper.Stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 30s);
  CHECK(f.case_checkins.Reverified() == std::vector<std::string>{"ci_a"});
  CHECK(f.request_keys.PurgeCalls().size() == 1);  // one tick: the next one is an hour away
  f.sweeper.Stop();  // idempotent
}
