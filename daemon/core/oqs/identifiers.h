#pragma once
// Identifier and date values of the OQS file protocol (OQS-INTERFACE.md §3, §7).
//
// Every value keeps the text it was parsed from (`raw()`), because OQS and the レセコン may write
// the same identifier differently (width, leading zeros, padding) and the original must be stored
// and shown unchanged. Parse functions return core::Result; their errors carry a stable reason,
// an English message for IT staff and a Japanese one for reception staff. Messages never contain
// the value itself (insured numbers are personal data); insurer numbers are not personal data but
// are still left out for uniformity.
//
// Pure: the standard library only. Thread-safe: all types are immutable values.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace onshid::core::oqs {

// ---------------------------------------------------------------------------------------------
// Check digits (§7.1)

// Computes the 検証番号 over `body` (the digits before the check digit): from the rightmost digit,
// weights 2,1,2,1,…; two-digit products add their digits; check = (10 − sum mod 10) mod 10.
// Returns nullopt when `body` is empty or contains anything but ASCII digits.
std::optional<int> ComputeCheckDigit(std::string_view body);

// True when `digits` (ASCII digits only, length ≥ 2) ends with the check digit of the rest.
bool HasValidCheckDigit(std::string_view digits);

// ---------------------------------------------------------------------------------------------
// 保険者番号

// InsurerNumber  // 保険者番号
// 8 digits (法別2 + 都道府県2 + 保険者別3 + 検証1) or 6 digits for 市町村国保 (都道府県2 + 保険者別3 +
// 検証1). On the wire it is always 8 characters, right-justified and padded with SPACES (§7.1).
class InsurerNumber {
 public:
  // Accepts the number as a clerk types it or as OQS writes it: leading/trailing ASCII or full-width
  // spaces are ignored, full-width digits are read as digits. An 8-digit number starting with "00"
  // (a zero-padded 国保 number, as some software writes it) is read as the 6-digit number.
  // Errors (reason INVALID_INSURER_NUMBER, kind kInvalidArgument): empty, a non-digit character,
  // a length other than 6 or 8, a wrong check digit. The message says which.
  static Result<InsurerNumber> Parse(std::string_view raw);

  const std::string& raw() const { return raw_; }       // exactly as given
  const std::string& digits() const { return digits_; } // 6 or 8 ASCII digits
  // The 8-character wire form: "  138057" for a 6-digit number, the digits otherwise.
  std::string WireForm() const;
  bool IsNationalHealthInsurance() const { return digits_.size() == 6; }  // 市町村国保
  // 後期高齢者医療 (法別番号 39).
  bool IsLateElderly() const { return digits_.size() == 8 && digits_.starts_with("39"); }
  // 法別番号 ("39", "01", …); empty for a 6-digit 国保 number.
  std::string_view LawCode() const;

  friend bool operator==(const InsurerNumber& a, const InsurerNumber& b) {
    return a.digits_ == b.digits_;
  }

 private:
  InsurerNumber(std::string raw, std::string digits)
      : raw_(std::move(raw)), digits_(std::move(digits)) {}
  std::string raw_;
  std::string digits_;
};

// 後期高齢者 被保険者番号: 8 ASCII digits whose last digit is the check digit of the first 7 (§7.1,
// same algorithm as 保険者番号). Errors: reason INVALID_INSURED_IDENTIFICATION_NUMBER.
Status ValidateLateElderlyInsuredNumber(std::string_view digits);

// ---------------------------------------------------------------------------------------------
// Width normalisation (§3 "Full/half width", §7.3)

// Maps to half-width what NFKC would map for the characters OQS identifiers and kana names use:
// full-width ASCII U+FF01–U+FF5E → U+0021–U+007E, U+3000 → space, hyphen look-alikes (U+2010–U+2015,
// U+2212 −) → '-'. Half-width katakana U+FF61–U+FF9F are mapped to full-width
// katakana, with a following ﾞ/ﾟ composed into the voiced/semi-voiced kana, as NFKC does.
// Anything else passes through. Invalid UTF-8 bytes pass through unchanged.
std::string NormalizeWidth(std::string_view utf8);

// Number of Unicode code points in `utf8`; nullopt when it is not valid UTF-8.
std::optional<std::size_t> CountCodePoints(std::string_view utf8);

// InsuredCardSymbol  // 被保険者証記号
// InsuredIdentificationNumber  // 被保険者証番号
// Up to 20 characters (code points), any width (§7.3). Kept raw; `ComparisonKey()` is what two
// values are compared by: NormalizeWidth, trimmed, leading zeros stripped (an all-zero value keeps
// one "0"), as S2 compares them.
class InsuredCardSymbol {
 public:
  static constexpr std::size_t kMaxLength = 20;
  // Errors (reason INVALID_INSURED_CARD_SYMBOL): empty after trimming, longer than 20 characters,
  // invalid UTF-8, a control character.
  static Result<InsuredCardSymbol> Parse(std::string_view raw);
  const std::string& raw() const { return raw_; }
  const std::string& ComparisonKey() const { return key_; }
  friend bool operator==(const InsuredCardSymbol& a, const InsuredCardSymbol& b) {
    return a.key_ == b.key_;
  }

 private:
  InsuredCardSymbol(std::string raw, std::string key) : raw_(std::move(raw)), key_(std::move(key)) {}
  std::string raw_;
  std::string key_;
};

class InsuredIdentificationNumber {
 public:
  static constexpr std::size_t kMaxLength = 20;
  // Errors (reason INVALID_INSURED_IDENTIFICATION_NUMBER): as InsuredCardSymbol.
  static Result<InsuredIdentificationNumber> Parse(std::string_view raw);
  const std::string& raw() const { return raw_; }
  const std::string& ComparisonKey() const { return key_; }
  friend bool operator==(const InsuredIdentificationNumber& a,
                         const InsuredIdentificationNumber& b) {
    return a.key_ == b.key_;
  }

 private:
  InsuredIdentificationNumber(std::string raw, std::string key)
      : raw_(std::move(raw)), key_(std::move(key)) {}
  std::string raw_;
  std::string key_;
};

// Comparison key used by InsuredCardSymbol / InsuredIdentificationNumber (exposed for callers that
// hold plain strings, e.g. values read from a レセコン database).
std::string InsuranceIdComparisonKey(std::string_view raw);

// InsuredBranchNumber  // 被保険者証枝番: exactly two digits ("00", "01"); compared as a string
// (§7.2). Full-width digits are accepted and normalised; raw keeps the input.
class InsuredBranchNumber {
 public:
  // Errors (reason INVALID_INSURED_BRANCH_NUMBER): not exactly two digits.
  static Result<InsuredBranchNumber> Parse(std::string_view raw);
  const std::string& raw() const { return raw_; }
  const std::string& digits() const { return digits_; }
  friend bool operator==(const InsuredBranchNumber& a, const InsuredBranchNumber& b) {
    return a.digits_ == b.digits_;
  }

 private:
  InsuredBranchNumber(std::string raw, std::string digits)
      : raw_(std::move(raw)), digits_(std::move(digits)) {}
  std::string raw_;
  std::string digits_;
};

// ---------------------------------------------------------------------------------------------
// Dates and times (§3 "Dates"). OQS times are Japan time (UTC+9, no DST).

inline constexpr std::chrono::hours kJapanUtcOffset{9};

// OqsDate: yyyyMMdd, a real Gregorian calendar date (leap years honoured), years 1000–9999.
class OqsDate {
 public:
  // Errors (reason INVALID_DATE): not 8 ASCII digits, or not a calendar date (e.g. 20230229).
  static Result<OqsDate> Parse(std::string_view raw);
  static OqsDate FromSysDays(std::chrono::sys_days days);
  // The Japan calendar date at instant `t`.
  static OqsDate JapanDateOf(std::chrono::system_clock::time_point t);

  std::chrono::sys_days ToSysDays() const { return std::chrono::sys_days{ymd_}; }
  std::chrono::year_month_day ymd() const { return ymd_; }
  std::string ToString() const;  // yyyyMMdd
  // Midnight Japan time at the start of this date, as a UTC instant.
  std::chrono::system_clock::time_point JapanMidnight() const;

  friend bool operator==(const OqsDate& a, const OqsDate& b) { return a.ymd_ == b.ymd_; }
  friend auto operator<=>(const OqsDate& a, const OqsDate& b) { return a.ymd_ <=> b.ymd_; }

 private:
  explicit OqsDate(std::chrono::year_month_day ymd) : ymd_(ymd) {}
  std::chrono::year_month_day ymd_;
};

// OqsDateTime: yyyyMMddHHmmss in Japan time.
class OqsDateTime {
 public:
  // Errors (reason INVALID_DATE_TIME): not 14 ASCII digits, not a calendar date, hour > 23,
  // minute > 59 or second > 59.
  static Result<OqsDateTime> Parse(std::string_view raw);
  // Truncated to whole seconds.
  static OqsDateTime FromSystemTime(std::chrono::system_clock::time_point t);

  std::chrono::system_clock::time_point ToSystemTime() const;
  OqsDate JapanDate() const { return date_; }
  std::string ToString() const;  // yyyyMMddHHmmss

  friend bool operator==(const OqsDateTime& a, const OqsDateTime& b) {
    return a.date_ == b.date_ && a.seconds_of_day_ == b.seconds_of_day_;
  }

 private:
  OqsDateTime(OqsDate date, int seconds_of_day) : date_(date), seconds_of_day_(seconds_of_day) {}
  OqsDate date_;
  int seconds_of_day_;
};

}  // namespace onshid::core::oqs
