#pragma once
// onshi.v1.ConsentService: consent (閲覧同意) of a check-in's result and access decisions, over
// app::CheckInUseCases (ApiDeps::checkins; null → FAILED_PRECONDITION CHECKINS_UNAVAILABLE).
//
// Every CheckAccess decision reaches audit_log through the call's audit subject, allowed or
// denied: "checkin:<id>,kind:<KIND>,decision:<ALLOWED|DENIED>:<reason>" (by patient id:
// "by:patient_id,checkin:<decided on>,…"). Codes only, never patient ids or other values.

#include "api/call.h"
#include "onshi/v1/checkin.grpc.pb.h"

namespace onshid::api {

class ConsentServiceImpl final : public onshi::v1::ConsentService::CallbackService {
 public:
  explicit ConsentServiceImpl(ApiDeps deps);

  grpc::ServerUnaryReactor* GetConsent(grpc::CallbackServerContext* ctx,
                                       const onshi::v1::GetConsentRequest* request,
                                       onshi::v1::ConsentStatus* response) override;
  grpc::ServerUnaryReactor* CheckAccess(grpc::CallbackServerContext* ctx,
                                        const onshi::v1::CheckAccessRequest* request,
                                        onshi::v1::AccessDecision* response) override;
  grpc::ServerUnaryReactor* RecordConsentWithdrawal(
      grpc::CallbackServerContext* ctx, const onshi::v1::RecordConsentWithdrawalRequest* request,
      onshi::v1::ConsentStatus* response) override;
  grpc::ServerUnaryReactor* RecordOralConsent(grpc::CallbackServerContext* ctx,
                                              const onshi::v1::RecordOralConsentRequest* request,
                                              onshi::v1::ConsentStatus* response) override;

 private:
  CallRunner runner_;
};

}  // namespace onshid::api
