#pragma once
// CheckInBridge: the fallback cases' view of check-ins (app::CaseCheckIns, fallback_cases.h)
// over the check-in and eligibility use cases.
//
//   Get          CheckInUseCases::Get.
//   GetResult    EligibilityUseCases::Get; without an upstream there are no results (INTERNAL).
//   CanReverify  true when there is an upstream and the check-in has a document query with its
//                request key (the query can be sent again).
//   Reverify     CheckInUseCases::Reverify (see there: the answer is applied to the check-in).
//
// Threading: as the use cases it forwards to (any thread).

#include <cstdint>
#include <functional>
#include <string>

#include "app/checkin.h"
#include "app/eligibility.h"
#include "app/fallback_cases.h"

namespace onshid::app {

class CheckInBridge final : public CaseCheckIns {
 public:
  // Both must outlive the bridge. `eligibility` is null when no terminal folder is configured.
  CheckInBridge(CheckInUseCases& checkins, EligibilityUseCases* eligibility);

  core::Result<CheckInView> Get(const std::string& id) override;
  core::Result<ResultView> GetResult(std::int64_t id) override;
  bool CanReverify(const CheckInView& view) override;
  void Reverify(const std::string& id, int attempt,
                std::function<void(core::Result<ResultView>)> done) override;

 private:
  CheckInUseCases& checkins_;
  EligibilityUseCases* const eligibility_;
};

}  // namespace onshid::app
