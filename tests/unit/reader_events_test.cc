// The reader-event publisher (daemon/app/reader_events.h): the test plays the readers and pcscd on
// fake readers, which report their events, and reads the event store and the status board. Appends
// run on a one-thread executor, which the test drains (it waits for the posted work, never for time
// to pass).

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "app/dependency_board.h"
#include "app/executor.h"
#include "app/reader_events.h"
#include "core/dependency.h"
#include "support/fake_card_readers.h"
#include "support/manual_clock.h"
#include "support/mem_event_store.h"

namespace {

namespace app = onshid::app;
namespace core = onshid::core;
namespace testing = onshid::testing;
using core::DependencyState;
using namespace std::chrono_literals;

const core::SystemTime kStart =
    std::chrono::sys_days{std::chrono::year{2025} / 12 / 10} + std::chrono::hours{1};

struct Fixture {
  Fixture()
      : clock(kStart),
        readers(clock),
        board(clock),
        executor(1),
        publisher(readers, events, board, executor) {
    // As the PC/SC adapter before its first context: pcscd not reached yet.
    readers.SetServiceAvailable(false);
  }
  ~Fixture() { executor.Join(); }

  // Waits until every task posted to the (one-thread, FIFO) executor so far has run.
  void Drain() {
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    executor.Post([done] { done->set_value(); });
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
  }
  core::DependencyStatus Readers() const {
    for (const auto& d : board.Snapshot()) {
      if (d.name == app::kReadersEntry) return d;
    }
    FAIL("no readers entry");
    return {};
  }

  testing::ManualClock clock;
  testing::FakeCardReaders readers;
  testing::MemEventStore events;
  core::StatusBoard board;
  app::Executor executor;
  app::ReaderEventPublisher publisher;
};

std::optional<std::string> Attribute(const core::Event& e, const std::string& key) {
  for (const auto& [k, v] : e.attributes) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("reader events: the readers entry waits for pcscd until the service is reached",
          "[reader_events]") {
  Fixture f;
  f.publisher.Start();
  CHECK(f.readers.Watchers() == 1);
  auto e = f.Readers();
  CHECK(e.state == DependencyState::kDegraded);
  CHECK(e.reason == "PCSC_SERVICE_UNAVAILABLE");
  CHECK(e.detail == "waiting for pcscd");
  CHECK(e.detail_ja == "カードリーダーのサービスに接続しています。");
  CHECK_FALSE(e.required_for_ready);

  SECTION("not reachable when the readers started: still waiting") {
    f.publisher.ReadersStarted();
    CHECK(f.Readers().detail == "waiting for pcscd");
  }
  SECTION("reachable when the readers started: OK at once") {
    f.readers.SetServiceAvailable(true);
    f.publisher.ReadersStarted();
    e = f.Readers();
    CHECK(e.state == DependencyState::kOk);
    CHECK(e.reason.empty());
    CHECK_FALSE(e.required_for_ready);
  }
}

TEST_CASE("reader events: every reader event becomes a reader.<kind> event", "[reader_events]") {
  Fixture f;
  f.publisher.Start();
  f.readers.AddReader("Virtual PCD 00 00");
  f.clock.Advance(1s);
  f.readers.InsertCard("Virtual PCD 00 00", testing::FakeCard{});
  f.Drain();
  auto events = f.events.Events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "reader.reader_added");
  CHECK(events[1].type == "reader.card_inserted");
  CHECK(events[1].at == kStart + 1s);
  CHECK(Attribute(events[1], "reader") == "Virtual PCD 00 00");
  CHECK(events[1].detail.empty());
  // Card events say nothing about the service.
  CHECK(f.Readers().detail == "waiting for pcscd");
}

TEST_CASE("reader events: the service going and coming back moves the readers entry",
          "[reader_events]") {
  Fixture f;
  f.readers.SetServiceAvailable(true);
  f.publisher.Start();
  f.publisher.ReadersStarted();
  REQUIRE(f.Readers().state == DependencyState::kOk);

  f.readers.DegradeService("PCSC_SERVICE_UNAVAILABLE");
  auto e = f.Readers();  // set at once, not through the executor
  CHECK(e.state == DependencyState::kDegraded);
  CHECK(e.reason == "PCSC_SERVICE_UNAVAILABLE");
  CHECK(e.detail == "pcscd is not reachable; retrying");
  CHECK(e.detail_ja == "カードリーダーのサービスに接続できません。自動的に再接続します。");
  CHECK_FALSE(e.required_for_ready);

  f.readers.RecoverService();
  CHECK(f.Readers().state == DependencyState::kOk);

  f.Drain();
  auto events = f.events.Events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "reader.service_degraded");
  CHECK(events[0].detail == "PCSC_SERVICE_UNAVAILABLE");
  CHECK_FALSE(Attribute(events[0], "reader"));
  CHECK(events[1].type == "reader.service_recovered");
}

TEST_CASE("reader events: an event the store refused is dropped, the next one is kept",
          "[reader_events]") {
  Fixture f;
  f.publisher.Start();
  f.readers.AddReader("R1");
  f.Drain();  // reader_added is appended before the store starts refusing
  f.events.FailNextAppends(1);
  f.readers.InsertCard("R1", testing::FakeCard{});
  f.readers.RemoveCard("R1");
  f.Drain();
  CHECK(f.events.OfType("reader.card_inserted").empty());
  CHECK(f.events.OfType("reader.card_removed").size() == 1);
  CHECK(f.events.AppendCalls() == 3);
}

TEST_CASE("reader events: after Stop nothing is published", "[reader_events]") {
  Fixture f;
  f.publisher.Start();
  f.publisher.Stop();
  CHECK(f.readers.Watchers() == 0);
  f.readers.DegradeService("PCSC_SERVICE_UNAVAILABLE");
  f.Drain();
  CHECK(f.events.Events().empty());
  CHECK(f.Readers().detail == "waiting for pcscd");
  f.publisher.Stop();  // idempotent
}
