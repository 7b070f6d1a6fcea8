// PgStore as CheckInStore (tables of schema/0003_checkin.sql).
//
// A check-in write and its attachments commit in one transaction: the row, its result link, its
// patient link and its events are all kept or none is. Conflicts are detected without relying on
// exceptions where PostgreSQL allows it (INSERT ... ON CONFLICT DO NOTHING, then a look-up of the
// holder), so the answer can name the check-in that holds the id, key or result.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/checkin/check_in_store_errors.h"
#include "core/store_errors.h"
#include "postgres/pg_errors.h"
#include "postgres/pg_internal.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

using core::checkin::Attachments;
using core::checkin::CheckInQuery;
using core::checkin::CheckInRow;
using core::checkin::PatientLink;
using core::checkin::ResultLink;

const std::string kCheckInColumns =
    "id, version, client_key, day, desk_id, state, correlation, patient_id, result_id,"
    " reference_number, card_key, kana_key, birth_date, timed_out, " +
    MicrosOf("created_at") + " AS created_us, " + MicrosOf("updated_at") + " AS updated_us, body";

CheckInRow CheckInFromRow(const pqxx::row& row) {
  CheckInRow r;
  r.id = row["id"].as<std::string>();
  r.version = row["version"].as<std::int64_t>();
  r.client_key = row["client_key"].as<std::string>();
  r.day = row["day"].as<std::string>();
  r.desk_id = row["desk_id"].as<std::string>();
  r.state = row["state"].as<std::string>();
  r.correlation = row["correlation"].as<std::string>();
  r.patient_id = row["patient_id"].as<std::string>();
  r.result_id = row["result_id"].as<std::int64_t>();
  r.reference_number = row["reference_number"].as<std::string>();
  r.card_key = row["card_key"].as<std::string>();
  r.kana_key = row["kana_key"].as<std::string>();
  r.birth_date = row["birth_date"].as<std::string>();
  r.timed_out = row["timed_out"].as<bool>();
  r.created_at = FromMicros(row["created_us"].as<std::int64_t>());
  r.updated_at = FromMicros(row["updated_us"].as<std::int64_t>());
  r.body = row["body"].as<std::string>();
  return r;
}

ResultLink ResultLinkFromRow(const pqxx::row& row) {
  ResultLink l;
  l.result_id = row[0].as<std::int64_t>();
  l.check_in_id = row[1].as<std::string>();
  l.link = row[2].as<std::string>();
  l.at = FromMicros(row[3].as<std::int64_t>());
  return l;
}

const std::string kResultLinkColumns = "result_id, check_in_id, link, " + MicrosOf("at");

// Runs `sql` with the row's columns as $1..$17 (in kCheckInColumns' order, times as microseconds)
// followed by `extra` as $18…, so that insert and update cannot disagree on the order.
template <typename... Extra>
pqxx::result ExecWithRow(pqxx::transaction_base& txn, const std::string& sql, const CheckInRow& r,
                         const Extra&... extra) {
  return txn.exec_params(sql, r.id, r.version, r.client_key, r.day, r.desk_id, r.state,
                         r.correlation, r.patient_id, r.result_id, r.reference_number, r.card_key,
                         r.kana_key, r.birth_date, r.timed_out, ToMicros(r.created_at),
                         ToMicros(r.updated_at), r.body, extra...);
}

const std::string kInsertCheckIn =
    "INSERT INTO check_ins (id, version, client_key, day, desk_id, state, correlation, patient_id,"
    " result_id, reference_number, card_key, kana_key, birth_date, timed_out, created_at,"
    " updated_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, " +
    TimestampFromMicros(15) + ", " + TimestampFromMicros(16) + ", $17) ON CONFLICT DO NOTHING";

// $18 is the version the writer read.
const std::string kUpdateCheckIn =
    "UPDATE check_ins SET version = $2, client_key = $3, day = $4, desk_id = $5, state = $6,"
    " correlation = $7, patient_id = $8, result_id = $9, reference_number = $10, card_key = $11,"
    " kana_key = $12, birth_date = $13, timed_out = $14, created_at = " +
    TimestampFromMicros(15) + ", updated_at = " + TimestampFromMicros(16) +
    ", body = $17 WHERE id = $1 AND version = $18";

// The check-in holding a new row's id or non-empty client_key. A retry of the same request names
// the check-in it created, so the client_key's holder comes first.
std::optional<std::string> HolderOf(pqxx::transaction_base& txn, const CheckInRow& row) {
  const pqxx::result rows = txn.exec_params(
      "SELECT id FROM check_ins WHERE id = $1 OR ($2::text <> '' AND client_key = $2::text)"
      " ORDER BY ($2::text <> '' AND client_key = $2::text) DESC LIMIT 1",
      row.id, row.client_key);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

// Writes the result and patient links of check-in `id` within `txn`. On RESULT_ALREADY_LINKED the
// caller must not commit.
core::Status WriteLinks(pqxx::transaction_base& txn, const std::string& id,
                        const Attachments& with) {
  if (with.result_link) {
    const ResultLink& l = *with.result_link;
    const pqxx::result linked =
        l.move_from.empty()
            ? txn.exec_params(
                  "INSERT INTO check_in_results (result_id, check_in_id, link, at) VALUES ($1, $2, "
                  "$3, " + TimestampFromMicros(4) + ") ON CONFLICT (result_id) DO NOTHING",
                  l.result_id, id, l.link, ToMicros(l.at))
            : txn.exec_params("UPDATE check_in_results SET check_in_id = $2, link = $3, at = " +
                                  TimestampFromMicros(4) +
                                  " WHERE result_id = $1 AND check_in_id = $5",
                              l.result_id, id, l.link, ToMicros(l.at), l.move_from);
    if (linked.affected_rows() == 0) {
      const pqxx::result holder = txn.exec_params(
          "SELECT check_in_id FROM check_in_results WHERE result_id = $1", l.result_id);
      return core::checkin::ResultAlreadyLinked(holder.empty() ? "" : holder[0][0].as<std::string>());
    }
  }
  if (with.patient_link) {
    const PatientLink& p = *with.patient_link;
    txn.exec_params0(
        "INSERT INTO patient_links (check_in_id, patient_id, linked_by, request_id, at)"
        " VALUES ($1, $2, $3, $4, " +
            TimestampFromMicros(5) + ")",
        id, p.patient_id, p.linked_by, p.request_id, ToMicros(p.at));
  }
  return core::OkStatus();
}

}  // namespace

core::Status PgStore::InsertCheckIn(const CheckInRow& row, const Attachments& with) {
  return WriteCheckIn(row, with, /*insert=*/true);
}

core::Status PgStore::UpdateCheckIn(const CheckInRow& row, const Attachments& with) {
  return WriteCheckIn(row, with, /*insert=*/false);
}

core::Status PgStore::WriteCheckIn(const CheckInRow& row, const Attachments& with, bool insert) {
  if (auto valid = core::checkin::ValidateCheckInWrite(row, with, insert); !valid) return valid;
  if (!pool_) return NotOpen();
  auto written = pool_->Run([&](pqxx::connection& c) -> core::Status {
    bool key_taken = false;
    {
      pqxx::work txn(c, insert ? "insert_check_in" : "update_check_in");
      if (insert) {
        if (ExecWithRow(txn, kInsertCheckIn, row).affected_rows() == 0) {
          const std::optional<std::string> holder = HolderOf(txn, row);
          txn.abort();
          if (!holder) return core::Internal("check-in insert conflicted with no visible row");
          return core::checkin::CheckInExists(*holder);
        }
      } else {
        try {
          if (ExecWithRow(txn, kUpdateCheckIn, row, row.version - 1).affected_rows() == 0) {
            const bool exists =
                !txn.exec_params("SELECT 1 FROM check_ins WHERE id = $1", row.id).empty();
            txn.abort();
            if (!exists) return core::checkin::CheckInNotFound(row.id);
            return core::checkin::CheckInConcurrentUpdate(row.id);
          }
        } catch (const pqxx::unique_violation&) {
          // The id is the row's own, so only the client_key index can clash: the new key is held
          // by another check-in. The transaction is unusable now; name the holder from a new one.
          key_taken = true;
        }
      }
      if (!key_taken) {
        if (auto linked = WriteLinks(txn, row.id, with); !linked) {
          txn.abort();  // nothing of this write is kept
          return linked;
        }
        InsertEvents(txn, with.events);
        txn.commit();
        return core::OkStatus();
      }
    }
    pqxx::read_transaction txn(c, "check_in_key_holder");
    const pqxx::result rows = txn.exec_params(
        "SELECT id FROM check_ins WHERE client_key = $1 AND id <> $2", row.client_key, row.id);
    if (rows.empty()) return core::Internal("check-in update conflicted with no visible row");
    return core::checkin::CheckInExists(rows[0][0].as<std::string>());
  });
  // As Append: wake local subscribers at once; the NOTIFY trigger reaches them (and other
  // daemons) as well.
  if (written.ok() && !with.events.empty()) WakeSubscribers();
  return written;
}

core::Result<std::optional<CheckInRow>> PgStore::GetCheckIn(const std::string& id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<CheckInRow>> {
    pqxx::read_transaction txn(c, "get_check_in");
    const pqxx::result rows =
        txn.exec_params("SELECT " + kCheckInColumns + " FROM check_ins WHERE id = $1", id);
    if (rows.empty()) return std::optional<CheckInRow>();
    return std::optional<CheckInRow>(CheckInFromRow(rows[0]));
  });
}

core::Result<std::optional<CheckInRow>> PgStore::CheckInForClientKey(
    const std::string& client_key) {
  if (client_key.empty()) return std::optional<CheckInRow>();  // '' is no key, never unique
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<CheckInRow>> {
    pqxx::read_transaction txn(c, "check_in_for_client_key");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kCheckInColumns + " FROM check_ins WHERE client_key = $1", client_key);
    if (rows.empty()) return std::optional<CheckInRow>();
    return std::optional<CheckInRow>(CheckInFromRow(rows[0]));
  });
}

core::Result<std::vector<CheckInRow>> PgStore::ListCheckIns(const CheckInQuery& q) {
  if (auto valid = core::checkin::ValidateCheckInQuery(q); !valid) return valid.error();
  if (!pool_) return NotOpen();
  // A null parameter disables its filter (see ListAudit).
  auto opt = [](const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; };
  std::optional<std::string> since;
  if (q.open_or_updated_since) since = std::to_string(ToMicros(*q.open_or_updated_since));
  // Ids compare bytewise (COLLATE "C") whatever the database's locale, as MemCheckInStore does.
  const std::string order = q.newest_first ? " ORDER BY created_at DESC, id COLLATE \"C\" DESC"
                                           : " ORDER BY created_at ASC, id COLLATE \"C\" ASC";
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "list_check_ins");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kCheckInColumns +
            " FROM check_ins WHERE ($1::text IS NULL OR day = $1::text)"
            " AND ($2::text IS NULL OR desk_id = $2::text)"
            " AND ($3::text IS NULL OR state = $3::text)"
            " AND ($4::text IS NULL OR patient_id = $4::text)"
            " AND ($5::text IS NULL OR reference_number = $5::text)"
            " AND ($6::text IS NULL OR card_key = $6::text)"
            " AND ($7::text IS NULL OR kana_key = $7::text)"
            " AND ($8::text IS NULL OR birth_date = $8::text)"
            " AND ($9::bigint IS NULL OR state IN ('WAITING', 'NEEDS_FALLBACK') OR updated_at >= " +
            TimestampFromMicros(9) + ")" + order + " LIMIT $10",
        opt(q.day), opt(q.desk_id), opt(q.state), opt(q.patient_id), opt(q.reference_number),
        opt(q.card_key), opt(q.kana_key), opt(q.birth_date), opt(since), q.limit);
    std::vector<CheckInRow> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(CheckInFromRow(row));
    return out;
  });
}

core::Result<std::vector<ResultLink>> PgStore::LinksOf(const std::string& check_in_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "check_in_links");
    const pqxx::result rows = txn.exec_params("SELECT " + kResultLinkColumns +
                                                  " FROM check_in_results WHERE check_in_id = $1"
                                                  " ORDER BY at, result_id",
                                              check_in_id);
    std::vector<ResultLink> out;
    for (const auto& row : rows) out.push_back(ResultLinkFromRow(row));
    return out;
  });
}

core::Result<std::optional<ResultLink>> PgStore::LinkOfResult(std::int64_t result_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<ResultLink>> {
    pqxx::read_transaction txn(c, "result_link");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kResultLinkColumns + " FROM check_in_results WHERE result_id = $1", result_id);
    if (rows.empty()) return std::optional<ResultLink>();
    return std::optional<ResultLink>(ResultLinkFromRow(rows[0]));
  });
}

core::Result<std::vector<std::int64_t>> PgStore::UnlinkedFaceResults(core::SystemTime since) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "unlinked_face_results");
    const pqxx::result rows = txn.exec_params(
        "SELECT r.id FROM eligibility_results r WHERE r.source = 'face' AND r.received_at >= " +
            TimestampFromMicros(1) +
            " AND NOT EXISTS (SELECT 1 FROM check_in_results l WHERE l.result_id = r.id)"
            " AND NOT EXISTS (SELECT 1 FROM eligibility_results d"
            "                 WHERE d.raw_sha256 = r.raw_sha256 AND d.id < r.id)"
            " ORDER BY r.id",
        ToMicros(since));
    std::vector<std::int64_t> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(row[0].as<std::int64_t>());
    return out;
  });
}

core::Result<std::vector<PatientLink>> PgStore::PatientLinks(const std::string& check_in_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "patient_links");
    const pqxx::result rows = txn.exec_params(
        "SELECT id, check_in_id, patient_id, linked_by, request_id, " + MicrosOf("at") +
            " FROM patient_links WHERE check_in_id = $1 ORDER BY at, id",
        check_in_id);
    std::vector<PatientLink> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      PatientLink p;
      p.id = row[0].as<std::int64_t>();
      p.check_in_id = row[1].as<std::string>();
      p.patient_id = row[2].as<std::string>();
      p.linked_by = row[3].as<std::string>();
      p.request_id = row[4].as<std::string>();
      p.at = FromMicros(row[5].as<std::int64_t>());
      out.push_back(std::move(p));
    }
    return out;
  });
}

}  // namespace onshid::postgres
