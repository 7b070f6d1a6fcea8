// PgStore as ReferenceNumberStore (schema/0004_reference_numbers.sql, client_request_id since
// schema/0006_integrity.sql).
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "postgres/pg_internal.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

using core::ReferenceNumberRecord;

const std::string kColumns =
    "id, request_id, client_request_id, reference_number, insurer_number, insured_card_symbol,"
    " insured_identification_number, insured_branch_number, state, error_code, error_message,"
    " file_name, raw, raw_sha256, " +
    MicrosOf("requested_at") + " AS requested_us, " + MicrosOf("completed_at") + " AS completed_us";

ReferenceNumberRecord FromRow(const pqxx::row& row) {
  ReferenceNumberRecord r;
  r.id = row["id"].as<std::int64_t>();
  r.request_id = row["request_id"].as<std::string>();
  r.client_request_id = row["client_request_id"].as<std::string>();
  r.reference_number = row["reference_number"].as<std::string>();
  r.insurer_number = row["insurer_number"].as<std::string>();
  r.insured_card_symbol = row["insured_card_symbol"].as<std::string>();
  r.insured_identification_number = row["insured_identification_number"].as<std::string>();
  r.insured_branch_number = row["insured_branch_number"].as<std::string>();
  r.state = row["state"].as<std::string>();
  r.error_code = row["error_code"].as<std::string>();
  r.error_message = row["error_message"].as<std::string>();
  r.file_name = row["file_name"].as<std::string>();
  if (!row["raw"].is_null()) r.raw = pqxx::binarystring(row["raw"]).str();
  r.raw_sha256 = row["raw_sha256"].as<std::string>();
  r.requested_at = FromMicros(row["requested_us"].as<std::int64_t>());
  if (!row["completed_us"].is_null()) r.completed_at = FromMicros(row["completed_us"].as<std::int64_t>());
  return r;
}

std::optional<ReferenceNumberRecord> Select(pqxx::transaction_base& txn, const std::string& where,
                                            const std::string& key) {
  const pqxx::result rows = txn.exec_params(
      "SELECT " + kColumns + " FROM reference_number_registrations WHERE " + where, key);
  if (rows.empty()) return std::nullopt;
  return FromRow(rows[0]);
}

}  // namespace

core::Result<ReferenceNumberRecord> PgStore::CreateRegistration(const ReferenceNumberRecord& r) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<ReferenceNumberRecord> {
    pqxx::work txn(c, "create_reference_number");
    txn.exec_params0(
        "INSERT INTO reference_number_registrations (request_id, client_request_id,"
        " reference_number, insurer_number, insured_card_symbol, insured_identification_number,"
        " insured_branch_number, state, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " 'PENDING', " +
            TimestampFromMicros(8) + ") ON CONFLICT (request_id) DO NOTHING",
        r.request_id, r.client_request_id, r.reference_number, r.insurer_number,
        r.insured_card_symbol, r.insured_identification_number, r.insured_branch_number,
        ToMicros(r.requested_at));
    auto stored = Select(txn, "request_id = $1", r.request_id);
    txn.commit();
    return *stored;  // inserted now or before: the row exists inside this transaction
  });
}

core::Result<std::optional<ReferenceNumberRecord>> PgStore::RegistrationForRequest(
    const std::string& request_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<ReferenceNumberRecord>> {
    pqxx::read_transaction txn(c, "reference_number_for_request");
    return Select(txn, "request_id = $1", request_id);
  });
}

core::Result<std::optional<ReferenceNumberRecord>> PgStore::GetRegistration(std::int64_t id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<ReferenceNumberRecord>> {
    pqxx::read_transaction txn(c, "get_reference_number");
    return Select(txn, "id = $1::bigint", std::to_string(id));
  });
}

core::Result<std::vector<ReferenceNumberRecord>> PgStore::ListRegistrations(
    const std::string& reference_number, int limit) {
  if (!pool_) return NotOpen();
  if (limit < 1 || limit > 200) {
    return core::InvalidArgument("INVALID_LIMIT", "limit must be between 1 and 200",
                                 "取得件数は1〜200で指定してください。",
                                 {{"limit", "must be between 1 and 200"}});
  }
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::vector<ReferenceNumberRecord>> {
    pqxx::read_transaction txn(c, "list_reference_numbers");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kColumns +
            " FROM reference_number_registrations WHERE reference_number = $1"
            " ORDER BY id DESC LIMIT $2",
        reference_number, limit);
    std::vector<ReferenceNumberRecord> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(FromRow(row));
    return out;
  });
}

core::Result<std::pair<ReferenceNumberRecord, bool>> PgStore::CompleteRegistration(
    const ReferenceNumberRecord& o, const RegistrationEvents& events) {
  if (!pool_) return NotOpen();
  const std::int64_t at = ToMicros(o.completed_at.value_or(o.requested_at));
  const core::JournalState journal_state =
      o.state == "REJECTED" ? core::JournalState::kRejected : core::JournalState::kAnswered;
  bool wrote_events = false;
  auto completed =
      pool_->Run([&](pqxx::connection& c) -> core::Result<std::pair<ReferenceNumberRecord, bool>> {
        pqxx::work txn(c, "complete_reference_number");
        CompleteJournalEntry(txn, o.request_id, journal_state, at);
        const pqxx::result updated = txn.exec_params(
            "UPDATE reference_number_registrations SET state = $2, error_code = $3,"
            " error_message = $4, file_name = $5, raw = $6, raw_sha256 = $7, completed_at = " +
                TimestampFromMicros(8) + " WHERE request_id = $1 AND state = 'PENDING' RETURNING id",
            o.request_id, o.state, o.error_code, o.error_message, o.file_name,
            pqxx::binarystring(o.raw), o.raw_sha256, at);
        auto stored = Select(txn, "request_id = $1", o.request_id);
        if (!stored) {
          txn.commit();  // the journal entry is completed all the same (the file gets archived)
          core::DomainError e;
          e.kind = core::ErrorKind::kNotFound;
          e.reason = "REFERENCE_NUMBER_NOT_FOUND";
          e.message = "no reference number registration for request " + o.request_id;
          e.message_ja = "照会番号登録の記録が見つかりません。";
          return e;
        }
        const bool changed = !updated.empty();
        if (changed && events) {
          const std::vector<core::Event> built = events(*stored);
          InsertEvents(txn, built);
          wrote_events = !built.empty();
        }
        txn.commit();
        return std::pair<ReferenceNumberRecord, bool>(*std::move(stored), changed);
      });
  if (completed.ok() && wrote_events) WakeSubscribers();
  return completed;
}

}  // namespace onshid::postgres
