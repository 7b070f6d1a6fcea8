#pragma once
// The Store contract: one suite every core::Store implementation must pass (rules of the house 2).
// Run against MemStore (tests/support/mem_store.h) in tests/unit/store_contract_test.cc and against
// PgStore in tests/integration/postgres_test.cc. Call RunStoreContract() inside a TEST_CASE; it
// uses SECTIONs, so the TEST_CASE body runs once per section and `make_store` must be cheap to call
// again.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/store.h"

namespace onshid::testing {

// Returns a new, empty, ready-to-use store each time it is called.
using StoreFactory = std::function<std::unique_ptr<core::Store>()>;

namespace contract_internal {

// Times are whole microseconds: the finest resolution every store keeps.
inline core::SystemTime At(std::int64_t seconds_after_base, std::int64_t micros = 0) {
  constexpr std::int64_t kBase = 1711929600;  // 2024-04-01T00:00:00Z
  return core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
      std::chrono::seconds(kBase + seconds_after_base) + std::chrono::microseconds(micros)));
}

inline core::AuditRecord Record(std::string request_id, core::SystemTime at,
                                std::string client = "reception-1") {
  core::AuditRecord r;
  r.at = at;
  r.request_id = std::move(request_id);
  r.client = std::move(client);
  r.method = "/onshi.v1.CheckInService/Create";
  r.channel = "grpc";
  r.subject = "checkin:42";
  r.outcome = "OK";
  return r;
}

inline std::vector<std::string> RequestIds(const std::vector<core::AuditRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.request_id);
  return ids;
}

inline std::int64_t Append(core::Store& store, const core::AuditRecord& r) {
  const core::Result<std::int64_t> id = store.AppendAudit(r);
  INFO((id.ok() ? std::string() : id.error().reason + ": " + id.error().message));
  REQUIRE(id.ok());
  return *id;
}

inline std::vector<core::AuditRecord> List(core::Store& store, const core::AuditQuery& q) {
  auto result = store.ListAudit(q);
  INFO((result.ok() ? std::string() : result.error().reason + ": " + result.error().message));
  REQUIRE(result.ok());
  return *result;
}

inline void CheckInvalidLimit(core::Store& store, int limit) {
  core::AuditQuery q;
  q.limit = limit;
  auto result = store.ListAudit(q);
  INFO("limit = " << limit);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == core::ErrorKind::kInvalidArgument);
  REQUIRE(result.error().field_violations.size() == 1);
  CHECK(result.error().field_violations[0].field == "limit");
  CHECK_FALSE(result.error().message_ja.empty());
}

}  // namespace contract_internal

inline void RunStoreContract(const StoreFactory& make_store) {
  using namespace contract_internal;  // NOLINT(google-build-using-namespace)
  std::unique_ptr<core::Store> store_ptr = make_store();
  REQUIRE(store_ptr != nullptr);
  core::Store& store = *store_ptr;

  SECTION("answers Ping and reports a schema version") {
    CHECK(store.Ping().ok());
    auto version = store.SchemaVersion();
    REQUIRE(version.ok());
    CHECK(*version >= 0);
  }

  SECTION("a new store lists no audit records") { CHECK(List(store, {}).empty()); }

  SECTION("an appended record is listed with an id assigned and every field kept") {
    core::AuditRecord r = Record("req-1", At(10, 123456));
    r.id = 999999;  // ignored on append
    Append(store, r);
    const auto listed = List(store, {});
    REQUIRE(listed.size() == 1);
    const core::AuditRecord& got = listed[0];
    CHECK(got.id > 0);
    CHECK(got.at == r.at);
    CHECK(got.request_id == "req-1");
    CHECK(got.client == r.client);
    CHECK(got.method == r.method);
    CHECK(got.channel == r.channel);
    CHECK(got.subject == r.subject);
    CHECK(got.outcome == r.outcome);
  }

  SECTION("AppendAudit returns the id the record is listed with") {
    const std::int64_t first = Append(store, Record("first", At(1)));
    const std::int64_t second = Append(store, Record("second", At(2)));
    CHECK(first > 0);
    CHECK(second > first);
    const auto listed = List(store, {});
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].id == second);
    CHECK(listed[0].request_id == "second");
    CHECK(listed[1].id == first);
  }

  SECTION("a write audited as ATTEMPTED is finished with its outcome, subject and time") {
    core::AuditRecord attempted = Record("write-1", At(20));
    attempted.subject = "";
    attempted.outcome = "ATTEMPTED";
    const std::int64_t id = Append(store, attempted);
    const std::int64_t other = Append(store, Record("other", At(21)));
    {
      core::AuditQuery q;
      q.request_id = "write-1";
      const auto listed = List(store, q);
      REQUIRE(listed.size() == 1);
      CHECK(listed[0].outcome == "ATTEMPTED");  // durable before the write runs
    }

    const core::Status finished = store.FinishAudit(id, "CHECK_IN_EXISTS", "checkin:7", At(22, 5));
    INFO((finished.ok() ? std::string() : finished.error().reason));
    REQUIRE(finished.ok());
    core::AuditQuery q;
    q.request_id = "write-1";
    const auto listed = List(store, q);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].id == id);
    CHECK(listed[0].outcome == "CHECK_IN_EXISTS");
    CHECK(listed[0].subject == "checkin:7");
    CHECK(listed[0].at == At(22, 5));
    CHECK(listed[0].method == attempted.method);  // the rest is kept
    CHECK(listed[0].client == attempted.client);
    q.request_id = "other";
    const auto untouched = List(store, q);
    REQUIRE(untouched.size() == 1);
    CHECK(untouched[0].id == other);
    CHECK(untouched[0].outcome == "OK");
    CHECK(untouched[0].subject == "checkin:42");
  }

  SECTION("finishing an unknown audit record is AUDIT_RECORD_NOT_FOUND") {
    const std::int64_t id = Append(store, Record("only", At(1)));
    const core::Status finished = store.FinishAudit(id + 1000, "OK", "", At(2));
    REQUIRE_FALSE(finished.ok());
    CHECK(finished.error().kind == core::ErrorKind::kNotFound);
    CHECK(finished.error().reason == "AUDIT_RECORD_NOT_FOUND");
    CHECK_FALSE(finished.error().message_ja.empty());
    CHECK(List(store, {}).at(0).outcome == "OK");
  }

  SECTION("ids are distinct and grow in append order") {
    for (int i = 0; i < 5; ++i) Append(store, Record("req-" + std::to_string(i), At(i)));
    const auto listed = List(store, {});
    REQUIRE(listed.size() == 5);
    for (std::size_t i = 1; i < listed.size(); ++i) CHECK(listed[i - 1].id > listed[i].id);
  }

  SECTION("records are listed newest first") {
    Append(store, Record("old", At(1)));
    Append(store, Record("middle", At(2)));
    Append(store, Record("new", At(3)));
    CHECK(RequestIds(List(store, {})) == std::vector<std::string>{"new", "middle", "old"});
  }

  SECTION("filters by request id") {
    Append(store, Record("a", At(1)));
    Append(store, Record("b", At(2)));
    Append(store, Record("a", At(3)));
    core::AuditQuery q;
    q.request_id = "a";
    const auto listed = List(store, q);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].at == At(3));
    CHECK(listed[1].at == At(1));
    q.request_id = "missing";
    CHECK(List(store, q).empty());
  }

  SECTION("filters by client") {
    Append(store, Record("r1", At(1), "reception-1"));
    Append(store, Record("r2", At(2), "emr"));
    Append(store, Record("r3", At(3), "reception-1"));
    core::AuditQuery q;
    q.client = "emr";
    CHECK(RequestIds(List(store, q)) == std::vector<std::string>{"r2"});
  }

  SECTION("since is inclusive") {
    Append(store, Record("before", At(5, 999999)));
    Append(store, Record("exactly", At(6)));
    Append(store, Record("after", At(6, 1)));
    core::AuditQuery q;
    q.since = At(6);
    CHECK(RequestIds(List(store, q)) == std::vector<std::string>{"after", "exactly"});
  }

  SECTION("filters combine") {
    Append(store, Record("x", At(1), "emr"));
    Append(store, Record("x", At(2), "reception-1"));
    Append(store, Record("x", At(3), "emr"));
    Append(store, Record("y", At(4), "emr"));
    core::AuditQuery q;
    q.request_id = "x";
    q.client = "emr";
    q.since = At(2);
    const auto listed = List(store, q);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].at == At(3));
  }

  SECTION("limit returns the newest records only") {
    for (int i = 0; i < 5; ++i) Append(store, Record("r" + std::to_string(i), At(i)));
    core::AuditQuery q;
    q.limit = 2;
    CHECK(RequestIds(List(store, q)) == std::vector<std::string>{"r4", "r3"});
    q.limit = 1;
    CHECK(RequestIds(List(store, q)) == std::vector<std::string>{"r4"});
    q.limit = 1000;
    CHECK(List(store, q).size() == 5);
  }

  SECTION("a limit outside 1..1000 is INVALID_ARGUMENT naming the field \"limit\"") {
    CheckInvalidLimit(store, 0);
    CheckInvalidLimit(store, -1);
    CheckInvalidLimit(store, 1001);
  }

  SECTION("text is stored exactly, including quotes, backslashes and Japanese") {
    core::AuditRecord r = Record("it's \"quoted\" \\ $1 %; DROP TABLE audit_log; --", At(7));
    r.client = "受付端末１";
    r.subject = "";
    r.outcome = "INSURER_NUMBER_INVALID";
    Append(store, r);
    core::AuditQuery q;
    q.request_id = r.request_id;
    const auto listed = List(store, q);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].request_id == r.request_id);
    CHECK(listed[0].client == "受付端末１");
    CHECK(listed[0].subject.empty());
    CHECK(listed[0].outcome == "INSURER_NUMBER_INVALID");
    CHECK(List(store, {}).size() == 1);  // nothing else was touched
  }

  SECTION("concurrent appends are all kept with distinct ids") {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 25;
    std::vector<int> failures(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&store, &failures, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto r = Record("t" + std::to_string(t) + "-" + std::to_string(i), At(t * 100 + i));
          if (!store.AppendAudit(r).ok()) ++failures[static_cast<std::size_t>(t)];
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(std::count(failures.begin(), failures.end(), 0) == kThreads);
    core::AuditQuery q;
    q.limit = 1000;
    const auto listed = List(store, q);
    REQUIRE(listed.size() == static_cast<std::size_t>(kThreads * kPerThread));
    std::set<std::int64_t> ids;
    for (const auto& r : listed) ids.insert(r.id);
    CHECK(ids.size() == listed.size());
  }
}

}  // namespace onshid::testing
