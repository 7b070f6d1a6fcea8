#pragma once
// The normalized eligibility model (core/oqs/eligibility.h) as API messages.

#include "app/eligibility.h"
#include "onshi/v1/eligibility.pb.h"

namespace onshid::api {

// Fills the API form of a stored result. Parsing problems of old stored XML become an issue entry.
onshi::v1::EligibilityResult ToProto(const app::ResultView& view);

// A 照会番号 registration as the API returns it.
onshi::v1::ReferenceNumberRegistration ToProto(const core::ReferenceNumberRecord& record);

}  // namespace onshid::api
