#pragma once
// ManualClock: a core::Clock that only moves when the test moves it (header-only).
//
// Now() starts at the time given; SteadyNow() starts at the steady clock's epoch and moves with
// it, by the same amounts. Thread-safe: the code under test may read it from its own threads.

#include <chrono>
#include <mutex>

#include "core/clock.h"

namespace onshid::testing {

class ManualClock final : public core::Clock {
 public:
  explicit ManualClock(core::SystemTime start) : now_(start) {}

  core::SystemTime Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }

  // Moves both clocks forward by `d` (>= 0).
  void Advance(std::chrono::system_clock::duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
    steady_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  core::SystemTime now_;
  std::chrono::steady_clock::time_point steady_{};
};

}  // namespace onshid::testing
