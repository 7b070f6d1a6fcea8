#pragma once
// MemEventStore: an in-memory core::EventStore for tests (header-only).
//
// Append assigns cursors 1, 2, 3, … in call order and wakes the subscribers (on the caller's
// thread). Test helpers: FailNextAppends(n) makes the next n Append calls fail with
// DATABASE_UNAVAILABLE and store nothing; Events() / OfType() read what was appended;
// AppendCalls() counts every call, failed ones included. Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/mem_store.h"

namespace onshid::testing {

class MemEventStore final : public core::EventStore {
 public:
  core::Status Append(const core::Event& event) override {
    std::vector<std::function<void()>> wake;
    {
      std::lock_guard lock(mu_);
      ++append_calls_;
      if (fail_appends_ > 0) {
        --fail_appends_;
        return core::DatabaseUnavailable("event append failed (test)");
      }
      core::Event stored = event;
      stored.cursor = static_cast<std::int64_t>(events_.size()) + 1;
      events_.push_back(std::move(stored));
      for (const auto& [handle, w] : subscribers_) wake.push_back(w);
    }
    for (const auto& w : wake) w();
    return core::OkStatus();
  }

  core::Result<std::vector<core::Event>> ListAfter(std::int64_t after, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<core::Event> out;
    for (const auto& e : events_) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (e.cursor > after) out.push_back(e);
    }
    return out;
  }

  int Subscribe(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    subscribers_[++next_handle_] = std::move(wake);
    return next_handle_;
  }
  void Unsubscribe(int handle) override {
    std::lock_guard lock(mu_);
    subscribers_.erase(handle);
  }

  void FailNextAppends(int n) {
    std::lock_guard lock(mu_);
    fail_appends_ = n;
  }
  std::vector<core::Event> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<core::Event> OfType(const std::string& type) const {
    std::lock_guard lock(mu_);
    std::vector<core::Event> out;
    for (const auto& e : events_) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }
  int AppendCalls() const {
    std::lock_guard lock(mu_);
    return append_calls_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<core::Event> events_;
  std::map<int, std::function<void()>> subscribers_;
  int next_handle_ = 0;
  int fail_appends_ = 0;
  int append_calls_ = 0;
};

}  // namespace onshid::testing
