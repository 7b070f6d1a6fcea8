#pragma once
// PcscCardReaders: the CardReaders port over pcsc-lite.
//
// Threads:
//   - one monitor thread with its own SCARDCONTEXT: lists readers, waits in SCardGetStatusChange on
//     every reader plus "\\?PnP?\Notification", publishes reader/card events to watchers, creates a
//     worker per reader. When pcscd is missing or goes away it publishes kServiceDegraded (and
//     kReaderRemoved for every known reader), retries with exponential backoff and publishes
//     kServiceRecovered once a context works again. Stop() wakes it with SCardCancel.
//   - one worker thread per reader with its own SCARDCONTEXT: runs the card operations of that
//     reader one after another, each in SCardConnect + SCardBeginTransaction (exclusive), with
//     SCardDisconnect(SCARD_RESET_CARD) after any session that sent a PIN so no verified state
//     survives the session.
// Operation completions run on the reader's worker thread; watcher callbacks on the monitor thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "core/card/card_readers.h"
#include "pcsc/card_operations.h"

namespace onshid::pcsc {

struct PcscOptions {
  CardOperationsConfig card;
  // Backoff while the PC/SC service is unreachable.
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  // Upper bound of one SCardGetStatusChange wait (a safety net; changes wake it earlier).
  std::chrono::milliseconds status_poll{2000};
};

class PcscCardReaders final : public core::card::CardReaders {
 public:
  // `clock` must outlive this object. `logger` may be null (then spdlog's default logger).
  PcscCardReaders(PcscOptions options, const core::Clock& clock,
                  std::shared_ptr<spdlog::logger> logger = nullptr);
  // Calls Stop().
  ~PcscCardReaders() override;

  // Starts the monitor thread. Never fails: a missing pcscd is a degraded state, not an error.
  void Start();
  // Cancels the monitor (SCardCancel), stops every worker; queued operations complete with
  // READER_UNAVAILABLE. Idempotent. Must not be called from a completion or watcher callback.
  void Stop();

  // True while the PC/SC service is reachable (after the first successful context).
  bool ServiceAvailable() const override { return service_ok_.load(); }

  std::vector<core::card::ReaderInfo> ListReaders() const override;
  int Watch(core::card::ReaderEventCallback callback) override;
  void Unwatch(int watch_id) override;
  void InspectCard(const std::string& reader,
                   core::card::Completion<core::card::CardInspection> done) override;
  void GetPinStatus(const std::string& reader,
                    core::card::Completion<core::card::PinStatus> done) override;
  void VerifyPin(const std::string& reader, core::card::Pin pin, int reserve_tries,
                 core::card::Completion<core::card::PinStatus> done) override;
  void SignChallenge(const std::string& reader, core::card::Pin pin,
                     std::vector<std::uint8_t> challenge,
                     core::card::Completion<core::card::SignedChallenge> done) override;
  void ReadBasicInfo(const std::string& reader, core::card::Pin kenhojo_pin,
                     core::card::Completion<core::card::BasicInfo> done) override;

 private:
  class Worker;
  struct ReaderState {
    bool card_present = false;
    unsigned long event_state = 0;  // last dwEventState seen (SCARD_STATE_*)
    std::string last_error;
    std::shared_ptr<Worker> worker;
  };

  void MonitorLoop();
  void Publish(core::card::ReaderEventKind kind, const std::string& reader,
               const std::string& reason = {});
  // Posts `run(channel-or-error)` to the reader's worker, or completes with an error.
  template <typename T, typename Fn>
  void Post(const std::string& reader, bool pin_session, core::card::Completion<T> done, Fn run);
  void RecordError(const std::string& reader, const std::string& reason);
  void DropAllReaders();

  PcscOptions options_;
  const core::Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<const CardOperations> operations_;

  mutable std::mutex mu_;                  // guards readers_, monitor_context_
  std::map<std::string, ReaderState> readers_;
  long monitor_context_ = 0;               // SCARDCONTEXT of the monitor, 0 when none
  bool has_monitor_context_ = false;

  std::mutex watch_mu_;                    // held while calling watchers
  std::map<int, core::card::ReaderEventCallback> watchers_;
  int next_watch_id_ = 1;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> monitor_exited_{false};
  std::atomic<bool> service_ok_{false};
  std::thread monitor_;
};

}  // namespace onshid::pcsc
