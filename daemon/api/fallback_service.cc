#include "api/fallback_service.h"

#include "api/checkin_mapping.h"
#include "api/fallback_mapping.h"
#include "app/fallback_cases.h"
#include "core/fallback/decision.h"

namespace onshid::api {
namespace {

namespace v1 = onshi::v1;

constexpr const char* kCasePrefix = "fallback_case.";

// "fallback_case:<id>", with ",checkin:<id>" when the case belongs to a check-in.
std::string CaseAudit(const app::FallbackCaseView& view) {
  std::string subject = CaseSubject(view.id);
  if (!view.check_in_id.empty()) subject += "," + CheckInSubject(view.check_in_id);
  return subject;
}

core::Status Answer(const core::Result<app::FallbackCaseView>& view, Call& call,
                    v1::FallbackCaseRecord* response) {
  if (!view) return view.error();
  call.audit_subject = CaseAudit(view.value());
  *response = ToProto(view.value());
  return core::OkStatus();
}

}  // namespace

FallbackServiceImpl::FallbackServiceImpl(ApiDeps deps)
    : runner_(deps, v1::EvaluateOptionsRequest::descriptor()->file()->FindServiceByName(
                        "FallbackService")) {}

core::oqs::OqsDate FallbackServiceImpl::Today() const {
  return core::oqs::OqsDate::JapanDateOf(runner_.deps().clock->Now());
}

grpc::ServerUnaryReactor* FallbackServiceImpl::EvaluateOptions(
    grpc::CallbackServerContext* ctx, const v1::EvaluateOptionsRequest* request,
    v1::EvaluateOptionsResponse* response) {
  return runner_.Unary(ctx, "EvaluateOptions", *request, response, [this, request, response](Call&) -> core::Status {
    auto input = FromProto(request->fallback_case(), Today(), kCasePrefix);
    if (!input) return input.error();
    auto decision = core::fallback::Decide(input.value());
    if (!decision) return ToApiError(decision.error(), kCasePrefix);
    *response = ToProto(decision.value());
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::OpenCase(grpc::CallbackServerContext* ctx,
                                                        const v1::OpenCaseRequest* request,
                                                        v1::FallbackCaseRecord* response) {
  return runner_.Unary(ctx, "OpenCase", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    // One key per client and request id: a retry with the same x-request-id gets the same case.
    auto input = FromProto(*request, call.Key(), Today());
    if (!input) return input.error();
    if (!input->check_in_id.empty()) call.audit_subject = CheckInSubject(input->check_in_id);
    return Answer(cases->Open(input.value(), ActorOf(call)), call, response);
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::ReviseCase(grpc::CallbackServerContext* ctx,
                                                          const v1::ReviseCaseRequest* request,
                                                          v1::FallbackCaseRecord* response) {
  return runner_.Unary(ctx, "ReviseCase", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    if (auto bad = CheckCaseId(request->case_id())) return *bad;
    call.audit_subject = CaseSubject(request->case_id());
    auto input = FromProto(request->fallback_case(), Today(), kCasePrefix);
    if (!input) return input.error();
    return Answer(cases->Revise(request->case_id(), input.value(), ActorOf(call)), call, response);
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::GetCase(grpc::CallbackServerContext* ctx,
                                                       const v1::GetCaseRequest* request,
                                                       v1::FallbackCaseRecord* response) {
  return runner_.Unary(ctx, "GetCase", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    if (auto bad = CheckCaseId(request->case_id())) return *bad;
    call.audit_subject = CaseSubject(request->case_id());
    return Answer(cases->Get(request->case_id()), call, response);
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::ListCases(grpc::CallbackServerContext* ctx,
                                                         const v1::ListCasesRequest* request,
                                                         v1::ListCasesResponse* response) {
  return runner_.Unary(ctx, "ListCases", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    auto filter = FromProto(*request);
    if (!filter) return filter.error();
    auto found = cases->List(filter.value());
    if (!found) return found.error();
    for (const auto& view : found.value()) *response->add_cases() = ToProto(view);
    call.audit_subject = "fallback_cases:" + std::to_string(found->size());
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::RecordEvidence(
    grpc::CallbackServerContext* ctx, const v1::RecordEvidenceRequest* request,
    v1::FallbackCaseRecord* response) {
  return runner_.Unary(
      ctx, "RecordEvidence", *request, response, [this, request, response](Call& call) -> core::Status {
        auto* cases = runner_.deps().fallback_cases;
        if (!cases) return FallbackCasesUnavailable();
        if (auto bad = CheckCaseId(request->case_id())) return *bad;
        call.audit_subject = CaseSubject(request->case_id());
        auto input = FromProto(request->evidence(), "evidence.");
        if (!input) return input.error();
        return Answer(cases->RecordEvidence(request->case_id(), input.value(), ActorOf(call)), call,
                      response);
      });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::ChooseClaimRoute(
    grpc::CallbackServerContext* ctx, const v1::ChooseClaimRouteRequest* request,
    v1::FallbackCaseRecord* response) {
  return runner_.Unary(
      ctx, "ChooseClaimRoute", *request, response, [this, request, response](Call& call) -> core::Status {
        auto* cases = runner_.deps().fallback_cases;
        if (!cases) return FallbackCasesUnavailable();
        if (auto bad = CheckCaseId(request->case_id())) return *bad;
        call.audit_subject = CaseSubject(request->case_id());
        auto input = FromProto(*request);
        if (!input) return input.error();
        return Answer(cases->ChooseClaimRoute(request->case_id(), input.value(), ActorOf(call)),
                      call, response);
      });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::CloseCase(grpc::CallbackServerContext* ctx,
                                                         const v1::CloseCaseRequest* request,
                                                         v1::FallbackCaseRecord* response) {
  return runner_.Unary(ctx, "CloseCase", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    if (auto bad = CheckCaseId(request->case_id())) return *bad;
    call.audit_subject = CaseSubject(request->case_id());
    auto input = FromProto(*request);
    if (!input) return input.error();
    return Answer(cases->Close(request->case_id(), input.value(), ActorOf(call)), call, response);
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::ListTasks(grpc::CallbackServerContext* ctx,
                                                         const v1::ListTasksRequest* request,
                                                         v1::ListTasksResponse* response) {
  return runner_.Unary(ctx, "ListTasks", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    auto query = FromProto(*request);
    if (!query) return query.error();
    auto found = cases->ListTasks(query.value());
    if (!found) return found.error();
    for (const auto& task : found.value()) *response->add_tasks() = ToProto(task);
    call.audit_subject = "fallback_tasks:" + std::to_string(found->size());
    if (query->case_id) call.audit_subject += "," + CaseSubject(*query->case_id);
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::CompleteTask(grpc::CallbackServerContext* ctx,
                                                            const v1::CompleteTaskRequest* request,
                                                            v1::FallbackTask* response) {
  return runner_.Unary(ctx, "CompleteTask", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    if (auto bad = CheckTaskId(request->task_id())) return *bad;
    call.audit_subject = TaskSubject(request->task_id());
    auto outcome = TaskOutcomeFromProto(request->outcome());
    if (!outcome) return outcome.error();
    auto task = cases->CompleteTask(request->task_id(), outcome.value(), request->staff_id(),
                                    ActorOf(call));
    if (!task) return task.error();
    call.audit_subject += "," + CaseSubject(task->case_id);
    *response = ToProto(task.value());
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* FallbackServiceImpl::ExportProof(grpc::CallbackServerContext* ctx,
                                                           const v1::ExportProofRequest* request,
                                                           v1::ExportProofResponse* response) {
  return runner_.Unary(ctx, "ExportProof", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* cases = runner_.deps().fallback_cases;
    if (!cases) return FallbackCasesUnavailable();
    if (auto bad = CheckCaseId(request->case_id())) return *bad;
    call.audit_subject = CaseSubject(request->case_id());
    auto proof = cases->ExportProof(request->case_id());
    if (!proof) return proof.error();
    response->set_proof_json(std::move(proof).value());
    return core::OkStatus();
  });
}

}  // namespace onshid::api
