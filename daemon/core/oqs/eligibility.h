#pragma once
// The normalised 資格確認結果 (OQSsiquc01res and face files, OQS-INTERFACE.md §4.2/§4.3) and the
// 照会番号登録結果 (OQSsiimm01res, §4.4).
//
// Every element keeps the text OQS wrote (`raw`), typed values sit beside it and are empty when the
// text could not be read. Nothing is dropped: an unknown code keeps its raw text, and each finding
// (unknown code, malformed date, bad check digit, duplicate singleton element, unknown element,
// `●` in a name or address, missing required element) is listed in `issues` by element path —
// never with the value, so issues may be logged.
//
// The Assign* functions map one XML element (by name, in any order) onto the model; the XML codec
// (adapters/oqs_folder/xml_codec.h) walks the document and calls them, and `FinishResult` runs the
// checks that need several elements. They are pure and usable with any other carrier of the same
// element names.
//
// Pure: the standard library only.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/oqs/codes.h"
#include "core/oqs/identifiers.h"

namespace onshid::core::oqs {

// ---------------------------------------------------------------------------------------------
// Field types

// Plain text: absent (nullopt) or the element text exactly as written (may be empty).
using Text = std::optional<std::string>;

// A code of a §5 table: `value` is empty when the text is not in the table (then an issue
// kUnknownCode is recorded) or the element is empty.
template <typename E>
struct CodeValue {
  std::string raw;
  std::optional<E> value;
  bool known() const { return value.has_value(); }
};
template <typename E>
using Code = std::optional<CodeValue<E>>;

struct DateValue {
  std::string raw;
  std::optional<OqsDate> value;  // empty when malformed (issue kMalformedDate)
};
using Date = std::optional<DateValue>;

struct DateTimeValue {
  std::string raw;
  std::optional<OqsDateTime> value;  // empty when malformed (issue kMalformedDateTime)
};
using DateTime = std::optional<DateTimeValue>;

struct InsurerNumberValue {
  std::string raw;                     // e.g. "  123456" (space padded, as on the wire)
  std::optional<InsurerNumber> value;  // empty when it fails InsurerNumber::Parse (issue recorded)
};
using InsurerNumberField = std::optional<InsurerNumberValue>;

// 負担割合 carried as a 3-digit percentage ("010" = 10 % = 1割).
struct BurdenRatio {
  int percent = 0;
  // 割 (1, 2, 3) when the percentage is a whole multiple of 10.
  std::optional<int> Wari() const {
    if (percent % 10 != 0) return std::nullopt;
    return percent / 10;
  }
};
// Parses "010", "020", "030" (1–3 ASCII digits, 0–100). nullopt otherwise.
std::optional<BurdenRatio> ParseBurdenRatio(std::string_view raw);

// ---------------------------------------------------------------------------------------------
// Issues

enum class IssueKind {
  kUnknownElement,        // an element this model does not know; ignored
  kDuplicateElement,      // a singleton element appeared again; the first one is kept
  kUnknownCode,           // a code not in its §5 table; raw kept
  kMalformedDate,         // not a yyyyMMdd calendar date
  kMalformedDateTime,     // not yyyyMMddHHmmss
  kMalformedValue,        // another format violation (e.g. a ratio that is not a number)
  kInvalidInsurerNumber,  // 保険者番号 fails length/digit/check-digit rules
  kInvalidInsuredNumber,  // 後期高齢者 被保険者番号 fails its check digit
  kUnconvertibleChars,    // `●`: the insurer's system could not convert a character
  kMissingElement,        // an element that is always present is missing
  kInconsistent,          // elements contradict each other (e.g. validity 5 with one result)
};

std::string_view IssueKindName(IssueKind kind);  // "UNKNOWN_ELEMENT", …

struct Issue {
  IssueKind kind;
  // Element path below XmlMsg, e.g. "MessageBody/ResultList/ResultOfQualificationConfirmation[2]/Sex1".
  std::string path;
  std::string detail;  // English, no personal data
};

// ---------------------------------------------------------------------------------------------
// Model (§4.2)

struct MessageHeader {
  DateTime process_execution_time;            // 処理実行日時
  Date qualification_confirmation_date;       // 資格確認日
  Text medical_institution_code;              // 医療機関コード (10 digits)
  Text arbitrary_file_identifier;             // 任意のファイル識別子
  Code<ReferenceClassification> reference_classification;  // 照会区分
  Code<SegmentOfResult> segment_of_result;    // 処理結果区分
  Text error_code;                            // エラーコード (when segment ≠ 1)
  Text error_message;                         // エラーメッセージ
  Code<CharacterCode> character_code_identifier;  // 文字コード識別
  Text reception_number;                      // 受付番号 (bulk results only)
};

// QualificationConfirmSearchInfo: the echo of the request (absent in face files).
struct SearchInfoEcho {
  InsurerNumberField insurer_number;
  Text insured_card_symbol;
  Text insured_identification_number;
  Text insured_branch_number;
  Date birth_date;
  Code<LimitConsentFlag> limit_application_certificate_related_cons_flg;
  Text arbitrary_identifier;
};

// ElderlyRecipientCertificateInfo  // 高齢受給者証情報
struct ElderlyRecipientCertificate {
  Date certificate_date;     // ElderlyRecipientCertificateDate 交付年月日
  Date valid_start_date;     // ElderlyRecipientValidStartDate
  Date valid_end_date;       // ElderlyRecipientValidEndDate
  Text contribution_ratio;   // ElderlyRecipientContributionRatio, percent ("020")
  std::optional<BurdenRatio> ContributionRatio() const;
};

// LimitApplicationCertificateRelatedInfo  // 限度額適用認定証関連情報
struct LimitApplicationCertificate {
  Code<LimitCertificateClassification> classification;     // …Classification 区分
  Code<LimitClassificationFlag> classification_flag;       // …ClassificationFlag 適用区分
  Date certificate_date;                                   // …Date 交付年月日
  Date valid_start_date;                                   // …ValidStartDate
  Date valid_end_date;                                     // …ValidEndDate
  Date long_term_date;                                     // …LongTermDate 長期入院該当年月日
};

// SpecificDiseasesCertificateInfo  // 特定疾病療養受療証情報
struct SpecificDiseasesCertificate {
  Code<SpecificDiseaseCategory> disease_category;  // SpecificDiseasesDiseaseCategory
  Date certificate_date;                           // SpecificDiseasesCertificateDate
  Date valid_start_date;                           // SpecificDiseasesValidStartDate
  Date valid_end_date;                             // SpecificDiseasesValidEndDate
  Text self_pay;                                   // SpecificDiseasesSelfPay 月額自己負担限度額 (円)
};

// MedicalTicketInfo  // 医療券・調剤券情報 (医療扶助)
struct MedicalTicket {
  Code<TicketType> ticket_type;
  Date valid_date;                  // MedicalTicketValidDate
  Date expiration_date;             // MedicalTicketExpirationDate
  Text issue_number;                // IssueNumber 交付番号
  Text medical_treatment_month;     // MedicalTreatmentMonth 診療年月 (yyyyMM)
  Text designated_medical_institution_code;
  Code<DesignatedInstitutionMatch> designated_medical_institution_flag;
  Text designated_medical_institution_name;
  Text prescription_issuer_medical_institution_code;
  Text prescription_issuer_medical_institution_name;
  Text injury_name1, injury_name2, injury_name3;  // InjuryName1..3 傷病名
  Code<MedicalTreatmentType> medical_treatment_type;
  Text self_pay_amount;             // SelfPayAmount 本人支払額
  Text district_contact_name;       // DistrictContactName 地区担当員名
  Text handling_contact_name;       // HandlingContactName 取扱担当者名
  Code<SingleOrCombinedUse> single_or_combined_use;
  Code<Presence> status_of_social_insurance;
  Code<ConsistencyFlag> consistency_flag;
  Code<Presence> status_of_infection;             // StatusOfInfecton [sic]
  Code<Presence> status_of_elderly_medical_care;
  Code<Presence> status_of_prefectural_expenses;
  Text remarks1, remarks2, remarks3;
};

// One 閲覧同意 (…ConsFlg / …ConsTime / …AvailableTime).
struct Consent {
  Code<ConsentStatus> flag;
  DateTime cons_time;       // 同意日時
  DateTime available_time;  // 有効期限 (ConsTime + 24 h for face consents)
};

// ResultOfQualificationConfirmation  // 資格確認結果 (one qualification)
struct Qualification {
  Code<InsuredCardClassification> insured_card_classification;  // 被保険者証区分
  InsurerNumberField insurer_number;                            // 保険者番号
  Text insured_card_symbol;                                     // 記号
  Text insured_identification_number;                           // 番号
  Text insured_branch_number;                                   // 枝番
  Code<PersonalFamily> personal_family_classification;          // 本人・家族の別
  Text insured_name;           // 被保険者氏名（世帯主氏名）
  Text name;                   // 氏名 (full-width, 全角 space)
  Text name_of_other;          // 氏名（その他）
  Text name_kana;              // 氏名カナ (半角カナ)
  Text name_of_other_kana;     // 氏名カナ（その他）
  Code<Sex> sex1;              // 性別1 (券面)
  Code<Sex> sex2;              // 性別2
  Date birthdate;              // 生年月日
  Text address;                // 住所
  Text post_number;            // 郵便番号
  Date qualification_date;     // 資格取得年月日
  Date disqualification_date;  // 資格喪失年月日
  Date insured_certificate_issuance_date;  // 被保険者証交付年月日
  Date insured_card_valid_date;            // 被保険者証有効開始年月日
  Date insured_card_expiration_date;       // 被保険者証有効終了年月日
  Text insured_partial_contribution_ratio; // 一部負担金割合 (percent, "010" = 1割)
  Code<PreschoolClassification> preschool_classification;  // 未就学区分
  Code<ReasonOfLoss> reason_of_loss;       // 資格喪失事由
  Text insurer_name;                       // 保険者名称
  Text public_expense_number;              // 公費負担者番号 (医療扶助)
  Text beneficiary_number;                 // 公費受給者番号 (医療扶助)
  Text welfare_office_name;                // 自治体福祉事務所名 (医療扶助)
  std::optional<ElderlyRecipientCertificate> elderly_recipient_certificate;
  Code<LimitConsentFlag> limit_application_certificate_related_cons_flg;
  DateTime limit_application_certificate_related_cons_time;
  std::optional<LimitApplicationCertificate> limit_application_certificate;
  Code<ConsentStatus> specific_diseases_certificate_related_cons_flg;
  DateTime specific_diseases_certificate_related_cons_time;
  std::vector<SpecificDiseasesCertificate> specific_diseases_certificates;
  bool has_specific_diseases_certificate_list = false;  // the list element was present
  std::vector<MedicalTicket> medical_tickets;           // PublicExpenseResultList/MedicalTicketInfo*
  bool has_public_expense_result_list = false;
  Consent specific_health_checkups_info;  // SpecificHealthCheckupsInfo* 特定健診
  Consent pharmacists_info;               // PharmacistsInfo* 薬剤
  Consent diagnosis_info;                 // DiagnosisInfo* 診療
  Consent operation_info;                 // OperationInfo* 手術
  Consent diagnosis_name;                 // DiagnosisName* 傷病名 (2025)
  Consent infectious_info;                // InfectiousInfo* 感染症 (2025)
  Consent allergy_info;                   // AllergyInfo* その他アレルギー等 (2025)
  Consent contraindication_info;          // ContraindicationInfo* 薬剤アレルギー等 (2025)
  Consent test_info;                      // TestInfo* 検査 (2025)
  Consent prescription_info;              // PrescriptionInfo* 処方情報 (2025)
  Text reference_number;                  // 照会番号
  Text arbitrary_identifier;              // 任意の識別子
  Code<LimitCertificateChanged> limit_application_certificate_changed;
  Code<PrescriptionIssueSelect> prescription_issue_select;  // when placed here (S5, ORCA)

  // True when a name, address or insurer field contains `●` (a character the insurer's system
  // could not convert). Then `name_kana` is the reliable name; claim with the `●` as shown.
  bool has_unconvertible_chars = false;

  // InsuredPartialContributionRatio as a ratio ("010" → 10 %, Wari() == 1).
  std::optional<BurdenRatio> PartialContributionRatio() const;
};

struct EligibilityResult {
  MessageHeader header;
  // MessageBody
  std::optional<SearchInfoEcho> search_info;              // QualificationConfirmSearchInfo
  Code<ProcessingResultStatus> processing_result_status;  // 処理結果状況
  Text processing_result_code;                            // 処理結果コード
  Text processing_result_message;                         // 処理結果メッセージ
  Code<QualificationValidity> qualification_validity;     // 資格有効性
  std::vector<Qualification> results;                     // ResultList/ResultOfQualificationConfirmation*
  Code<PrescriptionIssueSelect> prescription_issue_select;  // when placed in MessageBody (S1)

  std::vector<Issue> issues;

  // PrescriptionIssueSelect wherever it was: the first result's own element, else MessageBody's.
  std::optional<PrescriptionIssueSelect> EffectivePrescriptionIssueSelect() const;
  // §9 success rule: SegmentOfResult 1, ProcessingResultStatus 1, QualificationValidity 1 and
  // exactly one result.
  bool IsSingleValidResult() const;
  bool HasIssue(IssueKind kind) const;
};

// 照会番号登録結果 (OQSsiimm01res, §4.4).
struct ReferenceNumberResult {
  MessageHeader header;
  // MessageBody/ReferenceNumberRegistrationInfo
  Text reference_number;
  InsurerNumberField insurer_number;
  Text insured_card_symbol;
  Text insured_identification_number;
  Text insured_branch_number;
  Code<ProcessingResultStatus> processing_result_status;
  Text processing_result_code;
  Text processing_result_message;
  std::vector<Issue> issues;

  // S9's acceptance rule: SegmentOfResult 1, no ErrorCode, status 1, and the returned
  // ReferenceNumber equals `expected_reference_number`.
  bool IsRegistered(std::string_view expected_reference_number) const;
};

// ---------------------------------------------------------------------------------------------
// Assembly by element name

enum class Assignment {
  kAssigned,
  kDuplicate,  // the field was already set; first value kept, kDuplicateElement recorded
  kUnknown,    // no such element here; kUnknownElement recorded
};

// Each assigns the text of child element `name` of the corresponding XML element. `path` is the
// element's own path (used in issues). Group elements (ElderlyRecipientCertificateInfo,
// LimitApplicationCertificateRelatedInfo, SpecificDiseasesCertificateList, PublicExpenseResultList,
// ResultList, QualificationConfirmSearchInfo) are not handled here: the walker creates the nested
// struct and assigns into it.
Assignment AssignHeaderElement(MessageHeader& header, std::string_view name, std::string_view text,
                               std::string_view path, std::vector<Issue>& issues);
Assignment AssignBodyElement(EligibilityResult& result, std::string_view name,
                             std::string_view text, std::string_view path,
                             std::vector<Issue>& issues);
Assignment AssignSearchInfoElement(SearchInfoEcho& info, std::string_view name,
                                   std::string_view text, std::string_view path,
                                   std::vector<Issue>& issues);
Assignment AssignQualificationElement(Qualification& q, std::string_view name,
                                      std::string_view text, std::string_view path,
                                      std::vector<Issue>& issues);
Assignment AssignElderlyElement(ElderlyRecipientCertificate& e, std::string_view name,
                                std::string_view text, std::string_view path,
                                std::vector<Issue>& issues);
Assignment AssignLimitCertificateElement(LimitApplicationCertificate& l, std::string_view name,
                                         std::string_view text, std::string_view path,
                                         std::vector<Issue>& issues);
Assignment AssignSpecificDiseaseElement(SpecificDiseasesCertificate& s, std::string_view name,
                                        std::string_view text, std::string_view path,
                                        std::vector<Issue>& issues);
Assignment AssignMedicalTicketElement(MedicalTicket& m, std::string_view name,
                                      std::string_view text, std::string_view path,
                                      std::vector<Issue>& issues);
Assignment AssignReferenceNumberElement(ReferenceNumberResult& r, std::string_view name,
                                        std::string_view text, std::string_view path,
                                        std::vector<Issue>& issues);

// Checks that need the whole qualification / result: `●` in name/address/insurer fields (sets
// has_unconvertible_chars), the 後期高齢者 被保険者番号 check digit, required elements, validity
// against the number of results. `path` is the qualification's own path. FinishResult calls
// FinishQualification for every result.
void FinishQualification(Qualification& q, std::string_view path, std::vector<Issue>& issues);
void FinishResult(EligibilityResult& result);

}  // namespace onshid::core::oqs
