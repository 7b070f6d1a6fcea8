#include "pcsc/pcsc_card_readers.h"

#include <PCSC/pcsclite.h>
#include <PCSC/winscard.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <functional>
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "pcsc/pcsc_channel.h"
#include "pcsc/pcsc_errors.h"

namespace onshid::pcsc {

static_assert(std::is_same_v<SCARDCONTEXT, long> || sizeof(SCARDCONTEXT) == sizeof(long));

namespace {
constexpr char kPnpReader[] = "\\\\?PnP?\\Notification";
constexpr std::size_t kMaxChallengeBytes = 4096;
}  // namespace

// One thread per reader; runs tasks one after another, each in its own exclusive transaction.
class PcscCardReaders::Worker {
 public:
  // Runs with the channel; returns the closure that delivers the result (called after disconnect).
  using Run = std::function<std::function<void()>(CardChannel&)>;
  using Fail = std::function<void(core::DomainError)>;

  Worker(std::string reader, std::shared_ptr<spdlog::logger> log)
      : reader_(std::move(reader)), log_(std::move(log)), thread_([this] { Loop(); }) {}

  ~Worker() { Stop(); }

  void Post(bool pin_session, Run run, Fail fail) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        tasks_.push_back(Task{pin_session, std::move(run), std::move(fail)});
        cv_.notify_one();
        return;
      }
    }
    fail(AdapterStopped());
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  struct Task {
    bool pin_session;
    Run run;
    Fail fail;
  };

  void Loop() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (stopping_) break;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      RunTask(task);
    }
    std::deque<Task> rest;
    {
      std::lock_guard lock(mu_);
      rest.swap(tasks_);
    }
    for (Task& t : rest) t.fail(AdapterStopped());
    if (has_context_) SCardReleaseContext(context_);
  }

  bool EnsureContext(long& rv) {
    if (has_context_) return true;
    rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context_);
    has_context_ = rv == SCARD_S_SUCCESS;
    return has_context_;
  }

  void DropContext() {
    if (has_context_) SCardReleaseContext(context_);
    has_context_ = false;
  }

  void RunTask(Task& task) {
    long rv = SCARD_S_SUCCESS;
    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!EnsureContext(rv)) break;
      rv = SCardConnect(context_, reader_.c_str(), SCARD_SHARE_SHARED,
                        SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
      if (!IsServiceLost(rv)) break;
      DropContext();  // pcscd restarted since the last task: try once with a fresh context
    }
    if (rv != SCARD_S_SUCCESS) {
      log_->debug("reader '{}': connect failed: {}", reader_, PcscCodeName(rv));
      task.fail(PcscCallError(rv, "SCardConnect"));
      return;
    }
    rv = SCardBeginTransaction(card);
    if (rv == SCARD_W_RESET_CARD || rv == SCARD_W_REMOVED_CARD) {
      DWORD active = 0;
      if (SCardReconnect(card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                         SCARD_LEAVE_CARD, &active) == SCARD_S_SUCCESS) {
        protocol = active;
        rv = SCardBeginTransaction(card);
      }
    }
    if (rv != SCARD_S_SUCCESS) {
      SCardDisconnect(card, SCARD_LEAVE_CARD);
      task.fail(PcscCallError(rv, "SCardBeginTransaction"));
      return;
    }
    PcscChannel channel(card, protocol);
    std::function<void()> deliver = task.run(channel);
    // A session that sent a PIN ends with a card reset so no verified state outlives it.
    SCardEndTransaction(card, task.pin_session ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
    SCardDisconnect(card, task.pin_session ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
    deliver();
  }

  const std::string reader_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  SCARDCONTEXT context_ = 0;
  bool has_context_ = false;
  std::thread thread_;  // last: started after the other members exist
};

PcscCardReaders::PcscCardReaders(PcscOptions options, const core::Clock& clock,
                                 std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      clock_(clock),
      log_(logger ? std::move(logger) : spdlog::default_logger()),
      operations_(std::make_shared<CardOperations>(options_.card, clock)) {}

PcscCardReaders::~PcscCardReaders() { Stop(); }

void PcscCardReaders::Start() {
  if (monitor_.joinable()) return;
  stop_ = false;
  monitor_exited_ = false;
  monitor_ = std::thread([this] { MonitorLoop(); });
}

void PcscCardReaders::Stop() {
  stop_ = true;
  if (monitor_.joinable()) {
    // SCardCancel wakes SCardGetStatusChange; repeat until the monitor has left it (a cancel
    // that arrives just before the wait starts would otherwise be lost).
    while (!monitor_exited_) {
      {
        std::lock_guard lock(mu_);
        if (has_monitor_context_) SCardCancel(monitor_context_);
      }
      std::unique_lock lock(stop_mu_);
      stop_cv_.notify_all();
      stop_cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return monitor_exited_.load(); });
    }
    monitor_.join();
  }
  std::map<std::string, ReaderState> readers;
  {
    std::lock_guard lock(mu_);
    readers.swap(readers_);
  }
  for (auto& [name, state] : readers) {
    if (state.worker) state.worker->Stop();
  }
}

void PcscCardReaders::Publish(core::card::ReaderEventKind kind, const std::string& reader,
                              const std::string& reason) {
  core::card::ReaderEvent event{kind, reader, clock_.Now(), reason};
  log_->info("readers: {} {}{}", core::card::ToString(kind), reader.empty() ? "-" : reader,
             reason.empty() ? "" : " (" + reason + ")");
  std::lock_guard lock(watch_mu_);
  for (auto& [id, callback] : watchers_) callback(event);
}

void PcscCardReaders::DropAllReaders() {
  std::map<std::string, ReaderState> readers;
  {
    std::lock_guard lock(mu_);
    readers.swap(readers_);
  }
  for (auto& [name, state] : readers) {
    if (state.card_present) Publish(core::card::ReaderEventKind::kCardRemoved, name);
    Publish(core::card::ReaderEventKind::kReaderRemoved, name);
    if (state.worker) state.worker->Stop();
  }
}

void PcscCardReaders::MonitorLoop() {
  using core::card::ReaderEventKind;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  bool degraded = false;
  auto wait_backoff = [&] {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait_for(lock, backoff, [this] { return stop_.load(); });
    backoff = std::min(backoff * 2, options_.max_backoff);
  };
  auto enter_degraded = [&](long rv) {
    service_ok_ = false;
    if (degraded) return;
    degraded = true;
    log_->warn("readers: PC/SC service unavailable: {}", PcscCodeName(rv));
    DropAllReaders();
    Publish(ReaderEventKind::kServiceDegraded, "", "PCSC_SERVICE_UNAVAILABLE");
  };

  while (!stop_) {
    SCARDCONTEXT context = 0;
    long rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
    if (rv != SCARD_S_SUCCESS) {
      enter_degraded(rv);
      wait_backoff();
      continue;
    }
    {
      std::lock_guard lock(mu_);
      monitor_context_ = context;
      has_monitor_context_ = true;
    }
    service_ok_ = true;
    backoff = options_.initial_backoff;
    if (degraded) {
      degraded = false;
      Publish(ReaderEventKind::kServiceRecovered, "");
    }
    unsigned long pnp_state = 0;
    bool lost = false;
    while (!stop_ && !lost) {
      // 1. Reader list.
      DWORD size = SCARD_AUTOALLOCATE;
      char* list = nullptr;
      rv = SCardListReaders(context, nullptr, reinterpret_cast<char*>(&list), &size);
      std::vector<std::string> names;
      if (rv == SCARD_S_SUCCESS) {
        for (const char* p = list; p != nullptr && *p != '\0'; p += std::strlen(p) + 1) {
          names.emplace_back(p);
        }
        SCardFreeMemory(context, list);
      } else if (rv != SCARD_E_NO_READERS_AVAILABLE) {
        lost = true;
        break;
      }
      // 2. Diff against the known readers.
      std::vector<std::pair<std::string, ReaderState>> removed;
      std::vector<std::string> added;
      {
        std::lock_guard lock(mu_);
        for (auto it = readers_.begin(); it != readers_.end();) {
          if (std::find(names.begin(), names.end(), it->first) == names.end()) {
            removed.emplace_back(it->first, std::move(it->second));
            it = readers_.erase(it);
          } else {
            ++it;
          }
        }
        for (const std::string& name : names) {
          if (readers_.count(name) == 0) {
            ReaderState state;
            state.worker = std::make_shared<Worker>(name, log_);
            readers_.emplace(name, std::move(state));
            added.push_back(name);
          }
        }
      }
      for (auto& [name, state] : removed) {
        if (state.card_present) Publish(ReaderEventKind::kCardRemoved, name);
        Publish(ReaderEventKind::kReaderRemoved, name);
        state.worker->Stop();
      }
      for (const std::string& name : added) Publish(ReaderEventKind::kReaderAdded, name);
      // 3. Wait for a change on any reader or on the reader list.
      std::vector<SCARD_READERSTATE> states(names.size() + 1);
      states[0].szReader = kPnpReader;
      states[0].dwCurrentState = pnp_state;
      {
        std::lock_guard lock(mu_);
        for (std::size_t i = 0; i < names.size(); ++i) {
          states[i + 1].szReader = names[i].c_str();
          states[i + 1].dwCurrentState = readers_[names[i]].event_state;
        }
      }
      rv = SCardGetStatusChange(context, static_cast<DWORD>(options_.status_poll.count()),
                                states.data(), static_cast<DWORD>(states.size()));
      if (rv == SCARD_E_CANCELLED || rv == SCARD_E_TIMEOUT || rv == SCARD_E_UNKNOWN_READER) {
        continue;
      }
      if (rv != SCARD_S_SUCCESS) {
        lost = true;
        break;
      }
      pnp_state = states[0].dwEventState & ~static_cast<unsigned long>(SCARD_STATE_CHANGED);
      for (std::size_t i = 0; i < names.size(); ++i) {
        const unsigned long ev = states[i + 1].dwEventState;
        if ((ev & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE)) != 0) continue;  // relist removes it
        const bool present = (ev & SCARD_STATE_PRESENT) != 0;
        bool changed = false;
        {
          std::lock_guard lock(mu_);
          auto it = readers_.find(names[i]);
          if (it == readers_.end()) continue;
          it->second.event_state = ev & ~static_cast<unsigned long>(SCARD_STATE_CHANGED);
          changed = it->second.card_present != present;
          it->second.card_present = present;
          if (changed && present) it->second.last_error.clear();
        }
        if (changed) {
          Publish(present ? ReaderEventKind::kCardInserted : ReaderEventKind::kCardRemoved,
                  names[i]);
        }
      }
    }
    {
      std::lock_guard lock(mu_);
      has_monitor_context_ = false;
    }
    SCardReleaseContext(context);
    if (lost && !stop_) {
      enter_degraded(rv);
      wait_backoff();
    }
  }
  monitor_exited_ = true;
  std::lock_guard lock(stop_mu_);
  stop_cv_.notify_all();
}

std::vector<core::card::ReaderInfo> PcscCardReaders::ListReaders() const {
  std::lock_guard lock(mu_);
  std::vector<core::card::ReaderInfo> out;
  for (const auto& [name, state] : readers_) {
    out.push_back({name, state.card_present, state.last_error});
  }
  return out;
}

int PcscCardReaders::Watch(core::card::ReaderEventCallback callback) {
  std::lock_guard lock(watch_mu_);
  const int id = next_watch_id_++;
  watchers_.emplace(id, std::move(callback));
  return id;
}

void PcscCardReaders::Unwatch(int watch_id) {
  std::lock_guard lock(watch_mu_);
  watchers_.erase(watch_id);
}

void PcscCardReaders::RecordError(const std::string& reader, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = readers_.find(reader);
  if (it != readers_.end()) it->second.last_error = reason;
}

template <typename T, typename Fn>
void PcscCardReaders::Post(const std::string& reader, bool pin_session,
                           core::card::Completion<T> done, Fn run) {
  std::shared_ptr<Worker> worker;
  {
    std::lock_guard lock(mu_);
    auto it = readers_.find(reader);
    if (it != readers_.end()) worker = it->second.worker;
  }
  if (!worker) {
    done(ReaderNotFound(reader));
    return;
  }
  auto ops = operations_;
  auto finish = [this, reader, done](core::Result<T> result) {
    RecordError(reader, result.ok() ? std::string() : result.error().reason);
    if (!result.ok()) log_->info("reader '{}': {}", reader, result.error().reason);
    done(std::move(result));
  };
  worker->Post(
      pin_session,
      [ops, run, finish](CardChannel& channel) -> std::function<void()> {
        auto result = std::make_shared<core::Result<T>>(run(*ops, channel));
        return [finish, result] { finish(std::move(*result)); };
      },
      [finish](core::DomainError error) { finish(std::move(error)); });
}

void PcscCardReaders::InspectCard(const std::string& reader,
                                  core::card::Completion<core::card::CardInspection> done) {
  Post<core::card::CardInspection>(reader, false, std::move(done),
                                   [](const CardOperations& ops, CardChannel& channel) {
                                     return ops.Inspect(channel);
                                   });
}

void PcscCardReaders::GetPinStatus(const std::string& reader,
                                   core::card::Completion<core::card::PinStatus> done) {
  Post<core::card::PinStatus>(reader, false, std::move(done),
                              [](const CardOperations& ops, CardChannel& channel) {
                                return ops.GetPinStatus(channel);
                              });
}

void PcscCardReaders::VerifyPin(const std::string& reader, core::card::Pin pin, int reserve_tries,
                                core::card::Completion<core::card::PinStatus> done) {
  auto shared_pin = std::make_shared<core::card::Pin>(std::move(pin));
  Post<core::card::PinStatus>(
      reader, true, std::move(done),
      [shared_pin, reserve_tries](const CardOperations& ops, CardChannel& channel) {
        return ops.VerifyPin(channel, *shared_pin, reserve_tries);
      });
}

void PcscCardReaders::SignChallenge(const std::string& reader, core::card::Pin pin,
                                    std::vector<std::uint8_t> challenge,
                                    core::card::Completion<core::card::SignedChallenge> done) {
  if (challenge.empty() || challenge.size() > kMaxChallengeBytes) {
    done(core::InvalidArgument("CHALLENGE_INVALID", "the challenge must be 1..4096 bytes",
                               "署名対象のデータが不正です。", {{"challenge", "1..4096 bytes"}}));
    return;
  }
  auto shared_pin = std::make_shared<core::card::Pin>(std::move(pin));
  auto shared_challenge = std::make_shared<std::vector<std::uint8_t>>(std::move(challenge));
  Post<core::card::SignedChallenge>(
      reader, true, std::move(done),
      [shared_pin, shared_challenge](const CardOperations& ops, CardChannel& channel) {
        return ops.SignChallenge(channel, *shared_pin, *shared_challenge);
      });
}

void PcscCardReaders::ReadBasicInfo(const std::string& reader, core::card::Pin kenhojo_pin,
                                    core::card::Completion<core::card::BasicInfo> done) {
  auto shared_pin = std::make_shared<core::card::Pin>(std::move(kenhojo_pin));
  Post<core::card::BasicInfo>(reader, true, std::move(done),
                              [shared_pin](const CardOperations& ops, CardChannel& channel) {
                                return ops.ReadBasicInfo(channel, *shared_pin);
                              });
}

}  // namespace onshid::pcsc
