#include "core/store_errors.h"

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

}  // namespace onshid::core
