#pragma once
// onshi.v1.FallbackService: the fallback decision engine (core/fallback/decision.h) for レセコン
// reception screens, and the fallback cases (app/fallback_cases.h, ApiDeps::fallback_cases) that
// record what reception did about each fallback.
//
// EvaluateOptions is stateless: nothing is read from or written to the store, so it answers while
// the database, the terminal or the network is down; it is not audited (see fallback.proto).
//
// The case methods (OpenCase … ExportProof) are audited. With ApiDeps::fallback_cases null they
// fail with FAILED_PRECONDITION FALLBACK_CASES_UNAVAILABLE. Audit subjects are ids only:
// "fallback_case:<id>" (",checkin:<id>" when the case belongs to a check-in),
// "fallback_task:<id>,fallback_case:<id>", "fallback_cases:<count>", "fallback_tasks:<count>".
// Idempotency: OpenCase's client key is "<principal>/<x-request-id>" (as StartCheckIn's), so a
// retry with the same request id returns the case the first call opened. Changes are made as
// app::Actor{principal name, request id}.
//
// Every method goes through CallRunner (request id, bearer token, scope, deadline, the executor,
// metrics and one log line); nothing of a request is logged.

#include "api/call.h"
#include "onshi/v1/fallback.grpc.pb.h"

namespace onshid::api {

class FallbackServiceImpl final : public onshi::v1::FallbackService::CallbackService {
 public:
  // Uses deps.clock and deps.fallback_cases (may be null). Throws std::runtime_error at start-up
  // when a method lacks its (onshi.v1.policy) option.
  explicit FallbackServiceImpl(ApiDeps deps);

  // The methods for one case; the date defaults to today in Japan time by the daemon's clock.
  // Errors: see fallback.proto (INVALID_FALLBACK_CASE, CERTIFICATE_IN_GRACE), field paths under
  // "fallback_case.".
  grpc::ServerUnaryReactor* EvaluateOptions(grpc::CallbackServerContext* ctx,
                                            const onshi::v1::EvaluateOptionsRequest* request,
                                            onshi::v1::EvaluateOptionsResponse* response) override;

  // Fallback cases: see fallback.proto for each method's errors.
  grpc::ServerUnaryReactor* OpenCase(grpc::CallbackServerContext* ctx,
                                     const onshi::v1::OpenCaseRequest* request,
                                     onshi::v1::FallbackCaseRecord* response) override;
  grpc::ServerUnaryReactor* ReviseCase(grpc::CallbackServerContext* ctx,
                                       const onshi::v1::ReviseCaseRequest* request,
                                       onshi::v1::FallbackCaseRecord* response) override;
  grpc::ServerUnaryReactor* GetCase(grpc::CallbackServerContext* ctx,
                                    const onshi::v1::GetCaseRequest* request,
                                    onshi::v1::FallbackCaseRecord* response) override;
  grpc::ServerUnaryReactor* ListCases(grpc::CallbackServerContext* ctx,
                                      const onshi::v1::ListCasesRequest* request,
                                      onshi::v1::ListCasesResponse* response) override;
  grpc::ServerUnaryReactor* RecordEvidence(grpc::CallbackServerContext* ctx,
                                           const onshi::v1::RecordEvidenceRequest* request,
                                           onshi::v1::FallbackCaseRecord* response) override;
  grpc::ServerUnaryReactor* ChooseClaimRoute(grpc::CallbackServerContext* ctx,
                                             const onshi::v1::ChooseClaimRouteRequest* request,
                                             onshi::v1::FallbackCaseRecord* response) override;
  grpc::ServerUnaryReactor* CloseCase(grpc::CallbackServerContext* ctx,
                                      const onshi::v1::CloseCaseRequest* request,
                                      onshi::v1::FallbackCaseRecord* response) override;
  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* ctx,
                                      const onshi::v1::ListTasksRequest* request,
                                      onshi::v1::ListTasksResponse* response) override;
  grpc::ServerUnaryReactor* CompleteTask(grpc::CallbackServerContext* ctx,
                                         const onshi::v1::CompleteTaskRequest* request,
                                         onshi::v1::FallbackTask* response) override;
  grpc::ServerUnaryReactor* ExportProof(grpc::CallbackServerContext* ctx,
                                        const onshi::v1::ExportProofRequest* request,
                                        onshi::v1::ExportProofResponse* response) override;

 private:
  core::oqs::OqsDate Today() const;

  CallRunner runner_;
};

}  // namespace onshid::api
