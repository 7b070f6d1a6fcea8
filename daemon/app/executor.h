#pragma once
// The application executor: a fixed pool of threads on which use cases run, so that gRPC reactors
// and I/O threads never block on the database or the upstream terminal (rules of the house 3).

#include <functional>
#include <memory>

namespace boost::asio {
class thread_pool;
}

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

  // Waits for every posted task to finish and joins the threads. Idempotent.
  void Join();

 private:
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace onshid::app
