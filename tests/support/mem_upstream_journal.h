#pragma once
// MemUpstreamJournal: an in-memory core::UpstreamJournal for tests (header-only).
//
// Thread-safe. Entries survive as long as the object, so a test can build a second adapter over the
// same journal to play a restart (or two adapters with different instance ids to play two daemons
// on one database). Passes the UpstreamJournal contract (tests/support/upstream_journal_contract.h)
// like PgStore. Transitions follow core/upstream.h exactly:
//   Record    stores the entry in kJournalled (whatever state it carries); a key already journalled
//             is UPSTREAM_REQUEST_EXISTS.
//   Advance   to kWriting or kWritten only (anything else is INTERNAL); forward only: an entry
//             already at or past the state (kWritten, kAnswered, kRejected, kAbandoned for
//             kWriting; the last three for kWritten) is left as it is; kWritten sets written_at.
//   Complete  to kAnswered, kRejected or kAbandoned (anything else is INTERNAL): from kJournalled,
//             kWriting, kWritten, and from kAbandoned to kAnswered/kRejected; otherwise nothing
//             changes and no event is kept. A change sets completed_at, appends the events (cursor
//             assigned here) and clears the payload when the state is final.
//   Recoverable  the instance's entries (adopting those with instance "") not final, and those
//             completed (kAbandoned, kAnswered, kRejected) at or after `completed_since`; oldest
//             journalled_at first (ties keep the order of recording).
// Unknown keys are UPSTREAM_REQUEST_NOT_FOUND.
//
// Events: given a MemEventStore, Complete commits its events there (the log every other fake
// shares, as PgStore's events table); without one they get cursors of their own. Either way
// Events() lists the events this journal committed. MemResultStore and MemReferenceNumberStore
// complete entries inside their own writes through CompleteWithin.
//
// Test helpers observe or fail calls:
//   SetOnRecord / SetOnAdvance  run inside the call before it changes anything, with no lock held
//                               (e.g. to assert what exists in req/ at that moment).
//   FailNextSequence, FailNextRecord, FailAdvance(state, n), FailComplete(n): the next call(s) fail
//   with DATABASE_UNAVAILABLE and change nothing.
//   Put       stores an entry as given (any state), to seed what a previous daemon left behind.
//   Entries, Entry, State, Events, *Calls, Transitions  read what happened.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/upstream.h"
#include "support/mem_event_store.h"

namespace onshid::testing {

class MemUpstreamJournal final : public core::UpstreamJournal {
 public:
  // `events`, when given, receives the events of Complete (and must outlive the journal).
  explicit MemUpstreamJournal(MemEventStore* events = nullptr) : event_store_(events) {}

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
      ++record_calls_;
      if (fail_record_) {
        fail_record_ = false;
        return DatabaseDown();
      }
      hook = on_record_;
    }
    if (hook) hook(entry);
    std::lock_guard lock(mu_);
    if (Find(entry.request_id) != nullptr) {
      core::DomainError err;
      err.kind = core::ErrorKind::kAlreadyExists;
      err.reason = "UPSTREAM_REQUEST_EXISTS";
      err.message = "request already journalled";
      err.message_ja = "同じ要求が既に登録されています。";
      return err;
    }
    core::JournalEntry stored = entry;
    stored.state = core::JournalState::kJournalled;
    stored.written_at.reset();
    stored.completed_at.reset();
    entries_.push_back(std::move(stored));
    return core::OkStatus();
  }

  core::Status Advance(const std::string& request_id, core::JournalState state,
                       core::SystemTime at) override {
    std::function<void(const std::string&, core::JournalState)> hook;
    {
      std::lock_guard lock(mu_);
      ++advance_calls_[state];
      if (state != core::JournalState::kWriting && state != core::JournalState::kWritten) {
        return Internal("Advance to " + std::string(core::ToString(state)));
      }
      auto& fail = fail_advance_[state];
      if (fail > 0) {
        --fail;
        return DatabaseDown();
      }
      hook = on_advance_;
    }
    if (hook) hook(request_id, state);
    std::lock_guard lock(mu_);
    core::JournalEntry* e = Find(request_id);
    if (e == nullptr) return NotFound();
    if (Rank(e->state) >= Rank(state)) return core::OkStatus();
    e->state = state;
    if (state == core::JournalState::kWritten) e->written_at = at;
    transitions_.emplace_back(request_id, state);
    return core::OkStatus();
  }

  core::Status Complete(const std::string& request_id, core::JournalState state,
                        core::SystemTime at, const std::vector<core::Event>& events) override {
    {
      std::lock_guard lock(mu_);
      ++complete_calls_;
      if (state != core::JournalState::kAnswered && state != core::JournalState::kRejected &&
          state != core::JournalState::kAbandoned) {
        return Internal("Complete to " + std::string(core::ToString(state)));
      }
      if (fail_complete_ > 0) {
        --fail_complete_;
        return DatabaseDown();
      }
      if (Find(request_id) == nullptr) return NotFound();
      if (!CompleteLocked(request_id, state, at) || events.empty()) return core::OkStatus();
      if (event_store_ == nullptr) {
        for (core::Event ev : events) {
          ev.cursor = ++cursor_;
          events_.push_back(std::move(ev));
        }
        return core::OkStatus();
      }
      for (auto& ev : event_store_->Commit(events)) events_.push_back(std::move(ev));
    }
    event_store_->Wake();
    return core::OkStatus();
  }

  // For the fakes of stores that complete a journal entry within their own write (as PgStore's
  // CompleteJournalEntry): moves `request_id` to `state` when Complete would, without events and
  // without the failure hooks. Returns whether the entry changed (false: past that point, or
  // unknown). The caller may hold its own lock (this journal's lock is taken inside it).
  bool CompleteWithin(const std::string& request_id, core::JournalState state,
                      core::SystemTime at) {
    std::lock_guard lock(mu_);
    return CompleteLocked(request_id, state, at);
  }

  core::Result<std::optional<core::JournalEntry>> Get(const std::string& request_id) override {
    std::lock_guard lock(mu_);
    const core::JournalEntry* e = Find(request_id);
    if (e == nullptr) return std::optional<core::JournalEntry>();
    return std::optional<core::JournalEntry>(*e);
  }

  core::Result<std::vector<core::JournalEntry>> Recoverable(
      const std::string& instance_id, core::SystemTime completed_since) override {
    std::lock_guard lock(mu_);
    ++recoverable_calls_;
    if (fail_recoverable_) {
      fail_recoverable_ = false;
      return DatabaseDown();
    }
    std::vector<core::JournalEntry> out;
    for (auto& e : entries_) {
      if (e.instance_id.empty()) e.instance_id = instance_id;  // adopted by the first to ask
      if (e.instance_id != instance_id) continue;
      bool open = e.state == core::JournalState::kJournalled ||
                  e.state == core::JournalState::kWriting ||
                  e.state == core::JournalState::kWritten;
      bool recent = e.completed_at.has_value() && *e.completed_at >= completed_since;
      if (open || recent) out.push_back(e);
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
  void SetOnAdvance(std::function<void(const std::string&, core::JournalState)> hook) {
    std::lock_guard lock(mu_);
    on_advance_ = std::move(hook);
  }
  void FailNextSequence() {
    std::lock_guard lock(mu_);
    fail_next_sequence_ = true;
  }
  void FailNextRecord() {
    std::lock_guard lock(mu_);
    fail_record_ = true;
  }
  void FailNextRecoverable() {
    std::lock_guard lock(mu_);
    fail_recoverable_ = true;
  }
  void FailAdvance(core::JournalState state, int n) {
    std::lock_guard lock(mu_);
    fail_advance_[state] = n;
  }
  void FailComplete(int n) {
    std::lock_guard lock(mu_);
    fail_complete_ = n;
  }
  // Stores `entry` as given (replacing an entry of the same key), as a previous daemon would have
  // left it. Does not touch the sequence (SetSequence does).
  void Put(const core::JournalEntry& entry) {
    std::lock_guard lock(mu_);
    if (core::JournalEntry* e = Find(entry.request_id)) {
      *e = entry;
    } else {
      entries_.push_back(entry);
    }
  }
  // The next NextSequence() returns `last + 1`.
  void SetSequence(std::int64_t last) {
    std::lock_guard lock(mu_);
    sequence_ = last;
  }
  std::vector<core::JournalEntry> Entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }
  std::optional<core::JournalEntry> Entry(const std::string& request_id) const {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
      if (e.request_id == request_id) return e;
    }
    return std::nullopt;
  }
  // The entry's state; kJournalled for an unknown key (tests check Entry() first when it matters).
  core::JournalState State(const std::string& request_id) const {
    auto e = Entry(request_id);
    return e ? e->state : core::JournalState::kJournalled;
  }
  std::vector<core::Event> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  // Every state change made by Advance and Complete, in order.
  std::vector<std::pair<std::string, core::JournalState>> Transitions() const {
    std::lock_guard lock(mu_);
    return transitions_;
  }
  int CompleteCalls() const {
    std::lock_guard lock(mu_);
    return complete_calls_;
  }
  int AdvanceCalls(core::JournalState state) const {
    std::lock_guard lock(mu_);
    auto it = advance_calls_.find(state);
    return it == advance_calls_.end() ? 0 : it->second;
  }
  int RecordCalls() const {
    std::lock_guard lock(mu_);
    return record_calls_;
  }
  int RecoverableCalls() const {
    std::lock_guard lock(mu_);
    return recoverable_calls_;
  }

 private:
  // Order of the forward moves; every completed state is past kWritten.
  static int Rank(core::JournalState s) {
    switch (s) {
      case core::JournalState::kJournalled:
        return 0;
      case core::JournalState::kWriting:
        return 1;
      case core::JournalState::kWritten:
        return 2;
      case core::JournalState::kAbandoned:
        return 3;
      case core::JournalState::kAnswered:
      case core::JournalState::kRejected:
        return 4;
    }
    return 4;
  }
  // The transition of Complete (see the header comment); true when the entry changed.
  bool CompleteLocked(const std::string& request_id, core::JournalState state,
                      core::SystemTime at) {
    core::JournalEntry* e = Find(request_id);
    if (e == nullptr) return false;
    const bool allowed = !core::IsFinal(e->state) && !(e->state == core::JournalState::kAbandoned &&
                                                       state == core::JournalState::kAbandoned);
    if (!allowed) return false;
    e->state = state;
    e->completed_at = at;
    if (core::IsFinal(state)) e->payload.clear();
    transitions_.emplace_back(request_id, state);
    return true;
  }
  core::JournalEntry* Find(const std::string& request_id) {
    for (auto& e : entries_) {
      if (e.request_id == request_id) return &e;
    }
    return nullptr;
  }
  static core::DomainError DatabaseDown() {
    core::DomainError err;
    err.kind = core::ErrorKind::kUnavailable;
    err.reason = "DATABASE_UNAVAILABLE";
    err.message = "journal unavailable (test)";
    err.message_ja = "データベースに接続できません。";
    return err;
  }
  static core::DomainError NotFound() {
    core::DomainError err;
    err.kind = core::ErrorKind::kNotFound;
    err.reason = "UPSTREAM_REQUEST_NOT_FOUND";
    err.message = "no journal entry for request";
    err.message_ja = "要求が見つかりません。";
    return err;
  }
  static core::DomainError Internal(const std::string& what) {
    return core::Internal("MemUpstreamJournal: invalid transition: " + what);
  }

  MemEventStore* const event_store_;
  mutable std::mutex mu_;
  std::int64_t sequence_ = 0;
  std::int64_t cursor_ = 0;
  std::vector<core::JournalEntry> entries_;
  std::vector<core::Event> events_;
  std::vector<std::pair<std::string, core::JournalState>> transitions_;
  std::function<void(const core::JournalEntry&)> on_record_;
  std::function<void(const std::string&, core::JournalState)> on_advance_;
  bool fail_next_sequence_ = false;
  bool fail_record_ = false;
  bool fail_recoverable_ = false;
  std::map<core::JournalState, int> fail_advance_;
  int fail_complete_ = 0;
  int complete_calls_ = 0;
  int record_calls_ = 0;
  int recoverable_calls_ = 0;
  std::map<core::JournalState, int> advance_calls_;
};

}  // namespace onshid::testing
