#pragma once
// Upstream port: the 資格確認端末 (and behind it OQS). Implemented by adapters/oqs_folder
// (OqsFolderUpstream, the req/res/face shared-folder protocol) and by fakes in tests.
//
// The port moves whole messages. Building request XML and parsing results into domain values is
// the codec's job (adapters/oqs_folder/xml_codec.h); this interface is about delivery:
// journalling, writing, waiting, matching, and the unsolicited face feed.
//
// Threading: Submit() may be called from any thread and does not wait for the result. Handlers are
// called on the adapter's own thread(s), one call at a time per handler; they must not block for
// long (hand work to the application executor).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace onshid::core {

// A request the daemon wants the terminal to process.
struct UpstreamRequest {
  std::string request_id;    // the daemon's id for this request (UUID); journal key
  std::string message_type;  // file-name prefix without req/res, e.g. "OQSsiquc01", "OQSsiimm01"
  std::string kind;          // what it is for, e.g. "eligibility_query", "reference_number"
  std::string xml_utf8;      // the complete request document, UTF-8, with an XML declaration
                             // whose encoding the adapter rewrites when it writes Shift_JIS
  std::string arbitrary_file_identifier;  // as placed in MessageHeader; verified on the result
};

// What was journalled before a request file was written (rules of the house 6).
struct JournalEntry {
  std::string request_id;
  std::string message_type;
  std::string kind;
  std::string file_name;     // e.g. "OQSsiquc01req_202611210001.xml" (unique across restarts)
  std::string payload_sha256;
  std::string arbitrary_file_identifier;
  SystemTime journalled_at{};
  std::optional<SystemTime> completed_at;  // when the result (or rejection) was stored
};

// A file that arrived from the terminal: a result in res/, a rejection (.err) or a face file.
struct UpstreamFile {
  enum class Kind { kResult, kRejection, kFace };
  Kind kind = Kind::kResult;
  std::string file_name;
  std::string request_id;      // results and rejections: the journalled request; faces: ""
  std::string raw;             // bytes exactly as read
  std::string sha256;          // of raw, lower-case hex
  std::string xml_utf8;        // decoded per the XML declaration; "" for rejections
  std::string declared_encoding;  // "UTF-8" or "Shift_JIS" (as declared)
  std::string rejection_text;  // .err content (decoded), for kRejection
  SystemTime received_at{};
};

// Journal port (implemented over PostgreSQL and in memory). Thread-safe; blocking.
class UpstreamJournal {
 public:
  virtual ~UpstreamJournal() = default;
  // Reserves the next request-file sequence number; unique and increasing across restarts.
  virtual Result<std::int64_t> NextSequence() = 0;
  // Records the intent. Must be durable before the request file is written.
  virtual Status Record(const JournalEntry& entry) = 0;
  // Marks a request finished (its result or rejection is stored).
  virtual Status Complete(const std::string& request_id, SystemTime at) = 0;
  // Requests journalled but not completed, oldest first (waited for again after a restart).
  virtual Result<std::vector<JournalEntry>> Pending() = 0;
};

// What the adapter tells its owner. Each handler returns OK once the file's content is stored;
// only then does the adapter move the file to its archive (nothing is lost on a crash).
struct UpstreamHandlers {
  std::function<Status(const UpstreamFile&)> on_result;      // kResult and kRejection
  std::function<Status(const UpstreamFile&)> on_face;        // kFace
  // A file that could not be read or decoded was quarantined (reason in English, no personal data).
  std::function<void(const std::string& file_name, const std::string& reason)> on_quarantine;
};

class Upstream {
 public:
  virtual ~Upstream() = default;

  // Starts watching res/ and face/ and resumes waiting for journalled requests without a result.
  virtual Status Start(UpstreamHandlers handlers) = 0;
  virtual void Stop() = 0;

  // Journals the request, then writes it into req/ (temporary name + rename) as soon as fewer than
  // the configured maximum are in flight toward the terminal (FIFO queue). Returns the journal
  // entry once journalled. Errors: UPSTREAM_FOLDER_UNAVAILABLE (share not reachable),
  // UPSTREAM_QUEUE_FULL (queue bound reached), DATABASE_UNAVAILABLE (journal failed: nothing was
  // written).
  virtual Result<JournalEntry> Submit(const UpstreamRequest& request) = 0;
};

}  // namespace onshid::core
