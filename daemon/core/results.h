#pragma once
// Ports for what the upstream produces: stored eligibility results (with their raw files as
// evidence), quarantined files and 照会番号 registrations. Each write takes the events that report
// it and commits them in the same transaction (core/event.h).
//
// Threading: every method may be called from any thread and blocks until the database answered.
// Errors: DATABASE_UNAVAILABLE (kUnavailable) when the database cannot be reached.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/event.h"

namespace onshid::core {

// Searchable facts of a result, copied out of the normalized result by the application.
struct ResultKeys {
  std::string insurer_number;  // trimmed (6 or 8 digits)
  std::string insured_card_symbol;
  std::string insured_identification_number;
  std::string insured_branch_number;
  std::string birth_date;  // YYYY-MM-DD
  std::string reference_number;
  std::string validity;    // OQSCD006 code as received
};

struct StoredResult {
  std::int64_t id = 0;           // assigned by the store
  std::string source;            // "query" or "face"
  std::string request_id;        // queries: the journal key of the request (internal)
  std::string client_request_id;  // queries: the x-request-id the client sent ("" when none)
  std::string file_name;
  std::string raw;               // bytes as received
  std::string raw_sha256;
  std::string xml_utf8;
  SystemTime received_at{};
  ResultKeys keys;
};

struct ResultQuery {
  std::optional<std::string> insurer_number, insured_card_symbol, insured_identification_number,
      birth_date, reference_number, validity;
  std::optional<SystemTime> received_from, received_until;
  int limit = 50;                        // 1..200
  std::optional<std::int64_t> before_id;  // paging: only ids below this
};

// Outcome of storing a file-backed result.
struct StoreOutcome {
  std::int64_t id = 0;
  // True when a result with the same file name was stored before (the same file read again, e.g.
  // after a crash between storing and archiving): nothing new was stored; `id` is the earlier one.
  bool same_file = false;
  // When another file with identical bytes was stored before, its id (a duplicate delivery).
  std::optional<std::int64_t> duplicate_of;
};

// Builds the events that report a stored result from what the store found. Called inside the
// store's transaction, at most once: it must be pure (no I/O, no locks). Not called when the same
// file was stored before (StoreOutcome::same_file): its events were committed then.
using ResultEvents = std::function<std::vector<Event>(const StoreOutcome& outcome)>;

// A file that could not be used, kept with the reason (never lost).
struct QuarantinedFile {
  std::string file_name;
  std::string raw;
  std::string reason;  // English, no personal data
  SystemTime at{};
  // When the file answered a journalled request: that request is completed (kAnswered — the
  // terminal did answer, unreadably) in the same transaction. "" otherwise.
  std::string complete_request_id;
};

class ResultStore {
 public:
  virtual ~ResultStore() = default;
  // Stores the result with the events `events` builds, and, for queries (request_id set),
  // completes the journal entry (kAnswered), all in one transaction.
  virtual Result<StoreOutcome> StoreResult(const StoredResult& result,
                                           const ResultEvents& events) = 0;
  virtual Result<std::optional<StoredResult>> GetResult(std::int64_t id) = 0;
  // Newest first.
  virtual Result<std::vector<StoredResult>> ListResults(const ResultQuery& query) = 0;
  virtual Result<std::optional<StoredResult>> ResultForRequest(const std::string& request_id) = 0;
  // Keeps `file` with `events`, in one transaction (see QuarantinedFile).
  virtual Status Quarantine(const QuarantinedFile& file, const std::vector<Event>& events) = 0;
};

// 照会番号登録 (OQSsiimm01): one registration request and, once the terminal answered, its outcome.
// Identifiers are personal data: stored, returned through audited calls, never logged.
struct ReferenceNumberRecord {
  std::int64_t id = 0;       // assigned by the store
  std::string request_id;    // the journal key of the request (unique; internal)
  std::string client_request_id;  // the x-request-id the client sent
  std::string reference_number;               // 照会番号 (the vendor's patient id)
  std::string insurer_number;                 // as sent (trimmed)
  std::string insured_card_symbol;
  std::string insured_identification_number;
  std::string insured_branch_number;
  std::string state;          // "PENDING", "REGISTERED", "FAILED" (answered, not registered),
                              // "REJECTED" (the terminal refused the file: .err)
  std::string error_code;     // when not registered: MessageHeader/ErrorCode, else ProcessingResultCode
  std::string error_message;  // the terminal's text for it (never logged)
  std::string file_name;      // the result (or .err) file
  std::string raw;            // its bytes as received (evidence)
  std::string raw_sha256;
  SystemTime requested_at{};
  std::optional<SystemTime> completed_at;
};

class ReferenceNumberStore {
 public:
  virtual ~ReferenceNumberStore() = default;
  // Stores `record` (state PENDING) unless a registration with its request_id exists; returns the
  // stored registration (the earlier one on a retry; its fields win).
  virtual Result<ReferenceNumberRecord> CreateRegistration(const ReferenceNumberRecord& record) = 0;
  virtual Result<std::optional<ReferenceNumberRecord>> RegistrationForRequest(
      const std::string& request_id) = 0;
  virtual Result<std::optional<ReferenceNumberRecord>> GetRegistration(std::int64_t id) = 0;
  // Registrations of one 照会番号, newest first, at most `limit` (1..200).
  virtual Result<std::vector<ReferenceNumberRecord>> ListRegistrations(
      const std::string& reference_number, int limit) = 0;
  // Builds the events that report a completed registration (called inside the transaction, only
  // when the registration changed; pure).
  using RegistrationEvents = std::function<std::vector<Event>(const ReferenceNumberRecord&)>;
  // Records the terminal's answer for `outcome.request_id` (state, error_code, error_message, file
  // and completed_at are taken from `outcome`), completes its journal entry (kAnswered, or
  // kRejected for state REJECTED) and appends the events, in one transaction.
  // Returns the stored registration and whether it changed: a registration completed before (the
  // same file read again after a crash) is left as it was. Errors: REFERENCE_NUMBER_NOT_FOUND
  // (kNotFound) when no registration has that request id (the journal entry is still completed).
  virtual Result<std::pair<ReferenceNumberRecord, bool>> CompleteRegistration(
      const ReferenceNumberRecord& outcome, const RegistrationEvents& events) = 0;
};

}  // namespace onshid::core
