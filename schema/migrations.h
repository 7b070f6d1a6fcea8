#pragma once
// The SQL migrations compiled into this binary (schema/NNNN_name.sql, embedded at build time by
// schema/embed_migrations.cmake). Applied at start-up by adapters/postgres (postgres/migrate.h).

#include <string>
#include <vector>

namespace onshid::schema {

struct Migration {
  int version = 0;   // NNNN from the file name; unique, > 0
  std::string name;  // the rest of the file name without ".sql", e.g. "foundation"
  std::string sql;   // the file's text, may hold several statements
};

// Every embedded migration, sorted by ascending version. Thread-safe; returns a fresh copy.
std::vector<Migration> Migrations();

// The highest version in Migrations(), or 0 when there is none.
int LatestVersion();

}  // namespace onshid::schema
