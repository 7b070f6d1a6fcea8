#pragma once
// Eligibility use cases: individual queries through the terminal, ingestion of every result and
// face check-in the terminal delivers, and reading stored results.
//
// Results are stored with their raw bytes (evidence) and re-parsed on read, so codec improvements
// apply to old results too. Every stored result and every rejected or quarantined file becomes an
// event, written in the same transaction as what it reports. A query whose deadline passes is
// never re-sent: its result is still stored and published when it arrives, and a retry with the
// same request key answers from the journal — the stored result, the terminal's rejection, the
// wait for the answer still due, or UPSTREAM_NO_ANSWER when the request was abandoned.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/executor.h"
#include "app/waiters.h"
#include "core/clock.h"
#include "core/id_source.h"
#include "core/oqs/query.h"
#include "core/oqs_codec.h"
#include "core/results.h"
#include "core/upstream.h"

namespace onshid::app {

struct EligibilityOptions {
  std::string medical_institution_code;  // 医療機関コード (10 digits)
};

// Identifies one request toward the terminal.
struct RequestRef {
  // The daemon's key (the journal's): unique per client and x-request-id, or per check-in
  // verification; never shown to clients. A retry with the same key is never sent twice.
  std::string key;
  // The x-request-id as the client sent it, shown in results, events and errors ("" when the
  // daemon itself asked, e.g. a re-verification).
  std::string client_request_id;
};

// A stored result with its parsed form (absent when the stored XML no longer parses).
struct ResultView {
  core::StoredResult stored;
  std::optional<core::oqs::EligibilityResult> parsed;
  std::string parse_error;
};

class EligibilityUseCases {
 public:
  EligibilityUseCases(core::Upstream& upstream, core::UpstreamJournal& journal,
                      core::ResultStore& results, core::ReferenceNumberStore& reference_numbers,
                      core::EventStore& events,
                      const core::OqsCodec& codec, const core::Clock& clock, core::IdSource& ids,
                      Executor& executor, EligibilityOptions options);
  ~EligibilityUseCases();

  // The handlers to pass to Upstream::Start.
  core::UpstreamHandlers Handlers();

  using QueryDone = std::function<void(core::Result<ResultView>)>;

  // Sends (or rejoins) the query identified by `request.key` and calls `done` once: with the
  // result, with a validation error (INVALID_QUERY, every bad field named), with an upstream error
  // (UPSTREAM_REJECTED, UPSTREAM_RESULT_UNREADABLE, UPSTREAM_FOLDER_UNAVAILABLE...), with
  // UPSTREAM_NO_ANSWER (the request was abandoned unanswered: ask again with a new request id), or
  // with UPSTREAM_RESULT_PENDING shortly before `deadline` (so that it reaches the client before
  // the client's own deadline fires). A key already answered returns the stored result or the
  // rejection; a key already in flight is waited for, never sent twice.
  void Query(const RequestRef& request, const core::oqs::EligibilityQueryInput& input,
             std::optional<core::oqs::OqsDate> confirmation_date, core::SystemTime deadline,
             QueryDone done);

  // The journal entry of a request key (nullopt: never journalled). For callers that must not
  // query a patient twice (re-verification).
  core::Result<std::optional<core::JournalEntry>> JournalEntryOf(const std::string& key);

  using RegistrationDone = std::function<void(core::Result<core::ReferenceNumberRecord>)>;

  // 照会番号登録 (OQSsiimm01): registers `input.reference_number` against the patient's insurance
  // identifiers. Calls `done` once: with the stored registration when the terminal answered (state
  // REGISTERED, FAILED with the terminal's code, or REJECTED for a refused file), with
  // INVALID_REFERENCE_NUMBER_REGISTRATION (every bad field named; nothing sent), with an upstream
  // error, or with DEADLINE_EXCEEDED / UPSTREAM_RESULT_PENDING at `deadline` (the answer is still
  // stored when it arrives). Idempotent by `request.key`: a key already answered returns the stored
  // registration, a key in flight is waited for and never sent twice; a key reused with different
  // values is REQUEST_ID_REUSED (nothing sent).
  void RegisterReferenceNumber(const RequestRef& request,
                               const core::oqs::ReferenceNumberInput& input,
                               core::SystemTime deadline, RegistrationDone done);
  // REFERENCE_NUMBER_NOT_FOUND when there is no such registration.
  core::Result<core::ReferenceNumberRecord> GetRegistration(std::int64_t id);
  // Newest first (limit 1..200).
  core::Result<std::vector<core::ReferenceNumberRecord>> ListRegistrations(
      const std::string& reference_number, int limit);

  core::Result<ResultView> Get(std::int64_t id);
  core::Result<std::vector<ResultView>> List(const core::ResultQuery& query);

  // Called (on the upstream's thread, after the result is stored and its event published) for
  // every new result: query results and face results that are not duplicate deliveries. It must
  // not block for long; post work elsewhere.
  using ResultListener = std::function<void(const ResultView&)>;
  void SetResultListener(ResultListener listener);

  // Fails every waiting query with UNAVAILABLE (shutdown). Later results are still stored.
  void Shutdown();

 private:
  core::Status OnResult(const core::UpstreamFile& file);
  core::Status OnReferenceNumberResult(const core::UpstreamFile& file);
  // A request header for `date` with a fresh ArbitraryFileIdentifier.
  core::QualificationRequestHeader NewHeader(core::oqs::OqsDate date);
  // Journals and writes a built request document (or passes on the build error).
  core::Result<core::JournalEntry> Send(const RequestRef& request,
                                        std::string_view message_type, std::string_view kind,
                                        core::Result<std::string> xml,
                                        const core::QualificationRequestHeader& header);
  core::Status OnFace(const core::UpstreamFile& file);
  void OnQuarantine(const std::string& file_name, const std::string& request_key,
                    const std::string& reason);
  // Stores a file whose XML could not be parsed: quarantine table + event (+ the completion of
  // `complete_request`'s journal entry), one transaction. Returns the store's error, or OK with
  // the error the waiter (if any) gets in `for_waiter`.
  core::Status QuarantineUnparsable(const core::UpstreamFile& file, const std::string& reason,
                                    const std::string& complete_request,
                                    core::DomainError* for_waiter);
  // After a waiter for `key` was registered: answers it from what is stored (result, rejection,
  // abandonment) and returns true, or returns false when the request is still in flight (the
  // answer resolves the waiter) — `journalled` says whether it was journalled at all.
  bool SettleQuery(const RequestRef& request, bool* journalled);
  ResultView View(core::StoredResult stored) const;
  core::Event MakeEvent(std::string type, const core::UpstreamFile& file) const;
  void Notify(const ResultView& view);

  core::Upstream& upstream_;
  core::UpstreamJournal& journal_;
  core::ResultStore& results_;
  core::ReferenceNumberStore& reference_numbers_;
  core::EventStore& events_;
  const core::OqsCodec& codec_;
  const core::Clock& clock_;
  core::IdSource& ids_;
  Executor& executor_;
  EligibilityOptions options_;

  Waiters<ResultView> queries_;
  Waiters<core::ReferenceNumberRecord> registrations_;
  std::mutex mu_;
  ResultListener listener_;  // guarded by mu_
};

// The searchable keys of a parsed result (first qualification, else the search echo).
core::ResultKeys KeysOf(const core::oqs::EligibilityResult& result);

}  // namespace onshid::app
