#include "core/checkin/documents.h"

#include <algorithm>
#include <chrono>

namespace onshid::core::checkin {
namespace {

DomainError Refusal(std::string reason, std::string message, std::string message_ja,
                    std::string field, std::string description) {
  DomainError e;
  e.kind = ErrorKind::kFailedPrecondition;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja = std::move(message_ja);
  e.field_violations.push_back({std::move(field), std::move(description)});
  return e;
}

bool Contains(const std::vector<Document>& docs, Document d) {
  return std::find(docs.begin(), docs.end(), d) != docs.end();
}

bool ContainsIf(const std::vector<Document>& docs, bool (*pred)(Document)) {
  return std::any_of(docs.begin(), docs.end(), pred);
}

oqs::OqsDate ProvisionalLastDate() {
  return oqs::OqsDate::FromSysDays(std::chrono::sys_days{
      std::chrono::year{kProvisionalLastYear} / kProvisionalLastMonth / kProvisionalLastDay});
}

// The provisional expired-card path (DOMAIN.md §2). Returns the refusal, or nullopt when accepted.
std::optional<DomainError> CheckProvisional(const PatientHoldings& holdings, oqs::OqsDate date) {
  if (date > ProvisionalLastDate()) {
    return Refusal("PROVISIONAL_PERIOD_ENDED",
                   "An expired health insurance card was accepted only until 2026-03-31; the "
                   "provisional period has ended.",
                   "期限切れの健康保険証での受付（経過措置）は2026年3月31日で終了しました。"
                   "マイナ保険証または資格確認書の提示をお願いしてください。",
                   "documents", "expired health insurance card after 2026-03-31");
  }
  std::vector<FieldViolation> unknown;
  if (!holdings.my_number_insurance) {
    unknown.push_back({"holdings.my_number_insurance", "not confirmed with the patient"});
  }
  if (!holdings.qualification_certificate) {
    unknown.push_back({"holdings.qualification_certificate", "not confirmed with the patient"});
  }
  if (!unknown.empty()) {
    return InvalidArgument("HOLDINGS_NOT_CONFIRMED",
                           "The expired-card path needs confirmation that the patient holds "
                           "neither My Number insurance nor a qualification certificate.",
                           "マイナ保険証・資格確認書をお持ちでないことを患者さんに確認してください。",
                           std::move(unknown));
  }
  if (*holdings.my_number_insurance) {
    return Refusal("PATIENT_HOLDS_MY_NUMBER_INSURANCE",
                   "The patient holds My Number insurance; an expired health insurance card is "
                   "not accepted.",
                   "マイナ保険証をお持ちの方です。期限切れの保険証ではなくマイナ保険証で受付してください。",
                   "holdings.my_number_insurance", "patient holds My Number insurance");
  }
  if (*holdings.qualification_certificate) {
    return Refusal("PATIENT_HOLDS_QUALIFICATION_CERTIFICATE",
                   "The patient holds a qualification certificate; an expired health insurance "
                   "card is not accepted.",
                   "資格確認書をお持ちの方です。期限切れの保険証ではなく資格確認書で受付してください。",
                   "holdings.qualification_certificate", "patient holds a qualification certificate");
  }
  return std::nullopt;
}

Result<DocumentDecision> DecideByDocuments(const std::vector<Document>& documents,
                                           const PatientHoldings& holdings, oqs::OqsDate date) {
  DocumentDecision d;
  const bool has_notice = Contains(documents, Document::kQualificationNotice);
  const bool has_portal = Contains(documents, Document::kMynaPortalScreen);
  const bool has_expired = Contains(documents, Document::kHealthInsuranceCard);

  if (ContainsIf(documents, IsMyNumberInsurance)) {
    d.path = VerificationPath::kMyNumberCard;
    d.primary = Contains(documents, Document::kMyNumberCard) ? Document::kMyNumberCard
                                                             : Document::kMyNumberSmartphone;
    if (ContainsIf(documents, IsQualificationCertificate) || has_notice || has_portal ||
        has_expired) {
      d.staff_notes_ja.push_back("マイナ保険証で資格確認します。その他の書類は確認に使用しません。");
    }
    return d;
  }
  if (ContainsIf(documents, IsQualificationCertificate)) {
    d.path = VerificationPath::kQualificationCertificateQuery;
    d.primary = *std::find_if(documents.begin(), documents.end(), IsQualificationCertificate);
    d.requires_identifier_query = true;
    if (has_notice || has_portal || has_expired) {
      d.staff_notes_ja.push_back("資格確認書の記号・番号でオンライン資格確認します。");
    }
    return d;
  }
  if (has_expired) {
    if (auto refusal = CheckProvisional(holdings, date)) return *std::move(refusal);
    d.path = VerificationPath::kProvisionalQuery;
    d.primary = Document::kHealthInsuranceCard;
    d.requires_identifier_query = true;
    d.staff_notes_ja.push_back(
        "経過措置：期限切れの保険証（またはお知らせ）の記号・番号でオンライン資格確認します。"
        "2026年3月31日までの取扱いです。");
    return d;
  }
  if (has_notice) {
    return Refusal("QUALIFICATION_NOTICE_WITHOUT_CARD",
                   "A qualification notice (shikaku joho no oshirase) is valid only together with "
                   "the My Number card.",
                   "「資格情報のお知らせ」だけでは受診できません。マイナンバーカードと一緒にご提示ください"
                   "（資格確認書とお間違えないようご注意ください）。",
                   "documents", "qualification notice without the My Number card");
  }
  if (has_portal) {
    return Refusal("PORTAL_SCREEN_WITHOUT_CARD",
                   "The Mynaportal qualification screen (or its PDF) is valid only together with "
                   "the My Number card.",
                   "マイナポータルの資格情報画面だけでは受診できません。マイナンバーカードと一緒にご提示ください。",
                   "documents", "Mynaportal screen without the My Number card");
  }
  // Only kNone is left (validated by the caller).
  d.path = VerificationPath::kNoDocument;
  d.primary = Document::kNone;
  return d;
}

}  // namespace

std::string_view ToString(Channel channel) {
  switch (channel) {
    case Channel::kFaceReader: return "FACE_READER";
    case Channel::kDocumentQuery: return "DOCUMENT_QUERY";
    case Channel::kGenericReader: return "GENERIC_READER";
    case Channel::kHomeOnline: return "HOME_ONLINE";
    case Channel::kManual: return "MANUAL";
  }
  return "UNKNOWN";
}

std::optional<Channel> ChannelFromString(std::string_view name) {
  for (Channel c : {Channel::kFaceReader, Channel::kDocumentQuery, Channel::kGenericReader,
                    Channel::kHomeOnline, Channel::kManual}) {
    if (ToString(c) == name) return c;
  }
  return std::nullopt;
}

std::string_view ToString(VerificationPath path) {
  switch (path) {
    case VerificationPath::kMyNumberCard: return "MY_NUMBER_CARD";
    case VerificationPath::kQualificationCertificateQuery: return "QUALIFICATION_CERTIFICATE_QUERY";
    case VerificationPath::kProvisionalQuery: return "PROVISIONAL_QUERY";
    case VerificationPath::kNoDocument: return "NO_DOCUMENT";
  }
  return "UNKNOWN";
}

Status ValidateVisitFacts(const VisitFacts& facts) {
  std::vector<FieldViolation> v;
  if (facts.real_days_this_month < 0 || facts.real_days_this_month > 31) {
    v.push_back({"visit.real_days_this_month", "must be between 0 and 31"});
  }
  if (facts.patient_id.size() > 64) {
    v.push_back({"visit.patient_id", "longer than 64 characters"});
  } else if (std::any_of(facts.patient_id.begin(), facts.patient_id.end(),
                         [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    v.push_back({"visit.patient_id", "contains control characters"});
  }
  if (facts.kind == VisitKind::kRevisit && facts.patient_id.empty()) {
    v.push_back({"visit.kind", "a return visit (saishin) needs the patient id"});
  }
  if (v.empty()) return OkStatus();
  return InvalidArgument("INVALID_VISIT_FACTS", "The visit facts are invalid.",
                         "受付情報（初診・再診、実日数、患者番号）に誤りがあります。", std::move(v));
}

Result<DocumentDecision> EvaluateDocuments(Channel channel, const std::vector<Document>& documents,
                                           const PatientHoldings& holdings, oqs::OqsDate date) {
  if (documents.empty()) {
    return InvalidArgument("INVALID_DOCUMENTS", "No document listed; use NONE for nothing presented.",
                           "提示書類を選択してください（なしの場合は「なし」）。",
                           {{"documents", "empty"}});
  }
  for (size_t i = 0; i < documents.size(); ++i) {
    for (size_t j = i + 1; j < documents.size(); ++j) {
      if (documents[i] == documents[j]) {
        return InvalidArgument("INVALID_DOCUMENTS", "A document is listed twice.",
                               "提示書類が重複しています。",
                               {{"documents", std::string(ToString(documents[i])) + " repeated"}});
      }
    }
  }
  if (Contains(documents, Document::kNone) && documents.size() > 1) {
    return InvalidArgument("INVALID_DOCUMENTS", "NONE cannot be combined with other documents.",
                           "「なし」と他の書類は同時に選べません。",
                           {{"documents", "NONE combined with other documents"}});
  }

  auto decision = DecideByDocuments(documents, holdings, date);
  if (!decision.ok()) return decision;

  const VerificationPath path = decision->path;
  switch (channel) {
    case Channel::kFaceReader:
    case Channel::kGenericReader:
    case Channel::kHomeOnline:
      if (path != VerificationPath::kMyNumberCard) {
        return Refusal("CHANNEL_NEEDS_MY_NUMBER_INSURANCE",
                       std::string("The ") + std::string(ToString(channel)) +
                           " channel needs My Number insurance (card or smartphone).",
                       "この受付方法はマイナ保険証（カードまたはスマートフォン）が必要です。",
                       "channel", "documents contain no My Number insurance");
      }
      break;
    case Channel::kDocumentQuery:
      if (path != VerificationPath::kQualificationCertificateQuery &&
          path != VerificationPath::kProvisionalQuery) {
        return Refusal("CHANNEL_NEEDS_DOCUMENT",
                       "The document-query channel needs a qualification certificate or an "
                       "accepted expired health insurance card.",
                       path == VerificationPath::kMyNumberCard
                           ? "マイナ保険証はカードリーダーで受付してください。"
                           : "資格確認書の提示が必要です。",
                       "channel", "no document to query with");
      }
      break;
    case Channel::kManual:
      break;
  }
  return decision;
}

}  // namespace onshid::core::checkin
