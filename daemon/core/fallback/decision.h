#pragma once
// The fallback decision engine: when マイナ保険証 reception fails (or returns 資格(無効) /
// 資格情報なし), which eligibility-confirmation methods may reception staff use, in which order,
// and what does the patient pay (DOMAIN.md §7, seeds 003 and 004).
//
// Decide() is a pure function of a FallbackCase: no clock, no I/O. Every method of the tree is
// listed, allowed or blocked, each with the rule that decided it (a stable rule id, the DOMAIN.md
// section and English/Japanese explanations), so a decision can be stored with kEngineVersion and
// its inputs and explained later.
//
// Pure: the standard library only. Thread-compatible values.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/oqs/eligibility.h"

namespace onshid::core::fallback {

// Bumped whenever a rule changes what Decide or RouteClaim answers for the same input.
inline constexpr std::string_view kEngineVersion = "fallback-engine/1";

// Why マイナ保険証 reception could not produce a result (DOMAIN.md §7 "Causes").
enum class FailureCause {
  kCertificateExpiredBeyondGrace,  // 電子証明書 expired, past the end of the 3rd month (§4)
  kIcChipBroken,                   // IC チップ unreadable
  kNetworkError,                   // network / 資格確認端末 / OQS trouble
  kFaceReaderWontStart,            // 顔認証付きカードリーダー does not start
  kSmartphoneNotSupported,         // only a smartphone, and the facility cannot read phones
  kGenericReaderBroken,            // 汎用カードリーダー broken (smartphone reading)
  kNoUsableDocument,               // no マイナ保険証 at all (lost 資格確認書, job change without card)
};

// Reception worked but the result was not a valid eligibility (DOMAIN.md §6).
enum class ReceptionResult {
  kNone,      // reception did not produce a result (see FailureCause)
  kInvalid,   // 資格(無効), including 無効（新しい資格あり） (validity 2 and 3)
  kNoRecord,  // 資格情報なし (validity 4)
};

// What the patient presented at the counter.
enum class Presented {
  kMyNumberCard,            // マイナ保険証 (the card itself)
  kSmartphoneOnly,          // マイナ保険証 on a smartphone, no card
  kQualificationCertificate,  // 資格確認書 only
  kNothing,                 // no card, no 資格確認書
};

enum class VisitKind { kFirstVisit, kRevisit };  // 初診 / 再診

// An eligibility already known for the patient (identifiers are personal data; never log them).
struct KnownEligibility {
  enum class Source {
    kInvalidResult,  // the 旧資格 shown by a 資格(無効) result (validity 2 or 3)
    kPastVisits,     // the facility's own records of earlier visits
    kConfirmed,      // confirmed by a method at this visit (screen, お知らせ, 資格確認書, held and
                     // confirmed orally) or provided by the patient afterwards (claim.h only)
  };
  Source source = Source::kPastVisits;
  std::string insurer_number;  // 保険者番号
  std::string symbol;          // 記号
  std::string number;          // 番号
  std::string branch;          // 枝番
  std::string insurer_name;    // 保険者名称
  std::optional<int> ratio_wari;  // 負担割合 (1, 2, 3)
};

// The inputs of one decision. Exactly one of `cause` and a `reception_result` other than kNone is
// set (Decide rejects anything else).
struct FallbackCase {
  std::optional<FailureCause> cause;
  ReceptionResult reception_result = ReceptionResult::kNone;
  Presented presented = Presented::kMyNumberCard;
  VisitKind visit = VisitKind::kFirstVisit;
  int actual_days = 1;  // 実日数 in the claim month, including today (≥ 1)
  // Eligibilities known before this visit's fallback: a 資格(無効) 旧資格 and/or past visits.
  std::vector<KnownEligibility> known_eligibilities;
  // The patient says they hold valid insurance now (申立書 checkbox; 不詳 condition 1).
  bool has_valid_insurance_now = true;
};

// The methods, in the order of the tree. kQualificationCertificate is not one of the four MHLW
// methods for a failed マイナ保険証: it is the 資格確認書 the patient presented (DOMAIN.md §2, stands
// alone), usable when OQS could not be reached. kFullSelfPay is the last resort.
enum class Method {
  kPortalScreen = 1,          // 1 マイナポータル 資格情報画面 (or its PDF) with the card
  kEligibilityNotice = 2,     // 2 資格情報のお知らせ with the card
  kOralConfirmation = 3,      // 3 口頭確認 (revisit, eligibility held by the facility)
  kInsuranceStatement = 4,    // 4 被保険者資格申立書 (first visit)
  kQualificationCertificate = 5,  // 資格確認書 face, when OQS could not be queried
  kFullSelfPay = 10,          // 10割 collected, refunded once eligibility is confirmed
};
std::string_view MethodName(Method m);    // "PORTAL_SCREEN", … (stable)
std::string_view MethodNameJa(Method m);  // "マイナポータル資格情報画面", …

enum class Charge {
  kNormalRatio,  // the patient's usual 負担割合 (3割 etc.)
  kFullSelfPay,  // 10割
};

// The route a method leads to if applied (see claim.h for the final routing).
enum class ClaimRoute {
  kCurrent,       // 現在の資格 (seen on screen / notice / 資格確認書, or held and confirmed orally)
  kOldEligibility,  // 旧資格 (振替・分割 redirects it to the new insurer)
  kUnknown,       // 不詳 (摘要 with all eight items)
  kConfirmLater,  // 実日数 ≥ 2: confirm with the patient later and claim with what is found
  kSelfPay,       // 10割: no claim until eligibility is confirmed
};
std::string_view ClaimRouteName(ClaimRoute r);    // "CURRENT", "OLD_ELIGIBILITY", "UNKNOWN", …
std::string_view ClaimRouteNameJa(ClaimRoute r);  // "現在の資格", "旧資格", "不詳", …

// The rule that decided one thing, explained to both readers.
struct Rule {
  std::string id;         // stable, e.g. "PORTAL_BLOCKED_AFTER_INVALID_RESULT"
  std::string source;     // e.g. "DOMAIN.md §7 (seed 003)"
  std::string reason;     // English, no personal data
  std::string reason_ja;  // for reception staff
};

struct MethodDecision {
  Method method = Method::kFullSelfPay;
  bool allowed = false;
  Rule rule;  // why it is allowed or blocked
  // The claim route this method leads to when applied (meaningful when allowed). For 申立書 it is
  // 旧資格 when one is known, 事後確認 when 実日数 ≥ 2, else 不詳.
  ClaimRoute leads_to = ClaimRoute::kSelfPay;
};

struct Decision {
  std::string engine_version;  // kEngineVersion
  FallbackCase input;          // echoed for the proof of attempt
  // Always six entries in this order: 1, 2, 3, 4, 資格確認書, 10割. 10割 is allowed as the last
  // resort whenever 口頭確認, 申立書 and 資格確認書 are all blocked (i.e. if 1 and 2 fail).
  std::vector<MethodDecision> methods;
  // kNormalRatio when any method other than 10割 is allowed (the charge on every path of the tree).
  Charge charge = Charge::kNormalRatio;
  Rule charge_rule;
  // The first allowed method (the one staff should try first; 10割 only when nothing else is).
  Method first_choice = Method::kFullSelfPay;

  const MethodDecision& Find(Method m) const;  // precondition: m is listed (always true)
  bool Allowed(Method m) const { return Find(m).allowed; }
};

// Decides the methods for `fallback_case`.
// Errors (reason INVALID_FALLBACK_CASE, kind kInvalidArgument, with FieldViolations):
//  - "cause": neither a cause nor a reception result, or both;
//  - "presented": kSmartphoneNotSupported without a smartphone-only patient; a chip/certificate
//    cause without the card; kNoUsableDocument with a card or smartphone;
//  - "actual_days": less than 1.
Result<Decision> Decide(const FallbackCase& fallback_case);

// Maps a 資格確認結果 to ReceptionResult: validity 2 and 3 → kInvalid, 4 → kNoRecord, anything
// else (valid, multiple, missing) → kNone.
ReceptionResult ReceptionResultOf(const oqs::EligibilityResult& result);

// The 旧資格 carried by a 資格(無効) result (validity 2 or 3): the first result entry's insurer,
// symbol, number, branch, insurer name and ratio, with source kInvalidResult. nullopt for any other
// validity or when no entry carries an insurer number.
std::optional<KnownEligibility> OldEligibilityOf(const oqs::EligibilityResult& result);

}  // namespace onshid::core::fallback
