#pragma once
// Fallback cases (issue 6): what reception does when マイナ保険証 verification fails — a case per
// NEEDS_FALLBACK check-in (or opened by hand), the engine's decision stored with its inputs and
// version, the evidence staff record for the method they applied (validated against the engine),
// the claim route, the follow-up tasks, the immutable proof of attempt, the purge of personal data
// when the claim work is finished, and the re-verification of queued check-ins once the terminal
// answers again.
//
// Storage: FallbackCaseStore (core/fallback/case_store.h). A case row's JSON body holds no personal
// data (decisions, rule ids, evidence summaries, tasks); every identifying value — known
// eligibilities' numbers, the eligibility seen, the 申立書, the card-face data of error 011, the 不詳
// 摘要 — lives in the case's personal data, which a purge deletes exactly. Attempts (the proof) never
// contain personal data.
//
// The rules are the core's (core/fallback/case.h); the stored form is app/fallback_case_record.h.
// Every change loads the case, asks the core, and saves the result in one transaction naming the
// version it loaded; when another writer (a thread of this daemon or another daemon of the site)
// saved the case in between, the store refuses (CASE_CONCURRENT_UPDATE) and the change is made
// again on the case as it is now, at most kWriteAttempts times (then CASE_CONCURRENT_UPDATE,
// kAborted, reaches the caller). No lock is held across database round trips.
//
// Threading: any thread. The re-verification completions are posted to the executor.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/checkin.h"
#include "app/eligibility.h"
#include "app/executor.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/fallback/case.h"
#include "core/fallback/case_store.h"
#include "core/fallback/claim.h"
#include "core/fallback/decision.h"
#include "core/fallback/statement.h"
#include "core/id_source.h"
#include "core/results.h"
#include "core/store.h"

namespace onshid::app {

// What the fallback cases need of check-ins (CheckInUseCases in the daemon; a fake in unit tests).
class CaseCheckIns {
 public:
  virtual ~CaseCheckIns() = default;
  virtual core::Result<CheckInView> Get(const std::string& id) = 0;
  // The stored result `id` (nullopt-free: CHECKIN results always exist once linked).
  virtual core::Result<ResultView> GetResult(std::int64_t id) = 0;
  // True when the check-in's verification can be re-run automatically (a document query).
  virtual bool CanReverify(const CheckInView& view) = 0;
  // Re-sends the check-in's query under a new request key, applies the answer to the check-in
  // (NEEDS_FALLBACK → VERIFIED on a valid result) and calls `done` with the result or the error.
  virtual void Reverify(const std::string& id, int attempt,
                        std::function<void(core::Result<ResultView>)> done) = 0;
};

struct FallbackOptions {
  // The facility's setup used for cases the daemon opens (staff may revise per case).
  bool reads_smartphones = false;
  // Closed cases kept with personal data (CloseCase keep_personal_data) lose it after this.
  std::chrono::hours personal_data_retention{24 * 90};
  // Re-verification of queued check-ins: at most one in flight, at least this far apart, and only
  // when the terminal has nothing else in flight (real-time traffic first).
  std::chrono::milliseconds reverify_interval{std::chrono::seconds{2}};
  // Give up re-verifying a case automatically after this many attempts (staff take over).
  int reverify_max_attempts = 20;
  // Days after closing a 不詳 / 旧資格 / 事後確認 claim to watch for a 返戻.
  int return_watch_days = 90;
};

// The case's own vocabulary is the core's (core/fallback/case.h).
using core::fallback::CardFace;
using core::fallback::CaseEvidence;
using core::fallback::ClaimSummary;
using core::fallback::EvidenceInput;
using core::fallback::EvidenceKind;
using core::fallback::OralConfirmation;
using core::fallback::ReverifyState;
inline std::string_view EvidenceKindName(EvidenceKind kind) {  // "METHOD_APPLIED", …
  return core::fallback::ToString(kind);
}
inline std::optional<EvidenceKind> EvidenceKindFromString(std::string_view name) {
  return core::fallback::EvidenceKindFromString(name);
}
inline std::string_view ReverifyStateName(ReverifyState s) {  // "NONE", "QUEUED", …
  return core::fallback::ToString(s);
}

// A case as the API shows it.
struct FallbackCaseView {
  std::string id;
  std::int64_t version = 0;
  std::string check_in_id;
  std::string state;  // "OPEN", "CLOSED"
  std::string day;
  core::SystemTime opened_at{};
  core::SystemTime updated_at{};
  std::optional<core::SystemTime> closed_at;
  std::string opened_by;  // token name or "onshid"
  std::string close_reason;  // "CLAIM_WORK_FINISHED", "VERIFIED_ONLINE", "CANCELLED"

  // The current inputs (known eligibilities with their identifiers only while personal data is
  // kept) and the decision for them; decision_error when Decide refused (e.g. CERTIFICATE_IN_GRACE).
  core::fallback::FallbackCase input;
  std::vector<std::string> unconfirmed_facts;  // inputs the daemon guessed: "age", …
  std::optional<core::fallback::Decision> decision;
  std::optional<core::DomainError> decision_error;

  std::vector<CaseEvidence> evidence;
  std::optional<ClaimSummary> claim;
  std::string tekiyo;  // 不詳 摘要 (personal data; empty once purged)
  std::optional<core::fallback::KnownEligibility> confirmed;  // personal; absent once purged
  bool has_personal_data = false;
  std::optional<core::SystemTime> purged_at;

  ReverifyState reverify = ReverifyState::kNone;
  int reverify_attempts = 0;

  std::vector<core::fallback::Task> tasks;
};

struct OpenCaseInput {
  std::string client_key;  // "<client>/<request id>": idempotency ("" when opened by the daemon)
  std::string check_in_id;  // optional
  // Required without a check-in; with one, given fields replace what the daemon derived from it.
  std::optional<core::fallback::FallbackCase> input;
};

struct ClaimRouteInput {
  // When set, the engine's route must be this one (CLAIM_ROUTE_MISMATCH otherwise).
  std::optional<core::fallback::ClaimRoute> expected;
  std::optional<int> actual_days_at_claim;
};

struct CloseCaseInput {
  std::string reason = "CLAIM_WORK_FINISHED";  // or "CANCELLED"
  // Keep the personal data until the scheduled purge (e.g. while the claim may still come back).
  bool keep_personal_data = false;
};

struct CaseFilter {
  std::optional<std::string> state;
  std::optional<std::string> day;
  std::optional<std::string> check_in_id;
  int limit = 200;
};

class FallbackCaseUseCases {
 public:
  FallbackCaseUseCases(core::fallback::FallbackCaseStore& store, core::Store& audit,
                       CaseCheckIns* checkins, const core::Clock& clock, core::IdSource& ids,
                       Executor& executor, FallbackOptions options);

  // Opens a case. By hand: input required (INVALID_FALLBACK_CASE naming each field) unless a
  // check-in is given; idempotent by client key; a check-in with a case returns that case (its
  // inputs revised when `input` is given and no evidence was recorded yet). Errors:
  // CHECKIN_NOT_FOUND, CHECKIN_NOT_IN_FALLBACK (the check-in is VERIFIED or WAITING).
  core::Result<FallbackCaseView> Open(const OpenCaseInput& in, const Actor& actor);
  // Replaces the case's inputs and re-decides (attempt EVALUATED). CASE_CLOSED when closed.
  core::Result<FallbackCaseView> Revise(const std::string& id,
                                        const core::fallback::FallbackCase& input,
                                        const Actor& actor);
  core::Result<FallbackCaseView> Get(const std::string& id);
  core::Result<std::vector<FallbackCaseView>> List(const CaseFilter& filter);

  // Records evidence. kMethodApplied: the engine must allow the method for the case
  // (METHOD_NOT_ALLOWED, metadata "rule" and the rule's Japanese reason); the method's evidence
  // must be complete (INVALID_EVIDENCE naming each field under "evidence.", also a 保険者番号 whose
  // check digit is wrong); a 申立書 is validated (INVALID_INSURANCE_STATEMENT, fields
  // "evidence.statement.*"). Creates the follow-up tasks (core/fallback/case.h).
  core::Result<FallbackCaseView> RecordEvidence(const std::string& id, const EvidenceInput& in,
                                                const Actor& actor);
  // Routes the claim (RouteClaim on what was recorded) and stores the route; 不詳 stores the 摘要.
  // Errors: RouteClaim's (FUSHO_TEKIYO_INCOMPLETE naming every missing item, …), NO_METHOD_APPLIED,
  // CLAIM_ROUTE_MISMATCH.
  core::Result<FallbackCaseView> ChooseClaimRoute(const std::string& id, const ClaimRouteInput& in,
                                                  const Actor& actor);
  // Closes the case. CLAIM_WORK_FINISHED needs a claim route (NO_CLAIM_ROUTE) that still holds
  // (RouteClaim re-run: a 不詳 route whose 摘要 became incomplete is refused), and purges the
  // personal data unless kept. Open tasks are cancelled except 返戻 watching, which is created.
  core::Result<FallbackCaseView> Close(const std::string& id, const CloseCaseInput& in,
                                       const Actor& actor);

  core::Result<std::vector<core::fallback::Task>> ListTasks(const core::fallback::TaskQuery& q);
  // outcome: "DONE" (default), "CLAIM_RETURNED" for a 返戻 watch.
  core::Result<core::fallback::Task> CompleteTask(const std::string& task_id,
                                                  const std::string& outcome,
                                                  const std::string& staff_id, const Actor& actor);

  // The proof of attempt as JSON (case summary + every attempt, no personal data).
  core::Result<std::string> ExportProof(const std::string& id);

  // A check-in changed (from CheckInUseCases' listener): NEEDS_FALLBACK opens a case (queued for
  // re-verification when it can be re-run); VERIFIED closes its open case (VERIFIED_ONLINE).
  void OnCheckIn(const CheckInView& view);
  // Sends at most one queued re-verification when `upstream_ok` and the terminal has no other
  // request in flight (`upstream_busy` counts requests in flight or queued toward it).
  void ReverifyTick(bool upstream_ok, int upstream_busy);
  // Deletes the personal data of cases closed more than the retention ago (audited).
  core::Result<int> PurgeExpired();

 private:
  // Version conflicts a change is retried on before CASE_CONCURRENT_UPDATE reaches the caller.
  static constexpr int kWriteAttempts = 5;

  // A loaded case: its tasks are read with it.
  core::Result<core::fallback::Case> Load(const std::string& id);
  // Writes a change to a loaded case (insert: a new case at version 1). On success `change.after`
  // is the case as stored (version, updated_at, has_personal_data).
  core::Status Save(core::fallback::Change& change, bool insert);
  // Loads case `id`, calls `decide` on it and saves the change it returns; on a version conflict
  // loads and decides again (`decide` must depend only on the case it is given). Returns the case
  // as saved (or as loaded when the change writes nothing).
  template <typename Decide>
  core::Result<core::fallback::Case> Update(const std::string& id, Decide decide);
  // The case as the API shows it; `tasks_loaded`: c.tasks are as stored (else they are read).
  core::Result<FallbackCaseView> ViewOf(const core::fallback::Case& c, bool tasks_loaded);
  // The case's tasks in `state` (every state when nullopt).
  core::Result<std::vector<core::fallback::Task>> TasksOf(const std::string& case_id,
                                                          std::optional<std::string> state);
  // Inserts a new case; when its client key or check-in was taken meanwhile, that case.
  core::Result<FallbackCaseView> InsertNew(core::fallback::Change change);
  core::Result<FallbackCaseView> OpenForCheckIn(const CheckInView& view, const OpenCaseInput& in,
                                                const std::string& actor);
  void ApplyReverification(const std::string& case_id, core::Result<ResultView> outcome);

  core::fallback::FallbackCaseStore& store_;
  core::Store& audit_;
  CaseCheckIns* checkins_;
  const core::Clock& clock_;
  core::IdSource& ids_;
  Executor& executor_;
  FallbackOptions options_;

  std::mutex reverify_mu_;
  bool reverify_in_flight_ = false;  // guarded by reverify_mu_
  core::SystemTime last_reverify_{};
};

}  // namespace onshid::app
