#include "core/mem_store.h"

#include <algorithm>

namespace onshid::core {

DomainError DatabaseUnavailable(const std::string& detail) {
  return Unavailable("DATABASE_UNAVAILABLE", "database unavailable: " + detail,
                     "データベースに接続できません。しばらく待ってから再度お試しください。"
                     "続く場合はシステム管理者に連絡してください。");
}

Status ValidateAuditQuery(const AuditQuery& query) {
  if (query.limit < 1 || query.limit > 1000) {
    return InvalidArgument("INVALID_LIMIT", "limit must be between 1 and 1000",
                           "取得件数は1〜1000の範囲で指定してください。",
                           {{"limit", "must be between 1 and 1000"}});
  }
  return OkStatus();
}

Status MemStore::Ping() {
  std::lock_guard lock(mu_);
  if (!reachable_) return DatabaseUnavailable("unreachable (test)");
  return OkStatus();
}

Result<int> MemStore::SchemaVersion() {
  std::lock_guard lock(mu_);
  if (!reachable_) return DatabaseUnavailable("unreachable (test)");
  return schema_version_;
}

Result<std::int64_t> MemStore::AppendAudit(const AuditRecord& record) {
  std::lock_guard lock(mu_);
  if (!reachable_) return DatabaseUnavailable("unreachable (test)");
  AuditRecord r = record;
  r.id = static_cast<std::int64_t>(audit_.size()) + 1;
  audit_.push_back(std::move(r));
  return audit_.back().id;
}

Status MemStore::FinishAudit(std::int64_t id, const std::string& outcome,
                             const std::string& subject, SystemTime at) {
  std::lock_guard lock(mu_);
  if (!reachable_) return DatabaseUnavailable("unreachable (test)");
  if (id < 1 || id > static_cast<std::int64_t>(audit_.size())) {
    DomainError e;
    e.kind = ErrorKind::kNotFound;
    e.reason = "AUDIT_RECORD_NOT_FOUND";
    e.message = "no audit record " + std::to_string(id);
    e.message_ja = "監査記録が見つかりません。";
    return e;
  }
  AuditRecord& r = audit_[static_cast<std::size_t>(id - 1)];
  r.outcome = outcome;
  r.subject = subject;
  r.at = at;
  return OkStatus();
}

Result<std::vector<AuditRecord>> MemStore::ListAudit(const AuditQuery& query) {
  if (auto v = ValidateAuditQuery(query); !v) return v.error();
  std::lock_guard lock(mu_);
  if (!reachable_) return DatabaseUnavailable("unreachable (test)");
  std::vector<AuditRecord> out;
  for (auto it = audit_.rbegin(); it != audit_.rend() && static_cast<int>(out.size()) < query.limit;
       ++it) {
    if (query.request_id && it->request_id != *query.request_id) continue;
    if (query.client && it->client != *query.client) continue;
    if (query.since && it->at < *query.since) continue;
    out.push_back(*it);
  }
  return out;
}

void MemStore::SetReachable(bool reachable) {
  std::lock_guard lock(mu_);
  reachable_ = reachable;
}

}  // namespace onshid::core
