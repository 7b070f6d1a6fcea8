#include "core/oqs/eligibility.h"

#include <span>

namespace onshid::core::oqs {
namespace {

constexpr std::string_view kBlackCircle = "\xE2\x97\x8F";  // ● U+25CF

std::string Child(std::string_view path, std::string_view name) {
  std::string out(path);
  if (!out.empty()) out += '/';
  out += name;
  return out;
}

void AddIssue(std::vector<Issue>& issues, IssueKind kind, std::string path, std::string detail) {
  issues.push_back({kind, std::move(path), std::move(detail)});
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

template <typename T>
bool RejectDuplicate(const std::optional<T>& field, const std::string& path,
                     std::vector<Issue>& issues) {
  if (!field) return false;
  AddIssue(issues, IssueKind::kDuplicateElement, path,
           "element appears more than once; the first occurrence is kept");
  return true;
}

Assignment Set(Text& field, std::string_view text, const std::string& path,
               std::vector<Issue>& issues) {
  if (RejectDuplicate(field, path, issues)) return Assignment::kDuplicate;
  field = std::string(text);
  return Assignment::kAssigned;
}

template <typename E>
Assignment Set(Code<E>& field, std::string_view text, const std::string& path,
               std::vector<Issue>& issues) {
  if (RejectDuplicate(field, path, issues)) return Assignment::kDuplicate;
  CodeValue<E> value{std::string(text), ParseCode<E>(Trim(text))};
  if (!value.value && !Trim(text).empty()) {
    AddIssue(issues, IssueKind::kUnknownCode, path, "code is not in the known code table");
  }
  field = std::move(value);
  return Assignment::kAssigned;
}

Assignment Set(Date& field, std::string_view text, const std::string& path,
               std::vector<Issue>& issues) {
  if (RejectDuplicate(field, path, issues)) return Assignment::kDuplicate;
  DateValue value{std::string(text), std::nullopt};
  if (auto parsed = OqsDate::Parse(Trim(text))) {
    value.value = *parsed;
  } else if (!Trim(text).empty()) {
    AddIssue(issues, IssueKind::kMalformedDate, path, "not a yyyyMMdd calendar date");
  }
  field = std::move(value);
  return Assignment::kAssigned;
}

Assignment Set(DateTime& field, std::string_view text, const std::string& path,
               std::vector<Issue>& issues) {
  if (RejectDuplicate(field, path, issues)) return Assignment::kDuplicate;
  DateTimeValue value{std::string(text), std::nullopt};
  if (auto parsed = OqsDateTime::Parse(Trim(text))) {
    value.value = *parsed;
  } else if (!Trim(text).empty()) {
    AddIssue(issues, IssueKind::kMalformedDateTime, path, "not a yyyyMMddHHmmss date-time");
  }
  field = std::move(value);
  return Assignment::kAssigned;
}

Assignment Set(InsurerNumberField& field, std::string_view text, const std::string& path,
               std::vector<Issue>& issues) {
  if (RejectDuplicate(field, path, issues)) return Assignment::kDuplicate;
  InsurerNumberValue value{std::string(text), std::nullopt};
  if (auto parsed = InsurerNumber::Parse(text)) {
    value.value = std::move(parsed).value();
  } else {
    AddIssue(issues, IssueKind::kInvalidInsurerNumber, path, parsed.error().message);
  }
  field = std::move(value);
  return Assignment::kAssigned;
}

template <typename S>
using Setter = Assignment (*)(S&, std::string_view, const std::string&, std::vector<Issue>&);

template <typename S, auto M>
Assignment SetMember(S& s, std::string_view text, const std::string& path,
                     std::vector<Issue>& issues) {
  return Set(s.*M, text, path, issues);
}

template <typename S>
struct FieldEntry {
  std::string_view name;
  Setter<S> set;
};

template <typename S>
Assignment AssignByTable(std::span<const FieldEntry<S>> table, S& target, std::string_view name,
                         std::string_view text, std::string_view path, std::vector<Issue>& issues) {
  const std::string child = Child(path, name);
  for (const auto& entry : table) {
    if (entry.name == name) return entry.set(target, text, child, issues);
  }
  AddIssue(issues, IssueKind::kUnknownElement, child, "unknown element ignored");
  return Assignment::kUnknown;
}

using H = MessageHeader;
constexpr FieldEntry<H> kHeaderFields[] = {
    {"ProcessExecutionTime", &SetMember<H, &H::process_execution_time>},
    {"QualificationConfirmationDate", &SetMember<H, &H::qualification_confirmation_date>},
    {"MedicalInstitutionCode", &SetMember<H, &H::medical_institution_code>},
    {"ArbitraryFileIdentifier", &SetMember<H, &H::arbitrary_file_identifier>},
    {"ReferenceClassification", &SetMember<H, &H::reference_classification>},
    {"SegmentOfResult", &SetMember<H, &H::segment_of_result>},
    {"ErrorCode", &SetMember<H, &H::error_code>},
    {"ErrorMessage", &SetMember<H, &H::error_message>},
    {"CharacterCodeIdentifier", &SetMember<H, &H::character_code_identifier>},
    {"ReceptionNumber", &SetMember<H, &H::reception_number>},
};

using B = EligibilityResult;
constexpr FieldEntry<B> kBodyFields[] = {
    {"ProcessingResultStatus", &SetMember<B, &B::processing_result_status>},
    {"ProcessingResultCode", &SetMember<B, &B::processing_result_code>},
    {"ProcessingResultMessage", &SetMember<B, &B::processing_result_message>},
    {"QualificationValidity", &SetMember<B, &B::qualification_validity>},
    {"PrescriptionIssueSelect", &SetMember<B, &B::prescription_issue_select>},
};

using SI = SearchInfoEcho;
constexpr FieldEntry<SI> kSearchInfoFields[] = {
    {"InsurerNumber", &SetMember<SI, &SI::insurer_number>},
    {"InsuredCardSymbol", &SetMember<SI, &SI::insured_card_symbol>},
    {"InsuredIdentificationNumber", &SetMember<SI, &SI::insured_identification_number>},
    {"InsuredBranchNumber", &SetMember<SI, &SI::insured_branch_number>},
    {"Birthdate", &SetMember<SI, &SI::birth_date>},
    {"LimitApplicationCertificateRelatedConsFlg",
     &SetMember<SI, &SI::limit_application_certificate_related_cons_flg>},
    {"ArbitraryIdentifier", &SetMember<SI, &SI::arbitrary_identifier>},
};

using Q = Qualification;
constexpr FieldEntry<Q> kQualificationFields[] = {
    {"InsuredCardClassification", &SetMember<Q, &Q::insured_card_classification>},
    {"InsurerNumber", &SetMember<Q, &Q::insurer_number>},
    {"InsuredCardSymbol", &SetMember<Q, &Q::insured_card_symbol>},
    {"InsuredIdentificationNumber", &SetMember<Q, &Q::insured_identification_number>},
    {"InsuredBranchNumber", &SetMember<Q, &Q::insured_branch_number>},
    {"PersonalFamilyClassification", &SetMember<Q, &Q::personal_family_classification>},
    {"InsuredName", &SetMember<Q, &Q::insured_name>},
    {"Name", &SetMember<Q, &Q::name>},
    {"NameOfOther", &SetMember<Q, &Q::name_of_other>},
    {"NameKana", &SetMember<Q, &Q::name_kana>},
    {"NameOfOtherKana", &SetMember<Q, &Q::name_of_other_kana>},
    {"Sex1", &SetMember<Q, &Q::sex1>},
    {"Sex2", &SetMember<Q, &Q::sex2>},
    {"Birthdate", &SetMember<Q, &Q::birthdate>},
    {"Address", &SetMember<Q, &Q::address>},
    {"PostNumber", &SetMember<Q, &Q::post_number>},
    {"QualificationDate", &SetMember<Q, &Q::qualification_date>},
    {"DisqualificationDate", &SetMember<Q, &Q::disqualification_date>},
    {"InsuredCertificateIssuanceDate", &SetMember<Q, &Q::insured_certificate_issuance_date>},
    {"InsuredCardValidDate", &SetMember<Q, &Q::insured_card_valid_date>},
    {"InsuredCardExpirationDate", &SetMember<Q, &Q::insured_card_expiration_date>},
    {"InsuredPartialContributionRatio", &SetMember<Q, &Q::insured_partial_contribution_ratio>},
    {"PreschoolClassification", &SetMember<Q, &Q::preschool_classification>},
    {"ReasonOfLoss", &SetMember<Q, &Q::reason_of_loss>},
    {"InsurerName", &SetMember<Q, &Q::insurer_name>},
    {"PublicExpenseNumber", &SetMember<Q, &Q::public_expense_number>},
    {"BeneficiaryNumber", &SetMember<Q, &Q::beneficiary_number>},
    {"WelfareOfficeName", &SetMember<Q, &Q::welfare_office_name>},
    {"LimitApplicationCertificateRelatedConsFlg",
     &SetMember<Q, &Q::limit_application_certificate_related_cons_flg>},
    {"LimitApplicationCertificateRelatedConsTime",
     &SetMember<Q, &Q::limit_application_certificate_related_cons_time>},
    {"SpecificDiseasesCertificateRelatedConsFlg",
     &SetMember<Q, &Q::specific_diseases_certificate_related_cons_flg>},
    {"SpecificDiseasesCertificateRelatedConsTime",
     &SetMember<Q, &Q::specific_diseases_certificate_related_cons_time>},
    {"ReferenceNumber", &SetMember<Q, &Q::reference_number>},
    {"ArbitraryIdentifier", &SetMember<Q, &Q::arbitrary_identifier>},
    {"LimitApplicationCertificateChanged",
     &SetMember<Q, &Q::limit_application_certificate_changed>},
    {"PrescriptionIssueSelect", &SetMember<Q, &Q::prescription_issue_select>},
};

// 閲覧同意 element prefixes; each takes ConsFlg / ConsTime / AvailableTime.
struct ConsentEntry {
  std::string_view prefix;
  Consent Qualification::*member;
};
constexpr ConsentEntry kConsents[] = {
    {"SpecificHealthCheckupsInfo", &Q::specific_health_checkups_info},
    {"PharmacistsInfo", &Q::pharmacists_info},
    {"DiagnosisInfo", &Q::diagnosis_info},
    {"OperationInfo", &Q::operation_info},
    {"DiagnosisName", &Q::diagnosis_name},
    {"InfectiousInfo", &Q::infectious_info},
    {"AllergyInfo", &Q::allergy_info},
    {"ContraindicationInfo", &Q::contraindication_info},
    {"TestInfo", &Q::test_info},
    {"PrescriptionInfo", &Q::prescription_info},
};

using ERC = ElderlyRecipientCertificate;
constexpr FieldEntry<ERC> kElderlyFields[] = {
    {"ElderlyRecipientCertificateDate", &SetMember<ERC, &ERC::certificate_date>},
    {"ElderlyRecipientValidStartDate", &SetMember<ERC, &ERC::valid_start_date>},
    {"ElderlyRecipientValidEndDate", &SetMember<ERC, &ERC::valid_end_date>},
    {"ElderlyRecipientContributionRatio", &SetMember<ERC, &ERC::contribution_ratio>},
};

using LAC = LimitApplicationCertificate;
constexpr FieldEntry<LAC> kLimitFields[] = {
    {"LimitApplicationCertificateClassification", &SetMember<LAC, &LAC::classification>},
    {"LimitApplicationCertificateClassificationFlag", &SetMember<LAC, &LAC::classification_flag>},
    {"LimitApplicationCertificateDate", &SetMember<LAC, &LAC::certificate_date>},
    {"LimitApplicationCertificateValidStartDate", &SetMember<LAC, &LAC::valid_start_date>},
    {"LimitApplicationCertificateValidEndDate", &SetMember<LAC, &LAC::valid_end_date>},
    {"LimitApplicationCertificateLongTermDate", &SetMember<LAC, &LAC::long_term_date>},
};

using SD = SpecificDiseasesCertificate;
constexpr FieldEntry<SD> kSpecificDiseaseFields[] = {
    {"SpecificDiseasesDiseaseCategory", &SetMember<SD, &SD::disease_category>},
    {"SpecificDiseasesCertificateDate", &SetMember<SD, &SD::certificate_date>},
    {"SpecificDiseasesValidStartDate", &SetMember<SD, &SD::valid_start_date>},
    {"SpecificDiseasesValidEndDate", &SetMember<SD, &SD::valid_end_date>},
    {"SpecificDiseasesSelfPay", &SetMember<SD, &SD::self_pay>},
};

using MT = MedicalTicket;
constexpr FieldEntry<MT> kMedicalTicketFields[] = {
    {"TicketType", &SetMember<MT, &MT::ticket_type>},
    {"MedicalTicketValidDate", &SetMember<MT, &MT::valid_date>},
    {"MedicalTicketExpirationDate", &SetMember<MT, &MT::expiration_date>},
    {"IssueNumber", &SetMember<MT, &MT::issue_number>},
    {"MedicalTreatmentMonth", &SetMember<MT, &MT::medical_treatment_month>},
    {"DesignatedMedicalInstitutionCode", &SetMember<MT, &MT::designated_medical_institution_code>},
    {"DesignatedMedicalInstitutionFlag", &SetMember<MT, &MT::designated_medical_institution_flag>},
    {"DesignatedMedicalInstitutionName", &SetMember<MT, &MT::designated_medical_institution_name>},
    {"PrescriptionIssuerMedicalInstitutionCode",
     &SetMember<MT, &MT::prescription_issuer_medical_institution_code>},
    {"PrescriptionIssuerMedicalInstitutionName",
     &SetMember<MT, &MT::prescription_issuer_medical_institution_name>},
    {"InjuryName1", &SetMember<MT, &MT::injury_name1>},
    {"InjuryName2", &SetMember<MT, &MT::injury_name2>},
    {"InjuryName3", &SetMember<MT, &MT::injury_name3>},
    {"MedicalTreatmentType", &SetMember<MT, &MT::medical_treatment_type>},
    {"SelfPayAmount", &SetMember<MT, &MT::self_pay_amount>},
    {"DistrictContactName", &SetMember<MT, &MT::district_contact_name>},
    {"HandlingContactName", &SetMember<MT, &MT::handling_contact_name>},
    {"SingleOrCombinedUse", &SetMember<MT, &MT::single_or_combined_use>},
    {"StatusOfSocialInsurance", &SetMember<MT, &MT::status_of_social_insurance>},
    {"ConsistencyFlag", &SetMember<MT, &MT::consistency_flag>},
    {"StatusOfInfecton", &SetMember<MT, &MT::status_of_infection>},
    {"StatusOfElderlyMedicalCare", &SetMember<MT, &MT::status_of_elderly_medical_care>},
    {"StatusOfPrefecturalExpenses", &SetMember<MT, &MT::status_of_prefectural_expenses>},
    {"Remarks1", &SetMember<MT, &MT::remarks1>},
    {"Remarks2", &SetMember<MT, &MT::remarks2>},
    {"Remarks3", &SetMember<MT, &MT::remarks3>},
};

using R = ReferenceNumberResult;
constexpr FieldEntry<R> kReferenceNumberFields[] = {
    {"ReferenceNumber", &SetMember<R, &R::reference_number>},
    {"InsurerNumber", &SetMember<R, &R::insurer_number>},
    {"InsuredCardSymbol", &SetMember<R, &R::insured_card_symbol>},
    {"InsuredIdentificationNumber", &SetMember<R, &R::insured_identification_number>},
    {"InsuredBranchNumber", &SetMember<R, &R::insured_branch_number>},
    {"ProcessingResultStatus", &SetMember<R, &R::processing_result_status>},
    {"ProcessingResultCode", &SetMember<R, &R::processing_result_code>},
    {"ProcessingResultMessage", &SetMember<R, &R::processing_result_message>},
};

void RequirePresent(bool present, std::string_view path, std::string_view name,
                    std::vector<Issue>& issues) {
  if (!present) {
    AddIssue(issues, IssueKind::kMissingElement, Child(path, name),
             "element that is always present is missing");
  }
}

bool HasBlackCircle(const Text& text) {
  return text && text->find(kBlackCircle) != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::optional<BurdenRatio> ParseBurdenRatio(std::string_view raw) {
  raw = Trim(raw);
  if (raw.empty() || raw.size() > 3) return std::nullopt;
  int percent = 0;
  for (char c : raw) {
    if (c < '0' || c > '9') return std::nullopt;
    percent = percent * 10 + (c - '0');
  }
  if (percent > 100) return std::nullopt;
  return BurdenRatio{percent};
}

std::optional<BurdenRatio> ElderlyRecipientCertificate::ContributionRatio() const {
  if (!contribution_ratio) return std::nullopt;
  return ParseBurdenRatio(*contribution_ratio);
}

std::optional<BurdenRatio> Qualification::PartialContributionRatio() const {
  if (!insured_partial_contribution_ratio) return std::nullopt;
  return ParseBurdenRatio(*insured_partial_contribution_ratio);
}

std::string_view IssueKindName(IssueKind kind) {
  switch (kind) {
    case IssueKind::kUnknownElement: return "UNKNOWN_ELEMENT";
    case IssueKind::kDuplicateElement: return "DUPLICATE_ELEMENT";
    case IssueKind::kUnknownCode: return "UNKNOWN_CODE";
    case IssueKind::kMalformedDate: return "MALFORMED_DATE";
    case IssueKind::kMalformedDateTime: return "MALFORMED_DATE_TIME";
    case IssueKind::kMalformedValue: return "MALFORMED_VALUE";
    case IssueKind::kInvalidInsurerNumber: return "INVALID_INSURER_NUMBER";
    case IssueKind::kInvalidInsuredNumber: return "INVALID_INSURED_NUMBER";
    case IssueKind::kUnconvertibleChars: return "UNCONVERTIBLE_CHARS";
    case IssueKind::kMissingElement: return "MISSING_ELEMENT";
    case IssueKind::kInconsistent: return "INCONSISTENT";
  }
  return "UNKNOWN";
}

std::optional<PrescriptionIssueSelect> EligibilityResult::EffectivePrescriptionIssueSelect() const {
  for (const auto& q : results) {
    if (q.prescription_issue_select && q.prescription_issue_select->value) {
      return q.prescription_issue_select->value;
    }
  }
  if (prescription_issue_select) return prescription_issue_select->value;
  return std::nullopt;
}

bool EligibilityResult::IsSingleValidResult() const {
  return header.segment_of_result &&
         header.segment_of_result->value == SegmentOfResult::kNormal &&
         processing_result_status &&
         processing_result_status->value == ProcessingResultStatus::kNormal &&
         qualification_validity &&
         qualification_validity->value == QualificationValidity::kValid && results.size() == 1;
}

bool EligibilityResult::HasIssue(IssueKind kind) const {
  for (const auto& issue : issues) {
    if (issue.kind == kind) return true;
  }
  return false;
}

bool ReferenceNumberResult::IsRegistered(std::string_view expected_reference_number) const {
  return header.segment_of_result &&
         header.segment_of_result->value == SegmentOfResult::kNormal && !header.error_code &&
         processing_result_status &&
         processing_result_status->value == ProcessingResultStatus::kNormal && reference_number &&
         *reference_number == expected_reference_number;
}

// ---------------------------------------------------------------------------------------------

Assignment AssignHeaderElement(MessageHeader& header, std::string_view name, std::string_view text,
                               std::string_view path, std::vector<Issue>& issues) {
  return AssignByTable<H>(kHeaderFields, header, name, text, path, issues);
}

Assignment AssignBodyElement(EligibilityResult& result, std::string_view name,
                             std::string_view text, std::string_view path,
                             std::vector<Issue>& issues) {
  return AssignByTable<B>(kBodyFields, result, name, text, path, issues);
}

Assignment AssignSearchInfoElement(SearchInfoEcho& info, std::string_view name,
                                   std::string_view text, std::string_view path,
                                   std::vector<Issue>& issues) {
  return AssignByTable<SI>(kSearchInfoFields, info, name, text, path, issues);
}

Assignment AssignQualificationElement(Qualification& q, std::string_view name,
                                      std::string_view text, std::string_view path,
                                      std::vector<Issue>& issues) {
  for (const auto& consent : kConsents) {
    if (!name.starts_with(consent.prefix)) continue;
    const std::string_view suffix = name.substr(consent.prefix.size());
    Consent& c = q.*consent.member;
    const std::string child = Child(path, name);
    if (suffix == "ConsFlg") return Set(c.flag, text, child, issues);
    if (suffix == "ConsTime") return Set(c.cons_time, text, child, issues);
    if (suffix == "AvailableTime") return Set(c.available_time, text, child, issues);
  }
  return AssignByTable<Q>(kQualificationFields, q, name, text, path, issues);
}

Assignment AssignElderlyElement(ElderlyRecipientCertificate& e, std::string_view name,
                                std::string_view text, std::string_view path,
                                std::vector<Issue>& issues) {
  const Assignment a = AssignByTable<ERC>(kElderlyFields, e, name, text, path, issues);
  if (a == Assignment::kAssigned && name == "ElderlyRecipientContributionRatio" &&
      !ParseBurdenRatio(text)) {
    AddIssue(issues, IssueKind::kMalformedValue, Child(path, name),
             "contribution ratio is not a percentage of 1-3 digits");
  }
  return a;
}

Assignment AssignLimitCertificateElement(LimitApplicationCertificate& l, std::string_view name,
                                         std::string_view text, std::string_view path,
                                         std::vector<Issue>& issues) {
  return AssignByTable<LAC>(kLimitFields, l, name, text, path, issues);
}

Assignment AssignSpecificDiseaseElement(SpecificDiseasesCertificate& s, std::string_view name,
                                        std::string_view text, std::string_view path,
                                        std::vector<Issue>& issues) {
  return AssignByTable<SD>(kSpecificDiseaseFields, s, name, text, path, issues);
}

Assignment AssignMedicalTicketElement(MedicalTicket& m, std::string_view name,
                                      std::string_view text, std::string_view path,
                                      std::vector<Issue>& issues) {
  return AssignByTable<MT>(kMedicalTicketFields, m, name, text, path, issues);
}

Assignment AssignReferenceNumberElement(ReferenceNumberResult& r, std::string_view name,
                                        std::string_view text, std::string_view path,
                                        std::vector<Issue>& issues) {
  return AssignByTable<R>(kReferenceNumberFields, r, name, text, path, issues);
}

// ---------------------------------------------------------------------------------------------

void FinishQualification(Qualification& q, std::string_view path, std::vector<Issue>& issues) {
  const std::pair<const Text*, std::string_view> text_fields[] = {
      {&q.name, "Name"},
      {&q.name_of_other, "NameOfOther"},
      {&q.insured_name, "InsuredName"},
      {&q.address, "Address"},
      {&q.insurer_name, "InsurerName"},
      {&q.welfare_office_name, "WelfareOfficeName"},
  };
  for (const auto& [field, name] : text_fields) {
    if (HasBlackCircle(*field)) {
      q.has_unconvertible_chars = true;
      AddIssue(issues, IssueKind::kUnconvertibleChars, Child(path, name),
               "contains U+25CF (a character the insurer's system could not convert); use the "
               "kana name to identify the patient");
    }
  }

  if (q.insured_partial_contribution_ratio &&
      !ParseBurdenRatio(*q.insured_partial_contribution_ratio)) {
    AddIssue(issues, IssueKind::kMalformedValue, Child(path, "InsuredPartialContributionRatio"),
             "contribution ratio is not a percentage of 1-3 digits");
  }

  // 後期高齢者 被保険者番号 carries a check digit (§7.1).
  if (q.insurer_number && q.insurer_number->value && q.insurer_number->value->IsLateElderly() &&
      q.insured_identification_number) {
    const std::string number = NormalizeWidth(Trim(*q.insured_identification_number));
    if (!ValidateLateElderlyInsuredNumber(number).ok()) {
      AddIssue(issues, IssueKind::kInvalidInsuredNumber,
               Child(path, "InsuredIdentificationNumber"),
               "後期高齢者 insured number is not 8 digits with a valid check digit");
    }
  }

  RequirePresent(q.insured_card_classification.has_value(), path, "InsuredCardClassification",
                 issues);
  RequirePresent(q.name.has_value(), path, "Name", issues);
  RequirePresent(q.sex1.has_value(), path, "Sex1", issues);
  RequirePresent(q.birthdate.has_value(), path, "Birthdate", issues);
}

void FinishResult(EligibilityResult& result) {
  auto& issues = result.issues;
  for (std::size_t i = 0; i < result.results.size(); ++i) {
    FinishQualification(result.results[i],
                        "MessageBody/ResultList/ResultOfQualificationConfirmation[" +
                            std::to_string(i + 1) + "]",
                        issues);
  }
  const MessageHeader& h = result.header;
  RequirePresent(h.process_execution_time.has_value(), "MessageHeader", "ProcessExecutionTime",
                 issues);
  RequirePresent(h.medical_institution_code.has_value(), "MessageHeader",
                 "MedicalInstitutionCode", issues);
  RequirePresent(h.segment_of_result.has_value(), "MessageHeader", "SegmentOfResult", issues);
  RequirePresent(h.character_code_identifier.has_value(), "MessageHeader",
                 "CharacterCodeIdentifier", issues);
  const bool segment_normal =
      h.segment_of_result && h.segment_of_result->value == SegmentOfResult::kNormal;
  if (segment_normal) {
    RequirePresent(result.processing_result_status.has_value(), "MessageBody",
                   "ProcessingResultStatus", issues);
  }

  if (result.qualification_validity && result.qualification_validity->value) {
    const auto validity = *result.qualification_validity->value;
    const std::size_t n = result.results.size();
    if (validity == QualificationValidity::kMultiple && n < 2) {
      AddIssue(issues, IssueKind::kInconsistent, "MessageBody/QualificationValidity",
               "validity 5 (複数該当) with fewer than two results");
    } else if (validity == QualificationValidity::kValid && n != 1) {
      AddIssue(issues, IssueKind::kInconsistent, "MessageBody/QualificationValidity",
               "validity 1 (有効) without exactly one result");
    }
  }
}

}  // namespace onshid::core::oqs
