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

}  // namespace onshid::core
