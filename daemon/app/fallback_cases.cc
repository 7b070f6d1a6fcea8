#include "app/fallback_cases.h"

#include <algorithm>
#include <utility>

#include "app/fallback_case_record.h"
#include "app/logging.h"
#include "core/fallback/case_errors.h"
#include "core/fallback/case_store_errors.h"
#include "failpoint/failpoint.h"

namespace onshid::app {
namespace {

namespace fb = core::fallback;
namespace ck = core::checkin;

std::string ActorOf(const Actor& actor) {
  return actor.client.empty() ? std::string(fb::kDaemonActor) : actor.client;
}

core::DomainError CheckInsUnavailable() {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "CHECKINS_UNAVAILABLE";
  e.message = "check-ins are not available in this daemon";
  e.message_ja = "受付機能が利用できません。";
  return e;
}

// What the case needs of a check-in (and of its result, when it has one).
fb::CheckInFacts FactsOf(const CheckInView& view, const std::optional<ResultView>& result,
                         bool can_reverify) {
  const CheckInRecord& r = view.record;
  fb::CheckInFacts f;
  f.id = r.id;
  f.day = r.day;
  f.state = r.state;
  f.cause = r.cause;
  f.channel = r.channel;
  f.documents = r.documents;
  f.visit = r.visit.kind;
  f.real_days_this_month = r.visit.real_days_this_month;
  if (r.query) f.query_birth_date = r.query->birth_date;
  if (result && result->parsed) f.result = *result->parsed;
  f.can_reverify = can_reverify;
  return f;
}

}  // namespace

FallbackCaseUseCases::FallbackCaseUseCases(fb::FallbackCaseStore& store, core::Store& audit,
                                           CaseCheckIns* checkins, const core::Clock& clock,
                                           core::IdSource& ids, Executor& executor,
                                           FallbackOptions options)
    : store_(store),
      audit_(audit),
      checkins_(checkins),
      clock_(clock),
      ids_(ids),
      executor_(executor),
      options_(std::move(options)) {}

// ---------------------------------------------------------------------------------------------
// Loading and saving

core::Result<fb::Case> FallbackCaseUseCases::Load(const std::string& id) {
  auto row = store_.GetCase(id);
  if (!row) return row.error();
  if (!row.value()) return fb::CaseNotFound(id);
  std::optional<std::string> personal;
  if (row.value()->has_personal_data) {
    auto p = store_.PersonalData(id);
    if (!p) return p.error();
    personal = std::move(p).value();
  }
  // Read after the row: tasks change only with the case's version, so tasks newer than the row
  // make the save fail and the change is decided again.
  auto tasks = TasksOf(id, std::nullopt);
  if (!tasks) return tasks.error();
  return DecodeCase(*row.value(), personal, *tasks);
}

core::Status FallbackCaseUseCases::Save(fb::Change& change, bool insert) {
  fb::Case& c = change.after;
  const std::int64_t loaded = c.version;
  c.updated_at = clock_.Now();
  c.version = insert ? 1 : loaded + 1;
  EncodedCase encoded = EncodeCase(c);
  fb::CaseWrite with = EncodeChange(change);
  // Personal data is written only when there is some: a purged case stays without any.
  if (!with.purge_personal_data) with.personal_data = std::move(encoded.personal_data);
  const bool written = with.personal_data.has_value();
  auto s = insert ? store_.InsertCase(encoded.row, with) : store_.UpdateCase(encoded.row, with);
  if (!s) {
    c.version = loaded;
    return s;
  }
  ONSHID_FAILPOINT("case.after_write");
  if (with.purge_personal_data) {
    c.has_personal_data = false;
  } else if (written) {
    c.has_personal_data = true;
  }
  return s;
}

template <typename Decide>
core::Result<fb::Case> FallbackCaseUseCases::Update(const std::string& id, Decide decide) {
  for (int attempt = 1;; ++attempt) {
    auto loaded = Load(id);
    if (!loaded) return loaded.error();
    core::Result<fb::Change> change = decide(loaded.value());
    if (!change) return change.error();
    if (!change->write) return std::move(change->after);
    auto saved = Save(change.value(), false);
    if (saved) return std::move(change->after);
    if (saved.error().reason != "CASE_CONCURRENT_UPDATE" || attempt >= kWriteAttempts) {
      return saved.error();
    }
    Logger("fallback")->debug("fallback case {} was changed meanwhile; deciding again", id);
  }
}

core::Result<std::vector<fb::Task>> FallbackCaseUseCases::TasksOf(
    const std::string& case_id, std::optional<std::string> state) {
  fb::TaskQuery q;
  q.case_id = case_id;
  q.state = std::move(state);
  q.limit = 1000;
  return store_.ListTasks(q);
}

core::Result<FallbackCaseView> FallbackCaseUseCases::InsertNew(fb::Change change) {
  if (auto s = Save(change, true); !s) {
    // Opened meanwhile (same client key or check-in): that case is the answer.
    if (s.error().reason == "CASE_EXISTS") {
      for (const auto& [k, v] : s.error().metadata) {
        if (k == "case_id") return Get(v);
      }
    }
    return s.error();
  }
  return ViewOf(change.after, false);
}

core::Result<FallbackCaseView> FallbackCaseUseCases::ViewOf(const fb::Case& c, bool tasks_loaded) {
  FallbackCaseView v;
  v.id = c.id;
  v.version = c.version;
  v.check_in_id = c.check_in_id;
  v.state = std::string(fb::ToString(c.state));
  v.day = c.day;
  v.opened_at = c.opened_at;
  v.updated_at = c.updated_at;
  v.closed_at = c.closed_at;
  v.opened_by = c.opened_by;
  v.close_reason = c.close_reason;
  v.input = c.input;
  v.unconfirmed_facts = c.unconfirmed_facts;
  // Decided again: the view explains the case with the engine as it is now.
  auto decided = fb::Decide(v.input);
  if (decided) {
    v.decision = std::move(decided).value();
  } else {
    v.decision_error = decided.error();
  }
  v.evidence = c.evidence;
  v.claim = c.claim;
  v.tekiyo = c.personal.tekiyo;
  v.confirmed = c.personal.confirmed;
  v.has_personal_data = c.has_personal_data;
  v.purged_at = c.purged_at;
  v.reverify = c.reverify;
  v.reverify_attempts = c.reverify_attempts;
  if (tasks_loaded) {
    for (const auto& t : c.tasks) v.tasks.push_back(EncodeTask(t, c.id));
  } else {
    // After a write, as stored.
    auto tasks = TasksOf(c.id, std::nullopt);
    if (!tasks) return tasks.error();
    v.tasks = std::move(tasks).value();
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Opening and revising

core::Result<FallbackCaseView> FallbackCaseUseCases::Open(const OpenCaseInput& in,
                                                          const Actor& actor) {
  const std::string who = ActorOf(actor);
  if (!in.client_key.empty()) {
    auto seen = store_.CaseForClientKey(in.client_key);
    if (!seen) return seen.error();
    if (seen.value()) return Get(seen.value()->id);
  }
  if (!in.check_in_id.empty()) {
    if (!checkins_) return CheckInsUnavailable();
    auto view = checkins_->Get(in.check_in_id);
    if (!view) return view.error();
    return OpenForCheckIn(*view, in, who);
  }
  auto opened = fb::OpenByHand({"fb_" + ids_.NewId(), in.client_key, who}, in.input, clock_.Now());
  if (!opened) return opened.error();
  const std::string id = opened->after.id;
  auto view = InsertNew(std::move(opened).value());
  if (view) Logger("fallback")->info("fallback case {} opened by hand", id);
  return view;
}

core::Result<FallbackCaseView> FallbackCaseUseCases::OpenForCheckIn(const CheckInView& view,
                                                                    const OpenCaseInput& in,
                                                                    const std::string& who) {
  const auto& r = view.record;
  {
    auto existing = store_.CaseForCheckIn(r.id);
    if (!existing) return existing.error();
    if (existing.value()) {
      // Staff's inputs revise a case nothing was recorded for yet.
      if (in.input && !existing.value()->state.empty()) {
        auto c = Load(existing.value()->id);
        if (c && !c->Closed() && c->evidence.empty()) {
          return Revise(existing.value()->id, *in.input, Actor{who, ""});
        }
      }
      return Get(existing.value()->id);
    }
  }
  std::optional<ResultView> result;
  if (r.state == ck::CheckInState::kNeedsFallback && r.result_id > 0 && checkins_) {
    if (auto got = checkins_->GetResult(r.result_id)) result = std::move(got).value();
  }
  const bool can_reverify = checkins_ && checkins_->CanReverify(view);
  auto opened = fb::OpenForCheckIn({"fb_" + ids_.NewId(), in.client_key, who},
                                   FactsOf(view, result, can_reverify), in.input,
                                   options_.reads_smartphones, clock_.Now());
  if (!opened) return opened.error();
  const std::string id = opened->after.id;
  const bool queued = opened->after.reverify == fb::ReverifyState::kQueued;
  auto created = InsertNew(std::move(opened).value());
  if (created) {
    Logger("fallback")
        ->info("fallback case {} opened for check-in {}{}", id, r.id,
               queued ? " (re-verification queued)" : "");
  }
  return created;
}

core::Result<FallbackCaseView> FallbackCaseUseCases::Revise(const std::string& id,
                                                            const fb::FallbackCase& revised,
                                                            const Actor& actor) {
  auto input = fb::CheckGivenInput(revised, core::oqs::OqsDate::JapanDateOf(clock_.Now()));
  if (!input) return input.error();
  const std::string who = ActorOf(actor);
  auto saved = Update(
      id, [&](const fb::Case& c) { return fb::Revise(c, *input, who, actor.Key(), clock_.Now()); });
  if (!saved) return saved.error();
  return ViewOf(*saved, false);
}

core::Result<FallbackCaseView> FallbackCaseUseCases::Get(const std::string& id) {
  auto c = Load(id);
  if (!c) return c.error();
  return ViewOf(*c, true);
}

core::Result<std::vector<FallbackCaseView>> FallbackCaseUseCases::List(const CaseFilter& filter) {
  fb::CaseQuery q;
  q.state = filter.state;
  q.day = filter.day;
  q.check_in_id = filter.check_in_id;
  q.limit = filter.limit;
  auto rows = store_.ListCases(q);
  if (!rows) return rows.error();
  std::vector<FallbackCaseView> out;
  for (const auto& row : rows.value()) {
    auto v = Get(row.id);
    if (!v) return v.error();
    out.push_back(std::move(v).value());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Evidence and the claim route

core::Result<FallbackCaseView> FallbackCaseUseCases::RecordEvidence(const std::string& id,
                                                                    const EvidenceInput& in,
                                                                    const Actor& actor) {
  const std::string who = ActorOf(actor);
  auto saved = Update(id, [&](const fb::Case& c) {
    return fb::RecordEvidence(c, in, who, actor.Key(), clock_.Now());
  });
  if (!saved) return saved.error();
  return ViewOf(*saved, false);
}

core::Result<FallbackCaseView> FallbackCaseUseCases::ChooseClaimRoute(const std::string& id,
                                                                      const ClaimRouteInput& in,
                                                                      const Actor& actor) {
  const std::string who = ActorOf(actor);
  std::optional<core::DomainError> refused;
  auto saved = Update(id, [&](const fb::Case& c) -> core::Result<fb::Change> {
    refused.reset();
    auto answer = fb::ChooseClaimRoute(c, in.expected, in.actual_days_at_claim, who, actor.Key(),
                                       clock_.Now());
    if (!answer) return answer.error();
    refused = std::move(answer->refused);
    return std::move(answer->change);
  });
  if (!saved) return saved.error();
  if (refused) return *refused;  // recorded in the proof of attempt, and refused
  return ViewOf(*saved, false);
}

// ---------------------------------------------------------------------------------------------
// Closing and purging

core::Result<FallbackCaseView> FallbackCaseUseCases::Close(const std::string& id,
                                                           const CloseCaseInput& in,
                                                           const Actor& actor) {
  const fb::CloseInput close{in.reason, in.keep_personal_data};
  if (auto s = fb::CheckCloseInput(close); !s) return s.error();
  const std::string who = ActorOf(actor);
  bool closed_now = false;
  auto saved = Update(id, [&](const fb::Case& c) {
    auto change = fb::Close(c, close, options_.return_watch_days, who, actor.Key(), clock_.Now());
    closed_now = change && change->write;
    return change;
  });
  if (!saved) return saved.error();
  if (closed_now) {
    Logger("fallback")
        ->info("fallback case {} closed ({}{})", id, in.reason,
               in.keep_personal_data ? ", personal data kept" : ", personal data purged");
  }
  // As stored: the purge leaves nothing personal to show.
  return Get(id);
}

core::Result<int> FallbackCaseUseCases::PurgeExpired() {
  const auto now = clock_.Now();
  auto due = store_.CasesToPurge(now - options_.personal_data_retention, 100);
  if (!due) return due.error();
  int purged = 0;
  for (const auto& id : due.value()) {
    auto saved = Update(id, [&](const fb::Case& c) -> core::Result<fb::Change> {
      return fb::PurgeExpired(c, options_.personal_data_retention.count(), now);
    });
    if (!saved) return saved.error();
    core::AuditRecord a;
    a.at = now;
    a.request_id = "purge-" + ids_.NewId();
    a.client = std::string(fb::kDaemonActor);
    a.method = "onshid/fallback.scheduled_purge";
    a.channel = "daemon";
    a.subject = "fallback_case:" + id;
    a.outcome = "OK";
    if (auto s = audit_.AppendAudit(a); !s) {
      Logger("fallback")->warn("scheduled purge of {} not audited: {}", id, s.error().message);
    }
    ++purged;
  }
  if (purged > 0) {
    Logger("fallback")->info("scheduled purge: personal data of {} case(s) deleted", purged);
  }
  return purged;
}

// ---------------------------------------------------------------------------------------------
// Tasks and proof

core::Result<std::vector<fb::Task>> FallbackCaseUseCases::ListTasks(const fb::TaskQuery& q) {
  if (q.limit < 1 || q.limit > 1000) {
    return core::InvalidArgument("INVALID_TASK_QUERY", "limit must be 1–1000",
                                 "件数の指定が正しくありません（1〜1000）。",
                                 {{"limit", "1–1000"}});
  }
  return store_.ListTasks(q);
}

core::Result<fb::Task> FallbackCaseUseCases::CompleteTask(const std::string& task_id,
                                                          const std::string& outcome,
                                                          const std::string& staff_id,
                                                          const Actor& actor) {
  if (auto s = fb::CheckTaskCompletion(outcome, staff_id); !s) return s.error();
  const auto case_id = fb::CaseIdOfTask(task_id);
  if (!case_id) return fb::TaskNotFound(task_id);
  const std::string who = ActorOf(actor);
  std::optional<fb::CaseTask> task;
  auto saved = Update(*case_id, [&](const fb::Case& c) -> core::Result<fb::Change> {
    auto done = fb::CompleteTask(c, task_id, outcome, staff_id, who, actor.Key(), clock_.Now());
    if (!done) return done.error();
    task = std::move(done->task);
    return std::move(done->change);
  });
  if (!saved) {
    if (saved.error().reason == "CASE_NOT_FOUND") return fb::TaskNotFound(task_id);
    return saved.error();
  }
  return EncodeTask(*task, *case_id);
}

core::Result<std::string> FallbackCaseUseCases::ExportProof(const std::string& id) {
  auto c = Load(id);
  if (!c) return c.error();
  auto attempts = store_.Attempts(id);
  if (!attempts) return attempts.error();
  return EncodeProof(*c, *attempts, clock_.Now());
}

// ---------------------------------------------------------------------------------------------
// Check-ins and re-verification

void FallbackCaseUseCases::OnCheckIn(const CheckInView& view) {
  const auto& r = view.record;
  auto log = Logger("fallback");
  if (r.state == ck::CheckInState::kNeedsFallback) {
    auto opened = OpenForCheckIn(view, OpenCaseInput{}, std::string(fb::kDaemonActor));
    if (!opened && opened.error().reason != "CHECKIN_NOT_IN_FALLBACK") {
      log->warn("no fallback case opened for check-in {}: {}", r.id, opened.error().message);
    }
    return;
  }
  if (r.state != ck::CheckInState::kVerified) return;
  auto existing = store_.CaseForCheckIn(r.id);
  if (!existing || !existing.value() || existing.value()->state != "OPEN") return;
  std::optional<ResultView> result;
  if (r.result_id > 0 && checkins_) {
    if (auto got = checkins_->GetResult(r.result_id)) result = std::move(got).value();
  }
  const core::oqs::EligibilityResult* parsed =
      result && result->parsed ? &*result->parsed : nullptr;
  bool closed_now = false;
  auto saved = Update(existing.value()->id, [&](const fb::Case& c) -> core::Result<fb::Change> {
    auto change = fb::VerifiedOnline(c, r.id, r.result_id, parsed, clock_.Now());
    closed_now = change.write;
    return change;
  });
  if (!saved) {
    log->warn("fallback case {}: online verification not recorded: {}", existing.value()->id,
              saved.error().message);
  } else if (closed_now) {
    log->info("fallback case {} closed (VERIFIED_ONLINE, personal data purged)", saved->id);
  }
}

void FallbackCaseUseCases::ReverifyTick(bool upstream_ok, int upstream_busy) {
  if (!checkins_) return;
  {
    // Claims the single re-verification slot (released below when nothing is sent).
    std::lock_guard lock(reverify_mu_);
    if (reverify_in_flight_ || !upstream_ok || upstream_busy > 0) return;
    if (clock_.Now() - last_reverify_ < options_.reverify_interval) return;
    reverify_in_flight_ = true;
  }
  bool sent = false;
  struct Release {
    FallbackCaseUseCases* self;
    bool* sent;
    ~Release() {
      if (*sent) return;
      std::lock_guard lock(self->reverify_mu_);
      self->reverify_in_flight_ = false;
    }
  } release{this, &sent};
  fb::CaseQuery q;
  q.state = "OPEN";
  q.limit = 1000;
  auto rows = store_.ListCases(q);
  if (!rows) return;
  // Oldest first: ListCases is newest first.
  for (auto it = rows->rbegin(); it != rows->rend(); ++it) {
    auto listed = DecodeCase(*it, std::nullopt, {});
    if (!listed) continue;
    // SENT with nothing in flight here: sent by a daemon that stopped before the answer.
    if (listed->reverify != fb::ReverifyState::kQueued &&
        listed->reverify != fb::ReverifyState::kSent) {
      continue;
    }
    if (auto ci = checkins_->Get(listed->check_in_id);
        !ci || ci->record.state != ck::CheckInState::kNeedsFallback) {
      continue;  // verified (its case closes through OnCheckIn) or gone: nothing to re-send
    }
    bool marked = false;
    auto saved = Update(it->id, [&](const fb::Case& c) -> core::Result<fb::Change> {
      auto change = fb::SendReverification(c, clock_.Now());
      marked = change.write;
      return change;
    });
    if (!saved) return;
    if (!marked) continue;  // closed or answered meanwhile
    {
      std::lock_guard lock(reverify_mu_);
      last_reverify_ = clock_.Now();
    }
    sent = true;
    const std::string case_id = saved->id;
    const std::string check_in_id = saved->check_in_id;
    const int attempt = saved->reverify_attempts;
    Logger("fallback")
        ->info("re-verifying check-in {} for fallback case {} (attempt {})", check_in_id, case_id,
               attempt);
    checkins_->Reverify(check_in_id, attempt, [this, case_id](core::Result<ResultView> outcome) {
      executor_.Post([this, case_id, outcome = std::move(outcome)]() mutable {
        ApplyReverification(case_id, std::move(outcome));
      });
    });
    return;
  }
}

void FallbackCaseUseCases::ApplyReverification(const std::string& case_id,
                                               core::Result<ResultView> outcome) {
  // The slot is released once the case says what happened (never SENT with the slot free).
  struct Release {
    FallbackCaseUseCases* self;
    ~Release() {
      std::lock_guard lock(self->reverify_mu_);
      self->reverify_in_flight_ = false;
    }
  } release{this};
  fb::ReverifyOutcome answer;
  if (!outcome) {
    answer.failure = outcome.error();
  } else {
    answer.result_id = outcome->stored.id;
    answer.result = outcome->parsed;
  }
  bool closed_now = false;
  auto saved = Update(case_id, [&](const fb::Case& c) -> core::Result<fb::Change> {
    auto change = fb::ApplyReverification(c, answer, options_.reverify_max_attempts, clock_.Now());
    closed_now = change.write && change.after.Closed();
    return change;
  });
  if (!saved) {
    Logger("fallback")
        ->warn("re-verification of case {} not recorded: {}", case_id, saved.error().message);
  } else if (closed_now) {
    Logger("fallback")
        ->info("fallback case {} closed (VERIFIED_ONLINE, personal data purged)", case_id);
  }
}

}  // namespace onshid::app
