#pragma once
// The x-request-id every API answer carries (README, "Guarantees"). Light on purpose: the HTTP
// server and the gRPC call runner both use it.

#include <string>
#include <string_view>

#include "core/error.h"

namespace onshid::api {

// True when `candidate` is an acceptable x-request-id: 1–128 printable ASCII characters (no space).
// An unacceptable id is refused (INVALID_REQUEST_ID), never replaced.
bool ValidRequestId(std::string_view candidate);

// INVALID_ARGUMENT INVALID_REQUEST_ID: the client's x-request-id is not acceptable (it is refused,
// never replaced, so that a retry can rely on it).
core::DomainError InvalidRequestId();

// A new random id (UUID v4) for requests that came without one.
std::string NewRequestId();

}  // namespace onshid::api
