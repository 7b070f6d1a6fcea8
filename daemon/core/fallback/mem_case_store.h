#pragma once
// MemFallbackCaseStore: an in-memory FallbackCaseStore for unit tests (header-only, the standard
// library only). Passes the same contract as PgStore (tests/support/fallback_case_store_contract.h).
// One mutex guards everything, so a write is all or nothing like PgStore's transaction.
//
// Also holds the errors and checks every FallbackCaseStore shares (PgStore includes this header),
// so both return the same reasons and messages.
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
#include "core/mem_store.h"

namespace onshid::core::fallback {

// ---- Shared by every FallbackCaseStore implementation ----

inline DomainError CaseExists(const std::string& holder_id) {
  DomainError e;
  e.kind = ErrorKind::kAlreadyExists;
  e.reason = "CASE_EXISTS";
  e.message = "the fallback case exists already";
  e.message_ja = "この対応記録は既に登録されています。";
  e.metadata = {{"case_id", holder_id}};
  return e;
}

inline DomainError CaseNotFound(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kNotFound;
  e.reason = "CASE_NOT_FOUND";
  e.message = "no such fallback case";
  e.message_ja = "対応記録が見つかりません。";
  e.metadata = {{"case_id", id}};
  return e;
}

inline DomainError CaseConcurrentUpdate(const std::string& id) {
  DomainError e;
  e.kind = ErrorKind::kAborted;
  e.reason = "CASE_CONCURRENT_UPDATE";
  e.message = "the fallback case was changed by someone else in the meantime; read it again and retry";
  e.message_ja = "対応記録が他の操作で更新されました。最新の内容を確認してからやり直してください。";
  e.metadata = {{"case_id", id}};
  return e;
}

inline Status ValidateLimit(int limit) {
  if (limit < 1 || limit > 1000) {
    return InvalidArgument("INVALID_LIMIT", "limit must be between 1 and 1000",
                           "取得件数は1〜1000の範囲で指定してください。",
                           {{"limit", "must be between 1 and 1000"}});
  }
  return OkStatus();
}

// What the application must get right before a write; a failure is a bug (INTERNAL).
inline Status ValidateCaseWrite(const CaseRow& row, const CaseWrite& with, bool insert) {
  if (row.id.empty()) return Internal("fallback case write without an id");
  if (insert && row.version != 1) return Internal("a new fallback case must have version 1");
  for (const auto& a : with.attempts) {
    if (!a.case_id.empty() && a.case_id != row.id) {
      return Internal("an attempt written with a case must name that case");
    }
  }
  for (const auto& t : with.tasks) {
    if (t.id.empty()) return Internal("a task without an id");
    if (!t.case_id.empty() && t.case_id != row.id) {
      return Internal("a task written with a case must name that case");
    }
  }
  return OkStatus();
}

inline bool MatchesCaseQuery(const CaseRow& row, const CaseQuery& q) {
  if (q.state && row.state != *q.state) return false;
  if (q.day && row.day != *q.day) return false;
  if (q.check_in_id && row.check_in_id != *q.check_in_id) return false;
  return true;
}

inline bool MatchesTaskQuery(const Task& t, const TaskQuery& q) {
  if (q.case_id && t.case_id != *q.case_id) return false;
  if (q.state && t.state != *q.state) return false;
  if (q.due_on_or_before && t.due_day > *q.due_on_or_before) return false;
  return true;
}

// ---- The in-memory store ----

class MemFallbackCaseStore final : public FallbackCaseStore {
 public:
  Status InsertCase(const CaseRow& row, const CaseWrite& with) override {
    if (auto valid = ValidateCaseWrite(row, with, true); !valid) return valid;
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    for (const auto& [id, stored] : cases_) {
      if (!row.client_key.empty() && stored.client_key == row.client_key) return CaseExists(id);
    }
    if (cases_.count(row.id) != 0) return CaseExists(row.id);
    for (const auto& [id, stored] : cases_) {
      if (!row.check_in_id.empty() && stored.check_in_id == row.check_in_id) return CaseExists(id);
    }
    cases_[row.id] = row;
    ApplyLocked(row.id, with);
    return OkStatus();
  }

  Status UpdateCase(const CaseRow& row, const CaseWrite& with) override {
    if (auto valid = ValidateCaseWrite(row, with, false); !valid) return valid;
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = cases_.find(row.id);
    if (it == cases_.end()) return CaseNotFound(row.id);
    if (it->second.version != row.version - 1) return CaseConcurrentUpdate(row.id);
    it->second = row;
    ApplyLocked(row.id, with);
    return OkStatus();
  }

  Result<std::optional<CaseRow>> GetCase(const std::string& id) override {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unreachable();
    auto it = cases_.find(id);
    if (it == cases_.end()) return std::optional<CaseRow>();
    return std::optional<CaseRow>(WithFlagLocked(it->second));
  }

  Result<std::optional<CaseRow>> CaseForClientKey(const std::string& client_key) override {
    return FindBy([&](const CaseRow& r) { return !client_key.empty() && r.client_key == client_key; });
  }

  Result<std::optional<CaseRow>> CaseForCheckIn(const std::string& check_in_id) override {
    return FindBy(
        [&](const CaseRow& r) { return !check_in_id.empty() && r.check_in_id == check_in_id; });
  }

  Result<std::vector<CaseRow>> ListCases(const CaseQuery& query) override {
    if (auto valid = ValidateLimit(query.limit); !valid) return valid.error();
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
    if (auto valid = ValidateLimit(query.limit); !valid) return valid.error();
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
    if (auto valid = ValidateLimit(limit); !valid) return valid.error();
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
  static DomainError Unreachable() { return DatabaseUnavailable("in-memory store set unreachable"); }

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
    for (Event e : with.events) {
      e.cursor = static_cast<std::int64_t>(events_.size()) + 1;
      events_.push_back(std::move(e));
    }
  }

  mutable std::mutex mu_;
  bool reachable_ = true;
  std::map<std::string, CaseRow> cases_;
  std::map<std::string, std::vector<Attempt>> attempts_;
  std::map<std::string, std::string> personal_;
  std::map<std::string, Task> tasks_;
  std::vector<Event> events_;
};

}  // namespace onshid::core::fallback
