// PgStore as FallbackCaseStore (schema/0005_fallback.sql).
//
// A case write and everything attached to it commit in one transaction. The proof of attempt is
// append-only in the database itself (a trigger refuses UPDATE and DELETE), so not even a bug in
// a purge can rewrite it.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/fallback/case_store_errors.h"
#include "core/store_errors.h"
#include "postgres/pg_internal.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

using core::fallback::Attempt;
using core::fallback::CaseQuery;
using core::fallback::CaseRow;
using core::fallback::CaseWrite;
using core::fallback::Task;
using core::fallback::TaskQuery;

const std::string kCaseColumns =
    "id, version, client_key, check_in_id, state, claim_route, day, " + MicrosOf("opened_at") +
    " AS opened_us, " + MicrosOf("updated_at") + " AS updated_us, " + MicrosOf("closed_at") +
    " AS closed_us, body, EXISTS (SELECT 1 FROM fallback_personal_data p WHERE p.case_id = id)"
    " AS has_personal";

CaseRow CaseFromRow(const pqxx::row& row) {
  CaseRow r;
  r.id = row["id"].as<std::string>();
  r.version = row["version"].as<std::int64_t>();
  r.client_key = row["client_key"].as<std::string>();
  r.check_in_id = row["check_in_id"].as<std::string>();
  r.state = row["state"].as<std::string>();
  r.claim_route = row["claim_route"].as<std::string>();
  r.day = row["day"].as<std::string>();
  r.opened_at = FromMicros(row["opened_us"].as<std::int64_t>());
  r.updated_at = FromMicros(row["updated_us"].as<std::int64_t>());
  if (!row["closed_us"].is_null()) r.closed_at = FromMicros(row["closed_us"].as<std::int64_t>());
  r.body = row["body"].as<std::string>();
  r.has_personal_data = row["has_personal"].as<bool>();
  return r;
}

const std::string kTaskColumns = "id, case_id, kind, state, due_day, " + MicrosOf("created_at") +
                                 " AS created_us, " + MicrosOf("done_at") +
                                 " AS done_us, done_by, body";

Task TaskFromRow(const pqxx::row& row) {
  Task t;
  t.id = row["id"].as<std::string>();
  t.case_id = row["case_id"].as<std::string>();
  t.kind = row["kind"].as<std::string>();
  t.state = row["state"].as<std::string>();
  t.due_day = row["due_day"].as<std::string>();
  t.created_at = FromMicros(row["created_us"].as<std::int64_t>());
  if (!row["done_us"].is_null()) t.done_at = FromMicros(row["done_us"].as<std::int64_t>());
  t.done_by = row["done_by"].as<std::string>();
  t.body = row["body"].as<std::string>();
  return t;
}

std::optional<std::int64_t> OptMicros(const std::optional<core::SystemTime>& t) {
  if (!t) return std::nullopt;
  return ToMicros(*t);
}

void WriteAttached(pqxx::transaction_base& txn, const std::string& case_id, const CaseWrite& with,
                   core::SystemTime at) {
  if (!with.attempts.empty()) {
    std::int64_t seq = txn.exec_params1(
                              "SELECT COALESCE(MAX(seq), 0) FROM fallback_attempts WHERE case_id = $1",
                              case_id)[0]
                           .as<std::int64_t>();
    for (const Attempt& a : with.attempts) {
      txn.exec_params0("INSERT INTO fallback_attempts (case_id, seq, at, actor, kind, body)"
                       " VALUES ($1, $2, " + TimestampFromMicros(3) + ", $4, $5, $6)",
                       case_id, ++seq, ToMicros(a.at), a.actor, a.kind, a.body);
    }
  }
  if (with.purge_personal_data) {
    txn.exec_params0("DELETE FROM fallback_personal_data WHERE case_id = $1", case_id);
  } else if (with.personal_data) {
    txn.exec_params0("INSERT INTO fallback_personal_data (case_id, body, stored_at) VALUES ($1, $2, " +
                         TimestampFromMicros(3) +
                         ") ON CONFLICT (case_id) DO UPDATE SET body = EXCLUDED.body,"
                         " stored_at = EXCLUDED.stored_at",
                     case_id, *with.personal_data, ToMicros(at));
  }
  for (const Task& t : with.tasks) {
    txn.exec_params0(
        "INSERT INTO fallback_tasks (id, case_id, kind, state, due_day, created_at, done_at,"
        " done_by, body) VALUES ($1, $2, $3, $4, $5, " + TimestampFromMicros(6) + ", " +
            "to_timestamp($7::bigint / 1000000.0), $8, $9) ON CONFLICT (id) DO UPDATE SET"
            " kind = EXCLUDED.kind, state = EXCLUDED.state, due_day = EXCLUDED.due_day,"
            " done_at = EXCLUDED.done_at, done_by = EXCLUDED.done_by, body = EXCLUDED.body",
        t.id, case_id, t.kind, t.state, t.due_day, ToMicros(t.created_at), OptMicros(t.done_at),
        t.done_by, t.body);
  }
}

}  // namespace

core::Status PgStore::InsertCase(const CaseRow& row, const CaseWrite& with) {
  if (auto valid = core::fallback::ValidateCaseWrite(row, with, true); !valid) return valid;
  if (!pool_) return NotOpen();
  auto written = pool_->Run([&](pqxx::connection& c) -> core::Status {
    pqxx::work txn(c, "insert_fallback_case");
    const pqxx::result inserted = txn.exec_params(
        "INSERT INTO fallback_cases (id, version, client_key, check_in_id, state, claim_route, day,"
        " opened_at, updated_at, closed_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, " +
            TimestampFromMicros(8) + ", " + TimestampFromMicros(9) +
            ", to_timestamp($10::bigint / 1000000.0), $11) ON CONFLICT DO NOTHING RETURNING id",
        row.id, row.version, row.client_key, row.check_in_id, row.state, row.claim_route, row.day,
        ToMicros(row.opened_at), ToMicros(row.updated_at), OptMicros(row.closed_at), row.body);
    if (inserted.empty()) {
      // Name the holder: the client key first (a retry), then the id, then the check-in.
      const pqxx::result holder = txn.exec_params(
          "SELECT id FROM fallback_cases WHERE ($1 <> '' AND client_key = $1) OR id = $2"
          " OR ($3 <> '' AND check_in_id = $3)"
          " ORDER BY (client_key = $1 AND $1 <> '') DESC, (id = $2) DESC LIMIT 1",
          row.client_key, row.id, row.check_in_id);
      txn.abort();
      if (holder.empty()) return core::Internal("fallback case insert conflicted with no visible row");
      return core::fallback::CaseExists(holder[0][0].as<std::string>());
    }
    WriteAttached(txn, row.id, with, row.updated_at);
    InsertEvents(txn, with.events);
    txn.commit();
    return core::OkStatus();
  });
  if (written.ok() && !with.events.empty()) WakeSubscribers();
  return written;
}

core::Status PgStore::UpdateCase(const CaseRow& row, const CaseWrite& with) {
  if (auto valid = core::fallback::ValidateCaseWrite(row, with, false); !valid) return valid;
  if (!pool_) return NotOpen();
  auto written = pool_->Run([&](pqxx::connection& c) -> core::Status {
    pqxx::work txn(c, "update_fallback_case");
    const pqxx::result updated = txn.exec_params(
        "UPDATE fallback_cases SET version = $2, client_key = $3, check_in_id = $4, state = $5,"
        " claim_route = $6, day = $7, opened_at = " + TimestampFromMicros(8) +
            ", updated_at = " + TimestampFromMicros(9) +
            ", closed_at = to_timestamp($10::bigint / 1000000.0), body = $11"
            " WHERE id = $1 AND version = $12 RETURNING id",
        row.id, row.version, row.client_key, row.check_in_id, row.state, row.claim_route, row.day,
        ToMicros(row.opened_at), ToMicros(row.updated_at), OptMicros(row.closed_at), row.body,
        row.version - 1);
    if (updated.empty()) {
      const bool exists =
          !txn.exec_params("SELECT 1 FROM fallback_cases WHERE id = $1", row.id).empty();
      txn.abort();
      if (!exists) return core::fallback::CaseNotFound(row.id);
      return core::fallback::CaseConcurrentUpdate(row.id);
    }
    WriteAttached(txn, row.id, with, row.updated_at);
    InsertEvents(txn, with.events);
    txn.commit();
    return core::OkStatus();
  });
  if (written.ok() && !with.events.empty()) WakeSubscribers();
  return written;
}

core::Result<std::optional<CaseRow>> PgStore::GetCase(const std::string& id) {
  return SelectCase("id", id);
}

core::Result<std::optional<CaseRow>> PgStore::CaseForClientKey(const std::string& client_key) {
  if (client_key.empty()) return std::optional<CaseRow>();  // '' is no key
  return SelectCase("client_key", client_key);
}

core::Result<std::optional<CaseRow>> PgStore::CaseForCheckIn(const std::string& check_in_id) {
  if (check_in_id.empty()) return std::optional<CaseRow>();  // '' is no check-in
  return SelectCase("check_in_id", check_in_id);
}

core::Result<std::optional<CaseRow>> PgStore::SelectCase(const char* column,
                                                         const std::string& value) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<CaseRow>> {
    pqxx::read_transaction txn(c, "select_fallback_case");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kCaseColumns + " FROM fallback_cases WHERE " + column + " = $1", value);
    if (rows.empty()) return std::optional<CaseRow>();
    return std::optional<CaseRow>(CaseFromRow(rows[0]));
  });
}

core::Result<std::vector<CaseRow>> PgStore::ListCases(const CaseQuery& q) {
  if (auto valid = core::fallback::ValidateLimit(q.limit); !valid) return valid.error();
  if (!pool_) return NotOpen();
  auto opt = [](const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; };
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::vector<CaseRow>> {
    pqxx::read_transaction txn(c, "list_fallback_cases");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kCaseColumns +
            " FROM fallback_cases WHERE ($1::text IS NULL OR state = $1)"
            " AND ($2::text IS NULL OR day = $2) AND ($3::text IS NULL OR check_in_id = $3)"
            " ORDER BY opened_at DESC, id DESC LIMIT $4",
        opt(q.state), opt(q.day), opt(q.check_in_id), q.limit);
    std::vector<CaseRow> out;
    for (const auto& r : rows) out.push_back(CaseFromRow(r));
    return out;
  });
}

core::Result<std::vector<Attempt>> PgStore::Attempts(const std::string& case_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::vector<Attempt>> {
    pqxx::read_transaction txn(c, "fallback_attempts");
    const pqxx::result rows = txn.exec_params(
        "SELECT case_id, seq, " + MicrosOf("at") +
            " AS at_us, actor, kind, body FROM fallback_attempts WHERE case_id = $1 ORDER BY seq",
        case_id);
    std::vector<Attempt> out;
    for (const auto& r : rows) {
      Attempt a;
      a.case_id = r["case_id"].as<std::string>();
      a.seq = r["seq"].as<std::int64_t>();
      a.at = FromMicros(r["at_us"].as<std::int64_t>());
      a.actor = r["actor"].as<std::string>();
      a.kind = r["kind"].as<std::string>();
      a.body = r["body"].as<std::string>();
      out.push_back(std::move(a));
    }
    return out;
  });
}

core::Result<std::optional<std::string>> PgStore::PersonalData(const std::string& case_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<std::string>> {
    pqxx::read_transaction txn(c, "fallback_personal_data");
    const pqxx::result rows =
        txn.exec_params("SELECT body FROM fallback_personal_data WHERE case_id = $1", case_id);
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows[0][0].as<std::string>());
  });
}

core::Result<std::vector<Task>> PgStore::ListTasks(const TaskQuery& q) {
  if (auto valid = core::fallback::ValidateLimit(q.limit); !valid) return valid.error();
  if (!pool_) return NotOpen();
  auto opt = [](const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; };
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::vector<Task>> {
    pqxx::read_transaction txn(c, "list_fallback_tasks");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kTaskColumns +
            " FROM fallback_tasks WHERE ($1::text IS NULL OR case_id = $1)"
            " AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR due_day <= $3)"
            " ORDER BY due_day, created_at, id LIMIT $4",
        opt(q.case_id), opt(q.state), opt(q.due_on_or_before), q.limit);
    std::vector<Task> out;
    for (const auto& r : rows) out.push_back(TaskFromRow(r));
    return out;
  });
}

core::Result<std::vector<std::string>> PgStore::CasesToPurge(core::SystemTime before, int limit) {
  if (auto valid = core::fallback::ValidateLimit(limit); !valid) return valid.error();
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::vector<std::string>> {
    pqxx::read_transaction txn(c, "fallback_cases_to_purge");
    const pqxx::result rows = txn.exec_params(
        "SELECT c.id FROM fallback_cases c JOIN fallback_personal_data p ON p.case_id = c.id"
        " WHERE c.state = 'CLOSED' AND c.closed_at < " + TimestampFromMicros(1) +
            " ORDER BY c.closed_at, c.id LIMIT $2",
        ToMicros(before), limit);
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[0].as<std::string>());
    return out;
  });
}

}  // namespace onshid::postgres
