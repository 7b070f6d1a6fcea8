#pragma once
// MemRequestKeyStore: an in-memory core::RequestKeyStore for tests (header-only).
//
// Follows core/request_keys.h: ClaimRequestKey keeps the first record of (client, request_id);
// FinishRequestKey records the first outcome (REQUEST_KEY_NOT_FOUND for an unknown pair);
// PurgeRequestKeys deletes up to `limit` records claimed before `before`, oldest claim first.
// Test helpers: Has(client, request_id), Size(), PurgeCalls() (the `before` of every purge call).
// SetReachable(false) makes every call fail with DATABASE_UNAVAILABLE. Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/mem_store.h"
#include "core/request_keys.h"

namespace onshid::testing {

class MemRequestKeyStore final : public core::RequestKeyStore {
 public:
  core::Result<core::RequestKeyRecord> ClaimRequestKey(const core::RequestKey& key,
                                                       core::SystemTime at) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return core::DatabaseUnavailable("request keys unreachable (test)");
    auto [it, inserted] = records_.try_emplace({key.client, key.request_id});
    if (inserted) {
      it->second.key = key;
      it->second.claimed_at = at;
    }
    return it->second;
  }

  core::Status FinishRequestKey(const std::string& client, const std::string& request_id,
                                const core::RequestOutcome& outcome,
                                core::SystemTime at) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return core::DatabaseUnavailable("request keys unreachable (test)");
    auto it = records_.find({client, request_id});
    if (it == records_.end()) {
      core::DomainError e;
      e.kind = core::ErrorKind::kNotFound;
      e.reason = "REQUEST_KEY_NOT_FOUND";
      e.message = "no such request key";
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
    if (!reachable_) return core::DatabaseUnavailable("request keys unreachable (test)");
    std::vector<std::pair<core::SystemTime, Key>> due;
    for (const auto& [k, r] : records_) {
      if (r.claimed_at < before) due.emplace_back(r.claimed_at, k);
    }
    std::sort(due.begin(), due.end());
    int n = 0;
    for (const auto& [at, k] : due) {
      if (n >= limit) break;
      records_.erase(k);
      ++n;
    }
    return n;
  }

  bool Has(const std::string& client, const std::string& request_id) const {
    std::lock_guard lock(mu_);
    return records_.count({client, request_id}) > 0;
  }
  std::size_t Size() const {
    std::lock_guard lock(mu_);
    return records_.size();
  }
  std::vector<core::SystemTime> PurgeCalls() const {
    std::lock_guard lock(mu_);
    return purge_calls_;
  }
  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }

 private:
  using Key = std::pair<std::string, std::string>;  // (client, request_id)
  mutable std::mutex mu_;
  std::map<Key, core::RequestKeyRecord> records_;
  std::vector<core::SystemTime> purge_calls_;
  bool reachable_ = true;
};

}  // namespace onshid::testing
