#pragma once
// MemUpstreamJournal: an in-memory core::UpstreamJournal for tests (header-only).
//
// Thread-safe. Entries survive as long as the object, so a test can build a second adapter over the
// same journal to play a restart. Hooks let a test observe or fail calls:
//   on_record  runs inside Record() before the entry is stored (e.g. to assert that the request
//              file does not exist yet); it runs with no lock held.
//   fail_next_sequence / fail_record make the next call(s) fail with DATABASE_UNAVAILABLE.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/upstream.h"

namespace onshid::testing {

class MemUpstreamJournal final : public core::UpstreamJournal {
 public:
  core::Result<std::int64_t> NextSequence() override {
    std::lock_guard lock(mu_);
    if (fail_next_sequence_) {
      fail_next_sequence_ = false;
      return DatabaseDown();
    }
    return ++sequence_;
  }

  core::Status Record(const core::JournalEntry& entry) override {
    std::function<void(const core::JournalEntry&)> hook;
    {
      std::lock_guard lock(mu_);
      if (fail_record_) {
        fail_record_ = false;
        return DatabaseDown();
      }
      hook = on_record_;
    }
    if (hook) hook(entry);
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
      if (e.request_id == entry.request_id) {
        core::DomainError err;
        err.kind = core::ErrorKind::kAlreadyExists;
        err.reason = "UPSTREAM_REQUEST_EXISTS";
        err.message = "request already journalled";
        err.message_ja = "同じ要求が既に登録されています。";
        return err;
      }
    }
    entries_.push_back(entry);
    return core::OkStatus();
  }

  core::Status Complete(const std::string& request_id, core::SystemTime at) override {
    std::lock_guard lock(mu_);
    for (auto& e : entries_) {
      if (e.request_id == request_id) {
        if (!e.completed_at) e.completed_at = at;
        ++complete_calls_;
        return core::OkStatus();
      }
    }
    core::DomainError err;
    err.kind = core::ErrorKind::kNotFound;
    err.reason = "UPSTREAM_REQUEST_NOT_FOUND";
    err.message = "no journal entry for request";
    err.message_ja = "要求が見つかりません。";
    return err;
  }

  core::Result<std::vector<core::JournalEntry>> Pending() override {
    std::lock_guard lock(mu_);
    std::vector<core::JournalEntry> out;
    for (const auto& e : entries_) {
      if (!e.completed_at) out.push_back(e);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.journalled_at < b.journalled_at;
    });
    return out;
  }

  // --- test helpers ---
  void SetOnRecord(std::function<void(const core::JournalEntry&)> hook) {
    std::lock_guard lock(mu_);
    on_record_ = std::move(hook);
  }
  void FailNextSequence() {
    std::lock_guard lock(mu_);
    fail_next_sequence_ = true;
  }
  void FailNextRecord() {
    std::lock_guard lock(mu_);
    fail_record_ = true;
  }
  std::vector<core::JournalEntry> Entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }
  int CompleteCalls() const {
    std::lock_guard lock(mu_);
    return complete_calls_;
  }

 private:
  static core::DomainError DatabaseDown() {
    core::DomainError err;
    err.kind = core::ErrorKind::kUnavailable;
    err.reason = "DATABASE_UNAVAILABLE";
    err.message = "journal unavailable (test)";
    err.message_ja = "データベースに接続できません。";
    return err;
  }

  mutable std::mutex mu_;
  std::int64_t sequence_ = 0;
  std::vector<core::JournalEntry> entries_;
  std::function<void(const core::JournalEntry&)> on_record_;
  bool fail_next_sequence_ = false;
  bool fail_record_ = false;
  int complete_calls_ = 0;
};

}  // namespace onshid::testing
