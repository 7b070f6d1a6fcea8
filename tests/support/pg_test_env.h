#pragma once
// A throwaway PostgreSQL for tests, run by ManagedPostgres itself in a fresh temporary state dir.
//
// When the tests run as root the server runs as "onshid" if that system user exists (the install
// script creates it), else as "postgres" (created by Debian's postgresql package). The temporary
// directory is mode 0711 so that user can reach its data and socket dirs. fsync is off.

#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"
#include "postgres/managed_postgres.h"

namespace onshid::testing {

// "onshid" when that user exists, else "postgres".
std::string TestRunAsUser();

class PgTestEnv {
 public:
  // Creates the temporary state dir; starts nothing.
  PgTestEnv();
  // Stops the server (if started with Start()) and deletes the state dir.
  ~PgTestEnv();

  PgTestEnv(const PgTestEnv&) = delete;
  PgTestEnv& operator=(const PgTestEnv&) = delete;

  // Options for a ManagedPostgres on this state dir (<state>/pgdata, <state>/run, fast settings,
  // 100 ms initial restart backoff). Tests may construct several ManagedPostgres from them.
  postgres::ManagedPostgresOptions Options() const;

  // Starts the env's own ManagedPostgres; returns the DSN of database "onshid".
  core::Result<std::string> Start(postgres::ManagedPostgresListener listener = {});
  postgres::ManagedPostgres& Postgres() { return *postgres_; }

  // Creates a new, empty database on the running cluster and returns its DSN.
  // Throws (failing the test) when that is impossible.
  std::string CreateDatabase();

  const std::filesystem::path& StateDir() const { return state_dir_; }

 private:
  std::filesystem::path state_dir_;
  std::unique_ptr<postgres::ManagedPostgres> postgres_;
};

// One cluster for the whole test run, started on first use (for tests that only need a database).
// Throws when it cannot be started.
PgTestEnv& SharedPgTestEnv();

}  // namespace onshid::testing
