// PgStore as RequestKeyStore (request_keys of schema/0006_integrity.sql).
#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "postgres/pg_internal.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

core::RequestKeyRecord KeyFromRow(const pqxx::row& row) {
  core::RequestKeyRecord r;
  r.key.client = row["client"].as<std::string>();
  r.key.request_id = row["request_id"].as<std::string>();
  r.key.method = row["method"].as<std::string>();
  r.key.fingerprint = row["fingerprint"].as<std::string>();
  r.claimed_at = FromMicros(row["claimed_us"].as<std::int64_t>());
  // The table's CHECK keeps the outcome columns and finished_at all set or all NULL.
  if (!row["finished_us"].is_null()) {
    r.finished_at = FromMicros(row["finished_us"].as<std::int64_t>());
    core::RequestOutcome o;
    o.code = row["outcome_code"].as<int>();
    o.body = pqxx::binarystring(row["outcome_body"]).str();
    o.reason = row["outcome_reason"].as<std::string>();
    o.audit_subject = row["audit_subject"].as<std::string>();
    r.outcome = std::move(o);
  }
  return r;
}

const std::string kKeyColumns = "client, request_id, method, fingerprint, " +
                                MicrosOf("claimed_at") + " AS claimed_us, " +
                                MicrosOf("finished_at") +
                                " AS finished_us, outcome_code, outcome_body, outcome_reason,"
                                " audit_subject";

}  // namespace

core::Result<core::RequestKeyRecord> PgStore::ClaimRequestKey(const core::RequestKey& key,
                                                              core::SystemTime at) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<core::RequestKeyRecord> {
    pqxx::work txn(c, "claim_request_key");
    // A concurrent claim of the same pair makes this insert wait for it and then do nothing; the
    // select below (a new statement, a new snapshot) sees the winner's row.
    txn.exec_params0(
        "INSERT INTO request_keys (client, request_id, method, fingerprint, claimed_at)"
        " VALUES ($1, $2, $3, $4, " +
            TimestampFromMicros(5) + ") ON CONFLICT (client, request_id) DO NOTHING",
        key.client, key.request_id, key.method, key.fingerprint, ToMicros(at));
    const pqxx::row row = txn.exec_params1(
        "SELECT " + kKeyColumns + " FROM request_keys WHERE client = $1 AND request_id = $2",
        key.client, key.request_id);
    core::RequestKeyRecord stored = KeyFromRow(row);
    txn.commit();
    return stored;
  });
}

core::Status PgStore::FinishRequestKey(const std::string& client, const std::string& request_id,
                                       const core::RequestOutcome& outcome, core::SystemTime at) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Status {
    pqxx::work txn(c, "finish_request_key");
    const pqxx::result updated = txn.exec_params(
        "UPDATE request_keys SET finished_at = " + TimestampFromMicros(3) +
            ", outcome_code = $4, outcome_body = $5, outcome_reason = $6, audit_subject = $7"
            " WHERE client = $1 AND request_id = $2 AND finished_at IS NULL",
        client, request_id, ToMicros(at), outcome.code, pqxx::binarystring(outcome.body),
        outcome.reason, outcome.audit_subject);
    if (updated.affected_rows() == 0) {
      // Either finished before (its first outcome is kept) or never claimed.
      const bool exists =
          !txn.exec_params("SELECT 1 FROM request_keys WHERE client = $1 AND request_id = $2",
                           client, request_id)
               .empty();
      if (!exists) {
        core::DomainError e;
        e.kind = core::ErrorKind::kNotFound;
        e.reason = "REQUEST_KEY_NOT_FOUND";
        e.message = "no request key for this client and request id";
        e.message_ja = "要求IDの記録が見つかりません。";
        return e;
      }
      return core::OkStatus();
    }
    txn.commit();
    return core::OkStatus();
  });
}

core::Result<int> PgStore::PurgeRequestKeys(core::SystemTime before, int limit) {
  if (limit < 1) return 0;
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<int> {
    pqxx::work txn(c, "purge_request_keys");
    const pqxx::result deleted = txn.exec_params(
        "DELETE FROM request_keys WHERE (client, request_id) IN (SELECT client, request_id"
        " FROM request_keys WHERE claimed_at < " +
            TimestampFromMicros(1) + " ORDER BY claimed_at LIMIT $2)",
        ToMicros(before), limit);
    txn.commit();
    return static_cast<int>(deleted.affected_rows());
  });
}

}  // namespace onshid::postgres
