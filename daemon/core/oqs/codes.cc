#include "core/oqs/codes.h"

namespace onshid::core::oqs {

// Values and labels: OQS-INTERFACE.md §5.
#define ONSHID_OQS_CODE_TABLE(Enum, ...)                                   \
  template <>                                                              \
  std::span<const CodeEntry<Enum>> CodeTable<Enum>::Entries() {            \
    using E = Enum;                                                        \
    static constexpr CodeEntry<Enum> kEntries[] = {__VA_ARGS__};           \
    return kEntries;                                                       \
  }

ONSHID_OQS_CODE_TABLE(LimitConsentFlag, {"0", E::kNotConsented, "未同意"},
                      {"1", E::kConsented, "同意"})
ONSHID_OQS_CODE_TABLE(ReferenceClassification, {"1", E::kMyNumberCard, "マイナンバーカード"},
                      {"2", E::kInsuranceCardInfo, "被保険者証情報"})
ONSHID_OQS_CODE_TABLE(SegmentOfResult, {"1", E::kNormal, "正常終了"},
                      {"2", E::kProcessing, "処理中"}, {"9", E::kAbnormal, "異常終了"})
ONSHID_OQS_CODE_TABLE(ProcessingResultStatus, {"1", E::kNormal, "正常終了"},
                      {"2", E::kError, "エラー"})
ONSHID_OQS_CODE_TABLE(CharacterCode, {"0", E::kUtf8, "UTF-8"}, {"1", E::kShiftJis, "Shift_JIS"})
ONSHID_OQS_CODE_TABLE(QualificationValidity, {"1", E::kValid, "有効"}, {"2", E::kInvalid, "無効"},
                      {"3", E::kInvalidNewerExists, "無効（新しい資格あり）"},
                      {"4", E::kNoRecord, "該当資格なし"}, {"5", E::kMultiple, "複数該当"},
                      {"6", E::kValidUnregistered, "有効（未登録）"})
ONSHID_OQS_CODE_TABLE(Sex, {"1", E::kMale, "男"}, {"2", E::kFemale, "女"},
                      {"3", E::kUnset, "未設定"})
ONSHID_OQS_CODE_TABLE(ReasonOfLoss, {"01", E::kDeath, "死亡"},
                      {"02", E::kPublicAssistanceStarted, "生活保護受給開始"},
                      {"03", E::kOtherInsuranceAcquired, "医療保険等の資格取得"},
                      {"99", E::kOther, "その他"})
ONSHID_OQS_CODE_TABLE(PersonalFamily, {"1", E::kInsuredPerson, "本人"},
                      {"2", E::kDependent, "家族"})
ONSHID_OQS_CODE_TABLE(InsuredCardClassification, {"01", E::kGeneral, "被保険者証（一般）"},
                      {"02", E::kRetired, "被保険者証（退職）"},
                      {"03", E::kShortTermGeneral, "短期被保険者証（一般）"},
                      {"04", E::kShortTermRetired, "短期被保険者証（退職）"},
                      {"05", E::kEligibilityCertificate, "被保険者資格証明書"},
                      {"06", E::kSpecialRetired, "特例退職被保険者証"},
                      {"07", E::kSelfDefenseForces, "自衛官診療証"},
                      {"A1", E::kMedicalAssistance, "医療扶助"})
ONSHID_OQS_CODE_TABLE(LimitCertificateClassification, {"01", E::kLimit, "限度額適用認定証"},
                      {"02", E::kLimitAndStandardReduction, "限度額適用・標準負担額減額認定証"},
                      {"03", E::kStandardReduction, "標準負担額減額認定証"})
ONSHID_OQS_CODE_TABLE(LimitClassificationFlag, {"A01", E::kA01, "ア"}, {"A02", E::kA02, "イ"},
                      {"A03", E::kA03, "ウ"}, {"A04", E::kA04, "エ"}, {"A05", E::kA05, "オ"},
                      {"A06", E::kA06, "オ（境）"}, {"B01", E::kB01, "現役並みⅢ"},
                      {"B02", E::kB02, "現役並みⅡ"}, {"B03", E::kB03, "現役並みⅠ"},
                      {"B04", E::kB04, "一般"}, {"B05", E::kB05, "低所得Ⅱ"},
                      {"B06", E::kB06, "低所得Ⅰ"}, {"B07", E::kB07, "低所得Ⅰ（老福）"},
                      {"B08", E::kB08, "低所得Ⅰ（境）"}, {"B09", E::kB09, "一般Ⅱ"},
                      {"B10", E::kB10, "一般Ⅰ"})
ONSHID_OQS_CODE_TABLE(SpecificDiseaseCategory,
                      {"1", E::kChronicRenalFailure, "人工透析を必要とする慢性腎不全"},
                      {"2", E::kCoagulationFactorDisorder, "先天性血液凝固因子障害"},
                      {"3", E::kHivFromBloodProducts, "血液凝固因子製剤の投与に起因するHIV感染症"})
ONSHID_OQS_CODE_TABLE(LimitCertificateChanged, {"0", E::kUnchanged, "変更なし"},
                      {"1", E::kChangedOrUndetermined, "変更あり または 判定不能"})
ONSHID_OQS_CODE_TABLE(PreschoolClassification, {"1", E::kPreschool, "未就学該当"})
ONSHID_OQS_CODE_TABLE(ConsentStatus, {"0", E::kNone, "同意なし"}, {"1", E::kConsented, "同意あり"},
                      {"2", E::kExpired, "同意有効期限切れ"}, {"3", E::kDifficult, "同意取得困難"})
ONSHID_OQS_CODE_TABLE(PrescriptionIssueSelect, {"1", E::kElectronic, "電子処方箋"},
                      {"2", E::kPaper, "紙の処方箋"})
ONSHID_OQS_CODE_TABLE(TicketType, {"01", E::kMedicalTicket, "医療券"},
                      {"02", E::kDispensingTicket, "調剤券"})
ONSHID_OQS_CODE_TABLE(MedicalTreatmentType, {"01", E::kInpatient, "入院"},
                      {"02", E::kOutpatient, "入院外"}, {"03", E::kDental, "歯科"},
                      {"04", E::kDispensing, "調剤"}, {"05", E::kHomeNursing, "訪問看護"})
ONSHID_OQS_CODE_TABLE(SingleOrCombinedUse, {"01", E::kSingle, "単独"},
                      {"02", E::kCombined, "併用"})
ONSHID_OQS_CODE_TABLE(Presence, {"01", E::kPresent, "あり"}, {"02", E::kAbsent, "なし"})
ONSHID_OQS_CODE_TABLE(ConsistencyFlag, {"1", E::kInconsistent, "不整合あり"})
ONSHID_OQS_CODE_TABLE(DesignatedInstitutionMatch, {"0", E::kMatch, "一致"},
                      {"1", E::kMismatch, "不一致"})

#undef ONSHID_OQS_CODE_TABLE

}  // namespace onshid::core::oqs
