#pragma once
// MemResultStore and MemReferenceNumberStore: in-memory core::ResultStore and
// core::ReferenceNumberStore for tests (header-only, the standard library only). Both pass the
// contracts of tests/support/result_store_contract.h like PgStore.
//
// PgStore keeps results, registrations, the upstream journal and the event log in one database,
// and each write commits its journal completion and its events in one transaction. These fakes
// share a MemUpstreamJournal and a MemEventStore instead: a write runs under the store's own
// mutex, completes the journal entry (MemUpstreamJournal::CompleteWithin) and commits its events
// (MemEventStore::Commit) before the stored rows become readable through this store, and wakes
// event subscribers only after the mutex is released. Lock order: this store → journal → events.
// A reader that sees the journal entry answered or the event may have to wait on this store's
// mutex for the result, and then finds it (as a reader of the database would after the commit).
//
// Semantics follow PgStore (adapters/postgres/pg_results.cc, pg_reference_numbers.cc):
//   StoreResult   a file name stored before is `same_file` (nothing written, no events built); a
//                 result whose raw_sha256 equals an earlier result's is `duplicate_of` the
//                 earliest; a result with a request_id completes that journal entry (kAnswered,
//                 from any state Complete allows, so also a late answer to an abandoned request).
//                 An events builder that throws leaves nothing written (INTERNAL).
//   ResultForRequest  the earliest result of that request id.
//   ListResults   filters as ResultQuery, newest (highest id) first; limit 1..200 else
//                 INVALID_PAGE_SIZE naming "page_size".
//   Quarantine    keeps the file unless the same name with the same bytes is kept already (then
//                 its events are not written again); completes complete_request_id (kAnswered)
//                 either way.
//   CreateRegistration  stores PENDING unless the request id is stored; returns the stored one.
//   CompleteRegistration  completes the journal entry (kRejected for state REJECTED, else
//                 kAnswered) at completed_at (else requested_at), updates a PENDING registration
//                 and builds and commits its events only then; REFERENCE_NUMBER_NOT_FOUND when
//                 there is none (the journal entry is completed all the same).
//   ListRegistrations  newest first; limit 1..200 else INVALID_LIMIT naming "limit".
//
// Test hooks: SetReachable(false) makes every call fail with DATABASE_UNAVAILABLE; FailWrites(n)
// makes the next n writes fail so (nothing written); Results()/Quarantined()/Registrations() read
// everything kept.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/results.h"
#include "core/store_errors.h"
#include "support/mem_event_store.h"
#include "support/mem_upstream_journal.h"

namespace onshid::testing {

class MemResultStore final : public core::ResultStore {
 public:
  MemResultStore(MemUpstreamJournal& journal, MemEventStore& events)
      : journal_(journal), events_(events) {}

  core::Result<core::StoreOutcome> StoreResult(const core::StoredResult& result,
                                               const core::ResultEvents& build) override {
    bool wrote_events = false;
    core::StoreOutcome out;
    {
      std::lock_guard lock(mu_);
      if (auto down = WriteRefusedLocked()) return *down;
      for (const auto& r : results_) {
        if (r.file_name == result.file_name) {
          out.id = r.id;
          out.same_file = true;
          return out;
        }
      }
      for (const auto& r : results_) {
        if (r.raw_sha256 == result.raw_sha256) {
          out.duplicate_of = r.id;
          break;
        }
      }
      out.id = next_id_;
      std::vector<core::Event> built;
      if (build) {
        try {
          built = build(out);
        } catch (const std::exception& e) {
          return core::Internal(std::string("events builder failed: ") + e.what());
        }
      }
      ++next_id_;
      if (!result.request_id.empty()) {
        journal_.CompleteWithin(result.request_id, core::JournalState::kAnswered,
                                result.received_at);
      }
      if (!built.empty()) {
        events_.Commit(built);
        wrote_events = true;
      }
      core::StoredResult stored = result;
      stored.id = out.id;
      results_.push_back(std::move(stored));
    }
    if (wrote_events) events_.Wake();
    return out;
  }

  core::Result<std::optional<core::StoredResult>> GetResult(std::int64_t id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    for (const auto& r : results_) {
      if (r.id == id) return std::optional<core::StoredResult>(r);
    }
    return std::optional<core::StoredResult>();
  }

  core::Result<std::vector<core::StoredResult>> ListResults(const core::ResultQuery& q) override {
    if (q.limit < 1 || q.limit > 200) {
      return core::InvalidArgument("INVALID_PAGE_SIZE", "page_size must be between 1 and 200",
                                   "取得件数は1〜200の範囲で指定してください。",
                                   {{"page_size", "must be between 1 and 200"}});
    }
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto differs = [](const std::optional<std::string>& want, const std::string& have) {
      return want && *want != have;
    };
    std::vector<core::StoredResult> out;
    for (auto it = results_.rbegin(); it != results_.rend(); ++it) {
      const auto& r = *it;
      if (differs(q.insurer_number, r.keys.insurer_number) ||
          differs(q.insured_card_symbol, r.keys.insured_card_symbol) ||
          differs(q.insured_identification_number, r.keys.insured_identification_number) ||
          differs(q.birth_date, r.keys.birth_date) ||
          differs(q.reference_number, r.keys.reference_number) ||
          differs(q.validity, r.keys.validity)) {
        continue;
      }
      if (q.received_from && r.received_at < *q.received_from) continue;
      if (q.received_until && r.received_at >= *q.received_until) continue;
      if (q.before_id && r.id >= *q.before_id) continue;
      out.push_back(r);
      if (static_cast<int>(out.size()) == q.limit) break;
    }
    return out;
  }

  core::Result<std::optional<core::StoredResult>> ResultForRequest(
      const std::string& request_id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    for (const auto& r : results_) {
      if (r.request_id == request_id) return std::optional<core::StoredResult>(r);
    }
    return std::optional<core::StoredResult>();
  }

  core::Status Quarantine(const core::QuarantinedFile& file,
                          const std::vector<core::Event>& events) override {
    bool wrote_events = false;
    {
      std::lock_guard lock(mu_);
      if (auto down = WriteRefusedLocked()) return *down;
      const bool again = std::any_of(quarantined_.begin(), quarantined_.end(), [&](const auto& q) {
        return q.file_name == file.file_name && q.raw == file.raw;
      });
      if (!file.complete_request_id.empty()) {
        journal_.CompleteWithin(file.complete_request_id, core::JournalState::kAnswered, file.at);
      }
      if (!again) {
        quarantined_.push_back(file);
        if (!events.empty()) {
          events_.Commit(events);
          wrote_events = true;
        }
      }
    }
    if (wrote_events) events_.Wake();
    return core::OkStatus();
  }

  // --- test hooks ---

  // Every stored result, oldest first.
  std::vector<core::StoredResult> Results() const {
    std::lock_guard lock(mu_);
    return results_;
  }
  // Every quarantined file, oldest first.
  std::vector<core::QuarantinedFile> Quarantined() const {
    std::lock_guard lock(mu_);
    return quarantined_;
  }
  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }
  // The next `n` writes (StoreResult, Quarantine) fail with DATABASE_UNAVAILABLE.
  void FailWrites(int n) {
    std::lock_guard lock(mu_);
    fail_writes_ = n;
  }

 private:
  static core::DomainError Unreachable() {
    return core::DatabaseUnavailable("in-memory result store set unreachable");
  }
  std::optional<core::DomainError> WriteRefusedLocked() {
    if (!reachable_) return Unreachable();
    if (fail_writes_ > 0) {
      --fail_writes_;
      return core::DatabaseUnavailable("in-memory result store write failed (test)");
    }
    return std::nullopt;
  }

  MemUpstreamJournal& journal_;
  MemEventStore& events_;
  mutable std::mutex mu_;
  bool reachable_ = true;
  int fail_writes_ = 0;
  std::int64_t next_id_ = 1;
  std::vector<core::StoredResult> results_;  // id order
  std::vector<core::QuarantinedFile> quarantined_;
};

class MemReferenceNumberStore final : public core::ReferenceNumberStore {
 public:
  MemReferenceNumberStore(MemUpstreamJournal& journal, MemEventStore& events)
      : journal_(journal), events_(events) {}

  core::Result<core::ReferenceNumberRecord> CreateRegistration(
      const core::ReferenceNumberRecord& record) override {
    std::lock_guard lock(mu_);
    if (auto down = WriteRefusedLocked()) return *down;
    if (auto* stored = FindLocked(record.request_id)) return *stored;
    core::ReferenceNumberRecord r;
    r.id = next_id_++;
    r.request_id = record.request_id;
    r.client_request_id = record.client_request_id;
    r.reference_number = record.reference_number;
    r.insurer_number = record.insurer_number;
    r.insured_card_symbol = record.insured_card_symbol;
    r.insured_identification_number = record.insured_identification_number;
    r.insured_branch_number = record.insured_branch_number;
    r.state = "PENDING";
    r.requested_at = record.requested_at;
    records_.push_back(r);
    return r;
  }

  core::Result<std::optional<core::ReferenceNumberRecord>> RegistrationForRequest(
      const std::string& request_id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    if (auto* stored = FindLocked(request_id)) {
      return std::optional<core::ReferenceNumberRecord>(*stored);
    }
    return std::optional<core::ReferenceNumberRecord>();
  }

  core::Result<std::optional<core::ReferenceNumberRecord>> GetRegistration(
      std::int64_t id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    for (const auto& r : records_) {
      if (r.id == id) return std::optional<core::ReferenceNumberRecord>(r);
    }
    return std::optional<core::ReferenceNumberRecord>();
  }

  core::Result<std::vector<core::ReferenceNumberRecord>> ListRegistrations(
      const std::string& reference_number, int limit) override {
    if (limit < 1 || limit > 200) {
      return core::InvalidArgument("INVALID_LIMIT", "limit must be between 1 and 200",
                                   "取得件数は1〜200で指定してください。",
                                   {{"limit", "must be between 1 and 200"}});
    }
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<core::ReferenceNumberRecord> out;
    for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
      if (it->reference_number != reference_number) continue;
      out.push_back(*it);
      if (static_cast<int>(out.size()) == limit) break;
    }
    return out;
  }

  core::Result<std::pair<core::ReferenceNumberRecord, bool>> CompleteRegistration(
      const core::ReferenceNumberRecord& o, const RegistrationEvents& build) override {
    bool wrote_events = false;
    std::pair<core::ReferenceNumberRecord, bool> out;
    {
      std::lock_guard lock(mu_);
      if (auto down = WriteRefusedLocked()) return *down;
      const core::SystemTime at = o.completed_at.value_or(o.requested_at);
      core::ReferenceNumberRecord* stored = FindLocked(o.request_id);
      const bool changed = stored != nullptr && stored->state == "PENDING";
      core::ReferenceNumberRecord updated;
      std::vector<core::Event> built;
      if (changed) {
        updated = *stored;
        updated.state = o.state;
        updated.error_code = o.error_code;
        updated.error_message = o.error_message;
        updated.file_name = o.file_name;
        updated.raw = o.raw;
        updated.raw_sha256 = o.raw_sha256;
        updated.completed_at = at;
        if (build) {
          try {
            built = build(updated);
          } catch (const std::exception& e) {
            return core::Internal(std::string("events builder failed: ") + e.what());
          }
        }
      }
      journal_.CompleteWithin(
          o.request_id,
          o.state == "REJECTED" ? core::JournalState::kRejected : core::JournalState::kAnswered,
          at);
      if (stored == nullptr) {
        core::DomainError e;
        e.kind = core::ErrorKind::kNotFound;
        e.reason = "REFERENCE_NUMBER_NOT_FOUND";
        e.message = "no reference number registration for request " + o.request_id;
        e.message_ja = "照会番号登録の記録が見つかりません。";
        return e;
      }
      if (changed) {
        *stored = updated;
        if (!built.empty()) {
          events_.Commit(built);
          wrote_events = true;
        }
      }
      out = {*stored, changed};
    }
    if (wrote_events) events_.Wake();
    return out;
  }

  // --- test hooks ---

  std::vector<core::ReferenceNumberRecord> Registrations() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }
  // The next `n` writes (CreateRegistration, CompleteRegistration) fail with DATABASE_UNAVAILABLE.
  void FailWrites(int n) {
    std::lock_guard lock(mu_);
    fail_writes_ = n;
  }

 private:
  static core::DomainError Unreachable() {
    return core::DatabaseUnavailable("in-memory reference number store set unreachable");
  }
  std::optional<core::DomainError> WriteRefusedLocked() {
    if (!reachable_) return Unreachable();
    if (fail_writes_ > 0) {
      --fail_writes_;
      return core::DatabaseUnavailable("in-memory reference number store write failed (test)");
    }
    return std::nullopt;
  }
  core::ReferenceNumberRecord* FindLocked(const std::string& request_id) {
    for (auto& r : records_) {
      if (r.request_id == request_id) return &r;
    }
    return nullptr;
  }

  MemUpstreamJournal& journal_;
  MemEventStore& events_;
  mutable std::mutex mu_;
  bool reachable_ = true;
  int fail_writes_ = 0;
  std::int64_t next_id_ = 1;
  std::vector<core::ReferenceNumberRecord> records_;  // id order
};

}  // namespace onshid::testing
