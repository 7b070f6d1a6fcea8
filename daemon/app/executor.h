#pragma once
// The application executor: a fixed pool of threads on which use cases run, so that gRPC reactors
// and I/O threads never block on the database or the upstream terminal (rules of the house 3).

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace onshid::app {

class Executor {
 public:
  explicit Executor(int threads);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs `task` on a pool thread. Tasks posted after Join() has started are still run before it
  // returns. Exceptions escaping a task are caught and logged (a bug, never expected).
  void Post(std::function<void()> task);

  // Runs `task` on a pool thread after `delay`, unless the returned cancel function was called
  // first. Cancelling after the task started has no effect. Safe to call from any thread.
  std::function<void()> PostAfter(std::chrono::milliseconds delay, std::function<void()> task);

  // Waits for every posted task to finish and joins the threads. Idempotent.
  void Join();

 private:
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::mutex timers_mu_;
  std::vector<std::weak_ptr<void>> timers_;  // pending PostAfter timers, cancelled by Join()
};

}  // namespace onshid::app
