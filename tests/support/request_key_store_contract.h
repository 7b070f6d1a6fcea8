#pragma once
// The RequestKeyStore contract (core/request_keys.h): the first claim of (client, x-request-id)
// and its first outcome are kept. Run against MemRequestKeyStore in
// tests/unit/mem_stores_contract_test.cc and against PgStore in tests/integration/postgres_test.cc.
//
// Call RunRequestKeyStoreContract() inside a TEST_CASE that makes a new, empty store every time it
// runs: the contract uses SECTIONs.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/request_keys.h"

namespace onshid::testing {

namespace request_key_contract_internal {

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

}  // namespace request_key_contract_internal

inline void RunRequestKeyStoreContract(core::RequestKeyStore& store) {
  using namespace request_key_contract_internal;
  const core::RequestKey key{"reception-1", "req-1", "/onshi.v1.CheckInService/StartCheckIn",
                             std::string(64, 'f')};

  SECTION("claim, finish, claim again answers the stored outcome") {
    const core::RequestKeyRecord claimed = Value(store.ClaimRequestKey(key, T(1)));
    CHECK(claimed.key.client == "reception-1");
    CHECK(claimed.key.request_id == "req-1");
    CHECK(claimed.key.method == key.method);
    CHECK(claimed.key.fingerprint == key.fingerprint);
    CHECK(claimed.claimed_at == T(1));
    CHECK_FALSE(claimed.outcome);
    CHECK_FALSE(claimed.finished_at);

    // Still running (or its daemon stopped): the same claim, no outcome.
    const core::RequestKeyRecord running = Value(store.ClaimRequestKey(key, T(2)));
    CHECK(running.claimed_at == T(1));
    CHECK_FALSE(running.outcome);

    const core::RequestOutcome outcome{6, std::string("\x08\x06\x12\x00status", 10),
                                       "CHECK_IN_EXISTS", "checkin:ci_1"};
    RequireOk(store.FinishRequestKey("reception-1", "req-1", outcome, T(3)));
    const core::RequestKeyRecord finished = Value(store.ClaimRequestKey(key, T(4)));
    REQUIRE(finished.outcome);
    CHECK(finished.outcome->code == 6);
    CHECK(finished.outcome->body == outcome.body);
    CHECK(finished.outcome->reason == "CHECK_IN_EXISTS");
    CHECK(finished.outcome->audit_subject == "checkin:ci_1");
    CHECK(finished.finished_at == T(3));
    CHECK(finished.claimed_at == T(1));

    // A second outcome does not replace the first.
    RequireOk(store.FinishRequestKey("reception-1", "req-1", {0, "other", "OK", ""}, T(5)));
    const core::RequestKeyRecord kept = Value(store.ClaimRequestKey(key, T(6)));
    REQUIRE(kept.outcome);
    CHECK(kept.outcome->reason == "CHECK_IN_EXISTS");
    CHECK(kept.finished_at == T(3));
  }

  SECTION("another fingerprint gets the stored claim back") {
    Value(store.ClaimRequestKey(key, T(1)));
    core::RequestKey other = key;
    other.fingerprint = std::string(64, '0');
    other.method = "/onshi.v1.CheckInService/Cancel";
    const core::RequestKeyRecord stored = Value(store.ClaimRequestKey(other, T(2)));
    CHECK(stored.key.fingerprint == key.fingerprint);
    CHECK(stored.key.method == key.method);
    CHECK(stored.claimed_at == T(1));
    // The same id of another client is another key.
    core::RequestKey emr = other;
    emr.client = "emr";
    CHECK(Value(store.ClaimRequestKey(emr, T(2))).key.fingerprint == other.fingerprint);
    // Finishing one client's key leaves the other's open.
    RequireOk(store.FinishRequestKey("emr", "req-1", {0, "", "OK", ""}, T(3)));
    CHECK_FALSE(Value(store.ClaimRequestKey(key, T(4))).outcome);
  }

  SECTION("concurrent claims agree on one winner") {
    std::vector<std::string> fingerprints(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        core::RequestKey k = key;
        k.fingerprint = std::string(64, static_cast<char>('a' + i));
        auto got = store.ClaimRequestKey(k, T(1));
        fingerprints[static_cast<std::size_t>(i)] = got.ok() ? got->key.fingerprint : "error";
      });
    }
    for (auto& t : threads) t.join();
    CHECK(fingerprints[0] != "error");
    CHECK(std::count(fingerprints.begin(), fingerprints.end(), fingerprints[0]) == 4);
  }

  SECTION("finishing an unknown key is REQUEST_KEY_NOT_FOUND") {
    const core::Status s = store.FinishRequestKey("reception-1", "never", {0, "", "OK", ""}, T(1));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == core::ErrorKind::kNotFound);
    CHECK(s.error().reason == "REQUEST_KEY_NOT_FOUND");
  }

  SECTION("purge deletes the oldest claims before a time, at most a limit") {
    for (int i = 1; i <= 4; ++i) {
      core::RequestKey k = key;
      k.request_id = "req-" + std::to_string(i);
      Value(store.ClaimRequestKey(k, T(i * 10)));
    }
    RequireOk(store.FinishRequestKey("reception-1", "req-2", {0, "", "OK", ""}, T(25)));
    CHECK(Value(store.PurgeRequestKeys(T(30), 1)) == 1);  // req-1
    CHECK(Value(store.PurgeRequestKeys(T(30), 0)) == 0);
    CHECK(Value(store.PurgeRequestKeys(T(30), 10)) == 1);  // req-2 (claimed at T(20))
    CHECK(Value(store.PurgeRequestKeys(T(30), 10)) == 0);  // req-3 is claimed at T(30) exactly
    core::RequestKey first = key;
    first.fingerprint = "new";
    // req-1 is gone: claiming it again stores the new claim.
    CHECK(Value(store.ClaimRequestKey(first, T(50))).key.fingerprint == "new");
    core::RequestKey third = key;
    third.request_id = "req-3";
    third.fingerprint = "new";
    CHECK(Value(store.ClaimRequestKey(third, T(50))).key.fingerprint == key.fingerprint);
  }
}

}  // namespace onshid::testing
