#pragma once
// FakeUpstream: a scriptable core::Upstream (the 資格確認端末 side) for use-case tests
// (header-only; core only). It journals like the folder adapter and lets the test play the
// terminal: deliver results, rejections, face files and quarantines through the handlers the use
// cases passed to Start, abandon requests, and make Submit fail.
//
// Submit(request):
//   - a failure queued with FailSubmit is returned first (nothing journalled), as the adapter's
//     UPSTREAM_FOLDER_UNAVAILABLE / UPSTREAM_QUEUE_FULL / DATABASE_UNAVAILABLE;
//   - otherwise it draws a sequence number, journals the request (the journal's errors, e.g.
//     UPSTREAM_REQUEST_EXISTS for a key journalled already, are returned as they are), records it
//     as submitted, and — "written" at once, unless SetWriteImmediately(false) — advances the
//     entry to kWritten. Returns the entry as journalled.
// The request file is named "<type>req_<seq, 4+ digits>.xml"; its answer "<type>res_<seq>.xml",
// a rejection "<type>req_<seq>.err" (the adapter's names).
//
// Status() returns what SetStatus() last set — by default a reachable folder, nothing queued or in
// flight, inotify active — and counts the calls (StatusCalls()). It is not derived from the
// journal: the test says how healthy the terminal looks, as the adapter would measure it.
//
// Delivery (Deliver*, Quarantine) runs the handler on the calling thread — the test thread plays
// the adapter's thread; deliveries are serialised, one handler call at a time — and returns what
// the handler returned (OK: the adapter would archive the file; an error: it would keep the file
// and retry). Files carry `received_at` = the clock's Now() and a content fingerprint in `sha256`
// (FNV-1a: equal bytes ↔ equal fingerprints, good enough for duplicate detection in tests).
//
// Thread-safe. The journal and the clock must outlive the fake.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/upstream.h"

namespace onshid::testing {

class FakeUpstream final : public core::Upstream {
 public:
  FakeUpstream(core::UpstreamJournal& journal, const core::Clock& clock,
               std::string instance_id = "daemon-test")
      : journal_(journal), clock_(clock), instance_id_(std::move(instance_id)) {
    status_.folder_reachable = true;
    status_.inotify_active = true;
  }

  core::Status Start(core::UpstreamHandlers handlers) override {
    std::lock_guard lock(mu_);
    if (fail_start_) return *fail_start_;
    handlers_ = std::move(handlers);
    started_ = true;
    return core::OkStatus();
  }

  void Stop() override {
    std::lock_guard lock(mu_);
    started_ = false;
  }

  core::Result<core::JournalEntry> Submit(const core::UpstreamRequest& request) override {
    bool write_now = true;
    {
      std::lock_guard lock(mu_);
      ++submit_calls_;
      if (!submit_failures_.empty()) {
        core::DomainError e = std::move(submit_failures_.front());
        submit_failures_.pop_front();
        return e;
      }
      write_now = write_immediately_;
    }
    auto seq = journal_.NextSequence();
    if (!seq.ok()) return seq.error();
    std::string digits = std::to_string(*seq);
    if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
    core::JournalEntry entry;
    entry.request_id = request.request_id;
    entry.client_request_id = request.client_request_id;
    entry.instance_id = instance_id_;
    entry.message_type = request.message_type;
    entry.kind = request.kind;
    entry.file_name = request.message_type + "req_" + digits + ".xml";
    entry.payload = request.xml_utf8;
    entry.payload_sha256 = Fingerprint(request.xml_utf8);
    entry.arbitrary_file_identifier = request.arbitrary_file_identifier;
    entry.state = core::JournalState::kJournalled;
    entry.journalled_at = clock_.Now();
    if (auto recorded = journal_.Record(entry); !recorded.ok()) return recorded.error();
    if (write_now) {
      if (auto written =
              journal_.Advance(entry.request_id, core::JournalState::kWritten, clock_.Now());
          !written.ok()) {
        return written.error();
      }
    }
    {
      std::lock_guard lock(mu_);
      submitted_.push_back(request);
    }
    cv_.notify_all();
    return entry;
  }

  core::UpstreamStatus Status() const override {
    std::lock_guard lock(mu_);
    ++status_calls_;
    return status_;
  }

  // --- scripting ---

  // The next `times` Submit calls fail with `error` and journal nothing.
  void FailSubmit(const core::DomainError& error, int times = 1) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < times; ++i) submit_failures_.push_back(error);
  }
  // Start fails with `error` (nullopt: succeeds again).
  void FailStart(std::optional<core::DomainError> error) {
    std::lock_guard lock(mu_);
    fail_start_ = std::move(error);
  }
  // When false, submitted requests stay kJournalled (the writer has not written them yet).
  void SetWriteImmediately(bool write) {
    std::lock_guard lock(mu_);
    write_immediately_ = write;
  }
  // What Status() returns from now on.
  void SetStatus(core::UpstreamStatus status) {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
  }

  // The terminal answers `request_id` with the result document `xml_utf8` (res/ file). Calls
  // on_result. Errors: UPSTREAM_REQUEST_NOT_FOUND when the key was never journalled (a test bug).
  core::Status DeliverResult(const std::string& request_id, const std::string& xml_utf8) {
    auto entry = Entry(request_id);
    if (!entry.ok()) return entry.error();
    core::UpstreamFile f;
    f.kind = core::UpstreamFile::Kind::kResult;
    f.file_name = Swap(entry->file_name, "req_", "res_");
    f.request_id = request_id;
    f.client_request_id = entry->client_request_id;
    f.raw = xml_utf8;
    f.sha256 = Fingerprint(xml_utf8);
    f.xml_utf8 = xml_utf8;
    f.declared_encoding = "UTF-8";
    f.received_at = clock_.Now();
    return Deliver(f, /*face=*/false);
  }

  // The terminal refused `request_id`'s file (.err with `text`). Calls on_result.
  core::Status DeliverRejection(const std::string& request_id, const std::string& text) {
    auto entry = Entry(request_id);
    if (!entry.ok()) return entry.error();
    core::UpstreamFile f;
    f.kind = core::UpstreamFile::Kind::kRejection;
    f.file_name = Swap(entry->file_name, ".xml", ".err");
    f.request_id = request_id;
    f.client_request_id = entry->client_request_id;
    f.raw = text;
    f.sha256 = Fingerprint(text);
    f.rejection_text = text;
    f.received_at = clock_.Now();
    return Deliver(f, /*face=*/false);
  }

  // A face-reader file `file_name` arrived in face/. Calls on_face.
  core::Status DeliverFace(const std::string& file_name, const std::string& xml_utf8) {
    core::UpstreamFile f;
    f.kind = core::UpstreamFile::Kind::kFace;
    f.file_name = file_name;
    f.raw = xml_utf8;
    f.sha256 = Fingerprint(xml_utf8);
    f.xml_utf8 = xml_utf8;
    f.declared_encoding = "UTF-8";
    f.received_at = clock_.Now();
    return Deliver(f, /*face=*/true);
  }

  // The adapter could not read or decode `file_name` and quarantined it. Calls on_quarantine.
  void Quarantine(const std::string& file_name, const std::string& request_id,
                  const std::string& reason) {
    std::lock_guard delivering(deliver_mu_);
    core::UpstreamHandlers h = Handlers();
    if (h.on_quarantine) h.on_quarantine(file_name, request_id, reason);
  }

  // No answer within the answer time-out: as the adapter, completes the entry kAbandoned with an
  // "upstream.request_abandoned" event.
  core::Status Abandon(const std::string& request_id) {
    auto entry = Entry(request_id);
    if (!entry.ok()) return entry.error();
    core::Event ev;
    ev.at = clock_.Now();
    ev.type = "upstream.request_abandoned";
    ev.request_id = entry->client_request_id;
    ev.file_name = entry->file_name;
    ev.detail = "no answer from the terminal (test)";
    ev.attributes = {{"journal_state", "ABANDONED"},
                     {"kind", entry->kind},
                     {"message_type", entry->message_type}};
    return journal_.Complete(request_id, core::JournalState::kAbandoned, clock_.Now(), {ev});
  }

  // --- observing ---

  bool started() const {
    std::lock_guard lock(mu_);
    return started_;
  }
  // Every request journalled through Submit, in order.
  std::vector<core::UpstreamRequest> Submitted() const {
    std::lock_guard lock(mu_);
    return submitted_;
  }
  int SubmitCalls() const {
    std::lock_guard lock(mu_);
    return submit_calls_;
  }
  int StatusCalls() const {
    std::lock_guard lock(mu_);
    return status_calls_;
  }
  // True once at least `n` requests were submitted, within `timeout`.
  bool WaitForSubmitted(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return submitted_.size() >= n; });
  }

  static std::string Fingerprint(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return std::string(buf) + std::to_string(bytes.size());
  }

 private:
  core::UpstreamHandlers Handlers() const {
    std::lock_guard lock(mu_);
    return handlers_;
  }
  core::Result<core::JournalEntry> Entry(const std::string& request_id) {
    auto found = journal_.Get(request_id);
    if (!found.ok()) return found.error();
    if (!found->has_value()) {
      core::DomainError e;
      e.kind = core::ErrorKind::kNotFound;
      e.reason = "UPSTREAM_REQUEST_NOT_FOUND";
      e.message = "FakeUpstream: nothing journalled under " + request_id;
      return e;
    }
    return **found;
  }
  core::Status Deliver(const core::UpstreamFile& f, bool face) {
    std::lock_guard delivering(deliver_mu_);
    core::UpstreamHandlers h = Handlers();
    const auto& handler = face ? h.on_face : h.on_result;
    if (!handler) return core::Internal("FakeUpstream: no handler (Start was not called)");
    return handler(f);
  }
  static std::string Swap(std::string name, std::string_view from, std::string_view to) {
    const auto at = name.find(from);
    if (at != std::string::npos) name.replace(at, from.size(), to);
    return name;
  }

  core::UpstreamJournal& journal_;
  const core::Clock& clock_;
  const std::string instance_id_;
  std::mutex deliver_mu_;  // one handler call at a time
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  core::UpstreamHandlers handlers_;
  bool started_ = false;
  bool write_immediately_ = true;
  std::optional<core::DomainError> fail_start_;
  std::deque<core::DomainError> submit_failures_;
  std::vector<core::UpstreamRequest> submitted_;
  int submit_calls_ = 0;
  core::UpstreamStatus status_;
  mutable int status_calls_ = 0;  // counted by the const Status()
};

}  // namespace onshid::testing
