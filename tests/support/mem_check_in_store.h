#pragma once
// MemCheckInStore: an in-memory CheckInStore for unit tests of core logic and app use cases
// (header-only, the standard library only). Passes the same contract as PgStore
// (tests/support/check_in_store_contract.h). Thread-safe: one mutex guards everything, so every
// write is all or nothing like PgStore's transaction. The errors and checks every CheckInStore
// shares are core's (core/checkin/check_in_store_errors.h).
//
// Alone it keeps its own events and face results. Given the shared fakes it behaves like the one
// database of PgStore:
//   - a MemEventStore: the events written with a check-in are committed there, in the same write
//     (its lock is taken inside this store's), and subscribers are woken after it;
//   - a MemResultStore: UnlinkedFaceResults reads the face results stored there (a result whose
//     bytes equal an earlier result's — a duplicate delivery — is not listed), besides those
//     registered with AddFaceResult.
//
// Test hooks: events() returns the events written with check-ins, with their cursors;
// AddFaceResult() registers a face result for UnlinkedFaceResults; SetReachable(false) makes every
// call fail with DATABASE_UNAVAILABLE.

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/checkin/check_in_store.h"
#include "core/checkin/check_in_store_errors.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/results.h"
#include "core/store_errors.h"
#include "support/mem_event_store.h"
#include "support/mem_result_store.h"

namespace onshid::testing {

// Whether `row` passes every filter of `query` (limit and order aside).
inline bool MatchesCheckInQuery(const core::checkin::CheckInRow& row,
                                const core::checkin::CheckInQuery& query) {
  if (query.day && row.day != *query.day) return false;
  if (query.desk_id && row.desk_id != *query.desk_id) return false;
  if (query.state && row.state != *query.state) return false;
  if (query.patient_id && row.patient_id != *query.patient_id) return false;
  if (query.reference_number && row.reference_number != *query.reference_number) return false;
  if (query.card_key && row.card_key != *query.card_key) return false;
  if (query.kana_key && row.kana_key != *query.kana_key) return false;
  if (query.birth_date && row.birth_date != *query.birth_date) return false;
  if (query.open_or_updated_since) {
    const bool open = row.state == "WAITING" || row.state == "NEEDS_FALLBACK";
    if (!open && row.updated_at < *query.open_or_updated_since) return false;
  }
  return true;
}

// ---- The in-memory store ----

class MemCheckInStore final : public core::checkin::CheckInStore {
 public:
  using CheckInRow = core::checkin::CheckInRow;
  using Attachments = core::checkin::Attachments;
  using CheckInQuery = core::checkin::CheckInQuery;
  using ResultLink = core::checkin::ResultLink;
  using PatientLink = core::checkin::PatientLink;
  using Event = core::Event;
  using DomainError = core::DomainError;
  using Status = core::Status;
  using SystemTime = core::SystemTime;
  template <typename T>
  using Result = core::Result<T>;

  // Both optional; they must outlive the store (see the header comment).
  explicit MemCheckInStore(MemEventStore* events = nullptr, const MemResultStore* results = nullptr)
      : event_store_(events), results_(results) {}

  Status InsertCheckIn(const CheckInRow& row, const Attachments& with) override {
    if (auto valid = core::checkin::ValidateCheckInWrite(row, with, /*insert=*/true); !valid) {
      return valid;
    }
    {
      std::lock_guard lock(mu_);
      if (!reachable_) return Unreachable();
      // A retry of the same request names the check-in it created: prefer the client_key's holder.
      if (!row.client_key.empty()) {
        if (auto it = by_client_key_.find(row.client_key); it != by_client_key_.end()) {
          return core::checkin::CheckInExists(it->second);
        }
      }
      if (rows_.count(row.id) != 0) return core::checkin::CheckInExists(row.id);
      if (auto linked = CheckResultLinkLocked(with); !linked) return linked;
      rows_[row.id] = row;
      if (!row.client_key.empty()) by_client_key_[row.client_key] = row.id;
      WriteAttachmentsLocked(row.id, with);
    }
    WakeAfter(with);
    return core::OkStatus();
  }

  Status UpdateCheckIn(const CheckInRow& row, const Attachments& with) override {
    if (auto valid = core::checkin::ValidateCheckInWrite(row, with, /*insert=*/false); !valid) {
      return valid;
    }
    {
      std::lock_guard lock(mu_);
      if (!reachable_) return Unreachable();
      auto it = rows_.find(row.id);
      if (it == rows_.end()) return core::checkin::CheckInNotFound(row.id);
      if (it->second.version != row.version - 1) {
        return core::checkin::CheckInConcurrentUpdate(row.id);
      }
      const std::string old_key = it->second.client_key;
      if (!row.client_key.empty() && row.client_key != old_key) {
        if (auto holder = by_client_key_.find(row.client_key); holder != by_client_key_.end()) {
          return core::checkin::CheckInExists(holder->second);
        }
      }
      if (auto linked = CheckResultLinkLocked(with); !linked) return linked;
      if (!old_key.empty()) by_client_key_.erase(old_key);
      if (!row.client_key.empty()) by_client_key_[row.client_key] = row.id;
      it->second = row;
      WriteAttachmentsLocked(row.id, with);
    }
    WakeAfter(with);
    return core::OkStatus();
  }

  Result<std::optional<CheckInRow>> GetCheckIn(const std::string& id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = rows_.find(id);
    if (it == rows_.end()) return std::optional<CheckInRow>();
    return std::optional<CheckInRow>(it->second);
  }

  Result<std::optional<CheckInRow>> CheckInForClientKey(const std::string& client_key) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    if (client_key.empty()) return std::optional<CheckInRow>();
    auto it = by_client_key_.find(client_key);
    if (it == by_client_key_.end()) return std::optional<CheckInRow>();
    return std::optional<CheckInRow>(rows_.at(it->second));
  }

  Result<std::vector<CheckInRow>> ListCheckIns(const CheckInQuery& query) override {
    if (auto valid = core::checkin::ValidateCheckInQuery(query); !valid) return valid.error();
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<CheckInRow> out;
    for (const auto& [id, row] : rows_) {
      if (MatchesCheckInQuery(row, query)) out.push_back(row);
    }
    // Arrival order; the id (compared bytewise, as PgStore does) breaks ties.
    std::sort(out.begin(), out.end(), [&](const CheckInRow& a, const CheckInRow& b) {
      if (a.created_at != b.created_at) {
        return query.newest_first ? a.created_at > b.created_at : a.created_at < b.created_at;
      }
      return query.newest_first ? a.id > b.id : a.id < b.id;
    });
    if (out.size() > static_cast<std::size_t>(query.limit)) {
      out.resize(static_cast<std::size_t>(query.limit));
    }
    return out;
  }

  Result<std::vector<ResultLink>> LinksOf(const std::string& check_in_id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<ResultLink> out;
    for (const auto& [result_id, link] : links_) {
      if (link.check_in_id == check_in_id) out.push_back(link);
    }
    // Oldest first; the result id breaks ties (links_ is ordered by it and the sort is stable).
    std::stable_sort(out.begin(), out.end(),
                     [](const ResultLink& a, const ResultLink& b) { return a.at < b.at; });
    return out;
  }

  Result<std::optional<ResultLink>> LinkOfResult(std::int64_t result_id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = links_.find(result_id);
    if (it == links_.end()) return std::optional<ResultLink>();
    return std::optional<ResultLink>(it->second);
  }

  Result<std::vector<std::int64_t>> UnlinkedFaceResults(SystemTime since) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::map<std::int64_t, SystemTime> faces = face_results_;
    if (results_ != nullptr) {
      std::vector<std::string> seen_bytes;  // raw_sha256 of every earlier result
      for (const auto& r : results_->Results()) {
        const bool duplicate =
            std::find(seen_bytes.begin(), seen_bytes.end(), r.raw_sha256) != seen_bytes.end();
        seen_bytes.push_back(r.raw_sha256);
        if (r.source == "face" && !duplicate) faces[r.id] = r.received_at;
      }
    }
    std::vector<std::int64_t> out;
    for (const auto& [id, received_at] : faces) {
      if (received_at >= since && links_.count(id) == 0) out.push_back(id);
    }
    return out;  // ordered by id: oldest first, as PgStore
  }

  Result<std::vector<PatientLink>> PatientLinks(const std::string& check_in_id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<PatientLink> out;
    for (const auto& link : patient_links_) {
      if (link.check_in_id == check_in_id) out.push_back(link);
    }
    // Oldest first; append order (the id) breaks ties.
    std::stable_sort(out.begin(), out.end(),
                     [](const PatientLink& a, const PatientLink& b) { return a.at < b.at; });
    return out;
  }

  // --- test hooks ---

  // Every event written with a check-in, oldest first, with its cursor (1, 2, … when the store
  // has no MemEventStore; the shared log's cursors when it has one).
  std::vector<Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

  // Registers a stored face result (what eligibility_results holds for PgStore).
  void AddFaceResult(std::int64_t id, SystemTime received_at) {
    std::lock_guard lock(mu_);
    face_results_[id] = received_at;
  }

  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }

 private:
  static DomainError Unreachable() { return core::DatabaseUnavailable("unreachable (test)"); }

  Status CheckResultLinkLocked(const Attachments& with) const {
    if (!with.result_link) return core::OkStatus();
    auto it = links_.find(with.result_link->result_id);
    const std::string& move_from = with.result_link->move_from;
    if (move_from.empty()) {
      if (it != links_.end()) return core::checkin::ResultAlreadyLinked(it->second.check_in_id);
    } else if (it == links_.end() || it->second.check_in_id != move_from) {
      return core::checkin::ResultAlreadyLinked(it == links_.end() ? "" : it->second.check_in_id);
    }
    return core::OkStatus();
  }

  // Called only after every check passed, so nothing here can fail half-way.
  void WriteAttachmentsLocked(const std::string& check_in_id, const Attachments& with) {
    if (with.result_link) {
      ResultLink link = *with.result_link;
      link.check_in_id = check_in_id;
      link.move_from.clear();
      links_[link.result_id] = std::move(link);
    }
    if (with.patient_link) {
      PatientLink link = *with.patient_link;
      link.id = next_patient_link_id_++;
      link.check_in_id = check_in_id;
      patient_links_.push_back(std::move(link));
    }
    if (event_store_ != nullptr) {
      for (auto& e : event_store_->Commit(with.events)) events_.push_back(std::move(e));
      return;
    }
    for (Event e : with.events) {
      e.cursor = next_cursor_++;
      events_.push_back(std::move(e));
    }
  }

  // Wakes the shared event store's subscribers once the write is visible (no lock held).
  void WakeAfter(const Attachments& with) {
    if (event_store_ != nullptr && !with.events.empty()) event_store_->Wake();
  }

  MemEventStore* const event_store_;
  const MemResultStore* const results_;
  mutable std::mutex mu_;
  bool reachable_ = true;
  std::map<std::string, CheckInRow> rows_;            // by id
  std::map<std::string, std::string> by_client_key_;  // non-empty client_key -> id
  std::map<std::int64_t, ResultLink> links_;          // by result id
  std::vector<PatientLink> patient_links_;            // append order
  std::vector<Event> events_;
  std::map<std::int64_t, SystemTime> face_results_;  // by id
  std::int64_t next_patient_link_id_ = 1;
  std::int64_t next_cursor_ = 1;
};

}  // namespace onshid::testing
