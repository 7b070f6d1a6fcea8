// Eligibility use cases (daemon/app/eligibility.h) over the fakes of every port they drive: a
// FakeUpstream that plays the terminal, the in-memory journal, result, 照会番号 and event stores
// sharing one log, the line-format FakeOqsCodec, a manual clock and predictable ids. Waits are
// bounded waits on the use cases' own callbacks; nothing sleeps.
//
// The clock stands at 2025-12-10 10:00 JST.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/eligibility.h"
#include "app/executor.h"
#include "support/awaited.h"
#include "support/fake_ids.h"
#include "support/fake_oqs_codec.h"
#include "support/fake_upstream.h"
#include "support/manual_clock.h"
#include "support/mem_event_store.h"
#include "support/mem_result_store.h"
#include "support/mem_upstream_journal.h"

namespace onshid {
namespace {

using namespace std::chrono_literals;
using app::RequestRef;
using app::ResultView;
using testing::Awaited;
using testing::FakeResultDocument;

constexpr const char* kInstitution = "1312345678";

std::string Meta(const core::DomainError& e, const std::string& key) {
  for (const auto& [k, v] : e.metadata) {
    if (k == key) return v;
  }
  return "<none>";
}

std::string Attr(const core::Event& e, const std::string& key) {
  for (const auto& [k, v] : e.attributes) {
    if (k == key) return v;
  }
  return "<none>";
}

std::vector<std::string> Types(const std::vector<core::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

// The identifiers of the patient of FakeResultDocument::Patient(), as a clerk types them.
core::oqs::EligibilityQueryInput PatientQuery() {
  core::oqs::EligibilityQueryInput q;
  q.insurer_number = "06139992";
  q.insured_card_symbol = "KIGO1";
  q.insured_identification_number = "BANGO1";
  q.insured_branch_number = "01";
  q.birth_date = "19800115";
  return q;
}

core::oqs::ReferenceNumberInput Registration(const std::string& reference_number = "P-1") {
  core::oqs::ReferenceNumberInput r;
  r.reference_number = reference_number;
  r.insurer_number = "06139992";
  r.insured_card_symbol = "KIGO1";
  r.insured_identification_number = "BANGO1";
  r.insured_branch_number = "01";
  return r;
}

// A valid answer for the patient.
std::string ValidAnswer() { return FakeResultDocument::Answer("1").Qualification().Text(); }

std::string SiimmAnswer(const std::string& body_lines) {
  return "FAKE-OQS-SIIMM\nHeader/SegmentOfResult=1\n" + body_lines;
}

struct Fixture {
  Fixture()
      : uc(upstream, journal, results, reference_numbers, events, codec, clock, ids, executor,
           app::EligibilityOptions{kInstitution}) {
    uc.SetResultListener([this](const ResultView& v) {
      std::lock_guard lock(mu);
      notified.push_back(v.stored.id);
    });
    REQUIRE(upstream.Start(uc.Handlers()).ok());
  }
  ~Fixture() {
    uc.Shutdown();
    executor.Join();
  }

  // Queries `key` (x-request-id `client_request_id`) with a deadline a minute away.
  Awaited<ResultView> Query(const std::string& key, const std::string& client_request_id,
                            std::chrono::milliseconds deadline = 60s) {
    Awaited<ResultView> answer;
    uc.Query(RequestRef{key, client_request_id}, PatientQuery(), std::nullopt,
             clock.Now() + deadline, answer.Callback());
    return answer;
  }
  Awaited<core::ReferenceNumberRecord> Register(
      const std::string& key, const std::string& client_request_id,
      const core::oqs::ReferenceNumberInput& input = Registration(),
      std::chrono::milliseconds deadline = 60s) {
    Awaited<core::ReferenceNumberRecord> answer;
    uc.RegisterReferenceNumber(RequestRef{key, client_request_id}, input, clock.Now() + deadline,
                               answer.Callback());
    return answer;
  }
  std::vector<std::int64_t> Notified() {
    std::lock_guard lock(mu);
    return notified;
  }
  core::JournalState State(const std::string& key) {
    auto e = journal.Entry(key);
    REQUIRE(e.has_value());
    return e->state;
  }

  testing::ManualClock clock{testing::JapanTime(2025, 12, 10, 10, 0)};
  testing::FakeIds ids;
  testing::MemEventStore events;
  testing::MemUpstreamJournal journal{&events};
  testing::MemResultStore results{journal, events};
  testing::MemReferenceNumberStore reference_numbers{journal, events};
  testing::FakeOqsCodec codec;
  testing::FakeUpstream upstream{journal, clock};
  app::Executor executor{2};
  app::EligibilityUseCases uc;
  std::mutex mu;
  std::vector<std::int64_t> notified;
};

// ---- Queries ------------------------------------------------------------------------------------

TEST_CASE("an invalid query is refused naming every bad field and nothing is sent",
          "[eligibility][query]") {
  Fixture f;
  auto q = PatientQuery();
  q.insurer_number = "06139993";  // wrong check digit
  q.birth_date = "20991301";
  Awaited<ResultView> answer;
  f.uc.Query(RequestRef{"desk/r1", "r1"}, q, std::nullopt, f.clock.Now() + 60s, answer.Callback());
  REQUIRE(answer.Ready());  // synchronously
  const auto got = answer.Get();
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().reason == "INVALID_QUERY");
  CHECK(got.error().kind == core::ErrorKind::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& v : got.error().field_violations) fields.push_back(v.field);
  CHECK(std::count(fields.begin(), fields.end(), "insurer_number") == 1);
  CHECK(std::count(fields.begin(), fields.end(), "birth_date") == 1);
  CHECK(f.upstream.SubmitCalls() == 0);
  CHECK(f.journal.Entries().empty());
  CHECK(answer.Calls() == 1);
}

TEST_CASE("a query is sent once and its answer is stored and reported with the client's request id",
          "[eligibility][query]") {
  Fixture f;
  auto answer = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  const core::UpstreamRequest sent = f.upstream.Submitted().at(0);
  CHECK(sent.request_id == "desk/r1");
  CHECK(sent.client_request_id == "r1");
  CHECK(sent.message_type == "OQSsiquc01");
  CHECK(sent.kind == "eligibility_query");
  CHECK(sent.arbitrary_file_identifier.size() == 16);
  const auto fields = testing::FakeOqsCodec::RequestFields(sent.xml_utf8);
  CHECK(fields.at("type") == "OQSsiquc01");
  CHECK(fields.at("MedicalInstitutionCode") == kInstitution);
  CHECK(fields.at("QualificationConfirmationDate") == "20251210");  // today in Japan
  CHECK(fields.at("ArbitraryFileIdentifier") == sent.arbitrary_file_identifier);
  CHECK(fields.at("InsurerNumber") == "06139992");
  CHECK(fields.at("Birthdate") == "19800115");
  CHECK(f.State("desk/r1") == core::JournalState::kWritten);
  CHECK_FALSE(answer.Ready());

  f.clock.Advance(3s);
  REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
  const auto got = answer.Get();
  REQUIRE(got.ok());
  const ResultView& view = got.value();
  CHECK(view.stored.id > 0);
  CHECK(view.stored.source == "query");
  CHECK(view.stored.request_id == "desk/r1");
  CHECK(view.stored.client_request_id == "r1");
  CHECK(view.stored.received_at == f.clock.Now());
  CHECK(view.stored.keys.insurer_number == "06139992");
  CHECK(view.stored.keys.birth_date == "1980-01-15");
  CHECK(view.stored.keys.validity == "1");
  REQUIRE(view.parsed);
  CHECK(view.parsed->IsSingleValidResult());
  CHECK(answer.Calls() == 1);

  CHECK(f.State("desk/r1") == core::JournalState::kAnswered);
  CHECK(f.journal.Entry("desk/r1")->payload.empty());
  const auto log = f.events.Events();
  REQUIRE(log.size() == 1);
  CHECK(log[0].type == "eligibility.result");
  CHECK(log[0].request_id == "r1");  // the client's id, never the journal key
  CHECK(log[0].result_id == view.stored.id);
  CHECK(log[0].file_name == f.results.Results().at(0).file_name);
  CHECK(Attr(log[0], "validity") == "1");
  CHECK(Attr(log[0], "segment_of_result") == "1");
  CHECK(f.Notified() == std::vector<std::int64_t>{view.stored.id});

  SECTION("a retry of the answered key answers from the store and sends nothing") {
    auto again = f.Query("desk/r1", "r1");
    REQUIRE(again.Ready());
    REQUIRE(again.Get().ok());
    CHECK(again.Get()->stored.id == view.stored.id);
    CHECK(f.upstream.SubmitCalls() == 1);
  }

  SECTION("the same result file read again stores and reports nothing new") {
    REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
    CHECK(f.results.Results().size() == 1);
    CHECK(f.events.Events().size() == 1);
    CHECK(f.Notified().size() == 1);
  }

  SECTION("results are read back and listed") {
    auto got_again = f.uc.Get(view.stored.id);
    REQUIRE(got_again.ok());
    CHECK(got_again->parsed.has_value());
    auto missing = f.uc.Get(view.stored.id + 100);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().reason == "RESULT_NOT_FOUND");
    core::ResultQuery q;
    q.insurer_number = "06139992";
    auto listed = f.uc.List(q);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    CHECK(listed->at(0).stored.id == view.stored.id);
  }
}

TEST_CASE("a rejected query is UPSTREAM_REJECTED, and so is its retry, which sends nothing",
          "[eligibility][query]") {
  Fixture f;
  auto answer = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  REQUIRE(f.upstream.DeliverRejection("desk/r1", "E001 bad request").ok());
  const auto got = answer.Get();
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().reason == "UPSTREAM_REJECTED");
  CHECK(Meta(got.error(), "request_id") == "r1");
  CHECK(f.State("desk/r1") == core::JournalState::kRejected);
  const auto log = f.events.Events();
  REQUIRE(log.size() == 1);
  CHECK(log[0].type == "eligibility.rejected");
  CHECK(log[0].request_id == "r1");
  CHECK(f.results.Results().empty());
  CHECK(f.Notified().empty());

  auto retry = f.Query("desk/r1", "r1");
  REQUIRE(retry.Ready());
  REQUIRE_FALSE(retry.Get().ok());
  CHECK(retry.Get().error().reason == "UPSTREAM_REJECTED");
  CHECK(f.upstream.SubmitCalls() == 1);
  CHECK(f.events.Events().size() == 1);
}

TEST_CASE("a retry while the query is in flight waits for the same answer and never sends twice",
          "[eligibility][query]") {
  Fixture f;
  auto first = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  auto second = f.Query("desk/r1", "r1");
  CHECK_FALSE(second.Ready());
  CHECK(f.upstream.SubmitCalls() == 1);
  REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
  REQUIRE(first.Get().ok());
  REQUIRE(second.Get().ok());
  CHECK(first.Get()->stored.id == second.Get()->stored.id);
  CHECK(f.upstream.Submitted().size() == 1);
  CHECK(f.events.Events().size() == 1);
}

TEST_CASE("concurrent calls with one key journal and send it once", "[eligibility][query]") {
  Fixture f;
  constexpr int kCalls = 8;
  std::vector<Awaited<ResultView>> answers(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&f, &answers, i] {
      f.uc.Query(RequestRef{"desk/r1", "r1"}, PatientQuery(), std::nullopt, f.clock.Now() + 60s,
                 answers[static_cast<std::size_t>(i)].Callback());
    });
  }
  for (auto& t : threads) t.join();
  CHECK(f.upstream.Submitted().size() == 1);  // the others found it journalled
  CHECK(f.journal.Entries().size() == 1);
  REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
  for (auto& a : answers) {
    const auto got = a.Get();
    REQUIRE(got.ok());
    CHECK(a.Calls() == 1);
  }
  CHECK(f.results.Results().size() == 1);
}

TEST_CASE("a query not answered in time is UPSTREAM_RESULT_PENDING before its deadline",
          "[eligibility][query]") {
  Fixture f;
  const auto started = std::chrono::steady_clock::now();
  // A deadline 1 s away leaves a wait of 800 ms (200 ms are kept back for the answer to travel).
  auto answer = f.Query("desk/r1", "r1", 1s);
  const auto got = answer.Get();
  const auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().reason == "UPSTREAM_RESULT_PENDING");
  CHECK(got.error().kind == core::ErrorKind::kDeadlineExceeded);
  CHECK(Meta(got.error(), "request_id") == "r1");
  CHECK(waited >= 700ms);  // it did wait for the answer (the executor's timer, not the clock)
  CHECK(f.upstream.Submitted().size() == 1);
  CHECK(answer.Calls() == 1);

  SECTION("the answer arriving later is stored, reported, and answers the retry") {
    REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
    CHECK(f.results.Results().size() == 1);
    CHECK(Types(f.events.Events()) == std::vector<std::string>{"eligibility.result"});
    CHECK(f.Notified().size() == 1);
    auto retry = f.Query("desk/r1", "r1");
    REQUIRE(retry.Ready());
    REQUIRE(retry.Get().ok());
    CHECK(f.upstream.SubmitCalls() == 1);
    CHECK(answer.Calls() == 1);  // the first caller was answered once, with PENDING
  }

  SECTION("a retry while it is still due waits again without sending") {
    auto retry = f.Query("desk/r1", "r1");
    CHECK_FALSE(retry.Ready());
    REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
    REQUIRE(retry.Get().ok());
    CHECK(f.upstream.SubmitCalls() == 1);
  }
}

TEST_CASE("an abandoned query is UPSTREAM_NO_ANSWER and is never sent again",
          "[eligibility][query]") {
  Fixture f;
  auto answer = f.Query("desk/r1", "r1", 1s);
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  REQUIRE(answer.Get().error().reason == "UPSTREAM_RESULT_PENDING");
  f.clock.Advance(5min);
  REQUIRE(f.upstream.Abandon("desk/r1").ok());
  CHECK(f.State("desk/r1") == core::JournalState::kAbandoned);

  auto retry = f.Query("desk/r1", "r1");
  REQUIRE(retry.Ready());
  const auto got = retry.Get();
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().reason == "UPSTREAM_NO_ANSWER");
  CHECK(Meta(got.error(), "request_id") == "r1");
  CHECK(f.upstream.SubmitCalls() == 1);

  // A late answer is still stored (and then answers a retry).
  REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
  CHECK(f.State("desk/r1") == core::JournalState::kAnswered);
  auto late = f.Query("desk/r1", "r1");
  REQUIRE(late.Ready());
  CHECK(late.Get().ok());
  CHECK(f.upstream.SubmitCalls() == 1);
  CHECK(Types(f.events.Events()) ==
        std::vector<std::string>{"upstream.request_abandoned", "eligibility.result"});
}

TEST_CASE("a query the upstream cannot take is answered with its error", "[eligibility][query]") {
  Fixture f;
  f.upstream.FailSubmit(core::Unavailable("UPSTREAM_FOLDER_UNAVAILABLE", "share not reachable",
                                          "資格確認端末に接続できません。"));
  auto answer = f.Query("desk/r1", "r1");
  REQUIRE(answer.Ready());
  REQUIRE_FALSE(answer.Get().ok());
  CHECK(answer.Get().error().reason == "UPSTREAM_FOLDER_UNAVAILABLE");
  CHECK(f.journal.Entries().empty());
  // Nothing was journalled: a retry sends it.
  auto retry = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  CHECK_FALSE(retry.Ready());
}

TEST_CASE("an answer that cannot be stored is kept by the adapter and stored on its retry",
          "[eligibility][query]") {
  Fixture f;
  auto answer = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  f.results.FailWrites(1);
  const core::Status first = f.upstream.DeliverResult("desk/r1", ValidAnswer());
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().reason == "DATABASE_UNAVAILABLE");
  CHECK_FALSE(answer.Ready());
  CHECK(f.State("desk/r1") == core::JournalState::kWritten);
  CHECK(f.events.Events().empty());
  REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
  REQUIRE(answer.Get().ok());
  CHECK(f.events.Events().size() == 1);
}

TEST_CASE("an unreadable answer is quarantined with its event and answers UNREADABLE",
          "[eligibility][query][quarantine]") {
  Fixture f;
  auto answer = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  REQUIRE(f.upstream.DeliverResult("desk/r1", "<not the document>").ok());
  const auto got = answer.Get();
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().reason == "UPSTREAM_RESULT_UNREADABLE");
  CHECK(Meta(got.error(), "request_id") == "r1");
  const auto kept = f.results.Quarantined();
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].raw == "<not the document>");
  CHECK(kept[0].complete_request_id == "desk/r1");
  CHECK_FALSE(kept[0].reason.empty());
  CHECK(f.results.Results().empty());
  CHECK(f.State("desk/r1") == core::JournalState::kAnswered);  // answered, unreadably
  const auto log = f.events.Events();
  REQUIRE(log.size() == 1);
  CHECK(log[0].type == "upstream.file_quarantined");
  CHECK(log[0].request_id == "r1");
  CHECK(log[0].file_name == kept[0].file_name);
  CHECK(log[0].detail == kept[0].reason);

  // A retry learns the same, and nothing is sent again.
  auto retry = f.Query("desk/r1", "r1");
  REQUIRE(retry.Ready());
  CHECK(retry.Get().error().reason == "UPSTREAM_RESULT_UNREADABLE");
  CHECK(f.upstream.SubmitCalls() == 1);
  // The same file read again after a crash: kept once, reported once.
  REQUIRE(f.upstream.DeliverResult("desk/r1", "<not the document>").ok());
  CHECK(f.results.Quarantined().size() == 1);
  CHECK(f.events.Events().size() == 1);
}

TEST_CASE("a file the adapter quarantined is reported with the client's request id",
          "[eligibility][quarantine]") {
  Fixture f;
  auto answer = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  f.upstream.Quarantine("OQSsiquc01res_0001.xml", "desk/r1", "not decodable");
  f.upstream.Quarantine("stray.xml", "", "unknown file");
  const auto log = f.events.Events();
  REQUIRE(log.size() == 2);
  CHECK(log[0].type == "upstream.file_quarantined");
  CHECK(log[0].request_id == "r1");
  CHECK(log[0].file_name == "OQSsiquc01res_0001.xml");
  CHECK(log[0].detail == "not decodable");
  CHECK(log[1].request_id.empty());
  // The request is still awaited: its answer (if any) resolves the caller.
  CHECK_FALSE(answer.Ready());
  REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
  CHECK(answer.Get().ok());
}

TEST_CASE("shutting down answers waiting queries with SHUTTING_DOWN", "[eligibility][query]") {
  Fixture f;
  auto answer = f.Query("desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  f.uc.Shutdown();
  REQUIRE(answer.Ready());
  CHECK(answer.Get().error().reason == "SHUTTING_DOWN");
  // The answer is still stored when it comes.
  REQUIRE(f.upstream.DeliverResult("desk/r1", ValidAnswer()).ok());
  CHECK(f.results.Results().size() == 1);
  CHECK(answer.Calls() == 1);
}

// ---- Face files ---------------------------------------------------------------------------------

TEST_CASE("face files: received, duplicate and the same file again", "[eligibility][face]") {
  Fixture f;
  const std::string doc =
      FakeResultDocument::Answer("1")
          .Qualification(FakeResultDocument::Patient({{"ReferenceNumber", "P-1"}}))
          .Text();
  REQUIRE(f.upstream.DeliverFace("face_1.xml", doc).ok());
  auto results = f.results.Results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].source == "face");
  CHECK(results[0].request_id.empty());
  CHECK(results[0].keys.reference_number == "P-1");
  auto log = f.events.Events();
  REQUIRE(log.size() == 1);
  CHECK(log[0].type == "face.received");
  CHECK(log[0].result_id == results[0].id);
  CHECK(log[0].request_id.empty());
  CHECK(log[0].file_name == "face_1.xml");
  CHECK(Attr(log[0], "validity") == "1");
  CHECK(Attr(log[0], "reference_number") == "P-1");
  CHECK(f.Notified() == std::vector<std::int64_t>{results[0].id});

  SECTION("the same file read again (after a crash) is one result and one event") {
    REQUIRE(f.upstream.DeliverFace("face_1.xml", doc).ok());
    CHECK(f.results.Results().size() == 1);
    CHECK(f.events.Events().size() == 1);
    CHECK(f.Notified().size() == 1);
  }

  SECTION("the same bytes under another name are a duplicate delivery") {
    REQUIRE(f.upstream.DeliverFace("face_2.xml", doc).ok());
    results = f.results.Results();
    REQUIRE(results.size() == 2);
    log = f.events.Events();
    REQUIRE(log.size() == 2);
    CHECK(log[1].type == "face.duplicate");
    CHECK(log[1].result_id == results[1].id);
    CHECK(Attr(log[1], "duplicate_of") == std::to_string(results[0].id));
    CHECK(log[1].detail == "identical to result " + std::to_string(results[0].id));
    CHECK(f.Notified().size() == 1);  // a duplicate is not a new check-in
  }

  SECTION("an unreadable face file is quarantined with its event, no result") {
    REQUIRE(f.upstream.DeliverFace("face_bad.xml", "garbage").ok());
    CHECK(f.results.Results().size() == 1);
    REQUIRE(f.results.Quarantined().size() == 1);
    CHECK(f.results.Quarantined()[0].complete_request_id.empty());
    log = f.events.Events();
    REQUIRE(log.size() == 2);
    CHECK(log[1].type == "upstream.file_quarantined");
    CHECK(log[1].file_name == "face_bad.xml");
    CHECK(f.Notified().size() == 1);
  }
}

// ---- 照会番号登録
// -----------------------------------------------------------------------------------

TEST_CASE("a reference number registration is sent, answered and stored with its event",
          "[eligibility][reference_number]") {
  Fixture f;
  auto answer = f.Register("refno:desk/r1", "r1");
  REQUIRE(f.upstream.WaitForSubmitted(1, 10s));
  const core::UpstreamRequest sent = f.upstream.Submitted().at(0);
  CHECK(sent.message_type == "OQSsiimm01");
  CHECK(sent.kind == "reference_number");
  CHECK(sent.client_request_id == "r1");
  const auto fields = testing::FakeOqsCodec::RequestFields(sent.xml_utf8);
  CHECK(fields.at("ReferenceNumber") == "P-1");
  CHECK(fields.at("InsurerNumber") == "06139992");
  const auto pending = f.reference_numbers.Registrations();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].state == "PENDING");
  CHECK(pending[0].requested_at == f.clock.Now());
  CHECK_FALSE(answer.Ready());

  SECTION("registered") {
    REQUIRE(
        f.upstream
            .DeliverResult("refno:desk/r1",
                           SiimmAnswer("Body/ProcessingResultStatus=1\nBody/ReferenceNumber=P-1\n"))
            .ok());
    const auto got = answer.Get();
    REQUIRE(got.ok());
    CHECK(got->state == "REGISTERED");
    CHECK(got->error_code.empty());
    CHECK(got->file_name == "OQSsiimm01res_0001.xml");
    CHECK(f.State("refno:desk/r1") == core::JournalState::kAnswered);
    const auto log = f.events.Events();
    REQUIRE(log.size() == 1);
    CHECK(log[0].type == "reference_number.registered");
    CHECK(log[0].request_id == "r1");
    CHECK(Attr(log[0], "registration_id") == std::to_string(got->id));
    CHECK(Attr(log[0], "state") == "REGISTERED");
    // A retry answers the stored registration without sending.
    auto retry = f.Register("refno:desk/r1", "r1");
    REQUIRE(retry.Ready());
    CHECK(retry.Get()->state == "REGISTERED");
    CHECK(f.upstream.SubmitCalls() == 1);
    // Read back.
    auto by_id = f.uc.GetRegistration(got->id);
    REQUIRE(by_id.ok());
    CHECK(by_id->state == "REGISTERED");
    auto listed = f.uc.ListRegistrations("P-1", 10);
    REQUIRE(listed.ok());
    CHECK(listed->size() == 1);
  }

  SECTION("failed, with the terminal's error code") {
    REQUIRE(
        f.upstream
            .DeliverResult("refno:desk/r1",
                           "FAKE-OQS-SIIMM\nHeader/SegmentOfResult=2\nHeader/ErrorCode=EPS1234\n"
                           "Header/ErrorMessage=not found\n")
            .ok());
    const auto got = answer.Get();
    REQUIRE(got.ok());
    CHECK(got->state == "FAILED");
    CHECK(got->error_code == "EPS1234");
    CHECK(got->error_message == "not found");
    CHECK(Types(f.events.Events()) == std::vector<std::string>{"reference_number.failed"});
    CHECK(Attr(f.events.Events()[0], "error_code") == "EPS1234");
  }

  SECTION("failed when the terminal registered another number") {
    REQUIRE(
        f.upstream
            .DeliverResult("refno:desk/r1",
                           SiimmAnswer("Body/ProcessingResultStatus=1\nBody/ReferenceNumber=P-9\n"))
            .ok());
    const auto got = answer.Get();
    REQUIRE(got.ok());
    CHECK(got->state == "FAILED");
    CHECK(got->error_code == "NOT_REGISTERED");
  }

  SECTION("rejected (.err)") {
    REQUIRE(f.upstream.DeliverRejection("refno:desk/r1", "E100 bad file").ok());
    const auto got = answer.Get();
    REQUIRE(got.ok());
    CHECK(got->state == "REJECTED");
    CHECK(got->error_message == "E100 bad file");
    CHECK(f.State("refno:desk/r1") == core::JournalState::kRejected);
    CHECK(Types(f.events.Events()) == std::vector<std::string>{"reference_number.rejected"});
  }

  SECTION("an unreadable answer is quarantined and the registration failed") {
    REQUIRE(f.upstream.DeliverResult("refno:desk/r1", "garbage").ok());
    const auto got = answer.Get();
    REQUIRE(got.ok());
    CHECK(got->state == "FAILED");
    CHECK(got->error_code == "UPSTREAM_RESULT_UNREADABLE");
    CHECK(f.results.Quarantined().size() == 1);
    CHECK(f.State("refno:desk/r1") == core::JournalState::kAnswered);
    CHECK(Types(f.events.Events()) ==
          std::vector<std::string>{"upstream.file_quarantined", "reference_number.failed"});
  }

  SECTION("a retry while in flight waits and sends nothing") {
    auto retry = f.Register("refno:desk/r1", "r1");
    CHECK_FALSE(retry.Ready());
    REQUIRE(
        f.upstream
            .DeliverResult("refno:desk/r1",
                           SiimmAnswer("Body/ProcessingResultStatus=1\nBody/ReferenceNumber=P-1\n"))
            .ok());
    CHECK(retry.Get()->state == "REGISTERED");
    CHECK(answer.Get()->state == "REGISTERED");
    CHECK(f.upstream.SubmitCalls() == 1);
  }

  SECTION("the same key with other values is REQUEST_ID_REUSED and sends nothing") {
    auto reused = f.Register("refno:desk/r1", "r1", Registration("P-2"));
    REQUIRE(reused.Ready());
    REQUIRE_FALSE(reused.Get().ok());
    CHECK(reused.Get().error().reason == "REQUEST_ID_REUSED");
    CHECK(f.upstream.SubmitCalls() == 1);
    CHECK(f.reference_numbers.Registrations().size() == 1);
  }

  SECTION("abandoned: a retry is UPSTREAM_NO_ANSWER") {
    REQUIRE(f.upstream.Abandon("refno:desk/r1").ok());
    auto retry = f.Register("refno:desk/r1", "r1");
    REQUIRE(retry.Ready());
    CHECK(retry.Get().error().reason == "UPSTREAM_NO_ANSWER");
    CHECK(f.upstream.SubmitCalls() == 1);
  }
}

TEST_CASE("an invalid registration is refused naming every bad field and nothing is stored",
          "[eligibility][reference_number]") {
  Fixture f;
  auto input = Registration("");
  input.insurer_number = "12";
  auto answer = f.Register("refno:desk/r1", "r1", input);
  REQUIRE(answer.Ready());
  REQUIRE_FALSE(answer.Get().ok());
  const core::DomainError refused = answer.Get().error();
  CHECK(refused.reason == "INVALID_REFERENCE_NUMBER_REGISTRATION");
  std::vector<std::string> fields;
  for (const auto& v : refused.field_violations) fields.push_back(v.field);
  CHECK(std::count(fields.begin(), fields.end(), "reference_number") == 1);
  CHECK(std::count(fields.begin(), fields.end(), "insurer_number") == 1);
  CHECK(f.reference_numbers.Registrations().empty());
  CHECK(f.upstream.SubmitCalls() == 0);

  auto missing = f.uc.GetRegistration(99);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().reason == "REFERENCE_NUMBER_NOT_FOUND");
  auto unnamed = f.uc.ListRegistrations("", 10);
  REQUIRE_FALSE(unnamed.ok());
  CHECK(unnamed.error().reason == "INVALID_REFERENCE_NUMBER");
}

}  // namespace
}  // namespace onshid
