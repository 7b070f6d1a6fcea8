#pragma once
// Domain errors: expected failures are values (rules of the house 4 and 5).
//
// Every error a clinic can meet carries a stable reason code (never renamed once released), a short
// Japanese message a reception clerk can act on, an English message for IT staff, and — for bad
// input — the fields that are wrong. daemon/api/status_mapping.cc is the only place that turns these
// into gRPC / HTTP statuses.

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace onshid::core {

// The broad class of a failure; decides the gRPC code and HTTP status.
enum class ErrorKind {
  kInvalidArgument,     // the caller sent something wrong; fix the request
  kFailedPrecondition,  // the request is well formed but not allowed in the current state
  kNotFound,
  kAlreadyExists,
  kUnauthenticated,     // no or unknown credentials
  kPermissionDenied,    // known caller without the needed scope
  kUnavailable,         // a dependency (database, terminal, reader) is down; retry later
  kDeadlineExceeded,    // the caller's deadline passed; the outcome may still arrive
  kResourceExhausted,   // limits (queue full, body too large)
  kCancelled,
  kAborted,             // a concurrent change won (optimistic concurrency); read again and retry
  kInternal,            // a bug or unexpected state; the message says what to report
};

// A field that failed validation, named by its path in the request ("patient.birth_date").
struct FieldViolation {
  std::string field;
  std::string description;
};

// A link to documentation that helps resolve the error.
struct HelpLink {
  std::string description;
  std::string url;
};

struct DomainError {
  ErrorKind kind = ErrorKind::kInternal;
  // Stable, UPPER_SNAKE_CASE, e.g. "DATABASE_UNAVAILABLE". Clients may switch on it.
  std::string reason;
  // For IT staff and logs. Must not contain personal data.
  std::string message;
  // For reception staff (ja-JP). Short and actionable.
  std::string message_ja;
  std::vector<FieldViolation> field_violations;
  std::vector<HelpLink> help;
  // Extra machine-readable key/values for ErrorInfo.metadata (no personal data).
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Builders for the common shapes, so call sites stay short.
DomainError InvalidArgument(std::string reason, std::string message, std::string message_ja,
                            std::vector<FieldViolation> violations = {});
DomainError Unavailable(std::string reason, std::string message, std::string message_ja);
DomainError Internal(std::string message);
// ALREADY_EXISTS REQUEST_ID_REUSED: the client used `request_id` (its x-request-id, as sent)
// before for a different request; nothing was done.
DomainError RequestIdReused(const std::string& request_id);

// Result<T>: either a value or a DomainError. Minimal on purpose (std::expected is C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                // NOLINT(google-explicit-constructor)
  Result(DomainError error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const DomainError& error() const { return std::get<DomainError>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, DomainError> v_;
};

// For operations that return nothing on success.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace onshid::core
