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
// DomainError. Broken or unreachable servers map to core::DatabaseUnavailable; SQL errors to
// INTERNAL carrying only the SQLSTATE (server messages may quote data, so they are not copied).
// Must be called with a non-null exception_ptr. Logs one line (no personal data).
MappedError MapDatabaseException(std::exception_ptr e);

// The "postgres" component logger: spdlog::get("postgres"), or one created on first use that
// shares the default logger's sinks. Thread-safe.
std::shared_ptr<spdlog::logger> PostgresLogger();

}  // namespace onshid::postgres
