#pragma once
// Check-in use cases (issue 5): reception sessions that bind every channel — face reader, document
// query, generic-reader tap, manual — to the results the terminal delivers, with the document rules
// of DOMAIN.md §2, correlation of arriving results to the waiting check-in of their desk, patient
// links, changes since the last verified visit, and consent decisions.
//
// Durability: every change of a check-in is written with its result link, patient link and events
// in one transaction (CheckInStore). A result is stored (EligibilityUseCases) before it is
// correlated; results a crash left uncorrelated, and query results that arrived while the daemon
// was down, are picked up by Sweep(), which also marks waits that ran out (timed_out).
//
// Threading: every method may be called from any thread except the completion-style ones, whose
// callbacks run on the executor or a reader worker. Mutations are serialised by one mutex (a
// reception's rate is a few per minute); reads are not.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/checkin_record.h"
#include "app/eligibility.h"
#include "app/executor.h"
#include "core/card/card_readers.h"
#include "core/checkin/check_in_store.h"
#include "core/clock.h"
#include "core/id_source.h"
#include "core/results.h"

namespace onshid::app {

struct CheckInOptions {
  // Desks and the devices that serve them (device → desks). Device ids: `face_device` for the
  // terminal folder's face feed, "reader:<PC/SC reader name>" for a generic reader.
  core::checkin::DeskMap desks;
  std::set<std::string, std::less<>> known_desks;
  std::string face_device = "face";
  core::checkin::CorrelationWindow window;
  // How long ended check-ins stay candidates for a late result.
  std::chrono::seconds late_window{std::chrono::hours{2}};
  // How long a document query may take before the check-in needs the fallback path (the result
  // is still attached when it comes).
  std::chrono::seconds query_timeout{std::chrono::seconds{30}};
};

// A check-in with what is attached to it.
struct CheckInView {
  CheckInRecord record;
  std::vector<core::checkin::ResultLink> results;
  std::vector<core::checkin::PatientLink> patient_links;
};

struct StartCheckInInput {
  std::string client_key;  // "<client>/<request id>": idempotency
  std::string desk_id;
  core::checkin::Channel channel = core::checkin::Channel::kManual;
  std::vector<core::checkin::Document> documents;
  core::checkin::PatientHoldings holdings;
  core::checkin::VisitFacts visit;
  // DOCUMENT_QUERY (birth_date yyyyMMdd inside).
  std::optional<core::oqs::EligibilityQueryInput> query;
  // GENERIC_READER.
  std::string reader;
  // Optional keys from the vendor.
  std::optional<std::string> name_kana;
  std::optional<std::string> reference_number;
  std::optional<std::string> birth_date;  // YYYY-MM-DD, with name_kana
};

// Who made a change (for events and the patient-link history).
struct Actor {
  std::string client;      // API token name
  std::string request_id;  // the client's x-request-id, as sent
  // The request's key: a change already applied under it is not applied again (a retry).
  std::string Key() const { return request_id.empty() ? std::string() : client + "/" + request_id; }
};

struct PatientLookup {
  std::optional<std::string> patient_id, reference_number, card_key, name_kana, birth_date;
};

struct CheckInFilter {
  std::optional<std::string> day;  // YYYY-MM-DD; default today (Japan)
  std::optional<std::string> desk_id;
  std::optional<core::checkin::CheckInState> state;
  PatientLookup patient;  // when any is set: that patient's check-ins, newest first, any day
  int limit = 200;
};

struct ConsentView {
  std::string check_in_id;
  std::int64_t result_id = 0;
  core::checkin::InformationScope scope = core::checkin::InformationScope::kFull;
  std::vector<core::checkin::ConsentItem> consents;
  std::vector<core::checkin::OralConsentRecord> oral_consents;
  std::vector<core::checkin::ConsentWithdrawal> withdrawals;
};

struct AccessOutcome {
  core::checkin::AccessDecision decision;
  std::string check_in_id;
  std::int64_t result_id = 0;
};

class CheckInUseCases {
 public:
  // `eligibility` is null without an upstream (document queries then need the fallback path);
  // `readers` is null without generic readers.
  CheckInUseCases(core::checkin::CheckInStore& store, EligibilityUseCases* eligibility,
                  core::card::CardReaders* readers, const core::Clock& clock, core::IdSource& ids,
                  Executor& executor, CheckInOptions options);
  ~CheckInUseCases();

  using Done = std::function<void(core::Result<CheckInView>)>;

  // Validates (INVALID_CHECKIN naming each bad field; the document rules' own refusals), creates
  // the check-in, and calls `done` once it is stored — before a document query's result. A
  // client_key seen before returns that check-in unchanged.
  void Start(StartCheckInInput input, Done done);

  core::Result<CheckInView> Get(const std::string& id);
  core::Result<std::vector<CheckInView>> List(const CheckInFilter& filter);
  core::Result<CheckInView> Cancel(const std::string& id, const std::string& reason,
                                   const Actor& actor);
  core::Result<CheckInView> LinkPatient(const std::string& id, const std::string& patient_id,
                                        const Actor& actor);
  core::Result<CheckInView> AssignResult(const std::string& id, std::int64_t result_id,
                                         const Actor& actor);

  core::Result<ConsentView> GetConsent(const std::string& id);
  // One of check_in_id / patient_id (the patient's latest VERIFIED check-in).
  core::Result<AccessOutcome> CheckAccess(const std::string& check_in_id,
                                          const std::string& patient_id,
                                          core::checkin::InformationKind kind,
                                          std::optional<core::SystemTime> at);
  // Errors: INVALID_CHECKIN (kinds empty or INSURANCE, staff_id missing), CHECKIN_NOT_FOUND.
  core::Result<ConsentView> RecordConsentWithdrawal(
      const std::string& id, const std::vector<core::checkin::InformationKind>& kinds,
      const std::string& staff_id, std::optional<core::SystemTime> at, const Actor& actor);
  core::Result<ConsentView> RecordOralConsent(const std::string& id, const std::string& staff_id,
                                              std::optional<core::SystemTime> at,
                                              const Actor& actor);

  // Every stored result (from EligibilityUseCases' result listener). Face results are correlated;
  // a query result of a check-in decides it. Errors are logged; Sweep() retries.
  void OnResult(const ResultView& result);

  // Marks waits that ran out, correlates face results nobody correlated, collects query results
  // that arrived while nobody waited, and announces open check-ins to the change listener again
  // (at the first sweep and every 60th: follow-ups a stopped daemon left undone). Called
  // periodically and at start-up, from one thread at a time.
  void Sweep();

  // Called (on the executor) with the check-in after every stored change (creation included);
  // it must act on the state idempotently. Set once, before traffic.
  using ChangeListener = std::function<void(const CheckInView&)>;
  void SetChangeListener(ChangeListener listener);
  // When set and it answers false (the terminal is known not to answer), a document query is not
  // sent: the check-in needs the fallback path at once (UPSTREAM_UNAVAILABLE) and its
  // verification waits for Reverify. Set once, before traffic.
  void SetUpstreamGate(std::function<bool()> available);
  // Verifies check-in `id` again with its stored document query, applies the answer like the first
  // one (a NEEDS_FALLBACK check-in becomes VERIFIED on a valid result; other answers are linked),
  // then calls `done` (on the executor) with the result or the error. The patient is never queried
  // twice: when an earlier attempt (the first query "checkin:<id>" or a re-verification
  // "checkin:<id>#r<n>") was answered, its result is used; when one may still be answered, it is
  // waited for; only when every earlier attempt was rejected or abandoned (or none was sent) is
  // the query sent again, under "checkin:<id>#r<attempt>". Errors: CHECKIN_NOT_FOUND,
  // NO_QUERY_TO_REVERIFY, UPSTREAM_NOT_CONFIGURED, and the query's own.
  void Reverify(const std::string& id, int attempt,
                std::function<void(core::Result<ResultView>)> done);

 private:
  // Calls the change listener again for the NEEDS_FALLBACK check-ins, and `after_start` also for
  // those verified within the late window (their follow-ups may have been lost with the daemon).
  void Reannounce(bool after_start);
  void CorrelateUnlinkedFaceResults(core::SystemTime now);
  // Inserts a new check-in (CHECKIN_STARTED, then `outcome` when given) with its events.
  core::Result<CheckInView> CreateWith(CheckInRecord record,
                                       const std::optional<core::checkin::Outcome>& outcome);
  void SubmitQuery(const std::string& id);
  void ApplyQueryOutcome(const std::string& id, core::Result<ResultView> outcome);
  core::Status CorrelateFace(const ResultView& result);
  core::Result<CheckInView> View(CheckInRecord record);
  core::Result<CheckInRecord> Load(const std::string& id);
  // Applies `outcome` to `record` (state machine), fills the record's last-transition fields and
  // appends the transition's event to `events`. Errors: INVALID_CHECKIN_TRANSITION.
  core::Status ApplyOutcome(CheckInRecord& record, const core::checkin::Outcome& outcome,
                            std::vector<core::Event>& events);
  void TakeResult(CheckInRecord& record, const ResultView& result);
  void ComputeChanges(CheckInRecord& record, const ResultView* current);
  core::Status Write(CheckInRecord& record, bool insert, core::checkin::Attachments with);
  core::Event MakeEvent(const CheckInRecord& record, std::string type, std::string reason,
                        std::string detail) const;
  std::string Today() const;

  core::checkin::CheckInStore& store_;
  EligibilityUseCases* eligibility_;
  core::card::CardReaders* readers_;
  const core::Clock& clock_;
  core::IdSource& ids_;
  Executor& executor_;
  CheckInOptions options_;

  std::mutex write_mu_;  // serialises read-modify-write of check-ins
  std::mutex rejoin_mu_;
  std::set<std::string> rejoined_;  // query keys waited for again after a restart
  // Sweeps so far (Sweep() runs on one thread at a time) and how often open check-ins are
  // announced to the change listener again (see Reannounce).
  std::uint64_t sweeps_ = 0;
  static constexpr std::uint64_t kReannounceEvery = 60;
  ChangeListener change_listener_;
  std::function<bool()> upstream_gate_;
};

}  // namespace onshid::app
