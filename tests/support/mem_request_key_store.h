#pragma once
// MemRequestKeyStore: an in-memory core::RequestKeyStore for tests (header-only, the standard
// library only). Passes the RequestKeyStore contract (tests/support/request_key_store_contract.h)
// like PgStore. Thread-safe: one mutex, so concurrent claims of one pair agree on one winner.
//
// Semantics follow PgStore (adapters/postgres/pg_request_keys.cc): the first claim of (client,
// request_id) is kept with its fingerprint and time; the first outcome recorded is kept;
// PurgeRequestKeys deletes the oldest claims (claimed_at < before) first, and nothing for a limit
// below 1.
//
// Test hooks: SetReachable(false) makes every call fail with DATABASE_UNAVAILABLE; Records() reads
// every stored record; PurgeCalls() lists the `before` of every PurgeRequestKeys call, in call
// order, failed ones included (to check when a scheduled purge ran and with which cut-off), and
// WaitForPurgeCalls() waits for a purge made on another thread (a background sweeper's).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/request_keys.h"
#include "core/store_errors.h"

namespace onshid::testing {

class MemRequestKeyStore final : public core::RequestKeyStore {
 public:
  core::Result<core::RequestKeyRecord> ClaimRequestKey(const core::RequestKey& key,
                                                       core::SystemTime at) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto [it, inserted] = records_.try_emplace({key.client, key.request_id});
    if (inserted) {
      it->second.key = key;
      it->second.claimed_at = at;
      it->second.seq = next_seq_++;
    }
    return it->second.record();
  }

  core::Status FinishRequestKey(const std::string& client, const std::string& request_id,
                                const core::RequestOutcome& outcome, core::SystemTime at) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = records_.find({client, request_id});
    if (it == records_.end()) {
      core::DomainError e;
      e.kind = core::ErrorKind::kNotFound;
      e.reason = "REQUEST_KEY_NOT_FOUND";
      e.message = "no request key for this client and request id";
      e.message_ja = "要求IDの記録が見つかりません。";
      return e;
    }
    if (!it->second.outcome) {
      it->second.outcome = outcome;
      it->second.finished_at = at;
    }
    return core::OkStatus();
  }

  core::Result<int> PurgeRequestKeys(core::SystemTime before, int limit) override {
    std::lock_guard lock(mu_);
    purge_calls_.push_back(before);
    purged_.notify_all();
    if (limit < 1) return 0;
    if (!reachable_) return Unreachable();
    std::vector<std::map<Key, Stored>::iterator> due;
    for (auto it = records_.begin(); it != records_.end(); ++it) {
      if (it->second.claimed_at < before) due.push_back(it);
    }
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
      if (a->second.claimed_at != b->second.claimed_at) {
        return a->second.claimed_at < b->second.claimed_at;
      }
      return a->second.seq < b->second.seq;
    });
    if (due.size() > static_cast<std::size_t>(limit)) due.resize(static_cast<std::size_t>(limit));
    for (auto it : due) records_.erase(it);
    return static_cast<int>(due.size());
  }

  // --- test hooks ---

  std::vector<core::RequestKeyRecord> Records() const {
    std::lock_guard lock(mu_);
    std::vector<core::RequestKeyRecord> out;
    for (const auto& [key, stored] : records_) out.push_back(stored.record());
    return out;
  }
  std::vector<core::SystemTime> PurgeCalls() const {
    std::lock_guard lock(mu_);
    return purge_calls_;
  }
  // True once PurgeRequestKeys was called at least `n` times, within `timeout`.
  bool WaitForPurgeCalls(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return purged_.wait_for(lock, timeout, [&] { return purge_calls_.size() >= n; });
  }
  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }

 private:
  using Key = std::pair<std::string, std::string>;  // (client, request_id)
  struct Stored {
    core::RequestKey key;
    core::SystemTime claimed_at{};
    std::optional<core::RequestOutcome> outcome;
    std::optional<core::SystemTime> finished_at;
    std::int64_t seq = 0;  // claim order, breaks ties of claimed_at
    core::RequestKeyRecord record() const { return {key, claimed_at, outcome, finished_at}; }
  };
  static core::DomainError Unreachable() {
    return core::DatabaseUnavailable("in-memory request key store set unreachable");
  }

  mutable std::mutex mu_;
  mutable std::condition_variable purged_;  // a purge call was recorded
  bool reachable_ = true;
  std::int64_t next_seq_ = 1;
  std::map<Key, Stored> records_;
  std::vector<core::SystemTime> purge_calls_;
};

}  // namespace onshid::testing
