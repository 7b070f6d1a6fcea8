#pragma once
// Waiters: callers waiting for the answer to one upstream request, keyed by the request's journal
// key. Each waiter is answered exactly once: by Resolve (the answer arrived), by its deadline
// (the `on_deadline` outcome), or by Shutdown.
//
// Thread-safe. Callbacks run without the lock held, on the thread that resolves (the upstream's
// thread, an executor timer, or the caller of Shutdown).

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "app/executor.h"
#include "core/error.h"

namespace onshid::app {

template <typename T>
class Waiters {
 public:
  using Done = std::function<void(core::Result<T>)>;

  explicit Waiters(Executor& executor) : executor_(executor) {}

  // Registers `done` under `key`; after `timeout` it is answered with `on_deadline` unless answered
  // before. After Shutdown nothing is registered and `done` gets `shutting_down` at once.
  void Add(const std::string& key, Done done, std::chrono::milliseconds timeout,
           core::DomainError on_deadline, const core::DomainError& shutting_down) {
    {
      std::lock_guard lock(mu_);
      if (!shut_down_) {
        Waiter w;
        w.done = std::move(done);
        w.cancel_timer = executor_.PostAfter(
            std::max(timeout, std::chrono::milliseconds(1)),
            [this, key, e = std::move(on_deadline)] { Resolve(key, e); });
        waiters_[key].push_back(std::move(w));
        return;
      }
    }
    done(shutting_down);
  }

  // Answers every waiter of `key` (none: nothing happens).
  void Resolve(const std::string& key, const core::Result<T>& outcome) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mu_);
      auto it = waiters_.find(key);
      if (it == waiters_.end()) return;
      waiters = std::move(it->second);
      waiters_.erase(it);
    }
    for (auto& w : waiters) {
      if (w.cancel_timer) w.cancel_timer();
      w.done(outcome);
    }
  }

  // Answers every waiter with `error` and refuses new ones.
  void Shutdown(const core::DomainError& error) {
    std::map<std::string, std::vector<Waiter>> waiters;
    {
      std::lock_guard lock(mu_);
      shut_down_ = true;
      waiters.swap(waiters_);
    }
    for (auto& [key, list] : waiters) {
      for (auto& w : list) {
        if (w.cancel_timer) w.cancel_timer();
        w.done(error);
      }
    }
  }

 private:
  struct Waiter {
    Done done;
    std::function<void()> cancel_timer;
  };

  Executor& executor_;
  std::mutex mu_;
  std::map<std::string, std::vector<Waiter>> waiters_;
  bool shut_down_ = false;
};

}  // namespace onshid::app
