// The dependency monitor (daemon/app/dependency_monitor.h): what one Refresh() puts on the status
// board and on the event stream, from a fake upstream's status, an in-memory database that can be
// made unreachable, fake readers and a manual clock. The thread is tested only for starting and
// stopping; every rule is driven through Refresh().

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/dependency_board.h"
#include "app/dependency_monitor.h"
#include "core/dependency.h"
#include "support/fake_card_readers.h"
#include "support/fake_upstream.h"
#include "support/manual_clock.h"
#include "support/mem_event_store.h"
#include "support/mem_store.h"
#include "support/mem_upstream_journal.h"

namespace {

namespace app = onshid::app;
namespace core = onshid::core;
namespace testing = onshid::testing;
using core::DependencyState;
using namespace std::chrono_literals;

// 2025-12-10 10:00 JST.
const core::SystemTime kStart =
    std::chrono::sys_days{std::chrono::year{2025} / 12 / 10} + std::chrono::hours{1};

app::DependencyMonitorOptions Options() {
  app::DependencyMonitorOptions o;
  o.interval = 1h;  // never reached: the tests call Refresh()
  o.stale_request_warn = 60s;
  return o;
}

core::UpstreamStatus Idle() {
  core::UpstreamStatus s;
  s.folder_reachable = true;
  s.inotify_active = true;
  return s;
}

struct Fixture {
  explicit Fixture(app::DependencyMonitorOptions options = Options())
      : clock(kStart),
        upstream(journal, clock),
        readers(clock),
        board(clock),
        monitor(database, &upstream, &readers, board, events, clock, std::move(options)) {
    readers.SetServiceAvailable(true);
  }

  core::DependencyStatus Entry(const std::string& name) const {
    for (const auto& d : board.Snapshot()) {
      if (d.name == name) return d;
    }
    FAIL("no board entry " << name);
    return {};
  }
  bool Has(const std::string& name) const {
    for (const auto& d : board.Snapshot()) {
      if (d.name == name) return true;
    }
    return false;
  }
  std::vector<core::Event> StateEvents() const { return events.OfType("upstream.state"); }

  testing::ManualClock clock;
  testing::MemStore database;
  testing::MemUpstreamJournal journal;
  testing::FakeUpstream upstream;
  testing::FakeCardReaders readers;
  core::StatusBoard board;
  testing::MemEventStore events;
  app::DependencyMonitor monitor;
};

std::optional<std::string> Attribute(const core::Event& e, const std::string& key) {
  for (const auto& [k, v] : e.attributes) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("dependency monitor: an unreachable terminal folder is DOWN with the folder's message",
          "[dependency_monitor]") {
  Fixture f;
  auto status = Idle();
  status.folder_reachable = false;

  SECTION("the adapter's own message, English and Japanese") {
    status.folder_error = core::Unavailable(
        "UPSTREAM_FOLDER_UNAVAILABLE",
        "terminal folder /mnt/oqs/req is not reachable: No such file or directory",
        "資格確認端末の共有フォルダ（req）に接続できません。");
    f.upstream.SetStatus(status);
    f.monitor.Refresh();
    const auto e = f.Entry(app::kUpstreamEntry);
    CHECK(e.state == DependencyState::kDown);
    CHECK(e.reason == "UPSTREAM_FOLDER_UNAVAILABLE");
    CHECK(e.detail == "terminal folder /mnt/oqs/req is not reachable: No such file or directory");
    CHECK(e.detail_ja == "資格確認端末の共有フォルダ（req）に接続できません。");
    CHECK(e.required_for_ready);
  }
  SECTION("no message from the adapter: the generic one") {
    f.upstream.SetStatus(status);
    f.monitor.Refresh();
    const auto e = f.Entry(app::kUpstreamEntry);
    CHECK(e.state == DependencyState::kDown);
    CHECK(e.reason == "UPSTREAM_FOLDER_UNAVAILABLE");
    CHECK(e.detail == "the terminal folder is not reachable");
    CHECK(e.detail_ja == "資格確認端末の共有フォルダに接続できません。");
  }
  CHECK_FALSE(f.board.Ready());
  CHECK_FALSE(app::UpstreamAnswering(f.board));
}

TEST_CASE("dependency monitor: a request unconsumed for stale_request_warn makes upstream DEGRADED",
          "[dependency_monitor]") {
  Fixture f;
  auto status = Idle();
  status.oldest_request_age = 59s;
  f.upstream.SetStatus(status);
  f.monitor.Refresh();
  CHECK(f.Entry(app::kUpstreamEntry).state == DependencyState::kOk);
  CHECK(app::UpstreamAnswering(f.board));

  status.oldest_request_age = 60s;
  f.upstream.SetStatus(status);
  f.monitor.Refresh();
  const auto e = f.Entry(app::kUpstreamEntry);
  CHECK(e.state == DependencyState::kDegraded);
  CHECK(e.reason == "UPSTREAM_NOT_CONSUMING");
  CHECK(e.detail ==
        "a request file has waited 60 s in req/: the terminal's 連携アプリ is probably not running");
  CHECK(e.detail_ja ==
        "資格確認端末の連携アプリケーションが応答していません。端末を確認してください。");
  CHECK(e.required_for_ready);
  CHECK_FALSE(f.board.Ready());
  CHECK_FALSE(app::UpstreamAnswering(f.board));

  // An unreachable folder is the worse news: it wins over the waiting request.
  status.folder_reachable = false;
  f.upstream.SetStatus(status);
  f.monitor.Refresh();
  CHECK(f.Entry(app::kUpstreamEntry).reason == "UPSTREAM_FOLDER_UNAVAILABLE");
}

TEST_CASE("dependency monitor: an answering upstream is OK with its traffic in the detail",
          "[dependency_monitor]") {
  Fixture f;
  f.monitor.Refresh();
  auto e = f.Entry(app::kUpstreamEntry);
  CHECK(e.state == DependencyState::kOk);
  CHECK(e.reason.empty());
  CHECK(e.detail == "in flight 0, queued 0");
  CHECK(e.detail_ja.empty());
  CHECK(e.required_for_ready);

  auto status = Idle();
  status.in_flight = 2;
  status.queued = 3;
  status.inotify_active = false;
  status.oldest_request_age = 5s;  // below stale_request_warn
  status.last_face_at = f.clock.Now();
  f.upstream.SetStatus(status);
  f.clock.Advance(42s);
  f.monitor.Refresh();
  e = f.Entry(app::kUpstreamEntry);
  CHECK(e.state == DependencyState::kOk);
  CHECK(e.detail == "in flight 2, queued 3, polling only (no inotify), last face file 42 s ago");
  CHECK(f.board.Ready());
}

TEST_CASE("dependency monitor: unanswered requests are named with their x-request-id",
          "[dependency_monitor]") {
  Fixture f;
  f.monitor.Refresh();
  auto e = f.Entry(app::kUpstreamRequestsEntry);
  CHECK(e.state == DependencyState::kOk);
  CHECK_FALSE(e.required_for_ready);

  auto status = Idle();
  status.unanswered.push_back({"OQSsiquc01req_202512100001.xml", "internal-key-1", "req-abc",
                               kStart - 10min, kStart - 5min});
  status.unanswered.push_back({"OQSsiquc01req_202512100002.xml", "internal-key-2", "",
                               kStart - 9min, kStart - 4min});
  f.upstream.SetStatus(status);
  f.monitor.Refresh();
  e = f.Entry(app::kUpstreamRequestsEntry);
  CHECK(e.state == DependencyState::kDegraded);
  CHECK(e.reason == "UPSTREAM_REQUESTS_UNANSWERED");
  CHECK(e.detail ==
        "2 request(s) written to req/ were never answered: OQSsiquc01req_202512100001.xml "
        "(x-request-id req-abc), OQSsiquc01req_202512100002.xml");
  CHECK(e.detail.find("internal-key") == std::string::npos);  // daemon-internal keys stay inside
  CHECK(e.detail_ja ==
        "資格確認端末から応答のない照会があります。端末の状態を確認し、必要なら照会をやり直してください。");
  CHECK_FALSE(e.required_for_ready);
  // They do not stop new requests: the upstream stays OK and the daemon ready.
  CHECK(f.Entry(app::kUpstreamEntry).state == DependencyState::kOk);
  CHECK(f.board.Ready());

  f.upstream.SetStatus(Idle());
  f.monitor.Refresh();
  e = f.Entry(app::kUpstreamRequestsEntry);
  CHECK(e.state == DependencyState::kOk);
  CHECK(e.reason.empty());
  CHECK(e.detail.empty());
}

TEST_CASE("dependency monitor: upstream.state is published once per state change",
          "[dependency_monitor]") {
  Fixture f;
  f.monitor.Refresh();
  auto events = f.StateEvents();
  REQUIRE(events.size() == 1);
  CHECK(Attribute(events[0], "state") == "OK");
  CHECK_FALSE(Attribute(events[0], "reason"));
  CHECK(events[0].detail == "in flight 0, queued 0");
  CHECK(events[0].at == kStart);

  // Same state, other detail: nothing new.
  auto busy = Idle();
  busy.queued = 4;
  f.upstream.SetStatus(busy);
  f.clock.Advance(5s);
  f.monitor.Refresh();
  f.monitor.Refresh();
  CHECK(f.StateEvents().size() == 1);

  auto down = Idle();
  down.folder_reachable = false;
  down.folder_error = core::Unavailable("UPSTREAM_FOLDER_UNAVAILABLE", "share gone", "共有なし");
  f.upstream.SetStatus(down);
  f.clock.Advance(5s);
  f.monitor.Refresh();
  events = f.StateEvents();
  REQUIRE(events.size() == 2);
  CHECK(Attribute(events[1], "state") == "DOWN");
  CHECK(Attribute(events[1], "reason") == "UPSTREAM_FOLDER_UNAVAILABLE");
  CHECK(events[1].detail == "share gone");
  CHECK(events[1].at == kStart + 10s);
  f.monitor.Refresh();
  CHECK(f.StateEvents().size() == 2);

  auto stale = Idle();
  stale.oldest_request_age = 600s;
  f.upstream.SetStatus(stale);
  f.monitor.Refresh();
  events = f.StateEvents();
  REQUIRE(events.size() == 3);
  CHECK(Attribute(events[2], "state") == "DEGRADED");
  CHECK(Attribute(events[2], "reason") == "UPSTREAM_NOT_CONSUMING");

  f.upstream.SetStatus(Idle());
  f.monitor.Refresh();
  events = f.StateEvents();
  REQUIRE(events.size() == 4);
  CHECK(Attribute(events[3], "state") == "OK");
}

TEST_CASE("dependency monitor: an upstream.state event whose append failed is appended later",
          "[dependency_monitor]") {
  Fixture f;
  f.monitor.Refresh();
  REQUIRE(f.StateEvents().size() == 1);

  auto down = Idle();
  down.folder_reachable = false;
  f.upstream.SetStatus(down);
  f.events.FailNextAppends(1);
  f.monitor.Refresh();
  CHECK(f.StateEvents().size() == 1);  // the database did not take it
  CHECK(f.events.AppendCalls() == 2);
  CHECK(f.Entry(app::kUpstreamEntry).state == DependencyState::kDown);  // the board has it

  f.clock.Advance(5s);
  f.monitor.Refresh();  // same state: tried again
  auto events = f.StateEvents();
  REQUIRE(events.size() == 2);
  CHECK(Attribute(events[1], "state") == "DOWN");
  CHECK(events[1].at == kStart + 5s);

  f.monitor.Refresh();  // and then only once
  CHECK(f.StateEvents().size() == 2);
  CHECK(f.events.AppendCalls() == 3);
}

TEST_CASE("dependency monitor: the database is DOWN while a ping fails and OK when it answers",
          "[dependency_monitor]") {
  bool restarting = false;
  auto options = Options();
  options.database_restarting = [&restarting] { return restarting; };
  Fixture f(options);
  f.monitor.Refresh();
  CHECK(f.Entry(app::kDatabaseEntry).state == DependencyState::kOk);
  CHECK(f.board.Ready());

  f.database.SetReachable(false);
  const auto expected = f.database.Ping();
  REQUIRE_FALSE(expected.ok());
  f.monitor.Refresh();
  auto e = f.Entry(app::kDatabaseEntry);
  CHECK(e.state == DependencyState::kDown);
  CHECK(e.reason == "DATABASE_UNREACHABLE");
  CHECK(e.detail == expected.error().message);
  CHECK(e.detail_ja == "データベースに接続できません。");
  CHECK(e.required_for_ready);
  CHECK_FALSE(f.board.Ready());

  f.database.SetReachable(true);
  f.monitor.Refresh();
  e = f.Entry(app::kDatabaseEntry);
  CHECK(e.state == DependencyState::kOk);
  CHECK(e.reason.empty());
  CHECK(f.board.Ready());

  SECTION("while the managed server restarts, its own report stays even when a ping answers") {
    restarting = true;
    app::ReportManagedDatabaseRestarting(f.board, "postgres exited; restarting");
    f.monitor.Refresh();
    e = f.Entry(app::kDatabaseEntry);
    CHECK(e.state == DependencyState::kDown);
    CHECK(e.reason == "MANAGED_POSTGRES_RESTARTING");
    CHECK(e.detail == "postgres exited; restarting");
    CHECK(e.detail_ja == "データベースが停止したため再起動しています。");

    restarting = false;
    f.monitor.Refresh();
    CHECK(f.Entry(app::kDatabaseEntry).state == DependencyState::kOk);
  }
}

TEST_CASE("dependency monitor: the readers are DEGRADED while their service is unavailable",
          "[dependency_monitor]") {
  Fixture f;
  f.readers.SetServiceAvailable(false);
  f.monitor.Refresh();
  auto e = f.Entry(app::kReadersEntry);
  CHECK(e.state == DependencyState::kDegraded);
  CHECK(e.reason == "PCSC_SERVICE_UNAVAILABLE");
  CHECK(e.detail == "pcscd is not reachable; retrying");
  CHECK(e.detail_ja == "カードリーダーのサービスに接続できません。自動的に再接続します。");
  CHECK_FALSE(e.required_for_ready);
  CHECK(f.board.Ready());  // readers never hold back readiness

  f.readers.SetServiceAvailable(true);
  f.monitor.Refresh();
  e = f.Entry(app::kReadersEntry);
  CHECK(e.state == DependencyState::kOk);
  CHECK(e.reason.empty());
  CHECK(e.detail.empty());
  CHECK_FALSE(e.required_for_ready);
}

TEST_CASE("dependency monitor: without an upstream or readers their start-up entries stay",
          "[dependency_monitor]") {
  testing::ManualClock clock(kStart);
  testing::MemStore database;
  core::StatusBoard board(clock);
  testing::MemEventStore events;
  app::ReportUpstreamNotConfigured(board);
  app::ReportReadersDisabled(board);
  app::DependencyMonitor monitor(database, nullptr, nullptr, board, events, clock, Options());
  monitor.RefreshUpstream();
  monitor.Refresh();
  bool saw_requests_entry = false;
  for (const auto& d : board.Snapshot()) {
    if (d.name == app::kUpstreamEntry) {
      CHECK(d.state == DependencyState::kDisabled);
      CHECK(d.reason == "UPSTREAM_NOT_CONFIGURED");
      CHECK_FALSE(d.required_for_ready);
    } else if (d.name == app::kReadersEntry) {
      CHECK(d.state == DependencyState::kDisabled);
      CHECK(d.reason == "READERS_NOT_CONFIGURED");
    } else if (d.name == app::kUpstreamRequestsEntry) {
      saw_requests_entry = true;
    } else {
      CHECK(d.name == app::kDatabaseEntry);
    }
  }
  CHECK_FALSE(saw_requests_entry);
  CHECK(events.Events().empty());
  CHECK(board.Ready());
}

TEST_CASE("dependency monitor: RefreshUpstream reports the upstream only", "[dependency_monitor]") {
  Fixture f;
  f.database.SetReachable(false);
  f.readers.SetServiceAvailable(false);
  f.monitor.RefreshUpstream();
  CHECK(f.Entry(app::kUpstreamEntry).state == DependencyState::kOk);
  CHECK(f.Entry(app::kUpstreamRequestsEntry).state == DependencyState::kOk);
  CHECK(f.StateEvents().size() == 1);
  CHECK_FALSE(f.Has(app::kDatabaseEntry));
  CHECK_FALSE(f.Has(app::kReadersEntry));
}

TEST_CASE("dependency monitor: the thread refreshes every interval and stops at once",
          "[dependency_monitor]") {
  SECTION("short interval: steps run, each followed by after_refresh") {
    // Declared before the fixture: the callback may still run until the monitor is destroyed.
    std::mutex mu;
    int steps = 0;
    auto two = std::make_shared<std::promise<void>>();
    auto reached = two->get_future();
    auto options = Options();
    options.interval = 1ms;
    Fixture f(options);
    f.monitor.Start([&] {
      std::lock_guard lock(mu);
      if (++steps == 2) two->set_value();
    });
    REQUIRE(reached.wait_for(30s) == std::future_status::ready);
    f.monitor.Stop();
    CHECK(f.Entry(app::kUpstreamEntry).state == DependencyState::kOk);
    CHECK(f.Entry(app::kDatabaseEntry).state == DependencyState::kOk);
    CHECK(f.upstream.StatusCalls() >= 2);
  }
  SECTION("long interval: Stop() ends the thread before any step ran") {
    int steps = 0;
    Fixture f;  // interval 1 h
    f.monitor.Start([&] { ++steps; });
    const auto t0 = std::chrono::steady_clock::now();
    f.monitor.Stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 30s);
    CHECK(steps == 0);
    CHECK(f.upstream.StatusCalls() == 0);
    f.monitor.Stop();  // idempotent
  }
}

TEST_CASE("dependency board: the upstream answers unless its entry says otherwise",
          "[dependency_monitor]") {
  testing::ManualClock clock(kStart);
  core::StatusBoard board(clock);
  CHECK(app::UpstreamAnswering(board));  // not reported yet
  board.Set(app::kUpstreamEntry, DependencyState::kOk);
  CHECK(app::UpstreamAnswering(board));
  board.Set(app::kUpstreamEntry, DependencyState::kDegraded, "UPSTREAM_NOT_CONSUMING");
  CHECK_FALSE(app::UpstreamAnswering(board));
  board.Set(app::kUpstreamEntry, DependencyState::kDown, "UPSTREAM_FOLDER_UNAVAILABLE");
  CHECK_FALSE(app::UpstreamAnswering(board));
  // Only the upstream entry counts.
  board.Set(app::kUpstreamEntry, DependencyState::kOk);
  board.Set(app::kUpstreamRequestsEntry, DependencyState::kDegraded, "UPSTREAM_REQUESTS_UNANSWERED");
  board.Set(app::kDatabaseEntry, DependencyState::kDown, "DATABASE_UNREACHABLE");
  CHECK(app::UpstreamAnswering(board));
}
