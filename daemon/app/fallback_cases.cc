#include "app/fallback_cases.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "app/checkin_record.h"
#include "app/logging.h"
#include "failpoint/failpoint.h"

namespace onshid::app {
namespace {

using json = nlohmann::json;
namespace fb = core::fallback;
namespace ck = core::checkin;

constexpr const char* kDaemonActor = "onshid";

// ---------------------------------------------------------------------------------------------
// Errors

core::DomainError Error(core::ErrorKind kind, std::string reason, std::string message,
                        std::string message_ja, std::vector<core::FieldViolation> fields = {}) {
  core::DomainError e;
  e.kind = kind;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja = std::move(message_ja);
  e.field_violations = std::move(fields);
  return e;
}

core::DomainError InvalidEvidence(std::vector<core::FieldViolation> fields) {
  std::string ja = "記録内容に不足または誤りがあります。";
  for (const auto& f : fields) ja += "（" + f.field + "）";
  return Error(core::ErrorKind::kInvalidArgument, "INVALID_EVIDENCE",
               "the evidence is incomplete or wrong; see the field violations", std::move(ja),
               std::move(fields));
}

core::DomainError CaseNotFound(const std::string& id) {
  auto e = Error(core::ErrorKind::kNotFound, "CASE_NOT_FOUND", "no fallback case " + id,
                 "指定された代替確認の記録（ケース）が見つかりません。");
  e.metadata = {{"case_id", id}};
  return e;
}

core::DomainError CaseClosed(const std::string& id) {
  auto e = Error(core::ErrorKind::kFailedPrecondition, "CASE_CLOSED",
                 "the fallback case is closed; nothing more can be recorded",
                 "このケースは完了済みのため、追加の記録はできません。");
  e.metadata = {{"case_id", id}};
  return e;
}

// ---------------------------------------------------------------------------------------------
// Names

template <typename E, std::size_t N>
std::optional<E> ByName(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 4> kEvidenceKinds = {
    "METHOD_APPLIED", "CARD_FACE", "PATIENT_CONTACTED", "ELIGIBILITY_FOUND"};
constexpr std::array<std::string_view, 5> kReverifyStates = {"NONE", "QUEUED", "SENT", "DONE",
                                                             "GAVE_UP"};
constexpr std::array<std::string_view, 3> kAges = {"UNDER_70", "70_TO_74", "KOUKI"};
constexpr std::array<std::string_view, 4> kNewborns = {"NO", "CARD_REGISTERED",
                                                       "CARD_NOT_REGISTERED",
                                                       "REGISTRATION_UNCHECKED"};
constexpr std::array<std::string_view, 3> kSources = {"INVALID_RESULT", "PAST_VISITS",
                                                      "CONFIRMED"};
constexpr std::array<std::string_view, 2> kVisits = {"FIRST_VISIT", "REVISIT"};

std::optional<fb::FallbackCause> CauseByName(std::string_view text) {
  return core::FallbackCauseFromString(text);
}
std::optional<fb::Method> MethodByName(std::string_view text) {
  for (auto m : fb::kAllMethods) {
    if (fb::MethodName(m) == text) return m;
  }
  return std::nullopt;
}
std::optional<fb::ClaimRoute> RouteByName(std::string_view text) {
  for (int i = 0; i <= static_cast<int>(fb::ClaimRoute::kSelfPay); ++i) {
    const auto r = static_cast<fb::ClaimRoute>(i);
    if (fb::ClaimRouteName(r) == text) return r;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Dates and times

std::string Iso(const core::oqs::OqsDate& d) { return IsoDate(d.ymd()); }
std::optional<core::oqs::OqsDate> FromIso(std::string_view text) {
  const auto ymd = ParseIsoDate(text);
  if (!ymd) return std::nullopt;
  return core::oqs::OqsDate::FromSysDays(std::chrono::sys_days{*ymd});
}
json OptDate(const std::optional<core::oqs::OqsDate>& d) { return d ? json(Iso(*d)) : json(); }
std::optional<core::oqs::OqsDate> ReadDate(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
  return FromIso(j[key].get<std::string>());
}
std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// The last day of the month of `d` (claims for a month are made after it ends).
core::oqs::OqsDate MonthEnd(const core::oqs::OqsDate& d) {
  const auto ymd = d.ymd();
  return core::oqs::OqsDate::FromSysDays(
      std::chrono::sys_days{std::chrono::year_month_day_last{ymd.year(),
                                                             std::chrono::month_day_last{ymd.month()}}});
}
core::oqs::OqsDate AddDays(const core::oqs::OqsDate& d, int days) {
  return core::oqs::OqsDate::FromSysDays(d.ToSysDays() + std::chrono::days{days});
}

// ---------------------------------------------------------------------------------------------
// JSON forms. Body forms carry no personal data; the personal ones are marked.

json RuleJson(const fb::Rule& r) {
  return {{"id", r.id}, {"source", r.source}, {"reason", r.reason}, {"reason_ja", r.reason_ja}};
}
fb::Rule RuleFrom(const json& j) {
  return {Str(j, "id"), Str(j, "source"), Str(j, "reason"), Str(j, "reason_ja")};
}

// Personal: the identifiers.
json EligibilityJson(const fb::KnownEligibility& k) {
  json j = {{"source", kSources[static_cast<int>(k.source)]},
            {"insurer_number", k.insurer_number},
            {"symbol", k.symbol},
            {"number", k.number},
            {"branch", k.branch},
            {"insurer_name", k.insurer_name}};
  if (k.ratio_wari) j["ratio_wari"] = *k.ratio_wari;
  return j;
}
fb::KnownEligibility EligibilityFrom(const json& j) {
  fb::KnownEligibility k;
  k.source = ByName<fb::KnownEligibility::Source>(kSources, Str(j, "source"))
                 .value_or(fb::KnownEligibility::Source::kPastVisits);
  k.insurer_number = Str(j, "insurer_number");
  k.symbol = Str(j, "symbol");
  k.number = Str(j, "number");
  k.branch = Str(j, "branch");
  k.insurer_name = Str(j, "insurer_name");
  if (j.contains("ratio_wari") && j["ratio_wari"].is_number_integer()) {
    k.ratio_wari = j["ratio_wari"].get<int>();
  }
  return k;
}

// The case inputs without the identifiers of known eligibilities (those are personal).
json InputJson(const fb::FallbackCase& c) {
  json known = json::array();
  for (const auto& k : c.known_eligibilities) {
    json e = {{"source", kSources[static_cast<int>(k.source)]}};
    if (k.ratio_wari) e["ratio_wari"] = *k.ratio_wari;
    known.push_back(std::move(e));
  }
  json presented = json::array();
  for (auto d : c.presented.List()) presented.push_back(core::ToString(d));
  return {{"cause", core::ToString(c.cause)},
          {"presented", std::move(presented)},
          {"visit", kVisits[static_cast<int>(c.visit)]},
          {"actual_days", c.actual_days},
          {"known_eligibilities", std::move(known)},
          {"has_valid_insurance_now", c.has_valid_insurance_now},
          {"facility",
           {{"oqs_available", c.facility.oqs_available},
            {"reads_smartphones", c.facility.reads_smartphones},
            {"emergency_mode_active", c.facility.emergency_mode_active}}},
          {"date", OptDate(c.date)},
          {"age", kAges[static_cast<int>(c.age)]},
          {"newborn", kNewborns[static_cast<int>(c.newborn)]},
          {"certificate_expiry", OptDate(c.certificate_expiry)}};
}

// `known` (personal, may be absent after a purge) supplies the identifiers by position.
fb::FallbackCase InputFrom(const json& j, const json* known) {
  fb::FallbackCase c;
  c.cause = CauseByName(Str(j, "cause")).value_or(fb::FallbackCause::kNetworkError);
  const json p = j.value("presented", json::array());
  if (p.is_array()) {
    for (const auto& name : p) {
      if (auto d = name.is_string() ? core::DocumentFromString(name.get<std::string>())
                                    : std::nullopt) {
        c.presented.Add(*d);
      }
    }
  } else if (p.is_object()) {
    // Bodies written before the shared vocabulary kept one flag per kind of document.
    const std::pair<const char*, core::Document> legacy[] = {
        {"my_number_card", core::Document::kMyNumberCard},
        {"smartphone", core::Document::kMyNumberSmartphone},
        {"qualification_certificate", core::Document::kQualificationCertificateCard},
        {"health_insurance_card", core::Document::kHealthInsuranceCard},
        {"eligibility_notice", core::Document::kQualificationNotice}};
    for (const auto& [flag, document] : legacy) {
      if (p.value(flag, false)) c.presented.Add(document);
    }
  }
  c.visit = ByName<fb::VisitKind>(kVisits, Str(j, "visit")).value_or(fb::VisitKind::kFirstVisit);
  c.actual_days = j.value("actual_days", 1);
  const json ks = j.value("known_eligibilities", json::array());
  for (std::size_t i = 0; i < ks.size(); ++i) {
    fb::KnownEligibility k;
    if (known && known->is_array() && i < known->size()) k = EligibilityFrom((*known)[i]);
    k.source = ByName<fb::KnownEligibility::Source>(kSources, Str(ks[i], "source"))
                   .value_or(fb::KnownEligibility::Source::kPastVisits);
    if (ks[i].contains("ratio_wari")) k.ratio_wari = ks[i]["ratio_wari"].get<int>();
    c.known_eligibilities.push_back(std::move(k));
  }
  c.has_valid_insurance_now = j.value("has_valid_insurance_now", true);
  const json f = j.value("facility", json::object());
  c.facility.oqs_available = f.value("oqs_available", true);
  c.facility.reads_smartphones = f.value("reads_smartphones", false);
  c.facility.emergency_mode_active = f.value("emergency_mode_active", false);
  c.date = ReadDate(j, "date");
  c.age = ByName<fb::AgeBracket>(kAges, Str(j, "age")).value_or(fb::AgeBracket::kUnder70);
  c.newborn = ByName<fb::Newborn>(kNewborns, Str(j, "newborn")).value_or(fb::Newborn::kNo);
  c.certificate_expiry = ReadDate(j, "certificate_expiry");
  return c;
}

json KnownIdentifiersJson(const fb::FallbackCase& c) {
  json a = json::array();
  for (const auto& k : c.known_eligibilities) a.push_back(EligibilityJson(k));
  return a;
}

// What the engine decided, as ids (for the proof of attempt).
json DecisionSummary(const core::Result<fb::Decision>& d) {
  if (!d) {
    json fields = json::array();
    for (const auto& f : d.error().field_violations) fields.push_back(f.field);
    return {{"error", d.error().reason}, {"fields", std::move(fields)}};
  }
  json methods = json::array();
  for (const auto& m : d->methods) {
    methods.push_back({{"method", fb::MethodName(m.method)},
                       {"allowed", m.allowed},
                       {"rule", m.rule.id},
                       {"leads_to", m.allowed ? json(fb::ClaimRouteName(m.leads_to)) : json()}});
  }
  json notes = json::array();
  for (const auto& n : d->charge_notes) notes.push_back(n.id);
  return {{"engine_version", d->engine_version},
          {"first_choice", fb::MethodName(d->first_choice)},
          {"charge", fb::ChargeName(d->charge)},
          {"charge_rule", d->charge_rule.id},
          {"charge_notes", std::move(notes)},
          {"methods", std::move(methods)}};
}

// Personal: the 申立書.
json StatementJson(const fb::InsuranceStatement& s) {
  json j = {{"has_valid_insurance", s.has_valid_insurance},
            {"insurance_type", static_cast<int>(s.insurance_type)},
            {"kokuho_union", s.kokuho_union},
            {"insurer_name", s.insurer_name},
            {"employer_name", s.employer_name},
            {"issued_when", static_cast<int>(s.issued_when)},
            {"declared_ratio", static_cast<int>(s.declared_ratio)},
            {"name", s.name},
            {"furigana", s.furigana},
            {"sex", static_cast<int>(s.sex)},
            {"address", s.address},
            {"other_address", s.other_address},
            {"written_on", OptDate(s.written_on)},
            {"signed_by_patient_or_guardian", s.signed_by_patient_or_guardian},
            {"guardian_relationship", s.guardian_relationship},
            {"signed_by_guardian", s.signed_by_guardian},
            {"phone", s.phone}};
  if (s.birth_date) {
    j["birth_date"] = {{"era", static_cast<int>(s.birth_date->era)},
                       {"year", s.birth_date->year},
                       {"month", s.birth_date->month},
                       {"day", s.birth_date->day}};
  }
  return j;
}
fb::InsuranceStatement StatementFrom(const json& j) {
  fb::InsuranceStatement s;
  s.has_valid_insurance = j.value("has_valid_insurance", false);
  s.insurance_type = static_cast<fb::InsuranceType>(j.value("insurance_type", 0));
  s.kokuho_union = j.value("kokuho_union", false);
  s.insurer_name = Str(j, "insurer_name");
  s.employer_name = Str(j, "employer_name");
  s.issued_when = static_cast<fb::IssuedWhen>(j.value("issued_when", 0));
  s.declared_ratio = static_cast<fb::DeclaredRatio>(j.value("declared_ratio", 0));
  s.name = Str(j, "name");
  s.furigana = Str(j, "furigana");
  if (j.contains("birth_date") && j["birth_date"].is_object()) {
    const json& b = j["birth_date"];
    s.birth_date = fb::WarekiDate{static_cast<fb::Era>(b.value("era", 0)), b.value("year", 0),
                                  b.value("month", 0), b.value("day", 0)};
  }
  s.sex = static_cast<fb::DeclaredSex>(j.value("sex", 0));
  s.address = Str(j, "address");
  s.other_address = Str(j, "other_address");
  s.written_on = ReadDate(j, "written_on");
  s.signed_by_patient_or_guardian = j.value("signed_by_patient_or_guardian", false);
  s.guardian_relationship = Str(j, "guardian_relationship");
  s.signed_by_guardian = j.value("signed_by_guardian", false);
  s.phone = Str(j, "phone");
  return s;
}

// Personal: the card face after error 011.
json CardFaceJson(const CardFace& c) {
  return {{"name", c.name},         {"sex", static_cast<int>(c.sex)},
          {"birth_date", OptDate(c.birth_date)}, {"address", c.address},
          {"insurer_name", c.insurer_name}};
}

json EvidenceJson(const CaseEvidence& e) {
  json j = {{"seq", e.seq},
            {"kind", kEvidenceKinds[static_cast<int>(e.kind)]},
            {"staff_id", e.staff_id},
            {"at", UnixMicros(e.at)},
            {"rule_id", e.rule_id},
            {"eligibility_recorded", e.eligibility_recorded},
            {"statement_recorded", e.statement_recorded},
            {"card_face_recorded", e.card_face_recorded},
            {"oral_answered_by", e.oral_answered_by}};
  if (e.method) j["method"] = fb::MethodName(*e.method);
  if (e.amount_collected_yen) j["amount_collected_yen"] = *e.amount_collected_yen;
  if (e.contacted_on) j["contacted_on"] = *e.contacted_on;
  return j;
}
CaseEvidence EvidenceFrom(const json& j) {
  CaseEvidence e;
  e.seq = j.value("seq", std::int64_t{0});
  e.kind = ByName<EvidenceKind>(kEvidenceKinds, Str(j, "kind")).value_or(EvidenceKind::kMethodApplied);
  if (j.contains("method")) e.method = MethodByName(Str(j, "method"));
  e.staff_id = Str(j, "staff_id");
  e.at = FromUnixMicros(j.value("at", std::int64_t{0}));
  e.rule_id = Str(j, "rule_id");
  e.eligibility_recorded = j.value("eligibility_recorded", false);
  e.statement_recorded = j.value("statement_recorded", false);
  e.card_face_recorded = j.value("card_face_recorded", false);
  e.oral_answered_by = Str(j, "oral_answered_by");
  if (j.contains("amount_collected_yen")) e.amount_collected_yen = j["amount_collected_yen"].get<int>();
  if (j.contains("contacted_on")) e.contacted_on = Str(j, "contacted_on");
  return e;
}

json ClaimJson(const ClaimSummary& c) {
  json notes = json::array();
  for (const auto& n : c.notes) notes.push_back(RuleJson(n));
  return {{"route", fb::ClaimRouteName(c.route)}, {"rule", RuleJson(c.rule)},
          {"notes", std::move(notes)},            {"engine_version", c.engine_version},
          {"chosen_at", UnixMicros(c.chosen_at)},     {"chosen_by", c.chosen_by}};
}
ClaimSummary ClaimFrom(const json& j) {
  ClaimSummary c;
  c.route = RouteByName(Str(j, "route")).value_or(fb::ClaimRoute::kSelfPay);
  c.rule = RuleFrom(j.value("rule", json::object()));
  for (const auto& n : j.value("notes", json::array())) c.notes.push_back(RuleFrom(n));
  c.engine_version = Str(j, "engine_version");
  c.chosen_at = FromUnixMicros(j.value("chosen_at", std::int64_t{0}));
  c.chosen_by = Str(j, "chosen_by");
  return c;
}

// ---------------------------------------------------------------------------------------------
// From a check-in to the engine's inputs

struct Derived {
  fb::FallbackCase input;
  std::vector<std::string> unconfirmed;
};

// What the patient presented, as the case sees it: a face-reader result means the card was on
// the reader.
core::DocumentSet DocumentsOf(const CheckInRecord& r) {
  core::DocumentSet d(r.documents);
  if (r.channel == ck::Channel::kFaceReader) d.Add(core::Document::kMyNumberCard);
  return d;
}

Derived DeriveInput(const CheckInView& view, const std::optional<ResultView>& result,
                    const FallbackOptions& options) {
  const CheckInRecord& r = view.record;
  Derived out;
  fb::FallbackCase& c = out.input;
  // The check-in's cause is the shared one; without one (a check-in not decided yet) the
  // terminal is assumed unreachable.
  c.cause = r.cause.value_or(core::FallbackCause::kNetworkError);
  c.presented = DocumentsOf(r);
  c.visit = r.visit.kind;
  c.actual_days = std::clamp(r.visit.real_days_this_month + 1, 1, 31);
  c.facility.reads_smartphones = options.reads_smartphones;
  c.date = FromIso(r.day);
  std::optional<core::oqs::OqsDate> birth;
  if (result && result->parsed) {
    if (auto old = fb::OldEligibilityOf(*result->parsed)) c.known_eligibilities.push_back(*old);
    for (const auto& q : result->parsed->results) {
      if (q.birthdate && q.birthdate->value) birth = *q.birthdate->value;
      break;
    }
  }
  if (!birth && r.query && r.query->birth_date.size() == 8) {
    if (auto b = core::oqs::OqsDate::Parse(r.query->birth_date)) birth = *b;
  }
  if (birth && c.date) {
    const int age = fb::AgeOn(*birth, *c.date);
    c.age = age >= 75 ? fb::AgeBracket::kKouki
                      : age >= 70 ? fb::AgeBracket::k70To74 : fb::AgeBracket::kUnder70;
  } else {
    out.unconfirmed.push_back("age");
  }
  out.unconfirmed.push_back("has_valid_insurance_now");
  if (c.visit == fb::VisitKind::kRevisit) out.unconfirmed.push_back("known_eligibilities");
  return out;
}

bool ShowsEligibility(fb::Method m) {
  switch (m) {
    case fb::Method::kVisualCheckMode:
    case fb::Method::kQualificationCertificate:
    case fb::Method::kProvisionalQuery:
    case fb::Method::kPortalScreen:
    case fb::Method::kEligibilityNotice: return true;
    default: return false;
  }
}

// An event about one case.
core::Event CaseEvent(core::SystemTime at, const std::string& case_id, std::string type,
                      std::string reason) {
  core::Event e;
  e.at = at;
  e.type = std::move(type);
  e.attributes = {{"case_id", case_id}};
  if (!reason.empty()) e.attributes.emplace_back("reason", std::move(reason));
  return e;
}

}  // namespace

std::string_view EvidenceKindName(EvidenceKind kind) {
  return kEvidenceKinds[static_cast<int>(kind)];
}
std::optional<EvidenceKind> EvidenceKindFromString(std::string_view name) {
  return ByName<EvidenceKind>(kEvidenceKinds, name);
}

std::string_view ReverifyStateName(ReverifyState s) { return kReverifyStates[static_cast<int>(s)]; }

// ---------------------------------------------------------------------------------------------
// Loading and saving

struct FallbackCaseUseCases::Loaded {
  fb::CaseRow row;
  json body = json::object();
  json personal = json::object();  // {} when none is stored

  fb::FallbackCase Input() const {
    const json* known = personal.contains("known") ? &personal["known"] : nullptr;
    return InputFrom(body.value("input", json::object()), known);
  }
  void SetInput(const fb::FallbackCase& c) {
    body["input"] = InputJson(c);
    if (c.known_eligibilities.empty()) {
      personal.erase("known");
    } else {
      personal["known"] = KnownIdentifiersJson(c);
    }
  }
  std::vector<CaseEvidence> Evidence() const {
    std::vector<CaseEvidence> out;
    for (const auto& e : body.value("evidence", json::array())) out.push_back(EvidenceFrom(e));
    return out;
  }
  ReverifyState Reverify() const {
    return ByName<ReverifyState>(kReverifyStates,
                                 Str(body.value("reverify", json::object()), "state"))
        .value_or(ReverifyState::kNone);
  }
  void SetReverify(ReverifyState s, int attempts) {
    body["reverify"] = {{"state", ReverifyStateName(s)}, {"attempts", attempts}};
  }
  int ReverifyAttempts() const {
    return body.value("reverify", json::object()).value("attempts", 0);
  }
  bool Closed() const { return row.state == "CLOSED"; }
  // Request keys of the staff actions applied to this case (the most recent 32), written with the
  // change itself: an action retried after its outcome was lost is recognised, not applied twice.
  bool Applied(const std::string& key) const {
    if (key.empty()) return false;
    for (const auto& k : body.value("applied_requests", json::array())) {
      if (k.is_string() && k.get<std::string>() == key) return true;
    }
    return false;
  }
  void MarkApplied(const std::string& key) {
    if (key.empty() || Applied(key)) return;
    json& keys = body["applied_requests"];
    if (!keys.is_array()) keys = json::array();
    keys.push_back(key);
    while (keys.size() > 32) keys.erase(keys.begin());
  }
  // Adds a new open task to `with`, numbered by the case's task counter, with its event.
  void AddTask(fb::CaseWrite& with, std::string kind, const core::oqs::OqsDate& due, json why,
               core::SystemTime now) {
    const int n = body.value("task_seq", 0) + 1;
    body["task_seq"] = n;
    fb::Task t;
    t.id = TaskIdPrefix() + "_" + std::to_string(n);
    t.case_id = row.id;
    t.kind = std::move(kind);
    t.state = "OPEN";
    t.due_day = Iso(due);
    t.created_at = now;
    t.body = why.dump();
    auto e = CaseEvent(now, row.id, "fallback.task_created", t.kind);
    e.attributes.emplace_back("task_id", t.id);
    with.events.push_back(std::move(e));
    with.tasks.push_back(std::move(t));
  }
  std::string TaskIdPrefix() const {
    return "tk_" + row.id.substr(row.id.rfind('_') == std::string::npos ? 0 : row.id.rfind('_') + 1);
  }
};

FallbackCaseUseCases::FallbackCaseUseCases(fb::FallbackCaseStore& store, core::Store& audit,
                                           CaseCheckIns* checkins, const core::Clock& clock,
                                           core::IdSource& ids, Executor& executor,
                                           FallbackOptions options)
    : store_(store),
      audit_(audit),
      checkins_(checkins),
      clock_(clock),
      ids_(ids),
      executor_(executor),
      options_(std::move(options)) {}

std::string FallbackCaseUseCases::Today() const {
  return Iso(core::oqs::OqsDate::JapanDateOf(clock_.Now()));
}

core::Result<FallbackCaseUseCases::Loaded> FallbackCaseUseCases::Load(const std::string& id) {
  auto row = store_.GetCase(id);
  if (!row) return row.error();
  if (!row.value()) return CaseNotFound(id);
  Loaded l;
  l.row = std::move(*row.value());
  l.body = json::parse(l.row.body, nullptr, false);
  if (l.body.is_discarded() || !l.body.is_object()) {
    return core::Internal("fallback case " + id + " has an unreadable body");
  }
  if (l.row.has_personal_data) {
    auto p = store_.PersonalData(id);
    if (!p) return p.error();
    if (p.value()) {
      l.personal = json::parse(*p.value(), nullptr, false);
      if (l.personal.is_discarded()) l.personal = json::object();
    }
  }
  return l;
}

core::Status FallbackCaseUseCases::Save(Loaded& l, bool insert, fb::CaseWrite with) {
  l.row.updated_at = clock_.Now();
  l.row.version = insert ? 1 : l.row.version + 1;
  l.row.body = l.body.dump();
  // Personal data is written only when there is some: a purged case stays without any.
  if (!with.purge_personal_data && !with.personal_data && !l.personal.empty()) {
    with.personal_data = l.personal.dump();
  }
  const bool purged = with.purge_personal_data;
  const bool written = with.personal_data.has_value();
  auto s = insert ? store_.InsertCase(l.row, with) : store_.UpdateCase(l.row, with);
  if (s) ONSHID_FAILPOINT("case.after_write");
  if (!s) {
    l.row.version = insert ? 0 : l.row.version - 1;
  } else if (purged) {
    l.row.has_personal_data = false;
  } else if (written) {
    l.row.has_personal_data = true;
  }
  return s;
}

core::Result<std::vector<fb::Task>> FallbackCaseUseCases::TasksOf(
    const std::string& case_id, std::optional<std::string> state) {
  fb::TaskQuery q;
  q.case_id = case_id;
  q.state = std::move(state);
  q.limit = 1000;
  return store_.ListTasks(q);
}

core::Result<FallbackCaseView> FallbackCaseUseCases::InsertNew(Loaded& l, fb::CaseWrite with) {
  if (auto s = Save(l, true, std::move(with)); !s) {
    // Opened meanwhile (same client key or check-in): that case is the answer.
    if (s.error().reason == "CASE_EXISTS") {
      for (const auto& [k, v] : s.error().metadata) {
        if (k == "case_id") return Get(v);
      }
    }
    return s.error();
  }
  return ViewOf(l);
}

core::Event FallbackCaseUseCases::MakeEvent(const std::string& case_id, std::string type,
                                            std::string reason) const {
  return CaseEvent(clock_.Now(), case_id, std::move(type), std::move(reason));
}

namespace {
fb::Attempt MakeAttempt(core::SystemTime at, const std::string& actor, std::string kind, json body) {
  fb::Attempt a;
  a.at = at;
  a.actor = actor;
  a.kind = std::move(kind);
  a.body = body.dump();
  return a;
}
}  // namespace

void FallbackCaseUseCases::Evaluate(Loaded& l, const std::string& actor, fb::CaseWrite& with,
                                    const std::string& why) {
  const fb::FallbackCase input = l.Input();
  const auto decided = fb::Decide(input);
  json summary = DecisionSummary(decided);
  l.body["decision"] = summary;
  json attempt = {{"why", why}, {"input", l.body["input"]}, {"decision", summary}};
  with.attempts.push_back(MakeAttempt(clock_.Now(), actor, "EVALUATED", std::move(attempt)));
  auto ev = MakeEvent(l.row.id, "fallback.evaluated", why);
  ev.attributes.emplace_back("engine_version", std::string(fb::kEngineVersion));
  if (decided) {
    ev.attributes.emplace_back("first_choice", std::string(fb::MethodName(decided->first_choice)));
  } else {
    ev.attributes.emplace_back("error", decided.error().reason);
  }
  with.events.push_back(std::move(ev));
}

core::Result<FallbackCaseView> FallbackCaseUseCases::ViewOf(const Loaded& l) {
  FallbackCaseView v;
  v.id = l.row.id;
  v.version = l.row.version;
  v.check_in_id = l.row.check_in_id;
  v.state = l.row.state;
  v.day = l.row.day;
  v.opened_at = l.row.opened_at;
  v.updated_at = l.row.updated_at;
  v.closed_at = l.row.closed_at;
  v.opened_by = Str(l.body, "opened_by");
  v.close_reason = Str(l.body, "close_reason");
  v.input = l.Input();
  for (const auto& f : l.body.value("unconfirmed_facts", json::array())) {
    v.unconfirmed_facts.push_back(f.get<std::string>());
  }
  auto decided = fb::Decide(v.input);
  if (decided) {
    v.decision = std::move(decided).value();
  } else {
    v.decision_error = decided.error();
  }
  v.evidence = l.Evidence();
  if (l.body.contains("claim") && l.body["claim"].is_object()) v.claim = ClaimFrom(l.body["claim"]);
  v.tekiyo = Str(l.personal, "tekiyo");
  if (l.personal.contains("confirmed") && l.personal["confirmed"].is_object()) {
    v.confirmed = EligibilityFrom(l.personal["confirmed"]);
  }
  v.has_personal_data = l.row.has_personal_data;
  if (l.body.contains("purged_at")) v.purged_at = FromUnixMicros(l.body["purged_at"].get<std::int64_t>());
  v.reverify = l.Reverify();
  v.reverify_attempts = l.ReverifyAttempts();
  auto tasks = TasksOf(l.row.id, std::nullopt);
  if (!tasks) return tasks.error();
  v.tasks = std::move(tasks).value();
  return v;
}

// ---------------------------------------------------------------------------------------------
// Opening and revising

core::Result<FallbackCaseView> FallbackCaseUseCases::Open(const OpenCaseInput& in,
                                                          const Actor& actor) {
  const std::string who = actor.client.empty() ? kDaemonActor : actor.client;
  if (!in.client_key.empty()) {
    auto seen = store_.CaseForClientKey(in.client_key);
    if (!seen) return seen.error();
    if (seen.value()) return Get(seen.value()->id);
  }
  if (!in.check_in_id.empty()) {
    if (!checkins_) {
      return Error(core::ErrorKind::kFailedPrecondition, "CHECKINS_UNAVAILABLE",
                   "check-ins are not available in this daemon", "受付機能が利用できません。");
    }
    auto view = checkins_->Get(in.check_in_id);
    if (!view) return view.error();
    return OpenForCheckIn(*view, in, who);
  }
  if (!in.input) {
    return Error(core::ErrorKind::kInvalidArgument, "INVALID_FALLBACK_CASE",
                 "a case opened without a check-in needs the fallback case inputs",
                 "受付に紐付けない場合は、状況（原因・提示書類など）を入力してください。",
                 {{"fallback_case", "required without check_in_id"}});
  }
  fb::FallbackCase input = *in.input;
  if (!input.date) input.date = core::oqs::OqsDate::JapanDateOf(clock_.Now());
  if (auto d = fb::Decide(input); !d && d.error().reason == "INVALID_FALLBACK_CASE") {
    return d.error();
  }
  std::lock_guard lock(write_mu_);
  Loaded l;
  l.row.id = "fb_" + ids_.NewId();
  l.row.client_key = in.client_key;
  l.row.state = "OPEN";
  l.row.day = Iso(*input.date);
  l.row.opened_at = clock_.Now();
  l.body["opened_by"] = who;
  l.body["unconfirmed_facts"] = json::array();
  l.body["evidence"] = json::array();
  l.SetInput(input);
  l.SetReverify(ReverifyState::kNone, 0);
  fb::CaseWrite with;
  with.attempts.push_back(MakeAttempt(clock_.Now(), who, "OPENED", {{"by_hand", true}}));
  with.events.push_back(MakeEvent(l.row.id, "fallback.case_opened", "OPENED_BY_HAND"));
  Evaluate(l, who, with, "OPENED");
  auto opened = InsertNew(l, std::move(with));
  if (opened) Logger("fallback")->info("fallback case {} opened by hand", l.row.id);
  return opened;
}

core::Result<FallbackCaseView> FallbackCaseUseCases::OpenForCheckIn(const CheckInView& view,
                                                                    const OpenCaseInput& in,
                                                                    const std::string& who) {
  const auto& r = view.record;
  {
    auto existing = store_.CaseForCheckIn(r.id);
    if (!existing) return existing.error();
    if (existing.value()) {
      if (in.input && !existing.value()->state.empty()) {
        auto l = Load(existing.value()->id);
        if (l && !l->Closed() && l->Evidence().empty()) {
          return Revise(existing.value()->id, *in.input, Actor{who, ""});
        }
      }
      return Get(existing.value()->id);
    }
  }
  if (r.state != ck::CheckInState::kNeedsFallback) {
    auto e = Error(core::ErrorKind::kFailedPrecondition, "CHECKIN_NOT_IN_FALLBACK",
                   "the check-in does not need the fallback path (state " +
                       std::string(ck::ToString(r.state)) + ")",
                   "この受付は代替確認の対象ではありません（資格確認済み、または確認待ちです）。");
    e.metadata = {{"check_in_id", r.id}, {"state", std::string(ck::ToString(r.state))}};
    return e;
  }
  std::optional<ResultView> result;
  if (r.result_id > 0 && checkins_) {
    if (auto got = checkins_->GetResult(r.result_id)) result = std::move(got).value();
  }
  Derived derived = DeriveInput(view, result, options_);
  if (in.input) {
    derived.input = *in.input;
    if (!derived.input.date) derived.input.date = FromIso(r.day);
    if (auto d = fb::Decide(derived.input); !d && d.error().reason == "INVALID_FALLBACK_CASE") {
      return d.error();
    }
    derived.unconfirmed.clear();
  }
  std::lock_guard lock(write_mu_);
  Loaded l;
  l.row.id = "fb_" + ids_.NewId();
  l.row.client_key = in.client_key;
  l.row.check_in_id = r.id;
  l.row.state = "OPEN";
  l.row.day = r.day;
  l.row.opened_at = clock_.Now();
  l.body["opened_by"] = who;
  l.body["unconfirmed_facts"] = derived.unconfirmed;
  l.body["evidence"] = json::array();
  l.SetInput(derived.input);
  const bool queue = r.cause == ck::FallbackCause::kNetworkError && checkins_ &&
                     checkins_->CanReverify(view);
  l.SetReverify(queue ? ReverifyState::kQueued : ReverifyState::kNone, 0);
  fb::CaseWrite with;
  with.attempts.push_back(MakeAttempt(
      clock_.Now(), who, "OPENED",
      {{"check_in_id", r.id},
       {"check_in_cause", r.cause ? std::string(core::ToString(*r.cause)) : std::string()},
       {"reverify", ReverifyStateName(l.Reverify())},
       {"unconfirmed_facts", derived.unconfirmed}}));
  auto ev = MakeEvent(l.row.id, "fallback.case_opened",
                      who == kDaemonActor ? "CHECKIN_NEEDS_FALLBACK" : "OPENED_BY_HAND");
  ev.attributes.emplace_back("check_in_id", r.id);
  with.events.push_back(std::move(ev));
  if (queue) {
    with.events.push_back(MakeEvent(l.row.id, "fallback.reverify_queued", "UPSTREAM_UNAVAILABLE"));
  }
  Evaluate(l, who, with, "OPENED");
  auto opened = InsertNew(l, std::move(with));
  if (opened) {
    Logger("fallback")->info("fallback case {} opened for check-in {}{}", l.row.id, r.id,
                             queue ? " (re-verification queued)" : "");
  }
  return opened;
}

core::Result<FallbackCaseView> FallbackCaseUseCases::Revise(const std::string& id,
                                                            const fb::FallbackCase& revised,
                                                            const Actor& actor) {
  fb::FallbackCase input = revised;
  if (!input.date) input.date = core::oqs::OqsDate::JapanDateOf(clock_.Now());
  if (auto d = fb::Decide(input); !d && d.error().reason == "INVALID_FALLBACK_CASE") {
    return d.error();
  }
  const std::string who = actor.client.empty() ? kDaemonActor : actor.client;
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  Loaded l = std::move(loaded).value();
  if (l.Applied(actor.Key())) return ViewOf(l);  // a retry of this very revision
  if (l.Closed()) return CaseClosed(id);
  l.MarkApplied(actor.Key());
  l.SetInput(input);
  l.body["unconfirmed_facts"] = json::array();
  fb::CaseWrite with;
  Evaluate(l, who, with, "REVISED");
  if (auto s = Save(l, false, std::move(with)); !s) return s.error();
  return ViewOf(l);
}

core::Result<FallbackCaseView> FallbackCaseUseCases::Get(const std::string& id) {
  auto l = Load(id);
  if (!l) return l.error();
  return ViewOf(*l);
}

core::Result<std::vector<FallbackCaseView>> FallbackCaseUseCases::List(const CaseFilter& filter) {
  fb::CaseQuery q;
  q.state = filter.state;
  q.day = filter.day;
  q.check_in_id = filter.check_in_id;
  q.limit = filter.limit;
  auto rows = store_.ListCases(q);
  if (!rows) return rows.error();
  std::vector<FallbackCaseView> out;
  for (const auto& row : rows.value()) {
    auto v = Get(row.id);
    if (!v) return v.error();
    out.push_back(std::move(v).value());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Evidence

core::Result<FallbackCaseView> FallbackCaseUseCases::RecordEvidence(const std::string& id,
                                                                    const EvidenceInput& in,
                                                                    const Actor& actor) {
  const std::string who = actor.client.empty() ? kDaemonActor : actor.client;
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  Loaded l = std::move(loaded).value();
  if (l.Applied(actor.Key())) return ViewOf(l);  // recorded already: a retry appends nothing
  if (l.Closed()) return CaseClosed(id);
  l.MarkApplied(actor.Key());
  const fb::FallbackCase input = l.Input();
  const core::oqs::OqsDate today = core::oqs::OqsDate::JapanDateOf(clock_.Now());

  std::vector<core::FieldViolation> bad;
  if (in.staff_id.empty()) bad.push_back({"evidence.staff_id", "required: who recorded it"});

  CaseEvidence ev;
  ev.kind = in.kind;
  ev.staff_id = in.staff_id;
  ev.at = clock_.Now();
  // Follow-up tasks (and their events), written after the evidence's own event.
  fb::CaseWrite follow;
  const auto new_task = [&](std::string kind, const core::oqs::OqsDate& due, json why) {
    l.AddTask(follow, std::move(kind), due, std::move(why), clock_.Now());
  };
  auto has_open = [&](const std::vector<fb::Task>& open, std::string_view kind) {
    const auto is = [&](const fb::Task& t) { return t.kind == kind && t.state == "OPEN"; };
    return std::any_of(open.begin(), open.end(), is) ||
           std::any_of(follow.tasks.begin(), follow.tasks.end(), is);
  };
  auto open = TasksOf(l.row.id, "OPEN");
  if (!open) return open.error();

  switch (in.kind) {
    case EvidenceKind::kMethodApplied: {
      if (!in.method) {
        bad.push_back({"evidence.method", "required for METHOD_APPLIED"});
        return InvalidEvidence(std::move(bad));
      }
      const fb::Method m = *in.method;
      auto decided = fb::Decide(input);
      if (!decided) return decided.error();
      const auto& md = decided->Find(m);
      if (!md.allowed) {
        auto e = Error(core::ErrorKind::kFailedPrecondition, "METHOD_NOT_ALLOWED",
                       std::string(fb::MethodName(m)) + " is not allowed here: " + md.rule.reason,
                       std::string(fb::MethodNameJa(m)) + "は使えません。" + md.rule.reason_ja);
        e.metadata = {{"rule", md.rule.id}, {"method", std::string(fb::MethodName(m))}};
        return e;
      }
      ev.method = m;
      ev.rule_id = md.rule.id;
      if (ShowsEligibility(m) || (m == fb::Method::kEmergencyLookup && in.eligibility)) {
        if (!in.eligibility || in.eligibility->insurer_number.empty()) {
          bad.push_back({"evidence.eligibility.insurer_number",
                         "required: the eligibility seen with this method"});
        }
      }
      if (m == fb::Method::kOralConfirmation) {
        if (!in.oral) {
          bad.push_back({"evidence.oral", "required for 口頭確認"});
        } else {
          static const std::array<std::string_view, 3> kWho = {"PATIENT", "FAMILY", "GUARDIAN"};
          if (std::find(kWho.begin(), kWho.end(), in.oral->answered_by) == kWho.end()) {
            bad.push_back({"evidence.oral.answered_by", "PATIENT, FAMILY or GUARDIAN"});
          }
          if (!in.oral->no_change_confirmed) {
            bad.push_back({"evidence.oral.no_change_confirmed",
                           "the patient must confirm that nothing has changed"});
          }
          const int i = in.oral->held_eligibility_index;
          if (i < 0 || i >= static_cast<int>(input.known_eligibilities.size()) ||
              input.known_eligibilities[i].source != fb::KnownEligibility::Source::kPastVisits) {
            bad.push_back({"evidence.oral.held_eligibility_index",
                           "must name a known eligibility from past visits"});
          } else if (bad.empty()) {
            fb::KnownEligibility held = input.known_eligibilities[i];
            if (held.insurer_number.empty()) {
              bad.push_back({"evidence.oral.held_eligibility_index",
                             "the held eligibility's numbers were purged"});
            }
            held.source = fb::KnownEligibility::Source::kConfirmed;
            l.personal["confirmed"] = EligibilityJson(held);
            ev.oral_answered_by = in.oral->answered_by;
          }
        }
      }
      if (m == fb::Method::kInsuranceStatement) {
        if (!in.statement) {
          bad.push_back({"evidence.statement", "required for the 被保険者資格申立書"});
        } else if (auto s = fb::Validate(*in.statement); !s) {
          if (s.error().reason != "INVALID_INSURANCE_STATEMENT") return s.error();
          auto e = s.error();
          for (auto& f : e.field_violations) f.field = "evidence.statement." + f.field;
          for (auto& f : bad) e.field_violations.push_back(f);
          return e;
        }
      }
      if (m == fb::Method::kFullSelfPay &&
          (!in.amount_collected_yen || *in.amount_collected_yen <= 0)) {
        bad.push_back({"evidence.amount_collected_yen", "required: the 10割 amount collected"});
      }
      if (!bad.empty()) return InvalidEvidence(std::move(bad));
      if (in.eligibility && m != fb::Method::kOralConfirmation) {
        fb::KnownEligibility k = *in.eligibility;
        k.source = fb::KnownEligibility::Source::kConfirmed;
        l.personal["confirmed"] = EligibilityJson(k);
        ev.eligibility_recorded = true;
      }
      if (m == fb::Method::kInsuranceStatement) {
        l.personal["statement"] = StatementJson(*in.statement);
        ev.statement_recorded = true;
      }
      ev.amount_collected_yen = in.amount_collected_yen;
      ev.eligibility_recorded = ev.eligibility_recorded || m == fb::Method::kOralConfirmation;
      const auto month_end = MonthEnd(input.date.value_or(today));
      switch (m) {
        case fb::Method::kConfirmAfterwards:
        case fb::Method::kInsuranceStatement:
        case fb::Method::kFullSelfPay:
          if (!has_open(*open, "CONTACT_PATIENT")) {
            new_task("CONTACT_PATIENT", std::min(AddDays(today, 7), month_end),
                     {{"why", "ask the patient for their eligibility information"},
                      {"why_ja", "患者に連絡し、資格情報（保険者番号等）を確認してください。"}});
          }
          if (!has_open(*open, "REQUERY_BEFORE_CLAIM")) {
            new_task("REQUERY_BEFORE_CLAIM", month_end,
                     {{"why", "re-query OQS before the claim is made"},
                      {"why_ja", "請求前にオンライン資格確認で資格を再照会してください。"}});
          }
          break;
        case fb::Method::kEmergencyLookup:
          if (!in.eligibility && !has_open(*open, "REQUERY_BEFORE_CLAIM")) {
            new_task("REQUERY_BEFORE_CLAIM", month_end,
                     {{"why", "verify the eligibility once the emergency function is available"},
                      {"why_ja",
                       "緊急時医療情報・資格確認機能が使えるようになったら資格を確認してください。"}});
          }
          break;
        default: break;
      }
      break;
    }
    case EvidenceKind::kCardFace: {
      if (input.cause != fb::FallbackCause::kTerminalError011) {
        return Error(core::ErrorKind::kFailedPrecondition, "EVIDENCE_NOT_APPLICABLE",
                     "card-face data is recorded only after terminal error 011",
                     "券面情報の記録は、エラー011の場合のみ行います。",
                     {{"evidence.kind", "CARD_FACE needs cause TERMINAL_ERROR_011"}});
      }
      if (!in.card_face) {
        bad.push_back({"evidence.card_face", "required for CARD_FACE"});
      } else {
        const auto& c = *in.card_face;
        if (c.name.empty()) bad.push_back({"evidence.card_face.name", "required (氏名)"});
        if (c.sex == fb::DeclaredSex::kUnset) bad.push_back({"evidence.card_face.sex", "required (性別)"});
        if (!c.birth_date) bad.push_back({"evidence.card_face.birth_date", "required (生年月日)"});
        if (c.address.empty() && c.insurer_name.empty()) {
          bad.push_back({"evidence.card_face.address", "住所 or 保険者名 is required"});
        }
      }
      if (in.amount_collected_yen && *in.amount_collected_yen < 0) {
        bad.push_back({"evidence.amount_collected_yen", "must not be negative"});
      }
      if (!bad.empty()) return InvalidEvidence(std::move(bad));
      l.personal["card_face"] = CardFaceJson(*in.card_face);
      ev.card_face_recorded = true;
      ev.amount_collected_yen = in.amount_collected_yen;
      if (!has_open(*open, "REQUERY_BEFORE_CLAIM")) {
        new_task("REQUERY_BEFORE_CLAIM", MonthEnd(input.date.value_or(today)),
                 {{"why", "verify with the card-face data once the emergency function is available"},
                  {"why_ja",
                   "緊急時医療情報・資格確認機能が使えるようになったら、控えた券面情報で資格を確認してください。"}});
      }
      break;
    }
    case EvidenceKind::kPatientContacted: {
      if (!in.contacted_on) {
        bad.push_back({"evidence.contacted_on", "required: YYYY-MM-DD"});
      } else if (Iso(*in.contacted_on) < l.row.day || *in.contacted_on > today) {
        bad.push_back({"evidence.contacted_on", "between the visit and today"});
      }
      if (!bad.empty()) return InvalidEvidence(std::move(bad));
      ev.contacted_on = Iso(*in.contacted_on);
      l.personal["contacted_on"] = *ev.contacted_on;
      for (auto t : *open) {
        if (t.kind != "CONTACT_PATIENT") continue;
        t.state = "DONE";
        t.done_at = clock_.Now();
        t.done_by = in.staff_id;
        auto e = MakeEvent(l.row.id, "fallback.task_completed", t.kind);
        e.attributes.emplace_back("task_id", t.id);
        follow.events.push_back(std::move(e));
        follow.tasks.push_back(std::move(t));
      }
      break;
    }
    case EvidenceKind::kEligibilityFound: {
      if (!in.eligibility || in.eligibility->insurer_number.empty()) {
        bad.push_back({"evidence.eligibility.insurer_number", "required: the eligibility found"});
      }
      if (!bad.empty()) return InvalidEvidence(std::move(bad));
      fb::KnownEligibility k = *in.eligibility;
      k.source = fb::KnownEligibility::Source::kConfirmed;
      l.personal["confirmed"] = EligibilityJson(k);
      ev.eligibility_recorded = true;
      const auto evs = l.Evidence();
      const bool paid_full = std::any_of(evs.begin(), evs.end(), [](const CaseEvidence& e) {
        return e.method == fb::Method::kFullSelfPay;
      });
      if (paid_full && !has_open(*open, "REFUND_DIFFERENCE")) {
        new_task("REFUND_DIFFERENCE", AddDays(today, 14),
                 {{"why", "eligibility confirmed after 10割: refund the difference"},
                  {"why_ja", "資格が確認できました。10割との差額を患者に返金してください。"}});
      }
      break;
    }
  }
  if (!bad.empty()) return InvalidEvidence(std::move(bad));

  const auto evs = l.Evidence();
  ev.seq = static_cast<std::int64_t>(evs.size()) + 1;
  l.body["evidence"].push_back(EvidenceJson(ev));
  if (ev.kind == EvidenceKind::kMethodApplied) l.body["applied_method"] = fb::MethodName(*ev.method);
  // A recorded piece of evidence makes a chosen route stale.
  l.body.erase("claim");

  fb::CaseWrite with;
  with.attempts.push_back(MakeAttempt(clock_.Now(), who, "EVIDENCE", EvidenceJson(ev)));
  auto event = MakeEvent(l.row.id, "fallback.evidence_recorded", std::string(EvidenceKindName(in.kind)));
  if (ev.method) event.attributes.emplace_back("method", std::string(fb::MethodName(*ev.method)));
  with.events.push_back(std::move(event));
  for (auto& e : follow.events) with.events.push_back(std::move(e));
  with.tasks = std::move(follow.tasks);
  if (auto s = Save(l, false, std::move(with)); !s) return s.error();
  return ViewOf(l);
}

// ---------------------------------------------------------------------------------------------
// Claim route

namespace {
struct OutcomeBuild {
  std::optional<fb::ClaimOutcome> outcome;
  std::optional<core::DomainError> error;
};

OutcomeBuild BuildOutcome(const json& body, const json& personal, const fb::FallbackCase& input,
                          std::optional<int> actual_days_at_claim) {
  OutcomeBuild b;
  const auto applied = MethodByName(Str(body, "applied_method"));
  if (!applied) {
    b.error = Error(core::ErrorKind::kFailedPrecondition, "NO_METHOD_APPLIED",
                    "record the method applied (RecordEvidence) before choosing the claim route",
                    "請求方法を決める前に、行った確認方法を記録してください。");
    return b;
  }
  fb::ClaimOutcome o;
  o.input = input;
  o.method_applied = *applied;
  if (personal.contains("confirmed") && personal["confirmed"].is_object()) {
    o.confirmed = EligibilityFrom(personal["confirmed"]);
  }
  if (personal.contains("statement") && personal["statement"].is_object()) {
    o.statement = StatementFrom(personal["statement"]);
  }
  o.patient_contacted_on = ReadDate(personal, "contacted_on");
  o.actual_days_at_claim = actual_days_at_claim;
  b.outcome = std::move(o);
  return b;
}
}  // namespace

core::Result<FallbackCaseView> FallbackCaseUseCases::ChooseClaimRoute(const std::string& id,
                                                                      const ClaimRouteInput& in,
                                                                      const Actor& actor) {
  const std::string who = actor.client.empty() ? kDaemonActor : actor.client;
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  Loaded l = std::move(loaded).value();
  if (l.Applied(actor.Key())) return ViewOf(l);
  if (l.Closed()) return CaseClosed(id);
  auto built = BuildOutcome(l.body, l.personal, l.Input(), in.actual_days_at_claim);
  if (built.error) return *built.error;
  auto routed = fb::RouteClaim(*built.outcome);
  fb::CaseWrite with;
  if (!routed || (in.expected && routed->route != *in.expected)) {
    core::DomainError e;
    if (!routed) {
      e = routed.error();
    } else {
      e = Error(core::ErrorKind::kFailedPrecondition, "CLAIM_ROUTE_MISMATCH",
                "the engine routes this claim to " + std::string(fb::ClaimRouteName(routed->route)) +
                    ": " + routed->rule.reason,
                "この内容では請求方法は「" + std::string(fb::ClaimRouteNameJa(routed->route)) +
                    "」になります。" + routed->rule.reason_ja);
      e.metadata = {{"route", std::string(fb::ClaimRouteName(routed->route))},
                    {"rule", routed->rule.id}};
    }
    // The refusal is part of the proof of attempt too. Its request key is not marked applied: a
    // retry (whose refusal was lost with the daemon) is refused again, never answered OK.
    json fields = json::array();
    for (const auto& f : e.field_violations) fields.push_back(f.field);
    with.attempts.push_back(MakeAttempt(clock_.Now(), who, "CLAIM_ROUTE_REFUSED",
                                        {{"reason", e.reason}, {"fields", std::move(fields)}}));
    with.events.push_back(MakeEvent(l.row.id, "fallback.claim_route_refused", e.reason));
    if (auto s = Save(l, false, std::move(with)); !s) return s.error();
    return e;
  }
  l.MarkApplied(actor.Key());
  ClaimSummary c;
  c.route = routed->route;
  c.rule = routed->rule;
  c.notes = routed->notes;
  c.engine_version = routed->engine_version;
  c.chosen_at = clock_.Now();
  c.chosen_by = who;
  l.body["claim"] = ClaimJson(c);
  if (routed->claim_with) l.personal["claim_with"] = EligibilityJson(*routed->claim_with);
  if (!routed->tekiyo.empty()) {
    l.personal["tekiyo"] = routed->tekiyo;
  } else {
    l.personal.erase("tekiyo");
  }
  json notes = json::array();
  for (const auto& n : c.notes) notes.push_back(n.id);
  with.attempts.push_back(MakeAttempt(clock_.Now(), who, "CLAIM_ROUTE",
                                      {{"route", fb::ClaimRouteName(c.route)},
                                       {"rule", c.rule.id},
                                       {"notes", std::move(notes)},
                                       {"engine_version", c.engine_version},
                                       {"tekiyo_built", !routed->tekiyo.empty()}}));
  auto ev = MakeEvent(l.row.id, "fallback.claim_route_chosen", c.rule.id);
  ev.attributes.emplace_back("route", std::string(fb::ClaimRouteName(c.route)));
  with.events.push_back(std::move(ev));
  // Notes that call for follow-ups.
  auto open = TasksOf(l.row.id, "OPEN");
  if (!open) return open.error();
  const auto today = core::oqs::OqsDate::JapanDateOf(clock_.Now());
  for (const auto& note : c.notes) {
    std::string kind;
    json body;
    if (note.id == "REFUND_AFTER_FULL_SELF_PAY") {
      kind = "REFUND_DIFFERENCE";
      body = {{"why", note.reason}, {"why_ja", note.reason_ja}};
    } else if (note.id == "CONTACT_THE_PATIENT") {
      kind = "CONTACT_PATIENT";
      body = {{"why", note.reason}, {"why_ja", note.reason_ja}};
    } else {
      continue;
    }
    if (std::any_of(open->begin(), open->end(), [&](const fb::Task& t) { return t.kind == kind; })) {
      continue;
    }
    l.AddTask(with, kind, AddDays(today, 14), std::move(body), clock_.Now());
  }
  if (auto s = Save(l, false, std::move(with)); !s) return s.error();
  return ViewOf(l);
}

// ---------------------------------------------------------------------------------------------
// Closing and purging

core::Result<FallbackCaseView> FallbackCaseUseCases::Close(const std::string& id,
                                                           const CloseCaseInput& in,
                                                           const Actor& actor) {
  const std::string who = actor.client.empty() ? kDaemonActor : actor.client;
  if (in.reason != "CLAIM_WORK_FINISHED" && in.reason != "CANCELLED") {
    return Error(core::ErrorKind::kInvalidArgument, "INVALID_CLOSE_REASON",
                 "reason must be CLAIM_WORK_FINISHED or CANCELLED",
                 "完了理由が正しくありません。", {{"reason", "CLAIM_WORK_FINISHED or CANCELLED"}});
  }
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  Loaded l = std::move(loaded).value();
  if (l.Applied(actor.Key())) return ViewOf(l);  // closed by this very request
  if (l.Closed()) return CaseClosed(id);
  l.MarkApplied(actor.Key());
  if (in.reason == "CLAIM_WORK_FINISHED") {
    if (!l.body.contains("claim")) {
      return Error(core::ErrorKind::kFailedPrecondition, "NO_CLAIM_ROUTE",
                   "choose the claim route before closing the case",
                   "請求方法（現在の資格・旧資格・不詳など）を決めてから完了してください。");
    }
    // The route must still hold on what is recorded now (e.g. a 不詳 摘要 still complete).
    auto built = BuildOutcome(l.body, l.personal, l.Input(), std::nullopt);
    if (built.error) return *built.error;
    auto routed = fb::RouteClaim(*built.outcome);
    if (!routed) return routed.error();
    if (fb::ClaimRouteName(routed->route) != Str(l.body["claim"], "route")) {
      return Error(core::ErrorKind::kFailedPrecondition, "CLAIM_ROUTE_STALE",
                   "the claim route no longer matches what is recorded; choose it again",
                   "記録内容が変わったため、請求方法をもう一度決めてください。");
    }
  }
  return CloseLocked(l, in, who);
}

core::Result<FallbackCaseView> FallbackCaseUseCases::CloseLocked(Loaded& l, const CloseCaseInput& in,
                                                                 const std::string& who) {
  fb::CaseWrite with;
  const auto now = clock_.Now();
  l.row.state = "CLOSED";
  l.row.closed_at = now;
  l.body["close_reason"] = in.reason;
  if (l.Reverify() == ReverifyState::kQueued || l.Reverify() == ReverifyState::kSent) {
    l.SetReverify(ReverifyState::kDone, l.ReverifyAttempts());
  }
  auto open = TasksOf(l.row.id, "OPEN");
  if (!open) return open.error();
  for (auto t : *open) {
    if (t.kind == "REFUND_DIFFERENCE" || t.kind == "RETURN_WATCH") continue;  // still owed
    t.state = "CANCELLED";
    t.done_at = now;
    t.done_by = who;
    with.tasks.push_back(std::move(t));
  }
  const std::string route =
      l.body.contains("claim") ? Str(l.body["claim"], "route") : std::string();
  if (in.reason == "CLAIM_WORK_FINISHED" &&
      (route == "UNKNOWN" || route == "OLD_ELIGIBILITY" || route == "CONFIRM_LATER")) {
    l.AddTask(with, "RETURN_WATCH",
              AddDays(core::oqs::OqsDate::JapanDateOf(now), options_.return_watch_days),
              {{"why", "watch for a returned claim (返戻) of this route"},
               {"why_ja", "この請求が返戻されないか確認してください。"},
               {"route", route}},
              now);
  }
  with.attempts.push_back(MakeAttempt(now, who, "CLOSED",
                                      {{"reason", in.reason},
                                       {"route", route},
                                       {"keep_personal_data", in.keep_personal_data}}));
  auto ev = MakeEvent(l.row.id, "fallback.case_closed", in.reason);
  if (!route.empty()) ev.attributes.emplace_back("route", route);
  with.events.push_back(std::move(ev));
  if (!in.keep_personal_data) {
    with.purge_personal_data = true;
    l.personal = json::object();
    l.body["purged_at"] = UnixMicros(now);
    with.attempts.push_back(MakeAttempt(now, who, "PURGED", {{"why", "CLAIM_WORK_FINISHED"}}));
    with.events.push_back(MakeEvent(l.row.id, "fallback.personal_data_purged", "CASE_CLOSED"));
  }
  if (auto s = Save(l, false, std::move(with)); !s) return s.error();
  Logger("fallback")->info("fallback case {} closed ({}{})", l.row.id, in.reason,
                           in.keep_personal_data ? ", personal data kept" : ", personal data purged");
  auto reread = Load(l.row.id);
  if (!reread) return reread.error();
  return ViewOf(*reread);
}

core::Result<int> FallbackCaseUseCases::PurgeExpired() {
  const auto now = clock_.Now();
  auto due = store_.CasesToPurge(now - options_.personal_data_retention, 100);
  if (!due) return due.error();
  int purged = 0;
  for (const auto& id : due.value()) {
    std::lock_guard lock(write_mu_);
    auto loaded = Load(id);
    if (!loaded) return loaded.error();
    Loaded l = std::move(loaded).value();
    fb::CaseWrite with;
    with.purge_personal_data = true;
    l.personal = json::object();
    l.body["purged_at"] = UnixMicros(now);
    with.attempts.push_back(MakeAttempt(now, kDaemonActor, "PURGED",
                                        {{"why", "RETENTION_EXPIRED"},
                                         {"retention_hours",
                                          options_.personal_data_retention.count()}}));
    with.events.push_back(MakeEvent(id, "fallback.personal_data_purged", "RETENTION_EXPIRED"));
    if (auto s = Save(l, false, std::move(with)); !s) return s.error();
    core::AuditRecord a;
    a.at = now;
    a.request_id = "purge-" + ids_.NewId();
    a.client = kDaemonActor;
    a.method = "onshid/fallback.scheduled_purge";
    a.channel = "daemon";
    a.subject = "fallback_case:" + id;
    a.outcome = "OK";
    if (auto s = audit_.AppendAudit(a); !s) {
      Logger("fallback")->warn("scheduled purge of {} not audited: {}", id, s.error().message);
    }
    ++purged;
  }
  if (purged > 0) Logger("fallback")->info("scheduled purge: personal data of {} case(s) deleted", purged);
  return purged;
}

// ---------------------------------------------------------------------------------------------
// Tasks and proof

core::Result<std::vector<fb::Task>> FallbackCaseUseCases::ListTasks(const fb::TaskQuery& q) {
  if (q.limit < 1 || q.limit > 1000) {
    return Error(core::ErrorKind::kInvalidArgument, "INVALID_TASK_QUERY", "limit must be 1–1000",
                 "件数の指定が正しくありません（1〜1000）。", {{"limit", "1–1000"}});
  }
  return store_.ListTasks(q);
}

core::Result<fb::Task> FallbackCaseUseCases::CompleteTask(const std::string& task_id,
                                                          const std::string& outcome,
                                                          const std::string& staff_id,
                                                          const Actor& actor) {
  const std::string who = actor.client.empty() ? kDaemonActor : actor.client;
  std::vector<core::FieldViolation> bad;
  const std::string result = outcome.empty() ? "DONE" : outcome;
  if (result != "DONE" && result != "CLAIM_RETURNED") {
    bad.push_back({"outcome", "DONE or CLAIM_RETURNED"});
  }
  if (staff_id.empty()) bad.push_back({"staff_id", "required: who did it"});
  if (!bad.empty()) {
    return Error(core::ErrorKind::kInvalidArgument, "INVALID_TASK_COMPLETION",
                 "the task completion is incomplete", "完了の記録に不足があります。", std::move(bad));
  }
  // Task ids are "tk_<case suffix>_<n>": the case is "fb_<case suffix>".
  const auto last = task_id.rfind('_');
  if (task_id.rfind("tk_", 0) != 0 || last == std::string::npos || last <= 3) {
    return Error(core::ErrorKind::kNotFound, "TASK_NOT_FOUND", "no task " + task_id,
                 "指定された作業が見つかりません。");
  }
  const std::string case_id = "fb_" + task_id.substr(3, last - 3);
  std::lock_guard lock(write_mu_);
  auto loaded = Load(case_id);
  if (!loaded) {
    if (loaded.error().reason == "CASE_NOT_FOUND") {
      return Error(core::ErrorKind::kNotFound, "TASK_NOT_FOUND", "no task " + task_id,
                   "指定された作業が見つかりません。");
    }
    return loaded.error();
  }
  Loaded l = std::move(loaded).value();
  auto tasks = TasksOf(case_id, std::nullopt);
  if (!tasks) return tasks.error();
  auto it = std::find_if(tasks->begin(), tasks->end(),
                         [&](const fb::Task& t) { return t.id == task_id; });
  if (it == tasks->end()) {
    return Error(core::ErrorKind::kNotFound, "TASK_NOT_FOUND", "no task " + task_id,
                 "指定された作業が見つかりません。");
  }
  fb::Task t = *it;
  if (l.Applied(actor.Key())) return t;  // completed by this very request
  if (t.state != "OPEN") {
    return Error(core::ErrorKind::kFailedPrecondition, "TASK_NOT_OPEN",
                 "the task is " + t.state, "この作業はすでに完了または取消済みです。");
  }
  if (result == "CLAIM_RETURNED" && t.kind != "RETURN_WATCH") {
    return Error(core::ErrorKind::kInvalidArgument, "INVALID_TASK_COMPLETION",
                 "CLAIM_RETURNED completes only a RETURN_WATCH task",
                 "「返戻あり」は返戻確認の作業にのみ記録できます。",
                 {{"outcome", "CLAIM_RETURNED needs a RETURN_WATCH task"}});
  }
  l.MarkApplied(actor.Key());
  t.state = "DONE";
  t.done_at = clock_.Now();
  t.done_by = staff_id;
  json body = json::parse(t.body, nullptr, false);
  if (!body.is_object()) body = json::object();
  body["outcome"] = result;
  t.body = body.dump();
  fb::CaseWrite with;
  with.attempts.push_back(MakeAttempt(clock_.Now(), who, "TASK_DONE",
                                      {{"task_id", t.id}, {"kind", t.kind}, {"outcome", result},
                                       {"staff_id", staff_id}}));
  auto ev = MakeEvent(case_id, result == "CLAIM_RETURNED" ? "fallback.claim_returned"
                                                          : "fallback.task_completed",
                      t.kind);
  ev.attributes.emplace_back("task_id", t.id);
  with.events.push_back(std::move(ev));
  with.tasks.push_back(t);
  if (auto s = Save(l, false, std::move(with)); !s) return s.error();
  return t;
}

core::Result<std::string> FallbackCaseUseCases::ExportProof(const std::string& id) {
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  const Loaded& l = *loaded;
  auto attempts = store_.Attempts(id);
  if (!attempts) return attempts.error();
  json list = json::array();
  for (const auto& a : attempts.value()) {
    json body = json::parse(a.body, nullptr, false);
    list.push_back({{"seq", a.seq},
                    {"at_unix_micros", UnixMicros(a.at)},
                    {"actor", a.actor},
                    {"kind", a.kind},
                    {"detail", body.is_discarded() ? json(a.body) : body}});
  }
  json proof = {{"case_id", l.row.id},
                {"check_in_id", l.row.check_in_id},
                {"state", l.row.state},
                {"day", l.row.day},
                {"opened_at_unix_micros", UnixMicros(l.row.opened_at)},
                {"closed_at_unix_micros", l.row.closed_at ? json(UnixMicros(*l.row.closed_at)) : json()},
                {"close_reason", Str(l.body, "close_reason")},
                {"claim_route",
                 l.body.contains("claim") ? json(Str(l.body["claim"], "route")) : json()},
                {"engine_version_now", fb::kEngineVersion},
                {"exported_at_unix_micros", UnixMicros(clock_.Now())},
                {"attempts", std::move(list)}};
  return proof.dump(2);
}

// ---------------------------------------------------------------------------------------------
// Check-ins and re-verification

void FallbackCaseUseCases::OnCheckIn(const CheckInView& view) {
  const auto& r = view.record;
  auto log = Logger("fallback");
  if (r.state == ck::CheckInState::kNeedsFallback) {
    auto opened = OpenForCheckIn(view, OpenCaseInput{}, kDaemonActor);
    if (!opened && opened.error().reason != "CHECKIN_NOT_IN_FALLBACK") {
      log->warn("no fallback case opened for check-in {}: {}", r.id, opened.error().message);
    }
    return;
  }
  if (r.state != ck::CheckInState::kVerified) return;
  auto existing = store_.CaseForCheckIn(r.id);
  if (!existing || !existing.value() || existing.value()->state != "OPEN") return;
  std::lock_guard lock(write_mu_);
  auto loaded = Load(existing.value()->id);
  if (!loaded || loaded->Closed()) return;
  Loaded l = std::move(loaded).value();
  if (l.body.contains("claim")) return;  // staff already routed the claim: theirs to close
  std::optional<ResultView> result;
  if (r.result_id > 0 && checkins_) {
    if (auto got = checkins_->GetResult(r.result_id)) result = std::move(got).value();
  }
  fb::CaseWrite pre;
  pre.attempts.push_back(MakeAttempt(clock_.Now(), kDaemonActor, "VERIFIED_ONLINE",
                                     {{"check_in_id", r.id}, {"result_id", r.result_id}}));
  pre.events.push_back(MakeEvent(l.row.id, "fallback.verified_online", "VERIFIED_ONLINE"));
  if (auto s = Save(l, false, std::move(pre)); !s) {
    log->warn("fallback case {}: online verification not recorded: {}", l.row.id, s.error().message);
    return;
  }
  CloseVerifiedOnline(l, result && result->parsed ? &*result->parsed : nullptr,
                      {"VERIFIED_ONLINE", "OQS 資格確認結果",
                       "the check-in was verified online after all: claim with the current "
                       "eligibility",
                       "オンライン資格確認で資格が確認できました。現在の資格で請求してください。"});
}

void FallbackCaseUseCases::CloseVerifiedOnline(Loaded& l,
                                               const core::oqs::EligibilityResult* result,
                                               fb::Rule rule) {
  ClaimSummary c;
  c.route = fb::ClaimRoute::kCurrent;
  c.rule = std::move(rule);
  c.engine_version = std::string(fb::kEngineVersion);
  c.chosen_at = clock_.Now();
  c.chosen_by = kDaemonActor;
  l.body["claim"] = ClaimJson(c);
  if (result) {
    if (auto k = fb::EligibilityOf(*result, fb::KnownEligibility::Source::kConfirmed)) {
      l.personal["confirmed"] = EligibilityJson(*k);
    }
  }
  CloseCaseInput close;
  close.reason = "VERIFIED_ONLINE";
  if (auto s = CloseLocked(l, close, kDaemonActor); !s) {
    Logger("fallback")->warn("fallback case {} not closed after online verification: {}",
                             l.row.id, s.error().message);
  }
}

void FallbackCaseUseCases::ReverifyTick(bool upstream_ok, int upstream_busy) {
  if (!checkins_) return;
  {
    // Claims the single re-verification slot (released below when nothing is sent).
    std::lock_guard lock(reverify_mu_);
    if (reverify_in_flight_ || !upstream_ok || upstream_busy > 0) return;
    if (clock_.Now() - last_reverify_ < options_.reverify_interval) return;
    reverify_in_flight_ = true;
  }
  bool sent = false;
  struct Release {
    FallbackCaseUseCases* self;
    bool* sent;
    ~Release() {
      if (*sent) return;
      std::lock_guard lock(self->reverify_mu_);
      self->reverify_in_flight_ = false;
    }
  } release{this, &sent};
  fb::CaseQuery q;
  q.state = "OPEN";
  q.limit = 1000;
  auto rows = store_.ListCases(q);
  if (!rows) return;
  // Oldest first: ListCases is newest first.
  for (auto it = rows->rbegin(); it != rows->rend(); ++it) {
    const json body = json::parse(it->body, nullptr, false);
    if (body.is_discarded()) continue;
    // SENT with nothing in flight here: sent by a daemon that stopped before the answer.
    const std::string state = Str(body.value("reverify", json::object()), "state");
    if (state != "QUEUED" && state != "SENT") continue;
    std::string check_in_id;
    int attempt = 0;
    {
      std::lock_guard lock(write_mu_);
      auto loaded = Load(it->id);
      if (!loaded) return;
      Loaded l = std::move(loaded).value();
      if (l.Closed() ||
          (l.Reverify() != ReverifyState::kQueued && l.Reverify() != ReverifyState::kSent)) {
        continue;
      }
      if (auto ci = checkins_->Get(l.row.check_in_id);
          !ci || ci->record.state != ck::CheckInState::kNeedsFallback) {
        continue;  // verified (its case closes through OnCheckIn) or gone: nothing to re-send
      }
      attempt = l.ReverifyAttempts() + 1;
      l.SetReverify(ReverifyState::kSent, attempt);
      fb::CaseWrite with;
      with.attempts.push_back(MakeAttempt(clock_.Now(), kDaemonActor, "REVERIFY_SENT",
                                          {{"attempt", attempt}}));
      with.events.push_back(MakeEvent(l.row.id, "fallback.reverify_sent", "UPSTREAM_AVAILABLE"));
      if (auto s = Save(l, false, std::move(with)); !s) return;
      check_in_id = l.row.check_in_id;
    }
    {
      std::lock_guard lock(reverify_mu_);
      last_reverify_ = clock_.Now();
    }
    sent = true;
    const std::string case_id = it->id;
    Logger("fallback")->info("re-verifying check-in {} for fallback case {} (attempt {})",
                             check_in_id, case_id, attempt);
    checkins_->Reverify(check_in_id, attempt, [this, case_id](core::Result<ResultView> outcome) {
      executor_.Post([this, case_id, outcome = std::move(outcome)]() mutable {
        ApplyReverification(case_id, std::move(outcome));
      });
    });
    return;
  }
}

void FallbackCaseUseCases::ApplyReverification(const std::string& case_id,
                                               core::Result<ResultView> outcome) {
  // The slot is released once the case says what happened (never SENT with the slot free).
  struct Release {
    FallbackCaseUseCases* self;
    ~Release() {
      std::lock_guard lock(self->reverify_mu_);
      self->reverify_in_flight_ = false;
    }
  } release{this};
  auto log = Logger("fallback");
  std::unique_lock lock(write_mu_);
  auto loaded = Load(case_id);
  if (!loaded) {
    log->warn("re-verification of case {} not recorded: {}", case_id, loaded.error().message);
    return;
  }
  Loaded l = std::move(loaded).value();
  if (l.Closed()) return;  // the check-in's own listener closed it already
  fb::CaseWrite with;
  const int attempts = l.ReverifyAttempts();
  if (!outcome) {
    const auto next = attempts >= options_.reverify_max_attempts ? ReverifyState::kGaveUp
                                                                 : ReverifyState::kQueued;
    l.SetReverify(next, attempts);
    with.attempts.push_back(MakeAttempt(clock_.Now(), kDaemonActor, "REVERIFY_FAILED",
                                        {{"attempt", attempts}, {"reason", outcome.error().reason},
                                         {"next", ReverifyStateName(next)}}));
    with.events.push_back(MakeEvent(case_id, "fallback.reverify_failed", outcome.error().reason));
    if (auto s = Save(l, false, std::move(with)); !s) {
      log->warn("re-verification failure of case {} not recorded: {}", case_id, s.error().message);
    }
    return;
  }
  const ResultView& result = outcome.value();
  std::optional<fb::FallbackCause> cause;
  if (result.parsed) cause = fb::FallbackCauseOf(*result.parsed);
  const bool valid = result.parsed && result.parsed->IsSingleValidResult();
  l.SetReverify(ReverifyState::kDone, attempts);
  with.attempts.push_back(MakeAttempt(
      clock_.Now(), kDaemonActor, "REVERIFIED",
      {{"attempt", attempts},
       {"result_id", result.stored.id},
       {"valid", valid},
       {"cause", cause ? json(core::ToString(*cause)) : json()}}));
  with.events.push_back(MakeEvent(case_id, "fallback.reverified", valid ? "VALID" : "NOT_VALID"));
  if (!valid && cause) {
    // The result is a reason of its own: decide again with it (and a 旧資格 it shows).
    fb::FallbackCase input = l.Input();
    input.cause = *cause;
    std::erase_if(input.known_eligibilities, [](const fb::KnownEligibility& k) {
      return k.source == fb::KnownEligibility::Source::kInvalidResult;
    });
    if (auto old = fb::OldEligibilityOf(*result.parsed)) input.known_eligibilities.push_back(*old);
    l.SetInput(input);
    Evaluate(l, kDaemonActor, with, "REVERIFIED");
  }
  if (auto s = Save(l, false, std::move(with)); !s) {
    log->warn("re-verification of case {} not recorded: {}", case_id, s.error().message);
    return;
  }
  if (valid) {
    // Closed by the check-in's listener when the check-in became VERIFIED; close here too in case
    // the check-in could not take the result (e.g. it was cancelled meanwhile).
    if (l.body.contains("claim")) return;
    CloseVerifiedOnline(l, &*result.parsed,
                        {"VERIFIED_ONLINE", "OQS 資格確認結果",
                         "re-verified online: claim with the current eligibility",
                         "再照会で資格が確認できました。現在の資格で請求してください。"});
  }
}

}  // namespace onshid::app
