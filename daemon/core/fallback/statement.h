#pragma once
// 被保険者資格申立書 (DOMAIN.md §9, seed 003 別紙様式): the value a patient fills in when neither the
// マイナポータル screen nor the お知らせ could confirm eligibility on a first visit, its validation,
// the 和暦 birth date, and its disposal.
//
// The form presumes the patient presented a My Number card (DOMAIN.md §7); whether it may be used at
// all is decided by the engine (decision.h), not here. Its data may be used only for the claim and
// must be disposed of (Dispose) once the claim work is finished.
//
// Pure: the standard library only. Thread-compatible values.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/oqs/identifiers.h"

namespace onshid::core::fallback {

// ---------------------------------------------------------------------------------------------
// 和暦 dates

// 元号. Only the eras printed on the form.
enum class Era { kMeiji, kTaisho, kShowa, kHeisei, kReiwa };  // 明治 大正 昭和 平成 令和

std::string_view EraNameJa(Era era);  // "明治", …
std::string_view ToString(Era era);    // "MEIJI", …, "REIWA"
std::optional<Era> EraFromString(std::string_view name);

// WarekiDate  // 和暦の年月日, as written on the form (e.g. 昭和55年1月15日).
struct WarekiDate {
  Era era = Era::kReiwa;
  int year = 0;  // 1 = 元年
  int month = 0;
  int day = 0;
};

// Converts to the Gregorian date. Errors (reason INVALID_WAREKI_DATE, kind kInvalidArgument, one
// FieldViolation on `field`): not a calendar date, or a date outside the era (e.g. 平成31年5月1日,
// 昭和64年1月8日). Era starts: 明治 1868-01-25, 大正 1912-07-30, 昭和 1926-12-25, 平成 1989-01-08,
// 令和 2019-05-01.
Result<oqs::OqsDate> ToGregorian(const WarekiDate& date, std::string_view field = "birth_date");
// The era date of `date`; nullopt before 明治.
std::optional<WarekiDate> ToWareki(const oqs::OqsDate& date);
// "令和7年12月10日" (year 1 as 元年). nullopt before 明治.
std::optional<std::string> FormatWareki(const oqs::OqsDate& date);

// Age in whole years on `on` (birthday counted on the day itself).
int AgeOn(const oqs::OqsDate& birth_date, const oqs::OqsDate& on);

// ---------------------------------------------------------------------------------------------
// The form

// 保険種別. Errors here cannot be corrected by the payer (DOMAIN.md §9).
enum class InsuranceType {
  kUnset,    // not ticked
  kShaho,    // 社保 (健康保険組合, 共済組合, 協会けんぽ)
  kKokuho,   // 国保 (市町村国保 or 国民健康保険組合: see kokuho_union)
  kKouki,    // 後期 (後期高齢者医療)
  kOther,    // その他 (国保組合以外の特殊なもの, 公費単独医療)
  kUnknown,  // わからない
};
std::string_view InsuranceTypeNameJa(InsuranceType type);  // "社保", …; "" for kUnset

// 交付を受けた時期.
enum class IssuedWhen { kUnset, kWithinOneMonth, kEarlier, kUnknown };  // 1ヶ月以内/それより前/わからない

// 一部負担金の割合 (asked of 70+ and 後期高齢者 only).
enum class DeclaredRatio { kUnset, kThree, kTwo, kOne, kUnknown };  // 3割/2割/1割/わからない

enum class DeclaredSex { kUnset, kMale, kFemale };  // 性別 as on the card

// Stable names ("UNSET" for kUnset: not ticked; it has no API value of its own).
std::string_view ToString(InsuranceType type);  // "SHAHO", "KOKUHO", "KOUKI", "OTHER", "UNKNOWN"
std::optional<InsuranceType> InsuranceTypeFromString(std::string_view name);
std::string_view ToString(IssuedWhen when);  // "WITHIN_ONE_MONTH", "EARLIER", "UNKNOWN"
std::optional<IssuedWhen> IssuedWhenFromString(std::string_view name);
std::string_view ToString(DeclaredRatio ratio);  // "THREE_WARI", "TWO_WARI", "ONE_WARI", "UNKNOWN"
std::optional<DeclaredRatio> DeclaredRatioFromString(std::string_view name);
std::string_view ToString(DeclaredSex sex);  // "MALE", "FEMALE"
std::optional<DeclaredSex> DeclaredSexFromString(std::string_view name);

// InsuranceStatement  // 被保険者資格申立書
// Every text field is personal data except the two enums of section 1 and the dates of the form
// itself; none of it may be logged.
struct InsuranceStatement {
  // 1 保険証等に関する事項
  bool has_valid_insurance = false;      // □有効な保険証の交付を受けている
  InsuranceType insurance_type = InsuranceType::kUnset;
  bool kokuho_union = false;             // the 国保 insurer is a 国民健康保険組合 (needs 事業所名)
  std::string insurer_name;              // 保険者等名称 (optional on the form; required for 不詳)
  std::string employer_name;             // 事業所名 (お勤めの会社名等)
  IssuedWhen issued_when = IssuedWhen::kUnset;
  DeclaredRatio declared_ratio = DeclaredRatio::kUnset;
  // 2 マイナンバーカードの券面事項等 (exactly as on the card)
  std::string name;                      // 氏名
  std::string furigana;                  // フリガナ (katakana)
  std::optional<WarekiDate> birth_date;  // 生年月日 (with era)
  DeclaredSex sex = DeclaredSex::kUnset;
  std::string address;                   // 住所 (card address)
  std::string other_address;             // another address, if any
  std::optional<oqs::OqsDate> written_on;  // 記入日
  bool signed_by_patient_or_guardian = false;  // 署名 present
  std::string guardian_relationship;     // 患者との関係, when a guardian signed
  bool signed_by_guardian = false;
  std::string phone;                     // 連絡先電話番号 (mandatory in practice)

  // Set by Dispose; the form then holds no personal data.
  std::optional<oqs::OqsDate> disposed_on;
  bool disposed() const { return disposed_on.has_value(); }
};

// True when 事業所名 is required: 社保, 国保組合, その他, わからない (DOMAIN.md §9, form note ※1).
bool EmployerNameRequired(const InsuranceStatement& s);
// True when the 一部負担金の割合 must be declared: 後期 ticked, or the patient is 70 or older on
// `written_on` (needs a valid birth date; false otherwise).
bool DeclaredRatioRequired(const InsuranceStatement& s);

// Validates the form against §9. All problems are reported at once as FieldViolations (field names
// are the member names above, e.g. "employer_name"), in one DomainError with reason
// INVALID_INSURANCE_STATEMENT (kind kInvalidArgument) and a staff message in Japanese:
//  - has_valid_insurance must be ticked (otherwise the form cannot be used);
//  - insurance_type set; employer_name when EmployerNameRequired;
//  - name; furigana, in katakana (full- or half-width; spaces, ・ and ー allowed but not alone);
//  - birth_date present, a valid 和暦 date (within its era), not after written_on;
//  - sex; address; written_on; the signature; guardian_relationship when a guardian signed;
//  - declared_ratio when DeclaredRatioRequired;
//  - phone: 10 or 11 digits starting with 0 (ASCII or full-width digits; hyphens, dashes, spaces
//    and brackets ignored).
// A text field holding only spaces (ASCII or 全角) counts as empty.
// A disposed form fails with reason INSURANCE_STATEMENT_DISPOSED (kind kFailedPrecondition).
Status Validate(const InsuranceStatement& s);

// Erases every personal field (overwriting the text before releasing it, best effort) and records
// `today` in disposed_on. Keeps insurance_type, kokuho_union, issued_when, declared_ratio and
// written_on, which say nothing about who the patient is, for the proof of attempt. Idempotent:
// a second call keeps the first date.
void Dispose(InsuranceStatement& s, const oqs::OqsDate& today);

}  // namespace onshid::core::fallback
