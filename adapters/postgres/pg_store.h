#pragma once
// PgStore: the Store port over PostgreSQL (libpqxx), through a ConnectionPool.
//
// Life cycle: construct (no I/O), Open() once at start-up (connects, applies migrations), then use
// the Store methods from any thread, then Close() (or destroy). Open() must not run concurrently
// with other calls; calls before a successful Open() or after Close() fail with
// DATABASE_UNAVAILABLE.
//
// Threading: Store methods are thread-safe and block the caller until the database answers (at most
// pool_size run at once; the rest queue). Call them from the application executor.
// Errors: as documented on core::Store; additionally any unexpected SQL failure is INTERNAL naming
// the SQLSTATE. Nothing is thrown. All statements are parameterised.
// Audit times are kept to the microsecond (PostgreSQL's resolution); ListAudit orders by `at`
// descending, then id descending.

#include <memory>
#include <string>
#include <vector>

#include "core/store.h"
#include "postgres/connection_pool.h"
#include "schema/migrations.h"

namespace onshid::postgres {

struct PgStoreOptions {
  std::string dsn;    // libpq connection string or URI; may hold a password, never logged
  int pool_size = 4;  // connections (and worker threads)
  int connect_timeout_ms = 5000;  // per connection attempt (libpq connect_timeout, whole seconds)
};

class PgStore final : public core::Store {
 public:
  explicit PgStore(PgStoreOptions options);
  ~PgStore() override;

  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  // Starts the pool, connects, and migrates the database to `migrations` (default: the ones built
  // into this binary). Returns the schema version. Errors: DATABASE_UNAVAILABLE (cannot connect
  // within connect_timeout_ms), SCHEMA_TOO_NEW (upgrade onshid), INTERNAL (a migration failed).
  // On error the store stays closed; Open() may be called again.
  core::Result<int> Open();
  core::Result<int> Open(const std::vector<schema::Migration>& migrations);

  // Stops the pool after queued calls finished. Idempotent.
  void Close();

  core::Status Ping() override;
  core::Result<int> SchemaVersion() override;
  core::Status AppendAudit(const core::AuditRecord& record) override;
  core::Result<std::vector<core::AuditRecord>> ListAudit(const core::AuditQuery& query) override;

  // Pool usage for metrics; all zero while closed. Thread-safe.
  PoolStats PoolUsage() const;

 private:
  const PgStoreOptions options_;
  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace onshid::postgres
