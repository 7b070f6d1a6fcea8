// XML codec of the OQS file protocol (OQS-INTERFACE.md §4.1–4.4, §9) against synthetic fixtures in
// tests/data/oqs/ and the third-party face sample copied unedited into tests/data/oqs/third_party/.
//
// Fixtures (all people and numbers invented):
//   result_full.xml               validity 1, every §4.2 group, 2025 consents, ● in the name,
//                                 PrescriptionIssueSelect inside the result, one unknown element
//   result_multiple.xml           validity 5, two results, PrescriptionIssueSelect in MessageBody
//   result_validity3.xml          validity 3 with the old eligibility
//   result_medical_assistance.xml 医療扶助 (A1, validity 6) with MedicalTicketInfo
//   result_flawed.xml             duplicates, unknown codes, malformed dates, bad check digits
//   siimm_result.xml              照会番号登録結果

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/oqs/eligibility.h"
#include "oqs_folder/xml_codec.h"

namespace oqs = onshid::core::oqs;
namespace folder = onshid::oqs_folder;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO("reading " << path);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Fixture(const std::string& name) {
  return ReadFile(std::string(ONSHID_SOURCE_DIR) + "/tests/data/oqs/" + name);
}

oqs::EligibilityResult ParseFixture(const std::string& name) {
  auto r = folder::ParseQualificationResult(Fixture(name));
  INFO(name << ": " << (r ? "" : r.error().message));
  REQUIRE(r);
  return std::move(r).value();
}

std::size_t CountIssues(const oqs::EligibilityResult& r, oqs::IssueKind kind) {
  return static_cast<std::size_t>(std::count_if(r.issues.begin(), r.issues.end(),
                                                [&](const auto& i) { return i.kind == kind; }));
}

bool HasIssueAt(const std::vector<oqs::Issue>& issues, oqs::IssueKind kind,
                const std::string& path_suffix) {
  return std::any_of(issues.begin(), issues.end(), [&](const auto& i) {
    return i.kind == kind && i.path.ends_with(path_suffix);
  });
}

}  // namespace

TEST_CASE("third-party face sample parses with the expected values", "[oqs][codec]") {
  // The sample sits beside the repository in CI; a missing file must fail, not skip.
  const std::string raw =
      ReadFile(std::string(ONSHID_SOURCE_DIR) + "/tests/data/oqs/third_party/face-myclinic-2023.xml");
  auto parsed = folder::ParseQualificationResultFile(raw);
  REQUIRE(parsed);
  const auto& r = *parsed;
  CHECK(r.header.process_execution_time->value->ToString() == "20230221174835");
  CHECK(r.header.character_code_identifier->value == oqs::CharacterCode::kUtf8);
  CHECK(r.header.segment_of_result->value == oqs::SegmentOfResult::kNormal);
  CHECK(r.header.qualification_confirmation_date->raw == "20230221");
  CHECK(r.header.reference_classification->value == oqs::ReferenceClassification::kMyNumberCard);
  CHECK(*r.header.arbitrary_file_identifier == "ArnHCeDfNjMCFzg=");
  CHECK(*r.header.medical_institution_code == "1311111111");
  CHECK_FALSE(r.search_info);
  CHECK(r.processing_result_status->value == oqs::ProcessingResultStatus::kNormal);
  CHECK(r.qualification_validity->value == oqs::QualificationValidity::kValid);
  REQUIRE(r.results.size() == 1);
  CHECK(r.IsSingleValidResult());

  const auto& q = r.results[0];
  CHECK(*q.address == "東京都");
  CHECK(*q.name == "診療　太郎");
  CHECK(*q.name_kana == "ｼﾝﾘｮｳ ﾀﾛｳ");
  CHECK(q.insurer_number->raw == "  123456");
  CHECK(*q.insured_card_symbol == "12-34");
  CHECK(*q.insured_identification_number == "4260");
  CHECK(*q.insured_branch_number == "01");
  CHECK(q.insured_card_classification->value == oqs::InsuredCardClassification::kGeneral);
  CHECK(q.personal_family_classification->value == oqs::PersonalFamily::kInsuredPerson);
  CHECK(q.sex1->value == oqs::Sex::kMale);
  CHECK(q.birthdate->value->ToString() == "20010327");
  CHECK(q.insured_card_valid_date->raw == "20191001");
  CHECK(q.insured_certificate_issuance_date->raw == "20191001");
  CHECK(*q.insurer_name == "東京都");
  CHECK(*q.post_number == "123-4567");
  CHECK(q.limit_application_certificate_related_cons_flg->value ==
        oqs::LimitConsentFlag::kNotConsented);
  CHECK(q.specific_diseases_certificate_related_cons_flg->value == oqs::ConsentStatus::kNone);
  CHECK(q.diagnosis_info.flag->value == oqs::ConsentStatus::kNone);
  CHECK(q.pharmacists_info.flag->value == oqs::ConsentStatus::kConsented);
  CHECK(q.specific_health_checkups_info.flag->value == oqs::ConsentStatus::kConsented);
  // A face consent lasts 24 hours.
  CHECK(q.pharmacists_info.available_time->value->ToSystemTime() -
            q.pharmacists_info.cons_time->value->ToSystemTime() ==
        std::chrono::hours(24));
  CHECK(q.specific_health_checkups_info.available_time->raw == "20230222174835");
  CHECK_FALSE(q.has_unconvertible_chars);
  // "123456" fails the §7.1 check digit: kept raw, flagged, not dropped.
  CHECK_FALSE(q.insurer_number->value);
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kInvalidInsurerNumber, "/InsurerNumber"));
  CHECK(CountIssues(r, oqs::IssueKind::kUnknownElement) == 0);
  CHECK(r.issues.size() == 1);
}

TEST_CASE("every §4.2 element of a full result is read", "[oqs][codec]") {
  const auto r = ParseFixture("result_full.xml");
  CHECK(r.header.reference_classification->value ==
        oqs::ReferenceClassification::kInsuranceCardInfo);
  CHECK(*r.header.arbitrary_file_identifier == "REQ-20260105-0001");
  CHECK(*r.processing_result_code == "INFO0001");
  CHECK_FALSE(r.processing_result_message->empty());
  REQUIRE(r.search_info);
  CHECK(r.search_info->insurer_number->value->digits() == "06139992");
  CHECK(*r.search_info->insured_identification_number == "4567");
  CHECK(r.search_info->birth_date->value->ToString() == "19560229");
  CHECK(r.search_info->limit_application_certificate_related_cons_flg->value ==
        oqs::LimitConsentFlag::kConsented);
  CHECK(*r.search_info->arbitrary_identifier == "42_1");

  REQUIRE(r.results.size() == 1);
  const auto& q = r.results[0];
  CHECK(q.insurer_number->value->WireForm() == "06139992");
  CHECK(*q.insured_card_symbol == "ＡＢ－１２");
  CHECK(oqs::InsuranceIdComparisonKey(*q.insured_card_symbol) ==
        oqs::InsuranceIdComparisonKey(*r.search_info->insured_card_symbol));
  CHECK(oqs::InsuranceIdComparisonKey(*q.insured_identification_number) == "4567");
  CHECK(q.personal_family_classification->value == oqs::PersonalFamily::kDependent);
  CHECK(*q.insured_name == "試験　太郎");
  CHECK(*q.name_of_other == "テスト　ハナ");
  CHECK(*q.name_of_other_kana == "ﾃｽﾄ ﾊﾅ");
  CHECK(q.sex2->value == oqs::Sex::kFemale);
  CHECK(q.qualification_date->raw == "20200401");
  CHECK(q.insured_card_expiration_date->value->ToString() == "20271231");
  CHECK(q.PartialContributionRatio()->Wari() == 2);

  REQUIRE(q.elderly_recipient_certificate);
  const auto& e = *q.elderly_recipient_certificate;
  CHECK(e.ContributionRatio()->percent == 20);
  CHECK(e.ContributionRatio()->Wari() == 2);
  CHECK(e.certificate_date->raw == "20250701");
  CHECK(e.valid_start_date->raw == "20250801");
  CHECK(e.valid_end_date->raw == "20270731");

  CHECK(q.limit_application_certificate_related_cons_time->value->ToString() == "20260105093000");
  REQUIRE(q.limit_application_certificate);
  const auto& l = *q.limit_application_certificate;
  CHECK(l.classification->value == oqs::LimitCertificateClassification::kLimit);
  CHECK(l.classification_flag->value == oqs::LimitClassificationFlag::kB04);
  CHECK(l.certificate_date->raw == "20250801");
  CHECK(l.valid_start_date->raw == "20250801");
  CHECK(l.valid_end_date->raw == "20260731");
  CHECK(l.long_term_date->raw == "20251001");

  CHECK(q.specific_diseases_certificate_related_cons_flg->value == oqs::ConsentStatus::kConsented);
  CHECK(q.specific_diseases_certificate_related_cons_time->raw == "20260105093000");
  CHECK(q.has_specific_diseases_certificate_list);
  REQUIRE(q.specific_diseases_certificates.size() == 2);
  CHECK(q.specific_diseases_certificates[0].disease_category->value ==
        oqs::SpecificDiseaseCategory::kChronicRenalFailure);
  CHECK(*q.specific_diseases_certificates[0].self_pay == "10000");
  CHECK(q.specific_diseases_certificates[0].valid_end_date->raw == "20280331");
  CHECK(q.specific_diseases_certificates[1].disease_category->value ==
        oqs::SpecificDiseaseCategory::kCoagulationFactorDisorder);
  CHECK(*q.specific_diseases_certificates[1].self_pay == "20000");

  CHECK(q.pharmacists_info.flag->value == oqs::ConsentStatus::kConsented);
  CHECK(q.pharmacists_info.available_time->raw == "20260106093000");
  CHECK(q.specific_health_checkups_info.flag->value == oqs::ConsentStatus::kNone);
  CHECK(q.diagnosis_info.cons_time->raw == "20260105093000");
  CHECK(q.operation_info.flag->value == oqs::ConsentStatus::kExpired);
  CHECK(q.diagnosis_name.flag->value == oqs::ConsentStatus::kConsented);
  CHECK(q.diagnosis_name.available_time->raw == "20260106093000");
  CHECK(q.infectious_info.flag->value == oqs::ConsentStatus::kDifficult);
  CHECK(q.allergy_info.flag->value == oqs::ConsentStatus::kConsented);
  CHECK(q.contraindication_info.flag->value == oqs::ConsentStatus::kConsented);
  CHECK(q.test_info.flag->value == oqs::ConsentStatus::kNone);
  CHECK(q.prescription_info.flag->value == oqs::ConsentStatus::kConsented);
  CHECK(q.prescription_info.available_time->raw == "20260106093000");
  CHECK_FALSE(q.operation_info.cons_time);

  CHECK(*q.reference_number == "P-000123");
  CHECK(*q.arbitrary_identifier == "42_1");
  CHECK(q.limit_application_certificate_changed->value ==
        oqs::LimitCertificateChanged::kUnchanged);
  CHECK(q.prescription_issue_select->value == oqs::PrescriptionIssueSelect::kElectronic);
  CHECK_FALSE(r.prescription_issue_select);
  CHECK(r.EffectivePrescriptionIssueSelect() == oqs::PrescriptionIssueSelect::kElectronic);

  // ● in Name: flagged, the kana name is the reliable one.
  CHECK(q.has_unconvertible_chars);
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kUnconvertibleChars, "[1]/Name"));
  // The unknown element is tolerated and listed by name only.
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kUnknownElement, "[1]/FutureElement2027"));
  for (const auto& issue : r.issues) CHECK(issue.detail.find("試験") == std::string::npos);
  CHECK(r.issues.size() == 2);
  CHECK(r.IsSingleValidResult());
}

TEST_CASE("element order does not matter", "[oqs][codec]") {
  const std::string a = R"(<XmlMsg><MessageHeader><SegmentOfResult>1</SegmentOfResult>
    <CharacterCodeIdentifier>0</CharacterCodeIdentifier></MessageHeader><MessageBody>
    <ResultList><ResultOfQualificationConfirmation><Sex1>2</Sex1><Name>甲</Name>
    <InsurerNumber>01130012</InsurerNumber></ResultOfQualificationConfirmation></ResultList>
    <QualificationValidity>1</QualificationValidity></MessageBody></XmlMsg>)";
  const std::string b = R"(<XmlMsg><MessageBody><QualificationValidity>1</QualificationValidity>
    <ResultList><ResultOfQualificationConfirmation><InsurerNumber>01130012</InsurerNumber>
    <Name>甲</Name><Sex1>2</Sex1></ResultOfQualificationConfirmation></ResultList></MessageBody>
    <MessageHeader><CharacterCodeIdentifier>0</CharacterCodeIdentifier>
    <SegmentOfResult>1</SegmentOfResult></MessageHeader></XmlMsg>)";
  auto ra = folder::ParseQualificationResult(a);
  auto rb = folder::ParseQualificationResult(b);
  REQUIRE(ra);
  REQUIRE(rb);
  for (const auto* r : {&*ra, &*rb}) {
    CHECK(r->header.segment_of_result->value == oqs::SegmentOfResult::kNormal);
    CHECK(r->qualification_validity->value == oqs::QualificationValidity::kValid);
    REQUIRE(r->results.size() == 1);
    CHECK(r->results[0].sex1->value == oqs::Sex::kFemale);
    CHECK(*r->results[0].name == "甲");
    CHECK(r->results[0].insurer_number->value->digits() == "01130012");
  }
}

TEST_CASE("multiple results with validity 5 and PrescriptionIssueSelect in MessageBody",
          "[oqs][codec]") {
  const auto r = ParseFixture("result_multiple.xml");  // single-quoted declaration
  CHECK(r.qualification_validity->value == oqs::QualificationValidity::kMultiple);
  REQUIRE(r.results.size() == 2);
  CHECK(r.results[0].insurer_number->value->WireForm() == "  138057");
  CHECK(r.results[0].insurer_number->value->IsNationalHealthInsurance());
  CHECK(r.results[1].insured_card_classification->value ==
        oqs::InsuredCardClassification::kSpecialRetired);
  CHECK(r.results[1].insurer_number->value->digits() == "01130012");
  CHECK(r.prescription_issue_select->value == oqs::PrescriptionIssueSelect::kPaper);
  CHECK_FALSE(r.results[0].prescription_issue_select);
  CHECK(r.EffectivePrescriptionIssueSelect() == oqs::PrescriptionIssueSelect::kPaper);
  CHECK_FALSE(r.IsSingleValidResult());
  CHECK(r.issues.empty());
}

TEST_CASE("validity 3 keeps the old eligibility", "[oqs][codec]") {
  const auto r = ParseFixture("result_validity3.xml");
  CHECK(r.qualification_validity->value == oqs::QualificationValidity::kInvalidNewerExists);
  CHECK(oqs::LabelJa(*r.qualification_validity->value) == "無効（新しい資格あり）");
  CHECK_FALSE(r.IsSingleValidResult());
  REQUIRE(r.results.size() == 1);
  const auto& old = r.results[0];
  CHECK(old.insurer_number->value->digits() == "01320027");
  CHECK(old.disqualification_date->value->ToString() == "20251231");
  CHECK(old.reason_of_loss->value == oqs::ReasonOfLoss::kOtherInsuranceAcquired);
  CHECK(old.PartialContributionRatio()->Wari() == 3);
  CHECK(*old.insurer_name == "架空商事健康保険組合");
  CHECK(r.issues.empty());
}

TEST_CASE("医療扶助 result with MedicalTicketInfo list", "[oqs][codec]") {
  const auto r = ParseFixture("result_medical_assistance.xml");
  CHECK(r.qualification_validity->value == oqs::QualificationValidity::kValidUnregistered);
  REQUIRE(r.results.size() == 1);
  const auto& q = r.results[0];
  CHECK(q.insured_card_classification->value ==
        oqs::InsuredCardClassification::kMedicalAssistance);
  CHECK(*q.public_expense_number == "12139998");
  CHECK(*q.beneficiary_number == "1234567");
  CHECK(*q.welfare_office_name == "架空市福祉事務所");
  CHECK(q.has_public_expense_result_list);
  REQUIRE(q.medical_tickets.size() == 2);
  const auto& t = q.medical_tickets[0];
  CHECK(t.ticket_type->value == oqs::TicketType::kMedicalTicket);
  CHECK(t.valid_date->raw == "20260101");
  CHECK(t.expiration_date->raw == "20260131");
  CHECK(*t.issue_number == "000123");
  CHECK(*t.medical_treatment_month == "202601");
  CHECK(*t.designated_medical_institution_code == "9912345678");
  CHECK(t.designated_medical_institution_flag->value == oqs::DesignatedInstitutionMatch::kMatch);
  CHECK(*t.designated_medical_institution_name == "架空クリニック");
  CHECK(*t.prescription_issuer_medical_institution_code == "9912345678");
  CHECK(*t.prescription_issuer_medical_institution_name == "架空クリニック");
  CHECK(*t.injury_name1 == "架空病一");
  CHECK(*t.injury_name2 == "架空病二");
  CHECK(*t.injury_name3 == "架空病三");
  CHECK(t.medical_treatment_type->value == oqs::MedicalTreatmentType::kOutpatient);
  CHECK(*t.self_pay_amount == "0");
  CHECK(*t.district_contact_name == "担当　一");
  CHECK(*t.handling_contact_name == "担当　二");
  CHECK(t.single_or_combined_use->value == oqs::SingleOrCombinedUse::kSingle);
  CHECK(t.status_of_social_insurance->value == oqs::Presence::kAbsent);
  CHECK(t.consistency_flag->value == oqs::ConsistencyFlag::kInconsistent);
  CHECK(t.status_of_infection->value == oqs::Presence::kAbsent);
  CHECK(t.status_of_elderly_medical_care->value == oqs::Presence::kAbsent);
  CHECK(t.status_of_prefectural_expenses->value == oqs::Presence::kPresent);
  CHECK(*t.remarks1 == "備考一");
  CHECK(*t.remarks2 == "備考二");
  CHECK(*t.remarks3 == "備考三");
  CHECK(q.medical_tickets[1].ticket_type->value == oqs::TicketType::kDispensingTicket);
  CHECK(q.medical_tickets[1].medical_treatment_type->value ==
        oqs::MedicalTreatmentType::kDispensing);
  CHECK(r.issues.empty());
}

TEST_CASE("flaws are flagged, never dropped", "[oqs][codec]") {
  const auto r = ParseFixture("result_flawed.xml");
  // Duplicate singletons: the first is kept.
  CHECK(r.header.segment_of_result->value == oqs::SegmentOfResult::kNormal);
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kDuplicateElement, "MessageHeader/SegmentOfResult"));
  REQUIRE(r.results.size() == 1);
  const auto& q = r.results[0];
  CHECK(q.sex1->value == oqs::Sex::kMale);
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kDuplicateElement, "[1]/Sex1"));
  CHECK(q.elderly_recipient_certificate->ContributionRatio()->percent == 20);
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kDuplicateElement,
                   "[1]/ElderlyRecipientCertificateInfo"));
  // Unknown codes keep their raw text.
  CHECK(r.qualification_validity->raw == "7");
  CHECK_FALSE(r.qualification_validity->known());
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kUnknownCode, "MessageBody/QualificationValidity"));
  CHECK(q.insured_card_classification->raw == "09");
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kUnknownCode, "[1]/InsuredCardClassification"));
  CHECK(q.reason_of_loss->raw == "5");
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kUnknownCode, "[1]/ReasonOfLoss"));
  // Malformed dates keep their raw text.
  CHECK(r.header.qualification_confirmation_date->raw == "20230229");
  CHECK_FALSE(r.header.qualification_confirmation_date->value);
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kMalformedDate,
                   "MessageHeader/QualificationConfirmationDate"));
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kMalformedDateTime,
                   "MessageHeader/ProcessExecutionTime"));
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kMalformedDate, "[1]/Birthdate"));
  // Bad check digits: insurer (39131231) and, as it is 後期, nothing more can be checked.
  CHECK(HasIssueAt(r.issues, oqs::IssueKind::kInvalidInsurerNumber, "[1]/InsurerNumber"));
  CHECK(q.insurer_number->raw == "39131231");
  // Issues never carry values.
  for (const auto& issue : r.issues) {
    CHECK(issue.detail.find("39131231") == std::string::npos);
    CHECK(issue.detail.find("欠陥") == std::string::npos);
  }
  CHECK_FALSE(r.IsSingleValidResult());
}

TEST_CASE("後期高齢者 insured number check digit is verified in results", "[oqs][codec]") {
  const std::string xml = R"(<XmlMsg><MessageHeader><SegmentOfResult>1</SegmentOfResult>
    </MessageHeader><MessageBody><ResultList><ResultOfQualificationConfirmation>
    <InsurerNumber>39131230</InsurerNumber><InsuredIdentificationNumber>12345670</InsuredIdentificationNumber>
    </ResultOfQualificationConfirmation><ResultOfQualificationConfirmation>
    <InsurerNumber>39131230</InsurerNumber><InsuredIdentificationNumber>12345674</InsuredIdentificationNumber>
    </ResultOfQualificationConfirmation></ResultList></MessageBody></XmlMsg>)";
  auto r = folder::ParseQualificationResult(xml);
  REQUIRE(r);
  CHECK(HasIssueAt(r->issues, oqs::IssueKind::kInvalidInsuredNumber,
                   "[1]/InsuredIdentificationNumber"));
  CHECK_FALSE(HasIssueAt(r->issues, oqs::IssueKind::kInvalidInsuredNumber,
                         "[2]/InsuredIdentificationNumber"));
  CHECK(HasIssueAt(r->issues, oqs::IssueKind::kMissingElement, "[1]/Name"));
  CHECK(HasIssueAt(r->issues, oqs::IssueKind::kMissingElement, "MessageHeader/CharacterCodeIdentifier"));
}

TEST_CASE("malformed XML and DOCTYPE are rejected", "[oqs][codec]") {
  auto truncated = folder::ParseQualificationResult("<XmlMsg><MessageHeader></XmlMsg>");
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().reason == "MALFORMED_XML");
  CHECK(truncated.error().message.find("offset") != std::string::npos);

  auto empty = folder::ParseQualificationResult("");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().reason == "MALFORMED_XML");

  auto xxe = folder::ParseQualificationResult(
      "<?xml version=\"1.0\"?><!DOCTYPE XmlMsg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<XmlMsg><MessageHeader><ErrorMessage>&x;</ErrorMessage></MessageHeader></XmlMsg>");
  REQUIRE_FALSE(xxe);
  CHECK(xxe.error().reason == "XML_DOCTYPE_NOT_ALLOWED");

  auto plain_doctype = folder::ParseQualificationResult("<!DOCTYPE XmlMsg><XmlMsg/>");
  REQUIRE_FALSE(plain_doctype);
  CHECK(plain_doctype.error().reason == "XML_DOCTYPE_NOT_ALLOWED");

  auto wrong_root = folder::ParseQualificationResult("<Other/>");
  REQUIRE_FALSE(wrong_root);
  CHECK(wrong_root.error().reason == "UNEXPECTED_XML_ROOT");
}

TEST_CASE("BuildQualificationRequest writes §4.1 with space-padded insurer number", "[oqs][codec]") {
  oqs::EligibilityQueryInput in;
  in.insurer_number = "138057";
  in.insured_card_symbol = "架空&<>";
  in.insured_identification_number = "1001";
  in.insured_branch_number = "01";
  in.birth_date = "19800115";
  in.limit_certificate_consent = "1";
  auto query = oqs::ValidateQueryInput(in);
  REQUIRE(query);
  folder::RequestHeader header;
  header.medical_institution_code = "9912345678";
  header.qualification_confirmation_date = *oqs::OqsDate::Parse("20260105");
  header.arbitrary_file_identifier = "REQ-1";

  auto sjis = folder::BuildQualificationRequest(*query, header, folder::Encoding::kShiftJis);
  REQUIRE(sjis);
  CHECK(sjis->starts_with(
      "<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>"));
  CHECK(sjis->find("<InsurerNumber>  138057</InsurerNumber>") != std::string::npos);
  CHECK(sjis->find("<InsuredCardSymbol>架空&amp;&lt;&gt;</InsuredCardSymbol>") != std::string::npos);
  CHECK(sjis->find("<InsuredBranchNumber>01</InsuredBranchNumber>") != std::string::npos);
  CHECK(sjis->find("<Birthdate>19800115</Birthdate>") != std::string::npos);
  CHECK(sjis->find("<LimitApplicationCertificateRelatedConsFlg>1<") != std::string::npos);
  CHECK(sjis->find("<QualificationConfirmationDate>20260105<") != std::string::npos);
  CHECK(sjis->find("<MedicalInstitutionCode>9912345678<") != std::string::npos);
  CHECK(sjis->find("<ArbitraryFileIdentifier>REQ-1<") != std::string::npos);
  CHECK(sjis->find("CharacterCodeIdentifier") == std::string::npos);
  CHECK(folder::ArbitraryFileIdentifierOf(*sjis) == "REQ-1");
  CHECK(folder::DeclaredEncoding(*sjis) == "Shift_JIS");

  auto utf8 = folder::BuildQualificationRequest(*query, header, folder::Encoding::kUtf8);
  REQUIRE(utf8);
  CHECK(folder::DeclaredEncoding(*utf8) == "UTF-8");

  // The request reads back through the result parser's search-info rules.
  in.insured_card_symbol = "";
  in.insured_branch_number = "";
  auto minimal = oqs::ValidateQueryInput(in);
  REQUIRE(minimal);
  header.arbitrary_file_identifier.reset();
  auto doc = folder::BuildQualificationRequest(*minimal, header, folder::Encoding::kUtf8);
  REQUIRE(doc);
  CHECK(doc->find("InsuredCardSymbol") == std::string::npos);
  CHECK(doc->find("InsuredBranchNumber") == std::string::npos);
  CHECK(doc->find("ArbitraryFileIdentifier") == std::string::npos);
  CHECK_FALSE(folder::ArbitraryFileIdentifierOf(*doc));

  header.medical_institution_code = "12345";
  auto bad = folder::BuildQualificationRequest(*minimal, header, folder::Encoding::kUtf8);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().reason == "INVALID_REQUEST_HEADER");
  header.medical_institution_code = "9912345678";
  header.qualification_confirmation_date.reset();
  CHECK_FALSE(folder::BuildQualificationRequest(*minimal, header, folder::Encoding::kUtf8));
}

TEST_CASE("照会番号登録 request and result (§4.4)", "[oqs][codec]") {
  oqs::EligibilityQueryInput in;
  in.insurer_number = "138057";
  in.insured_card_symbol = "架空";
  in.insured_identification_number = "1001";
  in.insured_branch_number = "01";
  in.birth_date = "19800115";
  auto q = oqs::ValidateQueryInput(in);
  REQUIRE(q);
  oqs::ReferenceNumberRegistration reg{"C-0042", q->insurer_number, q->insured_card_symbol,
                                       q->insured_identification_number, q->insured_branch_number};
  folder::RequestHeader header;
  header.medical_institution_code = "9912345678";
  header.arbitrary_file_identifier = "IMM-0001";
  auto doc = folder::BuildReferenceNumberRequest(reg, header, folder::Encoding::kShiftJis);
  REQUIRE(doc);
  CHECK(doc->find("<ReferenceNumberRegistrationInfo>") != std::string::npos);
  CHECK(doc->find("<ReferenceNumber>C-0042</ReferenceNumber>") != std::string::npos);
  CHECK(doc->find("<InsurerNumber>  138057</InsurerNumber>") != std::string::npos);
  CHECK(doc->find("QualificationConfirmationDate") == std::string::npos);
  CHECK(doc->find("Birthdate") == std::string::npos);

  reg.reference_number = std::string(51, '1');
  auto too_long = folder::BuildReferenceNumberRequest(reg, header, folder::Encoding::kUtf8);
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().reason == "INVALID_REFERENCE_NUMBER");

  auto result = folder::ParseReferenceNumberResult(Fixture("siimm_result.xml"));
  REQUIRE(result);
  CHECK(*result->reference_number == "C-0042");
  CHECK(result->insurer_number->value->WireForm() == "  138057");
  CHECK(*result->insured_card_symbol == "架空");
  CHECK(*result->insured_identification_number == "1001");
  CHECK(*result->insured_branch_number == "01");
  CHECK(result->processing_result_status->value == oqs::ProcessingResultStatus::kNormal);
  CHECK(*result->header.arbitrary_file_identifier == "IMM-0001");
  CHECK(result->IsRegistered("C-0042"));
  CHECK_FALSE(result->IsRegistered("C-0043"));
  CHECK(result->issues.empty());
  CHECK(folder::ArbitraryFileIdentifierOf(Fixture("siimm_result.xml")) == "IMM-0001");
}
