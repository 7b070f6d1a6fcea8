#include "api/fallback_mapping.h"

#include <utility>
#include <vector>

#include "app/checkin_record.h"

namespace onshid::api {
namespace {

namespace fb = core::fallback;
namespace v1 = onshi::v1;

constexpr const char* kInvalidCase = "INVALID_FALLBACK_CASE";

// The item a clerk knows a field by, keyed by the field's first path segment.
std::string_view LabelJa(std::string_view field) {
  const std::string_view head = field.substr(0, field.find_first_of(".["));
  static constexpr std::pair<std::string_view, std::string_view> kLabels[] = {
      {"cause", "確認できない理由"},
      {"presented", "提示された書類"},
      {"visit", "初診・再診"},
      {"actual_days", "実日数"},
      {"known_eligibilities", "把握している資格情報"},
      {"has_valid_insurance_now", "現在の保険資格の有無"},
      {"facility", "施設の設定"},
      {"date", "受診日"},
      {"age", "年齢区分"},
      {"newborn", "新生児"},
      {"certificate_expiry", "電子証明書の有効期限"},
  };
  for (const auto& [name, label] : kLabels) {
    if (head == name) return label;
  }
  return {};
}

// "…。次の項目を確認してください：受診日、年齢区分" from the violations (fields without a prefix).
std::string ItemsJa(const std::vector<core::FieldViolation>& violations) {
  std::vector<std::string_view> labels;
  for (const auto& v : violations) {
    const std::string_view label = LabelJa(v.field);
    if (label.empty()) continue;
    bool seen = false;
    for (auto l : labels) seen = seen || l == label;
    if (!seen) labels.push_back(label);
  }
  if (labels.empty()) return "入力内容を確認してください。";
  std::string out = "次の項目を確認してください：";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += "、";
    out += labels[i];
  }
  return out;
}

std::optional<core::oqs::OqsDate> ParseDate(const std::string& iso) {
  auto ymd = app::ParseIsoDate(iso);
  if (!ymd) return std::nullopt;
  return core::oqs::OqsDate::FromSysDays(std::chrono::sys_days{*ymd});
}

std::string IsoDate(const core::oqs::OqsDate& date) { return app::IsoDate(date.ymd()); }

void SetRule(const fb::Rule& rule, v1::FallbackRule* out) {
  out->set_id(rule.id);
  out->set_source(rule.source);
  out->set_reason(rule.reason);
  out->set_reason_ja(rule.reason_ja);
}

}  // namespace

// --- Enums ---------------------------------------------------------------------------------

v1::FallbackCause ToProto(fb::FailureCause cause) {
  using C = fb::FailureCause;
  switch (cause) {
    case C::kCertificateExpired: return v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED;
    case C::kIcUnreadable: return v1::FALLBACK_CAUSE_IC_UNREADABLE;
    case C::kIdentificationFailed: return v1::FALLBACK_CAUSE_IDENTIFICATION_FAILED;
    case C::kFaceReaderWontStart: return v1::FALLBACK_CAUSE_FACE_READER_WONT_START;
    case C::kNetworkError: return v1::FALLBACK_CAUSE_NETWORK_ERROR;
    case C::kTerminalTrouble: return v1::FALLBACK_CAUSE_TERMINAL_TROUBLE;
    case C::kTerminalError011: return v1::FALLBACK_CAUSE_TERMINAL_ERROR_011;
    case C::kSmartphoneNotSupported: return v1::FALLBACK_CAUSE_SMARTPHONE_NOT_SUPPORTED;
    case C::kGenericReaderBroken: return v1::FALLBACK_CAUSE_GENERIC_READER_BROKEN;
    case C::kResultInvalid: return v1::FALLBACK_CAUSE_RESULT_INVALID;
    case C::kResultInvalidNewerExists: return v1::FALLBACK_CAUSE_RESULT_INVALID_NEWER_EXISTS;
    case C::kResultNoRecord: return v1::FALLBACK_CAUSE_RESULT_NO_RECORD;
    case C::kResultMultiple: return v1::FALLBACK_CAUSE_RESULT_MULTIPLE;
    case C::kProcessingError: return v1::FALLBACK_CAUSE_PROCESSING_ERROR;
    case C::kNoDocument: return v1::FALLBACK_CAUSE_NO_DOCUMENT;
    case C::kNoOnlineVerification: return v1::FALLBACK_CAUSE_NO_ONLINE_VERIFICATION;
  }
  return v1::FALLBACK_CAUSE_UNSPECIFIED;
}

std::optional<fb::FailureCause> FromProto(v1::FallbackCause cause) {
  using C = fb::FailureCause;
  switch (cause) {
    case v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED: return C::kCertificateExpired;
    case v1::FALLBACK_CAUSE_IC_UNREADABLE: return C::kIcUnreadable;
    case v1::FALLBACK_CAUSE_IDENTIFICATION_FAILED: return C::kIdentificationFailed;
    case v1::FALLBACK_CAUSE_FACE_READER_WONT_START: return C::kFaceReaderWontStart;
    case v1::FALLBACK_CAUSE_NETWORK_ERROR: return C::kNetworkError;
    case v1::FALLBACK_CAUSE_TERMINAL_TROUBLE: return C::kTerminalTrouble;
    case v1::FALLBACK_CAUSE_TERMINAL_ERROR_011: return C::kTerminalError011;
    case v1::FALLBACK_CAUSE_SMARTPHONE_NOT_SUPPORTED: return C::kSmartphoneNotSupported;
    case v1::FALLBACK_CAUSE_GENERIC_READER_BROKEN: return C::kGenericReaderBroken;
    case v1::FALLBACK_CAUSE_RESULT_INVALID: return C::kResultInvalid;
    case v1::FALLBACK_CAUSE_RESULT_INVALID_NEWER_EXISTS: return C::kResultInvalidNewerExists;
    case v1::FALLBACK_CAUSE_RESULT_NO_RECORD: return C::kResultNoRecord;
    case v1::FALLBACK_CAUSE_RESULT_MULTIPLE: return C::kResultMultiple;
    case v1::FALLBACK_CAUSE_PROCESSING_ERROR: return C::kProcessingError;
    case v1::FALLBACK_CAUSE_NO_DOCUMENT: return C::kNoDocument;
    case v1::FALLBACK_CAUSE_NO_ONLINE_VERIFICATION: return C::kNoOnlineVerification;
    default: return std::nullopt;
  }
}

v1::AgeBracket ToProto(fb::AgeBracket age) {
  switch (age) {
    case fb::AgeBracket::kUnder70: return v1::AGE_BRACKET_UNDER_70;
    case fb::AgeBracket::k70To74: return v1::AGE_BRACKET_70_TO_74;
    case fb::AgeBracket::kKouki: return v1::AGE_BRACKET_KOUKI;
  }
  return v1::AGE_BRACKET_UNSPECIFIED;
}

std::optional<fb::AgeBracket> FromProto(v1::AgeBracket age) {
  switch (age) {
    case v1::AGE_BRACKET_UNDER_70: return fb::AgeBracket::kUnder70;
    case v1::AGE_BRACKET_70_TO_74: return fb::AgeBracket::k70To74;
    case v1::AGE_BRACKET_KOUKI: return fb::AgeBracket::kKouki;
    default: return std::nullopt;
  }
}

v1::NewbornStatus ToProto(fb::Newborn newborn) {
  switch (newborn) {
    case fb::Newborn::kNo: return v1::NEWBORN_STATUS_NOT_NEWBORN;
    case fb::Newborn::kCardRegistered: return v1::NEWBORN_STATUS_CARD_REGISTERED;
    case fb::Newborn::kCardNotRegistered: return v1::NEWBORN_STATUS_CARD_NOT_REGISTERED;
    case fb::Newborn::kRegistrationUnchecked: return v1::NEWBORN_STATUS_REGISTRATION_UNCHECKED;
  }
  return v1::NEWBORN_STATUS_UNSPECIFIED;
}

std::optional<fb::Newborn> FromProto(v1::NewbornStatus newborn) {
  switch (newborn) {
    case v1::NEWBORN_STATUS_UNSPECIFIED:  // a newborn is the exception: not stated means not one
    case v1::NEWBORN_STATUS_NOT_NEWBORN: return fb::Newborn::kNo;
    case v1::NEWBORN_STATUS_CARD_REGISTERED: return fb::Newborn::kCardRegistered;
    case v1::NEWBORN_STATUS_CARD_NOT_REGISTERED: return fb::Newborn::kCardNotRegistered;
    case v1::NEWBORN_STATUS_REGISTRATION_UNCHECKED: return fb::Newborn::kRegistrationUnchecked;
    default: return std::nullopt;
  }
}

v1::KnownEligibilitySource ToProto(fb::KnownEligibility::Source source) {
  using S = fb::KnownEligibility::Source;
  switch (source) {
    case S::kInvalidResult: return v1::KNOWN_ELIGIBILITY_SOURCE_INVALID_RESULT;
    case S::kPastVisits: return v1::KNOWN_ELIGIBILITY_SOURCE_PAST_VISITS;
    case S::kConfirmed: return v1::KNOWN_ELIGIBILITY_SOURCE_CONFIRMED;
  }
  return v1::KNOWN_ELIGIBILITY_SOURCE_UNSPECIFIED;
}

std::optional<fb::KnownEligibility::Source> FromProto(v1::KnownEligibilitySource source) {
  using S = fb::KnownEligibility::Source;
  switch (source) {
    case v1::KNOWN_ELIGIBILITY_SOURCE_INVALID_RESULT: return S::kInvalidResult;
    case v1::KNOWN_ELIGIBILITY_SOURCE_PAST_VISITS: return S::kPastVisits;
    case v1::KNOWN_ELIGIBILITY_SOURCE_CONFIRMED: return S::kConfirmed;
    default: return std::nullopt;
  }
}

v1::FallbackMethod ToProto(fb::Method method) {
  using M = fb::Method;
  switch (method) {
    case M::kVisualCheckMode: return v1::FALLBACK_METHOD_VISUAL_CHECK_MODE;
    case M::kQualificationCertificate: return v1::FALLBACK_METHOD_QUALIFICATION_CERTIFICATE;
    case M::kProvisionalQuery: return v1::FALLBACK_METHOD_PROVISIONAL_QUERY;
    case M::kPortalScreen: return v1::FALLBACK_METHOD_PORTAL_SCREEN;
    case M::kEligibilityNotice: return v1::FALLBACK_METHOD_ELIGIBILITY_NOTICE;
    case M::kOralConfirmation: return v1::FALLBACK_METHOD_ORAL_CONFIRMATION;
    case M::kConfirmAfterwards: return v1::FALLBACK_METHOD_CONFIRM_AFTERWARDS;
    case M::kEmergencyLookup: return v1::FALLBACK_METHOD_EMERGENCY_LOOKUP;
    case M::kInsuranceStatement: return v1::FALLBACK_METHOD_INSURANCE_STATEMENT;
    case M::kFullSelfPay: return v1::FALLBACK_METHOD_FULL_SELF_PAY;
  }
  return v1::FALLBACK_METHOD_UNSPECIFIED;
}

std::optional<fb::Method> FromProto(v1::FallbackMethod method) {
  using M = fb::Method;
  switch (method) {
    case v1::FALLBACK_METHOD_VISUAL_CHECK_MODE: return M::kVisualCheckMode;
    case v1::FALLBACK_METHOD_QUALIFICATION_CERTIFICATE: return M::kQualificationCertificate;
    case v1::FALLBACK_METHOD_PROVISIONAL_QUERY: return M::kProvisionalQuery;
    case v1::FALLBACK_METHOD_PORTAL_SCREEN: return M::kPortalScreen;
    case v1::FALLBACK_METHOD_ELIGIBILITY_NOTICE: return M::kEligibilityNotice;
    case v1::FALLBACK_METHOD_ORAL_CONFIRMATION: return M::kOralConfirmation;
    case v1::FALLBACK_METHOD_CONFIRM_AFTERWARDS: return M::kConfirmAfterwards;
    case v1::FALLBACK_METHOD_EMERGENCY_LOOKUP: return M::kEmergencyLookup;
    case v1::FALLBACK_METHOD_INSURANCE_STATEMENT: return M::kInsuranceStatement;
    case v1::FALLBACK_METHOD_FULL_SELF_PAY: return M::kFullSelfPay;
    default: return std::nullopt;
  }
}

v1::FallbackCharge ToProto(fb::Charge charge) {
  switch (charge) {
    case fb::Charge::kNormalRatio: return v1::FALLBACK_CHARGE_NORMAL_RATIO;
    case fb::Charge::kFullSelfPay: return v1::FALLBACK_CHARGE_FULL_SELF_PAY;
  }
  return v1::FALLBACK_CHARGE_UNSPECIFIED;
}

std::optional<fb::Charge> FromProto(v1::FallbackCharge charge) {
  switch (charge) {
    case v1::FALLBACK_CHARGE_NORMAL_RATIO: return fb::Charge::kNormalRatio;
    case v1::FALLBACK_CHARGE_FULL_SELF_PAY: return fb::Charge::kFullSelfPay;
    default: return std::nullopt;
  }
}

v1::ClaimRoute ToProto(fb::ClaimRoute route) {
  using R = fb::ClaimRoute;
  switch (route) {
    case R::kCurrent: return v1::CLAIM_ROUTE_CURRENT;
    case R::kOldEligibility: return v1::CLAIM_ROUTE_OLD_ELIGIBILITY;
    case R::kUnknown: return v1::CLAIM_ROUTE_UNKNOWN;
    case R::kConfirmLater: return v1::CLAIM_ROUTE_CONFIRM_LATER;
    case R::kSelfPay: return v1::CLAIM_ROUTE_SELF_PAY;
  }
  return v1::CLAIM_ROUTE_UNSPECIFIED;
}

std::optional<fb::ClaimRoute> FromProto(v1::ClaimRoute route) {
  using R = fb::ClaimRoute;
  switch (route) {
    case v1::CLAIM_ROUTE_CURRENT: return R::kCurrent;
    case v1::CLAIM_ROUTE_OLD_ELIGIBILITY: return R::kOldEligibility;
    case v1::CLAIM_ROUTE_UNKNOWN: return R::kUnknown;
    case v1::CLAIM_ROUTE_CONFIRM_LATER: return R::kConfirmLater;
    case v1::CLAIM_ROUTE_SELF_PAY: return R::kSelfPay;
    default: return std::nullopt;
  }
}

v1::VisitKind ToProto(fb::VisitKind visit) {
  switch (visit) {
    case fb::VisitKind::kFirstVisit: return v1::FIRST_VISIT;
    case fb::VisitKind::kRevisit: return v1::RETURN_VISIT;
  }
  return v1::VISIT_KIND_UNSPECIFIED;
}

std::optional<fb::VisitKind> FallbackVisitFromProto(v1::VisitKind visit) {
  switch (visit) {
    case v1::FIRST_VISIT: return fb::VisitKind::kFirstVisit;
    case v1::RETURN_VISIT: return fb::VisitKind::kRevisit;
    default: return std::nullopt;
  }
}

// --- The case ------------------------------------------------------------------------------

v1::FallbackCase ToProto(const fb::FallbackCase& c) {
  v1::FallbackCase out;
  out.set_cause(ToProto(c.cause));
  auto* p = out.mutable_presented();
  p->set_my_number_card(c.presented.my_number_card);
  p->set_smartphone(c.presented.smartphone);
  p->set_qualification_certificate(c.presented.qualification_certificate);
  p->set_health_insurance_card(c.presented.health_insurance_card);
  p->set_eligibility_notice(c.presented.eligibility_notice);
  out.set_visit(ToProto(c.visit));
  out.set_actual_days(c.actual_days);
  for (const auto& k : c.known_eligibilities) {
    auto* e = out.add_known_eligibilities();
    e->set_source(ToProto(k.source));
    auto* ids = e->mutable_identifiers();
    ids->set_insurer_number(k.insurer_number);
    ids->set_insured_card_symbol(k.symbol);
    ids->set_insured_identification_number(k.number);
    ids->set_insured_branch_number(k.branch);
    e->set_insurer_name(k.insurer_name);
    if (k.ratio_wari) e->set_ratio_wari(*k.ratio_wari);
  }
  out.set_has_valid_insurance_now(c.has_valid_insurance_now);
  auto* f = out.mutable_facility();
  f->set_oqs_available(c.facility.oqs_available);
  f->set_reads_smartphones(c.facility.reads_smartphones);
  f->set_emergency_mode_active(c.facility.emergency_mode_active);
  if (c.date) out.set_date(IsoDate(*c.date));
  out.set_age(ToProto(c.age));
  out.set_newborn(ToProto(c.newborn));
  if (c.certificate_expiry) out.set_certificate_expiry(IsoDate(*c.certificate_expiry));
  return out;
}

core::Result<fb::FallbackCase> FromProto(const v1::FallbackCase& in,
                                         const core::oqs::OqsDate& today,
                                         const std::string& field_prefix) {
  std::vector<core::FieldViolation> v;
  fb::FallbackCase c;

  if (auto cause = FromProto(in.cause())) {
    c.cause = *cause;
  } else {
    v.push_back({"cause", in.cause() == v1::FALLBACK_CAUSE_UNSPECIFIED
                              ? "required: why eligibility could not be confirmed online"
                              : "unknown FallbackCause " + std::to_string(in.cause())});
  }
  c.presented.my_number_card = in.presented().my_number_card();
  c.presented.smartphone = in.presented().smartphone();
  c.presented.qualification_certificate = in.presented().qualification_certificate();
  c.presented.health_insurance_card = in.presented().health_insurance_card();
  c.presented.eligibility_notice = in.presented().eligibility_notice();
  if (auto visit = FallbackVisitFromProto(in.visit())) {
    c.visit = *visit;
  } else {
    v.push_back({"visit", in.visit() == v1::VISIT_KIND_UNSPECIFIED
                              ? "required: FIRST_VISIT (初診) or RETURN_VISIT (再診)"
                              : "unknown VisitKind " + std::to_string(in.visit())});
  }
  if (in.has_actual_days()) c.actual_days = in.actual_days();  // Decide checks the range
  for (int i = 0; i < in.known_eligibilities_size(); ++i) {
    const auto& k = in.known_eligibilities(i);
    const std::string at = "known_eligibilities[" + std::to_string(i) + "]";
    fb::KnownEligibility known;
    if (auto source = FromProto(k.source())) {
      known.source = *source;
    } else {
      v.push_back({at + ".source", k.source() == v1::KNOWN_ELIGIBILITY_SOURCE_UNSPECIFIED
                                       ? "required: INVALID_RESULT or PAST_VISITS"
                                       : "unknown KnownEligibilitySource " +
                                             std::to_string(k.source())});
    }
    known.insurer_number = k.identifiers().insurer_number();
    known.symbol = k.identifiers().insured_card_symbol();
    known.number = k.identifiers().insured_identification_number();
    known.branch = k.identifiers().insured_branch_number();
    known.insurer_name = k.insurer_name();
    if (k.has_ratio_wari()) {
      if (k.ratio_wari() < 1 || k.ratio_wari() > 3) {
        v.push_back({at + ".ratio_wari", "must be 1, 2 or 3 (割)"});
      } else {
        known.ratio_wari = k.ratio_wari();
      }
    }
    c.known_eligibilities.push_back(std::move(known));
  }
  c.has_valid_insurance_now = !in.has_has_valid_insurance_now() || in.has_valid_insurance_now();
  c.facility.oqs_available = !in.facility().has_oqs_available() || in.facility().oqs_available();
  c.facility.reads_smartphones = in.facility().reads_smartphones();
  c.facility.emergency_mode_active = in.facility().emergency_mode_active();
  if (in.date().empty()) {
    c.date = today;
  } else if (auto date = ParseDate(in.date())) {
    c.date = *date;
  } else {
    v.push_back({"date", "must be a calendar date as YYYY-MM-DD (Japan), or empty for today"});
  }
  if (auto age = FromProto(in.age())) {
    c.age = *age;
  } else {
    v.push_back({"age", in.age() == v1::AGE_BRACKET_UNSPECIFIED
                            ? "required: UNDER_70, 70_TO_74 or KOUKI"
                            : "unknown AgeBracket " + std::to_string(in.age())});
  }
  if (auto newborn = FromProto(in.newborn())) {
    c.newborn = *newborn;
  } else {
    v.push_back({"newborn", "unknown NewbornStatus " + std::to_string(in.newborn())});
  }
  if (!in.certificate_expiry().empty()) {
    if (auto expiry = ParseDate(in.certificate_expiry())) {
      c.certificate_expiry = *expiry;
    } else {
      v.push_back({"certificate_expiry", "must be a calendar date as YYYY-MM-DD, or empty"});
    }
  }
  if (v.empty()) return c;
  const std::string items_ja = ItemsJa(v);
  for (auto& fv : v) fv.field = field_prefix + fv.field;
  return core::InvalidArgument(kInvalidCase, "the fallback case has missing or invalid fields",
                               "代替確認の入力に不足または誤りがあります。" + items_ja,
                               std::move(v));
}

core::DomainError ToApiError(core::DomainError e, const std::string& field_prefix) {
  if (e.reason != kInvalidCase && e.reason != "CERTIFICATE_IN_GRACE") return e;
  if (e.reason == kInvalidCase) {
    e.message_ja = "代替確認の入力内容に矛盾があります。" + ItemsJa(e.field_violations);
  }
  for (auto& fv : e.field_violations) fv.field = field_prefix + fv.field;
  return e;
}

// --- The decision --------------------------------------------------------------------------

v1::EvaluateOptionsResponse ToProto(const fb::Decision& d) {
  v1::EvaluateOptionsResponse out;
  out.set_engine_version(d.engine_version);
  for (const auto& m : d.methods) {
    auto* md = out.add_methods();
    md->set_method(ToProto(m.method));
    md->set_method_name_ja(std::string(fb::MethodNameJa(m.method)));
    md->set_allowed(m.allowed);
    SetRule(m.rule, md->mutable_rule());
    if (m.allowed) {
      md->set_leads_to(ToProto(m.leads_to));
      md->set_leads_to_name_ja(std::string(fb::ClaimRouteNameJa(m.leads_to)));
    }
  }
  out.set_first_choice(ToProto(d.first_choice));
  out.set_charge(ToProto(d.charge));
  SetRule(d.charge_rule, out.mutable_charge_rule());
  for (const auto& note : d.charge_notes) SetRule(note, out.add_charge_notes());
  *out.mutable_input() = ToProto(d.input);
  return out;
}

}  // namespace onshid::api
