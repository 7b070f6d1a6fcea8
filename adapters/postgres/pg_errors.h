#pragma once
// Turning libpqxx exceptions into domain errors at the adapter's edge (rules of the house 4).
// Internal to adapters/postgres.

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>

#include "core/error.h"

namespace onshid::postgres {

struct MappedError {
  core::DomainError error;
  // True when the connection that threw must not be reused (broken, admin shutdown, unknown
  // transaction outcome): the pool drops it and the next job reconnects.
  bool connection_lost = false;
};

// Maps the exception in `e` (pqxx::broken_connection, pqxx::sql_error, any std::exception) to a
// DomainError. Broken or unreachable servers (and a session ended by
// idle_in_transaction_session_timeout, 25P03) map to core::DatabaseUnavailable; a statement cut
// off by statement_timeout (57014, also a cancel request) or lock_timeout (55P03) to
// DatabaseTimeout; other SQL errors to INTERNAL carrying only the SQLSTATE (server messages may
// quote data, so they are not copied).
// Must be called with a non-null exception_ptr. Logs one line (no personal data).
MappedError MapDatabaseException(std::exception_ptr e);

// kUnavailable "DATABASE_TIMEOUT": a statement ran longer than statement_timeout or waited longer
// than lock_timeout for a lock; its transaction was rolled back (nothing of it was kept), the
// connection remains usable, and the call may be retried. metadata: sqlstate.
core::DomainError DatabaseTimeout(const std::string& sqlstate);

// The "postgres" component logger: spdlog::get("postgres"), or one created on first use that
// shares the default logger's sinks. Thread-safe.
std::shared_ptr<spdlog::logger> PostgresLogger();

}  // namespace onshid::postgres
