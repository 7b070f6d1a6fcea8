// The FallbackCaseStore contract (tests/support/fallback_case_store_contract.h) against
// MemFallbackCaseStore.

#include <catch2/catch.hpp>

#include "core/fallback/mem_case_store.h"
#include "support/fallback_case_store_contract.h"

namespace onshid {
namespace {

TEST_CASE("MemFallbackCaseStore contract", "[fallback_case_store][contract]") {
  core::fallback::MemFallbackCaseStore store;  // a new one for every section
  testing::RunFallbackCaseStoreContract(store, [&] { return store.events(); });
}

TEST_CASE("MemFallbackCaseStore reports DATABASE_UNAVAILABLE while unreachable",
          "[fallback_case_store]") {
  core::fallback::MemFallbackCaseStore store;
  store.SetReachable(false);
  auto got = store.GetCase("fb_1");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().reason == "DATABASE_UNAVAILABLE");
}

}  // namespace
}  // namespace onshid
