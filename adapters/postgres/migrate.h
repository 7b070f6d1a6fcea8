#pragma once
// The migrations runner: brings a database up to the schema this binary was built with.

#include <cstdint>
#include <pqxx/connection>
#include <vector>

#include "core/error.h"
#include "schema/migrations.h"

namespace onshid::postgres {

// Advisory lock key held (transaction-scoped) while migrating; daemons sharing one database
// serialise on it. ("onshid" in ASCII, then 1; ... 2 orders event cursors, schema/0006.)
inline constexpr std::int64_t kMigrationLockKey = 0x6F6E736869640001;

// In one transaction, without statement and lock time-outs (SET LOCAL): takes
// pg_advisory_xact_lock(kMigrationLockKey), creates schema_migrations if missing, and applies
// every migration newer than the database's highest version in ascending order, recording each;
// then commits. Nothing is applied when any step fails.
//
// `migrations` must be sorted by ascending, unique version (schema::Migrations() is).
// Returns the database's schema version afterwards (unchanged when nothing was pending).
// Errors (nothing thrown):
//   FAILED_PRECONDITION "SCHEMA_TOO_NEW"  the database was migrated by a newer onshid;
//                                         upgrade onshid (names both versions)
//   UNAVAILABLE "DATABASE_UNAVAILABLE"    the connection failed or was lost
//   INTERNAL                              a migration failed (names its version and the SQLSTATE)
//                                         or `migrations` is not sorted
// Threading: uses only `connection`, which must not be used by another thread meanwhile.
core::Result<int> Migrate(pqxx::connection& connection,
                          const std::vector<schema::Migration>& migrations);

// The highest version recorded in schema_migrations, or 0 when the table does not exist.
// Errors as for Migrate (except SCHEMA_TOO_NEW).
core::Result<int> ReadSchemaVersion(pqxx::connection& connection);

}  // namespace onshid::postgres
