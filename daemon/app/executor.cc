#include "app/executor.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "app/logging.h"

namespace onshid::app {

Executor::Executor(int threads)
    : pool_(std::make_unique<boost::asio::thread_pool>(static_cast<std::size_t>(threads))) {}

Executor::~Executor() { Join(); }

void Executor::Post(std::function<void()> task) {
  boost::asio::post(*pool_, [task = std::move(task)] {
    try {
      task();
    } catch (const std::exception& e) {
      Logger("executor")->error("task threw: {}", e.what());
    } catch (...) {
      Logger("executor")->error("task threw a non-standard exception");
    }
  });
}

void Executor::Join() { pool_->join(); }

}  // namespace onshid::app
