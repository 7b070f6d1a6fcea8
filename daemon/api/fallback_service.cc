#include "api/fallback_service.h"

#include "api/fallback_mapping.h"
#include "core/fallback/decision.h"

namespace onshid::api {
namespace {

namespace v1 = onshi::v1;

constexpr const char* kCasePrefix = "fallback_case.";

}  // namespace

FallbackServiceImpl::FallbackServiceImpl(ApiDeps deps)
    : runner_(deps, v1::EvaluateOptionsRequest::descriptor()->file()->FindServiceByName(
                        "FallbackService")) {}

grpc::ServerUnaryReactor* FallbackServiceImpl::EvaluateOptions(
    grpc::CallbackServerContext* ctx, const v1::EvaluateOptionsRequest* request,
    v1::EvaluateOptionsResponse* response) {
  return runner_.Unary(ctx, "EvaluateOptions", [this, request, response](Call&) -> core::Status {
    const auto today = core::oqs::OqsDate::JapanDateOf(runner_.deps().clock->Now());
    auto input = FromProto(request->fallback_case(), today, kCasePrefix);
    if (!input) return input.error();
    auto decision = core::fallback::Decide(input.value());
    if (!decision) return ToApiError(decision.error(), kCasePrefix);
    *response = ToProto(decision.value());
    return core::OkStatus();
  });
}

}  // namespace onshid::api
