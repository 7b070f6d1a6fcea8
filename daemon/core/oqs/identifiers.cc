#include "core/oqs/identifiers.h"

#include <array>
#include <cstdint>

namespace onshid::core::oqs {
namespace {

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

bool AllAsciiDigits(std::string_view s) {
  for (char c : s) {
    if (!IsAsciiDigit(c)) return false;
  }
  return !s.empty();
}

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i, or nullopt (i
// unchanged) when the bytes are not a valid, shortest-form sequence.
std::optional<char32_t> DecodeUtf8(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) return std::nullopt;
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += static_cast<std::size_t>(len);
  return cp;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Half-width katakana U+FF61..U+FF9F → their NFKC (full-width) code points.
constexpr std::array<char16_t, 0x3F> kHalfWidthKana = {
    0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9,
    0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB,
    0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1,
    0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5,
    0x30D8, 0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9,
    0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3, 0x3099, 0x309A};

// The voiced (濁点) form of a full-width katakana, or 0.
char32_t Voiced(char32_t k) {
  if ((k >= 0x30AB && k <= 0x30C2 && (k % 2) == 1) || k == 0x30C4 || k == 0x30C6 || k == 0x30C8) {
    return k + 1;
  }
  if (k >= 0x30CF && k <= 0x30DB && (k - 0x30CF) % 3 == 0) return k + 1;
  if (k == 0x30A6) return 0x30F4;
  if (k == 0x30EF) return 0x30F7;
  if (k == 0x30F2) return 0x30FA;
  return 0;
}

// The semi-voiced (半濁点) form of a full-width katakana, or 0.
char32_t SemiVoiced(char32_t k) {
  if (k >= 0x30CF && k <= 0x30DB && (k - 0x30CF) % 3 == 0) return k + 2;
  return 0;
}

std::string_view TrimSpaces(std::string_view s) {
  // ASCII space/tab and U+3000 (E3 80 80) on both ends.
  while (true) {
    if (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
      s.remove_prefix(1);
    } else if (s.starts_with("\xE3\x80\x80")) {
      s.remove_prefix(3);
    } else {
      break;
    }
  }
  while (true) {
    if (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
      s.remove_suffix(1);
    } else if (s.ends_with("\xE3\x80\x80")) {
      s.remove_suffix(3);
    } else {
      break;
    }
  }
  return s;
}

bool HasControlCharacter(std::string_view s) {
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) return true;
  }
  return false;
}

DomainError IdError(std::string reason, std::string message, std::string message_ja) {
  return InvalidArgument(std::move(reason), std::move(message), std::move(message_ja));
}

// Shared checks of 記号 and 番号; `what` names the field in messages.
std::optional<DomainError> CheckInsuranceId(std::string_view raw, const std::string& reason,
                                            std::string_view what, std::string_view what_ja) {
  const std::string_view trimmed = TrimSpaces(raw);
  if (trimmed.empty()) {
    return IdError(reason, std::string(what) + " is empty",
                   std::string(what_ja) + "が入力されていません。");
  }
  const auto length = CountCodePoints(trimmed);
  if (!length) {
    return IdError(reason, std::string(what) + " is not valid UTF-8",
                   std::string(what_ja) + "に読み取れない文字が含まれています。");
  }
  if (*length > InsuredCardSymbol::kMaxLength) {
    return IdError(reason,
                   std::string(what) + " has " + std::to_string(*length) +
                       " characters; at most 20 are allowed",
                   std::string(what_ja) + "は20文字以内で入力してください。");
  }
  if (HasControlCharacter(trimmed)) {
    return IdError(reason, std::string(what) + " contains a control character",
                   std::string(what_ja) + "に使用できない文字が含まれています。");
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::optional<int> ComputeCheckDigit(std::string_view body) {
  if (!AllAsciiDigits(body)) return std::nullopt;
  int sum = 0;
  bool weight_two = true;  // the rightmost digit is multiplied by 2
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int product = (*it - '0') * (weight_two ? 2 : 1);
    sum += product / 10 + product % 10;
    weight_two = !weight_two;
  }
  return (10 - sum % 10) % 10;
}

bool HasValidCheckDigit(std::string_view digits) {
  if (digits.size() < 2 || !AllAsciiDigits(digits)) return false;
  const auto expected = ComputeCheckDigit(digits.substr(0, digits.size() - 1));
  return expected && *expected == digits.back() - '0';
}

// ---------------------------------------------------------------------------------------------

Result<InsurerNumber> InsurerNumber::Parse(std::string_view raw) {
  const std::string reason = "INVALID_INSURER_NUMBER";
  const std::string digits_text = NormalizeWidth(TrimSpaces(raw));
  std::string_view digits = digits_text;
  while (!digits.empty() && digits.front() == ' ') digits.remove_prefix(1);
  if (digits.empty()) {
    return IdError(reason, "insurer number is empty", "保険者番号が入力されていません。");
  }
  for (char c : digits) {
    if (!IsAsciiDigit(c)) {
      return IdError(reason, "insurer number contains a character that is not a digit",
                     "保険者番号は数字で入力してください。");
    }
  }
  if (digits.size() == 8 && digits.starts_with("00")) digits.remove_prefix(2);
  if (digits.size() != 6 && digits.size() != 8) {
    return IdError(reason,
                   "insurer number has " + std::to_string(digits.size()) +
                       " digits; it must have 6 (国保) or 8",
                   "保険者番号の桁数が正しくありません（6桁または8桁）。");
  }
  if (!HasValidCheckDigit(digits)) {
    return IdError(reason, "insurer number check digit (検証番号) does not match",
                   "保険者番号が正しくありません（検証番号が一致しません）。保険証の番号を確認してください。");
  }
  return InsurerNumber(std::string(raw), std::string(digits));
}

std::string InsurerNumber::WireForm() const {
  if (digits_.size() >= 8) return digits_;
  return std::string(8 - digits_.size(), ' ') + digits_;
}

std::string_view InsurerNumber::LawCode() const {
  if (digits_.size() != 8) return {};
  return std::string_view(digits_).substr(0, 2);
}

Status ValidateLateElderlyInsuredNumber(std::string_view digits) {
  const std::string reason = "INVALID_INSURED_IDENTIFICATION_NUMBER";
  if (digits.size() != 8 || !AllAsciiDigits(digits)) {
    return IdError(reason, "後期高齢者 insured number must be 8 digits",
                   "後期高齢者医療の被保険者番号は8桁の数字です。");
  }
  if (!HasValidCheckDigit(digits)) {
    return IdError(reason, "後期高齢者 insured number check digit does not match",
                   "被保険者番号が正しくありません（検証番号が一致しません）。");
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------

std::optional<std::size_t> CountCodePoints(std::string_view utf8) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    if (!DecodeUtf8(utf8, i)) return std::nullopt;
    ++count;
  }
  return count;
}

std::string NormalizeWidth(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  char32_t last = 0;            // last code point written, for kana composition
  std::size_t last_start = 0;   // where it starts in `out`
  for (std::size_t i = 0; i < utf8.size();) {
    const auto decoded = DecodeUtf8(utf8, i);
    if (!decoded) {
      out.push_back(utf8[i]);
      ++i;
      last = 0;
      continue;
    }
    char32_t cp = *decoded;
    if (cp >= 0xFF01 && cp <= 0xFF5E) {
      cp -= 0xFEE0;
    } else if (cp == 0x3000) {
      cp = U' ';
    } else if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212) {
      cp = U'-';
    } else if (cp >= 0xFF61 && cp <= 0xFF9F) {
      cp = kHalfWidthKana[cp - 0xFF61];
      if (cp == 0x3099 || cp == 0x309A) {
        const char32_t composed = cp == 0x3099 ? Voiced(last) : SemiVoiced(last);
        if (composed != 0) {
          out.resize(last_start);
          AppendUtf8(out, composed);
          last = composed;
          continue;
        }
      }
    }
    last_start = out.size();
    AppendUtf8(out, cp);
    last = cp;
  }
  return out;
}

std::string InsuranceIdComparisonKey(std::string_view raw) {
  const std::string normalized = NormalizeWidth(raw);
  std::string_view key = TrimSpaces(normalized);
  while (key.size() > 1 && key.front() == '0') key.remove_prefix(1);
  return std::string(key);
}

Result<InsuredCardSymbol> InsuredCardSymbol::Parse(std::string_view raw) {
  if (auto error = CheckInsuranceId(raw, "INVALID_INSURED_CARD_SYMBOL", "insured card symbol (記号)",
                                    "被保険者証の記号")) {
    return *std::move(error);
  }
  return InsuredCardSymbol(std::string(raw), InsuranceIdComparisonKey(raw));
}

Result<InsuredIdentificationNumber> InsuredIdentificationNumber::Parse(std::string_view raw) {
  if (auto error = CheckInsuranceId(raw, "INVALID_INSURED_IDENTIFICATION_NUMBER",
                                    "insured identification number (番号)", "被保険者証の番号")) {
    return *std::move(error);
  }
  return InsuredIdentificationNumber(std::string(raw), InsuranceIdComparisonKey(raw));
}

Result<InsuredBranchNumber> InsuredBranchNumber::Parse(std::string_view raw) {
  const std::string normalized = NormalizeWidth(TrimSpaces(raw));
  if (normalized.size() != 2 || !AllAsciiDigits(normalized)) {
    return IdError("INVALID_INSURED_BRANCH_NUMBER", "insured branch number (枝番) must be 2 digits",
                   "枝番は2桁の数字で入力してください（例: 00、01）。");
  }
  return InsuredBranchNumber(std::string(raw), normalized);
}

// ---------------------------------------------------------------------------------------------

namespace {

int DigitsValue(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::optional<std::chrono::year_month_day> ParseYmd(std::string_view s) {
  if (s.size() != 8 || !AllAsciiDigits(s)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{DigitsValue(s.substr(0, 4))},
                                        std::chrono::month{static_cast<unsigned>(DigitsValue(s.substr(4, 2)))},
                                        std::chrono::day{static_cast<unsigned>(DigitsValue(s.substr(6, 2)))}};
  if (!ymd.ok() || ymd.year() < std::chrono::year{1000}) return std::nullopt;
  return ymd;
}

void AppendPadded(std::string& out, int value, int width) {
  std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) < width) {
    out.append(static_cast<std::size_t>(width) - digits.size(), '0');
  }
  out += digits;
}

}  // namespace

Result<OqsDate> OqsDate::Parse(std::string_view raw) {
  const auto ymd = ParseYmd(raw);
  if (!ymd) {
    return IdError("INVALID_DATE", "date must be a calendar date written yyyyMMdd",
                   "日付が正しくありません（西暦8桁 yyyyMMdd）。");
  }
  return OqsDate(*ymd);
}

OqsDate OqsDate::FromSysDays(std::chrono::sys_days days) {
  return OqsDate(std::chrono::year_month_day{days});
}

OqsDate OqsDate::JapanDateOf(std::chrono::system_clock::time_point t) {
  const auto japan = t + kJapanUtcOffset;
  return FromSysDays(std::chrono::floor<std::chrono::days>(japan));
}

std::string OqsDate::ToString() const {
  std::string out;
  AppendPadded(out, static_cast<int>(ymd_.year()), 4);
  AppendPadded(out, static_cast<int>(static_cast<unsigned>(ymd_.month())), 2);
  AppendPadded(out, static_cast<int>(static_cast<unsigned>(ymd_.day())), 2);
  return out;
}

std::chrono::system_clock::time_point OqsDate::JapanMidnight() const {
  return std::chrono::system_clock::time_point{ToSysDays()} - kJapanUtcOffset;
}

Result<OqsDateTime> OqsDateTime::Parse(std::string_view raw) {
  auto error = [] {
    return IdError("INVALID_DATE_TIME", "date-time must be written yyyyMMddHHmmss",
                   "日時が正しくありません（西暦14桁 yyyyMMddHHmmss）。");
  };
  if (raw.size() != 14 || !AllAsciiDigits(raw)) return error();
  const auto ymd = ParseYmd(raw.substr(0, 8));
  const int hour = DigitsValue(raw.substr(8, 2));
  const int minute = DigitsValue(raw.substr(10, 2));
  const int second = DigitsValue(raw.substr(12, 2));
  if (!ymd || hour > 23 || minute > 59 || second > 59) return error();
  return OqsDateTime(OqsDate::FromSysDays(std::chrono::sys_days{*ymd}),
                     hour * 3600 + minute * 60 + second);
}

OqsDateTime OqsDateTime::FromSystemTime(std::chrono::system_clock::time_point t) {
  const auto japan = std::chrono::floor<std::chrono::seconds>(t + kJapanUtcOffset);
  const auto day = std::chrono::floor<std::chrono::days>(japan);
  return OqsDateTime(OqsDate::FromSysDays(day), static_cast<int>((japan - day).count()));
}

std::chrono::system_clock::time_point OqsDateTime::ToSystemTime() const {
  return date_.JapanMidnight() + std::chrono::seconds{seconds_of_day_};
}

std::string OqsDateTime::ToString() const {
  std::string out = date_.ToString();
  AppendPadded(out, seconds_of_day_ / 3600, 2);
  AppendPadded(out, (seconds_of_day_ / 60) % 60, 2);
  AppendPadded(out, seconds_of_day_ % 60, 2);
  return out;
}

}  // namespace onshid::core::oqs
