#pragma once
// Helpers shared by the PgStore source files. Internal to adapters/postgres.

#include <cstdint>
#include <pqxx/types>
#include <string>

#include "core/error.h"
#include "core/upstream.h"

namespace onshid::postgres {

// DATABASE_UNAVAILABLE for calls before Open() or after Close().
core::DomainError NotOpen();

// kNotFound "UPSTREAM_REQUEST_NOT_FOUND" for journal key `request_id`.
core::DomainError JournalEntryNotFound(const std::string& request_id);

// Within `txn`, moves journal entry `request_id` to `state` (kAnswered, kRejected or kAbandoned)
// at `at_micros` when core::UpstreamJournal::Complete allows it (from kJournalled, kWriting,
// kWritten, and from kAbandoned to a final state), dropping the request bytes when `state` is
// final. Returns true when the entry changed; false when it was past that point or is unknown.
bool CompleteJournalEntry(pqxx::transaction_base& txn, const std::string& request_id,
                          core::JournalState state, std::int64_t at_micros);

}  // namespace onshid::postgres
