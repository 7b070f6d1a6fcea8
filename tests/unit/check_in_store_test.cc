// The CheckInStore contract (tests/support/check_in_store_contract.h) against MemCheckInStore, plus
// its test hooks.

#include <catch2/catch.hpp>

#include "support/check_in_store_contract.h"
#include "support/mem_check_in_store.h"

namespace onshid {
namespace {

using testing::MemCheckInStore;

TEST_CASE("MemCheckInStore contract", "[check_in_store][contract]") {
  MemCheckInStore store;  // a new one for every section
  std::int64_t next_result_id = 100;
  testing::CheckInStoreHooks hooks;
  hooks.add_face_result = [&](core::SystemTime received_at) {
    const std::int64_t id = next_result_id++;
    store.AddFaceResult(id, received_at);
    return id;
  };
  hooks.events = [&] { return store.events(); };
  testing::RunCheckInStoreContract(store, hooks);
}

TEST_CASE("MemCheckInStore reports DATABASE_UNAVAILABLE while unreachable", "[check_in_store]") {
  MemCheckInStore store;
  core::checkin::CheckInRow row;
  row.id = "ci_1";
  row.version = 1;
  store.SetReachable(false);
  auto inserted = store.InsertCheckIn(row, {});
  REQUIRE_FALSE(inserted.ok());
  CHECK(inserted.error().kind == core::ErrorKind::kUnavailable);
  CHECK(inserted.error().reason == "DATABASE_UNAVAILABLE");
  auto listed = store.ListCheckIns({});
  REQUIRE_FALSE(listed.ok());
  CHECK(listed.error().reason == "DATABASE_UNAVAILABLE");
  store.SetReachable(true);
  CHECK(store.InsertCheckIn(row, {}).ok());
  CHECK(store.GetCheckIn("ci_1").ok());
}

}  // namespace
}  // namespace onshid
