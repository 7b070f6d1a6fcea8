// Identifier, date and query-validation rules of OQS-INTERFACE.md §3 and §7.

#include <catch2/catch.hpp>

#include <algorithm>

#include "core/oqs/codes.h"
#include "core/oqs/identifiers.h"
#include "core/oqs/query.h"

namespace oqs = onshid::core::oqs;
using namespace std::chrono_literals;

namespace {

bool HasViolation(const onshid::core::DomainError& e, const std::string& field) {
  return std::any_of(e.field_violations.begin(), e.field_violations.end(),
                     [&](const auto& v) { return v.field == field; });
}

oqs::EligibilityQueryInput ValidInput() {
  oqs::EligibilityQueryInput in;
  in.insurer_number = "06139992";
  in.insured_card_symbol = "AB-12";
  in.insured_identification_number = "4567";
  in.insured_branch_number = "00";
  in.birth_date = "19800115";
  in.limit_certificate_consent = "1";
  return in;
}

}  // namespace

TEST_CASE("check digit follows the §7.1 worked examples", "[oqs][identifiers]") {
  CHECK(oqs::ComputeCheckDigit("0113001") == 2);
  CHECK(oqs::ComputeCheckDigit("0132002") == 7);
  CHECK(oqs::ComputeCheckDigit("13805") == 7);
  CHECK(oqs::ComputeCheckDigit("12345") == 5);
  CHECK_FALSE(oqs::ComputeCheckDigit("12a45"));
  CHECK_FALSE(oqs::ComputeCheckDigit(""));

  CHECK(oqs::HasValidCheckDigit("01130012"));
  CHECK(oqs::HasValidCheckDigit("01320027"));
  CHECK(oqs::HasValidCheckDigit("138057"));
  CHECK(oqs::HasValidCheckDigit("123455"));
  CHECK_FALSE(oqs::HasValidCheckDigit("123456"));   // S4 counter-example
  CHECK_FALSE(oqs::HasValidCheckDigit("01130013"));
  CHECK_FALSE(oqs::HasValidCheckDigit("01320020"));
  CHECK_FALSE(oqs::HasValidCheckDigit("138050"));
}

TEST_CASE("InsurerNumber parses 6 and 8 digits and pads to 8 with spaces", "[oqs][identifiers]") {
  auto kokuho = oqs::InsurerNumber::Parse("138057");
  REQUIRE(kokuho);
  CHECK(kokuho->digits() == "138057");
  CHECK(kokuho->WireForm() == "  138057");
  CHECK(kokuho->WireForm().size() == 8);
  CHECK(kokuho->IsNationalHealthInsurance());
  CHECK(kokuho->LawCode().empty());

  auto wire = oqs::InsurerNumber::Parse("  138057");
  REQUIRE(wire);
  CHECK(wire->raw() == "  138057");
  CHECK(*wire == *kokuho);

  auto zero_padded = oqs::InsurerNumber::Parse("00138057");
  REQUIRE(zero_padded);
  CHECK(zero_padded->WireForm() == "  138057");

  auto full_width = oqs::InsurerNumber::Parse("０１１３００１２");
  REQUIRE(full_width);
  CHECK(full_width->digits() == "01130012");
  CHECK(full_width->WireForm() == "01130012");
  CHECK(full_width->LawCode() == "01");
  CHECK_FALSE(full_width->IsLateElderly());

  auto koki = oqs::InsurerNumber::Parse("39131230");
  REQUIRE(koki);
  CHECK(koki->IsLateElderly());
}

TEST_CASE("InsurerNumber errors name what is wrong", "[oqs][identifiers]") {
  auto bad_check = oqs::InsurerNumber::Parse("123456");
  REQUIRE_FALSE(bad_check);
  CHECK(bad_check.error().reason == "INVALID_INSURER_NUMBER");
  CHECK(bad_check.error().message.find("check digit") != std::string::npos);
  CHECK_FALSE(bad_check.error().message_ja.empty());

  auto length = oqs::InsurerNumber::Parse("1234567");
  REQUIRE_FALSE(length);
  CHECK(length.error().message.find("7 digits") != std::string::npos);

  auto non_digit = oqs::InsurerNumber::Parse("0113A012");
  REQUIRE_FALSE(non_digit);
  CHECK(non_digit.error().message.find("not a digit") != std::string::npos);

  auto empty = oqs::InsurerNumber::Parse("   ");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message.find("empty") != std::string::npos);
}

TEST_CASE("後期高齢者 被保険者番号 check digit", "[oqs][identifiers]") {
  CHECK(oqs::ValidateLateElderlyInsuredNumber("12345674").ok());
  CHECK_FALSE(oqs::ValidateLateElderlyInsuredNumber("12345670").ok());
  CHECK_FALSE(oqs::ValidateLateElderlyInsuredNumber("1234567").ok());
  CHECK_FALSE(oqs::ValidateLateElderlyInsuredNumber("1234567X").ok());
  CHECK(oqs::ValidateLateElderlyInsuredNumber("12345670").error().reason ==
        "INVALID_INSURED_IDENTIFICATION_NUMBER");
}

TEST_CASE("branch number is exactly two digits", "[oqs][identifiers]") {
  CHECK(oqs::InsuredBranchNumber::Parse("00"));
  CHECK(oqs::InsuredBranchNumber::Parse("01")->digits() == "01");
  CHECK(oqs::InsuredBranchNumber::Parse("０２")->digits() == "02");
  CHECK_FALSE(oqs::InsuredBranchNumber::Parse("1"));
  CHECK_FALSE(oqs::InsuredBranchNumber::Parse("001"));
  CHECK_FALSE(oqs::InsuredBranchNumber::Parse("a1"));
  CHECK(oqs::InsuredBranchNumber::Parse("1").error().reason == "INVALID_INSURED_BRANCH_NUMBER");
}

TEST_CASE("記号/番号 length and comparison after width normalisation", "[oqs][identifiers]") {
  auto a = oqs::InsuredIdentificationNumber::Parse("０００４５６７");
  auto b = oqs::InsuredIdentificationNumber::Parse("4567");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->raw() == "０００４５６７");
  CHECK(a->ComparisonKey() == "4567");
  CHECK(*a == *b);
  CHECK(oqs::InsuranceIdComparisonKey("0000") == "0");
  CHECK_FALSE(*b == *oqs::InsuredIdentificationNumber::Parse("45670"));

  auto s1 = oqs::InsuredCardSymbol::Parse("ＡＢ－１２");
  auto s2 = oqs::InsuredCardSymbol::Parse("AB-12");
  REQUIRE(s1);
  REQUIRE(s2);
  CHECK(*s1 == *s2);
  CHECK(oqs::InsuredCardSymbol::Parse("AB‐12")->ComparisonKey() == "AB-12");  // U+2010

  CHECK(oqs::InsuredCardSymbol::Parse(std::string(20, '9')));
  auto too_long = oqs::InsuredCardSymbol::Parse(std::string(21, '9'));
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().reason == "INVALID_INSURED_CARD_SYMBOL");
  // 20 full-width characters are 60 bytes but 20 characters: allowed.
  std::string twenty_wide;
  for (int i = 0; i < 20; ++i) twenty_wide += "９";
  CHECK(oqs::InsuredIdentificationNumber::Parse(twenty_wide));
  CHECK_FALSE(oqs::InsuredIdentificationNumber::Parse(twenty_wide + "９"));
  CHECK_FALSE(oqs::InsuredIdentificationNumber::Parse(""));
  CHECK_FALSE(oqs::InsuredIdentificationNumber::Parse("12\n3"));
  CHECK_FALSE(oqs::InsuredIdentificationNumber::Parse("\xFF\xFE"));
}

TEST_CASE("NormalizeWidth maps full-width ASCII, 全角 space and half-width kana", "[oqs][identifiers]") {
  CHECK(oqs::NormalizeWidth("ＡＢＣ１２３") == "ABC123");
  CHECK(oqs::NormalizeWidth("診療　太郎") == "診療 太郎");
  CHECK(oqs::NormalizeWidth("ｼﾝﾘｮｳ ﾀﾛｳ") == "シンリョウ タロウ");
  CHECK(oqs::NormalizeWidth("ｶﾞｷﾞﾊﾟｳﾞ") == "ガギパヴ");
  CHECK(oqs::NormalizeWidth("ﾌﾞﾝ") == "ブン");
  CHECK(oqs::NormalizeWidth("plain") == "plain");
  CHECK(oqs::CountCodePoints("ｼﾝﾘｮｳ") == 5u);
  CHECK_FALSE(oqs::CountCodePoints("\xC3"));
}

TEST_CASE("OqsDate accepts real calendar dates only", "[oqs][identifiers]") {
  CHECK(oqs::OqsDate::Parse("20240229"));   // leap year
  CHECK(oqs::OqsDate::Parse("20000229"));   // divisible by 400
  CHECK_FALSE(oqs::OqsDate::Parse("19000229"));  // divisible by 100, not 400
  CHECK_FALSE(oqs::OqsDate::Parse("20230229"));
  CHECK_FALSE(oqs::OqsDate::Parse("20231301"));
  CHECK_FALSE(oqs::OqsDate::Parse("20230431"));
  CHECK_FALSE(oqs::OqsDate::Parse("2023041"));
  CHECK_FALSE(oqs::OqsDate::Parse("2023-4-1"));
  CHECK_FALSE(oqs::OqsDate::Parse("20230400"));
  CHECK(oqs::OqsDate::Parse("2023041").error().reason == "INVALID_DATE");

  auto d = oqs::OqsDate::Parse("20260105");
  REQUIRE(d);
  CHECK(d->ToString() == "20260105");
  CHECK(oqs::OqsDate::FromSysDays(d->ToSysDays()) == *d);
  CHECK(*oqs::OqsDate::Parse("20251231") < *d);
}

TEST_CASE("OqsDateTime is Japan time (UTC+9)", "[oqs][identifiers]") {
  auto t = oqs::OqsDateTime::Parse("20230221174835");
  REQUIRE(t);
  CHECK(t->ToString() == "20230221174835");
  // 2023-02-21 17:48:35 JST = 08:48:35 UTC.
  const auto utc = std::chrono::sys_days{std::chrono::year{2023} / 2 / 21} + 8h + 48min + 35s;
  CHECK(t->ToSystemTime() == utc);
  CHECK(oqs::OqsDateTime::FromSystemTime(utc) == *t);

  // 2026-01-04 20:00 UTC is already 2026-01-05 in Japan.
  const auto evening = std::chrono::sys_days{std::chrono::year{2026} / 1 / 4} + 20h + 500ms;
  CHECK(oqs::OqsDate::JapanDateOf(evening).ToString() == "20260105");
  CHECK(oqs::OqsDateTime::FromSystemTime(evening).ToString() == "20260105050000");
  CHECK(oqs::OqsDate::Parse("20260105")->JapanMidnight() ==
        std::chrono::sys_days{std::chrono::year{2026} / 1 / 4} + 15h);

  CHECK_FALSE(oqs::OqsDateTime::Parse("20230221244835"));
  CHECK_FALSE(oqs::OqsDateTime::Parse("20230221176035"));
  CHECK_FALSE(oqs::OqsDateTime::Parse("20230221174860"));
  CHECK_FALSE(oqs::OqsDateTime::Parse("20230229000000"));
  CHECK_FALSE(oqs::OqsDateTime::Parse("2023022117483"));
  CHECK(oqs::OqsDateTime::Parse("x").error().reason == "INVALID_DATE_TIME");
}

TEST_CASE("ValidateQueryInput accepts a good query", "[oqs][identifiers]") {
  auto q = oqs::ValidateQueryInput(ValidInput());
  REQUIRE(q);
  CHECK(q->insurer_number.WireForm() == "06139992");
  CHECK(q->insured_card_symbol->raw() == "AB-12");
  CHECK(q->insured_branch_number->digits() == "00");
  CHECK(q->birth_date.ToString() == "19800115");
  CHECK(q->limit_certificate_consent);

  auto in = ValidInput();
  in.insured_card_symbol = "";
  in.insured_branch_number = "";
  in.limit_certificate_consent = "";
  auto minimal = oqs::ValidateQueryInput(in);
  REQUIRE(minimal);
  CHECK_FALSE(minimal->insured_card_symbol);
  CHECK_FALSE(minimal->insured_branch_number);
  CHECK_FALSE(minimal->limit_certificate_consent);
}

TEST_CASE("ValidateQueryInput reports every violation at once", "[oqs][identifiers]") {
  oqs::EligibilityQueryInput in;
  in.insurer_number = "123456";                        // bad check digit
  in.insured_card_symbol = std::string(21, 'A');       // too long
  in.insured_identification_number = "";               // missing
  in.insured_branch_number = "1";                      // not 2 digits
  in.birth_date = "20230229";                          // not a date
  in.limit_certificate_consent = "yes";
  auto q = oqs::ValidateQueryInput(in);
  REQUIRE_FALSE(q);
  const auto& e = q.error();
  CHECK(e.reason == "INVALID_QUERY");
  CHECK(e.kind == onshid::core::ErrorKind::kInvalidArgument);
  CHECK_FALSE(e.message_ja.empty());
  CHECK(e.field_violations.size() == 6);
  CHECK(HasViolation(e, "insurer_number"));
  CHECK(HasViolation(e, "insured_card_symbol"));
  CHECK(HasViolation(e, "insured_identification_number"));
  CHECK(HasViolation(e, "insured_branch_number"));
  CHECK(HasViolation(e, "birth_date"));
  CHECK(HasViolation(e, "limit_certificate_consent"));
  for (const auto& v : e.field_violations) {
    // "<日本語> / <English>"
    CHECK(v.description.find(" / ") != std::string::npos);
  }
}

TEST_CASE("ValidateQueryInput: future birth date and 後期高齢者 rules", "[oqs][identifiers]") {
  auto in = ValidInput();
  in.birth_date = "20260106";
  oqs::QueryValidationOptions options;
  options.today = *oqs::OqsDate::Parse("20260105");
  auto future = oqs::ValidateQueryInput(in, options);
  REQUIRE_FALSE(future);
  CHECK(HasViolation(future.error(), "birth_date"));

  auto koki = ValidInput();
  koki.insurer_number = "39131230";
  koki.insured_card_symbol = "";
  koki.insured_branch_number = "";
  koki.insured_identification_number = "12345674";
  CHECK(oqs::ValidateQueryInput(koki));

  koki.insured_identification_number = "12345670";
  koki.insured_card_symbol = "1";
  auto bad = oqs::ValidateQueryInput(koki);
  REQUIRE_FALSE(bad);
  CHECK(HasViolation(bad.error(), "insured_identification_number"));
  CHECK(HasViolation(bad.error(), "insured_card_symbol"));

  options = {};
  options.check_late_elderly_rules = false;
  CHECK(oqs::ValidateQueryInput(koki, options));
}

TEST_CASE("ValidateReferenceNumberInput: the 照会番号 and the identifiers", "[oqs][identifiers]") {
  oqs::ReferenceNumberInput in;
  in.reference_number = "診察券-0042";
  in.insurer_number = "06139992";
  in.insured_card_symbol = "1234";
  in.insured_identification_number = "5678";
  auto ok = oqs::ValidateReferenceNumberInput(in);
  REQUIRE(ok);
  CHECK(ok->reference_number == "診察券-0042");
  CHECK(ok->insurer_number.digits() == "06139992");
  CHECK_FALSE(ok->insured_branch_number);  // unknown 枝番 is omitted

  SECTION("every bad field is named at once") {
    in.reference_number = std::string(51, '9');  // 51 characters
    in.insurer_number = "123456";                 // check digit
    in.insured_identification_number = "";
    auto bad = oqs::ValidateReferenceNumberInput(in);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().reason == "INVALID_REFERENCE_NUMBER_REGISTRATION");
    CHECK(bad.error().field_violations.size() == 3);
    CHECK(HasViolation(bad.error(), "reference_number"));
    CHECK(HasViolation(bad.error(), "insurer_number"));
    CHECK(HasViolation(bad.error(), "insured_identification_number"));
  }
  SECTION("50 characters (counted as characters, not bytes) is the limit; blanks and tabs are not") {
    in.reference_number.clear();
    for (int i = 0; i < 50; ++i) in.reference_number += "番";
    CHECK(oqs::ValidateReferenceNumberInput(in));
    for (const char* bad : {"", "   ", "P-1\t2"}) {
      in.reference_number = bad;
      auto r = oqs::ValidateReferenceNumberInput(in);
      REQUIRE_FALSE(r);
      CHECK(HasViolation(r.error(), "reference_number"));
    }
  }
  SECTION("後期高齢者 rules apply as for queries") {
    in.insurer_number = "39131230";
    in.insured_card_symbol = "12";
    auto r = oqs::ValidateReferenceNumberInput(in);
    REQUIRE_FALSE(r);
    CHECK(HasViolation(r.error(), "insured_card_symbol"));
  }
}

TEST_CASE("every code table value parses to its enum and back", "[oqs][codes]") {
  using V = oqs::QualificationValidity;
  const std::pair<const char*, V> validity[] = {{"1", V::kValid},
                                                {"2", V::kInvalid},
                                                {"3", V::kInvalidNewerExists},
                                                {"4", V::kNoRecord},
                                                {"5", V::kMultiple},
                                                {"6", V::kValidUnregistered}};
  for (const auto& [wire, value] : validity) {
    CHECK(oqs::ParseCode<V>(wire) == value);
    CHECK(oqs::WireOf(value) == wire);
  }
  CHECK_FALSE(oqs::ParseCode<V>("0"));
  CHECK_FALSE(oqs::ParseCode<V>("7"));
  CHECK(oqs::LabelJa(V::kInvalidNewerExists) == "無効（新しい資格あり）");

  CHECK(oqs::ParseCode<oqs::SegmentOfResult>("1") == oqs::SegmentOfResult::kNormal);
  CHECK(oqs::ParseCode<oqs::SegmentOfResult>("2") == oqs::SegmentOfResult::kProcessing);
  CHECK(oqs::ParseCode<oqs::SegmentOfResult>("9") == oqs::SegmentOfResult::kAbnormal);
  CHECK_FALSE(oqs::ParseCode<oqs::SegmentOfResult>("3"));
  CHECK(oqs::ParseCode<oqs::ProcessingResultStatus>("1") == oqs::ProcessingResultStatus::kNormal);
  CHECK(oqs::ParseCode<oqs::ProcessingResultStatus>("2") == oqs::ProcessingResultStatus::kError);
  CHECK(oqs::ParseCode<oqs::CharacterCode>("0") == oqs::CharacterCode::kUtf8);
  CHECK(oqs::ParseCode<oqs::CharacterCode>("1") == oqs::CharacterCode::kShiftJis);
  CHECK_FALSE(oqs::ParseCode<oqs::CharacterCode>("2"));
  CHECK(oqs::ParseCode<oqs::ReferenceClassification>("1") ==
        oqs::ReferenceClassification::kMyNumberCard);
  CHECK(oqs::ParseCode<oqs::ReferenceClassification>("2") ==
        oqs::ReferenceClassification::kInsuranceCardInfo);
  CHECK(oqs::ParseCode<oqs::Sex>("1") == oqs::Sex::kMale);
  CHECK(oqs::ParseCode<oqs::Sex>("2") == oqs::Sex::kFemale);
  CHECK(oqs::ParseCode<oqs::Sex>("3") == oqs::Sex::kUnset);
  CHECK(oqs::ParseCode<oqs::ReasonOfLoss>("01") == oqs::ReasonOfLoss::kDeath);
  CHECK(oqs::ParseCode<oqs::ReasonOfLoss>("02") == oqs::ReasonOfLoss::kPublicAssistanceStarted);
  CHECK(oqs::ParseCode<oqs::ReasonOfLoss>("03") == oqs::ReasonOfLoss::kOtherInsuranceAcquired);
  CHECK(oqs::ParseCode<oqs::ReasonOfLoss>("99") == oqs::ReasonOfLoss::kOther);
  CHECK_FALSE(oqs::ParseCode<oqs::ReasonOfLoss>("1"));
  CHECK(oqs::ParseCode<oqs::PersonalFamily>("1") == oqs::PersonalFamily::kInsuredPerson);
  CHECK(oqs::ParseCode<oqs::PersonalFamily>("2") == oqs::PersonalFamily::kDependent);

  using C = oqs::InsuredCardClassification;
  const std::pair<const char*, C> cards[] = {
      {"01", C::kGeneral},          {"02", C::kRetired},
      {"03", C::kShortTermGeneral}, {"04", C::kShortTermRetired},
      {"05", C::kEligibilityCertificate}, {"06", C::kSpecialRetired},
      {"07", C::kSelfDefenseForces}, {"A1", C::kMedicalAssistance}};
  for (const auto& [wire, value] : cards) CHECK(oqs::ParseCode<C>(wire) == value);
  CHECK(oqs::CodeTable<C>::Entries().size() == 8);

  using F = oqs::LimitClassificationFlag;
  const char* flags[] = {"A01", "A02", "A03", "A04", "A05", "A06", "B01", "B02",
                         "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10"};
  for (const char* wire : flags) {
    auto parsed = oqs::ParseCode<F>(wire);
    REQUIRE(parsed);
    CHECK(oqs::WireOf(*parsed) == wire);
  }
  CHECK(oqs::LabelJa(F::kB09) == "一般Ⅱ");
  CHECK(oqs::LabelJa(F::kA06) == "オ（境）");
  CHECK_FALSE(oqs::ParseCode<F>("B11"));

  CHECK(oqs::ParseCode<oqs::LimitCertificateClassification>("02") ==
        oqs::LimitCertificateClassification::kLimitAndStandardReduction);
  CHECK(oqs::ParseCode<oqs::SpecificDiseaseCategory>("3") ==
        oqs::SpecificDiseaseCategory::kHivFromBloodProducts);
  CHECK(oqs::ParseCode<oqs::LimitCertificateChanged>("1") ==
        oqs::LimitCertificateChanged::kChangedOrUndetermined);
  CHECK(oqs::ParseCode<oqs::PreschoolClassification>("1") ==
        oqs::PreschoolClassification::kPreschool);
  CHECK(oqs::ParseCode<oqs::ConsentStatus>("0") == oqs::ConsentStatus::kNone);
  CHECK(oqs::ParseCode<oqs::ConsentStatus>("1") == oqs::ConsentStatus::kConsented);
  CHECK(oqs::ParseCode<oqs::ConsentStatus>("2") == oqs::ConsentStatus::kExpired);
  CHECK(oqs::ParseCode<oqs::ConsentStatus>("3") == oqs::ConsentStatus::kDifficult);
  CHECK(oqs::ParseCode<oqs::LimitConsentFlag>("1") == oqs::LimitConsentFlag::kConsented);
  CHECK(oqs::ParseCode<oqs::PrescriptionIssueSelect>("1") ==
        oqs::PrescriptionIssueSelect::kElectronic);
  CHECK(oqs::ParseCode<oqs::PrescriptionIssueSelect>("2") == oqs::PrescriptionIssueSelect::kPaper);
  CHECK(oqs::ParseCode<oqs::TicketType>("02") == oqs::TicketType::kDispensingTicket);
  CHECK(oqs::ParseCode<oqs::MedicalTreatmentType>("05") ==
        oqs::MedicalTreatmentType::kHomeNursing);
  CHECK(oqs::ParseCode<oqs::SingleOrCombinedUse>("02") == oqs::SingleOrCombinedUse::kCombined);
  CHECK(oqs::ParseCode<oqs::Presence>("01") == oqs::Presence::kPresent);
  CHECK(oqs::ParseCode<oqs::Presence>("02") == oqs::Presence::kAbsent);
  CHECK(oqs::ParseCode<oqs::ConsistencyFlag>("1") == oqs::ConsistencyFlag::kInconsistent);
  CHECK(oqs::ParseCode<oqs::DesignatedInstitutionMatch>("1") ==
        oqs::DesignatedInstitutionMatch::kMismatch);

  // Every table round-trips and has distinct wire values.
  auto round_trips = [](auto tag) {
    using E = decltype(tag);
    const auto entries = oqs::CodeTable<E>::Entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      CHECK(oqs::ParseCode<E>(entries[i].wire) == entries[i].value);
      CHECK_FALSE(entries[i].label_ja.empty());
      for (std::size_t j = i + 1; j < entries.size(); ++j) CHECK(entries[i].wire != entries[j].wire);
    }
  };
  round_trips(oqs::LimitConsentFlag{});
  round_trips(oqs::ReferenceClassification{});
  round_trips(oqs::SegmentOfResult{});
  round_trips(oqs::ProcessingResultStatus{});
  round_trips(oqs::CharacterCode{});
  round_trips(oqs::QualificationValidity{});
  round_trips(oqs::Sex{});
  round_trips(oqs::ReasonOfLoss{});
  round_trips(oqs::PersonalFamily{});
  round_trips(oqs::InsuredCardClassification{});
  round_trips(oqs::LimitCertificateClassification{});
  round_trips(oqs::LimitClassificationFlag{});
  round_trips(oqs::SpecificDiseaseCategory{});
  round_trips(oqs::LimitCertificateChanged{});
  round_trips(oqs::PreschoolClassification{});
  round_trips(oqs::ConsentStatus{});
  round_trips(oqs::PrescriptionIssueSelect{});
  round_trips(oqs::TicketType{});
  round_trips(oqs::MedicalTreatmentType{});
  round_trips(oqs::SingleOrCombinedUse{});
  round_trips(oqs::Presence{});
  round_trips(oqs::ConsistencyFlag{});
  round_trips(oqs::DesignatedInstitutionMatch{});
}
