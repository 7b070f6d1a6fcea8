#pragma once
// Changes since the last verified visit (DOMAIN.md §6; seed 004: address changes go unnoticed).
//
// Compares the qualification of the last verified visit with the one of now, field by field, so
// the レセコン can prompt staff. Pure: the standard library only.

#include <string>
#include <string_view>
#include <vector>

#include "core/oqs/eligibility.h"

namespace onshid::core::checkin {

enum class ChangedField {
  kInsurer,            // 保険者番号
  kInsuredSymbol,      // 記号
  kInsuredNumber,      // 番号
  kInsuredBranch,      // 枝番
  kPersonalFamily,     // 本人・家族の別
  kBurdenRatio,        // 一部負担金割合
  kElderlyCategory,    // 高齢受給者 負担割合
  kLimitCategory,      // 限度額適用 適用区分
  kAddress,            // 住所
  kPostNumber,         // 郵便番号
  kName,               // 氏名
  kNameKana,           // 氏名カナ
  kEligibilityLost,    // 資格喪失 / 無効
};
// Stable snake_case field name: "insurer_number", "insured_card_symbol", …
std::string_view FieldName(ChangedField field);

// One change. Values are the normalised texts (trimmed of ASCII and 全角 spaces at the ends;
// codes as their wire text, e.g. "1" 本人 / "2" 家族; ratios as percent, e.g. "30"; validity as
// "VALID" / "INVALID" / "INVALID_NEWER_EXISTS" / "NO_RECORD"); empty when absent.
// Contains personal data: never log the values.
struct FieldChange {
  ChangedField field = ChangedField::kInsurer;
  std::string old_value;
  std::string new_value;
};

// The changes from `last_verified` (the result of the last VERIFIED visit) to `now`.
//  - Nothing is compared when `last_verified` has no single valid qualification (資格有効性 1 or
//    6 with one result): there is no baseline.
//  - kEligibilityLost when `now` has 資格有効性 2, 3 or 4, or its qualification carries a
//    資格喪失年月日 that the old one did not. 5 (several) and abnormal/processing-error results
//    are not a loss (unknown), and yield no changes at all.
//  - The other fields are compared when `now` carries exactly one qualification (for 2/3 this is
//    usually the 旧資格). A field absent on both sides is no change.
// The order follows ChangedField.
std::vector<FieldChange> DetectChanges(const oqs::EligibilityResult& last_verified,
                                       const oqs::EligibilityResult& now);

}  // namespace onshid::core::checkin
