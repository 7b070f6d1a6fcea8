#include "postgres/pg_store.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>

#include "core/store_errors.h"
#include "postgres/migrate.h"
#include "postgres/pg_errors.h"
#include "postgres/pg_internal.h"
#include "postgres/pg_session.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {

PgStore::PgStore(PgStoreOptions options) : options_(std::move(options)) {}

PgStore::~PgStore() { Close(); }

core::Result<int> PgStore::Open() { return Open(schema::Migrations()); }

core::Result<int> PgStore::Open(const std::vector<schema::Migration>& migrations) {
  Close();
  auto pool = std::make_unique<ConnectionPool>(Dsn(), options_.pool_size);
  core::Result<int> version =
      pool->Run([&](pqxx::connection& c) { return Migrate(c, migrations); });
  if (!version.ok()) {
    pool->Stop();
    return version;
  }
  pool_ = std::move(pool);
  {
    std::lock_guard lock(listen_mu_);
    listen_stop_ = false;
  }
  listener_ = std::thread([this] { ListenLoop(); });
  PostgresLogger()->info("database open at schema version {}", *version);
  return version;
}

void PgStore::Close() {
  {
    std::lock_guard lock(listen_mu_);
    listen_stop_ = true;
  }
  listen_cv_.notify_all();
  if (listener_.joinable()) listener_.join();
  if (!pool_) return;
  pool_->Stop();
  pool_.reset();
}

std::string PgStore::Dsn() const {
  SessionBounds bounds;
  bounds.connect_timeout_ms = options_.connect_timeout_ms;
  bounds.statement_timeout_ms = options_.statement_timeout_ms;
  bounds.lock_timeout_ms = options_.lock_timeout_ms;
  bounds.idle_in_transaction_timeout_ms = options_.idle_in_transaction_timeout_ms;
  bounds.keepalives_idle_s = options_.keepalives_idle_s;
  bounds.keepalives_interval_s = options_.keepalives_interval_s;
  bounds.keepalives_count = options_.keepalives_count;
  return BoundedDsn(options_.dsn, bounds);
}

PoolStats PgStore::PoolUsage() const { return pool_ ? pool_->Stats() : PoolStats{}; }

core::Status PgStore::Ping() {
  if (!pool_) return NotOpen();
  return pool_->Run([](pqxx::connection& c) {
    pqxx::nontransaction txn(c, "ping");
    txn.exec1("SELECT 1");
  });
}

core::Result<std::string> PgStore::ServerSetting(const std::string& name) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::string> {
    pqxx::nontransaction txn(c, "server_setting");
    return txn.exec_params1("SELECT current_setting($1)", name)[0].as<std::string>();
  });
}

core::Result<int> PgStore::SchemaVersion() {
  if (!pool_) return NotOpen();
  return pool_->Run([](pqxx::connection& c) { return ReadSchemaVersion(c); });
}

core::Result<std::int64_t> PgStore::AppendAudit(const core::AuditRecord& record) {
  if (!pool_) return NotOpen();
  const std::int64_t at = ToMicros(record.at);
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::int64_t> {
    pqxx::work txn(c, "append_audit");
    const pqxx::row row = txn.exec_params1(
        "INSERT INTO audit_log (at, request_id, client, method, channel, subject, outcome)"
        " VALUES (" +
            TimestampFromMicros(1) + ", $2, $3, $4, $5, $6, $7) RETURNING id",
        at, record.request_id, record.client, record.method, record.channel, record.subject,
        record.outcome);
    txn.commit();
    return row[0].as<std::int64_t>();
  });
}

core::Status PgStore::FinishAudit(std::int64_t id, const std::string& outcome,
                                  const std::string& subject, core::SystemTime at) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Status {
    pqxx::work txn(c, "finish_audit");
    const pqxx::result updated = txn.exec_params(
        "UPDATE audit_log SET outcome = $2, subject = $3, at = " + TimestampFromMicros(4) +
            " WHERE id = $1",
        id, outcome, subject, ToMicros(at));
    if (updated.affected_rows() == 0) {
      core::DomainError e;
      e.kind = core::ErrorKind::kNotFound;
      e.reason = "AUDIT_RECORD_NOT_FOUND";
      e.message = "no audit record " + std::to_string(id);
      e.message_ja = "監査記録が見つかりません。";
      return e;
    }
    txn.commit();
    return core::OkStatus();
  });
}

core::Result<std::vector<core::AuditRecord>> PgStore::ListAudit(const core::AuditQuery& query) {
  if (auto valid = core::ValidateAuditQuery(query); !valid) return valid.error();
  if (!pool_) return NotOpen();
  // A null parameter disables its filter; unnamed statements are planned with the actual values,
  // so the disabled conditions fold away.
  const char* request_id = query.request_id ? query.request_id->c_str() : nullptr;
  const char* client = query.client ? query.client->c_str() : nullptr;
  std::optional<std::string> since;
  if (query.since) since = std::to_string(ToMicros(*query.since));
  const char* since_param = since ? since->c_str() : nullptr;
  const int limit = query.limit;

  return pool_->Run([&](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "list_audit");
    const pqxx::result rows = txn.exec_params(
        "SELECT id, " + MicrosOf("at") + ", request_id, client, method,"
        " channel, subject, outcome FROM audit_log"
        " WHERE ($1::text IS NULL OR request_id = $1::text)"
        " AND ($2::text IS NULL OR client = $2::text)"
        " AND ($3::bigint IS NULL OR at >= " +
            TimestampFromMicros(3) +
            ")"
            " ORDER BY at DESC, id DESC LIMIT $4",
        request_id, client, since_param, limit);
    std::vector<core::AuditRecord> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      core::AuditRecord r;
      r.id = row[0].as<std::int64_t>();
      r.at = FromMicros(row[1].as<std::int64_t>());
      r.request_id = row[2].as<std::string>();
      r.client = row[3].as<std::string>();
      r.method = row[4].as<std::string>();
      r.channel = row[5].as<std::string>();
      r.subject = row[6].as<std::string>();
      r.outcome = row[7].as<std::string>();
      out.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace onshid::postgres
