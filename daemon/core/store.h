#pragma once
// Store port: everything the daemon keeps. Implemented by adapters/postgres (PgStore) and by
// MemStore (core/mem_store.h); both run through tests/unit/store_contract_test.cc.
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
  std::string request_id;   // the client's x-request-id (or the generated one)
  std::string client;       // the API token's name, never the token
  std::string method;       // full gRPC method, e.g. "/onshi.v1.CheckInService/Create"
  std::string channel;      // "grpc" or "rest"
  std::string subject;      // what was touched, as ids only (e.g. "checkin:42"); no personal data
  std::string outcome;      // "OK" or the error reason code
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

  // Appends one audit record; the record is durable when this returns OK.
  virtual Status AppendAudit(const AuditRecord& record) = 0;

  // Audit records matching the query, newest first.
  virtual Result<std::vector<AuditRecord>> ListAudit(const AuditQuery& query) = 0;
};

}  // namespace onshid::core
