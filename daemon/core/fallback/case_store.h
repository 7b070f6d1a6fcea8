#pragma once
// FallbackCaseStore port: fallback cases (what reception does when マイナ保険証 verification fails),
// their immutable proof of attempt, the 申立書 personal data kept apart so it can be purged, and the
// follow-up tasks with due dates.
//
// Like CheckInStore, a case is a row of searchable columns plus an opaque JSON body owned by the
// application; the store never interprets bodies. Updates are optimistic: an update names the
// version it read (row.version = read + 1) and fails with CASE_CONCURRENT_UPDATE (kAborted) when
// someone else wrote in between. A case write and everything attached to it (attempts, personal
// data, tasks, events) commit in one transaction.
//
// The proof of attempt is append-only: attempts are never updated or deleted, also not by a purge
// (they must not contain personal data — the application keeps that in `personal_data`).
//
// Threading and errors as for Store (core/store.h): any thread, blocking, DATABASE_UNAVAILABLE
// (kUnavailable) when the database cannot be reached. Bodies and personal data contain personal
// data: never log them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/results.h"

namespace onshid::core::fallback {

struct CaseRow {
  std::string id;            // "fb_…", assigned by the application
  std::int64_t version = 0;  // 1 on insert; +1 on every update
  // Idempotency key of the request that opened it ("<client>/<x-request-id>"); "" when opened by
  // the daemon for a NEEDS_FALLBACK check-in.
  std::string client_key;
  std::string check_in_id;   // "" for a case opened by hand without a check-in; at most one case
                             // per non-empty check-in id
  std::string state;         // "OPEN", "CLOSED"
  std::string claim_route;   // "" until chosen; "CURRENT", "OLD_ELIGIBILITY", "UNKNOWN", …
  std::string day;           // Japan calendar date the case was opened, YYYY-MM-DD
  SystemTime opened_at{};
  SystemTime updated_at{};
  std::optional<SystemTime> closed_at;
  bool has_personal_data = false;  // maintained by the store: personal data is stored
  std::string body;          // JSON, owned by the application
};

// One entry of a case's proof of attempt (append-only).
struct Attempt {
  std::string case_id;
  std::int64_t seq = 0;  // assigned by the store: 1, 2, … per case
  SystemTime at{};
  std::string actor;     // API token name or "onshid"
  std::string kind;      // "OPENED", "EVALUATED", "EVIDENCE", "CLAIM_ROUTE", "CLOSED", "PURGED", …
  std::string body;      // JSON, no personal data
};

struct Task {
  std::string id;        // "tk_…", assigned by the application
  std::string case_id;
  std::string kind;      // "CONTACT_PATIENT", "REQUERY_BEFORE_CLAIM", "REFUND_DIFFERENCE", …
  std::string state;     // "OPEN", "DONE", "CANCELLED"
  std::string due_day;   // YYYY-MM-DD (Japan)
  SystemTime created_at{};
  std::optional<SystemTime> done_at;
  std::string done_by;
  std::string body;      // JSON, owned by the application (no personal data)
};

// Written with a case in the same transaction.
struct CaseWrite {
  std::vector<Attempt> attempts;   // appended; case_id and seq are filled in by the store
  // Set: replaces the case's personal data. Empty optional: unchanged.
  std::optional<std::string> personal_data;
  bool purge_personal_data = false;  // deletes it (wins over personal_data)
  std::vector<Task> tasks;           // inserted or replaced by id
  std::vector<Event> events;         // cursors assigned by the store; subscribers are woken
};

struct CaseQuery {
  std::optional<std::string> state;
  std::optional<std::string> day;          // opened on
  std::optional<std::string> check_in_id;
  int limit = 200;                          // 1..1000; newest first
};

struct TaskQuery {
  std::optional<std::string> case_id;
  std::optional<std::string> state;
  std::optional<std::string> due_on_or_before;  // YYYY-MM-DD
  int limit = 200;                               // 1..1000; by due day, then creation
};

class FallbackCaseStore {
 public:
  virtual ~FallbackCaseStore() = default;

  // Errors: CASE_EXISTS (kAlreadyExists, metadata "case_id" = the holder) when the id, the
  // non-empty client_key or the non-empty check_in_id is taken.
  virtual Status InsertCase(const CaseRow& row, const CaseWrite& with) = 0;
  // Errors: CASE_NOT_FOUND (kNotFound); CASE_CONCURRENT_UPDATE (kAborted) when the stored version
  // is not row.version - 1. Nothing is written on error.
  virtual Status UpdateCase(const CaseRow& row, const CaseWrite& with) = 0;

  virtual Result<std::optional<CaseRow>> GetCase(const std::string& id) = 0;
  virtual Result<std::optional<CaseRow>> CaseForClientKey(const std::string& client_key) = 0;
  virtual Result<std::optional<CaseRow>> CaseForCheckIn(const std::string& check_in_id) = 0;
  virtual Result<std::vector<CaseRow>> ListCases(const CaseQuery& query) = 0;

  // The proof of attempt, oldest first.
  virtual Result<std::vector<Attempt>> Attempts(const std::string& case_id) = 0;
  virtual Result<std::optional<std::string>> PersonalData(const std::string& case_id) = 0;
  virtual Result<std::vector<Task>> ListTasks(const TaskQuery& query) = 0;
  // Closed cases that still hold personal data and were closed before `before` (scheduled purge).
  virtual Result<std::vector<std::string>> CasesToPurge(SystemTime before, int limit) = 0;
};

}  // namespace onshid::core::fallback
