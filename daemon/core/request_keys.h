#pragma once
// RequestKeyStore port: idempotency of write calls (rules of the house 6, README "Guarantees").
//
// A write call carries the client's x-request-id. The API layer claims the pair (client,
// x-request-id) with a fingerprint of the call (its method and request message) before the use
// case runs, and records the call's final outcome afterwards:
//   - same id, same fingerprint, outcome recorded   → that outcome is answered again (also a
//     refusal), the use case does not run again;
//   - same id, same fingerprint, no outcome yet     → the use case runs again (it was still running,
//     answered something that is not final such as UPSTREAM_RESULT_PENDING, or its daemon stopped):
//     every write use case is itself idempotent by its request key, so nothing is done twice;
//   - same id, other fingerprint                    → REQUEST_ID_REUSED, nothing runs.
//
// Threading: any thread, blocking. Errors: DATABASE_UNAVAILABLE (kUnavailable).

#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/error.h"

namespace onshid::core {

struct RequestKey {
  std::string client;       // the API token's name
  std::string request_id;   // x-request-id exactly as sent
  std::string method;       // full gRPC method, e.g. "/onshi.v1.CheckInService/StartCheckIn"
  std::string fingerprint;  // lower-case hex SHA-256 of the method and the request message
};

// A final outcome, opaque to the store: the API layer decides the encoding.
struct RequestOutcome {
  int code = 0;           // gRPC status code (0 = OK)
  std::string body;       // OK: the serialized response; else the serialized google.rpc.Status
  std::string reason;     // "OK" or the error's reason code (for the audit log)
  std::string audit_subject;  // what the call touched, ids only (replays audit the same subject)
};

struct RequestKeyRecord {
  RequestKey key;
  SystemTime claimed_at{};
  std::optional<RequestOutcome> outcome;  // set once a final outcome was recorded
  std::optional<SystemTime> finished_at;
};

class RequestKeyStore {
 public:
  virtual ~RequestKeyStore() = default;
  // Stores `key` (claimed at `at`) unless (client, request_id) is stored already; returns the
  // stored record — the earlier one when there is one (compare its fingerprint).
  virtual Result<RequestKeyRecord> ClaimRequestKey(const RequestKey& key, SystemTime at) = 0;
  // Records the final outcome of (client, request_id); a record that has one keeps it (OK).
  // Errors: REQUEST_KEY_NOT_FOUND (kNotFound).
  virtual Status FinishRequestKey(const std::string& client, const std::string& request_id,
                                  const RequestOutcome& outcome, SystemTime at) = 0;
  // Deletes records claimed before `before`, at most `limit`; returns how many.
  virtual Result<int> PurgeRequestKeys(SystemTime before, int limit) = 0;
};

}  // namespace onshid::core
