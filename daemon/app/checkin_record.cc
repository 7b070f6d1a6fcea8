#include "app/checkin_record.h"

#include <algorithm>

#include <cstdio>

#include <nlohmann/json.hpp>

namespace onshid::app {
namespace {

using json = nlohmann::json;
namespace ck = core::checkin;

// The enums are contiguous from 0; `count` is one past the last value.
template <typename E, typename Fn>
std::optional<E> ParseByName(std::string_view text, int count, Fn name_of) {
  for (int i = 0; i < count; ++i) {
    const auto e = static_cast<E>(i);
    if (std::string_view(name_of(e)) == text) return e;
  }
  return std::nullopt;
}

constexpr int kChannels = 5;
constexpr int kPaths = 4;
constexpr int kStates = 4;
constexpr int kCertificateStatuses = 6;
constexpr int kChangedFields = 13;
constexpr int kInformationKinds = 14;


json OptionalText(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
std::optional<std::string> TextOrNone(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<std::string>();
}


// Bodies written before the shared vocabulary (core/reception.h) used other names; they are read
// as the values they stood for.
std::optional<ck::Document> LegacyDocument(std::string_view name) {
  if (name == "CERTIFICATE_CARD") return ck::Document::kQualificationCertificateCard;
  if (name == "CERTIFICATE_POSTCARD") return ck::Document::kQualificationCertificatePostcard;
  if (name == "CERTIFICATE_A4") return ck::Document::kQualificationCertificateA4;
  if (name == "CERTIFICATE_ELECTRONIC") return ck::Document::kQualificationCertificateElectronic;
  if (name == "EXPIRED_HEALTH_INSURANCE_CARD") return ck::Document::kHealthInsuranceCard;
  return std::nullopt;
}

// The check-in's own causes before they were the shared FallbackCause; READER_TROUBLE depended on
// the arrival, as the engine's mapping of it did.
std::optional<ck::FallbackCause> LegacyCause(std::string_view name, const CheckInRecord& r) {
  if (name == "UPSTREAM_UNAVAILABLE") return ck::FallbackCause::kNetworkError;
  if (name == "VALIDITY_INVALID") return ck::FallbackCause::kResultInvalid;
  if (name == "VALIDITY_INVALID_NEWER_EXISTS") return ck::FallbackCause::kResultInvalidNewerExists;
  if (name == "VALIDITY_NO_RECORD") return ck::FallbackCause::kResultNoRecord;
  if (name == "VALIDITY_MULTIPLE") return ck::FallbackCause::kResultMultiple;
  if (name == "READER_TROUBLE") {
    return ck::CauseOf(ck::ReadFailure::kReaderTrouble,
                       {r.channel, ck::DocumentSet(r.documents)});
  }
  return std::nullopt;
}

core::DomainError Unreadable(const std::string& id, const std::string& what) {
  core::DomainError e;
  e.kind = core::ErrorKind::kInternal;
  e.reason = "CHECKIN_RECORD_UNREADABLE";
  e.message = "stored check-in " + id + " cannot be read: " + what;
  e.message_ja = "保存された受付データを読み取れません。システム管理者に連絡してください。";
  return e;
}

}  // namespace

std::optional<std::chrono::year_month_day> ParseIsoDate(std::string_view iso) {
  if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-') return std::nullopt;
  std::string compact;
  compact.append(iso.substr(0, 4)).append(iso.substr(5, 2)).append(iso.substr(8, 2));
  auto d = core::oqs::OqsDate::Parse(compact);
  if (!d) return std::nullopt;
  return d->ymd();
}

std::optional<ck::Channel> ParseChannel(std::string_view t) {
  return ParseByName<ck::Channel>(t, kChannels, [](ck::Channel v) { return ck::ToString(v); });
}
std::optional<ck::Document> ParseDocument(std::string_view t) {
  if (auto d = core::DocumentFromString(t)) return d;
  return LegacyDocument(t);
}
std::optional<ck::CheckInState> ParseCheckInState(std::string_view t) {
  return ParseByName<ck::CheckInState>(t, kStates,
                                       [](ck::CheckInState v) { return ck::ToString(v); });
}
std::optional<ck::InformationKind> ParseInformationKind(std::string_view t) {
  return ParseByName<ck::InformationKind>(t, kInformationKinds,
                                          [](ck::InformationKind v) { return ck::ToString(v); });
}

std::string_view ToString(ck::InformationScope scope) {
  return scope == ck::InformationScope::kInsuranceOnly ? "INSURANCE_ONLY" : "FULL";
}

std::string_view ToString(ck::ConsentFlag flag) {
  switch (flag) {
    case ck::ConsentFlag::kAbsent: return "ABSENT";
    case ck::ConsentFlag::kNone: return "NONE";
    case ck::ConsentFlag::kGiven: return "GIVEN";
    case ck::ConsentFlag::kExpired: return "EXPIRED";
    case ck::ConsentFlag::kHardToObtain: return "HARD_TO_OBTAIN";
    case ck::ConsentFlag::kUnknownCode: return "UNKNOWN_CODE";
  }
  return "UNKNOWN_CODE";
}

std::string KanaKey(const std::optional<std::string>& name_kana) {
  if (!name_kana || name_kana->empty()) return "";
  return ck::KanaComparisonKey(*name_kana);
}

std::string BirthDateKey(const std::optional<std::chrono::year_month_day>& d) {
  if (!d || !d->ok()) return "";
  return IsoDate(*d);
}

std::string IsoDate(const std::chrono::year_month_day& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

ck::CheckInRow EncodeRecord(const CheckInRecord& r) {
  json b;
  b["channel"] = ck::ToString(r.channel);
  json docs = json::array();
  for (auto d : r.documents) docs.push_back(core::ToString(d));
  b["documents"] = docs;
  b["holdings"] = {
      {"my_number_insurance",
       r.holdings.my_number_insurance ? json(*r.holdings.my_number_insurance) : json(nullptr)},
      {"qualification_certificate", r.holdings.qualification_certificate
                                        ? json(*r.holdings.qualification_certificate)
                                        : json(nullptr)}};
  b["path"] = ck::ToString(r.path);
  b["visit"] = {{"kind", core::ToString(r.visit.kind)},
                {"real_days_this_month", r.visit.real_days_this_month},
                {"patient_id", r.visit.patient_id}};
  b["staff_notes_ja"] = r.staff_notes_ja;
  if (r.query) {
    const auto& q = *r.query;
    b["query"] = {{"insurer_number", q.insurer_number},
                  {"insured_card_symbol", q.insured_card_symbol},
                  {"insured_identification_number", q.insured_identification_number},
                  {"insured_branch_number", q.insured_branch_number},
                  {"birth_date", q.birth_date},
                  {"limit_certificate_consent", q.limit_certificate_consent},
                  {"arbitrary_identifier", q.arbitrary_identifier}};
  }
  b["query_key"] = r.query_key;
  b["reader"] = r.reader;
  b["certificate"] = r.certificate ? json(core::card::ToString(*r.certificate)) : json(nullptr);
  b["keys"] = {{"reference_number", OptionalText(r.keys.reference_number)},
               {"card_key", OptionalText(r.keys.card_key)},
               {"name_kana", OptionalText(r.keys.name_kana)},
               {"birth_date", r.keys.birth_date ? json(BirthDateKey(r.keys.birth_date)) : json(nullptr)}};
  b["cause"] = r.cause ? json(core::ToString(*r.cause)) : json(nullptr);
  b["scope"] = ToString(r.scope);
  b["reason"] = r.reason;
  b["message"] = r.message;
  b["message_ja"] = r.message_ja;
  json notices = json::array();
  for (const auto& n : r.notices) {
    notices.push_back({{"code", n.code}, {"message", n.message}, {"message_ja", n.message_ja}});
  }
  b["notices"] = notices;
  b["from_result"] = r.from_result;
  b["correlation_reasons"] = r.correlation_reasons;
  json candidates = json::array();
  for (const auto& c : r.candidates) {
    candidates.push_back({{"check_in_id", c.check_in_id}, {"fits", c.fits}, {"reasons", c.reasons}});
  }
  b["candidates"] = candidates;
  json changes = json::array();
  for (const auto& c : r.changes) {
    changes.push_back(
        {{"field", ck::FieldName(c.field)}, {"old", c.old_value}, {"new", c.new_value}});
  }
  b["changes"] = changes;
  b["baseline_check_in_id"] = r.baseline_check_in_id;
  json oral = json::array();
  for (const auto& o : r.oral_consents) {
    oral.push_back({{"staff_id", o.staff_id},
                    {"at_us", UnixMicros(o.at)},
                    {"withdrawn_at_us", o.withdrawn_at ? json(UnixMicros(*o.withdrawn_at)) : json(nullptr)}});
  }
  b["oral_consents"] = oral;
  json withdrawals = json::array();
  for (const auto& w : r.withdrawals) {
    withdrawals.push_back({{"kind", ck::ToString(w.kind)}, {"at_us", UnixMicros(w.at)}});
  }
  b["withdrawals"] = withdrawals;
  b["applied_requests"] = r.applied_requests;

  ck::CheckInRow row;
  row.id = r.id;
  row.version = r.version;
  row.client_key = r.client_key;
  row.day = r.day;
  row.desk_id = r.desk_id;
  row.state = std::string(ck::ToString(r.state));
  row.correlation = r.correlation;
  row.patient_id = r.patient_id;
  row.result_id = r.result_id;
  row.reference_number = r.keys.reference_number.value_or("");
  row.card_key = r.keys.card_key.value_or("");
  row.kana_key = KanaKey(r.keys.name_kana);
  row.birth_date = BirthDateKey(r.keys.birth_date);
  row.timed_out = r.timed_out;
  row.created_at = r.created_at;
  row.updated_at = r.updated_at;
  row.body = b.dump();
  return row;
}

core::Result<CheckInRecord> DecodeRecord(const ck::CheckInRow& row) {
  CheckInRecord r;
  r.id = row.id;
  r.version = row.version;
  r.client_key = row.client_key;
  r.day = row.day;
  r.desk_id = row.desk_id;
  r.correlation = row.correlation;
  r.patient_id = row.patient_id;
  r.result_id = row.result_id;
  r.timed_out = row.timed_out;
  r.created_at = row.created_at;
  r.updated_at = row.updated_at;
  auto state = ParseCheckInState(row.state);
  if (!state) return Unreadable(row.id, "state");
  r.state = *state;
  try {
    const json b = json::parse(row.body);
    auto channel = ParseChannel(b.at("channel").get<std::string>());
    if (!channel) return Unreadable(row.id, "channel");
    r.channel = *channel;
    for (const auto& d : b.at("documents")) {
      auto doc = ParseDocument(d.get<std::string>());
      if (!doc) return Unreadable(row.id, "documents");
      r.documents.push_back(*doc);
    }
    const auto& h = b.at("holdings");
    if (!h.at("my_number_insurance").is_null()) {
      r.holdings.my_number_insurance = h.at("my_number_insurance").get<bool>();
    }
    if (!h.at("qualification_certificate").is_null()) {
      r.holdings.qualification_certificate = h.at("qualification_certificate").get<bool>();
    }
    std::string path_name = b.at("path").get<std::string>();
    if (path_name == "CERTIFICATE_QUERY") path_name = "QUALIFICATION_CERTIFICATE_QUERY";  // legacy
    auto path = ParseByName<ck::VerificationPath>(
        path_name, kPaths, [](ck::VerificationPath v) { return ck::ToString(v); });
    if (!path) return Unreadable(row.id, "path");
    r.path = *path;
    const auto& v = b.at("visit");
    const std::string visit = v.at("kind").get<std::string>();
    r.visit.kind = visit == "REVISIT" || visit == "RETURN_VISIT" ? ck::VisitKind::kRevisit
                                                                     : ck::VisitKind::kFirstVisit;
    r.visit.real_days_this_month = v.at("real_days_this_month").get<int>();
    r.visit.patient_id = v.at("patient_id").get<std::string>();
    r.staff_notes_ja = b.at("staff_notes_ja").get<std::vector<std::string>>();
    if (b.contains("query")) {
      const auto& q = b.at("query");
      core::oqs::EligibilityQueryInput in;
      in.insurer_number = q.at("insurer_number").get<std::string>();
      in.insured_card_symbol = q.at("insured_card_symbol").get<std::string>();
      in.insured_identification_number = q.at("insured_identification_number").get<std::string>();
      in.insured_branch_number = q.at("insured_branch_number").get<std::string>();
      in.birth_date = q.at("birth_date").get<std::string>();
      in.limit_certificate_consent = q.at("limit_certificate_consent").get<std::string>();
      in.arbitrary_identifier = q.at("arbitrary_identifier").get<std::string>();
      r.query = in;
    }
    r.query_key = b.at("query_key").get<std::string>();
    r.reader = b.at("reader").get<std::string>();
    if (!b.at("certificate").is_null()) {
      auto status = ParseByName<core::card::CertificateStatus>(
          b.at("certificate").get<std::string>(), kCertificateStatuses,
          [](core::card::CertificateStatus s) { return core::card::ToString(s); });
      if (!status) return Unreadable(row.id, "certificate");
      r.certificate = *status;
    }
    const auto& k = b.at("keys");
    r.keys.reference_number = TextOrNone(k, "reference_number");
    r.keys.card_key = TextOrNone(k, "card_key");
    r.keys.name_kana = TextOrNone(k, "name_kana");
    if (auto bd = TextOrNone(k, "birth_date")) r.keys.birth_date = ParseIsoDate(*bd);
    if (!b.at("cause").is_null()) {
      const std::string name = b.at("cause").get<std::string>();
      auto cause = core::FallbackCauseFromString(name);
      if (!cause) cause = LegacyCause(name, r);
      if (!cause) return Unreadable(row.id, "cause");
      r.cause = *cause;
    }
    r.scope = b.at("scope").get<std::string>() == "INSURANCE_ONLY"
                  ? ck::InformationScope::kInsuranceOnly
                  : ck::InformationScope::kFull;
    r.reason = b.at("reason").get<std::string>();
    r.message = b.at("message").get<std::string>();
    r.message_ja = b.at("message_ja").get<std::string>();
    for (const auto& n : b.at("notices")) {
      r.notices.push_back({n.at("code").get<std::string>(), n.at("message").get<std::string>(),
                           n.at("message_ja").get<std::string>()});
    }
    r.from_result = b.value("from_result", false);
    r.correlation_reasons = b.at("correlation_reasons").get<std::vector<std::string>>();
    for (const auto& c : b.at("candidates")) {
      r.candidates.push_back({c.at("check_in_id").get<std::string>(), c.at("fits").get<bool>(),
                              c.at("reasons").get<std::vector<std::string>>()});
    }
    for (const auto& c : b.at("changes")) {
      auto field = ParseByName<ck::ChangedField>(c.at("field").get<std::string>(), kChangedFields,
                                                 [](ck::ChangedField f) { return ck::FieldName(f); });
      if (!field) return Unreadable(row.id, "changes");
      r.changes.push_back({*field, c.at("old").get<std::string>(), c.at("new").get<std::string>()});
    }
    r.baseline_check_in_id = b.at("baseline_check_in_id").get<std::string>();
    for (const auto& o : b.at("oral_consents")) {
      ck::OralConsentRecord rec;
      rec.staff_id = o.at("staff_id").get<std::string>();
      rec.at = FromUnixMicros(o.at("at_us").get<std::int64_t>());
      if (!o.at("withdrawn_at_us").is_null()) {
        rec.withdrawn_at = FromUnixMicros(o.at("withdrawn_at_us").get<std::int64_t>());
      }
      r.oral_consents.push_back(rec);
    }
    for (const auto& w : b.at("withdrawals")) {
      auto kind = ParseInformationKind(w.at("kind").get<std::string>());
      if (!kind) return Unreadable(row.id, "withdrawals");
      r.withdrawals.push_back({*kind, FromUnixMicros(w.at("at_us").get<std::int64_t>())});
    }
    // Absent in bodies written before request keys were kept.
    if (b.contains("applied_requests")) {
      r.applied_requests = b.at("applied_requests").get<std::vector<std::string>>();
    }
  } catch (const json::exception& e) {
    // Only the error number: a parse error's text could quote stored (personal) data.
    return Unreadable(row.id, "JSON error " + std::to_string(e.id));
  }
  return r;
}

bool CheckInRecord::Applied(const std::string& request_key) const {
  return !request_key.empty() &&
         std::find(applied_requests.begin(), applied_requests.end(), request_key) !=
             applied_requests.end();
}

void CheckInRecord::MarkApplied(const std::string& request_key) {
  if (request_key.empty() || Applied(request_key)) return;
  applied_requests.push_back(request_key);
  if (applied_requests.size() > kAppliedRequestsKept) {
    applied_requests.erase(applied_requests.begin(),
                           applied_requests.end() - static_cast<std::ptrdiff_t>(kAppliedRequestsKept));
  }
}

std::int64_t UnixMicros(core::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

core::SystemTime FromUnixMicros(std::int64_t us) {
  return core::SystemTime(
      std::chrono::duration_cast<core::SystemTime::duration>(std::chrono::microseconds(us)));
}

}  // namespace onshid::app
