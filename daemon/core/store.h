#pragma once
// Store port: everything the daemon keeps. Implemented by adapters/postgres (PgStore) and by
// the in-memory MemStore of the tests (tests/support/mem_store.h); both pass the contracts in
// tests/support/*_contract.h (tests/unit/mem_stores_contract_test.cc, the postgres tests).
//
// Threading: every method may be called from any thread and blocks the caller until the database
// has answered. Call it from the application executor, never from a gRPC reactor or an I/O thread.
// Errors: an unreachable database is ErrorKind::kUnavailable with reason "DATABASE_UNAVAILABLE";
// nothing is thrown.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace onshid::core {

// One call that read or wrote patient data (who, what, when, request id, outcome).
struct AuditRecord {
  std::int64_t id = 0;      // assigned by the store; ignored on append
  SystemTime at{};          // when the call finished
  std::string request_id;   // the client's x-request-id exactly as sent (or the generated one)
  std::string client;       // the API token's name, never the token
  std::string method;       // full gRPC method, e.g. "/onshi.v1.CheckInService/Create"
  std::string channel;      // "grpc" or "rest"
  std::string subject;      // what was touched, as ids only (e.g. "checkin:42"); no personal data
  std::string outcome;      // "OK", the error reason code, or "ATTEMPTED" (a write that has not
                            // finished yet, or whose daemon stopped while it ran)
};

struct AuditQuery {
  std::optional<std::string> request_id;
  std::optional<std::string> client;
  std::optional<SystemTime> since;  // inclusive
  int limit = 100;                  // newest first; 1..1000
};

class Store {
 public:
  virtual ~Store() = default;

  // Succeeds when the database answers a trivial query now.
  virtual Status Ping() = 0;

  // The highest migration applied to the database.
  virtual Result<int> SchemaVersion() = 0;

  // Appends one audit record and returns its id; the record is durable when this returns.
  // A write call is audited before it runs, with outcome "ATTEMPTED" (so a committed write is
  // never left unaudited and never reported as failed because its audit row failed afterwards),
  // then finished with FinishAudit.
  virtual Result<std::int64_t> AppendAudit(const AuditRecord& record) = 0;

  // Sets the outcome, subject and time of audit record `id` (written by AppendAudit).
  // Errors: AUDIT_RECORD_NOT_FOUND (kNotFound).
  virtual Status FinishAudit(std::int64_t id, const std::string& outcome,
                             const std::string& subject, SystemTime at) = 0;

  // Audit records matching the query, newest first.
  virtual Result<std::vector<AuditRecord>> ListAudit(const AuditQuery& query) = 0;
};

}  // namespace onshid::core
