#pragma once
// Errors and checks every Store implementation shares (PgStore and the in-memory fakes of
// tests/support), so that all return exactly the same reasons, messages and field names.

#include <string>

#include "core/error.h"
#include "core/store.h"

namespace onshid::core {

// The error every store returns when the database cannot be reached (DATABASE_UNAVAILABLE,
// kUnavailable); `detail` is English, without personal data.
DomainError DatabaseUnavailable(const std::string& detail);

// Validates an AuditQuery (limit 1..1000: INVALID_LIMIT naming "limit").
Status ValidateAuditQuery(const AuditQuery& query);

}  // namespace onshid::core
