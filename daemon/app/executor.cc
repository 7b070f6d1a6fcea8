#include "app/executor.h"

#include <atomic>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
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

std::function<void()> Executor::PostAfter(std::chrono::milliseconds delay,
                                          std::function<void()> task) {
  // Each timer lives on its own strand, and cancellation is posted to that strand, so cancelling
  // never races with the timer completing.
  auto strand = boost::asio::make_strand(pool_->get_executor());
  auto timer = std::make_shared<boost::asio::steady_timer>(strand, delay);
  {
    std::lock_guard lock(timers_mu_);
    if (timers_.size() >= 64) {  // forget timers that already fired
      std::erase_if(timers_, [](const std::weak_ptr<void>& w) { return w.expired(); });
    }
    timers_.push_back(timer);
  }
  timer->async_wait([timer, task = std::move(task)](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled
    try {
      task();
    } catch (const std::exception& e) {
      Logger("executor")->error("timed task threw: {}", e.what());
    }
  });
  std::weak_ptr<boost::asio::steady_timer> weak = timer;
  return [weak] {
    if (auto t = weak.lock()) boost::asio::post(t->get_executor(), [t] { t->cancel(); });
  };
}

void Executor::Join() {
  // Timers still waiting would keep the pool busy until they fire: cancel them.
  std::vector<std::weak_ptr<void>> timers;
  {
    std::lock_guard lock(timers_mu_);
    timers.swap(timers_);
  }
  for (auto& weak : timers) {
    if (auto p = weak.lock()) {
      auto t = std::static_pointer_cast<boost::asio::steady_timer>(p);
      boost::asio::post(t->get_executor(), [t] { t->cancel(); });
    }
  }
  pool_->join();
}

}  // namespace onshid::app
