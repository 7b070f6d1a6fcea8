#include "api/fallback_mapping.h"

#include "api/enum_mapping.h"

#include <span>
#include <utility>
#include <vector>

#include "api/checkin_mapping.h"
#include "app/checkin_record.h"
#include "core/fallback/case_errors.h"

namespace onshid::api {
namespace {

namespace fb = core::fallback;
namespace v1 = onshi::v1;

constexpr const char* kInvalidCase = "INVALID_FALLBACK_CASE";

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::span<const Label>;

// The items a clerk knows the case's fields by, keyed by the field's first path segment.
constexpr Label kCaseLabels[] = {
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

std::string_view LabelJa(std::string_view field, Labels labels) {
  const std::string_view head = field.substr(0, field.find_first_of(".["));
  for (const auto& [name, label] : labels) {
    if (head == name) return label;
  }
  return {};
}

// "次の項目を確認してください：受診日、年齢区分" from the violations (fields without a prefix).
std::string ItemsJa(const std::vector<core::FieldViolation>& violations,
                    Labels labels = kCaseLabels) {
  std::vector<std::string_view> found;
  for (const auto& v : violations) {
    const std::string_view label = LabelJa(v.field, labels);
    if (label.empty()) continue;
    bool seen = false;
    for (auto l : found) seen = seen || l == label;
    if (!seen) found.push_back(label);
  }
  if (found.empty()) return "入力内容を確認してください。";
  std::string out = "次の項目を確認してください：";
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (i > 0) out += "、";
    out += found[i];
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

// The decision's own fields, into EvaluateOptionsResponse or FallbackDecision (same names).
template <typename Out>
void SetDecision(const fb::Decision& d, Out* out) {
  out->set_engine_version(d.engine_version);
  for (const auto& m : d.methods) {
    auto* md = out->add_methods();
    md->set_method(ToProto(m.method));
    md->set_method_name_ja(std::string(fb::MethodNameJa(m.method)));
    md->set_allowed(m.allowed);
    SetRule(m.rule, md->mutable_rule());
    if (m.allowed) {
      md->set_leads_to(ToProto(m.leads_to));
      md->set_leads_to_name_ja(std::string(fb::ClaimRouteNameJa(m.leads_to)));
    }
  }
  out->set_first_choice(ToProto(d.first_choice));
  out->set_charge(ToProto(d.charge));
  SetRule(d.charge_rule, out->mutable_charge_rule());
  for (const auto& note : d.charge_notes) SetRule(note, out->add_charge_notes());
}

void SetKnown(const fb::KnownEligibility& k, v1::KnownEligibility* e) {
  e->set_source(ToProto(k.source));
  auto* ids = e->mutable_identifiers();
  ids->set_insurer_number(k.insurer_number);
  ids->set_insured_card_symbol(k.symbol);
  ids->set_insured_identification_number(k.number);
  ids->set_insured_branch_number(k.branch);
  e->set_insurer_name(k.insurer_name);
  if (k.ratio_wari) e->set_ratio_wari(*k.ratio_wari);
}

// A known eligibility's identifiers, name and ratio (not its source), problems named under `at`.
fb::KnownEligibility KnownFromProto(const v1::KnownEligibility& k, const std::string& at,
                                    std::vector<core::FieldViolation>& v) {
  fb::KnownEligibility known;
  known.insurer_number = k.identifiers().insurer_number();
  known.symbol = k.identifiers().insured_card_symbol();
  known.number = k.identifiers().insured_identification_number();
  known.branch = k.identifiers().insured_branch_number();
  known.insurer_name = k.insurer_name();
  if (k.has_ratio_wari()) {
    if (k.ratio_wari() < 1 || k.ratio_wari() > 3) {
      v.push_back({at + "ratio_wari", "must be 1, 2 or 3 (割)"});
    } else {
      known.ratio_wari = k.ratio_wari();
    }
  }
  return known;
}

}  // namespace

// --- Enums ---------------------------------------------------------------------------------
// Every one is its proto prefix + the core's stable name (api/enum_mapping.h).

v1::AgeBracket ToProto(fb::AgeBracket age) { return ProtoEnum<v1::AgeBracket>(fb::ToString(age)); }
std::optional<fb::AgeBracket> FromProto(v1::AgeBracket age) {
  return CoreEnum<fb::AgeBracket>(age, fb::AgeBracketFromString);
}

v1::NewbornStatus ToProto(fb::Newborn newborn) {
  return ProtoEnum<v1::NewbornStatus>(fb::ToString(newborn));
}
std::optional<fb::Newborn> FromProto(v1::NewbornStatus newborn) {
  // A newborn is the exception: not stated means not one.
  if (newborn == v1::NEWBORN_STATUS_UNSPECIFIED) return fb::Newborn::kNo;
  return CoreEnum<fb::Newborn>(newborn, fb::NewbornFromString);
}

v1::KnownEligibilitySource ToProto(fb::KnownEligibility::Source source) {
  return ProtoEnum<v1::KnownEligibilitySource>(fb::ToString(source));
}
std::optional<fb::KnownEligibility::Source> FromProto(v1::KnownEligibilitySource source) {
  return CoreEnum<fb::KnownEligibility::Source>(source, fb::KnownEligibilitySourceFromString);
}

v1::FallbackMethod ToProto(fb::Method method) {
  return ProtoEnum<v1::FallbackMethod>(fb::MethodName(method));
}
std::optional<fb::Method> FromProto(v1::FallbackMethod method) {
  return CoreEnum<fb::Method>(method, fb::MethodFromString);
}

v1::FallbackCharge ToProto(fb::Charge charge) {
  return ProtoEnum<v1::FallbackCharge>(fb::ChargeName(charge));
}
std::optional<fb::Charge> FromProto(v1::FallbackCharge charge) {
  return CoreEnum<fb::Charge>(charge, fb::ChargeFromString);
}

v1::ClaimRoute ToProto(fb::ClaimRoute route) {
  return ProtoEnum<v1::ClaimRoute>(fb::ClaimRouteName(route));
}
std::optional<fb::ClaimRoute> FromProto(v1::ClaimRoute route) {
  return CoreEnum<fb::ClaimRoute>(route, fb::ClaimRouteFromString);
}

// --- The case ------------------------------------------------------------------------------

v1::FallbackCase ToProto(const fb::FallbackCase& c) {
  v1::FallbackCase out;
  out.set_cause(ToProto(c.cause));
  for (core::Document d : c.presented.List()) out.add_presented(ToProto(d));
  out.set_visit(ToProto(c.visit));
  out.set_actual_days(c.actual_days);
  for (const auto& k : c.known_eligibilities) SetKnown(k, out.add_known_eligibilities());
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
  for (int i = 0; i < in.presented_size(); ++i) {
    const auto document = FromProto(static_cast<v1::Document>(in.presented(i)));
    if (!document || *document == core::Document::kNone) {
      v.push_back({"presented", "unknown or unspecified Document " +
                                    std::to_string(in.presented(i)) +
                                    " (leave the list empty when nothing was presented)"});
    } else if (c.presented.Has(*document)) {
      v.push_back({"presented", "DOCUMENT_" + std::string(core::ToString(*document)) +
                                    " is listed twice"});
    } else {
      c.presented.Add(*document);
    }
  }
  if (auto visit = FromProto(in.visit())) {
    c.visit = *visit;
  } else {
    v.push_back({"visit", in.visit() == v1::VISIT_KIND_UNSPECIFIED
                              ? "required: VISIT_KIND_FIRST_VISIT (初診) or VISIT_KIND_REVISIT (再診)"
                              : "unknown VisitKind " + std::to_string(in.visit())});
  }
  if (in.has_actual_days()) c.actual_days = in.actual_days();  // Decide checks the range
  for (int i = 0; i < in.known_eligibilities_size(); ++i) {
    const auto& k = in.known_eligibilities(i);
    const std::string at = "known_eligibilities[" + std::to_string(i) + "].";
    std::optional<fb::KnownEligibility::Source> source = FromProto(k.source());
    if (!source) {
      v.push_back({at + "source", k.source() == v1::KNOWN_ELIGIBILITY_SOURCE_UNSPECIFIED
                                      ? "required: INVALID_RESULT or PAST_VISITS"
                                      : "unknown KnownEligibilitySource " +
                                            std::to_string(k.source())});
    }
    fb::KnownEligibility known = KnownFromProto(k, at, v);
    if (source) known.source = *source;
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
  SetDecision(d, &out);
  *out.mutable_input() = ToProto(d.input);
  return out;
}

v1::FallbackDecision ToDecisionProto(const fb::Decision& d) {
  v1::FallbackDecision out;
  SetDecision(d, &out);
  return out;
}

// --- Fallback cases: enums ------------------------------------------------------------------

v1::Era ToProto(fb::Era era) { return ProtoEnum<v1::Era>(fb::ToString(era)); }
std::optional<fb::Era> FromProto(v1::Era era) {
  return CoreEnum<fb::Era>(era, fb::EraFromString);
}

// The 申立書's enums: UNSPECIFIED is "not ticked" (kUnset), which the 申立書 check names.
template <typename C, typename P, typename Parse>
std::optional<C> StatementEnum(P value, Parse parse) {
  if (static_cast<int>(value) == 0) return C::kUnset;
  return CoreEnum<C>(value, parse);
}

v1::InsuranceType ToProto(fb::InsuranceType type) {
  return ProtoEnum<v1::InsuranceType>(fb::ToString(type));
}
std::optional<fb::InsuranceType> FromProto(v1::InsuranceType type) {
  return StatementEnum<fb::InsuranceType>(type, fb::InsuranceTypeFromString);
}

v1::IssuedWhen ToProto(fb::IssuedWhen when) { return ProtoEnum<v1::IssuedWhen>(fb::ToString(when)); }
std::optional<fb::IssuedWhen> FromProto(v1::IssuedWhen when) {
  return StatementEnum<fb::IssuedWhen>(when, fb::IssuedWhenFromString);
}

v1::DeclaredRatio ToProto(fb::DeclaredRatio ratio) {
  return ProtoEnum<v1::DeclaredRatio>(fb::ToString(ratio));
}
std::optional<fb::DeclaredRatio> FromProto(v1::DeclaredRatio ratio) {
  return StatementEnum<fb::DeclaredRatio>(ratio, fb::DeclaredRatioFromString);
}

v1::DeclaredSex ToProto(fb::DeclaredSex sex) { return ProtoEnum<v1::DeclaredSex>(fb::ToString(sex)); }
std::optional<fb::DeclaredSex> FromProto(v1::DeclaredSex sex) {
  return StatementEnum<fb::DeclaredSex>(sex, fb::DeclaredSexFromString);
}

v1::FallbackEvidenceKind ToProto(app::EvidenceKind kind) {
  return ProtoEnum<v1::FallbackEvidenceKind>(app::EvidenceKindName(kind));
}
std::optional<app::EvidenceKind> FromProto(v1::FallbackEvidenceKind kind) {
  return CoreEnum<app::EvidenceKind>(kind, app::EvidenceKindFromString);
}

v1::FallbackReverifyState ToProto(app::ReverifyState state) {
  return ProtoEnum<v1::FallbackReverifyState>(app::ReverifyStateName(state));
}

v1::FallbackCaseState CaseStateFromString(const std::string& state) {
  return ProtoEnum<v1::FallbackCaseState>(state);
}

v1::FallbackCloseReason CloseReasonFromString(const std::string& reason) {
  return ProtoEnum<v1::FallbackCloseReason>(reason);
}

v1::FallbackTaskState TaskStateFromString(const std::string& state) {
  return ProtoEnum<v1::FallbackTaskState>(state);
}

v1::OralAnswerer OralAnswererFromString(const std::string& answered_by) {
  return ProtoEnum<v1::OralAnswerer>(answered_by);
}

// --- Fallback cases: the 申立書 and the evidence ----------------------------------------------

namespace {

v1::WarekiDate WarekiToProto(const fb::WarekiDate& date) {
  v1::WarekiDate out;
  out.set_era(ToProto(date.era));
  out.set_year(date.year);
  out.set_month(date.month);
  out.set_day(date.day);
  return out;
}

std::string Unknown(std::string_view type, int number) {
  return "unknown " + std::string(type) + " " + std::to_string(number);
}

// An optional date field: empty is absent; otherwise YYYY-MM-DD or a violation on `field`.
std::optional<core::oqs::OqsDate> OptionalDate(const std::string& text, const std::string& field,
                                               std::vector<core::FieldViolation>& v) {
  if (text.empty()) return std::nullopt;
  auto date = ParseDate(text);
  if (!date) v.push_back({field, "must be a calendar date as YYYY-MM-DD (Japan), or empty"});
  return date;
}

// Reads the form, naming problems relative to the form ("birth_date.era").
fb::InsuranceStatement StatementFromProto(const v1::InsuranceStatement& in, const std::string& at,
                                          std::vector<core::FieldViolation>& v) {
  fb::InsuranceStatement s;
  s.has_valid_insurance = in.has_valid_insurance();
  if (auto t = FromProto(in.insurance_type())) {
    s.insurance_type = *t;
  } else {
    v.push_back({at + "insurance_type", Unknown("InsuranceType", in.insurance_type())});
  }
  s.kokuho_union = in.kokuho_union();
  s.insurer_name = in.insurer_name();
  s.employer_name = in.employer_name();
  if (auto w = FromProto(in.issued_when())) {
    s.issued_when = *w;
  } else {
    v.push_back({at + "issued_when", Unknown("IssuedWhen", in.issued_when())});
  }
  if (auto r = FromProto(in.declared_ratio())) {
    s.declared_ratio = *r;
  } else {
    v.push_back({at + "declared_ratio", Unknown("DeclaredRatio", in.declared_ratio())});
  }
  s.name = in.name();
  s.furigana = in.furigana();
  if (in.has_birth_date()) {
    const auto& b = in.birth_date();
    fb::WarekiDate date;
    date.year = b.year();
    date.month = b.month();
    date.day = b.day();
    if (auto era = FromProto(b.era())) {
      date.era = *era;
      s.birth_date = date;  // whether it is a date of its era is Validate's to say
    } else {
      v.push_back({at + "birth_date.era", b.era() == v1::ERA_UNSPECIFIED
                                              ? "required: the 元号 of the birth date"
                                              : Unknown("Era", b.era())});
    }
  }
  if (auto sex = FromProto(in.sex())) {
    s.sex = *sex;
  } else {
    v.push_back({at + "sex", Unknown("DeclaredSex", in.sex())});
  }
  s.address = in.address();
  s.other_address = in.other_address();
  s.written_on = OptionalDate(in.written_on(), at + "written_on", v);
  s.signed_by_patient_or_guardian = in.signed_by_patient_or_guardian();
  s.signed_by_guardian = in.signed_by_guardian();
  s.guardian_relationship = in.guardian_relationship();
  s.phone = in.phone();
  return s;
}

core::DomainError InvalidRequest(std::string reason, std::string field, std::string description,
                                 std::string message_ja) {
  std::string message = field + ": " + description;
  return core::InvalidArgument(std::move(reason), std::move(message), std::move(message_ja),
                               {{std::move(field), std::move(description)}});
}

// An id the caller names: 1..128 printable ASCII characters (it is written into audit subjects).
bool PrintableId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) ok = ok && c > ' ' && c < 0x7f;
  return ok;
}

constexpr const char* kFilterJa = "検索条件の指定が正しくありません。";

}  // namespace

v1::InsuranceStatement ToProto(const fb::InsuranceStatement& s) {
  v1::InsuranceStatement out;
  out.set_has_valid_insurance(s.has_valid_insurance);
  out.set_insurance_type(ToProto(s.insurance_type));
  out.set_kokuho_union(s.kokuho_union);
  out.set_insurer_name(s.insurer_name);
  out.set_employer_name(s.employer_name);
  out.set_issued_when(ToProto(s.issued_when));
  out.set_declared_ratio(ToProto(s.declared_ratio));
  out.set_name(s.name);
  out.set_furigana(s.furigana);
  if (s.birth_date) *out.mutable_birth_date() = WarekiToProto(*s.birth_date);
  out.set_sex(ToProto(s.sex));
  out.set_address(s.address);
  out.set_other_address(s.other_address);
  if (s.written_on) out.set_written_on(IsoDate(*s.written_on));
  out.set_signed_by_patient_or_guardian(s.signed_by_patient_or_guardian);
  out.set_signed_by_guardian(s.signed_by_guardian);
  out.set_guardian_relationship(s.guardian_relationship);
  out.set_phone(s.phone);
  return out;
}

core::Result<fb::InsuranceStatement> FromProto(const v1::InsuranceStatement& statement,
                                               const std::string& field_prefix) {
  std::vector<core::FieldViolation> v;
  auto s = StatementFromProto(statement, "statement.", v);
  if (v.empty()) return s;
  // Labelled as evidence ("statement.…"), then named under the caller's prefix.
  auto e = fb::InvalidEvidence(std::move(v), "");
  for (auto& fv : e.field_violations) {
    fv.field = field_prefix + fv.field.substr(std::string("statement.").size());
  }
  return e;
}

core::Result<app::EvidenceInput> FromProto(const v1::FallbackEvidence& in,
                                           const std::string& field_prefix) {
  std::vector<core::FieldViolation> v;
  app::EvidenceInput e;
  if (auto kind = FromProto(in.kind())) {
    e.kind = *kind;
  } else {
    v.push_back({"kind", in.kind() == v1::FALLBACK_EVIDENCE_KIND_UNSPECIFIED
                             ? "required: METHOD_APPLIED, CARD_FACE, PATIENT_CONTACTED or "
                               "ELIGIBILITY_FOUND"
                             : Unknown("FallbackEvidenceKind", in.kind())});
  }
  if (in.method() != v1::FALLBACK_METHOD_UNSPECIFIED) {
    if (auto method = FromProto(in.method())) {
      e.method = *method;
    } else {
      v.push_back({"method", Unknown("FallbackMethod", in.method())});
    }
  } else if (in.kind() == v1::FALLBACK_EVIDENCE_KIND_METHOD_APPLIED) {
    v.push_back({"method", "required for METHOD_APPLIED: the method applied"});
  }
  e.staff_id = in.staff_id();
  if (in.has_eligibility()) {
    auto known = KnownFromProto(in.eligibility(), "eligibility.", v);
    known.source = fb::KnownEligibility::Source::kConfirmed;
    e.eligibility = std::move(known);
  }
  e.portal_pdf = in.portal_pdf();
  if (in.has_oral()) {
    app::OralConfirmation oral;
    const std::string by = EnumStableNameOf(v1::OralAnswerer_descriptor(), in.oral().answered_by()).value_or("");
    if (in.oral().answered_by() == v1::ORAL_ANSWERER_UNSPECIFIED || by.empty()) {
      v.push_back({"oral.answered_by",
                   in.oral().answered_by() == v1::ORAL_ANSWERER_UNSPECIFIED
                       ? "required: PATIENT, FAMILY or GUARDIAN"
                       : Unknown("OralAnswerer", in.oral().answered_by())});
    }
    oral.answered_by = by;
    oral.no_change_confirmed = in.oral().no_change_confirmed();
    if (in.oral().held_eligibility_index() < 0) {
      v.push_back({"oral.held_eligibility_index",
                   "must be the 0-based index of a known eligibility"});
    }
    oral.held_eligibility_index = in.oral().held_eligibility_index();
    e.oral = std::move(oral);
  }
  if (in.has_statement()) e.statement = StatementFromProto(in.statement(), "statement.", v);
  if (in.has_amount_collected_yen()) {
    if (in.amount_collected_yen() < 0) {
      v.push_back({"amount_collected_yen", "must not be negative (yen)"});
    }
    e.amount_collected_yen = in.amount_collected_yen();
  }
  if (in.has_card_face()) {
    const auto& f = in.card_face();
    app::CardFace face;
    face.name = f.name();
    if (auto sex = FromProto(f.sex())) {
      face.sex = *sex;
    } else {
      v.push_back({"card_face.sex", Unknown("DeclaredSex", f.sex())});
    }
    face.birth_date = OptionalDate(f.birth_date(), "card_face.birth_date", v);
    face.address = f.address();
    face.insurer_name = f.insurer_name();
    e.card_face = std::move(face);
  }
  e.contacted_on = OptionalDate(in.contacted_on(), "contacted_on", v);
  if (v.empty()) return e;
  return fb::InvalidEvidence(std::move(v), field_prefix);
}

// --- Fallback cases: requests ----------------------------------------------------------------

core::Result<app::OpenCaseInput> FromProto(const v1::OpenCaseRequest& request,
                                           std::string client_key,
                                           const core::oqs::OqsDate& today) {
  app::OpenCaseInput in;
  in.client_key = std::move(client_key);
  if (!request.check_in_id().empty()) {
    if (auto bad = CheckCheckInId(request.check_in_id())) return *bad;
    in.check_in_id = request.check_in_id();
  }
  if (request.has_fallback_case()) {
    auto c = FromProto(request.fallback_case(), today, "fallback_case.");
    if (!c) return c.error();
    in.input = std::move(c).value();
  } else if (in.check_in_id.empty()) {
    return core::InvalidArgument(
        kInvalidCase, "fallback_case is required without check_in_id",
        "代替確認の入力がありません。確認できない理由・初診/再診・年齢区分を入力してください。",
        {{"fallback_case", "required without check_in_id"}});
  }
  return in;
}

core::Result<app::ClaimRouteInput> FromProto(const v1::ChooseClaimRouteRequest& request) {
  app::ClaimRouteInput in;
  if (request.expected_route() != v1::CLAIM_ROUTE_UNSPECIFIED) {
    auto route = FromProto(request.expected_route());
    if (!route) {
      return InvalidRequest("INVALID_EXPECTED_ROUTE", "expected_route",
                            Unknown("ClaimRoute", request.expected_route()),
                            "想定する請求方法の指定が正しくありません。");
    }
    in.expected = *route;
  }
  if (request.has_actual_days_at_claim()) in.actual_days_at_claim = request.actual_days_at_claim();
  return in;
}

core::Result<app::CloseCaseInput> FromProto(const v1::CloseCaseRequest& request) {
  app::CloseCaseInput in;
  switch (request.reason()) {
    case v1::FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED: in.reason = "CLAIM_WORK_FINISHED"; break;
    case v1::FALLBACK_CLOSE_REASON_CANCELLED: in.reason = "CANCELLED"; break;
    default:
      return InvalidRequest("INVALID_CLOSE_REASON", "reason",
                            "required: CLAIM_WORK_FINISHED or CANCELLED",
                            "終了の理由（請求事務の完了または取消）を指定してください。");
  }
  in.keep_personal_data = request.keep_personal_data();
  return in;
}

core::Result<app::CaseFilter> FromProto(const v1::ListCasesRequest& request) {
  app::CaseFilter f;
  if (request.state() != v1::FALLBACK_CASE_STATE_UNSPECIFIED) {
    const std::string state =
        EnumStableNameOf(v1::FallbackCaseState_descriptor(), request.state()).value_or("");
    if (state.empty()) {
      return InvalidRequest("INVALID_FALLBACK_FILTER", "state",
                            Unknown("FallbackCaseState", request.state()), kFilterJa);
    }
    f.state = state;
  }
  if (!request.day().empty()) {
    if (!ParseDate(request.day())) {
      return InvalidRequest("INVALID_FALLBACK_FILTER", "day",
                            "must be a calendar date as YYYY-MM-DD, or empty", kFilterJa);
    }
    f.day = request.day();
  }
  if (!request.check_in_id().empty()) {
    if (!PrintableId(request.check_in_id())) {
      return InvalidRequest("INVALID_FALLBACK_FILTER", "check_in_id",
                            "1..128 printable ASCII characters, or empty", kFilterJa);
    }
    f.check_in_id = request.check_in_id();
  }
  if (request.limit() < 0 || request.limit() > 1000) {
    return InvalidRequest("INVALID_FALLBACK_FILTER", "limit", "0 (default 200) to 1000",
                          kFilterJa);
  }
  if (request.limit() > 0) f.limit = request.limit();
  return f;
}

core::Result<fb::TaskQuery> FromProto(const v1::ListTasksRequest& request) {
  fb::TaskQuery q;
  if (!request.case_id().empty()) {
    if (!PrintableId(request.case_id())) {
      return InvalidRequest("INVALID_FALLBACK_FILTER", "case_id",
                            "1..128 printable ASCII characters, or empty", kFilterJa);
    }
    q.case_id = request.case_id();
  }
  if (request.state() != v1::FALLBACK_TASK_STATE_UNSPECIFIED) {
    const std::string state =
        EnumStableNameOf(v1::FallbackTaskState_descriptor(), request.state()).value_or("");
    if (state.empty()) {
      return InvalidRequest("INVALID_FALLBACK_FILTER", "state",
                            Unknown("FallbackTaskState", request.state()), kFilterJa);
    }
    q.state = state;
  }
  if (!request.due_on_or_before().empty()) {
    if (!ParseDate(request.due_on_or_before())) {
      return InvalidRequest("INVALID_FALLBACK_FILTER", "due_on_or_before",
                            "must be a calendar date as YYYY-MM-DD, or empty", kFilterJa);
    }
    q.due_on_or_before = request.due_on_or_before();
  }
  if (request.limit() < 0 || request.limit() > 1000) {
    return InvalidRequest("INVALID_FALLBACK_FILTER", "limit", "0 (default 200) to 1000",
                          kFilterJa);
  }
  if (request.limit() > 0) q.limit = request.limit();
  return q;
}

core::Result<std::string> TaskOutcomeFromProto(v1::FallbackTaskOutcome outcome) {
  switch (outcome) {
    case v1::FALLBACK_TASK_OUTCOME_UNSPECIFIED:
    case v1::FALLBACK_TASK_OUTCOME_DONE: return std::string("DONE");
    case v1::FALLBACK_TASK_OUTCOME_CLAIM_RETURNED: return std::string("CLAIM_RETURNED");
    default:
      return InvalidRequest("INVALID_TASK_OUTCOME", "outcome",
                            Unknown("FallbackTaskOutcome", outcome) +
                                ": DONE or CLAIM_RETURNED",
                            "作業結果の指定が正しくありません。");
  }
}

// --- Fallback cases: responses ---------------------------------------------------------------

v1::FallbackTask ToProto(const fb::Task& t) {
  v1::FallbackTask out;
  out.set_task_id(t.id);
  out.set_case_id(t.case_id);
  out.set_kind(t.kind);
  out.set_state(TaskStateFromString(t.state));
  out.set_due_day(t.due_day);
  *out.mutable_created_at() = ToTimestamp(t.created_at);
  if (t.done_at) *out.mutable_done_at() = ToTimestamp(*t.done_at);
  out.set_done_by(t.done_by);
  return out;
}

v1::FallbackCaseRecord ToProto(const app::FallbackCaseView& view) {
  v1::FallbackCaseRecord out;
  out.set_case_id(view.id);
  out.set_version(view.version);
  out.set_check_in_id(view.check_in_id);
  out.set_state(CaseStateFromString(view.state));
  out.set_day(view.day);
  *out.mutable_opened_at() = ToTimestamp(view.opened_at);
  *out.mutable_updated_at() = ToTimestamp(view.updated_at);
  if (view.closed_at) *out.mutable_closed_at() = ToTimestamp(*view.closed_at);
  out.set_opened_by(view.opened_by);
  out.set_close_reason(CloseReasonFromString(view.close_reason));

  *out.mutable_input() = ToProto(view.input);
  for (const auto& fact : view.unconfirmed_facts) out.add_unconfirmed_facts(fact);
  if (view.decision) SetDecision(*view.decision, out.mutable_decision());
  if (view.decision_error) {
    const core::DomainError e = ToApiError(*view.decision_error, "input.");
    auto* de = out.mutable_decision_error();
    de->set_reason(e.reason);
    de->set_message(e.message);
    de->set_message_ja(e.message_ja);
    for (const auto& fv : e.field_violations) {
      auto* v = de->add_field_violations();
      v->set_field(fv.field);
      v->set_description(fv.description);
    }
    for (const auto& [key, value] : e.metadata) (*de->mutable_metadata())[key] = value;
  }

  for (const auto& ev : view.evidence) {
    auto* r = out.add_evidence();
    r->set_seq(ev.seq);
    r->set_kind(ToProto(ev.kind));
    if (ev.method) r->set_method(ToProto(*ev.method));
    r->set_staff_id(ev.staff_id);
    *r->mutable_at() = ToTimestamp(ev.at);
    r->set_rule_id(ev.rule_id);
    r->set_eligibility_recorded(ev.eligibility_recorded);
    r->set_statement_recorded(ev.statement_recorded);
    r->set_card_face_recorded(ev.card_face_recorded);
    if (ev.amount_collected_yen) r->set_amount_collected_yen(*ev.amount_collected_yen);
    if (ev.contacted_on) r->set_contacted_on(*ev.contacted_on);
    r->set_oral_answered_by(OralAnswererFromString(ev.oral_answered_by));
  }
  if (view.claim) {
    const auto& c = *view.claim;
    auto* claim = out.mutable_claim();
    claim->set_route(ToProto(c.route));
    claim->set_route_name_ja(std::string(fb::ClaimRouteNameJa(c.route)));
    SetRule(c.rule, claim->mutable_rule());
    for (const auto& note : c.notes) SetRule(note, claim->add_notes());
    claim->set_engine_version(c.engine_version);
    *claim->mutable_chosen_at() = ToTimestamp(c.chosen_at);
    claim->set_chosen_by(c.chosen_by);
  }
  out.set_tekiyo(view.tekiyo);
  if (view.confirmed) SetKnown(*view.confirmed, out.mutable_confirmed());
  out.set_has_personal_data(view.has_personal_data);
  if (view.purged_at) *out.mutable_purged_at() = ToTimestamp(*view.purged_at);

  out.set_reverify(ToProto(view.reverify));
  out.set_reverify_attempts(view.reverify_attempts);
  for (const auto& t : view.tasks) *out.add_tasks() = ToProto(t);
  return out;
}

// --- Fallback cases: shared request checks ---------------------------------------------------

core::DomainError FallbackCasesUnavailable() {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "FALLBACK_CASES_UNAVAILABLE";
  e.message = "fallback cases are not available in this daemon";
  e.message_ja = "代替確認の記録機能が利用できません。システム管理者に連絡してください。";
  return e;
}

std::optional<core::DomainError> CheckCaseId(const std::string& case_id) {
  if (PrintableId(case_id)) return std::nullopt;
  return InvalidRequest("INVALID_CASE_ID", "case_id", "required: 1..128 printable ASCII characters",
                        "代替確認の記録IDの指定が正しくありません。");
}

std::optional<core::DomainError> CheckTaskId(const std::string& task_id) {
  if (PrintableId(task_id)) return std::nullopt;
  return InvalidRequest("INVALID_TASK_ID", "task_id", "required: 1..128 printable ASCII characters",
                        "作業IDの指定が正しくありません。");
}

std::string CaseSubject(const std::string& case_id) { return "fallback_case:" + case_id; }

std::string TaskSubject(const std::string& task_id) { return "fallback_task:" + task_id; }

}  // namespace onshid::api
