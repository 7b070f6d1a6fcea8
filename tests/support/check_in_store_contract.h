#pragma once
// The CheckInStore contract: one suite every core::checkin::CheckInStore implementation must pass.
// Run against MemCheckInStore in tests/unit/check_in_store_test.cc and against PgStore in
// tests/integration/postgres_test.cc.
//
// Call RunCheckInStoreContract() inside a TEST_CASE (or SECTION) that makes a new, empty store
// every time it runs: the contract uses SECTIONs, so Catch runs the enclosing body once per
// section.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/checkin/check_in_store.h"
#include "core/checkin/check_in_store_errors.h"
#include "core/event.h"

namespace onshid::testing {

// What the contract needs beyond the port: the stores keep their results and events elsewhere.
struct CheckInStoreHooks {
  // Stores a face result received at `received_at` and returns its id (results are linked to
  // check-ins by id and UnlinkedFaceResults reads them).
  std::function<std::int64_t(core::SystemTime received_at)> add_face_result;
  // Every event appended so far, oldest first, with the cursors the store assigned.
  std::function<std::vector<core::Event>()> events;
};

namespace check_in_contract_internal {

using core::checkin::Attachments;
using core::checkin::CheckInQuery;
using core::checkin::CheckInRow;
using core::checkin::CheckInStore;
using core::checkin::PatientLink;
using core::checkin::ResultLink;

// Times are whole microseconds: the finest resolution every store keeps.
inline core::SystemTime At(std::int64_t seconds_after_base, std::int64_t micros = 0) {
  constexpr std::int64_t kBase = 1711929600;  // 2024-04-01T00:00:00Z
  return core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
      std::chrono::seconds(kBase + seconds_after_base) + std::chrono::microseconds(micros)));
}

// A new WAITING check-in (version 1) that arrived at At(arrived).
inline CheckInRow Row(std::string id, std::int64_t arrived) {
  CheckInRow r;
  r.id = std::move(id);
  r.version = 1;
  r.day = "2024-04-01";
  r.desk_id = "desk-1";
  r.state = "WAITING";
  r.created_at = At(arrived);
  r.updated_at = At(arrived);
  r.body = R"({"v":1})";
  return r;
}

// `r` as written by the next update (version + 1).
inline CheckInRow Next(CheckInRow r, std::int64_t updated) {
  ++r.version;
  r.updated_at = At(updated);
  return r;
}

inline std::string Describe(const core::DomainError& e) { return e.reason + ": " + e.message; }

inline void Insert(CheckInStore& store, const CheckInRow& row, const Attachments& with = {}) {
  const core::Status s = store.InsertCheckIn(row, with);
  INFO((s.ok() ? std::string() : Describe(s.error())));
  REQUIRE(s.ok());
}

inline void Update(CheckInStore& store, const CheckInRow& row, const Attachments& with = {}) {
  const core::Status s = store.UpdateCheckIn(row, with);
  INFO((s.ok() ? std::string() : Describe(s.error())));
  REQUIRE(s.ok());
}

inline std::optional<CheckInRow> Get(CheckInStore& store, const std::string& id) {
  auto got = store.GetCheckIn(id);
  INFO((got.ok() ? std::string() : Describe(got.error())));
  REQUIRE(got.ok());
  return *got;
}

inline std::vector<std::string> ListIds(CheckInStore& store, const CheckInQuery& q) {
  auto listed = store.ListCheckIns(q);
  INFO((listed.ok() ? std::string() : Describe(listed.error())));
  REQUIRE(listed.ok());
  std::vector<std::string> ids;
  for (const auto& r : *listed) ids.push_back(r.id);
  return ids;
}

inline std::vector<std::int64_t> Unlinked(CheckInStore& store, core::SystemTime since) {
  auto ids = store.UnlinkedFaceResults(since);
  INFO((ids.ok() ? std::string() : Describe(ids.error())));
  REQUIRE(ids.ok());
  return *ids;
}

inline std::vector<PatientLink> PatientLinksOf(CheckInStore& store, const std::string& id) {
  auto links = store.PatientLinks(id);
  INFO((links.ok() ? std::string() : Describe(links.error())));
  REQUIRE(links.ok());
  return *links;
}

inline std::vector<ResultLink> LinksOf(CheckInStore& store, const std::string& id) {
  auto links = store.LinksOf(id);
  INFO((links.ok() ? std::string() : Describe(links.error())));
  REQUIRE(links.ok());
  return *links;
}

inline std::optional<ResultLink> LinkOfResult(CheckInStore& store, std::int64_t result_id) {
  auto link = store.LinkOfResult(result_id);
  INFO((link.ok() ? std::string() : Describe(link.error())));
  REQUIRE(link.ok());
  return *link;
}

// Checks `s` failed with `reason` of `kind`, with a Japanese message and, when given, metadata
// check_in_id = `check_in_id`.
// The kind CHECKIN_CONCURRENT_UPDATE has (see core::checkin::CheckInConcurrentUpdate: the port's
// kAborted is not in core::ErrorKind yet), taken from the one definition every store shares.
inline core::ErrorKind ConcurrentUpdateKind() {
  return core::checkin::CheckInConcurrentUpdate("").kind;
}

inline void CheckError(const core::Status& s, core::ErrorKind kind, const std::string& reason,
                       const std::optional<std::string>& check_in_id = std::nullopt) {
  REQUIRE_FALSE(s.ok());
  INFO(Describe(s.error()));
  CHECK(s.error().reason == reason);
  CHECK(s.error().kind == kind);
  CHECK_FALSE(s.error().message.empty());
  CHECK_FALSE(s.error().message_ja.empty());
  if (check_in_id) {
    CHECK(s.error().metadata ==
          std::vector<std::pair<std::string, std::string>>{{"check_in_id", *check_in_id}});
  }
}

inline ResultLink Link(std::int64_t result_id, std::string link, core::SystemTime at,
                       std::string check_in_id = "") {
  ResultLink l;
  l.result_id = result_id;
  l.check_in_id = std::move(check_in_id);
  l.link = std::move(link);
  l.at = at;
  return l;
}

inline PatientLink Patient(std::string patient_id, std::string request_id, core::SystemTime at) {
  PatientLink p;
  p.patient_id = std::move(patient_id);
  p.linked_by = "emr";
  p.request_id = std::move(request_id);
  p.at = at;
  return p;
}

inline core::Event CheckInEvent(std::string type, std::string request_id, core::SystemTime at) {
  core::Event e;
  e.at = at;
  e.type = std::move(type);
  e.request_id = std::move(request_id);
  e.detail = "check-in changed";
  e.attributes = {{"check_in_id", "ci_1"}, {"state", "WAITING"}};
  return e;
}

}  // namespace check_in_contract_internal

inline void RunCheckInStoreContract(core::checkin::CheckInStore& store,
                                    const CheckInStoreHooks& hooks) {
  using namespace check_in_contract_internal;  // NOLINT(google-build-using-namespace)
  REQUIRE(hooks.add_face_result);
  REQUIRE(hooks.events);

  SECTION("a new store has no check-ins, links or face results") {
    CHECK_FALSE(Get(store, "ci_none").has_value());
    auto by_key = store.CheckInForClientKey("reception/req-1");
    REQUIRE(by_key.ok());
    CHECK_FALSE(by_key->has_value());
    CHECK(ListIds(store, {}).empty());
    CHECK(LinksOf(store, "ci_none").empty());
    CHECK_FALSE(LinkOfResult(store, 1).has_value());
    CHECK(PatientLinksOf(store, "ci_none").empty());
    CHECK(Unlinked(store, At(0)).empty());
    CHECK(hooks.events().empty());
  }

  SECTION("an inserted check-in is read back with every field kept") {
    const std::int64_t result = hooks.add_face_result(At(1));
    CheckInRow r = Row("ci_full", 2);
    r.client_key = "reception-1/req-42";
    r.day = "2024-04-01";
    r.desk_id = "受付2";
    r.state = "NEEDS_FALLBACK";
    r.correlation = "AMBIGUOUS";
    r.patient_id = "P-000123";
    r.result_id = result;
    r.reference_number = "1234567890123456";
    r.card_key = "06139015|記号|12345|01";
    r.kana_key = "ﾔﾏﾀﾞﾀﾛｳ";
    r.birth_date = "1980-02-29";
    r.timed_out = true;
    r.created_at = At(2, 123456);
    r.updated_at = At(3, 1);
    // Spacing, key order, escapes and Japanese must survive byte for byte.
    r.body =
        "{\"name\": \"山田 太郎\",  \"note\":\"it's \\\"quoted\\\" \\\\ $1 %; --\",\"z\":1, "
        "\"a\":[]}";
    Insert(store, r);

    auto check = [&](const CheckInRow& got) {
      CHECK(got.id == r.id);
      CHECK(got.version == 1);
      CHECK(got.client_key == r.client_key);
      CHECK(got.day == r.day);
      CHECK(got.desk_id == r.desk_id);
      CHECK(got.state == r.state);
      CHECK(got.correlation == r.correlation);
      CHECK(got.patient_id == r.patient_id);
      CHECK(got.result_id == r.result_id);
      CHECK(got.reference_number == r.reference_number);
      CHECK(got.card_key == r.card_key);
      CHECK(got.kana_key == r.kana_key);
      CHECK(got.birth_date == r.birth_date);
      CHECK(got.timed_out == r.timed_out);
      CHECK(got.created_at == r.created_at);
      CHECK(got.updated_at == r.updated_at);
      CHECK(got.body == r.body);
    };
    const auto got = Get(store, "ci_full");
    REQUIRE(got.has_value());
    check(*got);
    auto by_key = store.CheckInForClientKey("reception-1/req-42");
    REQUIRE(by_key.ok());
    REQUIRE(by_key->has_value());
    check(**by_key);
    auto listed = store.ListCheckIns({});
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    check((*listed)[0]);
    // Defaults (empty strings, false, no client_key) round-trip too.
    Insert(store, Row("ci_plain", 4));
    const auto plain = Get(store, "ci_plain");
    REQUIRE(plain.has_value());
    CHECK(plain->client_key.empty());
    CHECK(plain->correlation.empty());
    CHECK(plain->result_id == 0);
    CHECK_FALSE(plain->timed_out);
    CHECK(plain->body == R"({"v":1})");
    // The empty key is no key: it never finds a check-in.
    auto empty_key = store.CheckInForClientKey("");
    REQUIRE(empty_key.ok());
    CHECK_FALSE(empty_key->has_value());
  }

  SECTION("a taken client_key or id is CHECKIN_EXISTS naming the existing check-in") {
    CheckInRow a = Row("ci_a", 1);
    a.client_key = "reception-1/req-1";
    Insert(store, a);

    const std::int64_t result = hooks.add_face_result(At(1));
    CheckInRow b = Row("ci_b", 2);
    b.client_key = a.client_key;
    Attachments with;
    with.result_link = Link(result, "BOUND", At(2));
    with.patient_link = Patient("P-1", "req-1", At(2));
    with.events = {CheckInEvent("checkin.created", "req-1", At(2))};
    CheckError(store.InsertCheckIn(b, with), core::ErrorKind::kAlreadyExists, "CHECKIN_EXISTS",
               "ci_a");
    // Nothing of the refused insert was written.
    CHECK_FALSE(Get(store, "ci_b").has_value());
    CHECK_FALSE(LinkOfResult(store, result).has_value());
    CHECK(PatientLinksOf(store, "ci_b").empty());
    CHECK(hooks.events().empty());

    CheckInRow same_id = Row("ci_a", 3);
    same_id.client_key = "reception-1/req-2";
    CheckError(store.InsertCheckIn(same_id, {}), core::ErrorKind::kAlreadyExists, "CHECKIN_EXISTS",
               "ci_a");
    CHECK(Get(store, "ci_a").value().client_key == "reception-1/req-1");
    auto by_new_key = store.CheckInForClientKey("reception-1/req-2");
    REQUIRE(by_new_key.ok());
    CHECK_FALSE(by_new_key->has_value());

    // Check-ins created by arriving results have no key; any number of them may exist.
    Insert(store, Row("ci_c", 4));
    Insert(store, Row("ci_d", 5));
    CHECK(ListIds(store, {}) == std::vector<std::string>{"ci_a", "ci_c", "ci_d"});
  }

  SECTION("an update naming the version read succeeds and bumps the version") {
    const CheckInRow v1 = Row("ci_u", 1);
    Insert(store, v1);
    CheckInRow v2 = Next(v1, 5);
    v2.state = "VERIFIED";
    v2.correlation = "BOUND";
    v2.patient_id = "P-9";
    v2.reference_number = "9876543210987654";
    v2.timed_out = true;
    v2.body = R"({"v":2})";
    Update(store, v2);
    auto got = Get(store, "ci_u");
    REQUIRE(got.has_value());
    CHECK(got->version == 2);
    CHECK(got->state == "VERIFIED");
    CHECK(got->correlation == "BOUND");
    CHECK(got->patient_id == "P-9");
    CHECK(got->reference_number == "9876543210987654");
    CHECK(got->timed_out);
    CHECK(got->created_at == v1.created_at);
    CHECK(got->updated_at == At(5));
    CHECK(got->body == R"({"v":2})");

    CheckInRow v3 = Next(*got, 6);
    v3.state = "CANCELLED";
    Update(store, v3);
    got = Get(store, "ci_u");
    REQUIRE(got.has_value());
    CHECK(got->version == 3);
    CHECK(got->state == "CANCELLED");
  }

  SECTION("a stale version is CHECKIN_CONCURRENT_UPDATE and changes nothing") {
    const CheckInRow v1 = Row("ci_s", 1);
    Insert(store, v1);
    CheckInRow mine = Next(v1, 2);
    mine.state = "VERIFIED";
    Update(store, mine);

    CheckInRow theirs = Next(v1, 3);  // read version 1 too, writes after us
    theirs.state = "CANCELLED";
    Attachments with;
    with.patient_link = Patient("P-2", "req-2", At(3));
    with.events = {CheckInEvent("checkin.cancelled", "req-2", At(3))};
    CheckError(store.UpdateCheckIn(theirs, with), ConcurrentUpdateKind(),
               "CHECKIN_CONCURRENT_UPDATE", "ci_s");
    CheckInRow ahead = Next(v1, 4);
    ahead.version = 4;  // written over version 3, which was never stored
    CheckError(store.UpdateCheckIn(ahead, {}), ConcurrentUpdateKind(), "CHECKIN_CONCURRENT_UPDATE",
               "ci_s");

    const auto got = Get(store, "ci_s");
    REQUIRE(got.has_value());
    CHECK(got->version == 2);
    CHECK(got->state == "VERIFIED");
    CHECK(PatientLinksOf(store, "ci_s").empty());
    CHECK(hooks.events().empty());
  }

  SECTION("updating an unknown check-in is CHECKIN_NOT_FOUND") {
    CheckError(store.UpdateCheckIn(Next(Row("ci_missing", 1), 2), {}), core::ErrorKind::kNotFound,
               "CHECKIN_NOT_FOUND", "ci_missing");
    CHECK_FALSE(Get(store, "ci_missing").has_value());
  }

  SECTION("a client_key held by another check-in cannot be taken over by an update") {
    CheckInRow a = Row("ci_a", 1);
    a.client_key = "reception-1/req-1";
    Insert(store, a);
    CheckInRow b = Row("ci_b", 2);
    b.client_key = "reception-1/req-2";
    Insert(store, b);
    CheckInRow b2 = Next(b, 3);
    b2.client_key = a.client_key;
    CheckError(store.UpdateCheckIn(b2, {}), core::ErrorKind::kAlreadyExists, "CHECKIN_EXISTS",
               "ci_a");
    CHECK(Get(store, "ci_b").value().version == 1);
    CHECK(Get(store, "ci_b").value().client_key == "reception-1/req-2");
  }

  SECTION("a result is linked to one check-in only; a refused write is rolled back whole") {
    const std::int64_t result = hooks.add_face_result(At(1));
    Attachments bound;
    bound.result_link = Link(result, "BOUND", At(2));
    CheckInRow a = Row("ci_a", 2);
    a.result_id = result;
    Insert(store, a, bound);
    const CheckInRow b = Row("ci_b", 3);
    Insert(store, b);
    const std::size_t events_before = hooks.events().size();

    CheckInRow b2 = Next(b, 4);
    b2.state = "VERIFIED";
    b2.result_id = result;
    Attachments steal;
    steal.result_link = Link(result, "ASSIGNED", At(4), "ci_b");
    steal.patient_link = Patient("P-3", "req-3", At(4));
    steal.events = {CheckInEvent("checkin.verified", "req-3", At(4))};
    CheckError(store.UpdateCheckIn(b2, steal), core::ErrorKind::kAlreadyExists,
               "RESULT_ALREADY_LINKED", "ci_a");
    const auto got_b = Get(store, "ci_b");
    REQUIRE(got_b.has_value());
    CHECK(got_b->version == 1);
    CHECK(got_b->state == "WAITING");
    CHECK(got_b->result_id == 0);
    CHECK(LinksOf(store, "ci_b").empty());
    CHECK(PatientLinksOf(store, "ci_b").empty());
    CHECK(hooks.events().size() == events_before);

    // The same on insert: the new check-in is not kept either.
    CheckError(store.InsertCheckIn(Row("ci_c", 5), bound), core::ErrorKind::kAlreadyExists,
               "RESULT_ALREADY_LINKED", "ci_a");
    CHECK_FALSE(Get(store, "ci_c").has_value());

    const auto holder = LinkOfResult(store, result);
    REQUIRE(holder.has_value());
    CHECK(holder->check_in_id == "ci_a");
    CHECK(holder->link == "BOUND");
    // Relinking to the holder itself is refused as well: a link is written once.
    CheckError(store.UpdateCheckIn(Next(a, 6), bound), core::ErrorKind::kAlreadyExists,
               "RESULT_ALREADY_LINKED", "ci_a");
    CHECK(Get(store, "ci_a").value().version == 1);
  }

  SECTION("a link is moved only from the check-in that holds it") {
    const std::int64_t result = hooks.add_face_result(At(1));
    Attachments own;
    own.result_link = Link(result, "OWN", At(2));
    Insert(store, Row("ci_own", 2), own);
    const CheckInRow target = Row("ci_target", 1);
    Insert(store, target);
    const CheckInRow other = Row("ci_other", 1);
    Insert(store, other);

    Attachments wrong;
    wrong.result_link = Link(result, "ASSIGNED", At(3));
    wrong.result_link->move_from = "ci_other";
    CheckError(store.UpdateCheckIn(Next(target, 3), wrong), core::ErrorKind::kAlreadyExists,
               "RESULT_ALREADY_LINKED", "ci_own");
    CHECK(Get(store, "ci_target").value().version == 1);

    Attachments move;
    move.result_link = Link(result, "ASSIGNED", At(3));
    move.result_link->move_from = "ci_own";
    Update(store, Next(target, 3), move);
    const auto holder = LinkOfResult(store, result);
    REQUIRE(holder.has_value());
    CHECK(holder->check_in_id == "ci_target");
    CHECK(holder->link == "ASSIGNED");
    CHECK(LinksOf(store, "ci_own").empty());
    REQUIRE(LinksOf(store, "ci_target").size() == 1);
  }

  SECTION("attachments are written with the check-in and read back") {
    const std::int64_t first = hooks.add_face_result(At(1));
    const std::int64_t second = hooks.add_face_result(At(2));
    Attachments created;
    created.result_link = Link(first, "BOUND", At(3, 5));  // check_in_id left to the store
    created.patient_link = Patient("P-7", "req-7", At(3, 6));
    core::Event e1 = CheckInEvent("checkin.created", "req-7", At(3, 7));
    e1.result_id = first;
    e1.file_name = "face-1.xml";
    created.events = {e1, CheckInEvent("checkin.bound", "req-7", At(3, 8))};
    CheckInRow row = Row("ci_att", 3);
    row.result_id = first;
    Insert(store, row, created);

    const auto link = LinkOfResult(store, first);
    REQUIRE(link.has_value());
    CHECK(link->result_id == first);
    CHECK(link->check_in_id == "ci_att");
    CHECK(link->link == "BOUND");
    CHECK(link->at == At(3, 5));
    CHECK_FALSE(LinkOfResult(store, second).has_value());

    auto events = hooks.events();
    REQUIRE(events.size() == 2);
    CHECK(events[0].cursor > 0);
    CHECK(events[1].cursor > events[0].cursor);
    CHECK(events[0].type == "checkin.created");
    CHECK(events[0].at == At(3, 7));
    CHECK(events[0].result_id == first);
    CHECK(events[0].request_id == "req-7");
    CHECK(events[0].file_name == "face-1.xml");
    CHECK(events[0].detail == "check-in changed");
    auto attributes = events[0].attributes;
    std::sort(attributes.begin(), attributes.end());
    CHECK(attributes == std::vector<std::pair<std::string, std::string>>{{"check_in_id", "ci_1"},
                                                                         {"state", "WAITING"}});
    CHECK(events[1].type == "checkin.bound");

    // A later link is listed after the first (oldest first), and more events follow in order.
    Attachments late;
    late.result_link = Link(second, "LINKED", At(9), "ci_att");
    late.events = {CheckInEvent("checkin.linked", "req-8", At(9))};
    Update(store, Next(row, 9), late);
    const auto links = LinksOf(store, "ci_att");
    REQUIRE(links.size() == 2);
    CHECK(links[0].result_id == first);
    CHECK(links[1].result_id == second);
    CHECK(links[1].link == "LINKED");
    CHECK(links[1].at == At(9));
    CHECK(LinksOf(store, "ci_other").empty());
    events = hooks.events();
    REQUIRE(events.size() == 3);
    CHECK(events[2].type == "checkin.linked");
    CHECK(events[2].cursor > events[1].cursor);
  }

  SECTION("the patient-link history is kept oldest first, per check-in") {
    CheckInRow row = Row("ci_p", 1);
    Attachments a1;
    a1.patient_link = Patient("P-1", "req-1", At(1, 10));
    Insert(store, row, a1);
    Attachments other;
    other.patient_link = Patient("P-9", "req-9", At(2));
    Insert(store, Row("ci_q", 2), other);
    row = Next(row, 3);
    Attachments a2;
    a2.patient_link = Patient("", "req-2", At(3));  // unlinked
    Update(store, row, a2);
    row = Next(row, 4);
    Attachments a3;
    a3.patient_link = Patient("P-2", "req-3", At(4));
    a3.patient_link->check_in_id = "ci_p";
    Update(store, row, a3);

    const auto links = PatientLinksOf(store, "ci_p");
    REQUIRE(links.size() == 3);
    CHECK(links[0].patient_id == "P-1");
    CHECK(links[0].at == At(1, 10));
    CHECK(links[0].linked_by == "emr");
    CHECK(links[0].request_id == "req-1");
    CHECK(links[1].patient_id.empty());
    CHECK(links[1].request_id == "req-2");
    CHECK(links[2].patient_id == "P-2");
    for (const auto& l : links) {
      CHECK(l.check_in_id == "ci_p");
      CHECK(l.id > 0);
    }
    CHECK(links[0].id < links[1].id);
    CHECK(links[1].id < links[2].id);
    const auto others = PatientLinksOf(store, "ci_q");
    REQUIRE(others.size() == 1);
    CHECK(others[0].patient_id == "P-9");
  }

  SECTION("unlinked face results are those not linked, received at or after since") {
    const std::int64_t f1 = hooks.add_face_result(At(1));
    const std::int64_t f2 = hooks.add_face_result(At(5));
    const std::int64_t f3 = hooks.add_face_result(At(10, 1));
    CHECK(Unlinked(store, At(5)) == std::vector<std::int64_t>{f2, f3});
    CHECK(Unlinked(store, At(10, 2)).empty());
    Attachments with;
    with.result_link = Link(f2, "BOUND", At(11));
    Insert(store, Row("ci_f", 11), with);
    CHECK(Unlinked(store, At(5)) == std::vector<std::int64_t>{f3});
    CHECK(Unlinked(store, At(0)) == std::vector<std::int64_t>{f1, f3});
  }

  SECTION("ListCheckIns applies every filter given, in arrival order") {
    CheckInRow a = Row("ci_a", 1);
    a.patient_id = "P-1";
    a.reference_number = "R-1";
    a.card_key = "C-1";
    a.kana_key = "ﾔﾏﾀﾞ";
    a.birth_date = "1980-01-01";
    CheckInRow b = Row("ci_b", 2);
    b.desk_id = "desk-2";
    b.state = "VERIFIED";
    b.patient_id = "P-2";
    b.kana_key = "ﾔﾏﾀﾞ";
    b.birth_date = "1990-01-01";
    CheckInRow c = Row("ci_c", 3);
    c.day = "2024-04-02";
    c.state = "VERIFIED";
    c.patient_id = "P-1";
    c.reference_number = "R-1";
    c.card_key = "C-2";
    CheckInRow d = Row("ci_d", 4);
    d.state = "CANCELLED";
    d.kana_key = "ｽｽﾞｷ";
    d.birth_date = "1980-01-01";
    // Inserted out of arrival order: the list follows created_at, not insertion.
    for (const auto& r : {c, a, d, b}) Insert(store, r);

    using Ids = std::vector<std::string>;
    CHECK(ListIds(store, {}) == Ids{"ci_a", "ci_b", "ci_c", "ci_d"});
    CheckInQuery q;
    q.newest_first = true;
    CHECK(ListIds(store, q) == Ids{"ci_d", "ci_c", "ci_b", "ci_a"});

    q = {};
    q.day = "2024-04-01";
    CHECK(ListIds(store, q) == Ids{"ci_a", "ci_b", "ci_d"});
    q = {};
    q.desk_id = "desk-2";
    CHECK(ListIds(store, q) == Ids{"ci_b"});
    q = {};
    q.state = "VERIFIED";
    CHECK(ListIds(store, q) == Ids{"ci_b", "ci_c"});
    q = {};
    q.patient_id = "P-1";
    CHECK(ListIds(store, q) == Ids{"ci_a", "ci_c"});
    q = {};
    q.reference_number = "R-1";
    CHECK(ListIds(store, q) == Ids{"ci_a", "ci_c"});
    q = {};
    q.card_key = "C-2";
    CHECK(ListIds(store, q) == Ids{"ci_c"});
    q = {};
    q.kana_key = "ﾔﾏﾀﾞ";
    CHECK(ListIds(store, q) == Ids{"ci_a", "ci_b"});
    q.birth_date = "1990-01-01";
    CHECK(ListIds(store, q) == Ids{"ci_b"});
    q = {};
    q.birth_date = "1980-01-01";
    CHECK(ListIds(store, q) == Ids{"ci_a", "ci_d"});
    q = {};
    q.patient_id = "nobody";
    CHECK(ListIds(store, q).empty());

    // Filters combine.
    q = {};
    q.day = "2024-04-01";
    q.patient_id = "P-1";
    CHECK(ListIds(store, q) == Ids{"ci_a"});
    q.state = "VERIFIED";
    CHECK(ListIds(store, q).empty());

    // The limit keeps the first ones in the order asked for.
    q = {};
    q.limit = 2;
    CHECK(ListIds(store, q) == Ids{"ci_a", "ci_b"});
    q.newest_first = true;
    CHECK(ListIds(store, q) == Ids{"ci_d", "ci_c"});
    q.limit = 1000;
    CHECK(ListIds(store, q).size() == 4);
  }

  SECTION("check-ins that arrived at the same time are ordered by id") {
    for (const char* id : {"ci_2", "ci_10", "ci_1", "ci_B", "ci_a"}) Insert(store, Row(id, 7));
    using Ids = std::vector<std::string>;
    CHECK(ListIds(store, {}) == Ids{"ci_1", "ci_10", "ci_2", "ci_B", "ci_a"});
    CheckInQuery q;
    q.newest_first = true;
    CHECK(ListIds(store, q) == Ids{"ci_a", "ci_B", "ci_2", "ci_10", "ci_1"});
  }

  SECTION("open_or_updated_since keeps open check-ins and those updated at or after it") {
    auto add = [&](const std::string& id, std::int64_t arrived, const std::string& state,
                   core::SystemTime updated) {
      CheckInRow r = Row(id, arrived);
      r.state = state;
      r.updated_at = updated;
      Insert(store, r);
    };
    add("ci_waiting", 1, "WAITING", At(1));
    add("ci_fallback", 2, "NEEDS_FALLBACK", At(2));
    add("ci_verified_old", 3, "VERIFIED", At(9, 999999));
    add("ci_verified_now", 4, "VERIFIED", At(10));
    add("ci_cancelled_new", 5, "CANCELLED", At(11));
    add("ci_cancelled_old", 6, "CANCELLED", At(6));

    using Ids = std::vector<std::string>;
    CheckInQuery q;
    q.open_or_updated_since = At(10);
    CHECK(ListIds(store, q) ==
          Ids{"ci_waiting", "ci_fallback", "ci_verified_now", "ci_cancelled_new"});
    q.state = "VERIFIED";  // still ANDed with the other filters
    CHECK(ListIds(store, q) == Ids{"ci_verified_now"});
    q = {};
    q.open_or_updated_since = At(0);
    CHECK(ListIds(store, q).size() == 6);

    // An update moves a check-in in or out of the set.
    auto waiting = Get(store, "ci_waiting");
    REQUIRE(waiting.has_value());
    CheckInRow done = Next(*waiting, 8);
    done.state = "VERIFIED";
    Update(store, done);
    q.open_or_updated_since = At(10);
    CHECK(ListIds(store, q) == Ids{"ci_fallback", "ci_verified_now", "ci_cancelled_new"});
  }

  SECTION("a limit outside 1..1000 is INVALID_ARGUMENT naming the field \"limit\"") {
    for (int limit : {0, -1, 1001}) {
      INFO("limit = " << limit);
      CheckInQuery q;
      q.limit = limit;
      auto listed = store.ListCheckIns(q);
      REQUIRE_FALSE(listed.ok());
      CHECK(listed.error().kind == core::ErrorKind::kInvalidArgument);
      REQUIRE(listed.error().field_violations.size() == 1);
      CHECK(listed.error().field_violations[0].field == "limit");
      CHECK_FALSE(listed.error().message_ja.empty());
    }
    CheckInQuery q;
    q.limit = 1;
    CHECK(store.ListCheckIns(q).ok());
  }

  SECTION("malformed writes are refused as INTERNAL and write nothing") {
    CheckInRow v2 = Row("ci_bad", 1);
    v2.version = 2;
    CheckError(store.InsertCheckIn(v2, {}), core::ErrorKind::kInternal, "INTERNAL");
    Attachments elsewhere;
    elsewhere.patient_link = Patient("P-1", "req-1", At(1));
    elsewhere.patient_link->check_in_id = "ci_other";
    CheckError(store.InsertCheckIn(Row("ci_bad", 1), elsewhere), core::ErrorKind::kInternal,
               "INTERNAL");
    CHECK_FALSE(Get(store, "ci_bad").has_value());
    CHECK(PatientLinksOf(store, "ci_other").empty());
  }
}

}  // namespace onshid::testing
