#include "core/checkin/consent.h"

#include <utility>

namespace onshid::core::checkin {
namespace {

using oqs::ConsentStatus;

std::optional<SystemTime> Time(const oqs::DateTime& t) {
  if (!t || !t->value) return std::nullopt;
  return t->value->ToSystemTime();
}

ConsentFlag FlagOf(const oqs::Code<ConsentStatus>& c) {
  if (!c) return ConsentFlag::kAbsent;
  if (!c->value) return c->raw.empty() ? ConsentFlag::kAbsent : ConsentFlag::kUnknownCode;
  switch (*c->value) {
    case ConsentStatus::kNone: return ConsentFlag::kNone;
    case ConsentStatus::kConsented: return ConsentFlag::kGiven;
    case ConsentStatus::kExpired: return ConsentFlag::kExpired;
    case ConsentStatus::kDifficult: return ConsentFlag::kHardToObtain;
  }
  return ConsentFlag::kUnknownCode;
}

ConsentItem FromConsent(InformationKind kind, const oqs::Consent& c) {
  ConsentItem item;
  item.kind = kind;
  item.flag = FlagOf(c.flag);
  item.consent_time = Time(c.cons_time);
  item.available_until = Time(c.available_time);
  if (!item.available_until && item.consent_time) {
    item.available_until = *item.consent_time + kConsentWindow;
  }
  return item;
}

const oqs::Consent* ClinicalConsent(const oqs::Qualification& q, InformationKind kind) {
  switch (kind) {
    case InformationKind::kMedication: return &q.pharmacists_info;
    case InformationKind::kHealthCheckups: return &q.specific_health_checkups_info;
    case InformationKind::kClinical: return &q.diagnosis_info;
    case InformationKind::kSurgery: return &q.operation_info;
    case InformationKind::kDiagnosisName: return &q.diagnosis_name;
    case InformationKind::kInfectious: return &q.infectious_info;
    case InformationKind::kAllergy: return &q.allergy_info;
    case InformationKind::kContraindication: return &q.contraindication_info;
    case InformationKind::kTest: return &q.test_info;
    case InformationKind::kPrescription: return &q.prescription_info;
    default: return nullptr;
  }
}

AccessDecision Allow(std::string reason, std::string message, std::string message_ja,
                     std::optional<SystemTime> until = std::nullopt) {
  return AccessDecision{true, std::move(reason), std::move(message), std::move(message_ja), until};
}

AccessDecision Deny(std::string reason, std::string message, std::string message_ja) {
  return AccessDecision{false, std::move(reason), std::move(message), std::move(message_ja),
                        std::nullopt};
}

// The decision from one consent element (flag and times) at `at`, with withdrawals of `kind`.
AccessDecision FromItem(const ConsentItem& item, const AccessRequest& request) {
  switch (item.flag) {
    case ConsentFlag::kAbsent:
    case ConsentFlag::kNone:
    case ConsentFlag::kUnknownCode:
      return Deny("NO_CONSENT", "The patient has not consented to this information.",
                  "患者さんの同意がないため閲覧できません。");
    case ConsentFlag::kHardToObtain:
      return Deny("CONSENT_HARD_TO_OBTAIN", "Consent could not be obtained from the patient.",
                  "同意取得が困難とされたため閲覧できません。");
    case ConsentFlag::kExpired:
      return Deny("CONSENT_EXPIRED", "The consent has expired.",
                  "同意の有効期限が切れているため閲覧できません。");
    case ConsentFlag::kGiven:
      break;
  }
  if (!item.consent_time && !item.available_until) {
    return Deny("CONSENT_TIME_UNKNOWN", "The consent carries no time; its window is unknown.",
                "同意日時が不明なため閲覧できません。");
  }
  for (const auto& w : request.withdrawals) {
    if (w.kind != item.kind || w.at > request.at) continue;
    if (!item.consent_time || w.at >= *item.consent_time) {
      return Deny("CONSENT_WITHDRAWN", "The patient withdrew this consent.",
                  "患者さんが同意を撤回したため閲覧できません。");
    }
  }
  if (item.consent_time && request.at < *item.consent_time) {
    return Deny("CONSENT_NOT_YET_VALID", "The access is before the consent time.",
                "同意日時より前のため閲覧できません。");
  }
  if (item.available_until && request.at > *item.available_until) {
    return Deny("CONSENT_EXPIRED", "The consent window (24 hours) has passed.",
                "同意の有効期限（24時間）が過ぎたため閲覧できません。再度カードリーダーで同意を取得してください。");
  }
  return Allow("CONSENT_GIVEN", "The patient consented.", "同意済みです。", item.available_until);
}

std::optional<AccessDecision> CertificateDenial(std::optional<card::CertificateStatus> status) {
  if (!status) return std::nullopt;
  switch (*status) {
    case card::CertificateStatus::kValid:
    case card::CertificateStatus::kRenewalAlert:
      return std::nullopt;
    case card::CertificateStatus::kExpiredInGrace:
      return Deny("CERTIFICATE_IN_GRACE_INSURANCE_ONLY",
                  "The certificate is in its grace period: insurance information only.",
                  "電子証明書の有効期限切れ（猶予期間中）のため、資格情報以外は閲覧できません。");
    case card::CertificateStatus::kExpired:
    case card::CertificateStatus::kNotYetValid:
    case card::CertificateStatus::kUntrusted:
      break;
  }
  return Deny("CERTIFICATE_NOT_USABLE", "The card's certificate is not usable.",
              "カードの電子証明書が利用できないため閲覧できません。");
}

AccessDecision OralConsent(const AccessRequest& request) {
  for (const auto& oral : request.oral_consents) {
    if (oral.at > request.at || request.at > oral.at + kConsentWindow) continue;
    if (oral.withdrawn_at && *oral.withdrawn_at <= request.at) continue;
    return Allow("ORAL_CONSENT",
                 "Oral consent in the consultation room: causative drugs only.",
                 "口頭同意により、重複投薬・併用禁忌の原因薬剤のみ閲覧できます。",
                 oral.at + kConsentWindow);
  }
  bool withdrawn = false;
  for (const auto& oral : request.oral_consents) {
    withdrawn = withdrawn || (oral.withdrawn_at && *oral.withdrawn_at <= request.at &&
                              oral.at <= request.at);
  }
  if (withdrawn) {
    return Deny("CONSENT_WITHDRAWN", "The patient withdrew the oral consent.",
                "患者さんが口頭同意を撤回したため閲覧できません。");
  }
  return Deny("NO_CONSENT",
              "No medication consent and no oral consent for the causative drugs.",
              "同意がありません。原因薬剤の閲覧には診察室での口頭同意を記録してください。");
}

}  // namespace

std::string_view ToString(InformationKind kind) {
  switch (kind) {
    case InformationKind::kInsurance: return "INSURANCE";
    case InformationKind::kLimit: return "LIMIT";
    case InformationKind::kSpecificDiseases: return "SPECIFIC_DISEASES";
    case InformationKind::kMedication: return "MEDICATION";
    case InformationKind::kHealthCheckups: return "HEALTH_CHECKUPS";
    case InformationKind::kClinical: return "CLINICAL";
    case InformationKind::kSurgery: return "SURGERY";
    case InformationKind::kDiagnosisName: return "DIAGNOSIS_NAME";
    case InformationKind::kInfectious: return "INFECTIOUS";
    case InformationKind::kAllergy: return "ALLERGY";
    case InformationKind::kContraindication: return "CONTRAINDICATION";
    case InformationKind::kTest: return "TEST";
    case InformationKind::kPrescription: return "PRESCRIPTION";
    case InformationKind::kCausativeDrugs: return "CAUSATIVE_DRUGS";
  }
  return "UNKNOWN";
}

bool IsInsuranceInformation(InformationKind kind) {
  return kind == InformationKind::kInsurance || kind == InformationKind::kLimit ||
         kind == InformationKind::kSpecificDiseases;
}

std::vector<ConsentItem> NormalizeConsents(const oqs::Qualification& q) {
  std::vector<ConsentItem> items;
  ConsentItem limit;
  limit.kind = InformationKind::kLimit;
  if (q.limit_application_certificate_related_cons_flg) {
    const auto& v = q.limit_application_certificate_related_cons_flg->value;
    limit.flag = !v ? ConsentFlag::kUnknownCode
                    : (*v == oqs::LimitConsentFlag::kConsented ? ConsentFlag::kGiven
                                                                : ConsentFlag::kNone);
  }
  limit.consent_time = Time(q.limit_application_certificate_related_cons_time);
  items.push_back(limit);
  ConsentItem specific;
  specific.kind = InformationKind::kSpecificDiseases;
  specific.flag = FlagOf(q.specific_diseases_certificate_related_cons_flg);
  specific.consent_time = Time(q.specific_diseases_certificate_related_cons_time);
  items.push_back(specific);
  for (auto kind : {InformationKind::kMedication, InformationKind::kHealthCheckups,
                    InformationKind::kClinical, InformationKind::kSurgery,
                    InformationKind::kDiagnosisName, InformationKind::kInfectious,
                    InformationKind::kAllergy, InformationKind::kContraindication,
                    InformationKind::kTest, InformationKind::kPrescription}) {
    items.push_back(FromConsent(kind, *ClinicalConsent(q, kind)));
  }
  return items;
}

AccessDecision CheckAccess(const oqs::Qualification& q, const AccessRequest& request) {
  switch (request.kind) {
    case InformationKind::kInsurance:
      return Allow("INSURANCE_INFORMATION", "Insurance information needs no consent.",
                   "資格情報は閲覧できます。");
    case InformationKind::kLimit:
      return Allow("NO_CONSENT_NEEDED",
                   "High-cost care limit information needs no explicit consent since 2024-10.",
                   "限度額情報は同意なしで閲覧できます。");
    case InformationKind::kSpecificDiseases:
      if (FlagOf(q.specific_diseases_certificate_related_cons_flg) == ConsentFlag::kGiven) {
        return Allow("CONSENT_GIVEN", "The patient consented.", "同意済みです。");
      }
      return Deny("NO_CONSENT", "The patient has not consented to specific-disease information.",
                  "特定疾病療養受療証情報の提供に同意がないため閲覧できません。");
    case InformationKind::kCausativeDrugs: {
      ConsentItem medication = FromConsent(InformationKind::kMedication, q.pharmacists_info);
      if (!CertificateDenial(request.certificate)) {
        AccessRequest as_medication = request;
        as_medication.kind = InformationKind::kMedication;
        AccessDecision d = FromItem(medication, as_medication);
        if (d.allowed) return d;
      }
      return OralConsent(request);
    }
    default:
      break;
  }
  if (auto denial = CertificateDenial(request.certificate)) return *std::move(denial);
  return FromItem(FromConsent(request.kind, *ClinicalConsent(q, request.kind)), request);
}

DomainError AccessDeniedError(const AccessDecision& decision, InformationKind kind) {
  DomainError e;
  e.kind = ErrorKind::kPermissionDenied;
  e.reason = decision.reason;
  e.message = decision.message;
  e.message_ja = decision.message_ja;
  e.metadata = {{"information_kind", std::string(ToString(kind))}};
  return e;
}

}  // namespace onshid::core::checkin
