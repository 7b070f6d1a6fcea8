#pragma once
// MemStore: an in-memory core::Store (the audit log) for tests (header-only, the standard library
// only). Passes the same contract as PgStore (tests/support/store_contract.h, run by
// tests/unit/store_contract_test.cc). Thread-safe.
//
// Test hook: SetReachable(false) makes every call fail with DATABASE_UNAVAILABLE.

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/store.h"
#include "core/store_errors.h"

namespace onshid::testing {

class MemStore final : public core::Store {
 public:
  explicit MemStore(int schema_version = 0) : schema_version_(schema_version) {}

  core::Status Ping() override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    return core::OkStatus();
  }

  core::Result<int> SchemaVersion() override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    return schema_version_;
  }

  core::Result<std::int64_t> AppendAudit(const core::AuditRecord& record) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    core::AuditRecord r = record;
    r.id = static_cast<std::int64_t>(audit_.size()) + 1;
    audit_.push_back(std::move(r));
    return audit_.back().id;
  }

  core::Status FinishAudit(std::int64_t id, const std::string& outcome, const std::string& subject,
                           core::SystemTime at) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    if (id < 1 || id > static_cast<std::int64_t>(audit_.size())) {
      core::DomainError e;
      e.kind = core::ErrorKind::kNotFound;
      e.reason = "AUDIT_RECORD_NOT_FOUND";
      e.message = "no audit record " + std::to_string(id);
      e.message_ja = "監査記録が見つかりません。";
      return e;
    }
    core::AuditRecord& r = audit_[static_cast<std::size_t>(id - 1)];
    r.outcome = outcome;
    r.subject = subject;
    r.at = at;
    return core::OkStatus();
  }

  core::Result<std::vector<core::AuditRecord>> ListAudit(const core::AuditQuery& query) override {
    if (auto v = core::ValidateAuditQuery(query); !v) return v.error();
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<core::AuditRecord> out;
    for (auto it = audit_.rbegin();
         it != audit_.rend() && static_cast<int>(out.size()) < query.limit; ++it) {
      if (query.request_id && it->request_id != *query.request_id) continue;
      if (query.client && it->client != *query.client) continue;
      if (query.since && it->at < *query.since) continue;
      out.push_back(*it);
    }
    return out;
  }

  // Test hook: makes every call fail with DATABASE_UNAVAILABLE until set back to true.
  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }

 private:
  static core::DomainError Unreachable() { return core::DatabaseUnavailable("unreachable (test)"); }

  std::mutex mu_;
  int schema_version_;
  bool reachable_ = true;
  std::vector<core::AuditRecord> audit_;
};

}  // namespace onshid::testing
