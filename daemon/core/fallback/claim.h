#pragma once
// Claim routing after a fallback (DOMAIN.md §8, seed 003): given the method staff applied and what
// it found, how is the レセプト claimed — 現在の資格, 旧資格, 不詳, 事後確認 (実日数 ≥ 2) or 10割 —
// and, for 不詳, the 摘要 text with every mandatory item.
//
// RouteClaim is pure and re-runs Decide on the same case, so a method the engine blocks can never
// be routed. A 不詳 route is returned only when all its conditions hold and the 摘要 is complete;
// otherwise an error names every missing item (the case must not be closed as 不詳).
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
  // The eligibility seen with methods 1, 2 and 資格確認書, the held one confirmed orally (3; when
  // absent the past-visit eligibility of `input` is used), or one the patient provided afterwards
  // (any method: §8 "(a) if the patient provided eligibility later, claim with it").
  std::optional<KnownEligibility> confirmed;
  // The 申立書 (method 4 only).
  std::optional<InsuranceStatement> statement;
  // 患者への連絡を行った日: the facility contacted the patient about their eligibility (§8 (a)).
  std::optional<oqs::OqsDate> patient_contacted_on;
};

struct ClaimDecision {
  std::string engine_version;  // kEngineVersion
  ClaimRoute route = ClaimRoute::kSelfPay;
  Rule rule;  // why this route
  // The eligibility to claim with (kCurrent, kOldEligibility).
  std::optional<KnownEligibility> claim_with;
  // 摘要 text ready to paste into the claim (kUnknown only; empty otherwise).
  std::string tekiyo;
  // Further instructions for staff (e.g. refund after 10割, 70+ self-declared ratio).
  std::vector<Rule> notes;
};

// Routes the claim for `outcome`.
// Errors:
//  - Decide's INVALID_FALLBACK_CASE for an inconsistent case;
//  - METHOD_NOT_ALLOWED (kFailedPrecondition): the engine blocks method_applied for this case;
//    metadata "rule" carries the blocking rule id;
//  - FUSHO_NOT_ALLOWED (kFailedPrecondition): method 4 applied but a 不詳 condition fails (valid
//    insurance now, My Number card presented, first visit); one FieldViolation per condition
//    ("input.has_valid_insurance_now", "input.presented", "input.visit");
//  - CLAIM_ELIGIBILITY_MISSING (kInvalidArgument): methods 1, 2, 資格確認書 without `confirmed`,
//    or method 3 with neither `confirmed` nor a past-visit eligibility ("confirmed");
//  - INSURANCE_STATEMENT_MISSING (kInvalidArgument): method 4 without `statement`;
//  - FUSHO_TEKIYO_INCOMPLETE (kFailedPrecondition): the 不詳 route with the statement invalid or
//    an 摘要 item missing — every problem as a FieldViolation ("statement.phone",
//    "statement.insurer_name", "patient_contacted_on", …);
//  - INSURANCE_STATEMENT_DISPOSED when the statement was already disposed of.
Result<ClaimDecision> RouteClaim(const ClaimOutcome& outcome);

// Builds the 不詳 摘要 from a 申立書 and the patient-contact date. Items, one per line, in this
// order: 不詳, カナ氏名, 保険種別, 保険者等名称, 事業所名 ("なし" when the 保険種別 does not require
// one and none was written), 住所 (plus the other address), 連絡先, 患者への連絡を行った日 (和暦).
// Errors: FUSHO_TEKIYO_INCOMPLETE with one FieldViolation per missing item; no partial text.
Result<std::string> BuildUnknownTekiyo(const InsuranceStatement& statement,
                                       const std::optional<oqs::OqsDate>& patient_contacted_on);

}  // namespace onshid::core::fallback
