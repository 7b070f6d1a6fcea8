#pragma once
// The UpstreamJournal contract: one suite every core::UpstreamJournal implementation must pass —
// the transitions, owners and recovery of core/upstream.h. Run against MemUpstreamJournal (with a
// MemEventStore) in tests/unit/mem_stores_contract_test.cc and against PgStore in
// tests/integration/postgres_test.cc.
//
// Call RunUpstreamJournalContract() inside a TEST_CASE that makes a new, empty journal (and event
// log) every time it runs: the contract uses SECTIONs. `events` is the log Complete writes to.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/upstream.h"

namespace onshid::testing {

namespace journal_contract_internal {

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

inline core::SystemTime T(std::int64_t seconds) {
  return core::SystemTime(std::chrono::seconds(1'790'000'000 + seconds));
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

// A journal entry of `instance` journalled at T(at); the payload holds a NUL byte on purpose.
inline core::JournalEntry Entry(const std::string& key, const std::string& instance,
                                std::int64_t at) {
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

inline core::JournalEntry GetEntry(core::UpstreamJournal& journal, const std::string& key) {
  auto found = Value(journal.Get(key));
  REQUIRE(found.has_value());
  return *found;
}

inline std::vector<std::string> Keys(const std::vector<core::JournalEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.request_id);
  return out;
}

}  // namespace journal_contract_internal

inline void RunUpstreamJournalContract(core::UpstreamJournal& journal, core::EventStore& log) {
  using namespace journal_contract_internal;
  auto events = [&log] { return Value(log.ListAfter(0, 100)); };
  const core::JournalEntry wanted = Entry("q1", "daemon-a", 1);

  SECTION("sequence numbers are unique and increasing") {
    const std::int64_t a = Value(journal.NextSequence());
    const std::int64_t b = Value(journal.NextSequence());
    const std::int64_t c = Value(journal.NextSequence());
    CHECK(a < b);
    CHECK(b < c);
  }

  SECTION("recorded as JOURNALLED with every field, once") {
    core::JournalEntry odd = wanted;
    odd.state = core::JournalState::kAnswered;  // ignored: Record always journals
    odd.written_at = T(5);
    RequireOk(journal.Record(odd));
    const core::JournalEntry got = GetEntry(journal, "q1");
    CHECK(got.request_id == "q1");
    CHECK(got.client_request_id == "x-q1");
    CHECK(got.instance_id == "daemon-a");
    CHECK(got.message_type == "OQSsiquc01");
    CHECK(got.kind == "eligibility_query");
    CHECK(got.file_name == wanted.file_name);
    CHECK(got.payload_sha256 == wanted.payload_sha256);
    CHECK(got.payload == wanted.payload);
    CHECK(got.arbitrary_file_identifier == "afi-q1");
    CHECK(got.state == core::JournalState::kJournalled);
    CHECK(got.journalled_at == T(1));
    CHECK_FALSE(got.written_at);
    CHECK_FALSE(got.completed_at);

    const core::Status again = journal.Record(wanted);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == core::ErrorKind::kAlreadyExists);
    CHECK(again.error().reason == "UPSTREAM_REQUEST_EXISTS");
    CHECK(GetEntry(journal, "q1").state == core::JournalState::kJournalled);  // the first one
    CHECK_FALSE(Value(journal.Get("missing")).has_value());
  }

  SECTION("Advance goes to WRITING and WRITTEN, never back") {
    RequireOk(journal.Record(wanted));
    RequireOk(journal.Advance("q1", core::JournalState::kWriting, T(2)));
    CHECK(GetEntry(journal, "q1").state == core::JournalState::kWriting);
    CHECK_FALSE(GetEntry(journal, "q1").written_at);
    RequireOk(journal.Advance("q1", core::JournalState::kWritten, T(3)));
    core::JournalEntry got = GetEntry(journal, "q1");
    CHECK(got.state == core::JournalState::kWritten);
    CHECK(got.written_at == T(3));
    CHECK(got.payload == wanted.payload);  // kept until final
    // At or past the state asked for: left as it is.
    RequireOk(journal.Advance("q1", core::JournalState::kWriting, T(4)));
    RequireOk(journal.Advance("q1", core::JournalState::kWritten, T(5)));
    got = GetEntry(journal, "q1");
    CHECK(got.state == core::JournalState::kWritten);
    CHECK(got.written_at == T(3));
    // JOURNALLED straight to WRITTEN (the rename and the record in one step).
    RequireOk(journal.Record(Entry("q2", "daemon-a", 2)));
    RequireOk(journal.Advance("q2", core::JournalState::kWritten, T(6)));
    CHECK(GetEntry(journal, "q2").state == core::JournalState::kWritten);
    // Completed entries are past WRITTEN: an abandoned one stays abandoned.
    RequireOk(journal.Record(Entry("q3", "daemon-a", 3)));
    RequireOk(journal.Complete("q3", core::JournalState::kAbandoned, T(7), {}));
    RequireOk(journal.Advance("q3", core::JournalState::kWritten, T(8)));
    CHECK(GetEntry(journal, "q3").state == core::JournalState::kAbandoned);
    CHECK_FALSE(GetEntry(journal, "q3").written_at);

    const core::Status unknown = journal.Advance("missing", core::JournalState::kWritten, T(7));
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().kind == core::ErrorKind::kNotFound);
    CHECK(unknown.error().reason == "UPSTREAM_REQUEST_NOT_FOUND");
    const core::Status backwards = journal.Advance("q1", core::JournalState::kAnswered, T(7));
    REQUIRE_FALSE(backwards.ok());
    CHECK(backwards.error().kind == core::ErrorKind::kInternal);
    CHECK(GetEntry(journal, "q1").state == core::JournalState::kWritten);
    CHECK(events().empty());
  }

  SECTION("Complete writes its events only when the state changes") {
    RequireOk(journal.Record(wanted));
    RequireOk(journal.Advance("q1", core::JournalState::kWritten, T(2)));

    // WRITTEN → ABANDONED: the bytes stay (not final), the event is written.
    RequireOk(journal.Complete("q1", core::JournalState::kAbandoned, T(3),
                               {Ev("upstream.abandoned", "x-q1")}));
    core::JournalEntry got = GetEntry(journal, "q1");
    CHECK(got.state == core::JournalState::kAbandoned);
    CHECK(got.completed_at == T(3));
    CHECK(got.payload == wanted.payload);
    CHECK(Types(events()) == std::vector<std::string>{"upstream.abandoned"});
    CHECK(events()[0].request_id == "x-q1");

    // ABANDONED again: nothing changes, no event.
    RequireOk(journal.Complete("q1", core::JournalState::kAbandoned, T(4), {Ev("again")}));
    CHECK(GetEntry(journal, "q1").completed_at == T(3));
    CHECK(events().size() == 1);

    // A late answer: ABANDONED → ANSWERED, bytes dropped, two events in order.
    RequireOk(journal.Complete("q1", core::JournalState::kAnswered, T(5),
                               {Ev("upstream.answered"), Ev("upstream.late")}));
    got = GetEntry(journal, "q1");
    CHECK(got.state == core::JournalState::kAnswered);
    CHECK(got.completed_at == T(5));
    CHECK(got.payload.empty());
    CHECK(got.written_at == T(2));

    // Final: neither another answer, a rejection nor an abandonment changes it.
    RequireOk(journal.Complete("q1", core::JournalState::kRejected, T(6), {Ev("no")}));
    RequireOk(journal.Complete("q1", core::JournalState::kAbandoned, T(6), {Ev("no")}));
    RequireOk(journal.Complete("q1", core::JournalState::kAnswered, T(6), {Ev("no")}));
    RequireOk(journal.Advance("q1", core::JournalState::kWritten, T(6)));
    got = GetEntry(journal, "q1");
    CHECK(got.state == core::JournalState::kAnswered);
    CHECK(got.completed_at == T(5));
    CHECK(Types(events()) ==
          std::vector<std::string>{"upstream.abandoned", "upstream.answered", "upstream.late"});

    // Never written (a result of the same name existed): JOURNALLED → REJECTED, bytes dropped.
    RequireOk(journal.Record(Entry("q2", "daemon-a", 2)));
    RequireOk(journal.Complete("q2", core::JournalState::kRejected, T(7), {}));
    got = GetEntry(journal, "q2");
    CHECK(got.state == core::JournalState::kRejected);
    CHECK(got.payload.empty());
    CHECK(events().size() == 3);

    const core::Status unknown =
        journal.Complete("missing", core::JournalState::kAnswered, T(8), {Ev("no")});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().kind == core::ErrorKind::kNotFound);
    CHECK(unknown.error().reason == "UPSTREAM_REQUEST_NOT_FOUND");
    const core::Status not_a_completion =
        journal.Complete("q2", core::JournalState::kWriting, T(8), {Ev("no")});
    REQUIRE_FALSE(not_a_completion.ok());
    CHECK(not_a_completion.error().kind == core::ErrorKind::kInternal);
    CHECK(events().size() == 3);
  }

  SECTION("each instance recovers its own journal entries") {
    // daemon-a: one of each state; b1 belongs to daemon-b.
    RequireOk(journal.Record(Entry("a-journalled", "daemon-a", 5)));
    RequireOk(journal.Record(Entry("a-writing", "daemon-a", 4)));
    RequireOk(journal.Advance("a-writing", core::JournalState::kWriting, T(4)));
    RequireOk(journal.Record(Entry("a-written", "daemon-a", 3)));
    RequireOk(journal.Advance("a-written", core::JournalState::kWritten, T(3)));
    RequireOk(journal.Record(Entry("a-abandoned", "daemon-a", 2)));
    RequireOk(journal.Complete("a-abandoned", core::JournalState::kAbandoned, T(20), {}));
    RequireOk(journal.Record(Entry("a-answered-old", "daemon-a", 1)));
    RequireOk(journal.Complete("a-answered-old", core::JournalState::kAnswered, T(9), {}));
    RequireOk(journal.Record(Entry("a-rejected", "daemon-a", 6)));
    RequireOk(journal.Complete("a-rejected", core::JournalState::kRejected, T(10), {}));
    RequireOk(journal.Record(Entry("b1", "daemon-b", 0)));
    // An entry journalled before owners were recorded.
    RequireOk(journal.Record(Entry("legacy", "", 7)));

    // Completed at or after T(10): a-rejected (exactly T(10)) and a-abandoned; not a-answered-old.
    const auto a = Value(journal.Recoverable("daemon-a", T(10)));
    CHECK(Keys(a) == std::vector<std::string>{"a-abandoned", "a-written", "a-writing",
                                              "a-journalled", "a-rejected", "legacy"});
    for (const auto& e : a) {
      CHECK(e.instance_id == "daemon-a");  // "legacy" adopted
      const bool final = core::IsFinal(e.state);
      CHECK(e.payload.empty() == final);  // the bytes come along until final
    }
    CHECK(a.at(1).written_at == T(3));
    // daemon-b sees only its own entry: not daemon-a's, and not the adopted one.
    CHECK(Keys(Value(journal.Recoverable("daemon-b", T(0)))) == std::vector<std::string>{"b1"});
    // Asking again changes nothing.
    CHECK(Keys(Value(journal.Recoverable("daemon-a", T(10)))) == Keys(a));
    CHECK(GetEntry(journal, "legacy").instance_id == "daemon-a");
    CHECK(Value(journal.Recoverable("daemon-c", T(0))).empty());
  }
}

}  // namespace onshid::testing
