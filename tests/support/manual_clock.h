#pragma once
// ManualClock: the one fake core::Clock of the tests and benchmarks (rules of the house 7: tests
// move the clock and never sleep to wait for a rule). Header-only, thread-safe.
//
// Wall time (Now) starts where the test says and moves only when the test moves it: Set() jumps
// to an instant (backwards too, as a real wall clock may), Advance() moves forward. Steady time
// (SteadyNow) starts at steady_clock::time_point{} and moves only with Advance(), by the same
// amount — never with Set(), so it stays monotonic like the real steady clock.
//
//   ManualClock clock(JapanTime(2025, 12, 10, 10, 0));  // 2025-12-10 10:00 JST
//   clock.Advance(std::chrono::minutes(5));

#include <chrono>
#include <mutex>

#include "core/clock.h"

namespace onshid::testing {

class ManualClock final : public core::Clock {
 public:
  ManualClock() = default;
  explicit ManualClock(core::SystemTime now) : now_(now) {}

  core::SystemTime Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }

  // Wall time becomes `now`; steady time does not move.
  void Set(core::SystemTime now) {
    std::lock_guard lock(mu_);
    now_ = now;
  }
  // Wall and steady time move forward by `d` (d must not be negative).
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    std::lock_guard lock(mu_);
    now_ += std::chrono::duration_cast<core::SystemTime::duration>(d);
    steady_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  core::SystemTime now_{};
  std::chrono::steady_clock::time_point steady_{};
};

// The instant of a Japan (UTC+9, no DST) calendar date and time, for readable test clocks.
inline core::SystemTime JapanTime(int year, unsigned month, unsigned day, int hour = 0,
                                  int minute = 0, int second = 0) {
  return std::chrono::sys_days{std::chrono::year{year} / std::chrono::month{month} /
                               std::chrono::day{day}} +
         std::chrono::hours{hour - 9} + std::chrono::minutes{minute} + std::chrono::seconds{second};
}

}  // namespace onshid::testing
