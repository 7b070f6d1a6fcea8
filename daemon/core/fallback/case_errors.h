#pragma once
// The errors of the fallback case's rules (core/fallback/case.h), each reason defined here once
// with its English text (for IT staff, no personal data) and its Japanese text (for the reception
// clerk). The API layer and the use cases build these errors through this header only, so a reason
// never has two wordings.
//
// Pure: the standard library only.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fallback/decision.h"

namespace onshid::core::fallback {

// INVALID_EVIDENCE (kInvalidArgument): the evidence has missing or invalid fields.
// `violations` are named relative to the evidence ("staff_id", "statement.phone",
// "eligibility.insurer_number"); the error names each `prefix` + that name
// ("evidence.statement.phone"). The Japanese message lists the items for the clerk
// (「次の項目を確認してください：保険者番号、記録者」), followed by `detail_ja` when given (e.g.
// why a number is wrong).
DomainError InvalidEvidence(std::vector<FieldViolation> violations,
                            std::string_view prefix = "evidence.", std::string detail_ja = "");

// CASE_CLOSED (kFailedPrecondition, metadata "case_id"): nothing more can be recorded.
DomainError CaseClosed(const std::string& case_id);

// METHOD_NOT_ALLOWED (kFailedPrecondition, metadata "rule", "method"): the engine blocks `method`
// for the case; the messages carry the blocking rule's reasons.
DomainError MethodNotAllowed(Method method, const Rule& rule);

// EVIDENCE_NOT_APPLICABLE (kFailedPrecondition, field "evidence.kind"): card-face data is recorded
// only after terminal error 011.
DomainError CardFaceNotApplicable();

// NO_METHOD_APPLIED (kFailedPrecondition): no method was recorded before choosing the route.
DomainError NoMethodApplied();

// CLAIM_ROUTE_MISMATCH (kFailedPrecondition, metadata "route", "rule"): the engine routes the
// claim to `route` (because of `rule`), not to the one the caller expected.
DomainError ClaimRouteMismatch(ClaimRoute route, const Rule& rule);

// NO_CLAIM_ROUTE (kFailedPrecondition): CLAIM_WORK_FINISHED before a route was chosen.
DomainError NoClaimRoute();

// CLAIM_ROUTE_STALE (kFailedPrecondition): the chosen route no longer holds on what is recorded.
DomainError ClaimRouteStale();

// INVALID_CLOSE_REASON (kInvalidArgument, field "reason").
DomainError InvalidCloseReason();

// INVALID_FALLBACK_CASE (kInvalidArgument, field "fallback_case"): a case opened without a
// check-in needs its inputs.
DomainError CaseInputRequired();

// CHECKIN_NOT_IN_FALLBACK (kFailedPrecondition, metadata "check_in_id", "state"): the check-in
// is VERIFIED or WAITING; `state` is its stable name.
DomainError CheckInNotInFallback(const std::string& check_in_id, std::string_view state);

// TASK_NOT_FOUND (kNotFound).
DomainError TaskNotFound(const std::string& task_id);

// TASK_NOT_OPEN (kFailedPrecondition): the task is `state` ("DONE", "CANCELLED").
DomainError TaskNotOpen(std::string_view state);

// INVALID_TASK_COMPLETION (kInvalidArgument) naming each bad field ("outcome", "staff_id").
DomainError InvalidTaskCompletion(std::vector<FieldViolation> violations);
// INVALID_TASK_COMPLETION (kInvalidArgument, field "outcome"): CLAIM_RETURNED completes only a
// RETURN_WATCH task.
DomainError ClaimReturnedNeedsReturnWatch();

}  // namespace onshid::core::fallback
