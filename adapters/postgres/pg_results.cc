// PgStore as UpstreamJournal, ResultStore and EventStore (tables of schema/0002_upstream.sql).
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/mem_store.h"
#include "postgres/pg_errors.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

core::DomainError NotOpen() { return core::DatabaseUnavailable("store is not open"); }

core::StoredResult ResultFromRow(const pqxx::row& row) {
  core::StoredResult r;
  r.id = row["id"].as<std::int64_t>();
  r.source = row["source"].as<std::string>();
  r.request_id = row["request_id"].as<std::string>();
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
    "id, source, request_id, file_name, raw, raw_sha256, xml, " + MicrosOf("received_at") +
    " AS received_us, insurer_number, insured_card_symbol, insured_identification_number,"
    " insured_branch_number, birth_date, reference_number, validity";

core::Event EventFromRow(const pqxx::row& row) {
  core::Event e;
  e.cursor = row[0].as<std::int64_t>();
  e.at = FromMicros(row[1].as<std::int64_t>());
  e.type = row[2].as<std::string>();
  e.result_id = row[3].as<std::int64_t>();
  e.request_id = row[4].as<std::string>();
  e.file_name = row[5].as<std::string>();
  e.detail = row[6].as<std::string>();
  auto attrs = nlohmann::json::parse(row[7].as<std::string>(), nullptr, false);
  if (attrs.is_object()) {
    for (auto it = attrs.begin(); it != attrs.end(); ++it) {
      if (it.value().is_string()) e.attributes.emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  return e;
}

}  // namespace

// ---- UpstreamJournal ----

core::Result<std::int64_t> PgStore::NextSequence() {
  if (!pool_) return NotOpen();
  return pool_->Run([](pqxx::connection& c) -> core::Result<std::int64_t> {
    pqxx::nontransaction txn(c, "next_sequence");
    return txn.exec1("SELECT nextval('upstream_request_seq')")[0].as<std::int64_t>();
  });
}

core::Status PgStore::Record(const core::JournalEntry& entry) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::work txn(c, "journal_record");
    txn.exec_params0(
        "INSERT INTO upstream_journal (request_id, message_type, kind, file_name, payload_sha256,"
        " arbitrary_file_identifier, journalled_at) VALUES ($1, $2, $3, $4, $5, $6, " +
            TimestampFromMicros(7) + ")",
        entry.request_id, entry.message_type, entry.kind, entry.file_name, entry.payload_sha256,
        entry.arbitrary_file_identifier, ToMicros(entry.journalled_at));
    txn.commit();
  });
}

core::Status PgStore::Complete(const std::string& request_id, core::SystemTime at) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::work txn(c, "journal_complete");
    txn.exec_params0("UPDATE upstream_journal SET completed_at = " + TimestampFromMicros(2) +
                         " WHERE request_id = $1 AND completed_at IS NULL",
                     request_id, ToMicros(at));
    txn.commit();
  });
}

core::Result<std::vector<core::JournalEntry>> PgStore::Pending() {
  if (!pool_) return NotOpen();
  return pool_->Run([](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "journal_pending");
    const pqxx::result rows = txn.exec(
        "SELECT request_id, message_type, kind, file_name, payload_sha256,"
        " arbitrary_file_identifier, " +
        MicrosOf("journalled_at") +
        " FROM upstream_journal WHERE completed_at IS NULL ORDER BY journalled_at, file_name");
    std::vector<core::JournalEntry> out;
    for (const auto& row : rows) {
      core::JournalEntry e;
      e.request_id = row[0].as<std::string>();
      e.message_type = row[1].as<std::string>();
      e.kind = row[2].as<std::string>();
      e.file_name = row[3].as<std::string>();
      e.payload_sha256 = row[4].as<std::string>();
      e.arbitrary_file_identifier = row[5].as<std::string>();
      e.journalled_at = FromMicros(row[6].as<std::int64_t>());
      out.push_back(std::move(e));
    }
    return out;
  });
}

// ---- ResultStore ----

core::Result<core::StoreOutcome> PgStore::StoreResult(const core::StoredResult& r) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<core::StoreOutcome> {
    pqxx::work txn(c, "store_result");
    core::StoreOutcome out;
    // The same file read again (crash between storing and archiving): keep the first.
    const pqxx::result same =
        txn.exec_params("SELECT id FROM eligibility_results WHERE file_name = $1", r.file_name);
    if (!same.empty()) {
      out.id = same[0][0].as<std::int64_t>();
      out.same_file = true;
      txn.commit();
      return out;
    }
    const pqxx::result dup = txn.exec_params(
        "SELECT id FROM eligibility_results WHERE raw_sha256 = $1 ORDER BY id LIMIT 1",
        r.raw_sha256);
    if (!dup.empty()) out.duplicate_of = dup[0][0].as<std::int64_t>();
    const pqxx::row row = txn.exec_params1(
        "INSERT INTO eligibility_results (source, request_id, file_name, raw, raw_sha256, xml,"
        " received_at, insurer_number, insured_card_symbol, insured_identification_number,"
        " insured_branch_number, birth_date, reference_number, validity)"
        " VALUES ($1, $2, $3, $4, $5, $6, " +
            TimestampFromMicros(7) + ", $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        r.source, r.request_id, r.file_name, pqxx::binarystring(r.raw), r.raw_sha256, r.xml_utf8,
        ToMicros(r.received_at), r.keys.insurer_number, r.keys.insured_card_symbol,
        r.keys.insured_identification_number, r.keys.insured_branch_number, r.keys.birth_date,
        r.keys.reference_number, r.keys.validity);
    out.id = row[0].as<std::int64_t>();
    if (!r.request_id.empty()) {
      txn.exec_params0("UPDATE upstream_journal SET completed_at = " + TimestampFromMicros(2) +
                           " WHERE request_id = $1 AND completed_at IS NULL",
                       r.request_id, ToMicros(r.received_at));
    }
    txn.commit();
    return out;
  });
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

core::Status PgStore::Quarantine(const std::string& file_name, const std::string& raw,
                                 const std::string& reason, core::SystemTime at) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::work txn(c, "quarantine");
    txn.exec_params0("INSERT INTO quarantined_files (file_name, raw, reason, at) VALUES ($1, $2, $3, " +
                         TimestampFromMicros(4) + ")",
                     file_name, pqxx::binarystring(raw), reason, ToMicros(at));
    txn.commit();
  });
}

// ---- EventStore ----

std::int64_t PgStore::InsertEvent(pqxx::transaction_base& txn, const core::Event& e) {
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& [k, v] : e.attributes) attrs[k] = v;
  const pqxx::row row = txn.exec_params1(
      "INSERT INTO events (at, type, result_id, request_id, file_name, detail, attributes)"
      " VALUES (" +
          TimestampFromMicros(1) + ", $2, $3, $4, $5, $6, $7::jsonb) RETURNING cursor",
      ToMicros(e.at), e.type, e.result_id, e.request_id, e.file_name, e.detail, attrs.dump());
  return row[0].as<std::int64_t>();
}

core::Result<std::int64_t> PgStore::Append(const core::Event& e) {
  if (!pool_) return NotOpen();
  auto appended = pool_->Run([&](pqxx::connection& c) -> core::Result<std::int64_t> {
    pqxx::work txn(c, "append_event");
    const std::int64_t cursor = InsertEvent(txn, e);
    txn.commit();
    return cursor;
  });
  // Wake local subscribers at once; NOTIFY reaches them (and other daemons) as well.
  if (appended.ok()) WakeSubscribers();
  return appended;
}

core::Result<std::vector<core::Event>> PgStore::ListAfter(std::int64_t after, int limit) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) {
    pqxx::read_transaction txn(c, "list_events");
    const pqxx::result rows = txn.exec_params(
        "SELECT cursor, " + MicrosOf("at") +
            ", type, result_id, request_id, file_name, detail, attributes::text FROM events"
            " WHERE cursor > $1 ORDER BY cursor LIMIT $2",
        after, limit);
    std::vector<core::Event> out;
    for (const auto& row : rows) out.push_back(EventFromRow(row));
    return out;
  });
}

int PgStore::Subscribe(std::function<void()> wake) {
  std::lock_guard lock(subscribers_mu_);
  int handle = next_subscriber_++;
  subscribers_[handle] = std::move(wake);
  return handle;
}

void PgStore::Unsubscribe(int handle) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(handle);
}

void PgStore::WakeSubscribers() {
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lock(subscribers_mu_);
    for (const auto& [h, w] : subscribers_) wakes.push_back(w);
  }
  for (auto& w : wakes) w();
}

namespace {
class EventsReceiver final : public pqxx::notification_receiver {
 public:
  EventsReceiver(pqxx::connection_base& c, std::function<void()> on_notify)
      : pqxx::notification_receiver(c, "onshid_events"), on_notify_(std::move(on_notify)) {}
  void operator()(const std::string&, int) override { on_notify_(); }

 private:
  std::function<void()> on_notify_;
};
}  // namespace

void PgStore::ListenLoop() {
  // A dedicated connection LISTENs; when it is lost the loop reconnects and wakes every subscriber
  // once, so events appended by other daemons while it was away are caught up.
  const std::string dsn = WithConnectTimeout(options_.dsn, options_.connect_timeout_ms);
  while (true) {
    {
      std::unique_lock lock(listen_mu_);
      if (listen_stop_) return;
    }
    try {
      pqxx::connection conn(dsn);
      EventsReceiver receiver(conn, [this] { WakeSubscribers(); });
      WakeSubscribers();
      while (true) {
        {
          std::lock_guard lock(listen_mu_);
          if (listen_stop_) return;
        }
        conn.await_notification(0, 250000);  // wakes at least every 250 ms to check for stop
      }
    } catch (const std::exception&) {
      PostgresLogger()->warn("event listener connection lost; reconnecting");
    }
    std::unique_lock lock(listen_mu_);
    listen_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return listen_stop_; });
  }
}

}  // namespace onshid::postgres
