#pragma once
// OQS code tables (OQS-INTERFACE.md §5, OQSCD001–026) as enums, with the wire text and the Japanese
// label of every value. The tables are a reconstruction from public sources: an unknown value is
// never an error here — callers keep the raw text and report it (see eligibility.h).
//
// Pure: the standard library only.

#include <array>
#include <optional>
#include <span>
#include <string_view>

namespace onshid::core::oqs {

// One entry of a code table.
template <typename E>
struct CodeEntry {
  std::string_view wire;      // exactly as OQS writes it ("01", "A1", "B09")
  E value;
  std::string_view label_ja;  // the label of the code table
};

// OQSCD001 限度額適用認定証提供同意フラグ (the request flag; also echoed in results).
enum class LimitConsentFlag { kNotConsented, kConsented };
// OQSCD002 照会区分.
enum class ReferenceClassification { kMyNumberCard, kInsuranceCardInfo };
// OQSCD003 処理結果区分.
enum class SegmentOfResult { kNormal, kProcessing, kAbnormal };
// OQSCD004 処理結果状況.
enum class ProcessingResultStatus { kNormal, kError };
// OQSCD005 文字コード識別.
enum class CharacterCode { kUtf8, kShiftJis };
// OQSCD006 資格有効性. Note kInvalidNewerExists (3) is INVALID.
enum class QualificationValidity {
  kValid,               // 1 有効
  kInvalid,             // 2 無効
  kInvalidNewerExists,  // 3 無効（新しい資格あり）
  kNoRecord,            // 4 該当資格なし
  kMultiple,            // 5 複数該当
  kValidUnregistered,   // 6 有効（未登録） (医療扶助)
};
// OQSCD007 性別.
enum class Sex { kMale, kFemale, kUnset };
// OQSCD008 資格喪失事由.
enum class ReasonOfLoss { kDeath, kPublicAssistanceStarted, kOtherInsuranceAcquired, kOther };
// OQSCD009 本人・家族の別.
enum class PersonalFamily { kInsuredPerson, kDependent };
// OQSCD010 被保険者証区分.
enum class InsuredCardClassification {
  kGeneral,                  // 01 被保険者証（一般）
  kRetired,                  // 02 被保険者証（退職）
  kShortTermGeneral,         // 03 短期被保険者証（一般）
  kShortTermRetired,         // 04 短期被保険者証（退職）
  kEligibilityCertificate,   // 05 被保険者資格証明書
  kSpecialRetired,           // 06 特例退職被保険者証
  kSelfDefenseForces,        // 07 自衛官診療証
  kMedicalAssistance,        // A1 医療扶助
};
// OQSCD011 限度額適用認定証区分.
enum class LimitCertificateClassification { kLimit, kLimitAndStandardReduction, kStandardReduction };
// OQSCD012 限度額適用認定証 適用区分.
enum class LimitClassificationFlag {
  kA01, kA02, kA03, kA04, kA05, kA06,
  kB01, kB02, kB03, kB04, kB05, kB06, kB07, kB08, kB09, kB10,
};
// OQSCD013 特定疾病区分.
enum class SpecificDiseaseCategory { kChronicRenalFailure, kCoagulationFactorDisorder, kHivFromBloodProducts };
// OQSCD014 限度額適用認定証情報変更有無.
enum class LimitCertificateChanged { kUnchanged, kChangedOrUndetermined };
// OQSCD015 未就学区分.
enum class PreschoolClassification { kPreschool };
// OQSCD016 同意区分 (特定疾病 and every …InfoConsFlg).
enum class ConsentStatus { kNone, kConsented, kExpired, kDifficult };
// OQSCD017 処方箋発行形態.
enum class PrescriptionIssueSelect { kElectronic, kPaper };
// OQSCD018 医療券・調剤券別.
enum class TicketType { kMedicalTicket, kDispensingTicket };
// OQSCD019 診療別.
enum class MedicalTreatmentType { kInpatient, kOutpatient, kDental, kDispensing, kHomeNursing };
// OQSCD020 単独・併用別.
enum class SingleOrCombinedUse { kSingle, kCombined };
// OQSCD021/023/024/025 あり・なし (社保 / 感染症 / 後期高齢 / 都道府県費 の有無).
enum class Presence { kPresent, kAbsent };
// OQSCD022 整合性フラグ.
enum class ConsistencyFlag { kInconsistent };
// OQSCD026 指定医療機関一致フラグ.
enum class DesignatedInstitutionMatch { kMatch, kMismatch };

// CodeTable<E>::Entries() lists every known value of E, in code order. Defined in codes.cc for
// each enum above.
template <typename E>
struct CodeTable {
  static std::span<const CodeEntry<E>> Entries();
};
template <>
std::span<const CodeEntry<LimitConsentFlag>> CodeTable<LimitConsentFlag>::Entries();
template <>
std::span<const CodeEntry<ReferenceClassification>> CodeTable<ReferenceClassification>::Entries();
template <>
std::span<const CodeEntry<SegmentOfResult>> CodeTable<SegmentOfResult>::Entries();
template <>
std::span<const CodeEntry<ProcessingResultStatus>> CodeTable<ProcessingResultStatus>::Entries();
template <>
std::span<const CodeEntry<CharacterCode>> CodeTable<CharacterCode>::Entries();
template <>
std::span<const CodeEntry<QualificationValidity>> CodeTable<QualificationValidity>::Entries();
template <>
std::span<const CodeEntry<Sex>> CodeTable<Sex>::Entries();
template <>
std::span<const CodeEntry<ReasonOfLoss>> CodeTable<ReasonOfLoss>::Entries();
template <>
std::span<const CodeEntry<PersonalFamily>> CodeTable<PersonalFamily>::Entries();
template <>
std::span<const CodeEntry<InsuredCardClassification>> CodeTable<InsuredCardClassification>::Entries();
template <>
std::span<const CodeEntry<LimitCertificateClassification>> CodeTable<LimitCertificateClassification>::Entries();
template <>
std::span<const CodeEntry<LimitClassificationFlag>> CodeTable<LimitClassificationFlag>::Entries();
template <>
std::span<const CodeEntry<SpecificDiseaseCategory>> CodeTable<SpecificDiseaseCategory>::Entries();
template <>
std::span<const CodeEntry<LimitCertificateChanged>> CodeTable<LimitCertificateChanged>::Entries();
template <>
std::span<const CodeEntry<PreschoolClassification>> CodeTable<PreschoolClassification>::Entries();
template <>
std::span<const CodeEntry<ConsentStatus>> CodeTable<ConsentStatus>::Entries();
template <>
std::span<const CodeEntry<PrescriptionIssueSelect>> CodeTable<PrescriptionIssueSelect>::Entries();
template <>
std::span<const CodeEntry<TicketType>> CodeTable<TicketType>::Entries();
template <>
std::span<const CodeEntry<MedicalTreatmentType>> CodeTable<MedicalTreatmentType>::Entries();
template <>
std::span<const CodeEntry<SingleOrCombinedUse>> CodeTable<SingleOrCombinedUse>::Entries();
template <>
std::span<const CodeEntry<Presence>> CodeTable<Presence>::Entries();
template <>
std::span<const CodeEntry<ConsistencyFlag>> CodeTable<ConsistencyFlag>::Entries();
template <>
std::span<const CodeEntry<DesignatedInstitutionMatch>> CodeTable<DesignatedInstitutionMatch>::Entries();

// The enum value for `wire` (ASCII spaces around it ignored), or nullopt when the table has no
// such value.
template <typename E>
std::optional<E> ParseCode(std::string_view wire) {
  while (!wire.empty() && wire.front() == ' ') wire.remove_prefix(1);
  while (!wire.empty() && wire.back() == ' ') wire.remove_suffix(1);
  for (const auto& entry : CodeTable<E>::Entries()) {
    if (entry.wire == wire) return entry.value;
  }
  return std::nullopt;
}

// The wire text of `value` ("01").
template <typename E>
std::string_view WireOf(E value) {
  for (const auto& entry : CodeTable<E>::Entries()) {
    if (entry.value == value) return entry.wire;
  }
  return {};
}

// The Japanese label of `value` (資格有効性 3 → "無効（新しい資格あり）").
template <typename E>
std::string_view LabelJa(E value) {
  for (const auto& entry : CodeTable<E>::Entries()) {
    if (entry.value == value) return entry.label_ja;
  }
  return {};
}

}  // namespace onshid::core::oqs
