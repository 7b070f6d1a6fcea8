// The contracts of the upstream-side ports (tests/support/*_contract.h) against the in-memory
// fakes: MemEventStore, MemUpstreamJournal, MemResultStore, MemReferenceNumberStore and
// MemRequestKeyStore — the same suites PgStore passes in tests/integration/postgres_test.cc — plus
// what the fakes add for tests (one shared event log, failure hooks).

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/event_store_contract.h"
#include "support/mem_case_store.h"
#include "support/mem_check_in_store.h"
#include "support/mem_event_store.h"
#include "support/mem_request_key_store.h"
#include "support/mem_result_store.h"
#include "support/mem_upstream_journal.h"
#include "support/request_key_store_contract.h"
#include "support/result_store_contract.h"
#include "support/upstream_journal_contract.h"

namespace onshid {
namespace {

using testing::MemEventStore;
using testing::MemReferenceNumberStore;
using testing::MemResultStore;
using testing::MemUpstreamJournal;

// One in-memory "database": the stores share the journal and the event log, as PgStore does.
struct MemDatabase {
  MemEventStore events;
  MemUpstreamJournal journal{&events};
  MemResultStore results{journal, events};
  MemReferenceNumberStore reference_numbers{journal, events};
  testing::UpstreamStores Ports() { return {journal, events, results, reference_numbers}; }
};

std::vector<std::string> Types(const std::vector<core::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

core::Event Ev(const std::string& type) {
  core::Event e;
  e.type = type;
  return e;
}

TEST_CASE("MemEventStore contract", "[event_store][contract]") {
  MemEventStore store;  // a new one for every section
  testing::RunEventStoreContract(store);
}

TEST_CASE("MemUpstreamJournal contract", "[journal][contract]") {
  MemDatabase db;
  testing::RunUpstreamJournalContract(db.journal, db.events);
}

TEST_CASE("MemResultStore contract", "[result_store][contract]") {
  MemDatabase db;
  testing::RunResultStoreContract(db.Ports());
}

TEST_CASE("MemReferenceNumberStore contract", "[reference_numbers][contract]") {
  MemDatabase db;
  testing::RunReferenceNumberStoreContract(db.Ports());
}

TEST_CASE("MemRequestKeyStore contract", "[request_keys][contract]") {
  testing::MemRequestKeyStore store;
  testing::RunRequestKeyStoreContract(store);
}

TEST_CASE("the in-memory stores share one event log, in commit order", "[event_store]") {
  MemDatabase db;
  testing::MemCheckInStore checkins(&db.events, &db.results);
  testing::MemFallbackCaseStore cases(&db.events);
  int wakes = 0;
  db.events.Subscribe([&wakes] { ++wakes; });

  REQUIRE(db.events.Append(Ev("appended")).ok());
  core::JournalEntry entry;
  entry.request_id = "q1";
  REQUIRE(db.journal.Record(entry).ok());
  REQUIRE(db.journal.Complete("q1", core::JournalState::kAbandoned, {}, {Ev("abandoned")}).ok());
  core::checkin::CheckInRow row;
  row.id = "ci_1";
  row.version = 1;
  core::checkin::Attachments with;
  with.events = {Ev("checkin.started"), Ev("checkin.waiting")};
  REQUIRE(checkins.InsertCheckIn(row, with).ok());
  core::fallback::CaseRow c;
  c.id = "fb_1";
  c.version = 1;
  core::fallback::CaseWrite cw;
  cw.events = {Ev("case.opened")};
  REQUIRE(cases.InsertCase(c, cw).ok());
  core::StoredResult face;
  face.source = "face";
  face.file_name = "face_1.xml";
  face.raw_sha256 = "s1";
  REQUIRE(db.results
              .StoreResult(face,
                           [](const core::StoreOutcome&) {
                             return std::vector<core::Event>{Ev("face.received")};
                           })
              .ok());

  const auto all = db.events.Events();
  CHECK(Types(all) == std::vector<std::string>{"appended", "abandoned", "checkin.started",
                                               "checkin.waiting", "case.opened", "face.received"});
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].cursor == static_cast<int>(i) + 1);
  CHECK(wakes == 5);  // once per write that carried events
  // Each store also reports the events it wrote, with the shared cursors.
  REQUIRE(checkins.events().size() == 2);
  CHECK(checkins.events()[0].cursor == 3);
  REQUIRE(db.journal.Events().size() == 1);
  CHECK(db.journal.Events()[0].cursor == 2);
  // The check-in store finds the face result in the result store.
  auto unlinked = checkins.UnlinkedFaceResults({});
  REQUIRE(unlinked.ok());
  CHECK(unlinked->size() == 1);
}

TEST_CASE("a duplicate face delivery is not an unlinked face result", "[check_in_store]") {
  MemDatabase db;
  testing::MemCheckInStore checkins(&db.events, &db.results);
  core::StoredResult face;
  face.source = "face";
  face.file_name = "face_1.xml";
  face.raw_sha256 = "same";
  const auto first = db.results.StoreResult(face, {});
  REQUIRE(first.ok());
  face.file_name = "face_2.xml";
  REQUIRE(db.results.StoreResult(face, {}).ok());
  auto unlinked = checkins.UnlinkedFaceResults({});
  REQUIRE(unlinked.ok());
  CHECK(*unlinked == std::vector<std::int64_t>{first->id});
}

TEST_CASE("the in-memory result stores fail as a database would", "[result_store]") {
  MemDatabase db;
  core::JournalEntry entry;
  entry.request_id = "q1";
  REQUIRE(db.journal.Record(entry).ok());
  core::StoredResult r;
  r.source = "query";
  r.request_id = "q1";
  r.file_name = "res_1.xml";

  SECTION("a failed write stores nothing, completes nothing and writes no event") {
    db.results.FailWrites(1);
    auto failed = db.results.StoreResult(r, [](const core::StoreOutcome&) {
      return std::vector<core::Event>{Ev("eligibility.result")};
    });
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().reason == "DATABASE_UNAVAILABLE");
    CHECK(db.results.Results().empty());
    CHECK(db.journal.State("q1") == core::JournalState::kJournalled);
    CHECK(db.events.Events().empty());
    CHECK(db.results.StoreResult(r, {}).ok());  // the next write works
  }

  SECTION("unreachable stores refuse every call") {
    db.results.SetReachable(false);
    db.reference_numbers.SetReachable(false);
    db.events.SetReachable(false);
    CHECK(db.results.GetResult(1).error().reason == "DATABASE_UNAVAILABLE");
    CHECK(db.results.Quarantine({}, {}).error().reason == "DATABASE_UNAVAILABLE");
    CHECK(db.reference_numbers.RegistrationForRequest("q1").error().reason ==
          "DATABASE_UNAVAILABLE");
    CHECK(db.events.Append(Ev("x")).error().reason == "DATABASE_UNAVAILABLE");
    CHECK(db.events.ListAfter(0, 1).error().reason == "DATABASE_UNAVAILABLE");
    testing::MemRequestKeyStore keys;
    keys.SetReachable(false);
    CHECK(keys.ClaimRequestKey({}, {}).error().reason == "DATABASE_UNAVAILABLE");
  }
}

}  // namespace
}  // namespace onshid
