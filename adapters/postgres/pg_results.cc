// PgStore as ResultStore (eligibility_results and quarantined_files of schema/0002_upstream.sql,
// client_request_id since schema/0006_integrity.sql).
#include <pqxx/pqxx>

#include "postgres/pg_internal.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

core::StoredResult ResultFromRow(const pqxx::row& row) {
  core::StoredResult r;
  r.id = row["id"].as<std::int64_t>();
  r.source = row["source"].as<std::string>();
  r.request_id = row["request_id"].as<std::string>();
  r.client_request_id = row["client_request_id"].as<std::string>();
  r.file_name = row["file_name"].as<std::string>();
  r.raw = pqxx::binarystring(row["raw"]).str();
  r.raw_sha256 = row["raw_sha256"].as<std::string>();
  r.xml_utf8 = row["xml"].as<std::string>();
  r.received_at = FromMicros(row["received_us"].as<std::int64_t>());
  r.keys.insurer_number = row["insurer_number"].as<std::string>();
  r.keys.insured_card_symbol = row["insured_card_symbol"].as<std::string>();
  r.keys.insured_identification_number = row["insured_identification_number"].as<std::string>();
  r.keys.insured_branch_number = row["insured_branch_number"].as<std::string>();
  r.keys.birth_date = row["birth_date"].as<std::string>();
  r.keys.reference_number = row["reference_number"].as<std::string>();
  r.keys.validity = row["validity"].as<std::string>();
  return r;
}

const std::string kResultColumns =
    "id, source, request_id, client_request_id, file_name, raw, raw_sha256, xml, " +
    MicrosOf("received_at") +
    " AS received_us, insurer_number, insured_card_symbol, insured_identification_number,"
    " insured_branch_number, birth_date, reference_number, validity";

}  // namespace

core::Result<core::StoreOutcome> PgStore::StoreResult(const core::StoredResult& r,
                                                      const core::ResultEvents& events) {
  if (!pool_) return NotOpen();
  bool wrote_events = false;
  auto stored = pool_->Run([&](pqxx::connection& c) -> core::Result<core::StoreOutcome> {
    pqxx::work txn(c, "store_result");
    core::StoreOutcome out;
    const pqxx::result dup = txn.exec_params(
        "SELECT id FROM eligibility_results WHERE raw_sha256 = $1 ORDER BY id LIMIT 1",
        r.raw_sha256);
    if (!dup.empty()) out.duplicate_of = dup[0][0].as<std::int64_t>();
    const pqxx::result inserted = txn.exec_params(
        "INSERT INTO eligibility_results (source, request_id, client_request_id, file_name, raw,"
        " raw_sha256, xml, received_at, insurer_number, insured_card_symbol,"
        " insured_identification_number, insured_branch_number, birth_date, reference_number,"
        " validity) VALUES ($1, $2, $3, $4, $5, $6, $7, " +
            TimestampFromMicros(8) +
            ", $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (file_name) DO NOTHING RETURNING id",
        r.source, r.request_id, r.client_request_id, r.file_name, pqxx::binarystring(r.raw),
        r.raw_sha256, r.xml_utf8, ToMicros(r.received_at), r.keys.insurer_number,
        r.keys.insured_card_symbol, r.keys.insured_identification_number,
        r.keys.insured_branch_number, r.keys.birth_date, r.keys.reference_number, r.keys.validity);
    if (inserted.empty()) {
      // The same file read again (a crash between storing and archiving, or two readers at
      // once): keep the first; its events and journal completion were committed with it.
      out = core::StoreOutcome{};
      out.id = txn.exec_params1("SELECT id FROM eligibility_results WHERE file_name = $1",
                                r.file_name)[0]
                   .as<std::int64_t>();
      out.same_file = true;
      return out;
    }
    out.id = inserted[0][0].as<std::int64_t>();
    if (!r.request_id.empty()) {
      // Also from ABANDONED: a late answer is still the answer.
      CompleteJournalEntry(txn, r.request_id, core::JournalState::kAnswered,
                           ToMicros(r.received_at));
    }
    const std::vector<core::Event> built = events ? events(out) : std::vector<core::Event>();
    InsertEvents(txn, built);
    txn.commit();
    wrote_events = !built.empty();
    return out;
  });
  if (stored.ok() && wrote_events) WakeSubscribers();
  return stored;
}

core::Result<std::optional<core::StoredResult>> PgStore::GetResult(std::int64_t id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<core::StoredResult>> {
    pqxx::read_transaction txn(c, "get_result");
    const pqxx::result rows =
        txn.exec_params("SELECT " + kResultColumns + " FROM eligibility_results WHERE id = $1", id);
    if (rows.empty()) return std::optional<core::StoredResult>();
    return std::optional<core::StoredResult>(ResultFromRow(rows[0]));
  });
}

core::Result<std::optional<core::StoredResult>> PgStore::ResultForRequest(
    const std::string& request_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<core::StoredResult>> {
    pqxx::read_transaction txn(c, "result_for_request");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kResultColumns +
            " FROM eligibility_results WHERE request_id = $1 ORDER BY id LIMIT 1",
        request_id);
    if (rows.empty()) return std::optional<core::StoredResult>();
    return std::optional<core::StoredResult>(ResultFromRow(rows[0]));
  });
}

core::Result<std::vector<core::StoredResult>> PgStore::ListResults(const core::ResultQuery& q) {
  if (q.limit < 1 || q.limit > 200) {
    return core::InvalidArgument("INVALID_PAGE_SIZE", "page_size must be between 1 and 200",
                                 "取得件数は1〜200の範囲で指定してください。",
                                 {{"page_size", "must be between 1 and 200"}});
  }
  if (!pool_) return NotOpen();
  auto opt = [](const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; };
  std::optional<std::string> from, until, before;
  if (q.received_from) from = std::to_string(ToMicros(*q.received_from));
  if (q.received_until) until = std::to_string(ToMicros(*q.received_until));
  if (q.before_id) before = std::to_string(*q.before_id);
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "list_results");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kResultColumns +
            " FROM eligibility_results WHERE ($1::text IS NULL OR insurer_number = $1::text)"
            " AND ($2::text IS NULL OR insured_card_symbol = $2::text)"
            " AND ($3::text IS NULL OR insured_identification_number = $3::text)"
            " AND ($4::text IS NULL OR birth_date = $4::text)"
            " AND ($5::text IS NULL OR reference_number = $5::text)"
            " AND ($6::text IS NULL OR validity = $6::text)"
            " AND ($7::bigint IS NULL OR received_at >= " +
            TimestampFromMicros(7) + ") AND ($8::bigint IS NULL OR received_at < " +
            TimestampFromMicros(8) +
            ") AND ($9::bigint IS NULL OR id < $9::bigint) ORDER BY id DESC LIMIT $10",
        opt(q.insurer_number), opt(q.insured_card_symbol), opt(q.insured_identification_number),
        opt(q.birth_date), opt(q.reference_number), opt(q.validity), opt(from), opt(until),
        opt(before), q.limit);
    std::vector<core::StoredResult> out;
    for (const auto& row : rows) out.push_back(ResultFromRow(row));
    return out;
  });
}

core::Status PgStore::Quarantine(const core::QuarantinedFile& file,
                                 const std::vector<core::Event>& events) {
  if (!pool_) return NotOpen();
  auto kept = pool_->Run([&](pqxx::connection& c) {
    pqxx::work txn(c, "quarantine");
    // The same file kept again (read again after a crash before it was moved): once is enough,
    // and its events were committed with it the first time.
    const bool again = !txn.exec_params("SELECT 1 FROM quarantined_files WHERE file_name = $1"
                                        " AND raw = $2 LIMIT 1",
                                        file.file_name, pqxx::binarystring(file.raw))
                            .empty();
    if (!again) {
      txn.exec_params0(
          "INSERT INTO quarantined_files (file_name, raw, reason, at) VALUES ($1, $2, $3, " +
              TimestampFromMicros(4) + ")",
          file.file_name, pqxx::binarystring(file.raw), file.reason, ToMicros(file.at));
    }
    if (!file.complete_request_id.empty()) {
      // The terminal did answer, unreadably: the request is not awaited any more.
      CompleteJournalEntry(txn, file.complete_request_id, core::JournalState::kAnswered,
                           ToMicros(file.at));
    }
    if (!again) InsertEvents(txn, events);
    txn.commit();
    return !again && !events.empty();
  });
  if (!kept.ok()) return kept.error();
  if (kept.value()) WakeSubscribers();
  return core::OkStatus();
}

}  // namespace onshid::postgres
