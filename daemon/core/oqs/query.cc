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

}  // namespace

Result<EligibilityQuery> ValidateQueryInput(const EligibilityQueryInput& input,
                                            const QueryValidationOptions& options) {
  std::vector<FieldViolation> violations;
  auto add = [&](const char* field, const DomainError& error) {
    violations.push_back({field, Describe(error.message_ja, error.message)});
  };

  auto insurer = InsurerNumber::Parse(input.insurer_number);
  if (!insurer) add("insurer_number", insurer.error());

  std::optional<InsuredCardSymbol> symbol;
  if (!IsBlank(input.insured_card_symbol)) {
    auto parsed = InsuredCardSymbol::Parse(input.insured_card_symbol);
    if (parsed) {
      symbol = std::move(parsed).value();
    } else {
      add("insured_card_symbol", parsed.error());
    }
  }

  auto number = InsuredIdentificationNumber::Parse(input.insured_identification_number);
  if (!number) add("insured_identification_number", number.error());

  std::optional<InsuredBranchNumber> branch;
  if (!IsBlank(input.insured_branch_number)) {
    auto parsed = InsuredBranchNumber::Parse(input.insured_branch_number);
    if (parsed) {
      branch = std::move(parsed).value();
    } else {
      add("insured_branch_number", parsed.error());
    }
  }

  auto birth = OqsDate::Parse(input.birth_date);
  if (!birth) {
    add("birth_date", birth.error());
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

  if (options.check_late_elderly_rules && insurer && insurer->IsLateElderly()) {
    if (symbol) {
      violations.push_back({"insured_card_symbol",
                            Describe("後期高齢者医療の被保険者証に記号はありません。",
                                     "後期高齢者 cards have no symbol (記号)")});
    }
    if (number) {
      const std::string key = NormalizeWidth(input.insured_identification_number);
      const std::string_view trimmed = [&] {
        std::string_view s = key;
        while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
        while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
        return s;
      }();
      if (auto status = ValidateLateElderlyInsuredNumber(trimmed); !status) {
        add("insured_identification_number", status.error());
      }
    }
  }

  if (!violations.empty()) {
    return InvalidArgument("INVALID_QUERY",
                           "eligibility query has " + std::to_string(violations.size()) +
                               " invalid field(s)",
                           "入力内容に誤りがあります。保険証（資格確認書）の記載を確認してください。",
                           std::move(violations));
  }
  EligibilityQuery query{std::move(insurer).value(),
                         std::move(symbol),
                         std::move(number).value(),
                         std::move(branch),
                         birth.value(),
                         consent,
                         std::nullopt};
  if (!input.arbitrary_identifier.empty()) query.arbitrary_identifier = input.arbitrary_identifier;
  return query;
}

}  // namespace onshid::core::oqs
