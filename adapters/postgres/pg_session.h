#pragma once
// Bounds on every database session of PgStore (pooled connections and the LISTEN connection), so
// that a lost server, a stuck statement, a lock wait or a forgotten transaction cannot hold a
// connection (and the caller behind it) forever. Internal to adapters/postgres.

#include <string>

namespace onshid::postgres {

struct SessionBounds {
  int connect_timeout_ms = 5000;               // libpq connect_timeout (whole seconds, >= 1)
  int statement_timeout_ms = 30000;            // server: statement_timeout (0 = none)
  int lock_timeout_ms = 10000;                 // server: lock_timeout (0 = none)
  int idle_in_transaction_timeout_ms = 60000;  // server: idle_in_transaction_session_timeout
  int keepalives_idle_s = 30;                  // libpq TCP keepalives (ignored on Unix sockets)
  int keepalives_interval_s = 10;
  int keepalives_count = 3;
};

// Returns a libpq connection string equivalent to `dsn` (key=value or postgresql:// URI) with the
// bounds added: connect_timeout, keepalives=1 and keepalives_idle/_interval/_count, and the three
// server timeouts as "-c name=value" in `options`. Whatever `dsn` sets itself wins: a parameter it
// names is kept, and a timeout its `options` (or, when it has none, the PGOPTIONS environment
// variable libpq would use) already sets is not added. The result is in key=value form; it may
// hold a password and must never be logged. A `dsn` libpq cannot parse is returned unchanged
// (connecting then fails with libpq's own error).
std::string BoundedDsn(const std::string& dsn, const SessionBounds& bounds);

}  // namespace onshid::postgres
