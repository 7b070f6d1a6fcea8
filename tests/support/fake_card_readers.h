#pragma once
// FakeCardReaders: a core::card::CardReaders without cards, for tests of what the daemon does
// with the readers' service state and events (header-only).
//
//   ServiceAvailable()  what SetServiceAvailable() last set (default false).
//   ListReaders()       the readers set with SetReaders().
//   Watch / Unwatch     keep the callbacks; Emit(event) calls every watching callback on the
//                       caller's thread, in the order they were registered; Watchers() counts them.
//   card operations     complete at once with READER_NOT_FOUND (kNotFound): no card is scripted.
// Thread-safe; Emit() calls the callbacks without holding the lock.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/card/card_readers.h"

namespace onshid::testing {

class FakeCardReaders final : public core::card::CardReaders {
 public:
  bool ServiceAvailable() const override {
    std::lock_guard lock(mu_);
    return available_;
  }
  std::vector<core::card::ReaderInfo> ListReaders() const override {
    std::lock_guard lock(mu_);
    return readers_;
  }
  int Watch(core::card::ReaderEventCallback callback) override {
    std::lock_guard lock(mu_);
    watchers_[++next_watch_] = std::move(callback);
    return next_watch_;
  }
  void Unwatch(int watch_id) override {
    std::lock_guard lock(mu_);
    watchers_.erase(watch_id);
  }

  void InspectCard(const std::string& reader,
                   core::card::Completion<core::card::CardInspection> done) override {
    done(NoReader(reader));
  }
  void GetPinStatus(const std::string& reader,
                    core::card::Completion<core::card::PinStatus> done) override {
    done(NoReader(reader));
  }
  void VerifyPin(const std::string& reader, core::card::Pin, int,
                 core::card::Completion<core::card::PinStatus> done) override {
    done(NoReader(reader));
  }
  void SignChallenge(const std::string& reader, core::card::Pin, std::vector<std::uint8_t>,
                     core::card::Completion<core::card::SignedChallenge> done) override {
    done(NoReader(reader));
  }
  void ReadBasicInfo(const std::string& reader, core::card::Pin,
                     core::card::Completion<core::card::BasicInfo> done) override {
    done(NoReader(reader));
  }

  void SetServiceAvailable(bool available) {
    std::lock_guard lock(mu_);
    available_ = available;
  }
  void SetReaders(std::vector<core::card::ReaderInfo> readers) {
    std::lock_guard lock(mu_);
    readers_ = std::move(readers);
  }
  void Emit(const core::card::ReaderEvent& event) {
    std::vector<core::card::ReaderEventCallback> callbacks;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, cb] : watchers_) callbacks.push_back(cb);
    }
    for (const auto& cb : callbacks) cb(event);
  }
  int Watchers() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(watchers_.size());
  }

 private:
  static core::DomainError NoReader(const std::string& reader) {
    core::DomainError e;
    e.kind = core::ErrorKind::kNotFound;
    e.reason = "READER_NOT_FOUND";
    e.message = "no reader " + reader + " (fake)";
    return e;
  }

  mutable std::mutex mu_;
  bool available_ = false;
  std::vector<core::card::ReaderInfo> readers_;
  std::map<int, core::card::ReaderEventCallback> watchers_;
  int next_watch_ = 0;
};

}  // namespace onshid::testing
