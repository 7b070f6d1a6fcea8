#pragma once
// ConnectionPool: a few worker threads, each owning one libpq connection (rules of the house 3).
//
// Jobs are functions of a pqxx::connection&. Run() queues a job and blocks the calling thread until
// a worker has run it, so call it from the application executor, never from a gRPC reactor or an
// I/O thread. Each worker connects lazily on its first job and again after its connection was lost.
//
// Errors: library exceptions never leave the pool. An exception thrown by a job (or by connecting)
// is mapped at this edge (postgres/pg_errors.h): a refused, broken or dropped connection becomes
// core::DatabaseUnavailable ("DATABASE_UNAVAILABLE") and the connection is discarded; when one
// connection is found broken, every worker reconnects before its next job (the server most likely
// restarted), so a restart costs at most one failed call, not one per worker. A worker also
// reconnects first when its idle connection shows the server hung up, which usually spares even
// that one call. Other SQL errors become
// INTERNAL naming the SQLSTATE. A job is never retried automatically: its outcome may be unknown.
//
// Threading: every public method is thread-safe. Jobs must not call Run() on the same pool
// (a full pool would deadlock).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"

namespace onshid::postgres {

// Pool usage numbers for metrics (a consistent snapshot).
struct PoolStats {
  int size = 0;                          // worker threads, i.e. the connection limit
  int busy = 0;                          // workers running a job now
  int queued = 0;                        // jobs waiting for a free worker
  int open_connections = 0;              // workers holding a connection now
  std::uint64_t connections_opened = 0;  // successful connects since construction
  std::uint64_t connect_failures = 0;    // failed connects since construction
};

namespace internal {

// What Run() returns for a job returning R: Status for void, R itself for a core::Result, else
// core::Result<R>.
template <typename R>
struct RunTraits {
  using Out = core::Result<R>;
  template <typename F>
  static Out Invoke(F& fn, pqxx::connection& c) {
    return fn(c);
  }
};
template <>
struct RunTraits<void> {
  using Out = core::Status;
  template <typename F>
  static Out Invoke(F& fn, pqxx::connection& c) {
    fn(c);
    return core::OkStatus();
  }
};
template <typename T>
struct RunTraits<core::Result<T>> {
  using Out = core::Result<T>;
  template <typename F>
  static Out Invoke(F& fn, pqxx::connection& c) {
    return fn(c);
  }
};

}  // namespace internal

class ConnectionPool {
 public:
  // Starts `size` (at least 1) worker threads; does not connect yet. `dsn` is a libpq connection
  // string (PgStore passes one with its session bounds, pg_session.h); it may hold a password and
  // is never logged.
  ConnectionPool(std::string dsn, int size);
  ~ConnectionPool();  // Stop()

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Runs `fn(connection)` on a worker and returns its result (see internal::RunTraits), or the
  // mapped error if it threw or no connection could be made. After Stop() returns
  // DATABASE_UNAVAILABLE without running `fn`. `fn` should do its work in a transaction it commits.
  template <typename F>
  auto Run(F&& fn) ->
      typename internal::RunTraits<std::invoke_result_t<F&, pqxx::connection&>>::Out {
    using Traits = internal::RunTraits<std::invoke_result_t<F&, pqxx::connection&>>;
    using Out = typename Traits::Out;
    std::optional<Out> out;
    std::future<void> done = Submit(
        [&](pqxx::connection& c) {
          out.emplace(Traits::Invoke(fn, c));
          return !out->ok() && out->error().reason == "DATABASE_UNAVAILABLE";
        },
        [&](core::DomainError error) { out.emplace(std::move(error)); });
    done.wait();
    return std::move(*out);
  }

  // Lets queued jobs finish, then closes every connection and joins the workers. Idempotent.
  void Stop();

  PoolStats Stats() const;

 private:
  struct Job {
    // Runs the job; returns true when its result says the connection is suspect.
    std::function<bool(pqxx::connection&)> body;
    std::function<void(core::DomainError)> fail;
    std::promise<void> done;
  };

  // Queues a job; when the pool is stopped, fails it at once. The future is ready when either
  // `body` or `fail` has run.
  std::future<void> Submit(std::function<bool(pqxx::connection&)> body,
                           std::function<void(core::DomainError)> fail);
  void WorkerLoop();
  void Execute(Job& job, std::unique_ptr<pqxx::connection>& conn, std::uint64_t& conn_epoch);
  // Makes every worker reconnect before its next job, unless a newer generation already exists.
  void InvalidateGeneration(std::uint64_t seen_epoch);

  const std::string dsn_;
  const int size_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  int busy_ = 0;
  int open_connections_ = 0;
  std::uint64_t connections_opened_ = 0;
  std::uint64_t connect_failures_ = 0;

  std::atomic<std::uint64_t> epoch_{0};
  std::vector<std::thread> workers_;
};

}  // namespace onshid::postgres
