#pragma once
// Upstream port: the 資格確認端末 (and behind it OQS). Implemented by adapters/oqs_folder
// (OqsFolderUpstream, the req/res/face shared-folder protocol) and by fakes in tests.
//
// The port moves whole messages. Building request XML and parsing results into domain values is
// the codec's job (adapters/oqs_folder/xml_codec.h); this interface is about delivery:
// journalling, writing, waiting, matching, and the unsolicited face feed.
//
// Threading: Submit() and Status() may be called from any thread; Submit() does not wait for the
// result. Handlers are called on the adapter's own thread(s), one call at a time per handler; they
// must not block for long (hand work to the application executor).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/event.h"

namespace onshid::core {

// A request the daemon wants the terminal to process.
struct UpstreamRequest {
  // The daemon's key for this request; unique, the journal's primary key. Internal: derived from
  // the client's identity and x-request-id, or from a check-in; never shown to clients.
  std::string request_id;
  // The x-request-id exactly as the client sent it ("" when no client request caused it). Copied
  // to the stored result and its events.
  std::string client_request_id;
  std::string message_type;  // file-name prefix without req/res, e.g. "OQSsiquc01", "OQSsiimm01"
  std::string kind;          // what it is for, e.g. "eligibility_query", "reference_number"
  std::string xml_utf8;      // the complete request document, UTF-8, with an XML declaration
                             // whose encoding the adapter rewrites when it writes Shift_JIS
  std::string arbitrary_file_identifier;  // as placed in MessageHeader; verified on the result
};

// Where a journalled request is in its life (rules of the house 6). Moves only forward:
//   kJournalled → kWriting → kWritten → kAnswered | kRejected
//   any non-final state → kAbandoned (no answer in time) → kAnswered | kRejected (a late answer)
//   kJournalled → kRejected (never written: a result of the same name existed)
enum class JournalState {
  kJournalled,  // intent recorded; nothing visible in req/ (a temp file of ours may exist)
  kWriting,     // about to be renamed into req/: it may be there, or consumed by the terminal
  kWritten,     // renamed into req/ and the directory synced: the answer is awaited
  kAnswered,    // its result is stored (or its answer, which the codec could not read, is kept
                // in quarantine)
  kRejected,    // the terminal refused it (.err), or it was never written
  kAbandoned,   // no answer within the answer time-out: its in-flight slot is released; a late
                // answer is still accepted
};
// "JOURNALLED", "WRITING", "WRITTEN", "ANSWERED", "REJECTED", "ABANDONED".
const char* ToString(JournalState state);
std::optional<JournalState> JournalStateFromString(std::string_view name);
// kAnswered and kRejected: nothing more will happen to the request.
bool IsFinal(JournalState state);

// What was journalled before a request file was written.
struct JournalEntry {
  std::string request_id;         // the journal key (UpstreamRequest::request_id)
  std::string client_request_id;  // UpstreamRequest::client_request_id
  // The daemon instance that journalled it: only that instance writes it and recovers it after a
  // restart (several daemons may share one database, each with its own terminal folder).
  std::string instance_id;
  std::string message_type;
  std::string kind;
  std::string file_name;     // e.g. "OQSsiquc01req_202611210001.xml" (unique across restarts and
                             // daemons: the sequence comes from the database)
  std::string payload_sha256;
  // The request file's bytes exactly as they are (to be) written, so that a request journalled but
  // not written before a crash is written after the restart. Kept only until the request is
  // final (cleared with kAnswered / kRejected); personal data: never logged.
  std::string payload;
  std::string arbitrary_file_identifier;
  JournalState state = JournalState::kJournalled;
  SystemTime journalled_at{};
  std::optional<SystemTime> written_at;    // when it reached kWritten
  std::optional<SystemTime> completed_at;  // when it reached kAnswered, kRejected or kAbandoned
};

// Journal port (implemented over PostgreSQL and in memory). Thread-safe; blocking.
class UpstreamJournal {
 public:
  virtual ~UpstreamJournal() = default;
  // Reserves the next request-file sequence number; unique and increasing across restarts and
  // across every daemon on the database.
  virtual Result<std::int64_t> NextSequence() = 0;
  // Records the intent (state kJournalled). Durable before the request file is written.
  // Errors: UPSTREAM_REQUEST_EXISTS (kAlreadyExists) when the key is journalled already.
  virtual Status Record(const JournalEntry& entry) = 0;
  // Moves a request forward to kWriting or kWritten (kWritten also sets written_at = `at`). A
  // request already at or past `state` — kAbandoned, kAnswered and kRejected are past kWritten — is
  // left as it is (OK). Errors: UPSTREAM_REQUEST_NOT_FOUND.
  virtual Status Advance(const std::string& request_id, JournalState state, SystemTime at) = 0;
  // Moves a request to kAnswered, kRejected or kAbandoned and appends `events` in the same
  // transaction. Allowed from kJournalled, kWriting and kWritten, and from kAbandoned to kAnswered
  // or kRejected; otherwise (already answered or rejected, or abandoned again) nothing changes and
  // no event is written (OK). Errors: UPSTREAM_REQUEST_NOT_FOUND (kNotFound).
  virtual Status Complete(const std::string& request_id, JournalState state, SystemTime at,
                          const std::vector<Event>& events) = 0;
  // The entry of a key, if journalled.
  virtual Result<std::optional<JournalEntry>> Get(const std::string& request_id) = 0;
  // What `instance_id` must look at after a restart, oldest first: its entries not final
  // (kJournalled, kWriting, kWritten), and its entries completed (kAbandoned, kAnswered,
  // kRejected) at or after `completed_since` — abandoned ones are still matched to a late answer,
  // answered and rejected ones have their answer files archived if a crash left them behind.
  // Entries journalled before owners were recorded (instance "") are adopted by the first
  // instance that asks; they have no payload (they may have been written) and are never written.
  virtual Result<std::vector<JournalEntry>> Recoverable(const std::string& instance_id,
                                                        SystemTime completed_since) = 0;
};

// A file that arrived from the terminal: a result in res/, a rejection (.err) or a face file.
struct UpstreamFile {
  enum class Kind { kResult, kRejection, kFace };
  Kind kind = Kind::kResult;
  std::string file_name;
  std::string request_id;         // results and rejections: the journal key; faces: ""
  std::string client_request_id;  // results and rejections: the journal entry's; faces: ""
  std::string raw;             // bytes exactly as read
  std::string sha256;          // of raw, lower-case hex
  std::string xml_utf8;        // decoded per the XML declaration; "" for rejections
  std::string declared_encoding;  // "UTF-8" or "Shift_JIS" (as declared)
  std::string rejection_text;  // .err content (decoded), for kRejection
  SystemTime received_at{};
};

// What the adapter tells its owner. Each handler returns OK once the file's content is stored —
// for on_result, together with the journal entry's completion (kAnswered or kRejected) and the
// events that report it, in one transaction; only then does the adapter move the file to its
// archive (nothing is lost on a crash, and a file read again after a crash must be recognised by
// its name and stored once).
struct UpstreamHandlers {
  std::function<Status(const UpstreamFile&)> on_result;      // kResult and kRejection
  std::function<Status(const UpstreamFile&)> on_face;        // kFace
  // A file that could not be read or decoded was quarantined (reason in English, no personal data).
  // `request_id` is the journal key when the file answered one of our requests (that request is
  // still awaited, without holding an in-flight slot), else "".
  std::function<void(const std::string& file_name, const std::string& request_id,
                     const std::string& reason)>
      on_quarantine;
};

// A request written to the terminal that was abandoned (no answer within the answer time-out) and
// has not been answered since (a late answer is still accepted).
struct UnansweredRequest {
  std::string file_name;
  std::string request_id;         // the journal key
  std::string client_request_id;  // x-request-id as the client sent it ("" when none)
  SystemTime written_at{};
  SystemTime abandoned_at{};
};

// What the upstream can say about its own health right now (for the status board and for
// scheduling background traffic behind real-time traffic). No personal data.
struct UpstreamStatus {
  // The terminal's folders (req/, res/, face/) exist and are readable and writable.
  bool folder_reachable = false;
  // Set when not reachable: UPSTREAM_FOLDER_UNAVAILABLE (kUnavailable) with a message for staff.
  std::optional<DomainError> folder_error;
  // Age of the oldest request file the terminal has not consumed yet (none: nothing waits in
  // req/). When this keeps growing, the terminal's 連携アプリ is not running.
  std::optional<std::chrono::seconds> oldest_request_age;
  std::optional<SystemTime> last_face_at;  // when the last face file was delivered
  // Requests holding an in-flight slot: being written, or written and not answered, not
  // quarantined and not abandoned yet.
  int in_flight = 0;
  int queued = 0;               // journalled, waiting to be written (recovered ones included)
  bool inotify_active = false;  // false: polling only (normal on network shares)
  // Abandoned requests not answered yet (still matched to a late answer), oldest written first.
  std::vector<UnansweredRequest> unanswered;
};

class Upstream {
 public:
  virtual ~Upstream() = default;

  // Recovers this instance's journal (see UpstreamJournal::Recoverable), starts watching res/ and
  // face/ and writing queued requests.
  // (Qualified: the member Status() below hides the type inside this class.)
  virtual core::Status Start(UpstreamHandlers handlers) = 0;
  virtual void Stop() = 0;

  // Journals the request, then writes it into req/ (temporary name + rename) as soon as fewer than
  // the configured maximum are in flight toward the terminal (FIFO queue). Returns the journal
  // entry once journalled. Errors: UPSTREAM_FOLDER_UNAVAILABLE (share not reachable),
  // UPSTREAM_QUEUE_FULL (queue bound reached), DATABASE_UNAVAILABLE (journal failed: nothing was
  // written).
  virtual Result<JournalEntry> Submit(const UpstreamRequest& request) = 0;

  // The upstream's health now. May look at the terminal's folders (blocking briefly on a slow
  // share), so call it from a background thread, never from a gRPC reactor. Any thread, any time
  // (also before Start() and after Stop()); never fails: an unreachable terminal is reported in
  // the status.
  virtual UpstreamStatus Status() const = 0;
};

}  // namespace onshid::core
