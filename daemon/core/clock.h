#pragma once
// Clock port (rules of the house 7): every rule that depends on "now" takes it from here.

#include <chrono>

namespace onshid::core {

using SystemTime = std::chrono::system_clock::time_point;

// Thread-safe: implementations may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC). Date rules convert it to Japan time (UTC+9, no DST).
  virtual SystemTime Now() const = 0;
  // Monotonic time for measuring durations and timeouts.
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
};

// The real clock.
class SystemClock final : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace onshid::core
