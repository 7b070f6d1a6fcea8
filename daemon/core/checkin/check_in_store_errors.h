#pragma once
// Errors and checks every CheckInStore implementation shares (PgStore and the in-memory fake of
// tests/support), so that all return exactly the same reasons, messages and metadata.
// Header-only, the standard library only.

#include <string>

#include "core/checkin/check_in_store.h"
#include "core/error.h"

namespace onshid::core::checkin {

// The id or non-empty client_key of a new check-in is taken; `existing_id` names the check-in
// holding it (the caller's earlier attempt, when retrying).
inline DomainError CheckInExists(const std::string& existing_id) {
  DomainError e;
  e.kind = ErrorKind::kAlreadyExists;
  e.reason = "CHECKIN_EXISTS";
  e.message = "the check-in exists already";
  e.message_ja = "この受付は既に登録されています。";
  e.metadata = {{"check_in_id", existing_id}};
  return e;
}

// The result of a result link is linked to `holder_id` already (a result belongs to at most one
// check-in).
inline DomainError ResultAlreadyLinked(const std::string& holder_id) {
  DomainError e;
  e.kind = ErrorKind::kAlreadyExists;
  e.reason = "RESULT_ALREADY_LINKED";
  e.message = "the eligibility result is linked to a check-in already";
  e.message_ja = "この資格確認結果は既に受付に紐付けられています。";
  e.metadata = {{"check_in_id", holder_id}};
  return e;
}

inline DomainError CheckInNotFound(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kNotFound;
  e.reason = "CHECKIN_NOT_FOUND";
  e.message = "no such check-in";
  e.message_ja = "受付が見つかりません。";
  e.metadata = {{"check_in_id", id}};
  return e;
}

// Someone else wrote the check-in since it was read (kAborted: read it again and retry).
inline DomainError CheckInConcurrentUpdate(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kAborted;
  e.reason = "CHECKIN_CONCURRENT_UPDATE";
  e.message = "the check-in was changed by someone else in the meantime; read it again and retry";
  e.message_ja = "受付が他の操作で更新されました。最新の内容を確認してからやり直してください。";
  e.metadata = {{"check_in_id", id}};
  return e;
}

// Limit range of CheckInQuery, with the same reason and wording as the audit query's.
inline Status ValidateCheckInQuery(const CheckInQuery& query) {
  if (query.limit < 1 || query.limit > 1000) {
    return InvalidArgument("INVALID_LIMIT", "limit must be between 1 and 1000",
                           "取得件数は1〜1000の範囲で指定してください。",
                           {{"limit", "must be between 1 and 1000"}});
  }
  return OkStatus();
}

// Checks what the application must get right before a write; a failure is a bug (INTERNAL), not
// bad input. Attachments belong to `row`: a link may leave its check_in_id empty (the store fills
// in row.id) but must not name another check-in.
inline Status ValidateCheckInWrite(const CheckInRow& row, const Attachments& with, bool insert) {
  if (row.id.empty()) return Internal("check-in write without an id");
  if (insert && row.version != 1) return Internal("a new check-in must have version 1");
  if (with.result_link && !with.result_link->check_in_id.empty() &&
      with.result_link->check_in_id != row.id) {
    return Internal("a result link written with a check-in must name that check-in");
  }
  if (with.patient_link && !with.patient_link->check_in_id.empty() &&
      with.patient_link->check_in_id != row.id) {
    return Internal("a patient link written with a check-in must name that check-in");
  }
  return OkStatus();
}

}  // namespace onshid::core::checkin
