#include "api/eligibility_service.h"

#include <charconv>

#include <google/protobuf/util/time_util.h>

#include "api/eligibility_mapping.h"

namespace onshid::api {
namespace {

core::DomainError NotConfigured() {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "UPSTREAM_NOT_CONFIGURED";
  e.message = "no 資格確認端末 folder is configured (upstream.folder)";
  e.message_ja = "資格確認端末の連携が設定されていません。システム管理者に連絡してください。";
  return e;
}

// YYYY-MM-DD → yyyyMMdd; anything else is passed on unchanged so validation names it.
std::string CompactDate(const std::string& iso) {
  if (iso.size() == 10 && iso[4] == '-' && iso[7] == '-') {
    return iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2);
  }
  return iso;
}

core::SystemTime FromTimestamp(const google::protobuf::Timestamp& t) {
  return core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
      std::chrono::nanoseconds(google::protobuf::util::TimeUtil::TimestampToNanoseconds(t))));
}

std::string Subject(const app::ResultView& v) { return "result:" + std::to_string(v.stored.id); }

}  // namespace

EligibilityServiceImpl::EligibilityServiceImpl(ApiDeps deps)
    : runner_(deps, onshi::v1::QueryRequest::descriptor()->file()->FindServiceByName(
                        "EligibilityService")) {}

grpc::ServerUnaryReactor* EligibilityServiceImpl::Query(grpc::CallbackServerContext* ctx,
                                                        const onshi::v1::QueryRequest* request,
                                                        onshi::v1::QueryResponse* response) {
  return runner_.UnaryAsync(ctx, "Query", *request, response, [this, request, response](std::shared_ptr<Call> call,
                                                                    CallRunner::Done done) {
    auto* eligibility = runner_.deps().eligibility;
    if (!eligibility) return done(NotConfigured());
    core::oqs::EligibilityQueryInput input;
    input.insurer_number = request->identifiers().insurer_number();
    input.insured_card_symbol = request->identifiers().insured_card_symbol();
    input.insured_identification_number = request->identifiers().insured_identification_number();
    input.insured_branch_number = request->identifiers().insured_branch_number();
    input.birth_date = CompactDate(request->birth_date());
    input.limit_certificate_consent = request->limit_certificate_consent() ? "1" : "0";
    std::optional<core::oqs::OqsDate> date;
    if (!request->confirmation_date().empty()) {
      auto parsed = core::oqs::OqsDate::Parse(CompactDate(request->confirmation_date()));
      if (!parsed) {
        return done(core::InvalidArgument("INVALID_QUERY", "confirmation_date is not a date",
                                          "資格確認日が正しくありません。",
                                          {{"confirmation_date", "must be YYYY-MM-DD"}}));
      }
      date = parsed.value();
    }
    // One key per client and request id: a retry with the same x-request-id rejoins the query.
    eligibility->Query(app::RequestRef{call->Key(), call->request_id}, input, date, call->deadline,
                       [call, response, done](core::Result<app::ResultView> outcome) {
                         if (!outcome) {
                           call->audit_subject = "query:" + call->request_id;
                           return done(outcome.error());
                         }
                         call->audit_subject = Subject(outcome.value());
                         *response->mutable_result() = ToProto(outcome.value());
                         done(core::OkStatus());
                       });
  });
}

grpc::ServerUnaryReactor* EligibilityServiceImpl::GetResult(
    grpc::CallbackServerContext* ctx, const onshi::v1::GetResultRequest* request,
    onshi::v1::EligibilityResult* response) {
  return runner_.Unary(ctx, "GetResult", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* eligibility = runner_.deps().eligibility;
    if (!eligibility) return NotConfigured();
    if (request->result_id() <= 0) {
      return core::InvalidArgument("INVALID_RESULT_ID", "result_id must be positive",
                                   "結果IDの指定が正しくありません。",
                                   {{"result_id", "must be a positive id"}});
    }
    auto view = eligibility->Get(request->result_id());
    if (!view) return view.error();
    call.audit_subject = Subject(view.value());
    *response = ToProto(view.value());
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* EligibilityServiceImpl::ListResults(
    grpc::CallbackServerContext* ctx, const onshi::v1::ListResultsRequest* request,
    onshi::v1::ListResultsResponse* response) {
  return runner_.Unary(ctx, "ListResults", *request, response, [this, request, response](Call& call) -> core::Status {
    auto* eligibility = runner_.deps().eligibility;
    if (!eligibility) return NotConfigured();
    core::ResultQuery q;
    auto opt = [](const std::string& v) -> std::optional<std::string> {
      if (v.empty()) return std::nullopt;
      return v;
    };
    if (!request->insurer_number().empty()) {
      std::string trimmed = request->insurer_number();
      trimmed.erase(0, trimmed.find_first_not_of(' '));
      q.insurer_number = trimmed;
    }
    q.insured_card_symbol = opt(request->insured_card_symbol());
    q.insured_identification_number = opt(request->insured_identification_number());
    q.birth_date = opt(request->birth_date());
    q.reference_number = opt(request->reference_number());
    if (request->validity() < 0 || request->validity() > 6) {
      return core::InvalidArgument("INVALID_VALIDITY", "validity must be 0..6",
                                   "資格有効性の指定が正しくありません。",
                                   {{"validity", "must be 0 (any) or 1..6"}});
    }
    if (request->validity() != 0) q.validity = std::to_string(request->validity());
    if (request->has_received_from()) q.received_from = FromTimestamp(request->received_from());
    if (request->has_received_until()) q.received_until = FromTimestamp(request->received_until());
    q.limit = request->page_size() == 0 ? 50 : request->page_size();
    if (!request->page_token().empty()) {
      std::int64_t before = 0;
      const std::string& t = request->page_token();
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), before);
      if (ec != std::errc() || ptr != t.data() + t.size() || before <= 0) {
        return core::InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not from this API",
                                     "ページ指定が正しくありません。",
                                     {{"page_token", "use next_page_token of a previous response"}});
      }
      q.before_id = before;
    }
    auto found = eligibility->List(q);
    if (!found) return found.error();
    for (const auto& v : found.value()) *response->add_results() = ToProto(v);
    if (static_cast<int>(found->size()) == q.limit && !found->empty()) {
      response->set_next_page_token(std::to_string(found->back().stored.id));
    }
    call.audit_subject = "results:" + std::to_string(found->size());
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* EligibilityServiceImpl::RegisterReferenceNumber(
    grpc::CallbackServerContext* ctx, const onshi::v1::RegisterReferenceNumberRequest* request,
    onshi::v1::ReferenceNumberRegistration* response) {
  return runner_.UnaryAsync(
      ctx, "RegisterReferenceNumber", *request, response,
      [this, request, response](std::shared_ptr<Call> call, CallRunner::Done done) {
        auto* eligibility = runner_.deps().eligibility;
        if (!eligibility) return done(NotConfigured());
        core::oqs::ReferenceNumberInput input;
        input.reference_number = request->reference_number();
        input.insurer_number = request->identifiers().insurer_number();
        input.insured_card_symbol = request->identifiers().insured_card_symbol();
        input.insured_identification_number =
            request->identifiers().insured_identification_number();
        input.insured_branch_number = request->identifiers().insured_branch_number();
        call->audit_subject = "reference_number_request:" + call->request_id;
        eligibility->RegisterReferenceNumber(
            app::RequestRef{"refno:" + call->Key(), call->request_id}, input, call->deadline,
            [call, response, done](core::Result<core::ReferenceNumberRecord> outcome) {
              if (!outcome) return done(outcome.error());
              call->audit_subject = "reference_number:" + std::to_string(outcome->id);
              *response = ToProto(outcome.value());
              done(core::OkStatus());
            });
      });
}

grpc::ServerUnaryReactor* EligibilityServiceImpl::GetReferenceNumberRegistration(
    grpc::CallbackServerContext* ctx,
    const onshi::v1::GetReferenceNumberRegistrationRequest* request,
    onshi::v1::ReferenceNumberRegistration* response) {
  return runner_.Unary(ctx, "GetReferenceNumberRegistration", *request, response,
                       [this, request, response](Call& call) -> core::Status {
                         auto* eligibility = runner_.deps().eligibility;
                         if (!eligibility) return NotConfigured();
                         if (request->registration_id() <= 0) {
                           return core::InvalidArgument(
                               "INVALID_REGISTRATION_ID", "registration_id must be positive",
                               "照会番号登録IDの指定が正しくありません。",
                               {{"registration_id", "must be a positive id"}});
                         }
                         auto found = eligibility->GetRegistration(request->registration_id());
                         if (!found) return found.error();
                         call.audit_subject = "reference_number:" + std::to_string(found->id);
                         *response = ToProto(found.value());
                         return core::OkStatus();
                       });
}

grpc::ServerUnaryReactor* EligibilityServiceImpl::ListReferenceNumberRegistrations(
    grpc::CallbackServerContext* ctx,
    const onshi::v1::ListReferenceNumberRegistrationsRequest* request,
    onshi::v1::ListReferenceNumberRegistrationsResponse* response) {
  return runner_.Unary(
      ctx, "ListReferenceNumberRegistrations", *request, response,
      [this, request, response](Call& call) -> core::Status {
        auto* eligibility = runner_.deps().eligibility;
        if (!eligibility) return NotConfigured();
        auto found = eligibility->ListRegistrations(
            request->reference_number(), request->page_size() == 0 ? 50 : request->page_size());
        if (!found) return found.error();
        for (const auto& r : found.value()) *response->add_registrations() = ToProto(r);
        call.audit_subject = "reference_numbers:" + std::to_string(found->size());
        return core::OkStatus();
      });
}

}  // namespace onshid::api
