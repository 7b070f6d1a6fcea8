#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/checkin/changes.h"

namespace {

using namespace onshid::core::checkin;
namespace oqs = onshid::core::oqs;

template <typename E>
oqs::CodeValue<E> C(std::string raw) {
  return oqs::CodeValue<E>{raw, oqs::ParseCode<E>(raw)};
}

oqs::EligibilityResult Base(std::string validity = "1") {
  oqs::EligibilityResult r;
  r.header.segment_of_result = C<oqs::SegmentOfResult>("1");
  r.processing_result_status = C<oqs::ProcessingResultStatus>("1");
  r.qualification_validity = C<oqs::QualificationValidity>(validity);
  oqs::Qualification q;
  q.insurer_number = oqs::InsurerNumberValue{"06132013", std::nullopt};
  q.insured_card_symbol = "１２３";
  q.insured_identification_number = "４５６７";
  q.insured_branch_number = "01";
  q.personal_family_classification = C<oqs::PersonalFamily>("1");
  q.insured_partial_contribution_ratio = "030";
  q.name = "山田　太郎";
  q.name_kana = "ﾔﾏﾀﾞ ﾀﾛｳ";
  q.address = "東京都千代田区１－１";
  q.post_number = "100-0001";
  r.results.push_back(q);
  return r;
}

std::vector<ChangedField> Fields(const std::vector<FieldChange>& changes) {
  std::vector<ChangedField> f;
  for (const auto& c : changes) f.push_back(c.field);
  return f;
}

}  // namespace

TEST_CASE("checkin: change detection field by field", "[checkin]") {
  struct Row {
    ChangedField field;
    std::function<void(oqs::Qualification&)> edit;
    std::string old_value;
    std::string new_value;
  };
  const std::vector<Row> rows = {
      {ChangedField::kInsurer,
       [](auto& q) { q.insurer_number = oqs::InsurerNumberValue{"01130012", std::nullopt}; },
       "06132013", "01130012"},
      {ChangedField::kInsuredSymbol, [](auto& q) { q.insured_card_symbol = "９９９"; }, "１２３",
       "９９９"},
      {ChangedField::kInsuredNumber, [](auto& q) { q.insured_identification_number = "８"; },
       "４５６７", "８"},
      {ChangedField::kInsuredBranch, [](auto& q) { q.insured_branch_number = "02"; }, "01", "02"},
      {ChangedField::kPersonalFamily,
       [](auto& q) { q.personal_family_classification = C<oqs::PersonalFamily>("2"); }, "1",
       "2"},
      {ChangedField::kBurdenRatio, [](auto& q) { q.insured_partial_contribution_ratio = "020"; },
       "30", "20"},
      {ChangedField::kElderlyCategory,
       [](auto& q) {
         q.elderly_recipient_certificate = oqs::ElderlyRecipientCertificate{};
         q.elderly_recipient_certificate->contribution_ratio = "020";
       },
       "", "20"},
      {ChangedField::kLimitCategory,
       [](auto& q) {
         q.limit_application_certificate = oqs::LimitApplicationCertificate{};
         q.limit_application_certificate->classification_flag =
             C<oqs::LimitClassificationFlag>("A03");
       },
       "", "A03"},
      {ChangedField::kAddress, [](auto& q) { q.address = "大阪府大阪市北区２－２"; },
       "東京都千代田区１－１", "大阪府大阪市北区２－２"},
      {ChangedField::kPostNumber, [](auto& q) { q.post_number = "530-0001"; }, "100-0001",
       "530-0001"},
      {ChangedField::kName, [](auto& q) { q.name = "佐藤　太郎"; }, "山田　太郎", "佐藤　太郎"},
      {ChangedField::kNameKana, [](auto& q) { q.name_kana = "ｻﾄｳ ﾀﾛｳ"; }, "ﾔﾏﾀﾞ ﾀﾛｳ",
       "ｻﾄｳ ﾀﾛｳ"},
  };
  for (const auto& row : rows) {
    INFO(FieldName(row.field));
    auto now = Base();
    row.edit(now.results.front());
    const auto changes = DetectChanges(Base(), now);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].field == row.field);
    CHECK(changes[0].old_value == row.old_value);
    CHECK(changes[0].new_value == row.new_value);
  }
}

TEST_CASE("checkin: no change when only padding or ratio spelling differ", "[checkin]") {
  auto now = Base();
  now.results[0].insurer_number = oqs::InsurerNumberValue{"  06132013", std::nullopt};
  now.results[0].insured_partial_contribution_ratio = "30";
  now.results[0].address = "東京都千代田区１－１　";
  CHECK(DetectChanges(Base(), now).empty());
  CHECK(DetectChanges(Base(), Base()).empty());
}

TEST_CASE("checkin: eligibility lost and unknowns", "[checkin]") {
  // 資格有効性 2 with the 旧資格 still shown: a loss, fields compared too.
  auto invalid = Base("2");
  invalid.results[0].address = "新住所";
  const auto c2 = DetectChanges(Base(), invalid);
  CHECK(Fields(c2) == std::vector<ChangedField>{ChangedField::kAddress,
                                                ChangedField::kEligibilityLost});
  CHECK(c2.back().old_value == "VALID");
  CHECK(c2.back().new_value == "INVALID");

  auto none = Base("4");
  none.results.clear();
  const auto c4 = DetectChanges(Base(), none);
  REQUIRE(c4.size() == 1);
  CHECK(c4[0].field == ChangedField::kEligibilityLost);
  CHECK(c4[0].new_value == "NO_RECORD");

  auto newer = Base("3");
  CHECK(Fields(DetectChanges(Base(), newer)) ==
        std::vector<ChangedField>{ChangedField::kEligibilityLost});

  auto disqualified = Base();
  disqualified.results[0].disqualification_date = oqs::DateValue{"20260315", std::nullopt};
  const auto cd = DetectChanges(Base(), disqualified);
  REQUIRE(cd.size() == 1);
  CHECK(cd[0].new_value == "DISQUALIFIED 20260315");

  // Several matches or an abnormal result: unknown, nothing reported.
  auto multiple = Base("5");
  multiple.results.push_back(multiple.results[0]);
  CHECK(DetectChanges(Base(), multiple).empty());
  auto abnormal = Base();
  abnormal.header.segment_of_result = C<oqs::SegmentOfResult>("3");
  CHECK(DetectChanges(Base(), abnormal).empty());
  // No baseline.
  CHECK(DetectChanges(Base("2"), Base()).empty());
  CHECK(FieldName(ChangedField::kEligibilityLost) == "eligibility");
}
