#pragma once
// PgStore: the Store port over PostgreSQL (libpqxx), through a ConnectionPool.
//
// Life cycle: construct (no I/O), Open() once at start-up (connects, applies migrations), then use
// the Store methods from any thread, then Close() (or destroy). Open() must not run concurrently
// with other calls; calls before a successful Open() or after Close() fail with
// DATABASE_UNAVAILABLE.
//
// Threading: Store methods are thread-safe and block the caller until the database answers (at most
// pool_size run at once; the rest queue). Call them from the application executor.
// Errors: as documented on the ports; additionally a statement cut off by statement_timeout or
// lock_timeout is kUnavailable "DATABASE_TIMEOUT" (its transaction rolled back, see pg_errors.h),
// and any unexpected SQL failure is INTERNAL naming the SQLSTATE. Nothing is thrown. All
// statements are parameterised.
//
// Sessions are bounded (PgStoreOptions): every pooled connection and the LISTEN connection get TCP
// keepalives and the server-side statement, lock and idle-in-transaction time-outs, unless the DSN
// sets them itself (pg_session.h).
//
// Events: every transaction that writes events inserts them with cursor NULL; the deferred trigger
// of schema/0006_integrity.sql gives them their cursors at commit, in commit order. The failpoint
// "event.before_commit" is hit after a transaction's events are inserted and before it commits.
// Audit times are kept to the microsecond (PostgreSQL's resolution); ListAudit orders by `at`
// descending, then id descending.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/types>  // forward declarations (pqxx::transaction_base)
#include <string>
#include <thread>
#include <vector>

#include "core/checkin/check_in_store.h"
#include "core/event.h"
#include "core/fallback/case_store.h"
#include "core/request_keys.h"
#include "core/results.h"
#include "core/store.h"
#include "core/upstream.h"
#include "postgres/connection_pool.h"
#include "schema/migrations.h"

namespace onshid::postgres {

struct PgStoreOptions {
  std::string dsn;    // libpq connection string or URI; may hold a password, never logged
  int pool_size = 4;  // connections (and worker threads)
  int connect_timeout_ms = 5000;  // per connection attempt (libpq connect_timeout, whole seconds)
  // Server-side bounds of every session (0 disables one): a statement running longer is cancelled,
  // a lock waited for longer is given up (both DATABASE_TIMEOUT), a session idle inside a
  // transaction longer is ended by the server.
  int statement_timeout_ms = 30000;
  int lock_timeout_ms = 10000;
  int idle_in_transaction_timeout_ms = 60000;
  // TCP keepalives (libpq), so that a server gone without a word is noticed within about
  // idle + interval * count seconds even by a connection waiting for an answer.
  int keepalives_idle_s = 30;
  int keepalives_interval_s = 10;
  int keepalives_count = 3;
};

class PgStore final : public core::Store,
                      public core::UpstreamJournal,
                      public core::ResultStore,
                      public core::EventStore,
                      public core::checkin::CheckInStore,
                      public core::ReferenceNumberStore,
                      public core::fallback::FallbackCaseStore,
                      public core::RequestKeyStore {
 public:
  explicit PgStore(PgStoreOptions options);
  ~PgStore() override;

  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  // Starts the pool, connects, and migrates the database to `migrations` (default: the ones built
  // into this binary; migrations run without the statement and lock time-outs). Returns the schema
  // version. Errors: DATABASE_UNAVAILABLE (cannot connect within connect_timeout_ms),
  // SCHEMA_TOO_NEW (upgrade onshid), INTERNAL (a migration failed).
  // On error the store stays closed; Open() may be called again.
  core::Result<int> Open();
  core::Result<int> Open(const std::vector<schema::Migration>& migrations);

  // Stops the pool after queued calls finished. Idempotent.
  void Close();

  core::Status Ping() override;
  core::Result<int> SchemaVersion() override;
  core::Result<std::int64_t> AppendAudit(const core::AuditRecord& record) override;
  core::Status FinishAudit(std::int64_t id, const std::string& outcome, const std::string& subject,
                           core::SystemTime at) override;
  core::Result<std::vector<core::AuditRecord>> ListAudit(const core::AuditQuery& query) override;

  // core::UpstreamJournal (pg_journal.cc). Complete() with a state other than kAnswered,
  // kRejected or kAbandoned, or Advance() with one other than kWriting or kWritten, is INTERNAL
  // (a caller bug) and changes nothing.
  core::Result<std::int64_t> NextSequence() override;
  core::Status Record(const core::JournalEntry& entry) override;
  core::Status Advance(const std::string& request_id, core::JournalState state,
                       core::SystemTime at) override;
  core::Status Complete(const std::string& request_id, core::JournalState state,
                        core::SystemTime at, const std::vector<core::Event>& events) override;
  core::Result<std::optional<core::JournalEntry>> Get(const std::string& request_id) override;
  core::Result<std::vector<core::JournalEntry>> Recoverable(
      const std::string& instance_id, core::SystemTime completed_since) override;

  // core::ResultStore (pg_results.cc). A query result completes its journal entry (kAnswered,
  // from any state but kAnswered and kRejected; the request bytes are dropped). An events builder
  // that throws rolls the whole write back (INTERNAL).
  core::Result<core::StoreOutcome> StoreResult(const core::StoredResult& result,
                                               const core::ResultEvents& events) override;
  core::Result<std::optional<core::StoredResult>> GetResult(std::int64_t id) override;
  core::Result<std::vector<core::StoredResult>> ListResults(const core::ResultQuery& query) override;
  core::Result<std::optional<core::StoredResult>> ResultForRequest(
      const std::string& request_id) override;
  core::Status Quarantine(const core::QuarantinedFile& file,
                          const std::vector<core::Event>& events) override;

  // core::EventStore (pg_events.cc). Subscribers are woken by LISTEN/NOTIFY on a dedicated
  // connection and thread (started by Open(), stopped by Close()), so daemons sharing the database
  // see each other's events; a periodic wake-up covers a lost notification connection. Every
  // write that commits events also wakes this store's subscribers directly.
  core::Status Append(const core::Event& event) override;
  core::Result<std::vector<core::Event>> ListAfter(std::int64_t after, int limit) override;
  int Subscribe(std::function<void()> wake) override;
  void Unsubscribe(int handle) override;

  // core::checkin::CheckInStore (pg_checkins.cc). Tables of schema/0003_checkin.sql. A write and
  // its attachments (result link, patient link, events) commit in one transaction; the events wake
  // subscribers as Append's do.
  core::Status InsertCheckIn(const core::checkin::CheckInRow& row,
                             const core::checkin::Attachments& with) override;
  core::Status UpdateCheckIn(const core::checkin::CheckInRow& row,
                             const core::checkin::Attachments& with) override;
  core::Result<std::optional<core::checkin::CheckInRow>> GetCheckIn(const std::string& id) override;
  core::Result<std::optional<core::checkin::CheckInRow>> CheckInForClientKey(
      const std::string& client_key) override;
  core::Result<std::vector<core::checkin::CheckInRow>> ListCheckIns(
      const core::checkin::CheckInQuery& query) override;
  core::Result<std::vector<core::checkin::ResultLink>> LinksOf(
      const std::string& check_in_id) override;
  core::Result<std::optional<core::checkin::ResultLink>> LinkOfResult(
      std::int64_t result_id) override;
  core::Result<std::vector<std::int64_t>> UnlinkedFaceResults(core::SystemTime since) override;
  core::Result<std::vector<core::checkin::PatientLink>> PatientLinks(
      const std::string& check_in_id) override;

  // core::ReferenceNumberStore (pg_reference_numbers.cc).
  core::Result<core::ReferenceNumberRecord> CreateRegistration(
      const core::ReferenceNumberRecord& record) override;
  core::Result<std::optional<core::ReferenceNumberRecord>> RegistrationForRequest(
      const std::string& request_id) override;
  core::Result<std::optional<core::ReferenceNumberRecord>> GetRegistration(std::int64_t id) override;
  core::Result<std::vector<core::ReferenceNumberRecord>> ListRegistrations(
      const std::string& reference_number, int limit) override;
  core::Result<std::pair<core::ReferenceNumberRecord, bool>> CompleteRegistration(
      const core::ReferenceNumberRecord& outcome, const RegistrationEvents& events) override;

  // core::fallback::FallbackCaseStore (pg_fallback.cc). Tables of schema/0005_fallback.sql.
  core::Status InsertCase(const core::fallback::CaseRow& row,
                          const core::fallback::CaseWrite& with) override;
  core::Status UpdateCase(const core::fallback::CaseRow& row,
                          const core::fallback::CaseWrite& with) override;
  core::Result<std::optional<core::fallback::CaseRow>> GetCase(const std::string& id) override;
  core::Result<std::optional<core::fallback::CaseRow>> CaseForClientKey(
      const std::string& client_key) override;
  core::Result<std::optional<core::fallback::CaseRow>> CaseForCheckIn(
      const std::string& check_in_id) override;
  core::Result<std::vector<core::fallback::CaseRow>> ListCases(
      const core::fallback::CaseQuery& query) override;
  core::Result<std::vector<core::fallback::Attempt>> Attempts(const std::string& case_id) override;
  core::Result<std::optional<std::string>> PersonalData(const std::string& case_id) override;
  core::Result<std::vector<core::fallback::Task>> ListTasks(
      const core::fallback::TaskQuery& query) override;
  core::Result<std::vector<std::string>> CasesToPurge(core::SystemTime before, int limit) override;

  // core::RequestKeyStore (pg_request_keys.cc). Table request_keys of schema/0006_integrity.sql.
  // PurgeRequestKeys deletes the oldest claims first; a limit below 1 deletes nothing.
  core::Result<core::RequestKeyRecord> ClaimRequestKey(const core::RequestKey& key,
                                                       core::SystemTime at) override;
  core::Status FinishRequestKey(const std::string& client, const std::string& request_id,
                                const core::RequestOutcome& outcome, core::SystemTime at) override;
  core::Result<int> PurgeRequestKeys(core::SystemTime before, int limit) override;

  // The value of server setting `name` as this store's sessions see it (current_setting, in SHOW's
  // format, e.g. "30s"), for diagnostics: it shows the session bounds in force. Errors: INTERNAL
  // (SQLSTATE 42704) for an unknown setting.
  core::Result<std::string> ServerSetting(const std::string& name);

  // Pool usage for metrics; all zero while closed. Thread-safe.
  PoolStats PoolUsage() const;

 private:
  void ListenLoop();
  void WakeSubscribers();
  // Inserts `events` into the events table within `txn` (cursor NULL: the deferred trigger assigns
  // it at commit), then hits the failpoint "event.before_commit" when there was any. The caller
  // commits right after and then wakes subscribers (WakeSubscribers). Shared by every write that
  // carries events (pg_events.cc).
  static void InsertEvents(pqxx::transaction_base& txn, const std::vector<core::Event>& events);
  // The connection string with the session bounds of options_ (pg_session.h).
  std::string Dsn() const;
  // The check-in writes (pg_checkins.cc).
  core::Status WriteCheckIn(const core::checkin::CheckInRow& row,
                            const core::checkin::Attachments& with, bool insert);
  // The fallback case whose `column` (a fixed column name, never input) equals `value`.
  core::Result<std::optional<core::fallback::CaseRow>> SelectCase(const char* column,
                                                                  const std::string& value);

  const PgStoreOptions options_;
  std::unique_ptr<ConnectionPool> pool_;

  std::mutex listen_mu_;
  std::condition_variable listen_cv_;
  bool listen_stop_ = false;
  std::thread listener_;
  std::mutex subscribers_mu_;
  std::map<int, std::function<void()>> subscribers_;
  int next_subscriber_ = 1;
};

}  // namespace onshid::postgres
