#include "core/oqs/query.h"

namespace onshid::core::oqs {
namespace {

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t') return false;
  }
  return true;
}

std::string Describe(std::string_view ja, std::string_view en) {
  return std::string(ja) + " / " + std::string(en);
}

// The insurance identifiers shared by the query and the 照会番号 registration, validated into
// `ids`; every problem is appended to `violations` under the field's API name.
struct ValidatedIds {
  std::optional<InsurerNumber> insurer;
  std::optional<InsuredCardSymbol> symbol;
  std::optional<InsuredIdentificationNumber> number;
  std::optional<InsuredBranchNumber> branch;
};

ValidatedIds ValidateInsuranceIds(std::string_view insurer_number, std::string_view card_symbol,
                                  std::string_view identification_number,
                                  std::string_view branch_number,
                                  const QueryValidationOptions& options,
                                  std::vector<FieldViolation>& violations) {
  auto add = [&](const char* field, const DomainError& error) {
    violations.push_back({field, Describe(error.message_ja, error.message)});
  };
  ValidatedIds ids;
  if (auto insurer = InsurerNumber::Parse(insurer_number)) {
    ids.insurer = std::move(insurer).value();
  } else {
    add("insurer_number", insurer.error());
  }
  if (!IsBlank(card_symbol)) {
    if (auto parsed = InsuredCardSymbol::Parse(card_symbol)) {
      ids.symbol = std::move(parsed).value();
    } else {
      add("insured_card_symbol", parsed.error());
    }
  }
  if (auto number = InsuredIdentificationNumber::Parse(identification_number)) {
    ids.number = std::move(number).value();
  } else {
    add("insured_identification_number", number.error());
  }
  if (!IsBlank(branch_number)) {
    if (auto parsed = InsuredBranchNumber::Parse(branch_number)) {
      ids.branch = std::move(parsed).value();
    } else {
      add("insured_branch_number", parsed.error());
    }
  }
  if (options.check_late_elderly_rules && ids.insurer && ids.insurer->IsLateElderly()) {
    if (ids.symbol) {
      violations.push_back({"insured_card_symbol",
                            Describe("後期高齢者医療の被保険者証に記号はありません。",
                                     "後期高齢者 cards have no symbol (記号)")});
    }
    if (ids.number) {
      const std::string key = NormalizeWidth(identification_number);
      std::string_view trimmed = key;
      while (!trimmed.empty() && trimmed.front() == ' ') trimmed.remove_prefix(1);
      while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
      if (auto status = ValidateLateElderlyInsuredNumber(trimmed); !status) {
        add("insured_identification_number", status.error());
      }
    }
  }
  return ids;
}

}  // namespace

Result<EligibilityQuery> ValidateQueryInput(const EligibilityQueryInput& input,
                                            const QueryValidationOptions& options) {
  std::vector<FieldViolation> violations;
  ValidatedIds ids = ValidateInsuranceIds(input.insurer_number, input.insured_card_symbol,
                                          input.insured_identification_number,
                                          input.insured_branch_number, options, violations);

  auto birth = OqsDate::Parse(input.birth_date);
  if (!birth) {
    violations.push_back(
        {"birth_date", Describe(birth.error().message_ja, birth.error().message)});
  } else if (options.today && *birth > *options.today) {
    violations.push_back({"birth_date", Describe("生年月日が未来の日付です。",
                                                 "birth date is after today (Japan time)")});
  }

  bool consent = false;
  if (input.limit_certificate_consent == "1") {
    consent = true;
  } else if (!input.limit_certificate_consent.empty() && input.limit_certificate_consent != "0") {
    violations.push_back({"limit_certificate_consent",
                          Describe("限度額適用認定証の提供同意は 0（未同意）または 1（同意）です。",
                                   "limit certificate consent must be \"0\" or \"1\"")});
  }

  if (input.arbitrary_identifier.find_first_of("\r\n\t") != std::string::npos ||
      !CountCodePoints(input.arbitrary_identifier)) {
    violations.push_back({"arbitrary_identifier",
                          Describe("任意の識別子に使用できない文字が含まれています。",
                                   "arbitrary identifier has control characters or invalid UTF-8")});
  }

  if (!violations.empty()) {
    return InvalidArgument("INVALID_QUERY",
                           "eligibility query has " + std::to_string(violations.size()) +
                               " invalid field(s)",
                           "入力内容に誤りがあります。保険証（資格確認書）の記載を確認してください。",
                           std::move(violations));
  }
  EligibilityQuery query{*std::move(ids.insurer), std::move(ids.symbol), *std::move(ids.number),
                         std::move(ids.branch),   birth.value(),          consent,
                         std::nullopt};
  if (!input.arbitrary_identifier.empty()) query.arbitrary_identifier = input.arbitrary_identifier;
  return query;
}

Result<ReferenceNumberRegistration> ValidateReferenceNumberInput(
    const ReferenceNumberInput& input, const QueryValidationOptions& options) {
  std::vector<FieldViolation> violations;
  const auto length = CountCodePoints(input.reference_number);
  if (!length || *length == 0 || *length > 50 || IsBlank(input.reference_number) ||
      input.reference_number.find_first_of("\r\n\t") != std::string::npos) {
    violations.push_back({"reference_number",
                          Describe("照会番号（診察券番号など）は1〜50文字で指定してください。",
                                   "reference number must be 1-50 characters of valid UTF-8 "
                                   "without control characters")});
  }
  ValidatedIds ids = ValidateInsuranceIds(input.insurer_number, input.insured_card_symbol,
                                          input.insured_identification_number,
                                          input.insured_branch_number, options, violations);
  if (!violations.empty()) {
    return InvalidArgument("INVALID_REFERENCE_NUMBER_REGISTRATION",
                           "reference number registration has " +
                               std::to_string(violations.size()) + " invalid field(s)",
                           "入力内容に誤りがあります。照会番号と保険証（資格確認書）の記載を確認してください。",
                           std::move(violations));
  }
  return ReferenceNumberRegistration{input.reference_number, *std::move(ids.insurer),
                                     std::move(ids.symbol), *std::move(ids.number),
                                     std::move(ids.branch)};
}

}  // namespace onshid::core::oqs
