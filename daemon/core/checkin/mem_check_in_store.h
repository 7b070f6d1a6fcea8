#pragma once
// MemCheckInStore: an in-memory CheckInStore for unit tests of core logic and app use cases
// (header-only, the standard library only). Passes the same contract as PgStore
// (tests/support/check_in_store_contract.h). Thread-safe: one mutex guards everything, so every
// write is all or nothing like PgStore's transaction.
//
// Also holds the errors and checks every CheckInStore implementation shares (PgStore includes this
// header for them), so both return exactly the same reasons, messages and metadata.
//
// Test hooks: events() returns the events written with check-ins (there is no EventStore here);
// AddFaceResult() registers a face result for UnlinkedFaceResults (there is no results table);
// SetReachable(false) makes every call fail with DATABASE_UNAVAILABLE.

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/checkin/check_in_store.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/mem_store.h"
#include "core/results.h"

namespace onshid::core::checkin {

// ---- Shared by every CheckInStore implementation ----

// The id or non-empty client_key of a new check-in is taken; `existing_id` names the check-in
// holding it (the caller's earlier attempt, when retrying).
inline DomainError CheckInExists(const std::string& existing_id) {
  DomainError e;
  e.kind = ErrorKind::kAlreadyExists;
  e.reason = "CHECKIN_EXISTS";
  e.message = "the check-in exists already";
  e.message_ja = "この受付は既に登録されています。";
  e.metadata = {{"check_in_id", existing_id}};
  return e;
}

// The result of a result link is linked to `holder_id` already (a result belongs to at most one
// check-in).
inline DomainError ResultAlreadyLinked(const std::string& holder_id) {
  DomainError e;
  e.kind = ErrorKind::kAlreadyExists;
  e.reason = "RESULT_ALREADY_LINKED";
  e.message = "the eligibility result is linked to a check-in already";
  e.message_ja = "この資格確認結果は既に受付に紐付けられています。";
  e.metadata = {{"check_in_id", holder_id}};
  return e;
}

inline DomainError CheckInNotFound(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kNotFound;
  e.reason = "CHECKIN_NOT_FOUND";
  e.message = "no such check-in";
  e.message_ja = "受付が見つかりません。";
  e.metadata = {{"check_in_id", id}};
  return e;
}

// The port documents kAborted, which core::ErrorKind does not have (yet): until it is added (with
// its gRPC ABORTED / HTTP 409 mapping in api/status_mapping.cc) this is kFailedPrecondition, the
// nearest existing kind. Callers switch on the reason, which is final.
inline DomainError CheckInConcurrentUpdate(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kAborted;
  e.reason = "CHECKIN_CONCURRENT_UPDATE";
  e.message = "the check-in was changed by someone else in the meantime; read it again and retry";
  e.message_ja = "受付が他の操作で更新されました。最新の内容を確認してからやり直してください。";
  e.metadata = {{"check_in_id", id}};
  return e;
}

// Limit range of CheckInQuery, with the same reason and wording as the audit query's.
inline Status ValidateCheckInQuery(const CheckInQuery& query) {
  if (query.limit < 1 || query.limit > 1000) {
    return InvalidArgument("INVALID_LIMIT", "limit must be between 1 and 1000",
                           "取得件数は1〜1000の範囲で指定してください。",
                           {{"limit", "must be between 1 and 1000"}});
  }
  return OkStatus();
}

// Checks what the application must get right before a write; a failure is a bug (INTERNAL), not
// bad input. Attachments belong to `row`: a link may leave its check_in_id empty (the store fills
// in row.id) but must not name another check-in.
inline Status ValidateCheckInWrite(const CheckInRow& row, const Attachments& with, bool insert) {
  if (row.id.empty()) return Internal("check-in write without an id");
  if (insert && row.version != 1) return Internal("a new check-in must have version 1");
  if (with.result_link && !with.result_link->check_in_id.empty() &&
      with.result_link->check_in_id != row.id) {
    return Internal("a result link written with a check-in must name that check-in");
  }
  if (with.patient_link && !with.patient_link->check_in_id.empty() &&
      with.patient_link->check_in_id != row.id) {
    return Internal("a patient link written with a check-in must name that check-in");
  }
  return OkStatus();
}

// Whether `row` passes every filter of `query` (limit and order aside).
inline bool MatchesCheckInQuery(const CheckInRow& row, const CheckInQuery& query) {
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

class MemCheckInStore final : public CheckInStore {
 public:
  Status InsertCheckIn(const CheckInRow& row, const Attachments& with) override {
    if (auto valid = ValidateCheckInWrite(row, with, /*insert=*/true); !valid) return valid;
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    // A retry of the same request names the check-in it created: prefer the client_key's holder.
    if (!row.client_key.empty()) {
      if (auto it = by_client_key_.find(row.client_key); it != by_client_key_.end()) {
        return CheckInExists(it->second);
      }
    }
    if (rows_.count(row.id) != 0) return CheckInExists(row.id);
    if (auto linked = CheckResultLinkLocked(with); !linked) return linked;
    rows_[row.id] = row;
    if (!row.client_key.empty()) by_client_key_[row.client_key] = row.id;
    WriteAttachmentsLocked(row.id, with);
    return OkStatus();
  }

  Status UpdateCheckIn(const CheckInRow& row, const Attachments& with) override {
    if (auto valid = ValidateCheckInWrite(row, with, /*insert=*/false); !valid) return valid;
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = rows_.find(row.id);
    if (it == rows_.end()) return CheckInNotFound(row.id);
    if (it->second.version != row.version - 1) return CheckInConcurrentUpdate(row.id);
    const std::string old_key = it->second.client_key;
    if (!row.client_key.empty() && row.client_key != old_key) {
      if (auto holder = by_client_key_.find(row.client_key); holder != by_client_key_.end()) {
        return CheckInExists(holder->second);
      }
    }
    if (auto linked = CheckResultLinkLocked(with); !linked) return linked;
    if (!old_key.empty()) by_client_key_.erase(old_key);
    if (!row.client_key.empty()) by_client_key_[row.client_key] = row.id;
    it->second = row;
    WriteAttachmentsLocked(row.id, with);
    return OkStatus();
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
    if (auto valid = ValidateCheckInQuery(query); !valid) return valid.error();
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
    std::vector<std::int64_t> out;
    for (const auto& [id, received_at] : face_results_) {
      if (received_at >= since && links_.count(id) == 0) out.push_back(id);
    }
    return out;  // face_results_ is ordered by id: oldest first, as PgStore
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

  // Every event written with a check-in, oldest first, with its cursor (1, 2, …).
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
  static DomainError Unreachable() { return DatabaseUnavailable("unreachable (test)"); }

  Status CheckResultLinkLocked(const Attachments& with) const {
    if (!with.result_link) return OkStatus();
    auto it = links_.find(with.result_link->result_id);
    const std::string& move_from = with.result_link->move_from;
    if (move_from.empty()) {
      if (it != links_.end()) return ResultAlreadyLinked(it->second.check_in_id);
    } else if (it == links_.end() || it->second.check_in_id != move_from) {
      return ResultAlreadyLinked(it == links_.end() ? "" : it->second.check_in_id);
    }
    return OkStatus();
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
    for (Event e : with.events) {
      e.cursor = next_cursor_++;
      events_.push_back(std::move(e));
    }
  }

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

}  // namespace onshid::core::checkin
