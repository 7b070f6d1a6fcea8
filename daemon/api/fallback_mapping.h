#pragma once
// The fallback decision engine (core/fallback/decision.h) and the fallback cases
// (app/fallback_cases.h) as API messages (onshi/v1/fallback.proto), both ways, and the request
// checks FallbackService's case methods share.
//
// Enums: every proto value is its enum's prefix plus the core's stable name (api/enum_mapping.h;
// the cause, documents and visit are the shared vocabulary of api/reception_mapping.h). The enum
// FromProto functions give nullopt for UNSPECIFIED and for numbers outside the enum (proto3 enums
// are open), except NewbornStatus, whose UNSPECIFIED is read as not a newborn, and the 申立書 enums
// (InsuranceType, IssuedWhen, DeclaredRatio, DeclaredSex), whose UNSPECIFIED is the core's kUnset
// ("not ticked": the 申立書 check names it).
//
// Pure: no I/O, no clock (the caller passes today's date). The messages may contain personal data
// (known eligibilities, the 申立書, card-face data, the 摘要): never log them.

#include <optional>
#include <string>

#include "api/reception_mapping.h"
#include "app/fallback_cases.h"
#include "core/error.h"
#include "core/fallback/case_store.h"
#include "core/fallback/decision.h"
#include "core/fallback/statement.h"
#include "core/oqs/identifiers.h"
#include "onshi/v1/fallback.pb.h"

namespace onshid::api {

onshi::v1::AgeBracket ToProto(core::fallback::AgeBracket age);
std::optional<core::fallback::AgeBracket> FromProto(onshi::v1::AgeBracket age);
onshi::v1::NewbornStatus ToProto(core::fallback::Newborn newborn);
std::optional<core::fallback::Newborn> FromProto(onshi::v1::NewbornStatus newborn);
onshi::v1::KnownEligibilitySource ToProto(core::fallback::KnownEligibility::Source source);
std::optional<core::fallback::KnownEligibility::Source> FromProto(
    onshi::v1::KnownEligibilitySource source);
onshi::v1::FallbackMethod ToProto(core::fallback::Method method);
std::optional<core::fallback::Method> FromProto(onshi::v1::FallbackMethod method);
onshi::v1::FallbackCharge ToProto(core::fallback::Charge charge);
std::optional<core::fallback::Charge> FromProto(onshi::v1::FallbackCharge charge);
onshi::v1::ClaimRoute ToProto(core::fallback::ClaimRoute route);
std::optional<core::fallback::ClaimRoute> FromProto(onshi::v1::ClaimRoute route);

// The whole case with every default made explicit (optional fields set, date and
// certificate_expiry as YYYY-MM-DD, newborn NOT_NEWBORN rather than UNSPECIFIED), so that
// FromProto(ToProto(c), any day) == c for every case with a date.
onshi::v1::FallbackCase ToProto(const core::fallback::FallbackCase& fallback_case);

// FallbackCase → engine input. `today` (the Japan calendar date by the daemon's clock) is the
// date when `date` is empty. Absent optional fields take the core defaults (actual_days 1,
// has_valid_insurance_now true, facility.oqs_available true). Contradictions between the fields
// are left to Decide.
// Error: INVALID_FALLBACK_CASE (kInvalidArgument) with one FieldViolation per problem, each named
// by its path under `field_prefix` (e.g. "fallback_case.cause"): cause, visit or age UNSPECIFIED
// or unknown; newborn unknown; known_eligibilities[i].source UNSPECIFIED or unknown;
// known_eligibilities[i].ratio_wari outside 1–3; date or certificate_expiry not YYYY-MM-DD or not
// a calendar date. The Japanese message names the wrong items for the clerk.
core::Result<core::fallback::FallbackCase> FromProto(const onshi::v1::FallbackCase& fallback_case,
                                                     const core::oqs::OqsDate& today,
                                                     const std::string& field_prefix = "");

// An engine error (Decide's INVALID_FALLBACK_CASE or CERTIFICATE_IN_GRACE) for an API caller: each
// field path prefixed with `field_prefix` ("fallback_case."); for INVALID_FALLBACK_CASE the
// Japanese message also names the items the clerk should look at. Other errors pass unchanged.
core::DomainError ToApiError(core::DomainError engine_error, const std::string& field_prefix);

// The decision, methods in the engine's order, with Japanese names and the echoed input.
onshi::v1::EvaluateOptionsResponse ToProto(const core::fallback::Decision& decision);
// The same fields without the input (FallbackCaseRecord.decision); filled by the same code.
onshi::v1::FallbackDecision ToDecisionProto(const core::fallback::Decision& decision);

// --- Fallback cases --------------------------------------------------------------------------

onshi::v1::Era ToProto(core::fallback::Era era);
std::optional<core::fallback::Era> FromProto(onshi::v1::Era era);
onshi::v1::InsuranceType ToProto(core::fallback::InsuranceType type);
std::optional<core::fallback::InsuranceType> FromProto(onshi::v1::InsuranceType type);
onshi::v1::IssuedWhen ToProto(core::fallback::IssuedWhen when);
std::optional<core::fallback::IssuedWhen> FromProto(onshi::v1::IssuedWhen when);
onshi::v1::DeclaredRatio ToProto(core::fallback::DeclaredRatio ratio);
std::optional<core::fallback::DeclaredRatio> FromProto(onshi::v1::DeclaredRatio ratio);
onshi::v1::DeclaredSex ToProto(core::fallback::DeclaredSex sex);
std::optional<core::fallback::DeclaredSex> FromProto(onshi::v1::DeclaredSex sex);
onshi::v1::FallbackEvidenceKind ToProto(app::EvidenceKind kind);
std::optional<app::EvidenceKind> FromProto(onshi::v1::FallbackEvidenceKind kind);
onshi::v1::FallbackReverifyState ToProto(app::ReverifyState state);
// The app's stable strings ("OPEN", "CLOSED", "CLAIM_WORK_FINISHED", "PATIENT", …) as enums;
// UNSPECIFIED for an empty string or one this API does not know.
onshi::v1::FallbackCaseState CaseStateFromString(const std::string& state);
onshi::v1::FallbackCloseReason CloseReasonFromString(const std::string& reason);
onshi::v1::FallbackTaskState TaskStateFromString(const std::string& state);
onshi::v1::OralAnswerer OralAnswererFromString(const std::string& answered_by);

// The 申立書 both ways: FromProto(ToProto(s), p) == s for every form not disposed of
// (disposed_on is the daemon's and has no field). written_on as YYYY-MM-DD.
onshi::v1::InsuranceStatement ToProto(const core::fallback::InsuranceStatement& statement);
// Reads the form without judging it (Validate does, in the use case). Error: INVALID_EVIDENCE
// (kInvalidArgument) with one FieldViolation per field that cannot be read, named under
// `field_prefix` (e.g. "evidence.statement."): an unknown enum number, birth_date.era UNSPECIFIED
// (a birth date needs its era), written_on not a YYYY-MM-DD calendar date.
core::Result<core::fallback::InsuranceStatement> FromProto(
    const onshi::v1::InsuranceStatement& statement, const std::string& field_prefix);

// FallbackEvidence → use-case input. Absent sub-messages (eligibility, oral, statement,
// card_face) stay absent; empty dates are absent; the eligibility's source becomes kConfirmed.
// Error: INVALID_EVIDENCE (kInvalidArgument), one FieldViolation per problem named under
// `field_prefix`: kind UNSPECIFIED or unknown; method unknown, or UNSPECIFIED with kind
// METHOD_APPLIED; eligibility.ratio_wari outside 1–3; oral.answered_by UNSPECIFIED or unknown;
// oral.held_eligibility_index negative; the statement's fields as above ("statement.…");
// amount_collected_yen negative; card_face.sex unknown; card_face.birth_date and contacted_on not
// YYYY-MM-DD calendar dates. The Japanese message names the items for the clerk. Whether the
// kind and method have all the evidence they need is the use case's to check.
core::Result<app::EvidenceInput> FromProto(const onshi::v1::FallbackEvidence& evidence,
                                           const std::string& field_prefix = "evidence.");

// OpenCaseRequest → input; `client_key` is "<principal>/<request id>". fallback_case, when given,
// is read as by FromProto(FallbackCase) under "fallback_case."; check_in_id, when given, must be
// 1..128 printable ASCII characters (INVALID_CHECKIN_ID).
core::Result<app::OpenCaseInput> FromProto(const onshi::v1::OpenCaseRequest& request,
                                           std::string client_key,
                                           const core::oqs::OqsDate& today);
// Errors: INVALID_EXPECTED_ROUTE naming "expected_route" (an unknown number). UNSPECIFIED is no
// expectation; actual_days_at_claim is checked by the use case.
core::Result<app::ClaimRouteInput> FromProto(const onshi::v1::ChooseClaimRouteRequest& request);
// Errors: INVALID_CLOSE_REASON naming "reason": UNSPECIFIED, VERIFIED_ONLINE (the daemon's own)
// or unknown.
core::Result<app::CloseCaseInput> FromProto(const onshi::v1::CloseCaseRequest& request);
// Empty strings and UNSPECIFIED are "not given"; limit 0 is the default (200). Errors:
// INVALID_FALLBACK_FILTER naming "state" (unknown), "day" (not YYYY-MM-DD), "check_in_id" (not
// 1..128 printable ASCII) or "limit" (outside 0..1000).
core::Result<app::CaseFilter> FromProto(const onshi::v1::ListCasesRequest& request);
// As above for "case_id", "state", "due_on_or_before" and "limit".
core::Result<core::fallback::TaskQuery> FromProto(const onshi::v1::ListTasksRequest& request);
// "DONE" (also for UNSPECIFIED) or "CLAIM_RETURNED". Error: INVALID_TASK_OUTCOME naming
// "outcome" for an unknown number.
core::Result<std::string> TaskOutcomeFromProto(onshi::v1::FallbackTaskOutcome outcome);

// A case as the API shows it: every field of the view; the decision error with its field paths
// under "input." (as ToApiError). Contains personal data while the case keeps it.
onshi::v1::FallbackCaseRecord ToProto(const app::FallbackCaseView& view);
onshi::v1::FallbackTask ToProto(const core::fallback::Task& task);

// FAILED_PRECONDITION FALLBACK_CASES_UNAVAILABLE: the daemon was wired without fallback cases.
core::DomainError FallbackCasesUnavailable();
// A case_id / task_id the caller names: 1..128 printable ASCII characters, as it is written into
// audit subjects. Errors: INVALID_CASE_ID naming "case_id", INVALID_TASK_ID naming "task_id".
std::optional<core::DomainError> CheckCaseId(const std::string& case_id);
std::optional<core::DomainError> CheckTaskId(const std::string& task_id);
// Audit subjects: "fallback_case:<id>", "fallback_task:<id>".
std::string CaseSubject(const std::string& case_id);
std::string TaskSubject(const std::string& task_id);

}  // namespace onshid::api
