// PgStore as EventStore (events of schema/0002_upstream.sql, cursors in commit order since
// schema/0006_integrity.sql) and the LISTEN/NOTIFY wake-ups.
#include <chrono>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "failpoint/failpoint.h"
#include "postgres/pg_errors.h"
#include "postgres/pg_internal.h"
#include "postgres/pg_store.h"
#include "postgres/pg_time.h"

namespace onshid::postgres {
namespace {

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
      if (it.value().is_string())
        e.attributes.emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  return e;
}

}  // namespace

void PgStore::InsertEvents(pqxx::transaction_base& txn, const std::vector<core::Event>& events) {
  if (events.empty()) return;
  for (const core::Event& e : events) {
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& [k, v] : e.attributes) attrs[k] = v;
    // No cursor: the deferred trigger events_assign_cursor draws it at commit, in commit order.
    txn.exec_params0(
        "INSERT INTO events (at, type, result_id, request_id, file_name, detail, attributes)"
        " VALUES (" +
            TimestampFromMicros(1) + ", $2, $3, $4, $5, $6, $7::jsonb)",
        ToMicros(e.at), e.type, e.result_id, e.request_id, e.file_name, e.detail, attrs.dump());
  }
  ONSHID_FAILPOINT("event.before_commit");
}

core::Status PgStore::Append(const core::Event& e) {
  if (!pool_) return NotOpen();
  auto appended = pool_->Run([&](pqxx::connection& c) {
    pqxx::work txn(c, "append_event");
    InsertEvents(txn, {e});
    txn.commit();
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
  const std::string dsn = Dsn();
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
