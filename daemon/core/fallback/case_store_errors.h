#pragma once
// Errors and checks every FallbackCaseStore implementation shares (PgStore and the in-memory fake
// of tests/support), so that all return the same reasons and messages.
// Header-only, the standard library only.

#include <string>

#include "core/error.h"
#include "core/fallback/case_store.h"

namespace onshid::core::fallback {

inline DomainError CaseExists(const std::string& holder_id) {
  DomainError e;
  e.kind = ErrorKind::kAlreadyExists;
  e.reason = "CASE_EXISTS";
  e.message = "the fallback case exists already";
  e.message_ja = "この対応記録は既に登録されています。";
  e.metadata = {{"case_id", holder_id}};
  return e;
}

inline DomainError CaseNotFound(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kNotFound;
  e.reason = "CASE_NOT_FOUND";
  e.message = "no such fallback case";
  e.message_ja = "対応記録が見つかりません。";
  e.metadata = {{"case_id", id}};
  return e;
}

inline DomainError CaseConcurrentUpdate(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kAborted;
  e.reason = "CASE_CONCURRENT_UPDATE";
  e.message =
      "the fallback case was changed by someone else in the meantime; read it again and retry";
  e.message_ja = "対応記録が他の操作で更新されました。最新の内容を確認してからやり直してください。";
  e.metadata = {{"case_id", id}};
  return e;
}

inline Status ValidateLimit(int limit) {
  if (limit < 1 || limit > 1000) {
    return InvalidArgument("INVALID_LIMIT", "limit must be between 1 and 1000",
                           "取得件数は1〜1000の範囲で指定してください。",
                           {{"limit", "must be between 1 and 1000"}});
  }
  return OkStatus();
}

// What the application must get right before a write; a failure is a bug (INTERNAL).
inline Status ValidateCaseWrite(const CaseRow& row, const CaseWrite& with, bool insert) {
  if (row.id.empty()) return Internal("fallback case write without an id");
  if (insert && row.version != 1) return Internal("a new fallback case must have version 1");
  for (const auto& a : with.attempts) {
    if (!a.case_id.empty() && a.case_id != row.id) {
      return Internal("an attempt written with a case must name that case");
    }
  }
  for (const auto& t : with.tasks) {
    if (t.id.empty()) return Internal("a task without an id");
    if (!t.case_id.empty() && t.case_id != row.id) {
      return Internal("a task written with a case must name that case");
    }
  }
  return OkStatus();
}

}  // namespace onshid::core::fallback
