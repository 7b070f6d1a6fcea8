#pragma once
// Ports for what the upstream produces: stored eligibility results (with their raw files as
// evidence), quarantined files, and the append-only event log that every client stream replays.
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
  std::string request_id;        // queries: the journalled request
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

class ResultStore {
 public:
  virtual ~ResultStore() = default;
  // Stores the result (and, for queries, completes the journal entry in the same transaction).
  virtual Result<StoreOutcome> StoreResult(const StoredResult& result) = 0;
  virtual Result<std::optional<StoredResult>> GetResult(std::int64_t id) = 0;
  // Newest first.
  virtual Result<std::vector<StoredResult>> ListResults(const ResultQuery& query) = 0;
  virtual Result<std::optional<StoredResult>> ResultForRequest(const std::string& request_id) = 0;
  // Keeps a file that could not be used, with the reason (never lost).
  virtual Status Quarantine(const std::string& file_name, const std::string& raw,
                            const std::string& reason, SystemTime at) = 0;
};

// 照会番号登録 (OQSsiimm01): one registration request and, once the terminal answered, its outcome.
// Identifiers are personal data: stored, returned through audited calls, never logged.
struct ReferenceNumberRecord {
  std::int64_t id = 0;       // assigned by the store
  std::string request_id;    // the journalled request (unique)
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
  // Records the terminal's answer for `outcome.request_id` (state, error_code, error_message, file
  // and completed_at are taken from `outcome`) and completes its journal entry, in one transaction.
  // Returns the stored registration and whether it changed: a registration completed before (the
  // same file read again after a crash) is left as it was. Errors: REFERENCE_NUMBER_NOT_FOUND
  // (kNotFound) when no registration has that request id (the journal entry is still completed).
  virtual Result<std::pair<ReferenceNumberRecord, bool>> CompleteRegistration(
      const ReferenceNumberRecord& outcome) = 0;
};

// One entry of the event log. Events carry ids and codes only; personal data is read through
// audited calls (GetResult).
struct Event {
  std::int64_t cursor = 0;  // assigned by the store, strictly increasing
  SystemTime at{};
  std::string type;         // "face.received", "eligibility.result", "upstream.file_quarantined", ...
  std::int64_t result_id = 0;
  std::string request_id;
  std::string file_name;
  std::string detail;       // short English text, no personal data
  std::vector<std::pair<std::string, std::string>> attributes;  // codes (validity, ...)
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // Appends and returns the event's cursor. Wakes WaitForEvents() callers (also in other daemons
  // on the same database).
  virtual Result<std::int64_t> Append(const Event& event) = 0;
  // Events with cursor > `after`, oldest first, at most `limit`.
  virtual Result<std::vector<Event>> ListAfter(std::int64_t after, int limit) = 0;
  // Registers a callback run (on a store thread) whenever events may have been appended; returns
  // a handle for Unsubscribe. Callbacks must not block.
  virtual int Subscribe(std::function<void()> wake) = 0;
  virtual void Unsubscribe(int handle) = 0;
};

}  // namespace onshid::core
