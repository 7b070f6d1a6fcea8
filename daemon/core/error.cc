#include "core/error.h"

namespace onshid::core {

DomainError InvalidArgument(std::string reason, std::string message, std::string message_ja,
                            std::vector<FieldViolation> violations) {
  DomainError e;
  e.kind = ErrorKind::kInvalidArgument;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja = std::move(message_ja);
  e.field_violations = std::move(violations);
  return e;
}

DomainError Unavailable(std::string reason, std::string message, std::string message_ja) {
  DomainError e;
  e.kind = ErrorKind::kUnavailable;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja = std::move(message_ja);
  return e;
}

DomainError Internal(std::string message) {
  DomainError e;
  e.kind = ErrorKind::kInternal;
  e.reason = "INTERNAL";
  e.message = std::move(message);
  e.message_ja = "システム内部エラーが発生しました。システム管理者に連絡してください。";
  return e;
}

DomainError RequestIdReused(const std::string& request_id) {
  DomainError e;
  e.kind = ErrorKind::kAlreadyExists;
  e.reason = "REQUEST_ID_REUSED";
  e.message = "x-request-id \"" + request_id +
              "\" was used before by this client for a different request; nothing was done. "
              "Send a new id for a new request, and the same request for a retry";
  e.message_ja =
      "同じ要求IDで別の内容の処理が既に行われています。この操作は実行されていません。"
      "もう一度操作をやり直してください。";
  e.field_violations = {{"x-request-id", "already used for a different request"}};
  e.metadata = {{"request_id", request_id}};
  return e;
}

}  // namespace onshid::core
