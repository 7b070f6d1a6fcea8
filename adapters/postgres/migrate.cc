#include "postgres/migrate.h"

#include <pqxx/pqxx>
#include <string>

#include "postgres/pg_errors.h"

namespace onshid::postgres {
namespace {

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

core::DomainError SchemaTooNew(int database_version, int known_version) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "SCHEMA_TOO_NEW";
  e.message = "the database schema is at version " + std::to_string(database_version) +
              " but this onshid knows only up to version " + std::to_string(known_version) +
              "; a newer onshid has used this database: upgrade onshid";
  e.message_ja =
      "データベースが新しいバージョンの onshid で使用されています。"
      "onshid を更新してください。";
  e.metadata = {{"database_version", std::to_string(database_version)},
                {"known_version", std::to_string(known_version)}};
  return e;
}

}  // namespace

core::Result<int> Migrate(pqxx::connection& connection,
                          const std::vector<schema::Migration>& migrations) {
  int known = 0;
  for (const auto& m : migrations) {
    if (m.version <= known) {
      return core::Internal("migrations are not sorted by ascending unique version (at " +
                            std::to_string(m.version) + ")");
    }
    known = m.version;
  }

  auto log = PostgresLogger();
  int applying = 0;
  try {
    pqxx::work txn(connection, "migrate");
    // A migration may rewrite large tables, and may wait for another daemon's migration: the
    // session's statement and lock time-outs (PgStoreOptions) do not apply to it.
    txn.exec0("SET LOCAL statement_timeout = 0");
    txn.exec0("SET LOCAL lock_timeout = 0");
    txn.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
    txn.exec0(kCreateMigrationsTable);
    const int current =
        txn.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
    if (current > known) {
      log->error("database schema version {} is newer than this binary's {}", current, known);
      return SchemaTooNew(current, known);
    }
    int version = current;
    for (const auto& m : migrations) {
      if (m.version <= current) continue;
      applying = m.version;
      log->info("applying migration {:04d}_{}", m.version, m.name);
      txn.exec(m.sql);
      txn.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                       m.name);
      version = m.version;
    }
    applying = 0;
    txn.commit();
    if (version != current) {
      log->info("database schema migrated from version {} to {}", current, version);
    }
    return version;
  } catch (...) {
    MappedError mapped = MapDatabaseException(std::current_exception());
    if (applying != 0 && mapped.error.kind == core::ErrorKind::kInternal) {
      mapped.error.message = "migration " + std::to_string(applying) +
                             " failed; nothing was applied: " + mapped.error.message;
    }
    return mapped.error;
  }
}

core::Result<int> ReadSchemaVersion(pqxx::connection& connection) {
  try {
    pqxx::read_transaction txn(connection, "schema_version");
    if (txn.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) return 0;
    return txn.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
  } catch (...) {
    return MapDatabaseException(std::current_exception()).error;
  }
}

}  // namespace onshid::postgres
