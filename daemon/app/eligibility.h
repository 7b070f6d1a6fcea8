#pragma once
// Eligibility use cases: individual queries through the terminal, ingestion of every result and
// face check-in the terminal delivers, and reading stored results.
//
// Results are stored with their raw bytes (evidence) and re-parsed on read, so codec improvements
// apply to old results too. Every stored result and every rejected or quarantined file becomes an
// event. A query whose deadline passes is never re-sent: its result is still stored and published
// when it arrives, and a retry with the same request id waits for that same result.

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

  // Sends (or rejoins) the query identified by `request_key` and calls `done` once: with the
  // result, with a validation error (INVALID_QUERY, every bad field named), with an upstream error
  // (UPSTREAM_REJECTED, UPSTREAM_FOLDER_UNAVAILABLE...), or with DEADLINE_EXCEEDED /
  // UPSTREAM_RESULT_PENDING at `deadline`. A key already answered returns the stored result; a key
  // already in flight is waited for, never sent twice.
  void Query(const std::string& request_key, const core::oqs::EligibilityQueryInput& input,
             std::optional<core::oqs::OqsDate> confirmation_date, core::SystemTime deadline,
             QueryDone done);

  using RegistrationDone = std::function<void(core::Result<core::ReferenceNumberRecord>)>;

  // 照会番号登録 (OQSsiimm01): registers `input.reference_number` against the patient's insurance
  // identifiers. Calls `done` once: with the stored registration when the terminal answered (state
  // REGISTERED, FAILED with the terminal's code, or REJECTED for a refused file), with
  // INVALID_REFERENCE_NUMBER_REGISTRATION (every bad field named; nothing sent), with an upstream
  // error, or with DEADLINE_EXCEEDED / UPSTREAM_RESULT_PENDING at `deadline` (the answer is still
  // stored when it arrives). Idempotent by `request_key`: a key already answered returns the stored
  // registration, a key in flight is waited for and never sent twice; a key reused with different
  // values is REQUEST_ID_REUSED (nothing sent).
  void RegisterReferenceNumber(const std::string& request_key,
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
  core::Result<core::JournalEntry> Send(const std::string& request_key,
                                        std::string_view message_type, std::string_view kind,
                                        core::Result<std::string> xml,
                                        const core::QualificationRequestHeader& header);
  core::Status OnFace(const core::UpstreamFile& file);
  void OnQuarantine(const std::string& file_name, const std::string& reason);
  // Stores a file whose XML could not be parsed: quarantine table + event. Returns the error the
  // waiter (if any) gets.
  core::DomainError QuarantineUnparsable(const core::UpstreamFile& file, const std::string& reason);
  ResultView View(core::StoredResult stored) const;
  void Publish(core::Event event);
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
