#include "core/fallback/statement.h"

#include "core/names.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/fallback/text.h"

namespace onshid::core::fallback {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

struct EraSpan {
  Era era;
  year_month_day start;  // first day of the era
};

// Ordered by start. The last era has no end.
constexpr std::array<EraSpan, 5> kEras = {{
    {Era::kMeiji, year_month_day{year{1868}, month{1}, day{25}}},
    {Era::kTaisho, year_month_day{year{1912}, month{7}, day{30}}},
    {Era::kShowa, year_month_day{year{1926}, month{12}, day{25}}},
    {Era::kHeisei, year_month_day{year{1989}, month{1}, day{8}}},
    {Era::kReiwa, year_month_day{year{2019}, month{5}, day{1}}},
}};

std::size_t EraIndex(Era era) { return static_cast<std::size_t>(era); }

// Decodes UTF-8; returns false on malformed input.
bool DecodeUtf8(std::string_view s, std::vector<char32_t>& out) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t cp = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(len) > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(len);
  }
  return true;
}

bool IsKatakanaText(std::string_view s) {
  std::vector<char32_t> cps;
  if (!DecodeUtf8(s, cps)) return false;
  bool any_kana = false;
  for (char32_t c : cps) {
    const bool full = c >= 0x30A1 && c <= 0x30FC;  // ァ … ー (includes ・)
    const bool half = c >= 0xFF65 && c <= 0xFF9F;  // ･ ｦ … ﾟ
    const bool space = c == U' ' || c == 0x3000;
    if (!(full || half || space)) return false;
    // ・ and ー alone spell no name.
    const bool mark = c == 0x30FB || c == 0x30FC || c == 0xFF65 || c == 0xFF70;
    any_kana = any_kana || ((full || half) && !mark);
  }
  return any_kana;
}

bool IsBlank(std::string_view s) { return internal::IsBlankText(s); }

// 10 or 11 digits starting with 0 once separators are removed. Written by hand or through an IME,
// so full-width digits (０–９), hyphens and dashes (-, ‐, −, －, ー), spaces and brackets are
// accepted too.
bool IsPhoneNumber(std::string_view s) {
  std::vector<char32_t> cps;
  if (!DecodeUtf8(s, cps)) return false;
  std::string digits;
  for (char32_t c : cps) {
    if (c >= U'0' && c <= U'9') {
      digits.push_back(static_cast<char>('0' + (c - U'0')));
    } else if (c >= 0xFF10 && c <= 0xFF19) {  // ０–９
      digits.push_back(static_cast<char>('0' + (c - 0xFF10)));
    } else {
      switch (c) {
        case U'-': case U' ': case U'(': case U')':
        case 0x2010: case 0x2212: case 0xFF0D: case 0x30FC:  // ‐ − － ー
        case 0x3000: case 0xFF08: case 0xFF09:               // 全角スペース （ ）
          break;
        default:
          return false;
      }
    }
  }
  return (digits.size() == 10 || digits.size() == 11) && digits.front() == '0';
}

void Wipe(std::string& s) {
  // Overwrite before releasing so the heap block does not keep the text; best effort only.
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = '\0';
  s.clear();
  s.shrink_to_fit();
}

}  // namespace

std::string_view EraNameJa(Era era) {
  switch (era) {
    case Era::kMeiji: return "明治";
    case Era::kTaisho: return "大正";
    case Era::kShowa: return "昭和";
    case Era::kHeisei: return "平成";
    case Era::kReiwa: return "令和";
  }
  return "";
}

Result<oqs::OqsDate> ToGregorian(const WarekiDate& date, std::string_view field) {
  const std::size_t idx = EraIndex(date.era);
  const auto bad = [&](std::string why_en) -> DomainError {
    return InvalidArgument("INVALID_WAREKI_DATE", "Japanese-era date is invalid: " + why_en,
                           "和暦の生年月日が正しくありません。元号と年月日を確認してください。",
                           {{std::string(field), why_en}});
  };
  if (idx >= kEras.size()) return bad("unknown era");
  if (date.year < 1 || date.month < 1 || date.month > 12 || date.day < 1 || date.day > 31) {
    return bad("year, month or day out of range");
  }
  const int base = static_cast<int>(kEras[idx].start.year());
  const year_month_day ymd{year{base + date.year - 1}, month{static_cast<unsigned>(date.month)},
                           day{static_cast<unsigned>(date.day)}};
  if (!ymd.ok()) return bad("not a calendar date");
  const sys_days days{ymd};
  if (days < sys_days{kEras[idx].start}) return bad("before the start of the era");
  if (idx + 1 < kEras.size() && days >= sys_days{kEras[idx + 1].start}) {
    return bad("after the end of the era");
  }
  return oqs::OqsDate::FromSysDays(days);
}

std::optional<WarekiDate> ToWareki(const oqs::OqsDate& date) {
  const sys_days days = date.ToSysDays();
  for (std::size_t i = kEras.size(); i-- > 0;) {
    if (days >= sys_days{kEras[i].start}) {
      const year_month_day ymd = date.ymd();
      WarekiDate w;
      w.era = kEras[i].era;
      w.year = static_cast<int>(ymd.year()) - static_cast<int>(kEras[i].start.year()) + 1;
      w.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
      w.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
      return w;
    }
  }
  return std::nullopt;
}

std::optional<std::string> FormatWareki(const oqs::OqsDate& date) {
  const auto w = ToWareki(date);
  if (!w) return std::nullopt;
  std::string out(EraNameJa(w->era));
  out += w->year == 1 ? std::string("元") : std::to_string(w->year);
  out += "年" + std::to_string(w->month) + "月" + std::to_string(w->day) + "日";
  return out;
}

int AgeOn(const oqs::OqsDate& birth_date, const oqs::OqsDate& on) {
  const year_month_day b = birth_date.ymd();
  const year_month_day o = on.ymd();
  int age = static_cast<int>(o.year()) - static_cast<int>(b.year());
  if (std::pair(static_cast<unsigned>(o.month()), static_cast<unsigned>(o.day())) <
      std::pair(static_cast<unsigned>(b.month()), static_cast<unsigned>(b.day()))) {
    --age;
  }
  return age;
}

std::string_view InsuranceTypeNameJa(InsuranceType type) {
  switch (type) {
    case InsuranceType::kUnset: return "";
    case InsuranceType::kShaho: return "社保";
    case InsuranceType::kKokuho: return "国保";
    case InsuranceType::kKouki: return "後期";
    case InsuranceType::kOther: return "その他";
    case InsuranceType::kUnknown: return "わからない";
  }
  return "";
}

bool EmployerNameRequired(const InsuranceStatement& s) {
  switch (s.insurance_type) {
    case InsuranceType::kShaho:
    case InsuranceType::kOther:
    case InsuranceType::kUnknown:
      return true;
    case InsuranceType::kKokuho:
      return s.kokuho_union;
    case InsuranceType::kKouki:
    case InsuranceType::kUnset:
      return false;
  }
  return false;
}

bool DeclaredRatioRequired(const InsuranceStatement& s) {
  if (s.insurance_type == InsuranceType::kKouki) return true;
  if (!s.birth_date || !s.written_on) return false;
  const auto birth = ToGregorian(*s.birth_date);
  if (!birth.ok()) return false;
  return AgeOn(birth.value(), *s.written_on) >= 70;
}

Status Validate(const InsuranceStatement& s) {
  if (s.disposed()) {
    DomainError e;
    e.kind = ErrorKind::kFailedPrecondition;
    e.reason = "INSURANCE_STATEMENT_DISPOSED";
    e.message = "the insurance statement was disposed of after the claim work finished";
    e.message_ja = "この申立書の内容は請求事務の終了に伴い廃棄済みです。";
    return e;
  }
  std::vector<FieldViolation> v;
  const auto add = [&v](std::string field, std::string why) {
    v.push_back({std::move(field), std::move(why)});
  };
  if (!s.has_valid_insurance) {
    add("has_valid_insurance",
        "the patient must declare holding valid insurance; otherwise the statement cannot be used");
  }
  if (s.insurance_type == InsuranceType::kUnset) add("insurance_type", "required (保険種別)");
  if (EmployerNameRequired(s) && IsBlank(s.employer_name)) {
    add("employer_name", "required for 社保, 国保組合, その他 and わからない (事業所名)");
  }
  if (IsBlank(s.name)) add("name", "required, exactly as on the card (氏名)");
  if (IsBlank(s.furigana)) {
    add("furigana", "required (フリガナ)");
  } else if (!IsKatakanaText(s.furigana)) {
    add("furigana", "must be written in katakana (フリガナ)");
  }
  if (!s.birth_date) {
    add("birth_date", "required, with era (生年月日)");
  } else {
    const auto birth = ToGregorian(*s.birth_date);
    if (!birth.ok()) {
      add("birth_date", birth.error().field_violations.front().description);
    } else if (s.written_on && birth.value() > *s.written_on) {
      add("birth_date", "after the date the statement was written");
    }
  }
  if (s.sex == DeclaredSex::kUnset) add("sex", "required (性別)");
  if (IsBlank(s.address)) add("address", "required, as on the card (住所)");
  if (!s.written_on) add("written_on", "required (記入日)");
  if (!s.signed_by_patient_or_guardian) add("signed_by_patient_or_guardian", "signature missing (署名)");
  if (s.signed_by_guardian && IsBlank(s.guardian_relationship)) {
    add("guardian_relationship", "required when a guardian signs (患者との関係)");
  }
  if (DeclaredRatioRequired(s) && s.declared_ratio == DeclaredRatio::kUnset) {
    add("declared_ratio", "required for patients aged 70 or over and 後期高齢者 (一部負担金の割合)");
  }
  if (IsBlank(s.phone)) {
    add("phone", "required: the facility must be able to contact the patient (連絡先電話番号)");
  } else if (!IsPhoneNumber(s.phone)) {
    add("phone", "not a Japanese phone number (10 or 11 digits starting with 0)");
  }
  if (v.empty()) return OkStatus();
  return InvalidArgument("INVALID_INSURANCE_STATEMENT",
                         "the insurance statement has missing or invalid fields",
                         "被保険者資格申立書に記入漏れ・誤りがあります。該当欄を確認してください。",
                         std::move(v));
}

void Dispose(InsuranceStatement& s, const oqs::OqsDate& today) {
  Wipe(s.insurer_name);
  Wipe(s.employer_name);
  Wipe(s.name);
  Wipe(s.furigana);
  Wipe(s.address);
  Wipe(s.other_address);
  Wipe(s.guardian_relationship);
  Wipe(s.phone);
  s.birth_date.reset();
  s.sex = DeclaredSex::kUnset;
  s.has_valid_insurance = false;
  s.signed_by_patient_or_guardian = false;
  s.signed_by_guardian = false;
  if (!s.disposed_on) s.disposed_on = today;
}

namespace {
constexpr std::array<std::string_view, 5> kEraNames = {"MEIJI", "TAISHO", "SHOWA", "HEISEI",
                                                       "REIWA"};
constexpr std::array<std::string_view, 6> kInsuranceTypeNames = {"UNSET", "SHAHO", "KOKUHO",
                                                                 "KOUKI", "OTHER", "UNKNOWN"};
constexpr std::array<std::string_view, 4> kIssuedWhenNames = {"UNSET", "WITHIN_ONE_MONTH",
                                                              "EARLIER", "UNKNOWN"};
constexpr std::array<std::string_view, 5> kDeclaredRatioNames = {"UNSET", "THREE_WARI", "TWO_WARI",
                                                                 "ONE_WARI", "UNKNOWN"};
constexpr std::array<std::string_view, 3> kDeclaredSexNames = {"UNSET", "MALE", "FEMALE"};
}  // namespace

std::string_view ToString(Era era) { return NameOf(kEraNames, era); }
std::optional<Era> EraFromString(std::string_view name) { return ValueNamed<Era>(kEraNames, name); }
std::string_view ToString(InsuranceType type) { return NameOf(kInsuranceTypeNames, type); }
std::optional<InsuranceType> InsuranceTypeFromString(std::string_view name) {
  return ValueNamed<InsuranceType>(kInsuranceTypeNames, name);
}
std::string_view ToString(IssuedWhen when) { return NameOf(kIssuedWhenNames, when); }
std::optional<IssuedWhen> IssuedWhenFromString(std::string_view name) {
  return ValueNamed<IssuedWhen>(kIssuedWhenNames, name);
}
std::string_view ToString(DeclaredRatio ratio) { return NameOf(kDeclaredRatioNames, ratio); }
std::optional<DeclaredRatio> DeclaredRatioFromString(std::string_view name) {
  return ValueNamed<DeclaredRatio>(kDeclaredRatioNames, name);
}
std::string_view ToString(DeclaredSex sex) { return NameOf(kDeclaredSexNames, sex); }
std::optional<DeclaredSex> DeclaredSexFromString(std::string_view name) {
  return ValueNamed<DeclaredSex>(kDeclaredSexNames, name);
}

}  // namespace onshid::core::fallback
