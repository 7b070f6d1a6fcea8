#pragma once
// DependencyMonitor: keeps the status board's database, upstream, upstream_requests and readers
// entries (app/dependency_board.h) true, and publishes the upstream's state changes on the event
// stream.
//
// One Refresh() step:
//   database           Ping(): OK, or DOWN DATABASE_UNREACHABLE with the ping's error — except
//                      that a successful ping leaves the entry alone while `database_restarting`
//                      answers true (the managed server's supervisor reports that itself).
//   upstream           (with an upstream) from Upstream::Status():
//                        folder not reachable         DOWN UPSTREAM_FOLDER_UNAVAILABLE, the folder
//                                                     error's English / Japanese messages;
//                        oldest request in req/ has   DEGRADED UPSTREAM_NOT_CONSUMING (the
//                        waited >= stale_request_warn terminal's 連携アプリ is not running);
//                        otherwise                    OK, detail "in flight N, queued M[, polling
//                                                     only (no inotify)][, last face file S s ago]".
//   upstream_requests  (with an upstream) OK, or DEGRADED UPSTREAM_REQUESTS_UNANSWERED naming each
//                      abandoned request's file and its x-request-id; never required for readiness.
//   upstream.state     an event (attributes state, reason when not OK; detail the entry's detail)
//                      is appended when the upstream entry's state differs from the last one
//                      published; an append that failed is tried again at the next step.
//   readers            (with readers) OK, or DEGRADED PCSC_SERVICE_UNAVAILABLE while
//                      CardReaders::ServiceAvailable() is false.
//   then the `after_refresh` callback given to Start(), if any (the API re-reads its health).
// Without an upstream or readers their entries are left as the start-up set them.
//
// Threading: Refresh() and RefreshUpstream() may be called from any thread; calls are serialised.
// Start() runs Refresh() on a thread of the monitor's own every `interval` (real time: the thread
// waits on a condition variable; the Clock dates what is reported), the first one an interval
// after Start(). Stop() wakes the thread and joins it (a step in progress finishes first). Tests
// call Refresh() directly and never need the thread. Logs carry no personal data.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/card/card_readers.h"
#include "core/clock.h"
#include "core/dependency.h"
#include "core/event.h"
#include "core/store.h"
#include "core/upstream.h"

namespace onshid::app {

struct DependencyMonitorOptions {
  std::chrono::milliseconds interval{5000};           // storage.health_interval_ms
  std::chrono::seconds stale_request_warn{60};        // upstream.stale_request_warn_s
  // True while the managed PostgreSQL server is being restarted by its supervisor, whose own
  // report (MANAGED_POSTGRES_RESTARTING) then stays on the board. Empty: never. Any thread.
  std::function<bool()> database_restarting;
};

class DependencyMonitor {
 public:
  // Every reference must outlive the monitor. `upstream` is null when no terminal folder is
  // configured, `readers` when generic readers are disabled.
  DependencyMonitor(core::Store& database, const core::Upstream* upstream,
                    const core::card::CardReaders* readers, core::StatusBoard& board,
                    core::EventStore& events, const core::Clock& clock,
                    DependencyMonitorOptions options);
  ~DependencyMonitor();  // Stop()s

  DependencyMonitor(const DependencyMonitor&) = delete;
  DependencyMonitor& operator=(const DependencyMonitor&) = delete;

  // One step (see above).
  void Refresh();
  // Only the upstream's part of a step (upstream, upstream_requests, upstream.state), e.g. once
  // at start-up before the first interval has passed. No-op without an upstream.
  void RefreshUpstream();

  // Starts the thread; `after_refresh` (may be empty) runs on it after every step. Once.
  void Start(std::function<void()> after_refresh);
  // Stops and joins the thread. Idempotent; also when never started.
  void Stop();

 private:
  void Loop();
  void RefreshDatabase();
  void RefreshUpstreamBoard(const core::UpstreamStatus& status);
  void PublishUpstreamState();

  core::Store& database_;
  const core::Upstream* const upstream_;
  const core::card::CardReaders* const readers_;
  core::StatusBoard& board_;
  core::EventStore& events_;
  const core::Clock& clock_;
  const DependencyMonitorOptions options_;

  std::mutex refresh_mu_;  // serialises steps; guards the two members below
  bool database_was_ok_ = true;
  std::string last_upstream_state_;  // as published; "" when none was (or the append failed)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::function<void()> after_refresh_;  // set by Start() before the thread exists
  std::thread thread_;
};

}  // namespace onshid::app
