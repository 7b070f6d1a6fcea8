// PgStore as UpstreamJournal (upstream_journal of schema/0002_upstream.sql and
// schema/0006_integrity.sql).
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/store_errors.h"
#include "postgres/pg_internal.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

using core::JournalEntry;
using core::JournalState;

const std::string kJournalColumns =
    "request_id, client_request_id, instance_id, message_type, kind, file_name, payload_sha256,"
    " payload, arbitrary_file_identifier, state, " +
    MicrosOf("journalled_at") + " AS journalled_us, " + MicrosOf("written_at") +
    " AS written_us, " + MicrosOf("completed_at") + " AS completed_us";

// Non-final states, from which every completion is allowed.
constexpr const char* kOpenStates = "('JOURNALLED', 'WRITING', 'WRITTEN')";

JournalEntry EntryFromRow(const pqxx::row& row) {
  JournalEntry e;
  e.request_id = row["request_id"].as<std::string>();
  e.client_request_id = row["client_request_id"].as<std::string>();
  e.instance_id = row["instance_id"].as<std::string>();
  e.message_type = row["message_type"].as<std::string>();
  e.kind = row["kind"].as<std::string>();
  e.file_name = row["file_name"].as<std::string>();
  e.payload_sha256 = row["payload_sha256"].as<std::string>();
  if (!row["payload"].is_null()) e.payload = pqxx::binarystring(row["payload"]).str();
  e.arbitrary_file_identifier = row["arbitrary_file_identifier"].as<std::string>();
  // The CHECK constraint admits only the six names.
  e.state =
      core::JournalStateFromString(row["state"].as<std::string>()).value_or(JournalState::kWritten);
  e.journalled_at = FromMicros(row["journalled_us"].as<std::int64_t>());
  if (!row["written_us"].is_null()) e.written_at = FromMicros(row["written_us"].as<std::int64_t>());
  if (!row["completed_us"].is_null()) {
    e.completed_at = FromMicros(row["completed_us"].as<std::int64_t>());
  }
  return e;
}

bool EntryExists(pqxx::transaction_base& txn, const std::string& request_id) {
  return !txn.exec_params("SELECT 1 FROM upstream_journal WHERE request_id = $1", request_id)
              .empty();
}

}  // namespace

core::DomainError NotOpen() { return core::DatabaseUnavailable("store is not open"); }

core::DomainError JournalEntryNotFound(const std::string& request_id) {
  core::DomainError e;
  e.kind = core::ErrorKind::kNotFound;
  e.reason = "UPSTREAM_REQUEST_NOT_FOUND";
  e.message = "no journal entry for request " + request_id;
  e.message_ja = "端末への要求の記録が見つかりません。";
  return e;
}

bool CompleteJournalEntry(pqxx::transaction_base& txn, const std::string& request_id,
                          JournalState state, std::int64_t at_micros) {
  // $2 is one of ANSWERED, REJECTED, ABANDONED (the caller's contract); ABANDONED is reached only
  // from an open state and keeps the bytes (a late answer needs none, but a restart may still
  // recover the entry), a final state drops them.
  return txn.exec_params(
                "UPDATE upstream_journal SET state = $2, completed_at = " + TimestampFromMicros(3) +
                    ", payload = CASE WHEN $2 = 'ABANDONED' THEN payload END"
                    " WHERE request_id = $1 AND (state IN " +
                    kOpenStates + " OR (state = 'ABANDONED' AND $2 <> 'ABANDONED'))",
                request_id, core::ToString(state), at_micros)
             .affected_rows() > 0;
}

core::Result<std::int64_t> PgStore::NextSequence() {
  if (!pool_) return NotOpen();
  return pool_->Run([](pqxx::connection& c) -> core::Result<std::int64_t> {
    pqxx::nontransaction txn(c, "next_sequence");
    return txn.exec1("SELECT nextval('upstream_request_seq')")[0].as<std::int64_t>();
  });
}

core::Status PgStore::Record(const JournalEntry& entry) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Status {
    pqxx::work txn(c, "journal_record");
    const pqxx::result inserted = txn.exec_params(
        "INSERT INTO upstream_journal (request_id, client_request_id, instance_id, message_type,"
        " kind, file_name, payload_sha256, payload, arbitrary_file_identifier, state,"
        " journalled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'JOURNALLED', " +
            TimestampFromMicros(10) + ") ON CONFLICT (request_id) DO NOTHING",
        entry.request_id, entry.client_request_id, entry.instance_id, entry.message_type,
        entry.kind, entry.file_name, entry.payload_sha256, pqxx::binarystring(entry.payload),
        entry.arbitrary_file_identifier, ToMicros(entry.journalled_at));
    if (inserted.affected_rows() == 0) {
      txn.abort();
      core::DomainError e;
      e.kind = core::ErrorKind::kAlreadyExists;
      e.reason = "UPSTREAM_REQUEST_EXISTS";
      e.message = "request " + entry.request_id + " is journalled already";
      e.message_ja = "同じ要求が既に記録されています。";
      return e;
    }
    txn.commit();
    return core::OkStatus();
  });
}

core::Status PgStore::Advance(const std::string& request_id, JournalState state,
                              core::SystemTime at) {
  const char* earlier = nullptr;  // the states `state` may be reached from
  switch (state) {
    case JournalState::kWriting:
      earlier = "('JOURNALLED')";
      break;
    case JournalState::kWritten:
      earlier = "('JOURNALLED', 'WRITING')";
      break;
    default:
      return core::Internal(std::string("journal Advance to ") + core::ToString(state) +
                            " (only WRITING or WRITTEN)");
  }
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Status {
    pqxx::work txn(c, "journal_advance");
    const pqxx::result moved = txn.exec_params(
        "UPDATE upstream_journal SET state = $2, written_at = CASE WHEN $2 = 'WRITTEN' THEN " +
            TimestampFromMicros(3) + " ELSE written_at END WHERE request_id = $1 AND state IN " +
            earlier,
        request_id, core::ToString(state), ToMicros(at));
    if (moved.affected_rows() == 0 && !EntryExists(txn, request_id)) {
      return JournalEntryNotFound(request_id);
    }
    txn.commit();
    return core::OkStatus();
  });
}

core::Status PgStore::Complete(const std::string& request_id, JournalState state,
                               core::SystemTime at, const std::vector<core::Event>& events) {
  if (state != JournalState::kAnswered && state != JournalState::kRejected &&
      state != JournalState::kAbandoned) {
    return core::Internal(std::string("journal Complete to ") + core::ToString(state) +
                          " (only ANSWERED, REJECTED or ABANDONED)");
  }
  if (!pool_) return NotOpen();
  bool wrote_events = false;
  auto completed = pool_->Run([&](pqxx::connection& c) -> core::Status {
    pqxx::work txn(c, "journal_complete");
    if (!CompleteJournalEntry(txn, request_id, state, ToMicros(at))) {
      // Past that point already (a repeated completion): nothing changes, no event.
      if (!EntryExists(txn, request_id)) return JournalEntryNotFound(request_id);
      return core::OkStatus();
    }
    InsertEvents(txn, events);
    txn.commit();
    wrote_events = !events.empty();
    return core::OkStatus();
  });
  if (completed.ok() && wrote_events) WakeSubscribers();
  return completed;
}

core::Result<std::optional<JournalEntry>> PgStore::Get(const std::string& request_id) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::optional<JournalEntry>> {
    pqxx::read_transaction txn(c, "journal_get");
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kJournalColumns + " FROM upstream_journal WHERE request_id = $1", request_id);
    if (rows.empty()) return std::optional<JournalEntry>();
    return std::optional<JournalEntry>(EntryFromRow(rows[0]));
  });
}

core::Result<std::vector<JournalEntry>> PgStore::Recoverable(const std::string& instance_id,
                                                             core::SystemTime completed_since) {
  if (!pool_) return NotOpen();
  return pool_->Run([&](pqxx::connection& c) -> core::Result<std::vector<JournalEntry>> {
    pqxx::work txn(c, "journal_recoverable");
    // Entries from before owners were recorded go to the first instance that asks. A concurrent
    // asker waits for this transaction's row locks and then finds them owned (READ COMMITTED
    // re-checks the condition on the updated rows), so each entry gets exactly one owner.
    if (!instance_id.empty()) {
      txn.exec_params0("UPDATE upstream_journal SET instance_id = $1 WHERE instance_id = ''",
                       instance_id);
    }
    const pqxx::result rows = txn.exec_params(
        "SELECT " + kJournalColumns +
            " FROM upstream_journal WHERE instance_id = $1 AND (state IN " + kOpenStates +
            " OR completed_at >= " + TimestampFromMicros(2) + ") ORDER BY journalled_at, file_name",
        instance_id, ToMicros(completed_since));
    std::vector<JournalEntry> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(EntryFromRow(row));
    txn.commit();
    return out;
  });
}

}  // namespace onshid::postgres
