#pragma once
// The EventStore contract: one suite every core::EventStore implementation must pass
// (core/event.h). Run against MemEventStore in tests/unit/mem_stores_contract_test.cc and against
// PgStore in tests/integration/postgres_test.cc.
//
// Call RunEventStoreContract() inside a TEST_CASE that makes a new, empty store every time it runs:
// the contract uses SECTIONs, so Catch runs the enclosing body once per section. It waits on
// condition variables with bounded time-outs and never sleeps.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/event.h"

namespace onshid::testing {

// Tails an EventStore the way a subscriber resuming from its cursor does: on its own thread, it
// lists pages after the last cursor it saw until Finish() says every writer is done and a page
// read afterwards comes back empty (or 60 s pass, counted as a read failure). Used by the event
// contract and by the PostgreSQL test with several kinds of writers.
class EventLogTail {
 public:
  EventLogTail(core::EventStore& store, int page_size)
      : thread_([this, &store, page_size] { Run(store, page_size); }) {}
  ~EventLogTail() {
    if (thread_.joinable()) Finish();
  }
  // Every write has returned: read to the end and stop.
  void Finish() {
    writers_done_ = true;
    thread_.join();
  }
  // After Finish(): the events in the order they were read, and the failed reads.
  const std::vector<core::Event>& seen() const { return seen_; }
  int read_failures() const { return read_failures_; }

 private:
  void Run(core::EventStore& store, int page_size) {
    std::int64_t last = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      // Read the flag before listing: once it is set every write has committed, so an empty
      // page read afterwards means everything was seen.
      const bool done = writers_done_.load();
      auto page = store.ListAfter(last, page_size);
      if (!page.ok()) {
        ++read_failures_;
        continue;
      }
      for (auto& e : *page) seen_.push_back(std::move(e));
      if (!page->empty()) last = page->back().cursor;
      if (done && page->empty()) return;
    }
    ++read_failures_;  // the deadline passed
  }

  std::atomic<bool> writers_done_{false};
  std::atomic<int> read_failures_{0};
  std::vector<core::Event> seen_;
  std::thread thread_;  // last: starts after the members it uses exist
};

namespace event_contract_internal {

// Times are whole microseconds: the finest resolution every store keeps.
inline core::SystemTime At(std::int64_t seconds, std::int64_t micros = 0) {
  constexpr std::int64_t kBase = 1'790'000'000;  // 2026-09-21
  return core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
      std::chrono::seconds(kBase + seconds) + std::chrono::microseconds(micros)));
}

inline core::Event Ev(std::string type, std::int64_t at = 0) {
  core::Event e;
  e.at = At(at);
  e.type = std::move(type);
  return e;
}

inline std::vector<core::Event> List(core::EventStore& store, std::int64_t after, int limit) {
  auto listed = store.ListAfter(after, limit);
  INFO((listed.ok() ? std::string() : listed.error().reason + ": " + listed.error().message));
  REQUIRE(listed.ok());
  return *listed;
}

inline void Append(core::EventStore& store, const core::Event& e) {
  const core::Status s = store.Append(e);
  INFO((s.ok() ? std::string() : s.error().reason + ": " + s.error().message));
  REQUIRE(s.ok());
}

inline std::vector<std::string> Types(const std::vector<core::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

// Attributes as a sorted list: stores may keep them as a map (PgStore: a jsonb object).
inline std::vector<std::pair<std::string, std::string>> Sorted(
    std::vector<std::pair<std::string, std::string>> attributes) {
  std::sort(attributes.begin(), attributes.end());
  return attributes;
}

// Counts wake-ups; shared with the callback, which a store thread may still run after Unsubscribe.
struct Wakes {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;

  int Count() {
    std::lock_guard lock(mu);
    return count;
  }
  // True when the count exceeds `seen` within 10 s.
  bool WaitBeyond(int seen) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return count > seen; });
  }
};

}  // namespace event_contract_internal

inline void RunEventStoreContract(core::EventStore& store) {
  using namespace event_contract_internal;

  SECTION("an appended event is listed with every field and a cursor") {
    core::Event e;
    e.at = At(1, 123456);
    e.type = "face.received";
    e.result_id = 42;
    e.request_id = "req-1";
    e.file_name = "face_1.xml";
    e.detail = "identical to result 7";
    e.attributes = {{"validity", "1"}, {"duplicate_of", "7"}};
    Append(store, e);
    const auto listed = List(store, 0, 10);
    REQUIRE(listed.size() == 1);
    const core::Event& got = listed[0];
    CHECK(got.cursor > 0);
    CHECK(got.at == e.at);
    CHECK(got.type == e.type);
    CHECK(got.result_id == 42);
    CHECK(got.request_id == "req-1");
    CHECK(got.file_name == "face_1.xml");
    CHECK(got.detail == e.detail);
    CHECK(Sorted(got.attributes) == Sorted(e.attributes));
    CHECK(List(store, got.cursor, 10).empty());
  }

  SECTION("cursors increase in append order and ListAfter pages oldest first") {
    for (int i = 1; i <= 5; ++i) Append(store, Ev("e" + std::to_string(i), i));
    const auto all = List(store, 0, 100);
    REQUIRE(Types(all) == std::vector<std::string>{"e1", "e2", "e3", "e4", "e5"});
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].cursor < all[i].cursor);
    CHECK(Types(List(store, 0, 2)) == std::vector<std::string>{"e1", "e2"});
    CHECK(Types(List(store, all[1].cursor, 2)) == std::vector<std::string>{"e3", "e4"});
    CHECK(Types(List(store, all[3].cursor, 10)) == std::vector<std::string>{"e5"});
    CHECK(List(store, all[4].cursor, 10).empty());
    // A cursor between two (or before the first) is as good as the one below it.
    CHECK(Types(List(store, all[2].cursor - 1, 1)) == std::vector<std::string>{"e3"});
  }

  SECTION("every subscriber is woken by an append") {
    auto first = std::make_shared<Wakes>();
    auto second = std::make_shared<Wakes>();
    auto wake = [](std::shared_ptr<Wakes> w) {
      return [w] {
        std::lock_guard lock(w->mu);
        ++w->count;
        w->cv.notify_all();
      };
    };
    const int h1 = store.Subscribe(wake(first));
    const int h2 = store.Subscribe(wake(second));
    CHECK(h1 != h2);
    const int seen1 = first->Count();
    const int seen2 = second->Count();
    Append(store, Ev("woken"));
    CHECK(first->WaitBeyond(seen1));
    CHECK(second->WaitBeyond(seen2));
    // A woken subscriber finds the event.
    CHECK(Types(List(store, 0, 10)) == std::vector<std::string>{"woken"});
    store.Unsubscribe(h1);
    store.Unsubscribe(h2);
    store.Unsubscribe(h2);  // unknown handles are ignored
  }

  SECTION("a reader resuming from its cursor sees every later event exactly once") {
    // Concurrent writers; a reader that tails with ListAfter(last cursor it processed) must see
    // the whole log in cursor order, with no gap and no duplicate (commit order, core/event.h).
    constexpr int kWriters = 4;
    constexpr int kPerWriter = 25;
    EventLogTail tail(store, 7);
    std::atomic<int> write_failures{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; i < kPerWriter; ++i) {
          if (!store.Append(Ev("w" + std::to_string(w) + "." + std::to_string(i))).ok()) {
            ++write_failures;
          }
        }
      });
    }
    for (auto& t : writers) t.join();
    tail.Finish();
    const std::vector<core::Event>& seen = tail.seen();

    CHECK(write_failures == 0);
    CHECK(tail.read_failures() == 0);
    const auto all = List(store, 0, 100000);
    CHECK(all.size() == static_cast<std::size_t>(kWriters * kPerWriter));
    std::vector<std::int64_t> seen_cursors, all_cursors;
    for (const auto& e : seen) seen_cursors.push_back(e.cursor);
    for (const auto& e : all) all_cursors.push_back(e.cursor);
    CHECK(seen_cursors == all_cursors);
    CHECK(std::adjacent_find(seen_cursors.begin(), seen_cursors.end(),
                             [](std::int64_t a, std::int64_t b) { return a >= b; }) ==
          seen_cursors.end());
    // Each writer's events appear in the order it wrote them.
    std::map<std::string, int> next;  // writer → next index expected
    for (const auto& e : seen) {
      const auto dot = e.type.find('.');
      const std::string writer = e.type.substr(0, dot);
      CHECK(std::stoi(e.type.substr(dot + 1)) == next[writer]++);
    }
  }
}

}  // namespace onshid::testing
