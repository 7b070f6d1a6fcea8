#pragma once
// onshi.v1.FallbackService: the fallback decision engine (core/fallback/decision.h) for レセコン
// reception screens. EvaluateOptions is stateless: nothing is read from or written to the store, so
// it answers while the database, the terminal or the network is down.
//
// Goes through CallRunner like every method (request id, bearer token, scope READ, deadline, the
// executor, metrics and one log line); not audited (see fallback.proto), and nothing of the
// request is logged.

#include "api/call.h"
#include "onshi/v1/fallback.grpc.pb.h"

namespace onshid::api {

class FallbackServiceImpl final : public onshi::v1::FallbackService::CallbackService {
 public:
  // Uses deps.clock only. Throws std::runtime_error at start-up when a method lacks its
  // (onshi.v1.policy) option.
  explicit FallbackServiceImpl(ApiDeps deps);

  // The methods for one case; the date defaults to today in Japan time by the daemon's clock.
  // Errors: see fallback.proto (INVALID_FALLBACK_CASE, CERTIFICATE_IN_GRACE), field paths under
  // "fallback_case.".
  grpc::ServerUnaryReactor* EvaluateOptions(grpc::CallbackServerContext* ctx,
                                            const onshi::v1::EvaluateOptionsRequest* request,
                                            onshi::v1::EvaluateOptionsResponse* response) override;

 private:
  CallRunner runner_;
};

}  // namespace onshid::api
