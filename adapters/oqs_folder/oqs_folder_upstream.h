#pragma once
// OqsFolderUpstream: the core::Upstream port over the 資格確認端末's shared folders req/, res/ and
// face/ (OQS-INTERFACE.md §0, §2, §6).
//
// Requests: Submit() journals the intent (UpstreamJournal::Record, state JOURNALLED, with this
// daemon's instance_id, the client's request id and the exact bytes to write) before anything is
// written, then queues the request FIFO. A writer thread writes queued requests into req/ while
// fewer than max_in_flight hold an in-flight slot. File names are
//   <message_type>req_<yyyyMMdd (Japan date)><sequence, zero-padded to at least 4 digits>.xml
// with the sequence from UpstreamJournal::NextSequence(), so names never repeat across restarts
// or daemons. Each write walks the journal states, so that a restart can tell what happened:
//   1. temp file req/.onshid-<file_name>.tmp written and fsynced (hidden: the terminal ignores it);
//   2. Advance(WRITING) — if that fails, the temp file is removed and the request retried with
//      backoff: nothing visible was written;
//   3. rename into req/<file_name> (RENAME_NOREPLACE: never replaces a file) and directory fsync —
//      if the rename fails the temp file is kept: it is the proof that the rename did not happen;
//   4. Advance(WRITTEN) (written_at = the Clock time of the rename) — if that fails the request is
//      awaited anyway (it is in req/) and the record is retried by the scans; never written again.
// Results are matched only for requests that may be in req/ (from step 3 on). A request whose
// name, or an answer of its name, already exists is not written (kRejected): it is reported through
// on_result as a kRejection whose rejection_text starts with "onshid:".
//
// Recovery: Start() asks Recoverable(instance_id, now - late_answer_window) — this daemon's entries
// only (several daemons may share one database, each with its own terminal folder) — and decides
// per state, in journal order, before any new submission is written:
//   JOURNALLED  our temp file, if any, is removed (it never was a request the terminal could see:
//               WRITING is recorded before every rename); if the request or an answer to it exists
//               anyway it is recorded WRITTEN and awaited, else it is written from the journalled
//               payload (queued ahead of new submissions).
//   WRITING     our temp file still there: the rename did not happen — it is finished (the temp
//               file is rewritten first when its bytes differ from the payload) and WRITTEN
//               recorded. Otherwise it was renamed (still in req/, answered in res/, or consumed by
//               the terminal): recorded WRITTEN (written_at = now) and awaited, never written
//               again.
//   WRITTEN     awaited, holding a slot until answer_timeout after written_at.
//   ABANDONED   awaited without a slot: a late answer is still delivered.
//   ANSWERED, REJECTED (completed within late_answer_window, and written): their answer files still
//               in res/ (result, .err, the request moved beside it) are archived without being
//               delivered again — a crash came between storing and archiving.
// A JOURNALLED or WRITING entry without a usable payload (empty — journalled before payloads were
// kept, by a daemon that may have written it — or not matching payload_sha256) is never written:
// it is recorded WRITTEN and awaited. Nothing in the folders that is not in this instance's journal
// (other software's files and temp files, other daemons' requests) is ever touched. Folders
// unreachable at Start(): the writer takes the same decisions when they are back.
//
// Abandonment: a WRITTEN request without an answer for answer_timeout (Clock, from written_at) is
// completed ABANDONED with an "upstream.request_abandoned" event (request_id = the client's request
// id, file_name, attribute journal_state) and releases its slot; Status().unanswered lists it. It
// is still matched to a late answer until late_answer_window after it was abandoned (the answer is
// delivered and the entry completed ANSWERED/REJECTED); afterwards files of its name are left
// alone. Requests still queued or being written are never abandoned.
//
// Results: res/<type>res_<suffix>.<ext> is matched to the outstanding request
// <type>req_<suffix>.xml by name and, for XML, verified by ArbitraryFileIdentifier (mismatch →
// quarantine; on_quarantine gets the journal key, and the request stays awaited without a slot). It
// is delivered with the entry's client_request_id. A rejection is res/<request base name>.err (the
// terminal may also move the request itself into res/); it is delivered as kRejection with the
// decoded .err text. Files in res/ that match no journalled request belong to other software and
// are never touched.
//
// Face feed: the adapter is the single consumer of face/. Every stable file is delivered to
// on_face; only after the handler returns OK is it (optionally copied to face_mirror_dir, then)
// moved to archive_dir/<yyyyMMdd>/. A result is likewise archived only after on_result returns OK
// (the handler stores it and completes the journal entry in one transaction); the adapter then
// calls Complete(ANSWERED or REJECTED) itself as an idempotent safety net (a no-op when the handler
// did it; when it fails only the completion is retried, the file is not delivered again). On a
// handler error the file stays and is retried with backoff, so a handler may see the same file more
// than once (recognise duplicates by name/sha256). A failed archive move is retried by later scans
// without delivering the file again.
//
// Stability: a file is read only after its size and mtime were identical in `stable_checks`
// consecutive observations and, for XML, it decodes and is well-formed (the root element closed).
// A file that stays undecodable or malformed for `malformed_checks` observations and at least
// `malformed_grace` is moved to quarantine_dir with <name>.reason.txt, and on_quarantine is called.
// Observations happen on inotify events (IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE) and, always, every
// poll_interval (inotify does not fire on network shares).
//
// Threading: Submit() and Status() from any thread. Handlers run on the watcher thread, one call at
// a time. Start()/Stop() from the owning thread; Stop() wakes both threads at once and joins them
// (a handler call in progress finishes first). Logs carry request ids and file names, never XML.
//
// Failpoints (failpoint/failpoint.h) at the durable steps: journal.after_record (Submit),
// request.after_temp, request.after_rename, request.after_written (writer steps 1, 3, 4),
// result.after_store (a result or rejection stored, still in res/), face.after_store (a face file
// stored, still in face/), archive.after_move (a file moved into the archive).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/upstream.h"
#include "oqs_folder/encoding.h"
#include "oqs_folder/folder_watcher.h"

namespace onshid::oqs_folder {

struct OqsFolderOptions {
  // The folder that CONTAINS req/, res/ and face/ (local path or a mounted share, e.g. the
  // terminal's \\SIKAKUPC\OQS mounted at /mnt/oqs). Not created by the adapter.
  std::filesystem::path folder;
  // This daemon instance's id (required: Start() and Submit() fail when empty). Written into every
  // journal entry; Start() recovers only this instance's entries, so daemons sharing one database
  // (each with its own terminal folder) never write, await or archive each other's requests. Must
  // stay the same across restarts of one daemon.
  std::string instance_id;
  // Encoding of request files: kUtf8 (written as is) or kShiftJis (converted to CP932, the XML
  // declaration's encoding set to "Shift_JIS"). Received files are decoded per their declaration.
  Encoding encoding = Encoding::kUtf8;
  // Requests written to req/ whose result has not arrived yet (the terminal serves at most 20
  // sessions for all software together).
  int max_in_flight = 10;
  // Requests journalled but not yet written; Submit() fails with UPSTREAM_QUEUE_FULL beyond this.
  int max_queued = 1000;
  // Daemon state subfolders; created by Start(). Processed files go to archive_dir/<yyyyMMdd>/,
  // unreadable ones to quarantine_dir/ beside a <name>.reason.txt.
  std::filesystem::path archive_dir;
  std::filesystem::path quarantine_dir;
  // Optional: every delivered face file is re-emitted here (temp + rename) for legacy software.
  // Empty: no mirror. Created by Start() when set.
  std::filesystem::path face_mirror_dir;
  // Polling fallback; runs in addition to inotify.
  std::chrono::milliseconds poll_interval{1000};
  // Quicker re-observation while a file is still changing (must be <= poll_interval to matter).
  std::chrono::milliseconds settle_delay{100};
  // Identical size+mtime observations needed before a file is read (>= 2).
  int stable_checks = 2;
  // Identical observations (and minimum unchanged time) after which a file that still does not
  // decode or is not well-formed XML is quarantined, rather than taken for one still being written.
  int malformed_checks = 3;
  std::chrono::milliseconds malformed_grace{10000};
  // A written request without an answer holds its in-flight slot this long, measured with the
  // Clock from its written_at; then it is abandoned (journal kAbandoned, event
  // upstream.request_abandoned) and its slot released.
  std::chrono::seconds answer_timeout{300};
  // An abandoned request is still matched to a late answer this long after it was abandoned;
  // afterwards files named like its answer are no longer ours and are left alone.
  std::chrono::seconds late_answer_window{86400};
  // Upper bound of the retry backoff after a handler error or a failed write/move.
  std::chrono::milliseconds max_retry_backoff{60000};
};

// The port's health types under the adapter's earlier names (see core::UpstreamStatus for each
// field). For this adapter: folder_reachable checks that req/, res/ and face/ exist and are
// readable and writable; oldest_request_age is measured with the Clock from the request's
// written_at (for one found in req/ at a restart without a WRITTEN record: from the restart), and
// for other software's files in req/ from their mtime; unanswered lists the requests abandoned
// after answer_timeout until they are answered late or late_answer_window ends.
using OqsUnansweredRequest = core::UnansweredRequest;
using OqsFolderHealth = core::UpstreamStatus;

class OqsFolderUpstream final : public core::Upstream {
 public:
  using Options = OqsFolderOptions;

  // `clock` and `journal` must outlive this object. No I/O happens here.
  OqsFolderUpstream(Options options, core::Clock& clock, core::UpstreamJournal& journal);
  ~OqsFolderUpstream() override;  // Stop()s

  OqsFolderUpstream(const OqsFolderUpstream&) = delete;
  OqsFolderUpstream& operator=(const OqsFolderUpstream&) = delete;

  // Creates archive/quarantine/mirror dirs, recovers this instance's journal entries (see
  // "Recovery" above) and starts the writer and watcher threads. An unreachable terminal folder is
  // not an error here (it is reported by Status() and retried). Errors:
  // UPSTREAM_INSTANCE_ID_MISSING (FAILED_PRECONDITION: options.instance_id is empty), the journal's
  // error (e.g. DATABASE_UNAVAILABLE), UPSTREAM_STATE_DIR_UNAVAILABLE (cannot create a state dir),
  // INTERNAL. Calling Start() while started is FAILED_PRECONDITION (UPSTREAM_ALREADY_STARTED).
  core::Status Start(core::UpstreamHandlers handlers) override;

  // Stops and joins both threads (a write in progress finishes its step first). Queued requests
  // stay queued in this object (written after its next Start()); a new object over the same journal
  // (a restart) recovers them from the journal and writes what was journalled but never written,
  // exactly once. Idempotent.
  void Stop() override;

  // See core::Upstream. Additional errors: INVALID_UPSTREAM_REQUEST (message_type not
  // alphanumeric, or empty request_id/xml), REQUEST_NOT_ENCODABLE (text not representable in
  // Shift_JIS/CP932 when that encoding is configured), UPSTREAM_INSTANCE_ID_MISSING. The entry
  // returned carries the payload (the bytes written) and its payload_sha256. May be called before
  // Start(); the request is then written once started.
  core::Result<core::JournalEntry> Submit(const core::UpstreamRequest& request) override;

  // See core::Upstream. Checks the folder and lists req/ (may block briefly on a slow share).
  // Thread-safe.
  core::UpstreamStatus Status() const override;
  // The same as Status() (the adapter's earlier name, kept for its tests).
  OqsFolderHealth Health() const { return Status(); }

  // Diagnostics and tests: number of completed scans of res/ and face/, and a wait until at least
  // `count` scans completed (false on timeout or when stopped).
  std::uint64_t CompletedScans() const;
  bool WaitForScans(std::uint64_t count, std::chrono::milliseconds timeout) const;

 private:
  // A request waiting to be written (FIFO).
  struct Queued {
    core::JournalEntry entry;  // payload: the bytes to write
    // The journal says kWriting: the rename may have happened. Our temp file still being there is
    // then the only proof that it did not; without it the request is taken as written.
    bool writing = false;
    // Recovered from the journal, or WRITING recorded by an earlier attempt: a request or answer
    // of its name already in the folders is taken as ours (written), not as a name conflict.
    bool may_be_visible = false;
  };
  struct Outstanding {
    core::JournalEntry entry;  // without the payload
    bool counts = true;        // holds an in-flight slot
    // May be in req/ (renamed by us, or recovered as possibly written): results are matched only
    // for these, never for a request still being written.
    bool awaiting = false;
    bool written_recorded = true;   // kWritten is in the journal (false: Advance failed; retried)
    bool abandoned = false;         // kAbandoned is in the journal
    bool answer_stored = false;     // the handler stored its answer; completion/archive pending
    core::SystemTime written_at{};  // Clock time of the rename (or of the recovery that found it)
    core::SystemTime abandoned_at{};
  };
  // Per observed file (watcher thread only).
  struct Observation {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime{};
    int checks = 0;  // consecutive identical observations
    std::chrono::steady_clock::time_point unchanged_since{};
    std::chrono::steady_clock::time_point next_attempt{};
    int failures = 0;
    bool failure_logged = false;
    bool seen = false;  // in the current scan
  };
  enum class ReadOutcome { kNotReady, kReady, kQuarantined };
  struct ReadFile {
    std::string raw;
    std::string xml_utf8;
    std::string declared_encoding;
  };
  // What a recovered entry needs (decided from the folders, before the threads start).
  enum class Recovery { kWrite, kFinishWriting, kAwait, kAwaitFound, kAwaitAbandoned, kCleanUp };

  void WriterLoop();
  // kAlreadyThere: not written now because it may have been written before (taken as written).
  enum class WriteOutcome { kWritten, kAlreadyThere, kConflict, kFailed };
  WriteOutcome WriteRequest(Queued& item, core::SystemTime* written_at, bool* recorded,
                            std::string* error);
  Recovery Decide(const core::JournalEntry& entry);
  // Whether the request `req_name` is in req/ or an answer to it (result, .err or the request moved
  // by the terminal) is in res/; nullopt with `error` set when the folders cannot be read.
  std::optional<bool> RequestOrAnswerPresent(const std::string& req_name, std::string* error) const;
  std::filesystem::path TempPath(const std::string& req_name) const;
  bool Known(const std::string& key) const;  // mu_ held: queued, outstanding or conflicted here

  bool Scan();  // watcher callback; true: re-observe soon
  void ScanResults(bool* soon);
  void ScanFaces(bool* soon);
  void RecordWritten();    // retries Advance(kWritten) that failed
  void TimeOutRequests();  // answer_timeout → kAbandoned; late_answer_window → forgotten
  void DeliverConflicts();
  void HandleResult(const std::filesystem::path& path, const std::string& key, bool* soon);
  void HandleRejection(const std::filesystem::path& path, const std::string& key, bool* soon);
  // An answer file of `entry` (a result or a rejection) as the handler gets it.
  static core::UpstreamFile AnswerFile(core::UpstreamFile::Kind kind,
                                       const std::filesystem::path& path,
                                       const core::JournalEntry& entry, std::string raw,
                                       core::SystemTime at);
  // Hands an answer of the outstanding request `key` to on_result and marks it stored; false (and
  // retried with backoff) when the handler failed. `what` names the step in the log.
  bool DeliverAnswer(const std::filesystem::path& path, const std::string& key,
                     const core::UpstreamFile& f, const char* what);
  void HandleFace(const std::filesystem::path& path, bool* soon);
  void CleanUpLeftover(const std::filesystem::path& path, const std::string& key);

  // Observes `path`; true when it has been stable for stable_checks observations.
  bool Observe(const std::filesystem::path& path, bool* soon);
  // Reads a stable file; for XML decodes and checks well-formedness, quarantining it when it stays
  // broken. `xml`: false for .err and non-XML results.
  // `release_key`: the request whose in-flight slot a quarantine releases ("" for none).
  ReadOutcome ReadStable(const std::filesystem::path& path, bool xml, ReadFile* out,
                         const std::string& release_key = "");
  bool ReadyForAttempt(const std::filesystem::path& path);
  void AttemptFailed(const std::filesystem::path& path, const std::string& what,
                     const std::string& why);
  void AttemptSucceeded(const std::filesystem::path& path);
  void Quarantine(const std::filesystem::path& path, const std::string& reason,
                  const std::string& release_key = "");
  void ReleaseSlot(const std::string& key);  // stops counting it in flight; still awaited
  bool Archive(const std::filesystem::path& path);
  // The request is answered: forget it; its answer files still in res/ are archived by later scans.
  void FinishRequest(const std::string& key, bool leftovers);

  std::optional<core::DomainError> CheckFolder() const;

  const Options options_;
  const std::filesystem::path req_dir_;
  const std::filesystem::path res_dir_;
  const std::filesystem::path face_dir_;
  core::Clock& clock_;
  core::UpstreamJournal& journal_;

  core::UpstreamHandlers handlers_;  // set by Start(), read by the watcher thread

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;
  mutable std::condition_variable scan_cv_;
  bool started_ = false;
  bool stopping_ = false;
  std::atomic<bool> stop_scan_{false};  // lets a long scan end early on Stop()
  std::deque<Queued> queue_;
  int reserved_ = 0;   // Submit() calls past the queue-full check, not yet enqueued
  int in_flight_ = 0;  // Outstanding entries with counts == true
  std::map<std::string, Outstanding> outstanding_;  // by request base name ("…req_….")
  std::vector<core::JournalEntry> conflicts_;       // not written: result name already taken
  // Answered or rejected requests (by base name) whose answer files may still be in res/: archived
  // without being delivered again (after a crash between storing and archiving, or a failed move).
  std::set<std::string> leftovers_;
  std::optional<core::SystemTime> last_face_at_;
  std::uint64_t scans_ = 0;

  // Watcher thread only.
  std::map<std::filesystem::path, Observation> observations_;
  std::set<std::string> unknown_logged_;
  std::map<std::string, std::string> delivered_faces_;  // name → sha256, delivered but not moved

  std::unique_ptr<FolderWatcher> watcher_;
  std::thread writer_;
};

}  // namespace onshid::oqs_folder
