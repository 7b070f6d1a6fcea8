#pragma once
// The append-only event log that every client stream replays (EventService.Subscribe, SSE).
//
// Guarantees every EventStore gives (README "Guarantees"):
//   - An event is written in the same transaction as the change it reports (the stores that write
//     changes take the events with them: check-ins, cases, results, journal completions); Append
//     is only for events that report nothing stored (an upstream state change, a reader event).
//   - Cursors are visible in commit order: once an event with cursor N is visible, every event
//     with a smaller cursor is visible too and no event with a smaller cursor can appear later. A
//     subscriber that processed N and asks for ListAfter(N) receives every later-committed event
//     exactly once, in cursor order — with any number of concurrent writers and daemons sharing
//     the database (schema/0006_integrity.sql explains the mechanism).
//
// Threading: every method may be called from any thread and blocks until the database answered.
// Errors: DATABASE_UNAVAILABLE (kUnavailable) when the database cannot be reached.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace onshid::core {

// One entry of the event log. Events carry ids and codes only; personal data is read through
// audited calls (GetResult).
struct Event {
  std::int64_t cursor = 0;  // assigned by the store at commit, strictly increasing in commit order
  SystemTime at{};
  std::string type;         // "face.received", "eligibility.result", "upstream.file_quarantined", ...
  std::int64_t result_id = 0;
  // The x-request-id exactly as the client sent it (never a daemon-internal key); "" when the
  // event was not caused by a client request.
  std::string request_id;
  std::string file_name;
  std::string detail;       // short English text, no personal data
  std::vector<std::pair<std::string, std::string>> attributes;  // codes (validity, ...)
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // Appends one event in a transaction of its own (for events that report nothing else stored).
  // Wakes subscribers (also in other daemons on the same database).
  virtual Status Append(const Event& event) = 0;
  // Committed events with cursor > `after`, oldest first, at most `limit`.
  virtual Result<std::vector<Event>> ListAfter(std::int64_t after, int limit) = 0;
  // Registers a callback run (on a store thread) whenever events may have been appended; returns
  // a handle for Unsubscribe. Callbacks must not block.
  virtual int Subscribe(std::function<void()> wake) = 0;
  virtual void Unsubscribe(int handle) = 0;
};

}  // namespace onshid::core
