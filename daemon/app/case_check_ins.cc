#include "app/case_check_ins.h"

#include <utility>

namespace onshid::app {

CheckInBridge::CheckInBridge(CheckInUseCases& checkins, EligibilityUseCases* eligibility)
    : checkins_(checkins), eligibility_(eligibility) {}

core::Result<CheckInView> CheckInBridge::Get(const std::string& id) { return checkins_.Get(id); }

core::Result<ResultView> CheckInBridge::GetResult(std::int64_t id) {
  if (!eligibility_) return core::Internal("no upstream: no results");
  return eligibility_->Get(id);
}

bool CheckInBridge::CanReverify(const CheckInView& view) {
  return eligibility_ && view.record.query.has_value() && !view.record.query_key.empty();
}

void CheckInBridge::Reverify(const std::string& id, int attempt,
                             std::function<void(core::Result<ResultView>)> done) {
  checkins_.Reverify(id, attempt, std::move(done));
}

}  // namespace onshid::app
