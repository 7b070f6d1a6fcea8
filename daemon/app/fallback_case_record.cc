#include "app/fallback_case_record.h"

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "app/checkin_record.h"

namespace onshid::app {
namespace {

using json = nlohmann::json;
namespace fb = core::fallback;

// Names as bodies hold them (some differ from the core's ToString: these were written first).
template <typename E, std::size_t N>
std::optional<E> ByName(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 3> kAges = {"UNDER_70", "70_TO_74", "KOUKI"};
constexpr std::array<std::string_view, 4> kNewborns = {
    "NO", "CARD_REGISTERED", "CARD_NOT_REGISTERED", "REGISTRATION_UNCHECKED"};
constexpr std::array<std::string_view, 3> kSources = {"INVALID_RESULT", "PAST_VISITS", "CONFIRMED"};
constexpr std::array<std::string_view, 2> kVisits = {"FIRST_VISIT", "REVISIT"};

std::string Str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                : std::string();
}

json OptDate(const std::optional<core::oqs::OqsDate>& d) {
  return d ? json(fb::IsoDay(*d)) : json();
}
std::optional<core::oqs::OqsDate> ReadDate(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
  return fb::ParseIsoDay(j[key].get<std::string>());
}

// ---------------------------------------------------------------------------------------------
// Values

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
std::optional<fb::KnownEligibility> OptEligibility(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_object()) return std::nullopt;
  return EligibilityFrom(j[key]);
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
  c.cause =
      core::FallbackCauseFromString(Str(j, "cause")).value_or(fb::FallbackCause::kNetworkError);
  const json p = j.value("presented", json::array());
  if (p.is_array()) {
    for (const auto& name : p) {
      if (auto d =
              name.is_string() ? core::DocumentFromString(name.get<std::string>()) : std::nullopt) {
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

json DecisionJson(const fb::DecisionSummary& d) {
  if (!d.error.empty()) return {{"error", d.error}, {"fields", d.error_fields}};
  json methods = json::array();
  for (const auto& m : d.methods) {
    methods.push_back({{"method", fb::MethodName(m.method)},
                       {"allowed", m.allowed},
                       {"rule", m.rule},
                       {"leads_to", m.leads_to ? json(fb::ClaimRouteName(*m.leads_to)) : json()}});
  }
  return {{"engine_version", d.engine_version}, {"first_choice", fb::MethodName(d.first_choice)},
          {"charge", fb::ChargeName(d.charge)}, {"charge_rule", d.charge_rule},
          {"charge_notes", d.charge_notes},     {"methods", std::move(methods)}};
}
fb::DecisionSummary DecisionFrom(const json& j) {
  fb::DecisionSummary d;
  if (!j.is_object()) return d;
  if (j.contains("error")) {
    d.error = Str(j, "error");
    for (const auto& f : j.value("fields", json::array())) {
      if (f.is_string()) d.error_fields.push_back(f.get<std::string>());
    }
    return d;
  }
  d.engine_version = Str(j, "engine_version");
  d.first_choice = fb::MethodFromString(Str(j, "first_choice")).value_or(fb::Method::kFullSelfPay);
  d.charge = fb::ChargeFromString(Str(j, "charge")).value_or(fb::Charge::kNormalRatio);
  d.charge_rule = Str(j, "charge_rule");
  for (const auto& n : j.value("charge_notes", json::array())) {
    if (n.is_string()) d.charge_notes.push_back(n.get<std::string>());
  }
  for (const auto& m : j.value("methods", json::array())) {
    fb::DecisionSummary::Line line;
    line.method = fb::MethodFromString(Str(m, "method")).value_or(fb::Method::kFullSelfPay);
    line.allowed = m.value("allowed", false);
    line.rule = Str(m, "rule");
    line.leads_to = fb::ClaimRouteFromString(Str(m, "leads_to"));
    d.methods.push_back(std::move(line));
  }
  return d;
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
json CardFaceJson(const fb::CardFace& c) {
  return {{"name", c.name},
          {"sex", static_cast<int>(c.sex)},
          {"birth_date", OptDate(c.birth_date)},
          {"address", c.address},
          {"insurer_name", c.insurer_name}};
}
fb::CardFace CardFaceFrom(const json& j) {
  fb::CardFace c;
  c.name = Str(j, "name");
  c.sex = static_cast<fb::DeclaredSex>(j.value("sex", 0));
  c.birth_date = ReadDate(j, "birth_date");
  c.address = Str(j, "address");
  c.insurer_name = Str(j, "insurer_name");
  return c;
}

json EvidenceJson(const fb::CaseEvidence& e) {
  json j = {{"seq", e.seq},
            {"kind", fb::ToString(e.kind)},
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
fb::CaseEvidence EvidenceFrom(const json& j) {
  fb::CaseEvidence e;
  e.seq = j.value("seq", std::int64_t{0});
  e.kind = fb::EvidenceKindFromString(Str(j, "kind")).value_or(fb::EvidenceKind::kMethodApplied);
  if (j.contains("method")) e.method = fb::MethodFromString(Str(j, "method"));
  e.staff_id = Str(j, "staff_id");
  e.at = FromUnixMicros(j.value("at", std::int64_t{0}));
  e.rule_id = Str(j, "rule_id");
  e.eligibility_recorded = j.value("eligibility_recorded", false);
  e.statement_recorded = j.value("statement_recorded", false);
  e.card_face_recorded = j.value("card_face_recorded", false);
  e.oral_answered_by = Str(j, "oral_answered_by");
  if (j.contains("amount_collected_yen"))
    e.amount_collected_yen = j["amount_collected_yen"].get<int>();
  if (j.contains("contacted_on")) e.contacted_on = Str(j, "contacted_on");
  return e;
}

json ClaimJson(const fb::ClaimSummary& c) {
  json notes = json::array();
  for (const auto& n : c.notes) notes.push_back(RuleJson(n));
  return {{"route", fb::ClaimRouteName(c.route)},
          {"rule", RuleJson(c.rule)},
          {"notes", std::move(notes)},
          {"engine_version", c.engine_version},
          {"chosen_at", UnixMicros(c.chosen_at)},
          {"chosen_by", c.chosen_by}};
}
fb::ClaimSummary ClaimFrom(const json& j) {
  fb::ClaimSummary c;
  c.route = fb::ClaimRouteFromString(Str(j, "route")).value_or(fb::ClaimRoute::kSelfPay);
  c.rule = RuleFrom(j.value("rule", json::object()));
  for (const auto& n : j.value("notes", json::array())) c.notes.push_back(RuleFrom(n));
  c.engine_version = Str(j, "engine_version");
  c.chosen_at = FromUnixMicros(j.value("chosen_at", std::int64_t{0}));
  c.chosen_by = Str(j, "chosen_by");
  return c;
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  for (const auto& s : j.value(key, json::array())) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Proof entries

json ProofJson(const fb::ProofDetail& detail) {
  struct Encode {
    json operator()(const fb::proof::OpenedByHand&) const { return {{"by_hand", true}}; }
    json operator()(const fb::proof::OpenedForCheckIn& o) const {
      return {{"check_in_id", o.check_in_id},
              {"check_in_cause",
               o.check_in_cause ? std::string(core::ToString(*o.check_in_cause)) : std::string()},
              {"reverify", fb::ToString(o.reverify)},
              {"unconfirmed_facts", o.unconfirmed_facts}};
    }
    json operator()(const fb::proof::Evaluated& e) const {
      return {
          {"why", e.why}, {"input", InputJson(e.input)}, {"decision", DecisionJson(e.decision)}};
    }
    json operator()(const fb::proof::EvidenceRecorded& e) const { return EvidenceJson(e.evidence); }
    json operator()(const fb::proof::ClaimRouteRefused& r) const {
      return {{"reason", r.reason}, {"fields", r.fields}};
    }
    json operator()(const fb::proof::ClaimRouteChosen& c) const {
      return {{"route", fb::ClaimRouteName(c.route)},
              {"rule", c.rule},
              {"notes", c.notes},
              {"engine_version", c.engine_version},
              {"tekiyo_built", c.tekiyo_built}};
    }
    json operator()(const fb::proof::Closed& c) const {
      return {
          {"reason", c.reason}, {"route", c.route}, {"keep_personal_data", c.keep_personal_data}};
    }
    json operator()(const fb::proof::Purged& p) const {
      json j = {{"why", p.why}};
      if (p.retention_hours) j["retention_hours"] = *p.retention_hours;
      return j;
    }
    json operator()(const fb::proof::TaskDone& t) const {
      return {{"task_id", t.task_id},
              {"kind", fb::ToString(t.kind)},
              {"outcome", t.outcome},
              {"staff_id", t.staff_id}};
    }
    json operator()(const fb::proof::VerifiedOnline& v) const {
      return {{"check_in_id", v.check_in_id}, {"result_id", v.result_id}};
    }
    json operator()(const fb::proof::ReverifySent& s) const { return {{"attempt", s.attempt}}; }
    json operator()(const fb::proof::ReverifyFailed& f) const {
      return {{"attempt", f.attempt}, {"reason", f.reason}, {"next", fb::ToString(f.next)}};
    }
    json operator()(const fb::proof::Reverified& r) const {
      return {{"attempt", r.attempt},
              {"result_id", r.result_id},
              {"valid", r.valid},
              {"cause", r.cause ? json(core::ToString(*r.cause)) : json()}};
    }
  };
  return std::visit(Encode{}, detail);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Cases

EncodedCase EncodeCase(const fb::Case& c) {
  EncodedCase out;
  fb::CaseRow& row = out.row;
  row.id = c.id;
  row.version = c.version;
  row.client_key = c.client_key;
  row.check_in_id = c.check_in_id;
  row.state = std::string(fb::ToString(c.state));
  row.claim_route = c.claim ? std::string(fb::ClaimRouteName(c.claim->route)) : std::string();
  row.day = c.day;
  row.opened_at = c.opened_at;
  row.updated_at = c.updated_at;
  row.closed_at = c.closed_at;
  row.has_personal_data = c.has_personal_data;

  json b = json::object();
  b["opened_by"] = c.opened_by;
  if (!c.close_reason.empty()) b["close_reason"] = c.close_reason;
  b["input"] = InputJson(c.input);
  b["unconfirmed_facts"] = c.unconfirmed_facts;
  b["decision"] = DecisionJson(c.decision);
  json evidence = json::array();
  for (const auto& e : c.evidence) evidence.push_back(EvidenceJson(e));
  b["evidence"] = std::move(evidence);
  if (c.applied_method) b["applied_method"] = fb::MethodName(*c.applied_method);
  if (c.claim) b["claim"] = ClaimJson(*c.claim);
  if (c.purged_at) b["purged_at"] = UnixMicros(*c.purged_at);
  b["reverify"] = {{"state", fb::ToString(c.reverify)}, {"attempts", c.reverify_attempts}};
  if (!c.applied_requests.empty()) b["applied_requests"] = c.applied_requests;
  if (c.task_seq > 0) b["task_seq"] = c.task_seq;
  row.body = b.dump();

  json p = json::object();
  const auto& held = c.personal;
  // A purged case's known eligibilities have no identifiers left to keep.
  if (!c.input.known_eligibilities.empty() && !c.purged_at) {
    json known = json::array();
    for (const auto& k : c.input.known_eligibilities) known.push_back(EligibilityJson(k));
    p["known"] = std::move(known);
  }
  if (held.confirmed) p["confirmed"] = EligibilityJson(*held.confirmed);
  if (held.claim_with) p["claim_with"] = EligibilityJson(*held.claim_with);
  if (held.statement) p["statement"] = StatementJson(*held.statement);
  if (held.card_face) p["card_face"] = CardFaceJson(*held.card_face);
  if (held.contacted_on) p["contacted_on"] = *held.contacted_on;
  if (!held.tekiyo.empty()) p["tekiyo"] = held.tekiyo;
  if (!p.empty()) out.personal_data = p.dump();
  return out;
}

core::Result<fb::Case> DecodeCase(const fb::CaseRow& row,
                                  const std::optional<std::string>& personal_data,
                                  const std::vector<fb::Task>& tasks) {
  const json b = json::parse(row.body, nullptr, false);
  if (b.is_discarded() || !b.is_object()) {
    return core::Internal("fallback case " + row.id + " has an unreadable body");
  }
  json p = json::object();
  if (personal_data) {
    p = json::parse(*personal_data, nullptr, false);
    if (p.is_discarded() || !p.is_object()) p = json::object();
  }
  fb::Case c;
  c.id = row.id;
  c.version = row.version;
  c.client_key = row.client_key;
  c.check_in_id = row.check_in_id;
  c.state = fb::CaseStateFromString(row.state).value_or(fb::CaseState::kOpen);
  c.day = row.day;
  c.opened_at = row.opened_at;
  c.updated_at = row.updated_at;
  c.closed_at = row.closed_at;
  c.has_personal_data = row.has_personal_data;

  c.opened_by = Str(b, "opened_by");
  c.close_reason = Str(b, "close_reason");
  const json* known = p.contains("known") ? &p["known"] : nullptr;
  c.input = InputFrom(b.value("input", json::object()), known);
  c.unconfirmed_facts = Strings(b, "unconfirmed_facts");
  c.decision = DecisionFrom(b.value("decision", json::object()));
  for (const auto& e : b.value("evidence", json::array())) c.evidence.push_back(EvidenceFrom(e));
  c.applied_method = fb::MethodFromString(Str(b, "applied_method"));
  if (b.contains("claim") && b["claim"].is_object()) c.claim = ClaimFrom(b["claim"]);
  if (b.contains("purged_at") && b["purged_at"].is_number_integer()) {
    c.purged_at = FromUnixMicros(b["purged_at"].get<std::int64_t>());
  }
  const json reverify = b.value("reverify", json::object());
  c.reverify =
      fb::ReverifyStateFromString(Str(reverify, "state")).value_or(fb::ReverifyState::kNone);
  c.reverify_attempts = reverify.is_object() ? reverify.value("attempts", 0) : 0;
  c.applied_requests = Strings(b, "applied_requests");
  c.task_seq = b.value("task_seq", 0);

  c.personal.confirmed = OptEligibility(p, "confirmed");
  c.personal.claim_with = OptEligibility(p, "claim_with");
  if (p.contains("statement") && p["statement"].is_object()) {
    c.personal.statement = StatementFrom(p["statement"]);
  }
  if (p.contains("card_face") && p["card_face"].is_object()) {
    c.personal.card_face = CardFaceFrom(p["card_face"]);
  }
  if (p.contains("contacted_on") && p["contacted_on"].is_string()) {
    c.personal.contacted_on = p["contacted_on"].get<std::string>();
  }
  c.personal.tekiyo = Str(p, "tekiyo");

  for (const auto& t : tasks) c.tasks.push_back(DecodeTask(t));
  return c;
}

// ---------------------------------------------------------------------------------------------
// Tasks

fb::Task EncodeTask(const fb::CaseTask& t, const std::string& case_id) {
  fb::Task out;
  out.id = t.id;
  out.case_id = case_id;
  out.kind = std::string(fb::ToString(t.kind));
  out.state = std::string(fb::ToString(t.state));
  out.due_day = t.due_day;
  out.created_at = t.created_at;
  out.done_at = t.done_at;
  out.done_by = t.done_by;
  json body = {{"why", t.why}, {"why_ja", t.why_ja}};
  if (!t.route.empty()) body["route"] = t.route;
  if (!t.outcome.empty()) body["outcome"] = t.outcome;
  out.body = body.dump();
  return out;
}

fb::CaseTask DecodeTask(const fb::Task& t) {
  fb::CaseTask out;
  out.id = t.id;
  out.kind = fb::TaskKindFromString(t.kind).value_or(fb::TaskKind::kContactPatient);
  out.state = fb::TaskStateFromString(t.state).value_or(fb::TaskState::kOpen);
  out.due_day = t.due_day;
  out.created_at = t.created_at;
  out.done_at = t.done_at;
  out.done_by = t.done_by;
  const json body = json::parse(t.body, nullptr, false);
  if (body.is_object()) {
    out.why = Str(body, "why");
    out.why_ja = Str(body, "why_ja");
    out.route = Str(body, "route");
    out.outcome = Str(body, "outcome");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Changes

fb::CaseWrite EncodeChange(const fb::Change& change) {
  fb::CaseWrite with;
  const std::string& case_id = change.after.id;
  for (const auto& e : change.events) {
    if (e.proof) {
      fb::Attempt a;
      a.at = e.at;
      a.actor = e.actor;
      a.kind = std::string(fb::ProofKind(*e.proof));
      a.body = ProofJson(*e.proof).dump();
      with.attempts.push_back(std::move(a));
    }
    if (e.publication) {
      core::Event ev;
      ev.at = e.at;
      ev.type = e.publication->type;
      ev.attributes = {{"case_id", case_id}};
      if (!e.publication->reason.empty())
        ev.attributes.emplace_back("reason", e.publication->reason);
      for (const auto& a : e.publication->attributes) ev.attributes.push_back(a);
      with.events.push_back(std::move(ev));
    }
  }
  for (const auto& t : change.tasks) with.tasks.push_back(EncodeTask(t, case_id));
  with.purge_personal_data = change.purge_personal_data;
  return with;
}

std::string EncodeProof(const fb::Case& c, const std::vector<fb::Attempt>& attempts,
                        core::SystemTime exported_at) {
  json list = json::array();
  for (const auto& a : attempts) {
    json body = json::parse(a.body, nullptr, false);
    list.push_back({{"seq", a.seq},
                    {"at_unix_micros", UnixMicros(a.at)},
                    {"actor", a.actor},
                    {"kind", a.kind},
                    {"detail", body.is_discarded() ? json(a.body) : body}});
  }
  json proof = {{"case_id", c.id},
                {"check_in_id", c.check_in_id},
                {"state", fb::ToString(c.state)},
                {"day", c.day},
                {"opened_at_unix_micros", UnixMicros(c.opened_at)},
                {"closed_at_unix_micros", c.closed_at ? json(UnixMicros(*c.closed_at)) : json()},
                {"close_reason", c.close_reason},
                {"claim_route", c.claim ? json(fb::ClaimRouteName(c.claim->route)) : json()},
                {"engine_version_now", fb::kEngineVersion},
                {"exported_at_unix_micros", UnixMicros(exported_at)},
                {"attempts", std::move(list)}};
  return proof.dump(2);
}

}  // namespace onshid::app
