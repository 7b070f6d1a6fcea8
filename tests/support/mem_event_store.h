#pragma once
// MemEventStore: an in-memory core::EventStore for tests (header-only, the standard library only).
// Passes the EventStore contract (tests/support/event_store_contract.h) like PgStore.
//
// Thread-safe: one mutex guards the log. A cursor is assigned when an event is committed, under
// that mutex, so cursors are visible in commit order by construction: a reader that resumes from
// the last cursor it processed sees every later event exactly once.
//
// The other in-memory stores write their events here "in the same transaction" as their change
// (MemUpstreamJournal, MemResultStore, MemReferenceNumberStore, MemCheckInStore and
// MemFallbackCaseStore when given one): they call Commit() while holding their own lock — this
// store's lock is always the innermost — and Wake() after releasing it, so that a subscriber's
// callback never runs under a store lock.
//
// Subscriber callbacks run on the thread that appended (the port says "a store thread"), after the
// events are visible, with no lock held. As with PgStore, a wake that started before Unsubscribe
// returned may still be running.
//
// Test hooks: Events() returns the whole log, OfType(type) its events of one type;
// SetReachable(false) makes Append and ListAfter fail with DATABASE_UNAVAILABLE (Commit, used by
// the other fakes, follows their own reachability); FailNextAppends(n) makes only the next n Append
// calls fail that way, storing nothing (a database that drops out and comes back); AppendCalls()
// counts every Append call, failed ones included.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/store_errors.h"

namespace onshid::testing {

class MemEventStore final : public core::EventStore {
 public:
  core::Status Append(const core::Event& event) override {
    {
      std::lock_guard lock(mu_);
      ++append_calls_;
      if (!reachable_) return core::DatabaseUnavailable("in-memory event store set unreachable");
      if (fail_appends_ > 0) {
        --fail_appends_;
        return core::DatabaseUnavailable("in-memory event store: append failed (test)");
      }
      CommitLocked({event});
    }
    Wake();
    return core::OkStatus();
  }

  core::Result<std::vector<core::Event>> ListAfter(std::int64_t after, int limit) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return core::DatabaseUnavailable("in-memory event store set unreachable");
    std::vector<core::Event> out;
    auto it = std::upper_bound(events_.begin(), events_.end(), after,
                               [](std::int64_t c, const core::Event& e) { return c < e.cursor; });
    for (; it != events_.end() && static_cast<int>(out.size()) < limit; ++it) out.push_back(*it);
    return out;
  }

  int Subscribe(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    const int handle = next_handle_++;
    subscribers_[handle] = std::move(wake);
    return handle;
  }

  void Unsubscribe(int handle) override {
    std::lock_guard lock(mu_);
    subscribers_.erase(handle);
  }

  // --- for the other in-memory stores ---

  // Appends `events` as one commit (consecutive cursors, in order) and returns them with their
  // cursors. Never fails. Does not wake subscribers: call Wake() after releasing your own locks.
  std::vector<core::Event> Commit(const std::vector<core::Event>& events) {
    std::lock_guard lock(mu_);
    return CommitLocked(events);
  }

  // Runs every subscriber's callback once (on this thread, no lock held).
  void Wake() {
    std::vector<std::function<void()>> wakes;
    {
      std::lock_guard lock(mu_);
      for (const auto& [handle, wake] : subscribers_) wakes.push_back(wake);
    }
    for (auto& wake : wakes) wake();
  }

  // --- test hooks ---

  // The whole log, oldest first.
  std::vector<core::Event> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

  // The events of type `type`, oldest first.
  std::vector<core::Event> OfType(const std::string& type) const {
    std::lock_guard lock(mu_);
    std::vector<core::Event> out;
    for (const auto& e : events_) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }

  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }

  // The next `n` Append calls fail with DATABASE_UNAVAILABLE and store nothing.
  void FailNextAppends(int n) {
    std::lock_guard lock(mu_);
    fail_appends_ = n;
  }

  int AppendCalls() const {
    std::lock_guard lock(mu_);
    return append_calls_;
  }

  int SubscriberCount() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(subscribers_.size());
  }

 private:
  std::vector<core::Event> CommitLocked(const std::vector<core::Event>& events) {
    std::vector<core::Event> committed;
    committed.reserve(events.size());
    for (core::Event e : events) {
      e.cursor = ++last_cursor_;
      events_.push_back(e);
      committed.push_back(std::move(e));
    }
    return committed;
  }

  mutable std::mutex mu_;
  bool reachable_ = true;
  int fail_appends_ = 0;
  int append_calls_ = 0;
  std::int64_t last_cursor_ = 0;
  std::vector<core::Event> events_;  // cursor order
  std::map<int, std::function<void()>> subscribers_;
  int next_handle_ = 1;
};

}  // namespace onshid::testing
