#pragma once
// Consent (閲覧同意) decisions, DOMAIN.md §5.
//
// NormalizeConsents lists every consent element of a qualification; CheckAccess decides whether
// one kind of information may be shown at an instant. Both are pure (standard library only); the
// caller passes the instant from the Clock and writes every decision to the audit log.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/card/certificate_status.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/oqs/eligibility.h"

namespace onshid::core::checkin {

enum class InformationKind {
  kInsurance,          // 資格情報: the eligibility itself; needs no consent
  kLimit,              // 限度額情報: no explicit consent since 2024-10
  kSpecificDiseases,   // 特定疾病療養受療証情報: its own consent flag
  kMedication,         // 薬剤情報 (PharmacistsInfo)
  kHealthCheckups,     // 特定健診等情報
  kClinical,           // 診療情報 (DiagnosisInfo)
  kSurgery,            // 手術情報
  kDiagnosisName,      // 傷病名 (2025)
  kInfectious,         // 感染症 (2025)
  kAllergy,            // その他アレルギー等 (2025)
  kContraindication,   // 薬剤アレルギー等 (2025)
  kTest,               // 検査 (2025)
  kPrescription,       // 処方情報 (2025)
  kCausativeDrugs,     // 電子処方箋 重複投薬・併用禁忌の原因薬剤 only (oral consent suffices)
};
std::string_view ToString(InformationKind kind);  // "MEDICATION", …

// True for kInsurance, kLimit and kSpecificDiseases (usable while the certificate is in grace).
bool IsInsuranceInformation(InformationKind kind);

// One normalised consent element of a result.
enum class ConsentFlag { kAbsent, kNone, kGiven, kExpired, kHardToObtain, kUnknownCode };
struct ConsentItem {
  InformationKind kind = InformationKind::kInsurance;
  ConsentFlag flag = ConsentFlag::kAbsent;
  std::optional<SystemTime> consent_time;     // 同意日時 (JST on the wire)
  std::optional<SystemTime> available_until;  // 有効期限; consent_time + 24 h when not sent
};

// The consent elements of `q` in InformationKind order: 限度額 (flag mapped to kGiven /
// kNone), 特定疾病, and the ten clinical items. kInsurance and kCausativeDrugs have no element.
std::vector<ConsentItem> NormalizeConsents(const oqs::Qualification& q);

// 口頭同意 recorded in the consultation room for the 電子処方箋 duplicate/contraindication case.
// Its scope is always the causative drugs only.
struct OralConsentRecord {
  std::string staff_id;                 // who recorded it
  SystemTime at{};                      // when the patient agreed
  std::optional<SystemTime> withdrawn_at;
};

// The patient withdrew (撤回) a consent of one kind at an instant.
struct ConsentWithdrawal {
  InformationKind kind = InformationKind::kMedication;
  SystemTime at{};
};

// How long a consent given at the reader stays usable when OQS sends no 有効期限.
inline constexpr std::chrono::hours kConsentWindow{24};

struct AccessRequest {
  InformationKind kind = InformationKind::kInsurance;
  SystemTime at{};
  // The certificate state of the card the result came from; nullopt when it did not come from a
  // card (e.g. a 資格確認書 query), which carries no clinical consent anyway.
  std::optional<card::CertificateStatus> certificate;
  std::vector<OralConsentRecord> oral_consents;
  std::vector<ConsentWithdrawal> withdrawals;
};

struct AccessDecision {
  bool allowed = false;
  // Stable: allowed — INSURANCE_INFORMATION, NO_CONSENT_NEEDED, CONSENT_GIVEN, ORAL_CONSENT;
  // denied — NO_CONSENT, CONSENT_HARD_TO_OBTAIN, CONSENT_EXPIRED, CONSENT_NOT_YET_VALID,
  // CONSENT_TIME_UNKNOWN, CONSENT_WITHDRAWN, CERTIFICATE_IN_GRACE_INSURANCE_ONLY,
  // CERTIFICATE_NOT_USABLE.
  std::string reason;
  std::string message;     // English
  std::string message_ja;  // for reception / clinical staff
  std::optional<SystemTime> available_until;  // for allowed consent-based access
};

// Decides access to `request.kind` of the patient whose qualification is `q`.
//  - Insurance information (資格, 限度額) is always allowed; 特定疾病 needs its flag 1.
//  - For every other kind, in order: a certificate in grace → CERTIFICATE_IN_GRACE_INSURANCE_ONLY;
//    expired / untrusted / not yet valid → CERTIFICATE_NOT_USABLE; flag absent, 0 or unknown →
//    NO_CONSENT; 3 → CONSENT_HARD_TO_OBTAIN; 2 → CONSENT_EXPIRED; 1 without any time →
//    CONSENT_TIME_UNKNOWN; a withdrawal of that kind at or after the consent time and at or
//    before `at` → CONSENT_WITHDRAWN; then allowed while consent_time ≤ at ≤ available_until
//    (the boundary instant is still allowed), else CONSENT_NOT_YET_VALID / CONSENT_EXPIRED.
//  - kCausativeDrugs: allowed when the 薬剤 consent allows, or else by an oral consent recorded at
//    or before `at`, not withdrawn by `at`, within kConsentWindow of it (ORAL_CONSENT). The
//    certificate state does not matter for the oral path (no card is used). An oral consent never
//    opens kMedication or any other kind.
AccessDecision CheckAccess(const oqs::Qualification& q, const AccessRequest& request);

// The DomainError for a denial (kPermissionDenied, reason from the decision, metadata
// "information_kind"), for callers that must fail a read.
DomainError AccessDeniedError(const AccessDecision& decision, InformationKind kind);

}  // namespace onshid::core::checkin
