#include "postgres/connection_pool.h"

#include <poll.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "core/store_errors.h"
#include "postgres/pg_errors.h"

namespace onshid::postgres {
namespace {

// An idle connection's socket has nothing to read unless the server hung up or sent a termination
// notice (restart, admin shutdown). Checking before use spares the caller an error in the common
// case of a restarted server, and avoids libpqxx 6.4 leaking a result when a query meets a dead
// socket.
bool IdleConnectionStale(const pqxx::connection& conn) {
  const int fd = conn.sock();
  if (fd < 0) return true;
  pollfd pfd{fd, POLLIN | POLLRDHUP, 0};
  return poll(&pfd, 1, 0) > 0;
}

}  // namespace

ConnectionPool::ConnectionPool(std::string dsn, int size)
    : dsn_(std::move(dsn)), size_(std::max(1, size)) {
  workers_.reserve(static_cast<std::size_t>(size_));
  for (int i = 0; i < size_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ConnectionPool::~ConnectionPool() { Stop(); }

void ConnectionPool::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

PoolStats ConnectionPool::Stats() const {
  std::lock_guard lock(mu_);
  PoolStats stats;
  stats.size = size_;
  stats.busy = busy_;
  stats.queued = static_cast<int>(queue_.size());
  stats.open_connections = open_connections_;
  stats.connections_opened = connections_opened_;
  stats.connect_failures = connect_failures_;
  return stats;
}

std::future<void> ConnectionPool::Submit(std::function<bool(pqxx::connection&)> body,
                                         std::function<void(core::DomainError)> fail) {
  Job job;
  job.body = std::move(body);
  job.fail = std::move(fail);
  std::future<void> done = job.done.get_future();
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return done;
    }
  }
  job.fail(core::DatabaseUnavailable("connection pool is stopped"));
  job.done.set_value();
  return done;
}

void ConnectionPool::WorkerLoop() {
  std::unique_ptr<pqxx::connection> conn;
  std::uint64_t conn_epoch = 0;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    Execute(job, conn, conn_epoch);
    {
      std::lock_guard lock(mu_);
      --busy_;
    }
    job.done.set_value();
  }
  if (conn) {
    conn.reset();
    std::lock_guard lock(mu_);
    --open_connections_;
  }
}

void ConnectionPool::Execute(Job& job, std::unique_ptr<pqxx::connection>& conn,
                             std::uint64_t& conn_epoch) {
  auto drop = [&] {
    if (!conn) return;
    try {
      conn.reset();
    } catch (...) {  // closing a dead socket must not kill the worker
    }
    std::lock_guard lock(mu_);
    --open_connections_;
  };

  if (conn && conn_epoch != epoch_.load()) drop();
  if (conn && IdleConnectionStale(*conn)) {
    InvalidateGeneration(conn_epoch);
    drop();
  }
  if (!conn) {
    const std::uint64_t epoch = epoch_.load();
    try {
      conn = std::make_unique<pqxx::connection>(dsn_);
    } catch (...) {
      MappedError mapped = MapDatabaseException(std::current_exception());
      {
        std::lock_guard lock(mu_);
        ++connect_failures_;
      }
      job.fail(std::move(mapped.error));
      return;
    }
    conn_epoch = epoch;
    std::lock_guard lock(mu_);
    ++connections_opened_;
    ++open_connections_;
  }

  try {
    if (job.body(*conn) || !conn->is_open()) {
      InvalidateGeneration(conn_epoch);
      drop();
    }
  } catch (...) {
    MappedError mapped = MapDatabaseException(std::current_exception());
    if (mapped.connection_lost || !conn->is_open()) {
      InvalidateGeneration(conn_epoch);
      drop();
    }
    job.fail(std::move(mapped.error));
  }
}

void ConnectionPool::InvalidateGeneration(std::uint64_t seen_epoch) {
  std::uint64_t expected = seen_epoch;
  epoch_.compare_exchange_strong(expected, seen_epoch + 1);
}

}  // namespace onshid::postgres
