#pragma once
// onshi.v1.CheckInService: reception check-ins (受付) over app::CheckInUseCases
// (ApiDeps::checkins).
//
// Every method goes through CallRunner (auth, scope, deadline, audit). With ApiDeps::checkins null
// every method fails with FAILED_PRECONDITION CHECKINS_UNAVAILABLE. StartCheckIn uses
// CallRunner::UnaryAsync (the use case completes through a callback, possibly on a reader worker;
// the completion is handed back to the application executor, as the audit write may block); the
// others are Unary.
//
// Idempotency: StartCheckIn's client key is "<principal>/<x-request-id>", so a retry with the same
// request id returns the check-in the first call created.
//
// Audit subjects: "checkin:<id>" (",result:<id>" for AssignResult); ListCheckIns records the count
// and, for a patient look-up, the kinds of key used — never patient ids, names or other values.

#include "api/call.h"
#include "onshi/v1/checkin.grpc.pb.h"

namespace onshid::api {

class CheckInServiceImpl final : public onshi::v1::CheckInService::CallbackService {
 public:
  // `deps.checkins` may be null. Throws std::runtime_error at start-up when a method lacks its
  // (onshi.v1.policy) option.
  explicit CheckInServiceImpl(ApiDeps deps);

  grpc::ServerUnaryReactor* StartCheckIn(grpc::CallbackServerContext* ctx,
                                         const onshi::v1::StartCheckInRequest* request,
                                         onshi::v1::CheckIn* response) override;
  grpc::ServerUnaryReactor* GetCheckIn(grpc::CallbackServerContext* ctx,
                                       const onshi::v1::GetCheckInRequest* request,
                                       onshi::v1::CheckIn* response) override;
  grpc::ServerUnaryReactor* ListCheckIns(grpc::CallbackServerContext* ctx,
                                         const onshi::v1::ListCheckInsRequest* request,
                                         onshi::v1::ListCheckInsResponse* response) override;
  grpc::ServerUnaryReactor* AssignResult(grpc::CallbackServerContext* ctx,
                                         const onshi::v1::AssignResultRequest* request,
                                         onshi::v1::CheckIn* response) override;
  grpc::ServerUnaryReactor* CancelCheckIn(grpc::CallbackServerContext* ctx,
                                          const onshi::v1::CancelCheckInRequest* request,
                                          onshi::v1::CheckIn* response) override;
  grpc::ServerUnaryReactor* LinkPatient(grpc::CallbackServerContext* ctx,
                                        const onshi::v1::LinkPatientRequest* request,
                                        onshi::v1::CheckIn* response) override;

 private:
  CallRunner runner_;
};

}  // namespace onshid::api
