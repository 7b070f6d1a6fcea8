// The Store contract (tests/support/store_contract.h) against MemStore, plus MemStore's test hook.

#include "support/store_contract.h"

#include <catch2/catch.hpp>

#include "support/mem_store.h"

namespace onshid {
namespace {

TEST_CASE("MemStore contract", "[store][contract]") {
  testing::RunStoreContract([] { return std::make_unique<testing::MemStore>(1); });
}

TEST_CASE("MemStore reports DATABASE_UNAVAILABLE while unreachable", "[store]") {
  testing::MemStore store(1);
  store.SetReachable(false);
  auto ping = store.Ping();
  REQUIRE_FALSE(ping.ok());
  CHECK(ping.error().kind == core::ErrorKind::kUnavailable);
  CHECK(ping.error().reason == "DATABASE_UNAVAILABLE");
  auto listed = store.ListAudit({});
  REQUIRE_FALSE(listed.ok());
  CHECK(listed.error().reason == "DATABASE_UNAVAILABLE");
  store.SetReachable(true);
  CHECK(store.Ping().ok());
}

}  // namespace
}  // namespace onshid
