#pragma once
// The FallbackCaseStore contract: one suite every core::fallback::FallbackCaseStore must pass. Run
// against MemFallbackCaseStore (tests/unit/store_fallback_cases_test.cc) and PgStore
// (tests/integration/postgres_test.cc). Call RunFallbackCaseStoreContract() inside a TEST_CASE that
// makes a new, empty store every time it runs (the contract uses SECTIONs).

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/fallback/case_store.h"
#include "core/event.h"

namespace onshid::testing {

namespace fallback_contract_internal {

using core::fallback::Attempt;
using core::fallback::CaseQuery;
using core::fallback::CaseRow;
using core::fallback::CaseWrite;
using core::fallback::Task;
using core::fallback::TaskQuery;

inline core::SystemTime At(std::int64_t seconds) {
  constexpr std::int64_t kBase = 1790000000;  // 2026-09-21
  return core::SystemTime(std::chrono::seconds(kBase + seconds));
}

inline CaseRow NewCase(const std::string& id, std::int64_t opened, const std::string& check_in = "") {
  CaseRow r;
  r.id = id;
  r.version = 1;
  r.check_in_id = check_in;
  r.state = "OPEN";
  r.day = "2026-09-21";
  r.opened_at = At(opened);
  r.updated_at = At(opened);
  r.body = R"({"case":")" + id + R"("})";
  return r;
}

inline Attempt NewAttempt(const std::string& kind, std::int64_t at) {
  Attempt a;
  a.at = At(at);
  a.actor = "desk";
  a.kind = kind;
  a.body = R"({"kind":")" + kind + R"("})";
  return a;
}

inline Task NewTask(const std::string& id, const std::string& due, std::int64_t created) {
  Task t;
  t.id = id;
  t.kind = "CONTACT_PATIENT";
  t.state = "OPEN";
  t.due_day = due;
  t.created_at = At(created);
  t.body = "{}";
  return t;
}

}  // namespace fallback_contract_internal

// `events`: every event the store appended so far, oldest first.
inline void RunFallbackCaseStoreContract(core::fallback::FallbackCaseStore& store,
                                         const std::function<std::vector<core::Event>()>& events) {
  using namespace fallback_contract_internal;

  SECTION("a case, its attempts, personal data, tasks and events are written together") {
    CaseWrite with;
    with.attempts = {NewAttempt("OPENED", 0), NewAttempt("EVALUATED", 0)};
    with.personal_data = R"({"name":"申立 太郎"})";
    with.tasks = {NewTask("tk_1", "2026-09-30", 0)};
    with.events = {core::Event{0, At(0), "fallback.opened", 0, "", "", "", {{"case_id", "fb_1"}}}};
    REQUIRE(store.InsertCase(NewCase("fb_1", 0, "ci_1"), with).ok());

    auto got = store.GetCase("fb_1");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->version == 1);
    CHECK((*got)->check_in_id == "ci_1");
    CHECK((*got)->body == R"({"case":"fb_1"})");
    CHECK((*got)->opened_at == At(0));
    CHECK((*got)->has_personal_data);
    CHECK_FALSE((*got)->closed_at);

    auto attempts = store.Attempts("fb_1");
    REQUIRE(attempts.ok());
    REQUIRE(attempts->size() == 2);
    CHECK(attempts->at(0).seq == 1);
    CHECK(attempts->at(0).kind == "OPENED");
    CHECK(attempts->at(0).case_id == "fb_1");
    CHECK(attempts->at(1).seq == 2);
    CHECK(attempts->at(1).at == At(0));

    auto personal = store.PersonalData("fb_1");
    REQUIRE(personal.ok());
    REQUIRE(personal->has_value());
    CHECK(**personal == R"({"name":"申立 太郎"})");

    auto tasks = store.ListTasks(TaskQuery{std::string("fb_1"), std::nullopt, std::nullopt, 10});
    REQUIRE(tasks.ok());
    REQUIRE(tasks->size() == 1);
    CHECK(tasks->at(0).case_id == "fb_1");
    CHECK(tasks->at(0).due_day == "2026-09-30");

    auto evs = events();
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].type == "fallback.opened");
    CHECK(evs[0].cursor > 0);

    auto by_checkin = store.CaseForCheckIn("ci_1");
    REQUIRE(by_checkin.ok());
    REQUIRE(by_checkin->has_value());
    CHECK((*by_checkin)->id == "fb_1");
  }

  SECTION("ids, client keys and check-ins are unique; the holder is named") {
    auto first = NewCase("fb_1", 0, "ci_1");
    first.client_key = "desk/r1";
    REQUIRE(store.InsertCase(first, {}).ok());
    auto same_key = NewCase("fb_2", 1);
    same_key.client_key = "desk/r1";
    auto s = store.InsertCase(same_key, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "CASE_EXISTS");
    CHECK(s.error().metadata == std::vector<std::pair<std::string, std::string>>{{"case_id", "fb_1"}});
    s = store.InsertCase(NewCase("fb_3", 1, "ci_1"), {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "CASE_EXISTS");
    s = store.InsertCase(NewCase("fb_1", 1), {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "CASE_EXISTS");
    // Cases without a check-in do not collide with each other.
    REQUIRE(store.InsertCase(NewCase("fb_4", 2), {}).ok());
    REQUIRE(store.InsertCase(NewCase("fb_5", 3), {}).ok());
    auto by_key = store.CaseForClientKey("desk/r1");
    REQUIRE(by_key.ok());
    REQUIRE(by_key->has_value());
    CHECK((*by_key)->id == "fb_1");
    auto none = store.CaseForClientKey("");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
  }

  SECTION("updates are optimistic and nothing is written on a conflict") {
    REQUIRE(store.InsertCase(NewCase("fb_1", 0), {}).ok());
    auto next = NewCase("fb_1", 0);
    next.version = 2;
    next.claim_route = "CURRENT";
    CaseWrite with;
    with.attempts = {NewAttempt("CLAIM_ROUTE", 5)};
    REQUIRE(store.UpdateCase(next, with).ok());

    auto stale = NewCase("fb_1", 0);
    stale.version = 2;  // read version 1 again
    CaseWrite lost;
    lost.attempts = {NewAttempt("EVIDENCE", 6)};
    lost.personal_data = "{}";
    lost.events = {core::Event{0, At(6), "fallback.updated", 0, "", "", "", {}}};
    auto s = store.UpdateCase(stale, lost);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "CASE_CONCURRENT_UPDATE");
    CHECK(s.error().kind == core::ErrorKind::kAborted);
    auto attempts = store.Attempts("fb_1");
    REQUIRE(attempts.ok());
    CHECK(attempts->size() == 1);
    auto personal = store.PersonalData("fb_1");
    REQUIRE(personal.ok());
    CHECK_FALSE(personal->has_value());
    CHECK(events().empty());
    auto got = store.GetCase("fb_1");
    REQUIRE(got.ok());
    CHECK((*got)->claim_route == "CURRENT");

    auto missing = NewCase("fb_9", 0);
    missing.version = 2;
    s = store.UpdateCase(missing, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "CASE_NOT_FOUND");
  }

  SECTION("a purge deletes the personal data and keeps the proof of attempt") {
    CaseWrite with;
    with.attempts = {NewAttempt("OPENED", 0)};
    with.personal_data = R"({"address":"架空区"})";
    REQUIRE(store.InsertCase(NewCase("fb_1", 0), with).ok());
    REQUIRE(store.InsertCase(NewCase("fb_2", 0), with).ok());
    REQUIRE(store.InsertCase(NewCase("fb_3", 0), with).ok());
    auto close = [&](const std::string& id, std::int64_t at) {
      auto row = NewCase(id, 0);
      row.version = 2;
      row.state = "CLOSED";
      row.closed_at = At(at);
      row.updated_at = At(at);
      REQUIRE(store.UpdateCase(row, {}).ok());
    };
    close("fb_1", 100);
    close("fb_2", 200);
    auto due = store.CasesToPurge(At(150), 10);
    REQUIRE(due.ok());
    CHECK(*due == std::vector<std::string>{"fb_1"});
    due = store.CasesToPurge(At(1000), 10);
    REQUIRE(due.ok());
    CHECK(*due == std::vector<std::string>{"fb_1", "fb_2"});  // oldest closed first; open fb_3 not

    auto row = NewCase("fb_1", 0);
    row.version = 3;
    row.state = "CLOSED";
    row.closed_at = At(100);
    CaseWrite purge;
    purge.purge_personal_data = true;
    purge.attempts = {NewAttempt("PURGED", 300)};
    REQUIRE(store.UpdateCase(row, purge).ok());
    auto personal = store.PersonalData("fb_1");
    REQUIRE(personal.ok());
    CHECK_FALSE(personal->has_value());
    auto got = store.GetCase("fb_1");
    REQUIRE(got.ok());
    CHECK_FALSE((*got)->has_personal_data);
    auto attempts = store.Attempts("fb_1");
    REQUIRE(attempts.ok());
    REQUIRE(attempts->size() == 2);
    CHECK(attempts->at(1).kind == "PURGED");
    due = store.CasesToPurge(At(1000), 10);
    REQUIRE(due.ok());
    CHECK(*due == std::vector<std::string>{"fb_2"});
  }

  SECTION("cases and tasks are listed by their filters and order") {
    CaseWrite a;
    a.tasks = {NewTask("tk_a", "2026-10-05", 0), NewTask("tk_b", "2026-09-25", 1)};
    REQUIRE(store.InsertCase(NewCase("fb_1", 0), a).ok());
    CaseWrite b;
    b.tasks = {NewTask("tk_c", "2026-09-25", 0)};
    REQUIRE(store.InsertCase(NewCase("fb_2", 10), b).ok());
    auto closed = NewCase("fb_3", 20);
    closed.state = "CLOSED";
    closed.closed_at = At(20);
    REQUIRE(store.InsertCase(closed, {}).ok());

    auto open = store.ListCases(CaseQuery{std::string("OPEN"), std::nullopt, std::nullopt, 10});
    REQUIRE(open.ok());
    REQUIRE(open->size() == 2);
    CHECK(open->at(0).id == "fb_2");  // newest first
    CHECK(open->at(1).id == "fb_1");
    auto all = store.ListCases(CaseQuery{std::nullopt, std::string("2026-09-21"), std::nullopt, 2});
    REQUIRE(all.ok());
    CHECK(all->size() == 2);
    CHECK_FALSE(store.ListCases(CaseQuery{std::nullopt, std::nullopt, std::nullopt, 0}).ok());

    auto due = store.ListTasks(TaskQuery{std::nullopt, std::string("OPEN"), std::string("2026-09-30"), 10});
    REQUIRE(due.ok());
    REQUIRE(due->size() == 2);
    CHECK(due->at(0).id == "tk_c");  // same due day: created first
    CHECK(due->at(1).id == "tk_b");

    // A task is replaced by id (completed).
    auto row = NewCase("fb_1", 0);
    row.version = 2;
    CaseWrite done;
    Task t = NewTask("tk_b", "2026-09-25", 1);
    t.state = "DONE";
    t.done_at = At(50);
    t.done_by = "desk";
    done.tasks = {t};
    REQUIRE(store.UpdateCase(row, done).ok());
    auto tasks = store.ListTasks(TaskQuery{std::string("fb_1"), std::nullopt, std::nullopt, 10});
    REQUIRE(tasks.ok());
    REQUIRE(tasks->size() == 2);
    CHECK(tasks->at(0).id == "tk_b");
    CHECK(tasks->at(0).state == "DONE");
    CHECK(tasks->at(0).done_at == At(50));
    CHECK(tasks->at(0).done_by == "desk");
  }
}

}  // namespace onshid::testing
