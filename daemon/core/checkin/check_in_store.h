#pragma once
// CheckInStore port: check-ins (受付), the results linked to them and the patient-link history.
//
// A check-in is kept as a row of searchable columns plus an opaque JSON body that the application
// encodes and decodes (app/checkin_record.h); the store never interprets the body. Updates are
// optimistic: an update names the version it read and fails with CHECKIN_CONCURRENT_UPDATE when
// someone else wrote in between.
//
// Threading and errors as for Store (core/store.h): any thread, blocking, DATABASE_UNAVAILABLE
// (kUnavailable) when the database cannot be reached. The columns and the body contain personal
// data (names, birth dates, patient ids): never log them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/results.h"

namespace onshid::core::checkin {

struct CheckInRow {
  std::string id;          // "ci_…", assigned by the application
  std::int64_t version = 0;  // 1 on insert; +1 on every update
  // Idempotency key of the request that created it ("<client>/<x-request-id>"); empty for
  // check-ins created by an arriving result.
  std::string client_key;
  std::string day;         // Japan calendar date of arrival, YYYY-MM-DD
  std::string desk_id;
  std::string state;       // "WAITING", "VERIFIED", "NEEDS_FALLBACK", "CANCELLED"
  std::string correlation;  // "", "BOUND", "UNMATCHED", "AMBIGUOUS", "ASSIGNED"
  std::string patient_id;  // the current link to the vendor's patient; "" when none
  std::int64_t result_id = 0;  // the result that decided the check-in; 0 when none yet
  // Search keys (normalised by the application; "" when unknown).
  std::string reference_number;
  std::string card_key;
  std::string kana_key;
  std::string birth_date;  // YYYY-MM-DD
  bool timed_out = false;
  SystemTime created_at{};
  SystemTime updated_at{};
  std::string body;        // JSON, owned by the application
};

// How a result is attached to a check-in.
struct ResultLink {
  std::int64_t result_id = 0;
  std::string check_in_id;
  std::string link;  // "BOUND", "LINKED" (late), "ASSIGNED" (by staff), "QUERY", "OWN"
  SystemTime at{};
  // When set (writes only): the result is linked to this check-in now and is moved from it
  // (staff assigning an UNMATCHED / AMBIGUOUS result); RESULT_ALREADY_LINKED when it is not.
  std::string move_from;
};

// One entry of a check-in's patient-link history (append-only).
struct PatientLink {
  std::int64_t id = 0;  // assigned by the store
  std::string check_in_id;
  std::string patient_id;  // "" = unlinked
  std::string linked_by;   // API token name
  std::string request_id;
  SystemTime at{};
};

// What is written together with a check-in, in the same transaction: nothing is half-written when
// the daemon stops in between, and every change's event is committed with it.
struct Attachments {
  std::optional<ResultLink> result_link;
  std::optional<PatientLink> patient_link;
  std::vector<Event> events;  // cursors are assigned by the store; subscribers are woken
};

struct CheckInQuery {
  std::optional<std::string> day;  // YYYY-MM-DD
  std::optional<std::string> desk_id;
  std::optional<std::string> state;
  std::optional<std::string> patient_id;
  std::optional<std::string> reference_number;
  std::optional<std::string> card_key;
  std::optional<std::string> kana_key;    // with birth_date
  std::optional<std::string> birth_date;
  // Only check-ins that are not final (WAITING, NEEDS_FALLBACK) or were updated at or after
  // `open_or_updated_since` — the set correlation looks at.
  std::optional<SystemTime> open_or_updated_since;
  bool newest_first = false;  // arrival order (oldest first) by default: the 受付一覧
  int limit = 200;            // 1..1000
};

class CheckInStore {
 public:
  virtual ~CheckInStore() = default;

  // Inserts `row` (its version must be 1) with `with`, in one transaction.
  // Errors: CHECKIN_EXISTS (kAlreadyExists) when the id or a non-empty client_key is taken —
  // metadata "check_in_id" names the existing check-in; RESULT_ALREADY_LINKED (kAlreadyExists)
  // when the result link's result is linked already (metadata "check_in_id").
  virtual Status InsertCheckIn(const CheckInRow& row, const Attachments& with) = 0;

  // Writes `row` over the stored version `row.version - 1`, with `with`, in one transaction.
  // Errors: CHECKIN_CONCURRENT_UPDATE (kAborted) when the stored version differs,
  // CHECKIN_NOT_FOUND (kNotFound), RESULT_ALREADY_LINKED as above.
  virtual Status UpdateCheckIn(const CheckInRow& row, const Attachments& with) = 0;

  virtual Result<std::optional<CheckInRow>> GetCheckIn(const std::string& id) = 0;
  virtual Result<std::optional<CheckInRow>> CheckInForClientKey(const std::string& client_key) = 0;
  virtual Result<std::vector<CheckInRow>> ListCheckIns(const CheckInQuery& query) = 0;

  // Result links of a check-in, oldest first; the check-in a result is linked to (nullopt: none).
  virtual Result<std::vector<ResultLink>> LinksOf(const std::string& check_in_id) = 0;
  virtual Result<std::optional<ResultLink>> LinkOfResult(std::int64_t result_id) = 0;

  // Face results received at or after `since` that no check-in links yet, oldest first — what a
  // crash between storing a result and correlating it left behind. A result whose bytes equal an
  // earlier result's (a duplicate delivery of the same face file) is not listed.
  virtual Result<std::vector<std::int64_t>> UnlinkedFaceResults(SystemTime since) = 0;

  // Patient-link history of a check-in, oldest first.
  virtual Result<std::vector<PatientLink>> PatientLinks(const std::string& check_in_id) = 0;
};

}  // namespace onshid::core::checkin
