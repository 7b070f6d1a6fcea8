#pragma once
// The individual eligibility query (OQSsiquc01req, OQS-INTERFACE.md §4.1) and the
// 照会番号登録 (OQSsiimm01req, §4.4), as validated domain values.
//
// Pure: the standard library only.

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/oqs/identifiers.h"

namespace onshid::core::oqs {

// What a client sends, as text. Empty optional strings mean "not given".
struct EligibilityQueryInput {
  std::string insurer_number;                       // 保険者番号, 6 or 8 digits (spaces allowed)
  std::string insured_card_symbol;                  // 記号; empty when the card has none
  std::string insured_identification_number;        // 番号
  std::string insured_branch_number;                // 枝番; empty when unknown
  std::string birth_date;                           // 生年月日 yyyyMMdd
  // 限度額適用認定証提供同意フラグ: "0" 未同意 or "1" 同意 (OQSCD001). Empty means "0".
  std::string limit_certificate_consent;
  std::string arbitrary_identifier;                 // 任意の識別子; optional, echoed back
};

// A query whose every field passed ValidateQueryInput.
struct EligibilityQuery {
  InsurerNumber insurer_number;
  std::optional<InsuredCardSymbol> insured_card_symbol;
  InsuredIdentificationNumber insured_identification_number;
  std::optional<InsuredBranchNumber> insured_branch_number;
  OqsDate birth_date;
  bool limit_certificate_consent = false;
  std::optional<std::string> arbitrary_identifier;
};

struct QueryValidationOptions {
  // Today in Japan; when set, a birth date after it is a violation.
  std::optional<OqsDate> today;
  // 後期高齢者 (法別 39) rules from the レセ電 checks (§7.1, §7.3; confidence M): 番号 is 8 digits
  // with a check digit, and there is no 記号. Switch off if a terminal disagrees.
  bool check_late_elderly_rules = true;
};

// Validates a whole query and reports every violation at once.
// Error: reason INVALID_QUERY, kind kInvalidArgument, one FieldViolation per problem with field
// names `insurer_number`, `insured_card_symbol`, `insured_identification_number`,
// `insured_branch_number`, `birth_date`, `limit_certificate_consent`, `arbitrary_identifier`;
// each description is "<日本語> / <English>". message_ja tells reception staff to check the card.
// Values are never copied into the error.
Result<EligibilityQuery> ValidateQueryInput(const EligibilityQueryInput& input,
                                            const QueryValidationOptions& options = {});

// 照会番号登録 (OQSsiimm01req body, §4.4).
struct ReferenceNumberRegistration {
  std::string reference_number;  // 照会番号 (e.g. 診察券番号), 1–50 characters
  InsurerNumber insurer_number;
  std::optional<InsuredCardSymbol> insured_card_symbol;
  InsuredIdentificationNumber insured_identification_number;
  std::optional<InsuredBranchNumber> insured_branch_number;  // omitted when unknown
};

// What a client sends to register a 照会番号, as text. Empty strings mean "not given".
struct ReferenceNumberInput {
  std::string reference_number;               // 照会番号: the vendor's patient id / 診察券番号
  std::string insurer_number;                 // 保険者番号
  std::string insured_card_symbol;            // 記号; empty when the card has none
  std::string insured_identification_number;  // 番号
  std::string insured_branch_number;          // 枝番; empty when unknown
};

// Validates a registration and reports every violation at once (the identifier rules are those of
// ValidateQueryInput; `options.today` is not used).
// Error: reason INVALID_REFERENCE_NUMBER_REGISTRATION, kind kInvalidArgument, FieldViolations named
// `reference_number` (1–50 characters, no control characters), `insurer_number`,
// `insured_card_symbol`, `insured_identification_number`, `insured_branch_number`. Values are never
// copied into the error.
Result<ReferenceNumberRegistration> ValidateReferenceNumberInput(
    const ReferenceNumberInput& input, const QueryValidationOptions& options = {});

}  // namespace onshid::core::oqs
