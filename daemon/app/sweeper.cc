#include "app/sweeper.h"

#include "app/dependency_board.h"
#include "app/logging.h"

namespace onshid::app {

Sweeper::Sweeper(CheckInUseCases& checkins, FallbackCaseUseCases& fallback,
                 core::RequestKeyStore& request_keys, const core::Upstream* upstream,
                 const core::StatusBoard& board, const core::Clock& clock, SweeperOptions options)
    : checkins_(checkins),
      fallback_(fallback),
      request_keys_(request_keys),
      upstream_(upstream),
      board_(board),
      clock_(clock),
      options_(options) {}

Sweeper::~Sweeper() { Stop(); }

void Sweeper::Tick() {
  checkins_.Sweep();
  if (upstream_) {
    // Real-time traffic first: nothing waits in req/ or in the adapter's queue.
    const auto status = upstream_->Status();
    const int busy = status.queued + (status.oldest_request_age ? 1 : 0);
    fallback_.ReverifyTick(UpstreamAnswering(board_), busy);
  }
  const auto now = clock_.Now();
  if (now - last_purge_ >= options_.purge_interval) {
    last_purge_ = now;
    Purge(now);
  }
}

void Sweeper::Purge(core::SystemTime now) {
  if (auto n = fallback_.PurgeExpired(); !n) {
    Logger("fallback")->warn("scheduled purge failed: {}", n.error().message);
  }
  if (auto n = request_keys_.PurgeRequestKeys(now - options_.request_key_retention,
                                              kRequestKeysPurgedPerRun);
      !n) {
    Logger("main")->warn("request key purge failed: {}", n.error().message);
  }
}

void Sweeper::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Sweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sweeper::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    lock.lock();
    cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace onshid::app
