#pragma once
// The fallback decision engine (DOMAIN.md §6–10; seeds 003 and 004 are the authority where the
// summary is unclear): when マイナ保険証 reception fails, or works but returns no usable
// eligibility, which confirmation methods may reception staff use, in which order, what does the
// patient pay, and which claim route does each method lead to.
//
// Decide() is a pure function of a FallbackCase: no clock and no I/O (the visit date is an input).
// Every Method is listed, allowed or blocked, each with the Rule that decided it: a stable rule id,
// the seed passage it comes from, and an English and a Japanese explanation (the Japanese one is
// what reception staff read). Reasons never contain personal data. A Decision carries
// kEngineVersion and echoes its input so it can be stored and explained later.
//
// Pure: the standard library only. Thread-compatible values.

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/oqs/eligibility.h"
#include "core/oqs/identifiers.h"
#include "core/reception.h"

namespace onshid::core::fallback {

// Bumped whenever a rule changes what Decide or RouteClaim answers for the same input.
inline constexpr std::string_view kEngineVersion = "fallback-engine/2";

// ---------------------------------------------------------------------------------------------
// Dates the rules depend on (Japan calendar dates, inclusive).

// 健康保険証: every card issued had expired by this day; on it they were still valid (seed 003
// 「令和7年12月1日をもって…有効期限が満了」). From the next day they are provisional only.
inline constexpr std::chrono::year_month_day kHealthInsuranceCardLastDay{
    std::chrono::year{2025}, std::chrono::month{12}, std::chrono::day{1}};
// 有効期限切れの健康保険証等に関する暫定的な取扱い: querying OQS with the numbers of an expired
// 健康保険証 or of a 資格情報のお知らせ, for a patient with neither マイナ保険証 nor 資格確認書
// (seed 003 「令和7年12月2日以降…令和8年3月末までに限り」).
inline constexpr std::chrono::year_month_day kProvisionalFirstDay{
    std::chrono::year{2025}, std::chrono::month{12}, std::chrono::day{2}};
inline constexpr std::chrono::year_month_day kProvisionalLastDay{
    std::chrono::year{2026}, std::chrono::month{3}, std::chrono::day{31}};
// Every 後期高齢者 is sent a 資格確認書 without applying (seed 002 「2026年7月末までの暫定措置」).
inline constexpr std::chrono::year_month_day kKoukiCertificateLastDay{
    std::chrono::year{2026}, std::chrono::month{7}, std::chrono::day{31}};

// The last day on which a card whose 利用者証明用電子証明書 expired on `expiry` (its 有効期限, the
// last valid day) still works for eligibility: the end of the 3rd month after the month of expiry
// (seed 003 「有効期限満了日が属する月の末日から3ヶ月間」; e.g. 2025-10-19 → 2026-01-31).
oqs::OqsDate CertificateGraceLastDay(const oqs::OqsDate& expiry);

// ---------------------------------------------------------------------------------------------
// Inputs

// The cause (why eligibility could not be confirmed online), the presented documents and the
// visit kind are the shared vocabulary of core/reception.h.
using ::onshid::core::Document;
using ::onshid::core::DocumentSet;
using ::onshid::core::FallbackCause;
using ::onshid::core::VisitKind;

// The patient's age bracket; 70+ and 後期高齢者 declare their ratio on the 申立書.
enum class AgeBracket {
  kUnder70,
  k70To74,  // 70歳以上 (高齢受給者)
  kKouki,   // 後期高齢者医療の被保険者
};

std::string_view ToString(AgeBracket age);  // "UNDER_70", "70_TO_74", "KOUKI"
std::optional<AgeBracket> AgeBracketFromString(std::string_view name);

// 新生児: a newborn's card needs time before it works as マイナ保険証 (seed 003 p.16).
enum class Newborn {
  kNo,
  kCardRegistered,         // 利用登録済み (checked)
  kCardNotRegistered,      // not registered for insurance use yet
  kRegistrationUnchecked,  // a newborn, registration not checked yet
};
std::string_view ToString(Newborn newborn);  // "NOT_NEWBORN", "CARD_REGISTERED", …
std::optional<Newborn> NewbornFromString(std::string_view name);

// The facility's setup.
struct Facility {
  bool oqs_available = true;  // オンライン資格確認 installed (false: 未導入施設, paper claims)
  bool reads_smartphones = false;  // スマートフォンのマイナ保険証 supported (generic reader set up)
  // 災害時モード (緊急時医療情報・資格確認機能) is enabled now (announced during disasters and long
  // outages).
  bool emergency_mode_active = false;
  friend bool operator==(const Facility&, const Facility&) = default;
};

// An eligibility already known for the patient (identifiers are personal data; never log them).
struct KnownEligibility {
  enum class Source {
    kInvalidResult,  // the 旧資格 shown by a 資格(無効) result (validity 2 or 3)
    kPastVisits,     // the facility's own records of earlier visits
    kConfirmed,      // confirmed at or after this visit (claim.h only)
  };
  Source source = Source::kPastVisits;
  std::string insurer_number;     // 保険者番号
  std::string symbol;             // 記号
  std::string number;             // 番号
  std::string branch;             // 枝番
  std::string insurer_name;       // 保険者名称
  std::optional<int> ratio_wari;  // 負担割合 (1, 2, 3)
  friend bool operator==(const KnownEligibility&, const KnownEligibility&) = default;
};
std::string_view ToString(KnownEligibility::Source source);  // "INVALID_RESULT", "PAST_VISITS", …
std::optional<KnownEligibility::Source> KnownEligibilitySourceFromString(std::string_view name);

// The inputs of one decision.
struct FallbackCase {
  FallbackCause cause = FallbackCause::kNetworkError;
  DocumentSet presented;
  VisitKind visit = VisitKind::kFirstVisit;
  int actual_days = 1;  // 実日数 in the claim month, including today (1–31)
  // What the facility already holds: past-visit eligibilities, and the 旧資格 of a 資格(無効).
  std::vector<KnownEligibility> known_eligibilities;
  // The patient says they hold valid insurance now (the 申立書 checkbox; 不詳 condition 1).
  bool has_valid_insurance_now = true;
  Facility facility;
  std::optional<oqs::OqsDate> date;  // required: the Japan calendar date of the visit
  AgeBracket age = AgeBracket::kUnder70;
  Newborn newborn = Newborn::kNo;
  // 電子証明書の有効期限 (last valid day), for kCertificateExpired when known.
  std::optional<oqs::OqsDate> certificate_expiry;
  friend bool operator==(const FallbackCase&, const FallbackCase&) = default;
};

// ---------------------------------------------------------------------------------------------
// Outputs

// Every method the engine knows, in the order staff would try them.
enum class Method {
  kVisualCheckMode,           // 目視確認モード (face/PIN identification failed)
  kQualificationCertificate,  // 資格確認書 (through 2025-12-01 also a 健康保険証); stands alone
  kProvisionalQuery,    // OQS query with an expired 健康保険証 / お知らせ (to 2026-03-31)
  kPortalScreen,        // ① マイナポータル 資格情報画面 (or its PDF) with the card
  kEligibilityNotice,   // ② 資格情報のお知らせ with the card
  kOralConfirmation,    // ③ 口頭確認 (revisit, eligibility held by the facility)
  kConfirmAfterwards,   // 事後確認 (実日数 ≥ 2: confirm later, claim with what is found)
  kEmergencyLookup,     // 災害時モード / 緊急時医療情報・資格確認機能
  kInsuranceStatement,  // ④ 被保険者資格申立書 (first visit, last resort)
  kFullSelfPay,         // 10割 collected, refunded once eligibility is confirmed
};
inline constexpr std::array<Method, 10> kAllMethods = {
    Method::kVisualCheckMode,   Method::kQualificationCertificate, Method::kProvisionalQuery,
    Method::kPortalScreen,      Method::kEligibilityNotice,        Method::kOralConfirmation,
    Method::kConfirmAfterwards, Method::kEmergencyLookup,          Method::kInsuranceStatement,
    Method::kFullSelfPay};
std::string_view MethodName(Method m);    // "PORTAL_SCREEN", … (stable)
std::optional<Method> MethodFromString(std::string_view name);
std::string_view MethodNameJa(Method m);  // "マイナポータル資格情報画面", …

enum class Charge {
  kNormalRatio,  // the patient's usual 負担割合 (3割 etc.)
  kFullSelfPay,  // 10割, refunded once eligibility is confirmed
};
std::string_view ChargeName(Charge c);  // "NORMAL_RATIO", "FULL_SELF_PAY"
std::optional<Charge> ChargeFromString(std::string_view name);

// How the レセプト is claimed after a method (claim.h routes the final claim).
enum class ClaimRoute {
  kCurrent,         // 現在の資格 (seen, held and confirmed orally, or found later)
  kOldEligibility,  // 旧資格 (振替・分割 redirects it to the new insurer)
  kUnknown,         // 不詳 (摘要 with all eight items)
  kConfirmLater,    // confirm with the patient / OQS later and claim with what is found
  kSelfPay,         // 10割: no claim until eligibility is confirmed
};
std::string_view ClaimRouteName(ClaimRoute r);    // "CURRENT", "OLD_ELIGIBILITY", "UNKNOWN", …
std::optional<ClaimRoute> ClaimRouteFromString(std::string_view name);
std::string_view ClaimRouteNameJa(ClaimRoute r);  // "現在の資格", "旧資格", "不詳", …

// The rule that decided one thing, explained to both readers.
struct Rule {
  std::string id;      // stable, e.g. "PORTAL_CANNOT_SHOW_INVALID_RESULT"
  std::string source;  // the seed passage, e.g. "seed 003 「資格（無効）」…の対応方法"
  std::string reason;     // English, no personal data
  std::string reason_ja;  // for reception staff: what to do, in plain Japanese
};

struct MethodDecision {
  Method method = Method::kFullSelfPay;
  bool allowed = false;
  Rule rule;  // why it is allowed or blocked
  // The route when the method is applied and nothing more is learnt (meaningful when allowed):
  // 申立書 → 旧資格 when one is known, else 不詳; 事後確認 and the error-011 lookup → 旧資格 when
  // known, else kConfirmLater; 10割 → kSelfPay; every other method → kCurrent.
  ClaimRoute leads_to = ClaimRoute::kCurrent;
};

struct Decision {
  std::string engine_version;  // kEngineVersion
  FallbackCase input;          // echoed for the proof of attempt
  // Every Method exactly once: the allowed ones first, in the order to try them, then the blocked
  // ones in kAllMethods order. 10割 is allowed only when no method that settles the case by itself
  // (資格確認書 / 健康保険証 presented, provisional query, 口頭確認, 事後確認, 災害時モード,
  // 申立書) is allowed; it is then the last allowed entry.
  std::vector<MethodDecision> methods;
  Method first_choice = Method::kFullSelfPay;  // methods.front().method
  // kNormalRatio unless 10割 is the only allowed method.
  Charge charge = Charge::kNormalRatio;
  Rule charge_rule;
  // Further charge instructions: SELF_DECLARED_RATIO_70_PLUS (申立書 for 70+ / 後期),
  // THREE_WARI_UNTIL_VERIFIED (error 011).
  std::vector<Rule> charge_notes;

  const MethodDecision& Find(Method m) const;  // every method is listed
  bool Allowed(Method m) const { return Find(m).allowed; }
  std::vector<Method> AllowedInOrder() const;
};

// Decides the methods for `fallback_case`.
// Errors:
//  - INVALID_FALLBACK_CASE (kInvalidArgument), one FieldViolation per problem:
//    "date" missing; "actual_days" outside 1–31; "presented": documents that contradict the cause
//    (a card cause without the card, a smartphone cause without a smartphone-only patient, a
//    result or outage with nothing presented, NO_DOCUMENT with a マイナ保険証 or 資格確認書);
//    "facility.reads_smartphones" contradicting a smartphone cause; "facility.oqs_available"
//    false with a cause that needs OQS, or NO_ONLINE_VERIFICATION at a facility with OQS;
//    "certificate_expiry" on or after the visit date or given with another cause;
//    "known_eligibilities" with a 資格(無効) 旧資格 but no 資格(無効) result; "newborn" with an age
//    bracket of 70 or more.
//  - CERTIFICATE_IN_GRACE (kFailedPrecondition): kCertificateExpired, but the visit date is within
//    the grace period: no fallback is needed, receive with the card as usual (insurance
//    information only).
Result<Decision> Decide(const FallbackCase& fallback_case);

// The cause a 資格確認結果 calls for: 処理結果区分 abnormal or 処理結果状況 error →
// kProcessingError; 資格有効性 2 → kResultInvalid, 3 → kResultInvalidNewerExists, 4 →
// kResultNoRecord, 5 → kResultMultiple; nullopt otherwise (valid, 6, in progress, missing).
std::optional<FallbackCause> FallbackCauseOf(const oqs::EligibilityResult& result);

// The 旧資格 carried by a 資格(無効) result (validity 2 or 3): the first result entry's insurer,
// symbol, number, branch, insurer name and ratio, with source kInvalidResult. nullopt for any other
// validity or when no entry carries an insurer number.
std::optional<KnownEligibility> OldEligibilityOf(const oqs::EligibilityResult& result);

// The eligibility of a result's first entry that carries an insurer number (insurer, symbol,
// number, branch, insurer name, ratio) with `source`, whatever the validity; nullopt when none.
std::optional<KnownEligibility> EligibilityOf(const oqs::EligibilityResult& result,
                                              KnownEligibility::Source source);

}  // namespace onshid::core::fallback
