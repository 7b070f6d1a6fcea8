#include "api/checkin_mapping.h"

#include "api/enum_mapping.h"

#include <google/protobuf/util/time_util.h>

namespace onshid::api {
namespace {

namespace ci = core::checkin;
namespace v1 = onshi::v1;
using google::protobuf::util::TimeUtil;

constexpr std::size_t kMaxIdLength = 128;
constexpr int kMaxListLimit = 1000;

// YYYY-MM-DD → yyyyMMdd; anything else is passed on unchanged so validation names it.
std::string CompactDate(const std::string& iso) {
  if (iso.size() == 10 && iso[4] == '-' && iso[7] == '-') {
    return iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2);
  }
  return iso;
}

std::optional<std::string> NonEmpty(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v;
}

bool HasAnyNumber(const v1::InsuranceIdentifiers& ids) {
  return !ids.insurer_number().empty() || !ids.insured_card_symbol().empty() ||
         !ids.insured_identification_number().empty() || !ids.insured_branch_number().empty();
}

}  // namespace

v1::Channel ToProto(ci::Channel channel) { return ProtoEnum<v1::Channel>(ci::ToString(channel)); }
std::optional<ci::Channel> FromProto(v1::Channel channel) {
  return CoreEnum<ci::Channel>(channel, ci::ChannelFromString);
}

v1::CheckInState ToProto(ci::CheckInState state) {
  return ProtoEnum<v1::CheckInState>(ci::ToString(state));
}
std::optional<ci::CheckInState> FromProto(v1::CheckInState state) {
  return CoreEnum<ci::CheckInState>(state, app::ParseCheckInState);
}

v1::InformationKind ToProto(ci::InformationKind kind) {
  return ProtoEnum<v1::InformationKind>(ci::ToString(kind));
}
std::optional<ci::InformationKind> FromProto(v1::InformationKind kind) {
  return CoreEnum<ci::InformationKind>(kind, app::ParseInformationKind);
}

google::protobuf::Timestamp ToTimestamp(core::SystemTime t) {
  return TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

core::SystemTime FromTimestamp(const google::protobuf::Timestamp& t) {
  return core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
      std::chrono::nanoseconds(TimeUtil::TimestampToNanoseconds(t))));
}

v1::CheckIn ToProto(const app::CheckInView& view) {
  const app::CheckInRecord& r = view.record;
  v1::CheckIn out;
  out.set_check_in_id(r.id);
  out.set_desk_id(r.desk_id);
  out.set_channel(ToProto(r.channel));
  for (core::Document d : r.documents) out.add_documents(ToProto(d));
  out.set_verification_path(std::string(ci::ToString(r.path)));
  auto* visit = out.mutable_visit();
  visit->set_kind(ToProto(r.visit.kind));
  visit->set_real_days_this_month(r.visit.real_days_this_month);
  visit->set_patient_id(r.visit.patient_id);
  out.set_state(ToProto(r.state));
  if (r.cause) out.set_fallback_cause(ToProto(*r.cause));
  out.set_information_scope(std::string(app::ToString(r.scope)));
  out.set_reason(r.reason);
  out.set_message(r.message);
  out.set_message_ja(r.message_ja);
  for (const auto& n : r.notices) {
    auto* notice = out.add_notices();
    notice->set_code(n.code);
    notice->set_message(n.message);
    notice->set_message_ja(n.message_ja);
  }
  for (const auto& note : r.staff_notes_ja) out.add_staff_notes_ja(note);
  if (r.certificate) out.set_certificate_status(core::card::ToString(*r.certificate));
  out.set_card_key(r.keys.card_key.value_or(""));
  out.set_result_id(r.result_id);
  for (const auto& link : view.results) {
    auto* result = out.add_results();
    result->set_result_id(link.result_id);
    result->set_link(link.link);
    *result->mutable_at() = ToTimestamp(link.at);
  }
  auto* correlation = out.mutable_correlation();
  correlation->set_outcome(r.correlation);
  for (const auto& reason : r.correlation_reasons) correlation->add_reasons(reason);
  for (const auto& c : r.candidates) {
    auto* candidate = correlation->add_candidates();
    candidate->set_check_in_id(c.check_in_id);
    candidate->set_fits(c.fits);
    for (const auto& reason : c.reasons) candidate->add_reasons(reason);
  }
  out.set_timed_out(r.timed_out);
  out.set_patient_id(r.patient_id);
  for (const auto& link : view.patient_links) {
    auto* entry = out.add_patient_links();
    entry->set_patient_id(link.patient_id);
    entry->set_linked_by(link.linked_by);
    *entry->mutable_at() = ToTimestamp(link.at);
  }
  for (const auto& c : r.changes) {
    auto* change = out.add_changes();
    change->set_field(std::string(ci::FieldName(c.field)));
    change->set_old_value(c.old_value);
    change->set_new_value(c.new_value);
  }
  out.set_baseline_check_in_id(r.baseline_check_in_id);
  *out.mutable_created_at() = ToTimestamp(r.created_at);
  *out.mutable_updated_at() = ToTimestamp(r.updated_at);
  out.set_day(r.day);
  return out;
}

v1::ConsentStatus ToProto(const app::ConsentView& view) {
  v1::ConsentStatus out;
  out.set_check_in_id(view.check_in_id);
  out.set_result_id(view.result_id);
  out.set_information_scope(std::string(app::ToString(view.scope)));
  for (const auto& c : view.consents) {
    auto* consent = out.add_consents();
    consent->set_kind(ToProto(c.kind));
    consent->set_flag(std::string(app::ToString(c.flag)));
    if (c.consent_time) *consent->mutable_consent_time() = ToTimestamp(*c.consent_time);
    if (c.available_until) *consent->mutable_available_until() = ToTimestamp(*c.available_until);
  }
  for (const auto& o : view.oral_consents) {
    auto* oral = out.add_oral_consents();
    oral->set_staff_id(o.staff_id);
    *oral->mutable_at() = ToTimestamp(o.at);
    if (o.withdrawn_at) *oral->mutable_withdrawn_at() = ToTimestamp(*o.withdrawn_at);
  }
  for (const auto& w : view.withdrawals) {
    auto* withdrawal = out.add_withdrawals();
    withdrawal->set_kind(ToProto(w.kind));
    *withdrawal->mutable_at() = ToTimestamp(w.at);
  }
  return out;
}

v1::AccessDecision ToProto(const app::AccessOutcome& outcome) {
  v1::AccessDecision out;
  out.set_allowed(outcome.decision.allowed);
  out.set_reason(outcome.decision.reason);
  out.set_message(outcome.decision.message);
  out.set_message_ja(outcome.decision.message_ja);
  if (outcome.decision.available_until) {
    *out.mutable_available_until() = ToTimestamp(*outcome.decision.available_until);
  }
  out.set_check_in_id(outcome.check_in_id);
  out.set_result_id(outcome.result_id);
  return out;
}

core::Result<app::StartCheckInInput> FromProto(const v1::StartCheckInRequest& request,
                                               std::string client_key) {
  std::vector<core::FieldViolation> bad;
  app::StartCheckInInput in;
  in.client_key = std::move(client_key);
  in.desk_id = request.desk_id();
  if (in.desk_id.empty()) bad.push_back({"desk_id", "the desk the patient checks in at"});
  if (auto channel = FromProto(request.channel())) {
    in.channel = *channel;
  } else {
    bad.push_back({"channel", "FACE_READER, DOCUMENT_QUERY, GENERIC_READER or MANUAL"});
  }
  for (int i = 0; i < request.documents_size(); ++i) {
    auto document = FromProto(request.documents(i));
    if (!document) {
      bad.push_back({"documents", "entry " + std::to_string(i) + " is not a document"});
      continue;
    }
    in.documents.push_back(*document);
  }
  const auto& visit = request.visit();
  if (visit.kind() != v1::VISIT_KIND_UNSPECIFIED) {
    if (auto kind = FromProto(visit.kind())) {
      in.visit.kind = *kind;
    } else {
      bad.push_back({"visit.kind", "VISIT_KIND_FIRST_VISIT or VISIT_KIND_REVISIT"});
    }
  }
  if (!bad.empty()) {
    return core::InvalidArgument("INVALID_CHECKIN", "the check-in request is incomplete",
                                 "受付の入力内容に不足があります。入力内容を確認してください。",
                                 std::move(bad));
  }
  in.visit.real_days_this_month = visit.real_days_this_month();
  in.visit.patient_id = visit.patient_id();
  if (request.holdings().has_my_number_insurance()) {
    in.holdings.my_number_insurance = request.holdings().my_number_insurance();
  }
  if (request.holdings().has_qualification_certificate()) {
    in.holdings.qualification_certificate = request.holdings().qualification_certificate();
  }
  // The birth date alone engages the query only where it cannot be a correlation key (with
  // name_kana) of a card channel; identifiers always do.
  const bool query_channel =
      in.channel == ci::Channel::kDocumentQuery || in.channel == ci::Channel::kManual;
  if (HasAnyNumber(request.identifiers()) || (!request.birth_date().empty() && query_channel)) {
    core::oqs::EligibilityQueryInput query;
    const auto& ids = request.identifiers();
    query.insurer_number = ids.insurer_number();
    query.insured_card_symbol = ids.insured_card_symbol();
    query.insured_identification_number = ids.insured_identification_number();
    query.insured_branch_number = ids.insured_branch_number();
    query.birth_date = CompactDate(request.birth_date());
    query.limit_certificate_consent = request.limit_certificate_consent() ? "1" : "0";
    in.query = std::move(query);
  }
  in.reader = request.reader();
  in.name_kana = NonEmpty(request.name_kana());
  in.reference_number = NonEmpty(request.reference_number());
  in.birth_date = NonEmpty(request.birth_date());
  return in;
}

core::Result<app::CheckInFilter> FromProto(const v1::ListCheckInsRequest& request) {
  app::CheckInFilter filter;
  std::vector<core::FieldViolation> bad;
  filter.day = NonEmpty(request.day());
  filter.desk_id = NonEmpty(request.desk_id());
  if (request.state() != v1::CHECK_IN_STATE_UNSPECIFIED) {
    filter.state = FromProto(request.state());
    if (!filter.state) bad.push_back({"state", "WAITING, VERIFIED, NEEDS_FALLBACK or CANCELLED"});
  }
  filter.patient.patient_id = NonEmpty(request.patient_id());
  filter.patient.reference_number = NonEmpty(request.reference_number());
  filter.patient.card_key = NonEmpty(request.card_key());
  filter.patient.name_kana = NonEmpty(request.name_kana());
  filter.patient.birth_date = NonEmpty(request.birth_date());
  if (request.limit() < 0 || request.limit() > kMaxListLimit) {
    bad.push_back({"limit", "0 (default 200) or 1..1000"});
  } else if (request.limit() > 0) {
    filter.limit = request.limit();
  }
  if (!bad.empty()) {
    return core::InvalidArgument("INVALID_CHECKIN_FILTER", "the check-in filter is not valid",
                                 "受付一覧の条件が正しくありません。", std::move(bad));
  }
  return filter;
}

std::string LookupKinds(const app::PatientLookup& lookup) {
  std::string kinds;
  auto add = [&kinds](const std::optional<std::string>& key, const char* name) {
    if (!key) return;
    if (!kinds.empty()) kinds += "+";
    kinds += name;
  };
  add(lookup.patient_id, "patient_id");
  add(lookup.reference_number, "reference_number");
  add(lookup.card_key, "card_key");
  add(lookup.name_kana, "name_kana");
  add(lookup.birth_date, "birth_date");
  return kinds;
}

core::DomainError CheckInsUnavailable() {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "CHECKINS_UNAVAILABLE";
  e.message = "check-ins are not available in this daemon";
  e.message_ja = "受付機能が利用できません。システム管理者に連絡してください。";
  return e;
}

std::optional<core::DomainError> CheckCheckInId(const std::string& check_in_id) {
  bool printable = !check_in_id.empty() && check_in_id.size() <= kMaxIdLength;
  for (char c : check_in_id) printable = printable && c > ' ' && c < 0x7f;
  if (printable) return std::nullopt;
  return core::InvalidArgument("INVALID_CHECKIN_ID", "check_in_id must name a check-in",
                               "受付IDの指定が正しくありません。",
                               {{"check_in_id", "required: 1..128 printable ASCII characters"}});
}

std::string CheckInSubject(const std::string& check_in_id) { return "checkin:" + check_in_id; }

app::Actor ActorOf(const Call& call) { return app::Actor{call.principal.name, call.request_id}; }

}  // namespace onshid::api
