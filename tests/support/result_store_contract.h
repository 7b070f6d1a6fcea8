#pragma once
// The ResultStore and ReferenceNumberStore contracts (core/results.h): what the upstream produces,
// stored with the journal completion and the events that report it in one write. Run against
// MemResultStore / MemReferenceNumberStore (over a MemUpstreamJournal and a MemEventStore) in
// tests/unit/mem_stores_contract_test.cc and against PgStore in tests/integration/postgres_test.cc.
//
// Call the Run* functions inside a TEST_CASE that makes new, empty stores every time it runs: the
// contracts use SECTIONs. The stores must share one journal and one event log, as PgStore does.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/results.h"
#include "core/upstream.h"

namespace onshid::testing {

// The ports of one database that the results contracts drive together.
struct UpstreamStores {
  core::UpstreamJournal& journal;
  core::EventStore& events;
  core::ResultStore& results;
  core::ReferenceNumberStore& reference_numbers;
};

namespace result_contract_internal {

inline std::string Describe(const core::DomainError& e) { return e.reason + ": " + e.message; }

template <typename T>
T Value(core::Result<T> result) {
  INFO((result.ok() ? std::string() : Describe(result.error())));
  REQUIRE(result.ok());
  return std::move(result).value();
}

inline void RequireOk(const core::Status& status) {
  INFO((status.ok() ? std::string() : Describe(status.error())));
  REQUIRE(status.ok());
}

// Whole seconds after 2026-09-21 (every store keeps microseconds).
inline core::SystemTime T(std::int64_t seconds, std::int64_t micros = 0) {
  return core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
      std::chrono::seconds(1'790'000'000 + seconds) + std::chrono::microseconds(micros)));
}

inline core::Event Ev(const std::string& type, const std::string& request_id = "") {
  core::Event e;
  e.at = T(0);
  e.type = type;
  e.request_id = request_id;
  return e;
}

inline std::vector<std::string> Types(const std::vector<core::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

inline std::vector<std::int64_t> Ids(const std::vector<core::StoredResult>& results) {
  std::vector<std::int64_t> out;
  for (const auto& r : results) out.push_back(r.id);
  return out;
}

// A journal entry of daemon-a journalled at T(at) (the payload holds a NUL byte).
inline core::JournalEntry Entry(const std::string& key, std::int64_t at) {
  core::JournalEntry e;
  e.request_id = key;
  e.client_request_id = "x-" + key;
  e.instance_id = "daemon-a";
  e.message_type = "OQSsiquc01";
  e.kind = "eligibility_query";
  e.file_name = "OQSsiquc01req_" + std::to_string(at) + ".xml";
  e.payload_sha256 = std::string(64, 'c');
  e.payload = std::string("<req>\0", 6) + key + "</req>";
  e.arbitrary_file_identifier = "afi-" + key;
  e.journalled_at = T(at);
  return e;
}

inline core::JournalEntry GetEntry(core::UpstreamJournal& journal, const std::string& key) {
  auto found = Value(journal.Get(key));
  REQUIRE(found.has_value());
  return *found;
}

// A query result of `request_id` ("" for none) in file `file`, received at T(at).
inline core::StoredResult QueryResult(const std::string& request_id, const std::string& file,
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

inline core::StoredResult FaceResult(const std::string& file, std::int64_t at) {
  core::StoredResult r = QueryResult("", file, at);
  r.source = "face";
  r.client_request_id.clear();
  return r;
}

}  // namespace result_contract_internal

inline void RunResultStoreContract(const UpstreamStores& s) {
  using namespace result_contract_internal;
  auto events = [&s] { return Value(s.events.ListAfter(0, 100)); };
  RequireOk(s.journal.Record(Entry("desk/q1", 1)));
  RequireOk(s.journal.Advance("desk/q1", core::JournalState::kWritten, T(2)));

  // The builder sees what the store found and reports it.
  std::vector<core::StoreOutcome> seen;
  auto report = [&seen](const core::StoreOutcome& o) {
    seen.push_back(o);
    core::Event e = Ev(o.duplicate_of ? "eligibility.duplicate" : "eligibility.result");
    e.result_id = o.id;
    return std::vector<core::Event>{e};
  };

  SECTION("a query result answers its journal entry and writes its events, once") {
    const core::StoredResult r = QueryResult("desk/q1", "OQSsiquc01res_1.xml", 3);
    const core::StoreOutcome first = Value(s.results.StoreResult(r, report));
    CHECK(first.id > 0);
    CHECK_FALSE(first.same_file);
    CHECK_FALSE(first.duplicate_of);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].id == first.id);
    core::JournalEntry entry = GetEntry(s.journal, "desk/q1");
    CHECK(entry.state == core::JournalState::kAnswered);
    CHECK(entry.completed_at == T(3));
    CHECK(entry.payload.empty());
    auto listed = events();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].type == "eligibility.result");
    CHECK(listed[0].result_id == first.id);
    const auto stored = Value(s.results.GetResult(first.id));
    REQUIRE(stored.has_value());
    CHECK(stored->client_request_id == "x-desk/q1");
    CHECK(stored->request_id == "desk/q1");

    // The same file read again: the earlier one, no builder call, no event.
    const core::StoreOutcome again = Value(s.results.StoreResult(r, report));
    CHECK(again.same_file);
    CHECK(again.id == first.id);
    CHECK(seen.size() == 1);
    CHECK(events().size() == 1);

    // Other file, same bytes: a duplicate delivery, reported as such.
    core::StoredResult copy = QueryResult("", "OQSsiquc01res_copy.xml", 4);
    copy.raw_sha256 = r.raw_sha256;
    const core::StoreOutcome dup = Value(s.results.StoreResult(copy, report));
    REQUIRE(dup.duplicate_of);
    CHECK(*dup.duplicate_of == first.id);
    CHECK(dup.id != first.id);
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].duplicate_of == first.id);
    CHECK(Types(events()) ==
          std::vector<std::string>{"eligibility.result", "eligibility.duplicate"});
  }

  SECTION("a late answer completes an abandoned entry") {
    RequireOk(s.journal.Complete("desk/q1", core::JournalState::kAbandoned, T(5), {}));
    Value(s.results.StoreResult(QueryResult("desk/q1", "OQSsiquc01res_1.xml", 9), report));
    const core::JournalEntry entry = GetEntry(s.journal, "desk/q1");
    CHECK(entry.state == core::JournalState::kAnswered);
    CHECK(entry.completed_at == T(9));
    CHECK(entry.payload.empty());
  }

  SECTION("a result for a request answered before leaves its journal entry as it was") {
    RequireOk(s.journal.Complete("desk/q1", core::JournalState::kRejected, T(5), {}));
    Value(s.results.StoreResult(QueryResult("desk/q1", "OQSsiquc01res_1.xml", 9), report));
    const core::JournalEntry entry = GetEntry(s.journal, "desk/q1");
    CHECK(entry.state == core::JournalState::kRejected);
    CHECK(entry.completed_at == T(5));
    CHECK(events().size() == 1);  // the result's own event
  }

  SECTION("a failing events builder leaves neither result, journal change nor event") {
    auto failing = [](const core::StoreOutcome&) -> std::vector<core::Event> {
      throw std::runtime_error("builder failed");
    };
    const auto stored =
        s.results.StoreResult(QueryResult("desk/q1", "OQSsiquc01res_1.xml", 3), failing);
    REQUIRE_FALSE(stored.ok());
    CHECK(stored.error().kind == core::ErrorKind::kInternal);
    CHECK_FALSE(Value(s.results.ResultForRequest("desk/q1")).has_value());
    const core::JournalEntry entry = GetEntry(s.journal, "desk/q1");
    CHECK(entry.state == core::JournalState::kWritten);
    CHECK_FALSE(entry.payload.empty());
    CHECK(events().empty());
    // The store is fine afterwards: the same result stores normally.
    CHECK_FALSE(
        Value(s.results.StoreResult(QueryResult("desk/q1", "OQSsiquc01res_1.xml", 3), report))
            .same_file);
  }

  SECTION("face results complete no journal entry and duplicates are found by their bytes") {
    const core::StoreOutcome face =
        Value(s.results.StoreResult(FaceResult("face_1.xml", 3), report));
    CHECK_FALSE(face.duplicate_of);
    core::StoredResult again = FaceResult("face_2.xml", 4);
    again.raw_sha256 = "sha-face_1.xml";  // the same bytes delivered under another name
    const core::StoreOutcome dup = Value(s.results.StoreResult(again, report));
    REQUIRE(dup.duplicate_of);
    CHECK(*dup.duplicate_of == face.id);
    // A third copy names the first, not the second.
    again.file_name = "face_3.xml";
    CHECK(Value(s.results.StoreResult(again, report)).duplicate_of == face.id);
    CHECK(GetEntry(s.journal, "desk/q1").state == core::JournalState::kWritten);
    CHECK(Types(events()) == std::vector<std::string>{"eligibility.result", "eligibility.duplicate",
                                                      "eligibility.duplicate"});
    // No builder: stored without events.
    CHECK(Value(s.results.StoreResult(FaceResult("face_4.xml", 5), {})).id > 0);
    CHECK(events().size() == 3);
  }

  SECTION("a result of a request that was never journalled is stored all the same") {
    const core::StoreOutcome o =
        Value(s.results.StoreResult(QueryResult("desk/never", "OQSsiquc01res_9.xml", 3), report));
    CHECK_FALSE(Value(s.journal.Get("desk/never")).has_value());
    const auto found = Value(s.results.ResultForRequest("desk/never"));
    REQUIRE(found.has_value());
    CHECK(found->id == o.id);
  }

  SECTION("results are read back whole, by id, by request and by their keys") {
    core::StoredResult full = QueryResult("desk/q1", "OQSsiquc01res_1.xml", 3);
    full.raw = std::string("<XmlMsg>\0\xff bytes</XmlMsg>", 23);
    full.raw_sha256 = std::string(64, 'a');
    full.xml_utf8 = "<XmlMsg>テスト</XmlMsg>";
    full.received_at = T(3, 250);
    full.keys = {"06139992", "記号", "番号", "01", "1980-01-15", "P-1", "1"};
    const std::int64_t id = Value(s.results.StoreResult(full, report)).id;
    const auto got = Value(s.results.GetResult(id));
    REQUIRE(got.has_value());
    CHECK(got->id == id);
    CHECK(got->source == "query");
    CHECK(got->request_id == "desk/q1");
    CHECK(got->client_request_id == "x-desk/q1");
    CHECK(got->file_name == full.file_name);
    CHECK(got->raw == full.raw);
    CHECK(got->raw_sha256 == full.raw_sha256);
    CHECK(got->xml_utf8 == full.xml_utf8);
    CHECK(got->received_at == full.received_at);
    CHECK(got->keys.insurer_number == "06139992");
    CHECK(got->keys.insured_card_symbol == "記号");
    CHECK(got->keys.insured_identification_number == "番号");
    CHECK(got->keys.insured_branch_number == "01");
    CHECK(got->keys.birth_date == "1980-01-15");
    CHECK(got->keys.reference_number == "P-1");
    CHECK(got->keys.validity == "1");
    CHECK_FALSE(Value(s.results.GetResult(id + 1000)).has_value());
    const auto by_request = Value(s.results.ResultForRequest("desk/q1"));
    REQUIRE(by_request.has_value());
    CHECK(by_request->id == id);
    CHECK_FALSE(Value(s.results.ResultForRequest("desk/other")).has_value());
  }

  SECTION("results are listed newest first, filtered and paged") {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) {
      core::StoredResult r = FaceResult("face_" + std::to_string(i) + ".xml", 10 + i);
      r.keys.insurer_number = i % 2 == 0 ? "06139992" : "31130015";
      r.keys.insured_card_symbol = "S" + std::to_string(i);
      r.keys.insured_identification_number = "N" + std::to_string(i);
      r.keys.birth_date = i < 3 ? "1980-01-15" : "1990-02-20";
      r.keys.reference_number = i == 4 ? "P-4" : "";
      r.keys.validity = i == 1 ? "2" : "1";
      ids.push_back(Value(s.results.StoreResult(r, {})).id);
    }
    auto list = [&s](core::ResultQuery q) { return Ids(Value(s.results.ListResults(q))); };
    core::ResultQuery q;
    CHECK(list(q) == std::vector<std::int64_t>{ids[4], ids[3], ids[2], ids[1], ids[0]});
    q.limit = 2;
    CHECK(list(q) == std::vector<std::int64_t>{ids[4], ids[3]});
    q.before_id = ids[3];
    CHECK(list(q) == std::vector<std::int64_t>{ids[2], ids[1]});
    q = {};
    q.insurer_number = "06139992";
    CHECK(list(q) == std::vector<std::int64_t>{ids[4], ids[2], ids[0]});
    q.birth_date = "1980-01-15";
    CHECK(list(q) == std::vector<std::int64_t>{ids[2], ids[0]});
    q = {};
    q.insured_card_symbol = "S3";
    CHECK(list(q) == std::vector<std::int64_t>{ids[3]});
    q = {};
    q.insured_identification_number = "N1";
    CHECK(list(q) == std::vector<std::int64_t>{ids[1]});
    q = {};
    q.reference_number = "P-4";
    CHECK(list(q) == std::vector<std::int64_t>{ids[4]});
    q = {};
    q.validity = "2";
    CHECK(list(q) == std::vector<std::int64_t>{ids[1]});
    // received_from is inclusive, received_until exclusive.
    q = {};
    q.received_from = T(11);
    q.received_until = T(13);
    CHECK(list(q) == std::vector<std::int64_t>{ids[2], ids[1]});
    for (int bad : {0, 201}) {
      core::ResultQuery b;
      b.limit = bad;
      auto refused = s.results.ListResults(b);
      INFO("limit = " << bad);
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().kind == core::ErrorKind::kInvalidArgument);
      CHECK(refused.error().reason == "INVALID_PAGE_SIZE");
      REQUIRE(refused.error().field_violations.size() == 1);
      CHECK(refused.error().field_violations[0].field == "page_size");
    }
    q = {};
    q.limit = 200;
    CHECK(list(q).size() == 5);
  }

  SECTION("a quarantined answer completes its journal entry with its events, once") {
    core::QuarantinedFile file{"OQSsiquc01res_1.xml", std::string("\xff\x00\xfe", 3),
                               "not well-formed XML", T(4), "desk/q1"};
    RequireOk(s.results.Quarantine(file, {Ev("upstream.file_quarantined", "x-desk/q1")}));
    const core::JournalEntry entry = GetEntry(s.journal, "desk/q1");
    CHECK(entry.state == core::JournalState::kAnswered);
    CHECK(entry.completed_at == T(4));
    CHECK(entry.payload.empty());
    CHECK(Types(events()) == std::vector<std::string>{"upstream.file_quarantined"});
    CHECK(events()[0].request_id == "x-desk/q1");
    CHECK_FALSE(Value(s.results.ResultForRequest("desk/q1")).has_value());

    // The same file kept again (read again after a crash): no second event.
    RequireOk(s.results.Quarantine(file, {Ev("upstream.file_quarantined", "x-desk/q1")}));
    CHECK(events().size() == 1);
    // A file that answered nothing of ours is only kept.
    RequireOk(s.results.Quarantine({"stray.xml", "x", "unknown file", T(5), ""}, {}));
    CHECK(events().size() == 1);
    // With events: they are written with it.
    RequireOk(s.results.Quarantine({"stray2.xml", "y", "unknown file", T(6), ""},
                                   {Ev("upstream.file_quarantined")}));
    CHECK(events().size() == 2);
  }
}

inline void RunReferenceNumberStoreContract(const UpstreamStores& s) {
  using namespace result_contract_internal;
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  core::ReferenceNumberRecord wanted;
  wanted.request_id = "refno:desk/r1";
  wanted.client_request_id = "r1";
  wanted.reference_number = "P-1";
  wanted.insurer_number = "06139992";
  wanted.insured_card_symbol = "記号";
  wanted.insured_identification_number = "5678";
  wanted.insured_branch_number = "01";
  wanted.requested_at = t0;

  core::JournalEntry entry;
  entry.request_id = wanted.request_id;
  entry.client_request_id = "r1";
  entry.instance_id = "daemon-a";
  entry.message_type = "OQSsiimm01";
  entry.kind = "reference_number";
  entry.file_name = "OQSsiimm01req_20261121000001.xml";
  entry.payload_sha256 = std::string(64, 'a');
  entry.payload = "<XmlMsg>request</XmlMsg>";
  entry.journalled_at = t0;

  core::ReferenceNumberRecord outcome;
  outcome.request_id = wanted.request_id;
  outcome.state = "REGISTERED";
  outcome.file_name = "OQSsiimm01res_20261121000001.xml";
  outcome.raw = std::string("<XmlMsg>\0bytes</XmlMsg>", 23);
  outcome.raw_sha256 = std::string(64, 'b');
  outcome.completed_at = t0 + std::chrono::seconds(2);

  // The events are built from the stored registration, inside the write.
  int built = 0;
  auto report = [&built](const core::ReferenceNumberRecord& record) {
    ++built;
    core::Event e;
    e.at = *record.completed_at;
    e.type = "reference_number." + record.state;
    e.request_id = record.client_request_id;
    e.attributes = {{"registration_id", std::to_string(record.id)}};
    return std::vector<core::Event>{e};
  };
  auto events = [&s] { return Value(s.events.ListAfter(0, 10)); };

  SECTION("registrations are kept with their journal entries and completed once") {
    auto created = Value(s.reference_numbers.CreateRegistration(wanted));
    CHECK(created.id > 0);
    CHECK(created.state == "PENDING");
    CHECK(created.request_id == "refno:desk/r1");
    CHECK(created.client_request_id == "r1");
    CHECK(created.reference_number == "P-1");
    CHECK(created.insurer_number == "06139992");
    CHECK(created.insured_card_symbol == "記号");
    CHECK(created.insured_identification_number == "5678");
    CHECK(created.insured_branch_number == "01");
    CHECK(created.requested_at == t0);
    CHECK_FALSE(created.completed_at);

    // A retry with the same request id returns the first registration, whatever it carries.
    auto other = wanted;
    other.reference_number = "P-2";
    auto again = Value(s.reference_numbers.CreateRegistration(other));
    CHECK(again.id == created.id);
    CHECK(again.reference_number == "P-1");

    RequireOk(s.journal.Record(entry));
    RequireOk(s.journal.Advance(entry.request_id, core::JournalState::kWritten, t0));

    auto completed = Value(s.reference_numbers.CompleteRegistration(outcome, report));
    CHECK(completed.second);
    CHECK(completed.first.state == "REGISTERED");
    CHECK(completed.first.raw == outcome.raw);
    CHECK(completed.first.raw_sha256 == outcome.raw_sha256);
    CHECK(completed.first.file_name == outcome.file_name);
    CHECK(completed.first.completed_at == outcome.completed_at);
    CHECK(completed.first.reference_number == "P-1");  // the registration's own fields stay
    CHECK(built == 1);
    // The journal entry was completed in the same write, its request bytes dropped, and the
    // event committed with it.
    const core::JournalEntry journalled = GetEntry(s.journal, entry.request_id);
    CHECK(journalled.state == core::JournalState::kAnswered);
    CHECK(journalled.completed_at == outcome.completed_at);
    CHECK(journalled.payload.empty());
    auto listed = events();
    REQUIRE(listed.size() == 1);
    CHECK(listed.at(0).type == "reference_number.REGISTERED");
    CHECK(listed.at(0).request_id == "r1");
    CHECK(listed.at(0).attributes == std::vector<std::pair<std::string, std::string>>{
                                         {"registration_id", std::to_string(created.id)}});

    // The same file read again after a crash changes nothing and reports nothing.
    auto twice = outcome;
    twice.state = "FAILED";
    auto repeated = Value(s.reference_numbers.CompleteRegistration(twice, report));
    CHECK_FALSE(repeated.second);
    CHECK(repeated.first.state == "REGISTERED");
    CHECK(built == 1);
    CHECK(events().size() == 1);

    // Read back by id, by request id and by 照会番号 (newest first).
    wanted.request_id = "refno:desk/r2";
    wanted.client_request_id = "r2";
    wanted.requested_at = t0 + std::chrono::seconds(10);
    auto second = Value(s.reference_numbers.CreateRegistration(wanted));
    CHECK(second.id != created.id);
    auto listed_p1 = Value(s.reference_numbers.ListRegistrations("P-1", 10));
    REQUIRE(listed_p1.size() == 2);
    CHECK(listed_p1.at(0).id == second.id);
    CHECK(listed_p1.at(1).id == created.id);
    CHECK(Value(s.reference_numbers.ListRegistrations("P-1", 1)).size() == 1);
    CHECK(Value(s.reference_numbers.ListRegistrations("P-9", 10)).empty());
    auto by_id = Value(s.reference_numbers.GetRegistration(created.id));
    REQUIRE(by_id.has_value());
    CHECK(by_id->file_name == outcome.file_name);
    CHECK_FALSE(Value(s.reference_numbers.GetRegistration(second.id + 1000)).has_value());
    auto by_request = Value(s.reference_numbers.RegistrationForRequest("refno:desk/r2"));
    REQUIRE(by_request.has_value());
    CHECK(by_request->state == "PENDING");
    CHECK_FALSE(Value(s.reference_numbers.RegistrationForRequest("refno:desk/none")).has_value());
    for (int bad : {0, 201}) {
      auto refused = s.reference_numbers.ListRegistrations("P-1", bad);
      INFO("limit = " << bad);
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().kind == core::ErrorKind::kInvalidArgument);
      REQUIRE(refused.error().field_violations.size() == 1);
      CHECK(refused.error().field_violations[0].field == "limit");
    }

    // A rejection (.err) completes the journal entry as REJECTED.
    entry.request_id = "refno:desk/r2";
    entry.file_name = "OQSsiimm01req_20261121000002.xml";
    RequireOk(s.journal.Record(entry));
    core::ReferenceNumberRecord rejected = outcome;
    rejected.request_id = "refno:desk/r2";
    rejected.state = "REJECTED";
    rejected.error_message = "terminal text";
    rejected.file_name = "OQSsiimm01req_20261121000002.err";
    auto refused = Value(s.reference_numbers.CompleteRegistration(rejected, report));
    CHECK(refused.second);
    CHECK(refused.first.state == "REJECTED");
    CHECK(refused.first.error_message == "terminal text");
    const core::JournalEntry rejected_entry = GetEntry(s.journal, "refno:desk/r2");
    CHECK(rejected_entry.state == core::JournalState::kRejected);
    CHECK(rejected_entry.payload.empty());
    CHECK(built == 2);

    // An answer for a request without a registration is reported, not invented; its journal
    // entry is completed all the same, without an event.
    entry.request_id = "refno:desk/none";
    entry.file_name = "OQSsiimm01req_20261121000003.xml";
    RequireOk(s.journal.Record(entry));
    outcome.request_id = "refno:desk/none";
    auto missing = s.reference_numbers.CompleteRegistration(outcome, report);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == core::ErrorKind::kNotFound);
    CHECK(missing.error().reason == "REFERENCE_NUMBER_NOT_FOUND");
    CHECK(GetEntry(s.journal, "refno:desk/none").state == core::JournalState::kAnswered);
    CHECK(built == 2);
    CHECK(events().size() == 2);
  }

  SECTION("a failed registration keeps the terminal's code and message") {
    Value(s.reference_numbers.CreateRegistration(wanted));
    RequireOk(s.journal.Record(entry));
    core::ReferenceNumberRecord failed = outcome;
    failed.state = "FAILED";
    failed.error_code = "EPS0001";
    failed.error_message = "not registered";
    auto done = Value(s.reference_numbers.CompleteRegistration(failed, report));
    CHECK(done.second);
    CHECK(done.first.state == "FAILED");
    CHECK(done.first.error_code == "EPS0001");
    CHECK(done.first.error_message == "not registered");
    CHECK(done.first.completed_at == outcome.completed_at);
    const core::JournalEntry journalled = GetEntry(s.journal, entry.request_id);
    CHECK(journalled.state == core::JournalState::kAnswered);
    CHECK(journalled.completed_at == outcome.completed_at);
    CHECK(Types(events()) == std::vector<std::string>{"reference_number.FAILED"});
  }
}

}  // namespace onshid::testing
