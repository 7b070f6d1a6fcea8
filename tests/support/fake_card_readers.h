#pragma once
// FakeCardReaders: a scriptable core::card::CardReaders for use-case tests (header-only; core and
// the standard library only). The test plays the readers and the cards: it adds and removes
// readers, inserts cards with what they answer, makes operations fail, and the fake reports reader
// events and completes operations as the PC/SC adapter would.
//
// A FakeCard answers:
//   InspectCard    `inspection` (a value or an error);
//   GetPinStatus   the user-authentication PIN's tries left (3 when fresh), or PIN_LOCKED;
//   VerifyPin      like the adapter: PIN_LOCKED when locked; PIN_ATTEMPT_RESERVED (metadata
//                  tries_left, nothing "sent") when tries_left ≤ reserve_tries; a wrong PIN costs
//                  a try (PIN_INCORRECT with metadata tries_left, PIN_LOCKED at 0); the right one
//                  restores 3 tries;
//   SignChallenge  the same PIN rules (no reserve), then `signed_challenge` when set, else a
//                  signature of 0x5A followed by the challenge and the inspection's certificate
//                  (CARD_DATA_INVALID when the inspection has none);
//   ReadBasicInfo  the 券面事項入力補助 PIN rules (its own tries), then `basic_info`.
// An unknown reader is READER_NOT_FOUND, a reader without a card NO_CARD. FailNext(reader, error)
// makes the next operation on that reader fail with `error` instead.
//
// The PC/SC service: ServiceAvailable() is true unless the service is down. DegradeService() and
// RecoverService() change it and report kServiceDegraded / kServiceRecovered as the adapter does
// when pcscd goes and comes back; SetServiceAvailable() changes it without an event, as before the
// adapter first reached pcscd. While the service is down ListReaders() is empty and every
// operation fails with PCSC_SERVICE_UNAVAILABLE.
//
// Threading: completions run on the fake's own worker thread (the readers' workers), one at a
// time in call order, never on the caller's thread; Drain() waits until every completion ran.
// Reader events run on the thread that caused them (the test plays the monitor thread), in order;
// after Unwatch returns a callback is not running and is not called again — so a callback must
// not call Unwatch itself.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/card/card_readers.h"
#include "core/card/card_types.h"
#include "core/card/pin.h"
#include "core/clock.h"
#include "core/error.h"

namespace onshid::testing {

struct FakeCard {
  core::Result<core::card::CardInspection> inspection = core::card::CardInspection{};
  std::string pin = "1234";  // 利用者証明用電子証明書 PIN
  int tries_left = 3;
  std::optional<core::Result<core::card::SignedChallenge>> signed_challenge;
  std::string kenhojo_pin = "5678";  // 券面事項入力補助用暗証番号
  int kenhojo_tries_left = 3;
  core::Result<core::card::BasicInfo> basic_info = core::card::BasicInfo{};

  // A マイナンバーカード whose certificate has `status`, with card key `card_key`.
  static FakeCard MyNumberCard(core::card::CertificateStatus status, std::string card_key) {
    FakeCard c;
    core::card::CardInspection i;
    i.token = core::card::TokenKind::kMyNumberCard;
    core::card::CertificateSummary cert;
    cert.status = status;
    cert.chain_trusted = status != core::card::CertificateStatus::kUntrusted;
    cert.issuer = "CN=Test JPKI CA";
    cert.card_key = std::move(card_key);
    cert.der = {0x30, 0x03, 0x02, 0x01, 0x01};
    i.certificate = std::move(cert);
    c.inspection = std::move(i);
    return c;
  }
};

class FakeCardReaders final : public core::card::CardReaders {
 public:
  static constexpr int kMaxTries = 3;

  explicit FakeCardReaders(const core::Clock& clock) : clock_(clock), worker_([this] { Work(); }) {}
  ~FakeCardReaders() override {
    {
      std::lock_guard lock(work_mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    worker_.join();
  }
  FakeCardReaders(const FakeCardReaders&) = delete;
  FakeCardReaders& operator=(const FakeCardReaders&) = delete;

  // --- core::card::CardReaders ---

  bool ServiceAvailable() const override {
    std::lock_guard lock(mu_);
    return !degraded_;
  }

  std::vector<core::card::ReaderInfo> ListReaders() const override {
    std::lock_guard lock(mu_);
    std::vector<core::card::ReaderInfo> out;
    if (degraded_) return out;
    for (const auto& [name, r] : readers_) out.push_back({name, r.card.has_value(), r.last_error});
    return out;
  }

  int Watch(core::card::ReaderEventCallback callback) override {
    std::lock_guard lock(watch_mu_);
    const int id = next_watch_++;
    watchers_[id] = std::move(callback);
    return id;
  }

  void Unwatch(int watch_id) override {
    std::lock_guard lock(watch_mu_);  // waits for a dispatch in progress
    watchers_.erase(watch_id);
  }

  void InspectCard(const std::string& reader,
                   core::card::Completion<core::card::CardInspection> done) override {
    auto outcome = WithCard<core::card::CardInspection>(
        "InspectCard", reader, [](FakeCard& card) { return card.inspection; });
    Complete(std::move(done), std::move(outcome));
  }

  void GetPinStatus(const std::string& reader,
                    core::card::Completion<core::card::PinStatus> done) override {
    auto outcome = WithCard<core::card::PinStatus>(
        "GetPinStatus", reader, [](FakeCard& card) -> core::Result<core::card::PinStatus> {
          if (card.tries_left <= 0) return PinLocked();
          return core::card::PinStatus{card.tries_left, false};
        });
    Complete(std::move(done), std::move(outcome));
  }

  void VerifyPin(const std::string& reader, core::card::Pin pin, int reserve_tries,
                 core::card::Completion<core::card::PinStatus> done) override {
    const std::string digits = Digits(pin);
    auto outcome = WithCard<core::card::PinStatus>(
        "VerifyPin", reader, [&](FakeCard& card) -> core::Result<core::card::PinStatus> {
          if (card.tries_left <= 0) return PinLocked();
          if (card.tries_left <= reserve_tries) return PinAttemptReserved(card.tries_left);
          if (auto wrong = Check(digits, card.pin, card.tries_left)) return *wrong;
          return core::card::PinStatus{card.tries_left, false};
        });
    Complete(std::move(done), std::move(outcome));
  }

  void SignChallenge(const std::string& reader, core::card::Pin pin,
                     std::vector<std::uint8_t> challenge,
                     core::card::Completion<core::card::SignedChallenge> done) override {
    const std::string digits = Digits(pin);
    auto outcome = WithCard<core::card::SignedChallenge>(
        "SignChallenge", reader, [&](FakeCard& card) -> core::Result<core::card::SignedChallenge> {
          if (card.tries_left <= 0) return PinLocked();
          if (auto wrong = Check(digits, card.pin, card.tries_left)) return *wrong;
          if (card.signed_challenge) return *card.signed_challenge;
          if (!card.inspection.ok() || !card.inspection->certificate) {
            return Error(core::ErrorKind::kFailedPrecondition, "CARD_DATA_INVALID",
                         "the card has no certificate (test)");
          }
          core::card::SignedChallenge s;
          s.signature.assign(challenge.size() + 1, 0x5A);
          std::copy(challenge.begin(), challenge.end(), s.signature.begin() + 1);
          s.certificate = *card.inspection->certificate;
          return s;
        });
    Complete(std::move(done), std::move(outcome));
  }

  void ReadBasicInfo(const std::string& reader, core::card::Pin kenhojo_pin,
                     core::card::Completion<core::card::BasicInfo> done) override {
    const std::string digits = Digits(kenhojo_pin);
    auto outcome = WithCard<core::card::BasicInfo>(
        "ReadBasicInfo", reader, [&](FakeCard& card) -> core::Result<core::card::BasicInfo> {
          if (card.kenhojo_tries_left <= 0) return PinLocked();
          if (auto wrong = Check(digits, card.kenhojo_pin, card.kenhojo_tries_left)) return *wrong;
          return card.basic_info;
        });
    Complete(std::move(done), std::move(outcome));
  }

  // --- scripting (each reader event is reported to the watchers before the call returns) ---

  void AddReader(const std::string& name) {
    {
      std::lock_guard lock(mu_);
      readers_[name];
    }
    Emit(core::card::ReaderEventKind::kReaderAdded, name);
  }
  void RemoveReader(const std::string& name) {
    {
      std::lock_guard lock(mu_);
      readers_.erase(name);
    }
    Emit(core::card::ReaderEventKind::kReaderRemoved, name);
  }
  // Puts `card` on `reader` (added first when unknown).
  void InsertCard(const std::string& reader, FakeCard card) {
    bool added = false;
    {
      std::lock_guard lock(mu_);
      added = readers_.count(reader) == 0;
      readers_[reader].card = std::move(card);
    }
    if (added) Emit(core::card::ReaderEventKind::kReaderAdded, reader);
    Emit(core::card::ReaderEventKind::kCardInserted, reader);
  }
  void RemoveCard(const std::string& reader) {
    {
      std::lock_guard lock(mu_);
      auto it = readers_.find(reader);
      if (it == readers_.end()) return;
      it->second.card.reset();
    }
    Emit(core::card::ReaderEventKind::kCardRemoved, reader);
  }
  // The PC/SC service went away (ListReaders is empty) / came back (readers re-announced).
  void DegradeService(const std::string& reason = "PCSC_SERVICE_UNAVAILABLE") {
    {
      std::lock_guard lock(mu_);
      degraded_ = true;
    }
    Emit(core::card::ReaderEventKind::kServiceDegraded, "", reason);
  }
  void RecoverService() {
    std::vector<std::string> names;
    {
      std::lock_guard lock(mu_);
      degraded_ = false;
      for (const auto& [name, r] : readers_) names.push_back(name);
    }
    Emit(core::card::ReaderEventKind::kServiceRecovered, "");
    for (const auto& n : names) Emit(core::card::ReaderEventKind::kReaderAdded, n);
  }
  // The service is reachable or not from now on, with no event (see the header comment).
  void SetServiceAvailable(bool available) {
    std::lock_guard lock(mu_);
    degraded_ = !available;
  }
  // The next operation on `reader` fails with `error` (whatever the card would say).
  void FailNext(const std::string& reader, core::DomainError error) {
    std::lock_guard lock(mu_);
    failures_[reader].push_back(std::move(error));
  }
  // Changes the card on `reader` in place (e.g. its tries); false when there is none.
  bool UpdateCard(const std::string& reader, const std::function<void(FakeCard&)>& change) {
    std::lock_guard lock(mu_);
    auto it = readers_.find(reader);
    if (it == readers_.end() || !it->second.card) return false;
    change(*it->second.card);
    return true;
  }

  // --- observing ---

  // Operations asked for, in order: "InspectCard <reader>", "VerifyPin <reader>", ...
  std::vector<std::string> Calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Callbacks watching now (Watch'ed and not Unwatch'ed).
  int Watchers() const {
    std::lock_guard lock(watch_mu_);
    return static_cast<int>(watchers_.size());
  }
  // Waits (at most 10 s) until every completion asked for so far has run; false on time-out.
  bool Drain() {
    std::unique_lock lock(work_mu_);
    return work_cv_.wait_for(lock, std::chrono::seconds(10),
                             [this] { return queue_.empty() && !busy_; });
  }

 private:
  struct Reader {
    std::optional<FakeCard> card;
    std::string last_error;
  };

  static core::DomainError Error(core::ErrorKind kind, std::string reason, std::string message) {
    core::DomainError e;
    e.kind = kind;
    e.reason = std::move(reason);
    e.message = std::move(message);
    e.message_ja = "カードを読み取れません（テスト）。";
    return e;
  }
  static core::DomainError PinLocked() {
    return Error(core::ErrorKind::kFailedPrecondition, "PIN_LOCKED", "the PIN is locked (test)");
  }
  static core::DomainError PinAttemptReserved(int tries_left) {
    auto e = Error(core::ErrorKind::kFailedPrecondition, "PIN_ATTEMPT_RESERVED",
                   "PIN not sent: only " + std::to_string(tries_left) + " tries left (test)");
    e.metadata.emplace_back("tries_left", std::to_string(tries_left));
    return e;
  }
  // A wrong PIN costs a try: PIN_INCORRECT (PIN_LOCKED at 0). nullopt when `digits` is right
  // (the tries are restored).
  static std::optional<core::DomainError> Check(const std::string& digits,
                                                const std::string& expected, int& tries_left) {
    if (digits == expected) {
      tries_left = kMaxTries;
      return std::nullopt;
    }
    --tries_left;
    if (tries_left <= 0) return PinLocked();
    auto e = Error(core::ErrorKind::kFailedPrecondition, "PIN_INCORRECT",
                   "wrong PIN, " + std::to_string(tries_left) + " tries left (test)");
    e.metadata.emplace_back("tries_left", std::to_string(tries_left));
    return e;
  }
  static std::string Digits(const core::card::Pin& pin) {
    const auto bytes = pin.Bytes();
    return std::string(bytes.begin(), bytes.end());
  }

  // Runs `op` on the card of `reader` under the lock, or answers the reader's error.
  template <typename T, typename Op>
  core::Result<T> WithCard(const char* operation, const std::string& reader, Op op) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::string(operation) + " " + reader);
    auto it = readers_.find(reader);
    core::Result<T> out = [&]() -> core::Result<T> {
      if (degraded_) {
        return Error(core::ErrorKind::kUnavailable, "PCSC_SERVICE_UNAVAILABLE",
                     "the PC/SC service is unavailable (test)");
      }
      if (it == readers_.end()) {
        return Error(core::ErrorKind::kNotFound, "READER_NOT_FOUND", "no such reader: " + reader);
      }
      if (auto f = failures_.find(reader); f != failures_.end() && !f->second.empty()) {
        core::DomainError e = std::move(f->second.front());
        f->second.pop_front();
        return e;
      }
      if (!it->second.card) {
        return Error(core::ErrorKind::kFailedPrecondition, "NO_CARD", "no card on the reader");
      }
      return op(*it->second.card);
    }();
    if (it != readers_.end()) it->second.last_error = out.ok() ? "" : out.error().reason;
    return out;
  }
  template <typename T>
  void Complete(core::card::Completion<T> done, core::Result<T> outcome) {
    {
      std::lock_guard lock(work_mu_);
      queue_.push_back([done = std::move(done), outcome = std::move(outcome)]() mutable {
        done(std::move(outcome));
      });
    }
    work_cv_.notify_all();
  }
  void Work() {
    std::unique_lock lock(work_mu_);
    while (true) {
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything ran
      auto task = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      task();
      lock.lock();
      busy_ = false;
      work_cv_.notify_all();
    }
  }

  void Emit(core::card::ReaderEventKind kind, const std::string& reader,
            const std::string& reason = "") {
    core::card::ReaderEvent e{kind, reader, clock_.Now(), reason};
    std::lock_guard lock(watch_mu_);
    for (auto& [id, callback] : watchers_) callback(e);
  }

  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Reader> readers_;
  std::map<std::string, std::deque<core::DomainError>> failures_;
  std::vector<std::string> calls_;
  bool degraded_ = false;

  mutable std::mutex watch_mu_;  // held while events are dispatched
  std::map<int, core::card::ReaderEventCallback> watchers_;
  int next_watch_ = 1;

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;  // last: started once everything above is constructed
};

}  // namespace onshid::testing
