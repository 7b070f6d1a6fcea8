#pragma once
// Claim routing after a fallback (DOMAIN.md §8, seed 003 p.12–18): given the method staff applied
// and what it found, how is the レセプト claimed — 現在の資格, 旧資格, 不詳, 事後確認 or 10割 —
// and, for 不詳, the 摘要 text with every mandatory item.
//
// RouteClaim is pure and re-runs Decide on the same case, so a method the engine blocks can never
// be routed. The preference order is the seed's: an eligibility the patient provided (or that was
// seen) first; then a 旧資格 whenever one is known (振替・分割 redirects it, seed 003 p.14); then
// 事後確認 when the claim month has 2 or more visit days; 不詳 only when its three conditions hold
// (valid insurance now, My Number card presented, first visit — seed 003 p.16) and the 摘要 is
// complete (seed 003 p.18). Otherwise an error names every missing item.
//
// Pure: the standard library only. Thread-compatible values.

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fallback/decision.h"
#include "core/fallback/statement.h"
#include "core/oqs/identifiers.h"

namespace onshid::core::fallback {

// What happened after Decide: the method applied and what it produced.
struct ClaimOutcome {
  FallbackCase input;  // the same case that was decided
  Method method_applied = Method::kFullSelfPay;
  // The eligibility seen (目視確認モード then OQS, 資格確認書, provisional query, マイナポータル
  // screen, お知らせ, 災害時モード), the held one confirmed orally (口頭確認; when absent the
  // past-visit eligibility of `input` is used), or one the patient provided or the facility found
  // afterwards (any method: seed 003 p.18 「患者から資格情報の提供はありましたか？」).
  std::optional<KnownEligibility> confirmed;
  // The 申立書 (method 4 only).
  std::optional<InsuranceStatement> statement;
  // 患者への連絡を行った日: the facility contacted the patient about their eligibility (p.18).
  std::optional<oqs::OqsDate> patient_contacted_on;
  // 実日数 of the claim month when the claim is made, if more visits followed the decision
  // (defaults to input.actual_days).
  std::optional<int> actual_days_at_claim;
};

struct ClaimDecision {
  std::string engine_version;  // kEngineVersion
  ClaimRoute route = ClaimRoute::kSelfPay;
  Rule rule;  // why this route
  // The eligibility to claim with (kCurrent, kOldEligibility).
  std::optional<KnownEligibility> claim_with;
  // 摘要 text ready to paste into the claim (kUnknown only; empty otherwise).
  std::string tekiyo;
  // Further instructions for staff: REFUND_AFTER_FULL_SELF_PAY, SELF_DECLARED_RATIO_70_PLUS,
  // CONTACT_THE_PATIENT.
  std::vector<Rule> notes;
};

// Routes the claim for `outcome`.
// Errors:
//  - Decide's errors (INVALID_FALLBACK_CASE, CERTIFICATE_IN_GRACE) for the input;
//  - METHOD_NOT_ALLOWED (kFailedPrecondition): the engine blocks method_applied for this case;
//    metadata "rule" carries the blocking rule id;
//  - FUSHO_NOT_ALLOWED (kFailedPrecondition): method 4 applied but the engine blocks it; one
//    FieldViolation per failed condition: "input.has_valid_insurance_now",
//    "input.presented" (no card, a smartphone or a 資格確認書 only; or a document that stands
//    alone), "input.newborn" (registration not confirmed),
//    "input.visit" (revisit → 口頭確認), "input.actual_days" (≥ 2 → 事後確認),
//    "input.facility.oqs_available"; metadata "rule" as above;
//  - CLAIM_ELIGIBILITY_MISSING (kInvalidArgument, field "confirmed"): a method that shows an
//    eligibility without `confirmed`, or 口頭確認 with neither `confirmed` nor a past-visit one;
//  - INVALID_ACTUAL_DAYS (kInvalidArgument, field "actual_days_at_claim"): below input.actual_days
//    or above 31;
//  - INSURANCE_STATEMENT_MISSING (kInvalidArgument, field "statement"): method 4 without it;
//  - INSURANCE_STATEMENT_DISPOSED (kFailedPrecondition): the statement was already disposed of;
//  - FUSHO_TEKIYO_INCOMPLETE (kFailedPrecondition): the 不詳 route with the statement invalid or
//    an 摘要 item missing — every problem as a FieldViolation ("statement.phone",
//    "statement.insurer_name", "patient_contacted_on", …).
Result<ClaimDecision> RouteClaim(const ClaimOutcome& outcome);

// Builds the 不詳 摘要 from a 申立書 and the patient-contact date: the eight items of seed 003
// p.18, one per line, in this order: 不詳, カナ氏名, 保険種別 (国保組合 noted), 保険者等名称,
// 事業所名 ("なし" only when the 保険種別 needs none and none was written), 住所 (plus the other
// address), 連絡先, 患者への連絡を行った日 (和暦).
// Errors: INSURANCE_STATEMENT_DISPOSED; FUSHO_TEKIYO_INCOMPLETE with one FieldViolation per
// missing item (the contact date also when before the form's date); no partial text.
Result<std::string> BuildUnknownTekiyo(const InsuranceStatement& statement,
                                       const std::optional<oqs::OqsDate>& patient_contacted_on);

}  // namespace onshid::core::fallback
