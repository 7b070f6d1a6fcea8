// CheckInBridge (daemon/app/case_check_ins.h), the fallback cases' view of check-ins, over the real
// check-in use cases on an in-memory store, without an upstream.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "app/case_check_ins.h"
#include "app/checkin.h"
#include "app/checkin_record.h"
#include "app/executor.h"
#include "app/random_ids.h"
#include "support/manual_clock.h"
#include "support/mem_check_in_store.h"

namespace {

namespace app = onshid::app;
namespace core = onshid::core;
namespace ck = onshid::core::checkin;
namespace testing = onshid::testing;

const core::SystemTime kStart =
    std::chrono::sys_days{std::chrono::year{2025} / 12 / 10} + std::chrono::hours{1};

}  // namespace

TEST_CASE("case check-ins: without an upstream nothing can be re-verified", "[case_check_ins]") {
  testing::ManualClock clock(kStart);
  testing::MemCheckInStore store;
  app::RandomIds ids;
  app::Executor executor(1);
  app::CheckInUseCases checkins(store, nullptr, nullptr, clock, ids, executor, {});
  app::CheckInBridge bridge(checkins, nullptr);

  app::CheckInRecord r;
  r.id = "ci_1";
  r.version = 1;
  r.day = "2025-12-10";
  r.desk_id = "desk-1";
  r.channel = ck::Channel::kDocumentQuery;
  r.query = core::oqs::EligibilityQueryInput{};
  r.query_key = "checkin/ci_1";
  r.state = ck::CheckInState::kNeedsFallback;
  r.created_at = kStart;
  r.updated_at = kStart;
  REQUIRE(store.InsertCheckIn(app::EncodeRecord(r), {}).ok());

  auto v = bridge.Get("ci_1");
  REQUIRE(v.ok());
  CHECK(v->record.id == "ci_1");
  CHECK(bridge.Get("ci_nope").error().reason == "CHECKIN_NOT_FOUND");
  // A document query with its key, but no terminal to send it to.
  CHECK_FALSE(bridge.CanReverify(v.value()));
  CHECK_FALSE(bridge.GetResult(1).ok());
  executor.Join();
}
