#pragma once
// Awaited<T>: captures what a completion-style call (`done(core::Result<T>)`) delivers, on any
// thread, and lets the test wait for it with a bounded time-out — never a sleep "long enough".
// It also counts the calls, so a test can check that `done` ran exactly once.
//
//   testing::Awaited<app::ResultView> answer;
//   use_cases.Query(ref, input, std::nullopt, deadline, answer.Callback());
//   auto result = answer.Get();   // FAILs the test after 10 s without an answer
//
// Thread-safe; the callback may outlive the Awaited (it holds the shared state).

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "core/error.h"

namespace onshid::testing {

template <typename T>
class Awaited {
 public:
  using Outcome = core::Result<T>;

  std::function<void(Outcome)> Callback() const {
    return [state = state_](Outcome outcome) {
      std::lock_guard lock(state->mu);
      ++state->calls;
      if (!state->outcome) state->outcome.emplace(std::move(outcome));
      state->cv.notify_all();
    };
  }

  // The first outcome delivered; FAILs the test when none arrives within `timeout`.
  Outcome Get(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::unique_lock lock(state_->mu);
    if (!state_->cv.wait_for(lock, timeout, [&] { return state_->outcome.has_value(); })) {
      FAIL("no outcome within " << timeout.count() << " ms");
    }
    return *state_->outcome;
  }

  // True when an outcome was delivered (now, or within `timeout`).
  bool Ready(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const {
    std::unique_lock lock(state_->mu);
    return state_->cv.wait_for(lock, timeout, [&] { return state_->outcome.has_value(); });
  }

  int Calls() const {
    std::lock_guard lock(state_->mu);
    return state_->calls;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Outcome> outcome;
    int calls = 0;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace onshid::testing
