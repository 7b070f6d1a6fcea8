#pragma once
// The fallback case (代替確認の記録) as an aggregate, and the pure rules that change it (DOMAIN.md
// §7–9): a case per NEEDS_FALLBACK check-in (or opened by hand) holds the engine's inputs and its
// last decision, the evidence staff record for the method they applied (checked against the
// engine and against what each kind of evidence needs), the claim route, the follow-up tasks with
// their due days, the personal data a purge deletes, and the state of the automatic
// re-verification.
//
//   OPEN ──(Close: CLAIM_WORK_FINISHED with a route that still holds / CANCELLED /
//           VERIFIED_ONLINE)──▶ CLOSED
//
// Every rule is a function (case, input, now) → Change: the case as it is afterwards, the events
// that happened in order (each an entry of the proof of attempt and/or an event to publish) and
// the tasks to write. The application loads the case, calls one rule, and saves the Change in one
// transaction naming the version it loaded (core/fallback/case_store.h); on a version conflict it
// loads again and calls the rule again, so a rule must depend on nothing but its arguments.
// Refusals are DomainErrors (case_errors.h) and change nothing.
//
// Staff actions carry a request key ("<client>/<x-request-id>", "" for none): a rule called again
// with a key the case has applied answers with no change (Change::write false), so an action
// retried after its outcome was lost is not applied twice.
//
// Personal data (never log it): the identifiers of the known eligibilities, and everything in
// CasePersonalData. Proof entries never contain any.
//
// Pure: the standard library only; times and dates are passed in. Thread-compatible values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/checkin/check_in.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/fallback/claim.h"
#include "core/fallback/decision.h"
#include "core/fallback/statement.h"
#include "core/oqs/eligibility.h"
#include "core/oqs/identifiers.h"

namespace onshid::core::fallback {

// The actor of what the daemon does by itself (opening for a check-in, re-verification, purge).
inline constexpr std::string_view kDaemonActor = "onshid";

// Japan calendar dates as the case keeps them: YYYY-MM-DD.
std::string IsoDay(const oqs::OqsDate& date);
std::optional<oqs::OqsDate> ParseIsoDay(std::string_view text);  // nullopt unless a real date

// ---------------------------------------------------------------------------------------------
// Evidence

enum class EvidenceKind {
  kMethodApplied,     // a method of the engine was applied (with its evidence)
  kCardFace,          // error 011: card-face data recorded, 3割 collected
  kPatientContacted,  // 患者への連絡を行った日
  kEligibilityFound,  // the patient provided, or the facility found, the eligibility afterwards
};
std::string_view ToString(EvidenceKind kind);  // "METHOD_APPLIED", … (stable)
std::optional<EvidenceKind> EvidenceKindFromString(std::string_view name);

// Error 011: the card-face data recorded instead of an online result (氏名, 性別, 生年月日, and
// 住所 or 保険者名). Personal data.
struct CardFace {
  std::string name;
  DeclaredSex sex = DeclaredSex::kUnset;
  std::optional<oqs::OqsDate> birth_date;
  std::string address;
  std::string insurer_name;
};

// 口頭確認: who answered, what was confirmed, and against which held eligibility.
struct OralConfirmation {
  std::string answered_by;  // "PATIENT", "FAMILY", "GUARDIAN"
  // The patient confirmed that the held eligibility has not changed since the last visit.
  bool no_change_confirmed = false;
  // Which entry of the case's known eligibilities (source PAST_VISITS) was confirmed, 0-based.
  int held_eligibility_index = 0;
};

// What staff record (RecordEvidence).
struct EvidenceInput {
  EvidenceKind kind = EvidenceKind::kMethodApplied;
  std::string staff_id;  // who recorded it (required)
  // kMethodApplied.
  std::optional<Method> method;
  // The eligibility seen (資格確認書, provisional query, portal screen, お知らせ, 災害時 lookup,
  // 目視確認モード then OQS) or found afterwards (kEligibilityFound). Recorded with source
  // kConfirmed. A given insurer_number must be a 保険者番号 with a valid check digit.
  std::optional<KnownEligibility> eligibility;
  bool portal_pdf = false;  // the マイナポータル screen was shown as a PDF
  std::optional<OralConfirmation> oral;
  std::optional<InsuranceStatement> statement;
  std::optional<int> amount_collected_yen;   // 10割 (or 3割 after error 011) collected
  std::optional<CardFace> card_face;         // kCardFace
  std::optional<oqs::OqsDate> contacted_on;  // kPatientContacted
};

// One recorded piece of evidence as the case keeps it (a summary without personal data).
struct CaseEvidence {
  std::int64_t seq = 0;  // 1, 2, … per case
  EvidenceKind kind = EvidenceKind::kMethodApplied;
  std::optional<Method> method;
  std::string staff_id;
  SystemTime at{};
  std::string rule_id;  // the engine rule that allowed the method
  bool eligibility_recorded = false;
  bool statement_recorded = false;
  bool card_face_recorded = false;
  std::optional<int> amount_collected_yen;
  std::optional<std::string> contacted_on;  // YYYY-MM-DD
  std::string oral_answered_by;
};

// ---------------------------------------------------------------------------------------------
// The case

enum class CaseState { kOpen, kClosed };
std::string_view ToString(CaseState state);  // "OPEN", "CLOSED"
std::optional<CaseState> CaseStateFromString(std::string_view name);

// The automatic re-verification of a case whose check-in's query could not be sent or answered.
enum class ReverifyState {
  kNone,    // not re-verifiable
  kQueued,  // waits for the terminal to be idle
  kSent,    // re-sent; the answer is awaited
  kDone,    // answered (or the case closed)
  kGaveUp,  // the attempts ran out: staff take over
};
std::string_view ToString(ReverifyState state);  // "NONE", "QUEUED", "SENT", "DONE", "GAVE_UP"
std::optional<ReverifyState> ReverifyStateFromString(std::string_view name);

// The route the claim was given (ChooseClaimRoute, or CURRENT when verified online).
struct ClaimSummary {
  ClaimRoute route = ClaimRoute::kSelfPay;
  Rule rule;
  std::vector<Rule> notes;
  std::string engine_version;
  SystemTime chosen_at{};
  std::string chosen_by;
};

// What the engine answered when the case was last evaluated, as ids (kept with the case and in
// the proof of attempt; a view decides again on the current engine).
struct DecisionSummary {
  // Decide refused: its reason and the fields it named; the rest is empty.
  std::string error;
  std::vector<std::string> error_fields;
  std::string engine_version;
  Method first_choice = Method::kFullSelfPay;
  Charge charge = Charge::kNormalRatio;
  std::string charge_rule;
  std::vector<std::string> charge_notes;
  struct Line {
    Method method = Method::kFullSelfPay;
    bool allowed = false;
    std::string rule;
    std::optional<ClaimRoute> leads_to;  // set when allowed
  };
  std::vector<Line> methods;
};
DecisionSummary Summarize(const Result<Decision>& decided);

// Follow-up work a case creates for staff.
enum class TaskKind {
  kContactPatient,      // 患者に連絡し、資格情報を確認する
  kRequeryBeforeClaim,  // 請求前に資格を再照会する
  kRefundDifference,    // 10割との差額を返金する
  kReturnWatch,         // 返戻がないか見守る
};
std::string_view ToString(TaskKind kind);  // "CONTACT_PATIENT", "REQUERY_BEFORE_CLAIM", …
std::optional<TaskKind> TaskKindFromString(std::string_view name);

enum class TaskState { kOpen, kDone, kCancelled };
std::string_view ToString(TaskState state);  // "OPEN", "DONE", "CANCELLED"
std::optional<TaskState> TaskStateFromString(std::string_view name);

struct CaseTask {
  std::string id;  // "tk_<case id suffix>_<n>"
  TaskKind kind = TaskKind::kContactPatient;
  TaskState state = TaskState::kOpen;
  std::string due_day;  // YYYY-MM-DD (Japan)
  SystemTime created_at{};
  std::optional<SystemTime> done_at;
  std::string done_by;
  std::string why;      // English, no personal data
  std::string why_ja;   // for the clerk
  std::string route;    // kReturnWatch: the claim route watched
  std::string outcome;  // once done: "DONE" or "CLAIM_RETURNED"
};

// What a purge deletes, besides the identifiers of Case::input.known_eligibilities.
struct CasePersonalData {
  std::optional<KnownEligibility> confirmed;    // the eligibility seen, held or found
  std::optional<KnownEligibility> claim_with;   // the eligibility the route claims with
  std::optional<InsuranceStatement> statement;  // the 申立書
  std::optional<CardFace> card_face;            // error 011
  std::optional<std::string> contacted_on;      // YYYY-MM-DD
  std::string tekiyo;                           // the 不詳 摘要 ("" when none)
};

struct Case {
  std::string id;            // "fb_…"
  std::int64_t version = 0;  // as loaded (0: not stored yet)
  std::string client_key;    // idempotency key of the request that opened it ("" by the daemon)
  std::string check_in_id;   // "" when opened by hand without one
  CaseState state = CaseState::kOpen;
  std::string day;  // YYYY-MM-DD the case was opened for
  SystemTime opened_at{};
  SystemTime updated_at{};
  std::optional<SystemTime> closed_at;
  bool has_personal_data = false;  // as the store last reported it

  std::string opened_by;     // token name or "onshid"
  std::string close_reason;  // "CLAIM_WORK_FINISHED", "CANCELLED", "VERIFIED_ONLINE"
  // The engine's inputs (the identifiers of known eligibilities are personal data) and what the
  // engine answered for them when last evaluated.
  FallbackCase input;
  std::vector<std::string> unconfirmed_facts;  // inputs the daemon guessed: "age", …
  DecisionSummary decision;
  std::vector<CaseEvidence> evidence;
  std::optional<Method> applied_method;  // of the latest METHOD_APPLIED evidence
  std::optional<ClaimSummary> claim;     // cleared by new evidence
  CasePersonalData personal;
  std::optional<SystemTime> purged_at;  // personal data deleted (never written again)
  ReverifyState reverify = ReverifyState::kNone;
  int reverify_attempts = 0;
  // Request keys of the staff actions applied, the most recent kAppliedRequestsKept.
  std::vector<std::string> applied_requests;
  static constexpr std::size_t kAppliedRequestsKept = 32;
  int task_seq = 0;             // tasks numbered so far
  std::vector<CaseTask> tasks;  // every task of the case

  bool Closed() const { return state == CaseState::kClosed; }
  bool Applied(const std::string& request_key) const;  // false for ""
};

// ---------------------------------------------------------------------------------------------
// What a rule produces

// An entry of the proof of attempt. Each kind's detail; none holds personal data.
namespace proof {
struct OpenedByHand {};
struct OpenedForCheckIn {
  std::string check_in_id;
  std::optional<FallbackCause> check_in_cause;
  ReverifyState reverify = ReverifyState::kNone;
  std::vector<std::string> unconfirmed_facts;
};
struct Evaluated {
  std::string why;     // "OPENED", "REVISED", "REVERIFIED"
  FallbackCase input;  // recorded without the identifiers of known eligibilities
  DecisionSummary decision;
};
struct EvidenceRecorded {
  CaseEvidence evidence;
};
struct ClaimRouteRefused {
  std::string reason;
  std::vector<std::string> fields;
};
struct ClaimRouteChosen {
  ClaimRoute route = ClaimRoute::kSelfPay;
  std::string rule;
  std::vector<std::string> notes;
  std::string engine_version;
  bool tekiyo_built = false;
};
struct Closed {
  std::string reason;
  std::string route;  // "" without one
  bool keep_personal_data = false;
};
struct Purged {
  std::string why;  // "CLAIM_WORK_FINISHED", "RETENTION_EXPIRED"
  std::optional<std::int64_t> retention_hours;
};
struct TaskDone {
  std::string task_id;
  TaskKind kind = TaskKind::kContactPatient;
  std::string outcome;
  std::string staff_id;
};
struct VerifiedOnline {
  std::string check_in_id;
  std::int64_t result_id = 0;
};
struct ReverifySent {
  int attempt = 0;
};
struct ReverifyFailed {
  int attempt = 0;
  std::string reason;
  ReverifyState next = ReverifyState::kQueued;
};
struct Reverified {
  int attempt = 0;
  std::int64_t result_id = 0;
  bool valid = false;
  std::optional<FallbackCause> cause;
};
}  // namespace proof

using ProofDetail =
    std::variant<proof::OpenedByHand, proof::OpenedForCheckIn, proof::Evaluated,
                 proof::EvidenceRecorded, proof::ClaimRouteRefused, proof::ClaimRouteChosen,
                 proof::Closed, proof::Purged, proof::TaskDone, proof::VerifiedOnline,
                 proof::ReverifySent, proof::ReverifyFailed, proof::Reverified>;
// The attempt kind: "OPENED", "EVALUATED", "EVIDENCE", "CLAIM_ROUTE_REFUSED", "CLAIM_ROUTE",
// "CLOSED", "PURGED", "TASK_DONE", "VERIFIED_ONLINE", "REVERIFY_SENT", "REVERIFY_FAILED",
// "REVERIFIED".
std::string_view ProofKind(const ProofDetail& detail);

// An event for subscribers: its type ("fallback.evidence_recorded"), its reason, and attributes
// after case_id and reason (no personal data).
struct Publication {
  std::string type;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> attributes;
};

// One thing that happened to a case: recorded in its proof of attempt, published, or both.
struct CaseEvent {
  SystemTime at{};
  std::string actor;
  std::optional<ProofDetail> proof;
  std::optional<Publication> publication;
};

struct Change {
  bool write = true;  // false: nothing happened (e.g. a retried request); answer with `after`
  Case after;         // version as loaded: the store assigns the next one
  std::vector<CaseEvent> events;     // in order
  std::vector<CaseTask> tasks;       // new or changed tasks, in order (also in after.tasks)
  bool purge_personal_data = false;  // delete the stored personal data
};

// ---------------------------------------------------------------------------------------------
// From a check-in to the engine's inputs

// What a case needs of its check-in.
struct CheckInFacts {
  std::string id;
  std::string day;  // YYYY-MM-DD
  checkin::CheckInState state = checkin::CheckInState::kWaiting;
  std::optional<FallbackCause> cause;
  checkin::Channel channel = checkin::Channel::kManual;
  std::vector<Document> documents;
  VisitKind visit = VisitKind::kFirstVisit;
  int real_days_this_month = 0;                  // before this visit
  std::string query_birth_date;                  // YYYYMMDD of the check-in's query; "" without one
  std::optional<oqs::EligibilityResult> result;  // the check-in's result, when it has one
  bool can_reverify = false;                     // its query can be re-sent automatically
};

struct DerivedInput {
  FallbackCase input;
  std::vector<std::string> unconfirmed;  // "age", "has_valid_insurance_now", "known_eligibilities"
};

// The engine's inputs for a check-in: its cause (kNetworkError when it has none yet); what was
// presented (a face-reader check-in had the card on the reader); the visit kind; 実日数 = the
// days so far this month + this visit, clamped to 1–31; the visit date; the 旧資格 a 資格(無効)
// result shows; the age bracket from the result's (else the query's) birth date on the visit date
// (75 and over 後期高齢者, 70–74, under 70; "age" is unconfirmed without one). Whether the patient
// holds valid insurance now is always a guess, and so are the known eligibilities of a revisit.
DerivedInput DeriveInput(const CheckInFacts& check_in, bool reads_smartphones);

// ---------------------------------------------------------------------------------------------
// The rules

struct NewCase {
  std::string id;          // "fb_…"
  std::string client_key;  // "" when opened by the daemon
  std::string actor;       // token name or "onshid"
};

// Opens a case by hand for `input` (its date defaults to today). Events: OPENED (by hand) with
// fallback.case_opened OPENED_BY_HAND, then EVALUATED. Errors: INVALID_FALLBACK_CASE —
// CaseInputRequired without inputs, Decide's with its fields.
Result<Change> OpenByHand(const NewCase& new_case, const std::optional<FallbackCase>& input,
                          SystemTime now);

// Opens the case of a NEEDS_FALLBACK check-in: inputs derived from it (DeriveInput), or `given`
// (its date defaulting to the check-in's day; nothing is unconfirmed then). A check-in whose
// cause is kNetworkError and that can be re-verified is queued for re-verification. Events: OPENED
// with fallback.case_opened (CHECKIN_NEEDS_FALLBACK when the daemon opens it, else
// OPENED_BY_HAND), fallback.reverify_queued when queued, then EVALUATED. Errors:
// CHECKIN_NOT_IN_FALLBACK; Decide's INVALID_FALLBACK_CASE for `given`.
Result<Change> OpenForCheckIn(const NewCase& new_case, const CheckInFacts& check_in,
                              const std::optional<FallbackCase>& given, bool reads_smartphones,
                              SystemTime now);

// Checks inputs given by staff (their date defaulting to `today`) the way opening and revising
// do: Decide's INVALID_FALLBACK_CASE; other refusals of Decide (CERTIFICATE_IN_GRACE) are kept
// with the case as its decision.
Result<FallbackCase> CheckGivenInput(FallbackCase input, const oqs::OqsDate& today);

// Replaces the inputs (already checked by CheckGivenInput) and decides again (EVALUATED,
// REVISED); nothing is unconfirmed any more. Errors: CASE_CLOSED.
Result<Change> Revise(const Case& c, const FallbackCase& input, const std::string& actor,
                      const std::string& request_key, SystemTime now);

// What evidence of `kind` (and, for METHOD_APPLIED, of `in.method`) must carry, as
// FieldViolations named relative to the evidence ("staff_id", "eligibility.insurer_number",
// "statement", "oral.answered_by", "amount_collected_yen", "card_face.name", "contacted_on", …),
// checked against the case. Does not check whether the engine allows the method, nor the 申立書
// itself. A 保険者番号 given with the eligibility must have a valid check digit; `detail_ja` then
// says so in Japanese.
std::vector<FieldViolation> EvidenceViolations(const Case& c, const EvidenceInput& in,
                                               const oqs::OqsDate& today, std::string* detail_ja);

// Records evidence. METHOD_APPLIED: the engine must allow the method (METHOD_NOT_ALLOWED with the
// rule); a 申立書 is validated (INVALID_INSURANCE_STATEMENT, fields "evidence.statement.*" and the
// evidence's other violations); the rest is INVALID_EVIDENCE naming each field under "evidence.".
// CARD_FACE only after error 011 (EVIDENCE_NOT_APPLICABLE). Errors also: CASE_CLOSED; Decide's.
// Follow-up tasks (none twice while one of the kind is open):
//  - 事後確認, 申立書, 10割: CONTACT_PATIENT due a week after today but within the visit's month,
//    REQUERY_BEFORE_CLAIM due the last day of the visit's month;
//  - 災害時 lookup without an eligibility, and CARD_FACE: REQUERY_BEFORE_CLAIM due the month's end;
//  - PATIENT_CONTACTED completes the open CONTACT_PATIENT tasks;
//  - ELIGIBILITY_FOUND after a 10割: REFUND_DIFFERENCE due in 14 days.
// Recording evidence clears a chosen claim route. Events: EVIDENCE with
// fallback.evidence_recorded, then fallback.task_created / fallback.task_completed.
Result<Change> RecordEvidence(const Case& c, const EvidenceInput& in, const std::string& actor,
                              const std::string& request_key, SystemTime now);

// The answer of ChooseClaimRoute: a refusal is recorded (CLAIM_ROUTE_REFUSED) and then returned,
// and its request key is not marked applied (a retry is refused again, never answered OK).
struct ClaimRouteAnswer {
  Change change;
  std::optional<DomainError> refused;
};
// Routes the claim (RouteClaim on what is recorded) and keeps the route; 不詳 keeps the 摘要.
// Refusals (recorded): RouteClaim's errors, CLAIM_ROUTE_MISMATCH when `expected` differs.
// Errors (nothing recorded): CASE_CLOSED, NO_METHOD_APPLIED. Notes that call for follow-ups create
// REFUND_DIFFERENCE / CONTACT_PATIENT due in 14 days unless one of the kind is open.
Result<ClaimRouteAnswer> ChooseClaimRoute(const Case& c, std::optional<ClaimRoute> expected,
                                          std::optional<int> actual_days_at_claim,
                                          const std::string& actor, const std::string& request_key,
                                          SystemTime now);

struct CloseInput {
  std::string reason = "CLAIM_WORK_FINISHED";  // or "CANCELLED"
  bool keep_personal_data = false;
};
// INVALID_CLOSE_REASON unless the reason is one of the two (checked before the case is read).
Status CheckCloseInput(const CloseInput& in);
// Closes the case. CLAIM_WORK_FINISHED needs a route (NO_CLAIM_ROUTE) that still holds on what is
// recorded (RouteClaim's errors; CLAIM_ROUTE_STALE). Open tasks are cancelled except
// REFUND_DIFFERENCE and RETURN_WATCH; a finished 不詳 / 旧資格 / 事後確認 claim is watched for a
// 返戻 (RETURN_WATCH due `return_watch_days` after today). The personal data is purged unless
// kept. Errors also: INVALID_CLOSE_REASON (CheckCloseInput), CASE_CLOSED.
Result<Change> Close(const Case& c, const CloseInput& in, int return_watch_days,
                     const std::string& actor, const std::string& request_key, SystemTime now);

// Deletes the personal data of a closed case whose retention ran out (PURGED, RETENTION_EXPIRED).
Change PurgeExpired(const Case& c, std::int64_t retention_hours, SystemTime now);

struct TaskCompletion {
  Change change;
  CaseTask task;  // as it is afterwards
};
// INVALID_TASK_COMPLETION naming "outcome" (not "", "DONE" or "CLAIM_RETURNED") and "staff_id"
// (required); checked before the case is read.
Status CheckTaskCompletion(const std::string& outcome, const std::string& staff_id);
// Completes an open task: outcome "DONE" (or "" for it) or "CLAIM_RETURNED" (a RETURN_WATCH only).
// Errors: CheckTaskCompletion's, TASK_NOT_FOUND, TASK_NOT_OPEN, INVALID_TASK_COMPLETION for
// CLAIM_RETURNED on another kind of task.
Result<TaskCompletion> CompleteTask(const Case& c, const std::string& task_id,
                                    const std::string& outcome, const std::string& staff_id,
                                    const std::string& actor, const std::string& request_key,
                                    SystemTime now);
// The case a task id belongs to ("tk_<suffix>_<n>" → "fb_<suffix>"); nullopt when malformed.
std::optional<std::string> CaseIdOfTask(const std::string& task_id);

// The check-in was verified online: an open case without a claim route is routed to the current
// eligibility (the result's, kept as confirmed) and closed as VERIFIED_ONLINE with its personal
// data purged. Events: VERIFIED_ONLINE, then CLOSED and PURGED. No change for a closed case or one
// staff routed already.
Change VerifiedOnline(const Case& c, const std::string& check_in_id, std::int64_t result_id,
                      const oqs::EligibilityResult* result, SystemTime now);

// Marks a queued (or sent, when the daemon stopped before the answer) re-verification as sent,
// counting the attempt (REVERIFY_SENT). No change when the case is closed or not waiting for one.
Change SendReverification(const Case& c, SystemTime now);

// What a re-sent query came back with.
struct ReverifyOutcome {
  std::optional<DomainError> failure;  // not answered
  std::int64_t result_id = 0;
  std::optional<oqs::EligibilityResult> result;  // parsed, when it could be
};
// Applies a re-verification's outcome. Not answered: queued again, or GAVE_UP once
// `max_attempts` were made (REVERIFY_FAILED). Answered (REVERIFIED): a single valid result closes
// the case as VERIFIED_ONLINE unless staff routed it already; a result that is a cause of its own
// (資格(無効), …) becomes the case's cause, with the 旧資格 it shows, and the case is decided
// again. No change for a closed case.
Change ApplyReverification(const Case& c, const ReverifyOutcome& outcome, int max_attempts,
                           SystemTime now);

}  // namespace onshid::core::fallback
