#pragma once
// In-memory Store for unit tests of core logic and app use cases. Passes the same contract tests as
// PgStore (tests/unit/store_contract_test.cc). Thread-safe.

#include <mutex>
#include <vector>

#include "core/store.h"

namespace onshid::core {

class MemStore final : public Store {
 public:
  explicit MemStore(int schema_version = 0) : schema_version_(schema_version) {}

  Status Ping() override;
  Result<int> SchemaVersion() override;
  Result<std::int64_t> AppendAudit(const AuditRecord& record) override;
  Status FinishAudit(std::int64_t id, const std::string& outcome, const std::string& subject,
                     SystemTime at) override;
  Result<std::vector<AuditRecord>> ListAudit(const AuditQuery& query) override;

  // Test hook: makes every call fail with DATABASE_UNAVAILABLE until set back to true.
  void SetReachable(bool reachable);

 private:
  std::mutex mu_;
  int schema_version_;
  bool reachable_ = true;
  std::vector<AuditRecord> audit_;
};

// The error every Store returns when the database cannot be reached.
DomainError DatabaseUnavailable(const std::string& detail);

// Validates an AuditQuery (limit range); shared by every Store implementation.
Status ValidateAuditQuery(const AuditQuery& query);

}  // namespace onshid::core
