#pragma once
// FakeUpstream: a core::Upstream whose health the test sets (header-only).
//
//   Status()     returns what SetStatus() last set (default: folder reachable, idle, inotify
//                active) and counts the calls.
//   Start/Stop   keep the handlers (Handlers()) and whether it runs (Started()).
//   Submit       records the request (Submitted()) and returns its journal entry (kJournalled,
//                file name "<message_type>req_<n>.xml"); FailSubmits(error) makes every later call
//                fail with that error until ClearFailure().
// Thread-safe.

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/upstream.h"

namespace onshid::testing {

class FakeUpstream final : public core::Upstream {
 public:
  FakeUpstream() {
    status_.folder_reachable = true;
    status_.inotify_active = true;
  }

  core::Status Start(core::UpstreamHandlers handlers) override {
    std::lock_guard lock(mu_);
    handlers_ = std::move(handlers);
    started_ = true;
    return core::OkStatus();
  }
  void Stop() override {
    std::lock_guard lock(mu_);
    started_ = false;
  }

  core::Result<core::JournalEntry> Submit(const core::UpstreamRequest& request) override {
    std::lock_guard lock(mu_);
    if (submit_error_) return *submit_error_;
    submitted_.push_back(request);
    core::JournalEntry e;
    e.request_id = request.request_id;
    e.client_request_id = request.client_request_id;
    e.message_type = request.message_type;
    e.kind = request.kind;
    e.file_name = request.message_type + "req_" + std::to_string(submitted_.size()) + ".xml";
    e.payload = request.xml_utf8;
    e.arbitrary_file_identifier = request.arbitrary_file_identifier;
    return e;
  }

  core::UpstreamStatus Status() const override {
    std::lock_guard lock(mu_);
    ++status_calls_;
    return status_;
  }

  void SetStatus(core::UpstreamStatus status) {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
  }
  void FailSubmits(core::DomainError error) {
    std::lock_guard lock(mu_);
    submit_error_ = std::move(error);
  }
  void ClearFailure() {
    std::lock_guard lock(mu_);
    submit_error_.reset();
  }
  std::vector<core::UpstreamRequest> Submitted() const {
    std::lock_guard lock(mu_);
    return submitted_;
  }
  core::UpstreamHandlers Handlers() const {
    std::lock_guard lock(mu_);
    return handlers_;
  }
  bool Started() const {
    std::lock_guard lock(mu_);
    return started_;
  }
  int StatusCalls() const {
    std::lock_guard lock(mu_);
    return status_calls_;
  }

 private:
  mutable std::mutex mu_;
  core::UpstreamStatus status_;
  mutable int status_calls_ = 0;
  core::UpstreamHandlers handlers_;
  bool started_ = false;
  std::optional<core::DomainError> submit_error_;
  std::vector<core::UpstreamRequest> submitted_;
};

}  // namespace onshid::testing
