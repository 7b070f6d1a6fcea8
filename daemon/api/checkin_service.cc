#include "api/checkin_service.h"

#include "api/checkin_mapping.h"

namespace onshid::api {
namespace {

namespace v1 = onshi::v1;

// The use case may complete on a reader worker thread; `done` may write the audit log (a database
// write), so it is handed to the application executor instead of blocking the reader.
CallRunner::Done OnExecutor(app::Executor* executor, CallRunner::Done done) {
  return [executor, done = std::move(done)](core::Status status) {
    executor->Post([done, status = std::move(status)]() mutable { done(std::move(status)); });
  };
}

// A cancellation reason is stored as the event's reason: a stable UPPER_SNAKE_CASE code.
bool IsReasonCode(const std::string& reason) {
  if (reason.empty() || reason.size() > 64 || reason[0] < 'A' || reason[0] > 'Z') return false;
  for (char c : reason) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

core::Status Answer(const core::Result<app::CheckInView>& view, v1::CheckIn* response) {
  if (!view) return view.error();
  *response = ToProto(view.value());
  return core::OkStatus();
}

}  // namespace

CheckInServiceImpl::CheckInServiceImpl(ApiDeps deps)
    : runner_(deps, v1::StartCheckInRequest::descriptor()->file()->FindServiceByName(
                        "CheckInService")) {}

grpc::ServerUnaryReactor* CheckInServiceImpl::StartCheckIn(
    grpc::CallbackServerContext* ctx, const v1::StartCheckInRequest* request,
    v1::CheckIn* response) {
  return runner_.UnaryAsync(
      ctx, "StartCheckIn", *request, response,
      [this, request, response](std::shared_ptr<Call> call, CallRunner::Done done) {
        auto* checkins = runner_.deps().checkins;
        if (!checkins) return done(CheckInsUnavailable());
        // One key per client and request id: a retry with the same x-request-id gets the same
        // check-in.
        auto input = FromProto(*request, call->Key());
        if (!input) return done(input.error());
        checkins->Start(std::move(input).value(),
                        [call, response, done = OnExecutor(runner_.deps().executor,
                                                           std::move(done))](
                            core::Result<app::CheckInView> outcome) {
                          if (outcome) call->audit_subject = CheckInSubject(outcome->record.id);
                          done(Answer(outcome, response));
                        });
      });
}

grpc::ServerUnaryReactor* CheckInServiceImpl::GetCheckIn(grpc::CallbackServerContext* ctx,
                                                         const v1::GetCheckInRequest* request,
                                                         v1::CheckIn* response) {
  return runner_.Unary(ctx, "GetCheckIn", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* checkins = runner_.deps().checkins;
    if (!checkins) return CheckInsUnavailable();
    if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
    call.audit_subject = CheckInSubject(request->check_in_id());
    return Answer(checkins->Get(request->check_in_id()), response);
  });
}

grpc::ServerUnaryReactor* CheckInServiceImpl::ListCheckIns(
    grpc::CallbackServerContext* ctx, const v1::ListCheckInsRequest* request,
    v1::ListCheckInsResponse* response) {
  return runner_.Unary(ctx, "ListCheckIns", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* checkins = runner_.deps().checkins;
    if (!checkins) return CheckInsUnavailable();
    auto filter = FromProto(*request);
    if (!filter) return filter.error();
    // A patient look-up is audited by the kinds of key it used, never by their values.
    const std::string kinds = LookupKinds(filter->patient);
    if (!kinds.empty()) call.audit_subject = "checkins:by:" + kinds;
    auto found = checkins->List(filter.value());
    if (!found) return found.error();
    for (const auto& view : found.value()) *response->add_check_ins() = ToProto(view);
    call.audit_subject = "checkins:" + std::to_string(found->size());
    if (!kinds.empty()) call.audit_subject += ",by:" + kinds;
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckInServiceImpl::AssignResult(grpc::CallbackServerContext* ctx,
                                                           const v1::AssignResultRequest* request,
                                                           v1::CheckIn* response) {
  return runner_.Unary(ctx, "AssignResult", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* checkins = runner_.deps().checkins;
    if (!checkins) return CheckInsUnavailable();
    if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
    if (request->result_id() <= 0) {
      return core::InvalidArgument("INVALID_RESULT_ID", "result_id must be positive",
                                   "結果IDの指定が正しくありません。",
                                   {{"result_id", "must be a positive id"}});
    }
    call.audit_subject = CheckInSubject(request->check_in_id()) + ",result:" +
                         std::to_string(request->result_id());
    return Answer(
        checkins->AssignResult(request->check_in_id(), request->result_id(), ActorOf(call)),
        response);
  });
}

grpc::ServerUnaryReactor* CheckInServiceImpl::CancelCheckIn(
    grpc::CallbackServerContext* ctx, const v1::CancelCheckInRequest* request,
    v1::CheckIn* response) {
  return runner_.Unary(ctx, "CancelCheckIn", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* checkins = runner_.deps().checkins;
    if (!checkins) return CheckInsUnavailable();
    if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
    const std::string reason = request->reason().empty() ? "CHECKIN_CANCELLED" : request->reason();
    if (!IsReasonCode(reason)) {
      return core::InvalidArgument("INVALID_CANCEL_REASON", "reason must be a stable code",
                                   "取消理由の指定が正しくありません。",
                                   {{"reason", "UPPER_SNAKE_CASE code, at most 64 characters "
                                               "(default CHECKIN_CANCELLED)"}});
    }
    call.audit_subject = CheckInSubject(request->check_in_id());
    return Answer(checkins->Cancel(request->check_in_id(), reason, ActorOf(call)), response);
  });
}

grpc::ServerUnaryReactor* CheckInServiceImpl::LinkPatient(grpc::CallbackServerContext* ctx,
                                                          const v1::LinkPatientRequest* request,
                                                          v1::CheckIn* response) {
  return runner_.Unary(ctx, "LinkPatient", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* checkins = runner_.deps().checkins;
    if (!checkins) return CheckInsUnavailable();
    if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
    // The patient id is the vendor's key of a person: validated by the use case, never audited.
    call.audit_subject = CheckInSubject(request->check_in_id());
    return Answer(
        checkins->LinkPatient(request->check_in_id(), request->patient_id(), ActorOf(call)),
        response);
  });
}

}  // namespace onshid::api
