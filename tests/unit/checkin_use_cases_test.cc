// Check-in use cases (daemon/app/checkin.h) over the real EligibilityUseCases and the fakes of
// every port: a FakeUpstream playing the terminal (queries and the face feed), FakeCardReaders,
// the in-memory check-in, result, journal and event stores sharing one log, the FakeOqsCodec, a
// manual clock, predictable ids and a one-thread executor. Results reach the check-ins as in the
// daemon's wiring: the eligibility result listener posts CheckInUseCases::OnResult.
//
// Waits are bounded waits on callbacks and on the change listener; nothing sleeps. The clock
// stands at 2025-12-10 10:00 JST; desk-1 is served by the face feed ("face").

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/checkin.h"
#include "app/eligibility.h"
#include "app/executor.h"
#include "support/awaited.h"
#include "support/fake_card_readers.h"
#include "support/fake_ids.h"
#include "support/fake_oqs_codec.h"
#include "support/fake_upstream.h"
#include "support/manual_clock.h"
#include "support/mem_check_in_store.h"
#include "support/mem_event_store.h"
#include "support/mem_result_store.h"
#include "support/mem_upstream_journal.h"

namespace onshid {
namespace {

namespace ck = core::checkin;
using namespace std::chrono_literals;
using app::CheckInView;
using app::ResultView;
using testing::Awaited;
using testing::FakeResultDocument;

std::string Attr(const core::Event& e, const std::string& key) {
  for (const auto& [k, v] : e.attributes) {
    if (k == key) return v;
  }
  return "<none>";
}

core::oqs::EligibilityQueryInput PatientQuery() {
  core::oqs::EligibilityQueryInput q;
  q.insurer_number = "06139992";
  q.insured_card_symbol = "KIGO1";
  q.insured_identification_number = "BANGO1";
  q.insured_branch_number = "01";
  q.birth_date = "19800115";
  return q;
}

std::string ValidAnswer(const FakeResultDocument::Fields& overrides = {}) {
  return FakeResultDocument::Answer("1")
      .Qualification(FakeResultDocument::Patient(overrides))
      .Text();
}

// Every change the use cases announce, to wait for a state without sleeping.
class ChangeLog {
 public:
  void Record(const CheckInView& v) {
    std::lock_guard lock(mu_);
    views_.push_back(v);
    cv_.notify_all();
  }
  // The first announced view (since the last Clear) that satisfies `pred`; FAILs after 10 s.
  CheckInView WaitFor(const std::function<bool(const CheckInView&)>& pred) {
    std::unique_lock lock(mu_);
    std::optional<CheckInView> found;
    const bool ok = cv_.wait_for(lock, 10s, [&] {
      for (const auto& v : views_) {
        if (pred(v)) {
          found = v;
          return true;
        }
      }
      return false;
    });
    if (!ok) FAIL("no announced check-in satisfied the condition within 10 s");
    return *found;
  }
  std::vector<CheckInView> All() {
    std::lock_guard lock(mu_);
    return views_;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    views_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CheckInView> views_;
};

app::CheckInOptions DefaultOptions() {
  app::CheckInOptions o;
  o.desks = {{"face", "desk-1"}};
  o.known_desks = {"desk-1", "desk-2"};
  o.face_device = "face";
  o.window.after_start = 10min;
  o.late_window = 2h;
  o.query_timeout = 30s;
  return o;
}

struct Site {
  explicit Site(app::CheckInOptions options = DefaultOptions(), bool with_upstream = true)
      : eligibility(upstream, journal, results, reference_numbers, events, codec, clock, ids,
                    executor, app::EligibilityOptions{"1312345678"}),
        uc(checkins, with_upstream ? &eligibility : nullptr, &readers, clock, ids, executor,
           std::move(options)) {
    eligibility.SetResultListener(
        [this](const ResultView& v) { executor.Post([this, v] { uc.OnResult(v); }); });
    uc.SetChangeListener([this](const CheckInView& v) { changes.Record(v); });
    REQUIRE(upstream.Start(eligibility.Handlers()).ok());
  }
  ~Site() {
    eligibility.SetResultListener(nullptr);
    eligibility.Shutdown();
    executor.Join();
  }

  core::Result<CheckInView> Start(app::StartCheckInInput input) {
    Awaited<CheckInView> started;
    uc.Start(std::move(input), started.Callback());
    return started.Get();
  }
  CheckInView Started(app::StartCheckInInput input) {
    auto v = Start(std::move(input));
    if (!v.ok()) FAIL(v.error().reason << ": " << v.error().message);
    return std::move(v).value();
  }
  CheckInView Get(const std::string& id) {
    auto v = uc.Get(id);
    if (!v.ok()) FAIL(v.error().reason << ": " << v.error().message);
    return std::move(v).value();
  }
  // Waits until check-in `id` was announced in `state`.
  CheckInView WaitState(const std::string& id, ck::CheckInState state) {
    return changes.WaitFor(
        [&](const CheckInView& v) { return v.record.id == id && v.record.state == state; });
  }
  // Waits until every task posted to the (one-thread) executor so far, and what those post in
  // turn a few levels deep, has run.
  void Drain() {
    for (int i = 0; i < 4; ++i) {
      auto done = std::make_shared<std::promise<void>>();
      auto ran = done->get_future();
      executor.Post([done] { done->set_value(); });
      REQUIRE(ran.wait_for(10s) == std::future_status::ready);
    }
  }
  // Events about check-in `id`, oldest first.
  std::vector<core::Event> EventsOf(const std::string& id) {
    std::vector<core::Event> out;
    for (const auto& e : events.Events()) {
      if (Attr(e, "check_in_id") == id) out.push_back(e);
    }
    return out;
  }
  std::vector<std::string> EventTypesOf(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : EventsOf(id)) out.push_back(e.type);
    return out;
  }
  // The check-in a face result got for itself (UNMATCHED / AMBIGUOUS), once announced.
  CheckInView OwnCheckInOf(std::int64_t result_id) {
    return changes.WaitFor([&](const CheckInView& v) {
      return v.record.from_result && v.record.result_id == result_id;
    });
  }
  std::int64_t LastResultId() {
    const auto all = results.Results();
    REQUIRE_FALSE(all.empty());
    return all.back().id;
  }

  testing::ManualClock clock{testing::JapanTime(2025, 12, 10, 10, 0)};
  testing::FakeIds ids;
  testing::MemEventStore events;
  testing::MemUpstreamJournal journal{&events};
  testing::MemResultStore results{journal, events};
  testing::MemReferenceNumberStore reference_numbers{journal, events};
  testing::MemCheckInStore checkins{&events, &results};
  testing::FakeOqsCodec codec;
  testing::FakeUpstream upstream{journal, clock};
  testing::FakeCardReaders readers{clock};
  ChangeLog changes;
  app::Executor executor{1};
  app::EligibilityUseCases eligibility;
  app::CheckInUseCases uc;
};

app::StartCheckInInput FaceInput(const std::string& desk = "desk-1") {
  app::StartCheckInInput in;
  in.desk_id = desk;
  in.channel = ck::Channel::kFaceReader;
  in.documents = {ck::Document::kMyNumberCard};
  return in;
}

app::StartCheckInInput DocumentInput(const std::string& client_key = "") {
  app::StartCheckInInput in;
  in.client_key = client_key;
  in.desk_id = "desk-1";
  in.channel = ck::Channel::kDocumentQuery;
  in.documents = {ck::Document::kQualificationCertificateCard};
  in.query = PatientQuery();
  return in;
}

app::StartCheckInInput NoDocumentInput() {
  app::StartCheckInInput in;
  in.desk_id = "desk-2";
  in.channel = ck::Channel::kManual;
  in.documents = {ck::Document::kNone};
  return in;
}

app::StartCheckInInput ReaderInput(const std::string& reader) {
  app::StartCheckInInput in;
  in.desk_id = "desk-2";
  in.channel = ck::Channel::kGenericReader;
  in.documents = {ck::Document::kMyNumberCard};
  in.reader = reader;
  return in;
}

std::string CauseOf(const CheckInView& v) {
  return v.record.cause ? std::string(onshid::core::ToString(*v.record.cause)) : "";
}

// ---- Start, per channel -------------------------------------------------------------------------

TEST_CASE("a face-reader check-in waits for its result and sends nothing", "[checkin][start]") {
  Site s;
  const CheckInView v = s.Started(FaceInput());
  CHECK(v.record.id.rfind("ci_", 0) == 0);
  CHECK(v.record.version == 1);
  CHECK(v.record.state == ck::CheckInState::kWaiting);
  CHECK(v.record.day == "2025-12-10");
  CHECK(v.record.query_key.empty());
  CHECK(v.results.empty());
  CHECK(s.upstream.SubmitCalls() == 0);
  CHECK(s.EventTypesOf(v.record.id) == std::vector<std::string>{"checkin.started"});
  CHECK(s.WaitState(v.record.id, ck::CheckInState::kWaiting).record.version == 1);
}

TEST_CASE("a start with bad input is refused naming the fields and stores nothing",
          "[checkin][start]") {
  Site s;
  auto in = FaceInput("desk-9");
  in.name_kana = "ﾔﾏﾀﾞ ﾀﾛｳ";  // without birth_date
  auto refused = s.Start(in);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().reason == "INVALID_CHECKIN");
  std::vector<std::string> fields;
  for (const auto& f : refused.error().field_violations) fields.push_back(f.field);
  CHECK(fields == std::vector<std::string>{"desk_id", "birth_date"});

  auto no_ids = DocumentInput();
  no_ids.query.reset();
  auto missing = s.Start(no_ids);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().reason == "INVALID_CHECKIN");
  REQUIRE(missing.error().field_violations.size() == 1);
  CHECK(missing.error().field_violations[0].field == "identifiers");
  CHECK(s.events.Events().empty());
  CHECK(s.upstream.SubmitCalls() == 0);
}

TEST_CASE("a document check-in sends its query and the answer decides it", "[checkin][query]") {
  Site s;
  const CheckInView v = s.Started(DocumentInput());
  const std::string& id = v.record.id;
  CHECK(v.record.state == ck::CheckInState::kWaiting);  // answered before the query's result
  CHECK(v.record.query_key == "checkin:" + id);
  REQUIRE(s.upstream.WaitForSubmitted(1, 10s));
  const auto sent = s.upstream.Submitted().at(0);
  CHECK(sent.request_id == "checkin:" + id);
  CHECK(sent.client_request_id.empty());  // the daemon asked, not a client

  SECTION("a valid answer verifies it") {
    REQUIRE(s.upstream.DeliverResult("checkin:" + id, ValidAnswer()).ok());
    const CheckInView done = s.WaitState(id, ck::CheckInState::kVerified);
    CHECK(done.record.result_id == s.LastResultId());
    REQUIRE(done.results.size() == 1);
    CHECK(done.results[0].link == "QUERY");
    CHECK(done.results[0].result_id == done.record.result_id);
    CHECK(done.record.reason == "ELIGIBILITY_VALID");
    s.Drain();
    CHECK(s.EventTypesOf(id) == std::vector<std::string>{"checkin.started", "checkin.verified"});
    // The result is applied once although the listener and the waiter both deliver it.
    CHECK(s.Get(id).results.size() == 1);
  }

  SECTION("an invalid eligibility needs the fallback path") {
    REQUIRE(
        s.upstream
            .DeliverResult("checkin:" + id, FakeResultDocument::Answer("2").Qualification().Text())
            .ok());
    const CheckInView done = s.WaitState(id, ck::CheckInState::kNeedsFallback);
    CHECK(CauseOf(done) == "RESULT_INVALID");
    CHECK(done.results.size() == 1);
  }

  SECTION("a rejection needs the fallback path, naming the upstream reason") {
    REQUIRE(s.upstream.DeliverRejection("checkin:" + id, "E001").ok());
    const CheckInView done = s.WaitState(id, ck::CheckInState::kNeedsFallback);
    CHECK(CauseOf(done) == "NETWORK_ERROR");
    CHECK_FALSE(done.record.timed_out);
    s.Drain();
    const auto evs = s.EventsOf(id);
    REQUIRE_FALSE(evs.empty());
    CHECK(evs.back().type == "checkin.needs_fallback");
    CHECK(Attr(evs.back(), "upstream_reason") == "UPSTREAM_REJECTED");
  }
}

TEST_CASE(
    "a document query not answered in time needs the fallback path; the late answer "
    "still verifies it",
    "[checkin][query]") {
  auto options = DefaultOptions();
  options.query_timeout = 1s;  // waits 800 ms (executor timer), then UPSTREAM_RESULT_PENDING
  Site s(options);
  const CheckInView v = s.Started(DocumentInput());
  const CheckInView late = s.WaitState(v.record.id, ck::CheckInState::kNeedsFallback);
  CHECK(late.record.timed_out);
  CHECK(CauseOf(late) == "NETWORK_ERROR");
  s.Drain();
  CHECK(Attr(s.EventsOf(v.record.id).back(), "upstream_reason") == "UPSTREAM_RESULT_PENDING");
  REQUIRE(s.upstream.DeliverResult("checkin:" + v.record.id, ValidAnswer()).ok());
  const CheckInView done = s.WaitState(v.record.id, ck::CheckInState::kVerified);
  CHECK(done.results.size() == 1);
  CHECK(s.upstream.SubmitCalls() == 1);
}

TEST_CASE("a query answer after the check-in was cancelled is kept, linked, and decides nothing",
          "[checkin][query]") {
  Site s;
  const CheckInView v = s.Started(DocumentInput());
  REQUIRE(s.upstream.WaitForSubmitted(1, 10s));
  REQUIRE(s.uc.Cancel(v.record.id, "PATIENT_LEFT", {"desk-1", "req-cancel"}).ok());
  REQUIRE(s.upstream.DeliverResult("checkin:" + v.record.id, ValidAnswer()).ok());
  const CheckInView linked = s.changes.WaitFor(
      [&](const CheckInView& c) { return c.record.id == v.record.id && !c.results.empty(); });
  CHECK(linked.record.state == ck::CheckInState::kCancelled);
  CHECK(linked.record.reason == "PATIENT_LEFT");
  CHECK(linked.results[0].link == "LINKED");
  s.Drain();
  const auto evs = s.EventsOf(v.record.id);
  REQUIRE_FALSE(evs.empty());
  CHECK(evs.back().type == "checkin.result_linked");
  CHECK(Attr(evs.back(), "reason") == "LATE_QUERY_RESULT");
  CHECK(evs.back().result_id == s.LastResultId());
}

TEST_CASE("a manual check-in without a document needs the fallback path at once",
          "[checkin][start]") {
  Site s;
  const CheckInView v = s.Started(NoDocumentInput());
  CHECK(v.record.state == ck::CheckInState::kNeedsFallback);
  CHECK(CauseOf(v) == "NO_DOCUMENT");
  CHECK(v.record.query_key.empty());
  CHECK(s.upstream.SubmitCalls() == 0);
  CHECK(s.EventTypesOf(v.record.id) ==
        std::vector<std::string>{"checkin.started", "checkin.needs_fallback"});
  // The change listener (the fallback cases) hears of it.
  CHECK(CauseOf(s.WaitState(v.record.id, ck::CheckInState::kNeedsFallback)) == "NO_DOCUMENT");
}

TEST_CASE("a start retried with the same client key returns the same check-in and sends once",
          "[checkin][start][idempotency]") {
  Site s;
  const CheckInView first = s.Started(DocumentInput("desk-1/req-1"));
  REQUIRE(s.upstream.WaitForSubmitted(1, 10s));
  const CheckInView again = s.Started(DocumentInput("desk-1/req-1"));
  CHECK(again.record.id == first.record.id);
  CHECK(again.record.version == first.record.version);
  auto all = s.checkins.ListCheckIns({});
  REQUIRE(all.ok());
  CHECK(all->size() == 1);
  s.Drain();
  CHECK(s.upstream.SubmitCalls() == 1);
}

TEST_CASE("without an upstream a document check-in needs the fallback path and sends nothing",
          "[checkin][start]") {
  Site s(DefaultOptions(), /*with_upstream=*/false);
  const CheckInView v = s.Started(DocumentInput());
  CHECK(v.record.state == ck::CheckInState::kNeedsFallback);
  CHECK(CauseOf(v) == "NETWORK_ERROR");
  CHECK(v.record.query_key.empty());
  s.Drain();
  CHECK(s.upstream.SubmitCalls() == 0);
  Awaited<ResultView> reverified;
  s.uc.Reverify(v.record.id, 1, reverified.Callback());
  CHECK(reverified.Get().error().reason == "UPSTREAM_NOT_CONFIGURED");
}

TEST_CASE("a generic-reader tap decides by the card's certificate", "[checkin][start][reader]") {
  Site s;
  SECTION("a valid certificate: waiting, with the card key") {
    s.readers.InsertCard(
        "R1", testing::FakeCard::MyNumberCard(core::card::CertificateStatus::kValid, "card-key-1"));
    const CheckInView v = s.Started(ReaderInput("R1"));
    CHECK(v.record.state == ck::CheckInState::kWaiting);
    REQUIRE(v.record.certificate);
    CHECK(*v.record.certificate == core::card::CertificateStatus::kValid);
    CHECK(v.record.keys.card_key == "card-key-1");
    CHECK(v.record.reader == "R1");
    CHECK(s.readers.Calls() == std::vector<std::string>{"InspectCard R1"});
  }
  SECTION("an expired certificate: the fallback path") {
    s.readers.InsertCard("R1", testing::FakeCard::MyNumberCard(
                                   core::card::CertificateStatus::kExpired, "card-key-1"));
    const CheckInView v = s.Started(ReaderInput("R1"));
    CHECK(v.record.state == ck::CheckInState::kNeedsFallback);
    CHECK(CauseOf(v) == "CERTIFICATE_EXPIRED");
  }
  SECTION("a certificate in grace: insurance information only") {
    s.readers.InsertCard("R1", testing::FakeCard::MyNumberCard(
                                   core::card::CertificateStatus::kExpiredInGrace, "card-key-1"));
    const CheckInView v = s.Started(ReaderInput("R1"));
    CHECK(v.record.state == ck::CheckInState::kWaiting);
    CHECK(v.record.scope == ck::InformationScope::kInsuranceOnly);
    REQUIRE_FALSE(v.record.notices.empty());
  }
  SECTION("no card on the reader: refused, nothing stored") {
    s.readers.AddReader("R1");
    auto refused = s.Start(ReaderInput("R1"));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().reason == "NO_CARD");
    CHECK(s.checkins.ListCheckIns({})->empty());
  }
  SECTION("a reader in trouble: the fallback path") {
    s.readers.AddReader("R1");
    s.readers.FailNext("R1", core::Unavailable("READER_UNAVAILABLE", "reader gone", "読めません"));
    const CheckInView v = s.Started(ReaderInput("R1"));
    CHECK(CauseOf(v) == "TERMINAL_TROUBLE");  // a card on a desk reader, not a smartphone
  }
  SECTION("a chip that cannot be read: the fallback path") {
    s.readers.InsertCard(
        "R1", testing::FakeCard::MyNumberCard(core::card::CertificateStatus::kValid, "card-key-1"));
    s.readers.FailNext("R1",
                       core::Unavailable("CARD_COMMUNICATION_ERROR", "t=1 error", "読めません"));
    const CheckInView v = s.Started(ReaderInput("R1"));
    CHECK(CauseOf(v) == "IC_UNREADABLE");
  }
}

// ---- Face results and correlation ---------------------------------------------------------------

TEST_CASE("a face result is bound to the waiting check-in of its desk and verifies it",
          "[checkin][correlation]") {
  Site s;
  const CheckInView v = s.Started(FaceInput());
  const std::string id = v.record.id;
  s.clock.Advance(1min);
  REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer({{"ReferenceNumber", "P-1"}})).ok());
  const CheckInView done = s.WaitState(id, ck::CheckInState::kVerified);
  const std::int64_t result_id = s.LastResultId();
  CHECK(done.record.correlation == "BOUND");
  CHECK(done.record.result_id == result_id);
  REQUIRE(done.results.size() == 1);
  CHECK(done.results[0].link == "BOUND");
  CHECK(done.record.keys.reference_number == "P-1");  // learnt from the result
  s.Drain();
  CHECK(s.EventTypesOf(id) ==
        std::vector<std::string>{"checkin.started", "checkin.result_bound", "checkin.verified"});

  SECTION("a second tap at the desk gets its own check-in; the first keeps its result") {
    s.clock.Advance(1min);
    REQUIRE(s.upstream
                .DeliverFace("face_2.xml", FakeResultDocument::Answer("1")
                                               .Header("ProcessExecutionTime", "20251210100200")
                                               .Qualification()
                                               .Text())
                .ok());
    const std::int64_t second = s.LastResultId();
    CHECK(second != result_id);
    const CheckInView own = s.OwnCheckInOf(second);
    CHECK(own.record.correlation == "UNMATCHED");
    CHECK(own.record.state == ck::CheckInState::kWaiting);  // for staff
    CHECK(own.record.desk_id == "desk-1");
    REQUIRE(own.results.size() == 1);
    CHECK(own.results[0].link == "OWN");
    const CheckInView first = s.Get(id);
    CHECK(first.record.state == ck::CheckInState::kVerified);
    CHECK(first.results.size() == 1);
  }

  SECTION("the same face file delivered twice (identical bytes) changes nothing") {
    REQUIRE(
        s.upstream.DeliverFace("face_1_copy.xml", ValidAnswer({{"ReferenceNumber", "P-1"}})).ok());
    s.Drain();
    CHECK(s.results.Results().size() == 2);  // kept as evidence, reported as face.duplicate
    auto all = s.checkins.ListCheckIns({});
    REQUIRE(all.ok());
    CHECK(all->size() == 1);
    CHECK(s.Get(id).results.size() == 1);
  }
}

TEST_CASE("a face result is never bound to a check-in at a desk its reader does not serve",
          "[checkin][correlation]") {
  Site s;
  const CheckInView other_desk = s.Started(FaceInput("desk-2"));  // the face feed serves desk-1
  REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
  const CheckInView own = s.OwnCheckInOf(s.LastResultId());
  CHECK(own.record.correlation == "UNMATCHED");
  CHECK(own.record.desk_id == "desk-1");
  const CheckInView still = s.Get(other_desk.record.id);
  CHECK(still.record.state == ck::CheckInState::kWaiting);
  CHECK(still.results.empty());
}

TEST_CASE("two waiting check-ins at one desk: a result that fits both is ambiguous, keys decide",
          "[checkin][correlation]") {
  Site s;
  SECTION("no keys: ambiguous, for staff, naming both") {
    const CheckInView a = s.Started(FaceInput());
    const CheckInView b = s.Started(FaceInput());
    REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
    const CheckInView own = s.OwnCheckInOf(s.LastResultId());
    CHECK(own.record.correlation == "AMBIGUOUS");
    std::vector<std::string> candidates;
    for (const auto& c : own.record.candidates) candidates.push_back(c.check_in_id);
    std::sort(candidates.begin(), candidates.end());
    std::vector<std::string> expected{a.record.id, b.record.id};
    std::sort(expected.begin(), expected.end());
    CHECK(candidates == expected);
    CHECK(s.Get(a.record.id).record.state == ck::CheckInState::kWaiting);
    CHECK(s.Get(b.record.id).record.state == ck::CheckInState::kWaiting);
  }
  SECTION("the カナ name and birth date rule the other out") {
    auto with_keys = FaceInput();
    with_keys.name_kana = "ﾔﾏﾀﾞ ﾀﾛｳ";
    with_keys.birth_date = "1980-01-15";
    auto other = FaceInput();
    other.name_kana = "ｽｽﾞｷ ﾊﾅｺ";
    other.birth_date = "1975-05-05";
    const CheckInView a = s.Started(with_keys);
    const CheckInView b = s.Started(other);
    REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
    const CheckInView done = s.WaitState(a.record.id, ck::CheckInState::kVerified);
    CHECK(done.record.correlation == "BOUND");
    CHECK(s.Get(b.record.id).record.state == ck::CheckInState::kWaiting);
  }
}

TEST_CASE("staff assign an unmatched result to a check-in, once", "[checkin][staff]") {
  Site s;
  REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
  const std::int64_t result_id = s.LastResultId();
  const CheckInView holder = s.OwnCheckInOf(result_id);
  CHECK(holder.record.correlation == "UNMATCHED");
  s.clock.Advance(1min);
  const CheckInView target = s.Started(NoDocumentInput());  // desk-2: not the face feed's
  REQUIRE(target.record.state == ck::CheckInState::kNeedsFallback);

  const app::Actor staff{"desk-2", "req-assign"};
  auto assigned = s.uc.AssignResult(target.record.id, result_id, staff);
  REQUIRE(assigned.ok());
  CHECK(assigned->record.state == ck::CheckInState::kVerified);
  CHECK(assigned->record.correlation == "ASSIGNED");
  CHECK(assigned->record.result_id == result_id);
  REQUIRE(assigned->results.size() == 1);
  CHECK(assigned->results[0].link == "ASSIGNED");
  const CheckInView closed = s.Get(holder.record.id);
  CHECK(closed.record.state == ck::CheckInState::kCancelled);
  CHECK(closed.record.reason == "RESULT_ASSIGNED");
  CHECK(closed.results.empty());  // the link moved
  const auto assigned_events = s.EventsOf(target.record.id);
  REQUIRE(assigned_events.size() >= 3);
  CHECK(assigned_events[2].type == "checkin.result_assigned");
  CHECK(assigned_events[2].request_id == "req-assign");

  SECTION("the same action retried is applied once") {
    const auto before = s.events.Events().size();
    auto again = s.uc.AssignResult(target.record.id, result_id, staff);
    REQUIRE(again.ok());
    CHECK(again->record.version == assigned->record.version);
    CHECK(s.events.Events().size() == before);
  }
  SECTION("another action cannot take a result that belongs to a check-in") {
    auto other = s.Started(FaceInput());
    auto refused = s.uc.AssignResult(other.record.id, result_id, {"desk-1", "req-other"});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().reason == "RESULT_NOT_ASSIGNABLE");
  }
}

TEST_CASE("staff accept an unmatched result as its own check-in's (a walk-in)",
          "[checkin][staff]") {
  Site s;
  REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
  const std::int64_t result_id = s.LastResultId();
  const CheckInView own = s.OwnCheckInOf(result_id);
  auto accepted = s.uc.AssignResult(own.record.id, result_id, {"desk-1", "req-accept"});
  REQUIRE(accepted.ok());
  CHECK(accepted->record.state == ck::CheckInState::kVerified);
  CHECK(accepted->record.correlation == "ASSIGNED");
  CHECK(accepted->record.correlation_reasons == std::vector<std::string>{"ACCEPTED_BY_STAFF"});
  REQUIRE(accepted->results.size() == 1);
  CHECK(accepted->results[0].link == "OWN");  // the link it had
  // A result's own check-in takes no other result.
  REQUIRE(s.upstream.DeliverFace("face_2.xml", ValidAnswer({{"NameKana", "ｽｽﾞｷ ﾊﾅｺ"}})).ok());
  const std::int64_t other = s.LastResultId();
  s.OwnCheckInOf(other);
  auto refused = s.uc.AssignResult(own.record.id, other, {"desk-1", "req-other"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().reason == "RESULT_NOT_ASSIGNABLE");
}

TEST_CASE("staff cancel a check-in, once", "[checkin][staff]") {
  Site s;
  const CheckInView v = s.Started(FaceInput());
  const app::Actor staff{"desk-1", "req-cancel"};
  auto cancelled = s.uc.Cancel(v.record.id, "", staff);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->record.state == ck::CheckInState::kCancelled);
  CHECK(cancelled->record.reason == "CHECKIN_CANCELLED");
  auto again = s.uc.Cancel(v.record.id, "", staff);  // the response was lost; the clerk retries
  REQUIRE(again.ok());
  CHECK(again->record.version == cancelled->record.version);
  const auto evs = s.EventsOf(v.record.id);
  REQUIRE(evs.size() == 2);
  CHECK(evs[1].type == "checkin.cancelled");
  CHECK(evs[1].request_id == "req-cancel");
  auto twice = s.uc.Cancel(v.record.id, "", {"desk-1", "req-cancel-2"});
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().reason == "INVALID_CHECKIN_TRANSITION");
  auto missing = s.uc.Cancel("ci_missing", "", staff);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().reason == "CHECKIN_NOT_FOUND");
}

TEST_CASE("staff link a patient, once per request", "[checkin][staff]") {
  Site s;
  const CheckInView v = s.Started(FaceInput());
  const app::Actor staff{"desk-1", "req-link"};
  auto linked = s.uc.LinkPatient(v.record.id, "PAT-100", staff);
  REQUIRE(linked.ok());
  CHECK(linked->record.patient_id == "PAT-100");
  REQUIRE(linked->patient_links.size() == 1);
  CHECK(linked->patient_links[0].patient_id == "PAT-100");
  CHECK(linked->patient_links[0].linked_by == "desk-1");
  CHECK(linked->patient_links[0].request_id == "req-link");
  auto again = s.uc.LinkPatient(v.record.id, "PAT-100", staff);
  REQUIRE(again.ok());
  CHECK(again->patient_links.size() == 1);
  const auto evs = s.EventsOf(v.record.id);
  REQUIRE(evs.size() == 2);
  CHECK(evs[1].type == "checkin.patient_linked");
  for (const auto& [k, value] : evs[1].attributes) CHECK(value != "PAT-100");  // no patient id
  auto unlinked = s.uc.LinkPatient(v.record.id, "", {"desk-1", "req-unlink"});
  REQUIRE(unlinked.ok());
  CHECK(unlinked->record.patient_id.empty());
  CHECK(unlinked->patient_links.size() == 2);
  auto bad = s.uc.LinkPatient(v.record.id, std::string(65, 'x'), {"desk-1", "req-bad"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().reason == "INVALID_CHECKIN");
}

TEST_CASE("linking a patient shows what changed since the patient's last verified visit",
          "[checkin][staff]") {
  Site s;
  const CheckInView first = s.Started(FaceInput());
  REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
  s.WaitState(first.record.id, ck::CheckInState::kVerified);
  REQUIRE(s.uc.LinkPatient(first.record.id, "PAT-1", {"desk-1", "req-1"}).ok());
  CHECK(s.Get(first.record.id).record.changes.empty());  // no earlier visit

  s.clock.Advance(24h * 30);
  const CheckInView second = s.Started(FaceInput());
  REQUIRE(s.upstream
              .DeliverFace("face_2.xml", ValidAnswer({{"InsurerNumber", "31130015"},
                                                      {"InsuredIdentificationNumber", "BANGO2"}}))
              .ok());
  s.WaitState(second.record.id, ck::CheckInState::kVerified);
  auto linked = s.uc.LinkPatient(second.record.id, "PAT-1", {"desk-1", "req-2"});
  REQUIRE(linked.ok());
  CHECK(linked->record.baseline_check_in_id == first.record.id);
  CHECK_FALSE(linked->record.changes.empty());
  s.Drain();
  CHECK(Attr(s.EventsOf(second.record.id).back(), "changes") ==
        std::to_string(linked->record.changes.size()));
}

// ---- Consent ------------------------------------------------------------------------------------

TEST_CASE("consent decisions follow the result, withdrawals and oral consents",
          "[checkin][consent]") {
  Site s;
  const CheckInView v = s.Started(FaceInput());
  const std::string id = v.record.id;
  REQUIRE(s.upstream
              .DeliverFace("face_1.xml", ValidAnswer({{"PharmacistsInfoConsFlg", "1"},
                                                      {"PharmacistsInfoConsTime", "20251210095900"},
                                                      {"DiagnosisInfoConsFlg", "0"}}))
              .ok());
  s.WaitState(id, ck::CheckInState::kVerified);
  auto access = [&](ck::InformationKind kind) {
    auto o = s.uc.CheckAccess(id, "", kind, std::nullopt);
    if (!o.ok()) FAIL(o.error().reason);
    return o->decision;
  };

  auto consent = s.uc.GetConsent(id);
  REQUIRE(consent.ok());
  CHECK(consent->result_id == s.LastResultId());
  const auto medication = std::find_if(
      consent->consents.begin(), consent->consents.end(),
      [](const ck::ConsentItem& c) { return c.kind == ck::InformationKind::kMedication; });
  REQUIRE(medication != consent->consents.end());
  CHECK(medication->flag == ck::ConsentFlag::kGiven);

  CHECK(access(ck::InformationKind::kInsurance).allowed);
  CHECK(access(ck::InformationKind::kMedication).reason == "CONSENT_GIVEN");
  CHECK(access(ck::InformationKind::kClinical).reason == "NO_CONSENT");

  const app::Actor staff{"desk-1", "req-withdraw"};
  auto withdrawn = s.uc.RecordConsentWithdrawal(id, {ck::InformationKind::kMedication}, "staff-7",
                                                std::nullopt, staff);
  REQUIRE(withdrawn.ok());
  CHECK(withdrawn->withdrawals.size() == 1);
  CHECK(access(ck::InformationKind::kMedication).reason == "CONSENT_WITHDRAWN");
  auto again = s.uc.RecordConsentWithdrawal(id, {ck::InformationKind::kMedication}, "staff-7",
                                            std::nullopt, staff);
  REQUIRE(again.ok());
  CHECK(again->withdrawals.size() == 1);  // a retry is applied once

  CHECK_FALSE(access(ck::InformationKind::kCausativeDrugs).allowed);
  const app::Actor doctor{"room-1", "req-oral"};
  auto oral = s.uc.RecordOralConsent(id, "doctor-1", std::nullopt, doctor);
  REQUIRE(oral.ok());
  CHECK(oral->oral_consents.size() == 1);
  REQUIRE(s.uc.RecordOralConsent(id, "doctor-1", std::nullopt, doctor).ok());
  CHECK(s.uc.GetConsent(id)->oral_consents.size() == 1);
  CHECK(access(ck::InformationKind::kCausativeDrugs).reason == "ORAL_CONSENT");
  CHECK_FALSE(access(ck::InformationKind::kMedication).allowed);  // oral opens nothing else

  std::vector<std::string> types;
  for (const auto& e : s.EventsOf(id)) types.push_back(e.type);
  CHECK(std::count(types.begin(), types.end(), "checkin.consent_withdrawn") == 1);
  CHECK(std::count(types.begin(), types.end(), "checkin.oral_consent_recorded") == 1);

  // By patient: the patient's latest verified check-in.
  REQUIRE(s.uc.LinkPatient(id, "PAT-1", {"desk-1", "req-link"}).ok());
  auto by_patient = s.uc.CheckAccess("", "PAT-1", ck::InformationKind::kInsurance, std::nullopt);
  REQUIRE(by_patient.ok());
  CHECK(by_patient->check_in_id == id);
  auto nobody = s.uc.CheckAccess("", "PAT-2", ck::InformationKind::kInsurance, std::nullopt);
  REQUIRE(nobody.ok());
  CHECK(nobody->decision.reason == "NO_VERIFIED_CHECKIN");

  auto incomplete = s.uc.RecordConsentWithdrawal(id, {}, "", std::nullopt, staff);
  REQUIRE_FALSE(incomplete.ok());
  CHECK(incomplete.error().reason == "INVALID_CHECKIN");
  CHECK(incomplete.error().field_violations.size() == 2);
}

// ---- Sweep --------------------------------------------------------------------------------------

TEST_CASE("the sweep announces NEEDS_FALLBACK check-ins to the change listener again",
          "[checkin][sweep]") {
  Site s;
  const CheckInView open = s.Started(NoDocumentInput());
  const CheckInView verified = s.Started(FaceInput());
  REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
  s.WaitState(verified.record.id, ck::CheckInState::kVerified);
  s.Drain();
  s.changes.Clear();
  auto announced = [&] {
    std::vector<std::string> ids;
    for (const auto& v : s.changes.All()) ids.push_back(v.record.id);
    return ids;
  };

  s.uc.Sweep();  // the first sweep after a start: the open ones and those verified lately
  s.Drain();
  CHECK(announced() == std::vector<std::string>{open.record.id, verified.record.id});
  s.changes.Clear();
  for (int i = 2; i <= 60; ++i) s.uc.Sweep();
  s.Drain();
  CHECK(announced().empty());
  s.uc.Sweep();  // the 61st: the open ones again
  s.Drain();
  CHECK(announced() == std::vector<std::string>{open.record.id});
}

TEST_CASE("the sweep marks a wait that ran out, once; a result after the window does not decide it",
          "[checkin][sweep]") {
  Site s;
  const CheckInView v = s.Started(FaceInput());
  s.clock.Advance(5min);
  s.uc.Sweep();
  CHECK_FALSE(s.Get(v.record.id).record.timed_out);  // still inside the window
  s.clock.Advance(6min);
  s.uc.Sweep();
  const CheckInView timed_out = s.Get(v.record.id);
  CHECK(timed_out.record.timed_out);
  CHECK(timed_out.record.state == ck::CheckInState::kWaiting);
  CHECK(s.EventTypesOf(v.record.id).back() == "checkin.timed_out");
  s.uc.Sweep();
  s.Drain();
  const auto types = s.EventTypesOf(v.record.id);
  CHECK(std::count(types.begin(), types.end(), "checkin.timed_out") == 1);

  REQUIRE(s.upstream.DeliverFace("face_1.xml", ValidAnswer()).ok());
  const CheckInView own = s.OwnCheckInOf(s.LastResultId());  // for staff to assign
  CHECK(own.record.correlation == "UNMATCHED");
  const CheckInView still = s.Get(v.record.id);
  CHECK(still.record.state == ck::CheckInState::kWaiting);
  CHECK(still.results.empty());
}

TEST_CASE("the sweep correlates a face result a crash left uncorrelated", "[checkin][sweep]") {
  Site s;
  const CheckInView v = s.Started(FaceInput());
  s.clock.Advance(1min);
  // Stored before the daemon stopped, never handed to the check-ins.
  core::StoredResult stored;
  stored.source = "face";
  stored.file_name = "face_1.xml";
  stored.raw = ValidAnswer();
  stored.raw_sha256 = testing::FakeUpstream::Fingerprint(stored.raw);
  stored.xml_utf8 = stored.raw;
  stored.received_at = s.clock.Now();
  REQUIRE(s.results.StoreResult(stored, {}).ok());
  s.uc.Sweep();
  const CheckInView done = s.Get(v.record.id);
  CHECK(done.record.state == ck::CheckInState::kVerified);
  CHECK(done.record.correlation == "BOUND");
  CHECK(s.checkins.UnlinkedFaceResults(s.clock.Now() - 1h)->empty());
}

TEST_CASE(
    "a face result received inside the window but left uncorrelated by a crash verifies its "
    "check-in when the sweep runs after the window",
    "[checkin][sweep]") {
  // The daemon stored the result 9 minutes after the check-in started (inside the 10-minute
  // window) and stopped before correlating it; it is back 2 minutes later. The result arrived in
  // time for the waiting check-in, so it must bind and verify it as it would have without the
  // crash — not be merely linked because the same sweep first marked the wait as timed out.
  Site s;
  const CheckInView v = s.Started(FaceInput());
  s.clock.Advance(9min);
  core::StoredResult stored;
  stored.source = "face";
  stored.file_name = "face_1.xml";
  stored.raw = ValidAnswer();
  stored.raw_sha256 = testing::FakeUpstream::Fingerprint(stored.raw);
  stored.xml_utf8 = stored.raw;
  stored.received_at = s.clock.Now();
  REQUIRE(s.results.StoreResult(stored, {}).ok());
  s.clock.Advance(2min);
  s.uc.Sweep();
  const CheckInView after = s.Get(v.record.id);
  REQUIRE(after.results.size() == 1);
  CHECK(after.results[0].link == "BOUND");
  CHECK(after.record.state == ck::CheckInState::kVerified);
}

TEST_CASE("after a restart the sweep rejoins a query in flight and never sends it twice",
          "[checkin][sweep][query]") {
  Site s;
  const CheckInView v = s.Started(DocumentInput());
  REQUIRE(s.upstream.WaitForSubmitted(1, 10s));
  // A new daemon over the same database: its first sweep finds the WAITING check-in.
  app::CheckInUseCases restarted(s.checkins, &s.eligibility, &s.readers, s.clock, s.ids, s.executor,
                                 DefaultOptions());
  restarted.Sweep();
  s.Drain();
  CHECK(s.upstream.SubmitCalls() == 1);
  REQUIRE(s.upstream.DeliverResult("checkin:" + v.record.id, ValidAnswer()).ok());
  s.Drain();
  CHECK(s.Get(v.record.id).record.state == ck::CheckInState::kVerified);
  CHECK(s.Get(v.record.id).results.size() == 1);
  s.eligibility.Shutdown();  // answers the rejoined waiter before `restarted` goes away
  s.Drain();
}

TEST_CASE("after a restart the sweep collects a query answer that arrived while nobody waited",
          "[checkin][sweep][query]") {
  Site s;
  const CheckInView v = s.Started(DocumentInput());
  REQUIRE(s.upstream.WaitForSubmitted(1, 10s));
  // The daemon stops: nobody waits and nobody listens; the terminal's answer is stored all the
  // same.
  s.eligibility.SetResultListener(nullptr);
  s.eligibility.Shutdown();
  REQUIRE(s.upstream.DeliverResult("checkin:" + v.record.id, ValidAnswer()).ok());
  s.Drain();
  CHECK(s.Get(v.record.id).record.state == ck::CheckInState::kWaiting);
  {
    // The next daemon over the same database.
    app::EligibilityUseCases eligibility(s.upstream, s.journal, s.results, s.reference_numbers,
                                         s.events, s.codec, s.clock, s.ids, s.executor,
                                         app::EligibilityOptions{"1312345678"});
    app::CheckInUseCases restarted(s.checkins, &eligibility, &s.readers, s.clock, s.ids, s.executor,
                                   DefaultOptions());
    restarted.Sweep();
    s.Drain();
    const CheckInView done = s.Get(v.record.id);
    CHECK(done.record.state == ck::CheckInState::kVerified);
    CHECK(done.results.size() == 1);
    CHECK(s.upstream.SubmitCalls() == 1);
    eligibility.Shutdown();
    s.Drain();
  }
}

// ---- Reverify -----------------------------------------------------------------------------------

TEST_CASE("re-verification never queries the patient twice", "[checkin][reverify]") {
  Site s;
  const CheckInView v = s.Started(DocumentInput());
  const std::string id = v.record.id;
  const std::string first_key = "checkin:" + id;
  REQUIRE(s.upstream.WaitForSubmitted(1, 10s));

  SECTION("an earlier answered attempt is used") {
    REQUIRE(s.upstream.DeliverResult(first_key, FakeResultDocument::Answer("4").Text()).ok());
    s.WaitState(id, ck::CheckInState::kNeedsFallback);
    const std::int64_t answered = s.LastResultId();
    Awaited<ResultView> again;
    s.uc.Reverify(id, 1, again.Callback());
    REQUIRE(again.Get().ok());
    CHECK(again.Get()->stored.id == answered);
    CHECK(s.upstream.SubmitCalls() == 1);
    s.Drain();
    CHECK(s.Get(id).results.size() == 1);
  }

  SECTION("an attempt still in flight is waited for") {
    Awaited<ResultView> again;
    s.uc.Reverify(id, 1, again.Callback());
    s.Drain();
    CHECK_FALSE(again.Ready());
    CHECK(s.upstream.SubmitCalls() == 1);
    REQUIRE(s.upstream.DeliverResult(first_key, ValidAnswer()).ok());
    REQUIRE(again.Get().ok());
    CHECK(s.WaitState(id, ck::CheckInState::kVerified).results.size() == 1);
    CHECK(s.upstream.SubmitCalls() == 1);
  }

  SECTION("a new key is sent only when every earlier attempt was rejected or abandoned") {
    REQUIRE(s.upstream.DeliverRejection(first_key, "E001").ok());
    s.WaitState(id, ck::CheckInState::kNeedsFallback);
    Awaited<ResultView> second;
    s.uc.Reverify(id, 1, second.Callback());
    REQUIRE(s.upstream.WaitForSubmitted(2, 10s));
    CHECK(s.upstream.Submitted().at(1).request_id == first_key + "#r1");
    CHECK(s.upstream.Submitted().at(1).client_request_id.empty());

    // #r1 still in flight: attempt 2 waits for it.
    Awaited<ResultView> third;
    s.uc.Reverify(id, 2, third.Callback());
    s.Drain();
    CHECK(s.upstream.SubmitCalls() == 2);

    SECTION("answered: the check-in needing the fallback path becomes verified") {
      REQUIRE(s.upstream.DeliverResult(first_key + "#r1", ValidAnswer()).ok());
      REQUIRE(second.Get().ok());
      REQUIRE(third.Get().ok());
      CHECK(second.Get()->stored.id == third.Get()->stored.id);
      const CheckInView done = s.WaitState(id, ck::CheckInState::kVerified);
      CHECK(done.results.size() == 1);
      CHECK(s.upstream.SubmitCalls() == 2);
    }
    SECTION("abandoned: the next attempt sends #r2") {
      REQUIRE(s.upstream.Abandon(first_key + "#r1").ok());
      Awaited<ResultView> fourth;
      s.uc.Reverify(id, 2, fourth.Callback());
      REQUIRE(s.upstream.WaitForSubmitted(3, 10s));
      CHECK(s.upstream.Submitted().at(2).request_id == first_key + "#r2");
      REQUIRE(s.upstream.DeliverResult(first_key + "#r2", ValidAnswer()).ok());
      REQUIRE(fourth.Get().ok());
      s.WaitState(id, ck::CheckInState::kVerified);
    }
  }
}

TEST_CASE("a query held back while the terminal is down is sent by the re-verification",
          "[checkin][reverify]") {
  Site s;
  s.uc.SetUpstreamGate([] { return false; });
  const CheckInView v = s.Started(DocumentInput());
  const CheckInView held = s.WaitState(v.record.id, ck::CheckInState::kNeedsFallback);
  CHECK(CauseOf(held) == "NETWORK_ERROR");
  s.Drain();
  CHECK(Attr(s.EventsOf(v.record.id).back(), "upstream_reason") == "UPSTREAM_NOT_ANSWERING");
  CHECK(s.upstream.SubmitCalls() == 0);

  Awaited<ResultView> again;
  s.uc.Reverify(v.record.id, 1, again.Callback());
  REQUIRE(s.upstream.WaitForSubmitted(1, 10s));
  CHECK(s.upstream.Submitted().at(0).request_id == "checkin:" + v.record.id + "#r1");
  REQUIRE(s.upstream.DeliverResult("checkin:" + v.record.id + "#r1", ValidAnswer()).ok());
  REQUIRE(again.Get().ok());
  s.WaitState(v.record.id, ck::CheckInState::kVerified);
}

TEST_CASE("re-verification needs a check-in with a document query", "[checkin][reverify]") {
  Site s;
  const CheckInView face = s.Started(FaceInput());
  Awaited<ResultView> refused;
  s.uc.Reverify(face.record.id, 1, refused.Callback());
  CHECK(refused.Get().error().reason == "NO_QUERY_TO_REVERIFY");
  Awaited<ResultView> missing;
  s.uc.Reverify("ci_missing", 1, missing.Callback());
  CHECK(missing.Get().error().reason == "CHECKIN_NOT_FOUND");
}

// ---- Lists --------------------------------------------------------------------------------------

TEST_CASE("check-ins are listed by day, desk and state, or by patient", "[checkin][list]") {
  Site s;
  const CheckInView a = s.Started(FaceInput());
  const CheckInView b = s.Started(NoDocumentInput());
  app::CheckInFilter today;
  auto listed = s.uc.List(today);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK(listed->at(0).record.id == a.record.id);
  app::CheckInFilter desk2;
  desk2.desk_id = "desk-2";
  CHECK(s.uc.List(desk2)->size() == 1);
  app::CheckInFilter waiting;
  waiting.state = ck::CheckInState::kWaiting;
  CHECK(s.uc.List(waiting)->at(0).record.id == a.record.id);
  app::CheckInFilter other_day;
  other_day.day = "2025-12-09";
  CHECK(s.uc.List(other_day)->empty());
  REQUIRE(s.uc.LinkPatient(b.record.id, "PAT-9", {"desk-2", "r"}).ok());
  app::CheckInFilter patient;
  patient.patient.patient_id = "PAT-9";
  CHECK(s.uc.List(patient)->at(0).record.id == b.record.id);
  app::CheckInFilter bad;
  bad.day = "10/12/2025";
  CHECK(s.uc.List(bad).error().reason == "INVALID_CHECKIN");
}

}  // namespace
}  // namespace onshid
