#pragma once
// MemFallbackCaseStore: an in-memory FallbackCaseStore for unit tests (header-only, the standard
// library only). Passes the same contract as PgStore
// (tests/support/fallback_case_store_contract.h). One mutex guards everything, so a write is all or
// nothing like PgStore's transaction. The errors and checks every FallbackCaseStore shares are
// core's (core/fallback/case_store_errors.h).
//
// Given a MemEventStore, the events written with a case are committed there in the same write
// (its lock is taken inside this store's) and its subscribers are woken afterwards, as PgStore's
// one events table; alone the store numbers its events itself.
//
// Test hooks: events() returns the events written with cases; SetReachable(false) makes every call
// fail with DATABASE_UNAVAILABLE.

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/fallback/case_store.h"
#include "core/fallback/case_store_errors.h"
#include "core/store_errors.h"
#include "support/mem_event_store.h"

namespace onshid::testing {

// Whether a case / task passes every filter of a query (limit and order aside).
inline bool MatchesCaseQuery(const core::fallback::CaseRow& row,
                             const core::fallback::CaseQuery& q) {
  if (q.state && row.state != *q.state) return false;
  if (q.day && row.day != *q.day) return false;
  if (q.check_in_id && row.check_in_id != *q.check_in_id) return false;
  return true;
}

inline bool MatchesTaskQuery(const core::fallback::Task& t, const core::fallback::TaskQuery& q) {
  if (q.case_id && t.case_id != *q.case_id) return false;
  if (q.state && t.state != *q.state) return false;
  if (q.due_on_or_before && t.due_day > *q.due_on_or_before) return false;
  return true;
}

// ---- The in-memory store ----

class MemFallbackCaseStore final : public core::fallback::FallbackCaseStore {
 public:
  using CaseRow = core::fallback::CaseRow;
  using CaseWrite = core::fallback::CaseWrite;
  using CaseQuery = core::fallback::CaseQuery;
  using Task = core::fallback::Task;
  using TaskQuery = core::fallback::TaskQuery;
  using Attempt = core::fallback::Attempt;
  using Event = core::Event;
  using DomainError = core::DomainError;
  using Status = core::Status;
  using SystemTime = core::SystemTime;
  template <typename T>
  using Result = core::Result<T>;

  // `events`, when given, must outlive the store.
  explicit MemFallbackCaseStore(MemEventStore* events = nullptr) : event_store_(events) {}

  Status InsertCase(const CaseRow& row, const CaseWrite& with) override {
    if (auto valid = core::fallback::ValidateCaseWrite(row, with, true); !valid) return valid;
    {
      std::lock_guard lock(mu_);
      if (!reachable_) return Unreachable();
      for (const auto& [id, stored] : cases_) {
        if (!row.client_key.empty() && stored.client_key == row.client_key) {
          return core::fallback::CaseExists(id);
        }
      }
      if (cases_.count(row.id) != 0) return core::fallback::CaseExists(row.id);
      for (const auto& [id, stored] : cases_) {
        if (!row.check_in_id.empty() && stored.check_in_id == row.check_in_id) {
          return core::fallback::CaseExists(id);
        }
      }
      cases_[row.id] = row;
      ApplyLocked(row.id, with);
    }
    WakeAfter(with);
    return core::OkStatus();
  }

  Status UpdateCase(const CaseRow& row, const CaseWrite& with) override {
    if (auto valid = core::fallback::ValidateCaseWrite(row, with, false); !valid) return valid;
    {
      std::lock_guard lock(mu_);
      if (!reachable_) return Unreachable();
      auto it = cases_.find(row.id);
      if (it == cases_.end()) return core::fallback::CaseNotFound(row.id);
      if (it->second.version != row.version - 1) {
        return core::fallback::CaseConcurrentUpdate(row.id);
      }
      it->second = row;
      ApplyLocked(row.id, with);
    }
    WakeAfter(with);
    return core::OkStatus();
  }

  Result<std::optional<CaseRow>> GetCase(const std::string& id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = cases_.find(id);
    if (it == cases_.end()) return std::optional<CaseRow>();
    return std::optional<CaseRow>(WithFlagLocked(it->second));
  }

  Result<std::optional<CaseRow>> CaseForClientKey(const std::string& client_key) override {
    return FindBy(
        [&](const CaseRow& r) { return !client_key.empty() && r.client_key == client_key; });
  }

  Result<std::optional<CaseRow>> CaseForCheckIn(const std::string& check_in_id) override {
    return FindBy(
        [&](const CaseRow& r) { return !check_in_id.empty() && r.check_in_id == check_in_id; });
  }

  Result<std::vector<CaseRow>> ListCases(const CaseQuery& query) override {
    if (auto valid = core::fallback::ValidateLimit(query.limit); !valid) return valid.error();
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<CaseRow> out;
    for (const auto& [id, r] : cases_) {
      if (MatchesCaseQuery(r, query)) out.push_back(WithFlagLocked(r));
    }
    std::sort(out.begin(), out.end(), [](const CaseRow& a, const CaseRow& b) {
      return a.opened_at != b.opened_at ? a.opened_at > b.opened_at : a.id > b.id;
    });
    if (out.size() > static_cast<std::size_t>(query.limit)) out.resize(query.limit);
    return out;
  }

  Result<std::vector<Attempt>> Attempts(const std::string& case_id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = attempts_.find(case_id);
    return it == attempts_.end() ? std::vector<Attempt>() : it->second;
  }

  Result<std::optional<std::string>> PersonalData(const std::string& case_id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = personal_.find(case_id);
    if (it == personal_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Result<std::vector<Task>> ListTasks(const TaskQuery& query) override {
    if (auto valid = core::fallback::ValidateLimit(query.limit); !valid) return valid.error();
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<Task> out;
    for (const auto& [id, t] : tasks_) {
      if (MatchesTaskQuery(t, query)) out.push_back(t);
    }
    std::sort(out.begin(), out.end(), [](const Task& a, const Task& b) {
      if (a.due_day != b.due_day) return a.due_day < b.due_day;
      return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
    });
    if (out.size() > static_cast<std::size_t>(query.limit)) out.resize(query.limit);
    return out;
  }

  Result<std::vector<std::string>> CasesToPurge(SystemTime before, int limit) override {
    if (auto valid = core::fallback::ValidateLimit(limit); !valid) return valid.error();
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    std::vector<const CaseRow*> due;
    for (const auto& [id, r] : cases_) {
      if (r.state == "CLOSED" && r.closed_at && *r.closed_at < before && personal_.count(id)) {
        due.push_back(&r);
      }
    }
    std::sort(due.begin(), due.end(),
              [](const CaseRow* a, const CaseRow* b) { return *a->closed_at < *b->closed_at; });
    std::vector<std::string> out;
    for (const CaseRow* r : due) {
      if (out.size() == static_cast<std::size_t>(limit)) break;
      out.push_back(r->id);
    }
    return out;
  }

  std::vector<Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }

 private:
  static DomainError Unreachable() {
    return core::DatabaseUnavailable("in-memory store set unreachable");
  }

  template <typename Pred>
  Result<std::optional<CaseRow>> FindBy(Pred pred) {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    for (const auto& [id, r] : cases_) {
      if (pred(r)) return std::optional<CaseRow>(WithFlagLocked(r));
    }
    return std::optional<CaseRow>();
  }

  CaseRow WithFlagLocked(CaseRow r) const {
    r.has_personal_data = personal_.count(r.id) != 0;
    return r;
  }

  void ApplyLocked(const std::string& case_id, const CaseWrite& with) {
    auto& list = attempts_[case_id];
    for (Attempt a : with.attempts) {
      a.case_id = case_id;
      a.seq = static_cast<std::int64_t>(list.size()) + 1;
      list.push_back(std::move(a));
    }
    if (with.purge_personal_data) {
      personal_.erase(case_id);
    } else if (with.personal_data) {
      personal_[case_id] = *with.personal_data;
    }
    for (Task t : with.tasks) {
      t.case_id = case_id;
      tasks_[t.id] = std::move(t);
    }
    if (event_store_ != nullptr) {
      for (auto& e : event_store_->Commit(with.events)) events_.push_back(std::move(e));
      return;
    }
    for (Event e : with.events) {
      e.cursor = static_cast<std::int64_t>(events_.size()) + 1;
      events_.push_back(std::move(e));
    }
  }

  // Wakes the shared event store's subscribers once the write is visible (no lock held).
  void WakeAfter(const CaseWrite& with) {
    if (event_store_ != nullptr && !with.events.empty()) event_store_->Wake();
  }

  MemEventStore* const event_store_;
  mutable std::mutex mu_;
  bool reachable_ = true;
  std::map<std::string, CaseRow> cases_;
  std::map<std::string, std::vector<Attempt>> attempts_;
  std::map<std::string, std::string> personal_;
  std::map<std::string, Task> tasks_;
  std::vector<Event> events_;
};

}  // namespace onshid::testing
