// The FallbackCaseStore contract (tests/support/fallback_case_store_contract.h) against
// MemFallbackCaseStore.

#include <catch2/catch.hpp>

#include "support/fallback_case_store_contract.h"
#include "support/mem_case_store.h"

namespace onshid {
namespace {

TEST_CASE("MemFallbackCaseStore contract", "[fallback_case_store][contract]") {
  testing::MemFallbackCaseStore store;  // a new one for every section
  testing::RunFallbackCaseStoreContract(store, [&] { return store.events(); });
}

TEST_CASE("MemFallbackCaseStore reports DATABASE_UNAVAILABLE while unreachable",
          "[fallback_case_store]") {
  testing::MemFallbackCaseStore store;
  store.SetReachable(false);
  auto got = store.GetCase("fb_1");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().reason == "DATABASE_UNAVAILABLE");
}

}  // namespace
}  // namespace onshid
