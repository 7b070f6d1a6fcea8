// The fakes of tests/support keep the promises of the ports they stand in for (core/clock.h,
// core/id_source.h, core/upstream.h, core/card/card_readers.h, core/oqs_codec.h) — where no
// contract suite is shared with a real adapter, these are the checks that make them trustworthy.

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/awaited.h"
#include "support/fake_card_readers.h"
#include "support/fake_ids.h"
#include "support/fake_oqs_codec.h"
#include "support/fake_upstream.h"
#include "support/manual_clock.h"
#include "support/mem_event_store.h"
#include "support/mem_upstream_journal.h"

namespace onshid {
namespace {

using namespace std::chrono_literals;
using core::card::CertificateStatus;
using core::card::Pin;
using core::card::PinStatus;
using core::card::ReaderEvent;
using core::card::ReaderEventKind;
using testing::Awaited;
using testing::FakeCard;
using testing::FakeCardReaders;

Pin MakePin(const char* digits) { return std::move(Pin::Parse(digits).value()); }

std::string Meta(const core::DomainError& e, const std::string& key) {
  for (const auto& [k, v] : e.metadata) {
    if (k == key) return v;
  }
  return "<none>";
}

TEST_CASE("ManualClock moves only when told; steady time only forward", "[fakes][clock]") {
  const core::SystemTime start = testing::JapanTime(2025, 12, 10, 10, 0);
  CHECK(start == core::SystemTime(std::chrono::sys_days{std::chrono::year{2025} / 12 / 10}) +
                     std::chrono::hours{1});
  testing::ManualClock clock(start);
  const auto steady = clock.SteadyNow();
  CHECK(clock.Now() == start);
  clock.Advance(90s);
  CHECK(clock.Now() == start + 90s);
  CHECK(clock.SteadyNow() - steady == 90s);
  clock.Set(start - 1h);  // a wall clock may jump back
  CHECK(clock.Now() == start - 1h);
  CHECK(clock.SteadyNow() - steady == 90s);
}

TEST_CASE("FakeIds hands out predictable ids in UUID form", "[fakes][ids]") {
  testing::FakeIds ids;
  const std::string first = ids.NewId();
  CHECK(first == "00000000-0000-4000-8000-000000000001");
  CHECK(first.size() == 36);
  CHECK(ids.NewId() == testing::FakeIds::Format(2));
  CHECK(ids.Issued() == 2);
}

TEST_CASE("FakeOqsCodec reads through core's element rules and writes parseable requests",
          "[fakes][codec]") {
  testing::FakeOqsCodec codec;
  const std::string doc =
      testing::FakeResultDocument::Answer("1")
          .Qualification(testing::FakeResultDocument::Patient({{"ReferenceNumber", "P-1"}}))
          .Text();
  auto parsed = codec.ParseQualificationResult(doc);
  REQUIRE(parsed.ok());
  CHECK(parsed->IsSingleValidResult());
  REQUIRE(parsed->results.size() == 1);
  const auto& q = parsed->results[0];
  REQUIRE(q.insurer_number);
  REQUIRE(q.insurer_number->value);
  CHECK(q.insurer_number->value->digits() == "06139992");
  REQUIRE(q.birthdate);
  CHECK(q.birthdate->value->ToString() == "19800115");
  CHECK(q.reference_number == std::optional<std::string>("P-1"));
  // Unknown elements are issues, as with the real codec.
  auto odd = codec.ParseQualificationResult(doc + "Result/NoSuchElement=1\n");
  REQUIRE(odd.ok());
  CHECK(odd->HasIssue(core::oqs::IssueKind::kUnknownElement));
  // Anything else is MALFORMED_XML.
  CHECK(codec.ParseQualificationResult("<XmlMsg/>").error().reason == "MALFORMED_XML");
  CHECK(codec.ParseQualificationResult("FAKE-OQS-RESULT\nnonsense\n").error().reason ==
        "MALFORMED_XML");
  CHECK(codec.ParseReferenceNumberResult(doc).error().reason == "MALFORMED_XML");
  auto siimm = codec.ParseReferenceNumberResult(
      "FAKE-OQS-SIIMM\nHeader/SegmentOfResult=1\nBody/ProcessingResultStatus=1\n"
      "Body/ReferenceNumber=P-1\n");
  REQUIRE(siimm.ok());
  CHECK(siimm->IsRegistered("P-1"));
  CHECK_FALSE(siimm->IsRegistered("P-2"));

  core::oqs::EligibilityQueryInput input;
  input.insurer_number = "06139992";
  input.insured_identification_number = "BANGO1";
  input.birth_date = "19800115";
  auto query = core::oqs::ValidateQueryInput(input);
  REQUIRE(query.ok());
  const core::QualificationRequestHeader header{
      "1312345678", core::oqs::OqsDate::Parse("20251210").value(), "afi-1"};
  auto request = codec.BuildQualificationRequest(*query, header);
  REQUIRE(request.ok());
  const auto fields = testing::FakeOqsCodec::RequestFields(*request);
  CHECK(fields.at("type") == "OQSsiquc01");
  CHECK(fields.at("ArbitraryFileIdentifier") == "afi-1");
  CHECK(fields.at("QualificationConfirmationDate") == "20251210");
  CHECK(fields.count("InsuredCardSymbol") == 0);
}

TEST_CASE("FakeUpstream journals like the adapter and plays the terminal", "[fakes][upstream]") {
  testing::ManualClock clock(testing::JapanTime(2025, 12, 10, 10, 0));
  testing::MemEventStore events;
  testing::MemUpstreamJournal journal(&events);
  testing::FakeUpstream upstream(journal, clock);
  std::vector<core::UpstreamFile> results, faces;
  std::vector<std::string> quarantined;
  core::UpstreamHandlers handlers;
  handlers.on_result = [&](const core::UpstreamFile& f) {
    results.push_back(f);
    return core::OkStatus();
  };
  handlers.on_face = [&](const core::UpstreamFile& f) {
    faces.push_back(f);
    return core::OkStatus();
  };
  handlers.on_quarantine = [&](const std::string& name, const std::string& key,
                               const std::string& reason) {
    quarantined.push_back(name + "|" + key + "|" + reason);
  };
  REQUIRE(upstream.Start(handlers).ok());
  CHECK(upstream.started());

  core::UpstreamRequest request;
  request.request_id = "desk/r1";
  request.client_request_id = "r1";
  request.message_type = "OQSsiquc01";
  request.kind = "eligibility_query";
  request.xml_utf8 = "FAKE-OQS-REQUEST OQSsiquc01\n";
  auto entry = upstream.Submit(request);
  REQUIRE(entry.ok());
  CHECK(entry->file_name == "OQSsiquc01req_0001.xml");
  CHECK(entry->state == core::JournalState::kJournalled);
  CHECK(entry->instance_id == "daemon-test");
  CHECK(journal.State("desk/r1") == core::JournalState::kWritten);
  CHECK(upstream.WaitForSubmitted(1, 0ms));
  // The same key again is the journal's UPSTREAM_REQUEST_EXISTS, and is not "submitted".
  CHECK(upstream.Submit(request).error().reason == "UPSTREAM_REQUEST_EXISTS");
  CHECK(upstream.Submitted().size() == 1);
  CHECK(upstream.SubmitCalls() == 2);

  REQUIRE(upstream.DeliverResult("desk/r1", "answer").ok());
  REQUIRE(results.size() == 1);
  CHECK(results[0].kind == core::UpstreamFile::Kind::kResult);
  CHECK(results[0].file_name == "OQSsiquc01res_0001.xml");
  CHECK(results[0].request_id == "desk/r1");
  CHECK(results[0].client_request_id == "r1");
  CHECK(results[0].raw == "answer");
  CHECK(results[0].received_at == clock.Now());
  REQUIRE(upstream.DeliverRejection("desk/r1", "E001").ok());
  CHECK(results[1].kind == core::UpstreamFile::Kind::kRejection);
  CHECK(results[1].file_name == "OQSsiquc01req_0001.err");
  CHECK(results[1].rejection_text == "E001");
  CHECK(upstream.DeliverResult("never", "x").error().reason == "UPSTREAM_REQUEST_NOT_FOUND");

  REQUIRE(upstream.DeliverFace("face_1.xml", "a").ok());
  REQUIRE(upstream.DeliverFace("face_2.xml", "a").ok());
  REQUIRE(upstream.DeliverFace("face_3.xml", "b").ok());
  CHECK(faces[0].sha256 == faces[1].sha256);
  CHECK(faces[0].sha256 != faces[2].sha256);
  upstream.Quarantine("bad.xml", "desk/r1", "unreadable");
  CHECK(quarantined == std::vector<std::string>{"bad.xml|desk/r1|unreadable"});

  // Abandoning completes the entry with the adapter's event.
  request.request_id = "desk/r2";
  REQUIRE(upstream.Submit(request).ok());
  REQUIRE(upstream.Abandon("desk/r2").ok());
  CHECK(journal.State("desk/r2") == core::JournalState::kAbandoned);
  REQUIRE(events.Events().size() == 1);
  CHECK(events.Events()[0].type == "upstream.request_abandoned");
  CHECK(events.Events()[0].request_id == "r1");

  // A failing Submit journals nothing; a writer that has not written leaves kJournalled.
  upstream.FailSubmit(core::Unavailable("UPSTREAM_QUEUE_FULL", "full", "満杯"));
  request.request_id = "desk/r3";
  CHECK(upstream.Submit(request).error().reason == "UPSTREAM_QUEUE_FULL");
  CHECK_FALSE(journal.Entry("desk/r3"));
  upstream.SetWriteImmediately(false);
  REQUIRE(upstream.Submit(request).ok());
  CHECK(journal.State("desk/r3") == core::JournalState::kJournalled);

  // Status() is what the test set, whatever the journal holds (default: reachable and idle).
  CHECK(upstream.Status().folder_reachable);
  CHECK(upstream.Status().queued == 0);
  core::UpstreamStatus busy;
  busy.folder_reachable = true;
  busy.queued = 2;
  upstream.SetStatus(busy);
  CHECK(upstream.Status().queued == 2);
  CHECK(upstream.StatusCalls() == 3);
}

// Reader events as a watcher sees them.
struct Watcher {
  std::mutex mu;
  std::vector<ReaderEvent> events;
  core::card::ReaderEventCallback Callback() {
    return [this](const ReaderEvent& e) {
      std::lock_guard lock(mu);
      events.push_back(e);
    };
  }
  std::vector<std::string> Kinds() {
    std::lock_guard lock(mu);
    std::vector<std::string> out;
    for (const auto& e : events)
      out.push_back(std::string(core::card::ToString(e.kind)) + " " + e.reader);
    return out;
  }
};

TEST_CASE("FakeCardReaders reports reader events to its watchers, in order", "[fakes][readers]") {
  testing::ManualClock clock(testing::JapanTime(2025, 12, 10, 10, 0));
  FakeCardReaders readers(clock);
  Watcher w;
  const int id = readers.Watch(w.Callback());
  CHECK(readers.Watchers() == 1);
  CHECK(readers.ServiceAvailable());
  readers.AddReader("R1");
  readers.InsertCard("R1", FakeCard::MyNumberCard(CertificateStatus::kValid, "k1"));
  readers.InsertCard("R2", FakeCard{});  // an unknown reader is added first
  readers.RemoveCard("R1");
  readers.DegradeService();
  CHECK(readers.ListReaders().empty());
  CHECK_FALSE(readers.ServiceAvailable());
  readers.RecoverService();
  CHECK(readers.ServiceAvailable());
  // Not reached yet (as before the adapter's first context): no event, no readers.
  readers.SetServiceAvailable(false);
  CHECK_FALSE(readers.ServiceAvailable());
  CHECK(readers.ListReaders().empty());
  readers.SetServiceAvailable(true);
  readers.Unwatch(id);
  CHECK(readers.Watchers() == 0);
  readers.RemoveReader("R2");  // not seen any more
  const std::string added = core::card::ToString(ReaderEventKind::kReaderAdded);
  const std::string inserted = core::card::ToString(ReaderEventKind::kCardInserted);
  const std::string removed = core::card::ToString(ReaderEventKind::kCardRemoved);
  const std::string degraded = core::card::ToString(ReaderEventKind::kServiceDegraded);
  const std::string recovered = core::card::ToString(ReaderEventKind::kServiceRecovered);
  CHECK(w.Kinds() == std::vector<std::string>{added + " R1", inserted + " R1", added + " R2",
                                              inserted + " R2", removed + " R1", degraded + " ",
                                              recovered + " ", added + " R1", added + " R2"});
  CHECK(w.events[0].at == clock.Now());
  const auto listed = readers.ListReaders();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].name == "R1");
  CHECK_FALSE(listed[0].card_present);
}

TEST_CASE("FakeCardReaders completes on its own thread with the card's answers",
          "[fakes][readers]") {
  testing::ManualClock clock(testing::JapanTime(2025, 12, 10, 10, 0));
  FakeCardReaders readers(clock);
  readers.InsertCard("R1", FakeCard::MyNumberCard(CertificateStatus::kRenewalAlert, "k1"));

  SECTION("inspection, off the caller's thread") {
    std::thread::id ran_on;
    Awaited<core::card::CardInspection> inspected;
    auto callback = inspected.Callback();
    readers.InspectCard("R1", [&ran_on, callback](core::Result<core::card::CardInspection> r) {
      ran_on = std::this_thread::get_id();
      callback(std::move(r));
    });
    const auto got = inspected.Get();
    REQUIRE(got.ok());
    REQUIRE(got->certificate);
    CHECK(got->certificate->status == CertificateStatus::kRenewalAlert);
    CHECK(got->certificate->card_key == "k1");
    CHECK(ran_on != std::this_thread::get_id());
    CHECK(readers.Drain());
  }

  SECTION("PIN tries: reserve, wrong, right, locked") {
    Awaited<PinStatus> reserved;
    readers.VerifyPin("R1", MakePin("1234"), 3, reserved.Callback());
    CHECK(reserved.Get().error().reason == "PIN_ATTEMPT_RESERVED");
    CHECK(Meta(reserved.Get().error(), "tries_left") == "3");
    Awaited<PinStatus> wrong;
    readers.VerifyPin("R1", MakePin("9999"), 1, wrong.Callback());
    CHECK(wrong.Get().error().reason == "PIN_INCORRECT");
    CHECK(Meta(wrong.Get().error(), "tries_left") == "2");
    Awaited<PinStatus> status;
    readers.GetPinStatus("R1", status.Callback());
    CHECK(status.Get()->tries_left == 2);
    Awaited<PinStatus> right;
    readers.VerifyPin("R1", MakePin("1234"), 1, right.Callback());
    CHECK(right.Get()->tries_left == 3);
    for (int i = 0; i < 2; ++i) {
      Awaited<PinStatus> w;
      readers.VerifyPin("R1", MakePin("0000"), 0, w.Callback());
      CHECK(w.Get().error().reason == "PIN_INCORRECT");
    }
    Awaited<PinStatus> last;
    readers.VerifyPin("R1", MakePin("0000"), 0, last.Callback());
    CHECK(last.Get().error().reason == "PIN_LOCKED");
    Awaited<core::card::SignedChallenge> signed_after;
    readers.SignChallenge("R1", MakePin("1234"), {1, 2}, signed_after.Callback());
    CHECK(signed_after.Get().error().reason == "PIN_LOCKED");
  }

  SECTION("signature and basic information behind their PINs") {
    Awaited<core::card::SignedChallenge> sig;
    readers.SignChallenge("R1", MakePin("1234"), {1, 2, 3}, sig.Callback());
    REQUIRE(sig.Get().ok());
    CHECK(sig.Get()->signature == std::vector<std::uint8_t>{0x5A, 1, 2, 3});
    CHECK(sig.Get()->certificate.card_key == "k1");
    readers.UpdateCard("R1", [](FakeCard& c) {
      c.basic_info = core::card::BasicInfo{"氏名", "住所", "19800115", "1"};
    });
    Awaited<core::card::BasicInfo> wrong;
    readers.ReadBasicInfo("R1", MakePin("1234"), wrong.Callback());
    CHECK(wrong.Get().error().reason == "PIN_INCORRECT");
    Awaited<core::card::BasicInfo> info;
    readers.ReadBasicInfo("R1", MakePin("5678"), info.Callback());
    REQUIRE(info.Get().ok());
    CHECK(info.Get()->birth_date == "19800115");
  }

  SECTION("reader errors, and scripted failures") {
    Awaited<core::card::CardInspection> unknown;
    readers.InspectCard("R9", unknown.Callback());
    CHECK(unknown.Get().error().reason == "READER_NOT_FOUND");
    readers.RemoveCard("R1");
    Awaited<core::card::CardInspection> empty;
    readers.InspectCard("R1", empty.Callback());
    CHECK(empty.Get().error().reason == "NO_CARD");
    REQUIRE(readers.Drain());
    CHECK(readers.ListReaders().at(0).last_error == "NO_CARD");
    readers.InsertCard("R1", FakeCard::MyNumberCard(CertificateStatus::kValid, "k1"));
    readers.FailNext("R1", core::Unavailable("CARD_COMMUNICATION_ERROR", "t=1", "読めません"));
    Awaited<core::card::CardInspection> failed;
    readers.InspectCard("R1", failed.Callback());
    CHECK(failed.Get().error().reason == "CARD_COMMUNICATION_ERROR");
    Awaited<core::card::CardInspection> next;
    readers.InspectCard("R1", next.Callback());
    CHECK(next.Get().ok());
    CHECK(readers.Calls() == std::vector<std::string>{"InspectCard R9", "InspectCard R1",
                                                      "InspectCard R1", "InspectCard R1"});
  }
}

}  // namespace
}  // namespace onshid
