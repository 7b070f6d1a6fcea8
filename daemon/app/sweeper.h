#pragma once
// Sweeper: the daemon's periodic background work, one Tick() at a time.
//
// One Tick():
//   1. CheckInUseCases::Sweep() — waits that ran out, results nobody correlated, check-ins a
//      stopped daemon left without their follow-up.
//   2. With an upstream: FallbackCaseUseCases::ReverifyTick(answering, busy) — real-time traffic
//      first: `answering` is UpstreamAnswering(board) (the upstream entry, kept by the dependency
//      monitor, is OK), `busy` is the upstream's queued requests plus one when a request file
//      still waits in req/ (Upstream::Status()). Re-verification is sent only when answering and
//      not busy (the use case decides the rest: one at a time, reverify_interval apart).
//   3. When `purge_interval` has passed on the Clock since the last purge (the first Tick always
//      purges): FallbackCaseUseCases::PurgeExpired() (personal data of cases closed longer than
//      the retention ago) and RequestKeyStore::PurgeRequestKeys(now - request_key_retention, up
//      to kRequestKeysPurgedPerRun). A purge that fails is logged and tried at the next purge.
//
// Threading: Tick() from one thread at a time (CheckInUseCases::Sweep requires it). Start() runs
// Tick() on a thread of the sweeper's own, then again every `interval` (real time: the thread
// waits on a condition variable; the purge schedule follows the Clock). Stop() wakes the thread
// and joins it (a Tick in progress finishes first). Tests call Tick() directly and move a manual
// clock.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "app/checkin.h"
#include "app/fallback_cases.h"
#include "core/clock.h"
#include "core/dependency.h"
#include "core/request_keys.h"
#include "core/upstream.h"

namespace onshid::app {

struct SweeperOptions {
  std::chrono::milliseconds interval{1000};          // checkin.sweep_interval_ms
  std::chrono::seconds purge_interval{3600};         // fallback.purge_interval_s
  std::chrono::hours request_key_retention{72};      // service.request_key_retention_h
};

class Sweeper {
 public:
  // Request keys deleted per purge at most (the rest at the next purge).
  static constexpr int kRequestKeysPurgedPerRun = 10000;

  // Every reference must outlive the sweeper. `upstream` is null when no terminal folder is
  // configured (nothing is re-verified then).
  Sweeper(CheckInUseCases& checkins, FallbackCaseUseCases& fallback,
          core::RequestKeyStore& request_keys, const core::Upstream* upstream,
          const core::StatusBoard& board, const core::Clock& clock, SweeperOptions options);
  ~Sweeper();  // Stop()s

  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // One round (see above).
  void Tick();

  // Starts the thread (the first Tick at once). Once.
  void Start();
  // Stops and joins the thread. Idempotent; also when never started.
  void Stop();

 private:
  void Loop();
  void Purge(core::SystemTime now);

  CheckInUseCases& checkins_;
  FallbackCaseUseCases& fallback_;
  core::RequestKeyStore& request_keys_;
  const core::Upstream* const upstream_;
  const core::StatusBoard& board_;
  const core::Clock& clock_;
  const SweeperOptions options_;

  core::SystemTime last_purge_{};  // Tick() only (one thread at a time)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace onshid::app
