#include "api/consent_service.h"

#include "api/checkin_mapping.h"

namespace onshid::api {
namespace {

namespace v1 = onshi::v1;

core::Status Answer(const core::Result<app::ConsentView>& view, v1::ConsentStatus* response) {
  if (!view) return view.error();
  *response = ToProto(view.value());
  return core::OkStatus();
}

std::optional<core::SystemTime> InstantOf(bool has, const google::protobuf::Timestamp& at) {
  if (!has) return std::nullopt;
  return FromTimestamp(at);
}

}  // namespace

ConsentServiceImpl::ConsentServiceImpl(ApiDeps deps)
    : runner_(deps, v1::GetConsentRequest::descriptor()->file()->FindServiceByName(
                        "ConsentService")) {}

grpc::ServerUnaryReactor* ConsentServiceImpl::GetConsent(grpc::CallbackServerContext* ctx,
                                                         const v1::GetConsentRequest* request,
                                                         v1::ConsentStatus* response) {
  return runner_.Unary(ctx, "GetConsent", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* checkins = runner_.deps().checkins;
    if (!checkins) return CheckInsUnavailable();
    if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
    call.audit_subject = CheckInSubject(request->check_in_id());
    return Answer(checkins->GetConsent(request->check_in_id()), response);
  });
}

grpc::ServerUnaryReactor* ConsentServiceImpl::CheckAccess(grpc::CallbackServerContext* ctx,
                                                          const v1::CheckAccessRequest* request,
                                                          v1::AccessDecision* response) {
  return runner_.Unary(ctx, "CheckAccess", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* checkins = runner_.deps().checkins;
    if (!checkins) return CheckInsUnavailable();
    const auto kind = FromProto(request->kind());
    if (!kind) {
      return core::InvalidArgument("INVALID_ACCESS_CHECK", "kind must name the information",
                                   "確認する情報の種類を指定してください。",
                                   {{"kind", "an InformationKind, e.g. MEDICATION"}});
    }
    const bool by_check_in = !request->check_in_id().empty();
    if (by_check_in == !request->patient_id().empty()) {
      return core::InvalidArgument(
          "INVALID_ACCESS_CHECK", "exactly one of check_in_id and patient_id is required",
          "受付IDまたは患者IDのどちらか一方を指定してください。",
          {{"check_in_id", "give this or patient_id"}, {"patient_id", "give this or check_in_id"}});
    }
    if (by_check_in) {
      if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
    }
    // Every decision, allowed or denied, reaches audit_log through the subject: codes only (the
    // patient id is personal data; the check-in decided on stands for it).
    const std::string kind_part = ",kind:" + std::string(core::checkin::ToString(*kind));
    call.audit_subject =
        (by_check_in ? CheckInSubject(request->check_in_id()) : "by:patient_id") + kind_part;
    auto outcome = checkins->CheckAccess(request->check_in_id(), request->patient_id(), *kind,
                                         InstantOf(request->has_at(), request->at()));
    if (!outcome) return outcome.error();
    const auto& decision = outcome->decision;
    call.audit_subject = (by_check_in ? "" : "by:patient_id,") +
                         CheckInSubject(outcome->check_in_id) + kind_part + ",decision:" +
                         (decision.allowed ? "ALLOWED:" : "DENIED:") + decision.reason;
    *response = ToProto(outcome.value());
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* ConsentServiceImpl::RecordConsentWithdrawal(
    grpc::CallbackServerContext* ctx, const v1::RecordConsentWithdrawalRequest* request,
    v1::ConsentStatus* response) {
  return runner_.Unary(
      ctx, "RecordConsentWithdrawal", *request, response, [this, request, response](Call& call) -> core::Status {
        auto* checkins = runner_.deps().checkins;
        if (!checkins) return CheckInsUnavailable();
        if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
        std::vector<core::checkin::InformationKind> kinds;
        for (int i = 0; i < request->kinds_size(); ++i) {
          const auto kind = FromProto(request->kinds(i));
          if (!kind) {
            return core::InvalidArgument(
                "INVALID_CHECKIN", "kinds[" + std::to_string(i) + "] is not an information kind",
                "撤回する情報の種類が正しくありません。",
                {{"kinds[" + std::to_string(i) + "]", "an InformationKind, e.g. MEDICATION"}});
          }
          kinds.push_back(*kind);
        }
        call.audit_subject = CheckInSubject(request->check_in_id());
        return Answer(checkins->RecordConsentWithdrawal(request->check_in_id(), kinds,
                                                        request->staff_id(),
                                                        InstantOf(request->has_at(), request->at()),
                                                        ActorOf(call)),
                      response);
      });
}

grpc::ServerUnaryReactor* ConsentServiceImpl::RecordOralConsent(
    grpc::CallbackServerContext* ctx, const v1::RecordOralConsentRequest* request,
    v1::ConsentStatus* response) {
  return runner_.Unary(
      ctx, "RecordOralConsent", *request, response, [this, request, response](Call& call) -> core::Status {
        auto* checkins = runner_.deps().checkins;
        if (!checkins) return CheckInsUnavailable();
        if (auto bad = CheckCheckInId(request->check_in_id())) return *bad;
        if (request->staff_id().empty()) {
          return core::InvalidArgument("INVALID_STAFF_ID", "staff_id must name who recorded it",
                                       "口頭同意を記録した職員を指定してください。",
                                       {{"staff_id", "required: the staff member's id"}});
        }
        call.audit_subject = CheckInSubject(request->check_in_id());
        return Answer(checkins->RecordOralConsent(request->check_in_id(), request->staff_id(),
                                                  InstantOf(request->has_at(), request->at()),
                                                  ActorOf(call)),
                      response);
      });
}

}  // namespace onshid::api
