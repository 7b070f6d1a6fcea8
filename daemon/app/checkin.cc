#include "app/checkin.h"

#include <algorithm>

#include "app/logging.h"
#include "failpoint/failpoint.h"
#include "core/oqs/identifiers.h"

namespace onshid::app {
namespace {

namespace ck = core::checkin;

// What a check-in knew about the arrival (for the cause of a read failure).
ck::ArrivalContext ArrivalOf(const CheckInRecord& r) {
  return {r.channel, ck::DocumentSet(r.documents)};
}

constexpr const char* kQueryKeyPrefix = "checkin:";

core::DomainError Invalid(std::string message, std::string message_ja,
                          std::vector<core::FieldViolation> fields) {
  return core::InvalidArgument("INVALID_CHECKIN", std::move(message), std::move(message_ja),
                               std::move(fields));
}

core::DomainError Precondition(std::string reason, std::string message, std::string message_ja) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja = std::move(message_ja);
  return e;
}

core::DomainError NotFound(const std::string& id) {
  core::DomainError e;
  e.kind = core::ErrorKind::kNotFound;
  e.reason = "CHECKIN_NOT_FOUND";
  e.message = "no check-in " + id;
  e.message_ja = "指定された受付が見つかりません。";
  e.metadata = {{"check_in_id", id}};
  return e;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The Japan calendar day of an instant, YYYY-MM-DD.
std::string JapanDay(core::SystemTime t) {
  return IsoDate(core::oqs::OqsDate::JapanDateOf(t).ymd());
}


bool IsFinal(ck::CheckInState s) {
  return s == ck::CheckInState::kVerified || s == ck::CheckInState::kCancelled;
}

// A check-in created by a result no check-in took: it waits for nothing, and its result may be
// assigned elsewhere while staff have not resolved it.
bool OwnsItsResult(const CheckInRecord& r) { return r.from_result; }
bool Unresolved(const CheckInRecord& r) {
  return r.from_result && (r.correlation == "UNMATCHED" || r.correlation == "AMBIGUOUS");
}

// What a failed card inspection means for the check-in (nullopt: refuse the start, staff retry).
std::optional<ck::ReadFailure> ReadFailureOf(const core::DomainError& e) {
  if (e.reason == "NO_CARD" || e.reason == "CARD_REMOVED" || e.reason == "READER_NOT_FOUND") {
    return std::nullopt;
  }
  if (e.reason == "PCSC_SERVICE_UNAVAILABLE" || e.reason == "READER_UNAVAILABLE") {
    return ck::ReadFailure::kReaderTrouble;
  }
  return ck::ReadFailure::kIcUnreadable;
}

}  // namespace

CheckInUseCases::CheckInUseCases(ck::CheckInStore& store, EligibilityUseCases* eligibility,
                                 core::card::CardReaders* readers, const core::Clock& clock,
                                 core::IdSource& ids, Executor& executor, CheckInOptions options)
    : store_(store),
      eligibility_(eligibility),
      readers_(readers),
      clock_(clock),
      ids_(ids),
      executor_(executor),
      options_(std::move(options)) {}

CheckInUseCases::~CheckInUseCases() = default;

std::string CheckInUseCases::Today() const {
  return JapanDay(clock_.Now());
}

core::Event CheckInUseCases::MakeEvent(const CheckInRecord& r, std::string type,
                                       std::string reason, std::string detail) const {
  core::Event e;
  e.at = clock_.Now();
  e.type = std::move(type);
  e.result_id = r.result_id;
  e.detail = std::move(detail);
  e.attributes = {{"check_in_id", r.id}, {"desk_id", r.desk_id},
                  {"state", std::string(ck::ToString(r.state))}};
  if (!reason.empty()) e.attributes.emplace_back("reason", std::move(reason));
  if (r.cause) e.attributes.emplace_back("cause", std::string(core::ToString(*r.cause)));
  if (!r.correlation.empty()) e.attributes.emplace_back("correlation", r.correlation);
  return e;
}

core::Status CheckInUseCases::ApplyOutcome(CheckInRecord& r, const ck::Outcome& outcome,
                                           std::vector<core::Event>& events) {
  auto machine = ck::CheckInMachine::Restore(r.state, r.cause);
  auto applied = machine.Apply(outcome, clock_.Now());
  if (!applied) return applied.error();
  for (const auto& n : outcome.notices) {
    const bool seen = std::any_of(r.notices.begin(), r.notices.end(),
                                  [&](const ck::StaffNotice& s) { return s.code == n.code; });
    if (!seen) r.notices.push_back(n);
  }
  if (outcome.scope == ck::InformationScope::kInsuranceOnly) r.scope = outcome.scope;
  if (!applied.value()) return core::OkStatus();  // kWaiting: nothing decided yet
  const ck::CheckInEvent& ev = *applied.value();
  r.state = machine.state();
  r.cause = machine.fallback_cause();
  r.reason = ev.reason;
  r.message = ev.message;
  r.message_ja = ev.message_ja;
  events.push_back(MakeEvent(r, "checkin." + Lower(ck::ToString(r.state)), ev.reason, ev.message));
  return core::OkStatus();
}

core::Status CheckInUseCases::Write(CheckInRecord& r, bool insert, ck::Attachments with) {
  const CheckInRecord before = r;
  r.updated_at = clock_.Now();
  r.version = insert ? 1 : r.version + 1;
  auto row = EncodeRecord(r);
  auto s = insert ? store_.InsertCheckIn(row, with) : store_.UpdateCheckIn(row, with);
  if (s) ONSHID_FAILPOINT("checkin.after_write");
  if (!s) {
    r = before;
  } else if (change_listener_) {
    // Every stored change (callers mutate the record before writing, so the previous state is
    // not known here); the listener acts on states, idempotently.
    executor_.Post([this, id = r.id] {
      if (auto v = Get(id)) change_listener_(v.value());
    });
  }
  return s;
}

void CheckInUseCases::SetChangeListener(ChangeListener listener) {
  change_listener_ = std::move(listener);
}

void CheckInUseCases::SetUpstreamGate(std::function<bool()> available) {
  upstream_gate_ = std::move(available);
}

void CheckInUseCases::Reverify(const std::string& id, int attempt,
                               std::function<void(core::Result<ResultView>)> done) {
  if (!eligibility_) {
    return done(Precondition("UPSTREAM_NOT_CONFIGURED", "no queries without an upstream",
                             "資格確認端末の連携が設定されていません。"));
  }
  auto record = Load(id);
  if (!record) return done(record.error());
  if (!record->query || record->query_key.empty()) {
    return done(Precondition("NO_QUERY_TO_REVERIFY", "the check-in has no document query",
                             "この受付には再照会できる照会内容がありません。"));
  }
  // The journal of every earlier attempt decides: an answered one is used, one still due is
  // waited for, and only when none can be answered any more is the patient asked again.
  std::string key = record->query_key + "#r" + std::to_string(attempt);
  std::string in_flight;
  for (int n = 0; n < attempt; ++n) {
    const std::string earlier = n == 0 ? record->query_key : record->query_key + "#r" + std::to_string(n);
    auto entry = eligibility_->JournalEntryOf(earlier);
    if (!entry) return done(entry.error());
    if (!entry.value()) continue;  // never sent (e.g. held back while the terminal was down)
    const auto state = entry.value()->state;
    if (state == core::JournalState::kAnswered) {
      key = earlier;  // its stored result (or its unreadable answer) is the outcome
      in_flight.clear();
      break;
    }
    if (state != core::JournalState::kRejected && state != core::JournalState::kAbandoned) {
      in_flight = earlier;
    }
  }
  if (!in_flight.empty()) key = in_flight;
  eligibility_->Query(RequestRef{key, ""}, *record->query, std::nullopt,
                      clock_.Now() + options_.query_timeout,
                      [this, id, done = std::move(done)](core::Result<ResultView> outcome) {
                        executor_.Post([this, id, done, outcome = std::move(outcome)]() mutable {
                          if (outcome) ApplyQueryOutcome(id, outcome);
                          done(std::move(outcome));
                        });
                      });
}

core::Result<CheckInRecord> CheckInUseCases::Load(const std::string& id) {
  auto row = store_.GetCheckIn(id);
  if (!row) return row.error();
  if (!row.value()) return NotFound(id);
  return DecodeRecord(*row.value());
}

core::Result<CheckInView> CheckInUseCases::View(CheckInRecord record) {
  CheckInView v;
  auto links = store_.LinksOf(record.id);
  if (!links) return links.error();
  auto patients = store_.PatientLinks(record.id);
  if (!patients) return patients.error();
  v.results = std::move(links).value();
  v.patient_links = std::move(patients).value();
  v.record = std::move(record);
  return v;
}

core::Result<CheckInView> CheckInUseCases::Get(const std::string& id) {
  auto r = Load(id);
  if (!r) return r.error();
  return View(std::move(r).value());
}

// ---------------------------------------------------------------------------------------------
// Start

void CheckInUseCases::Start(StartCheckInInput input, Done done) {
  std::vector<core::FieldViolation> bad;
  if (input.desk_id.empty()) {
    bad.emplace_back("desk_id", "required");
  } else if (!options_.known_desks.empty() && !options_.known_desks.count(input.desk_id)) {
    bad.emplace_back("desk_id", "not a desk of this site (checkin.desks)");
  }
  if (input.channel == ck::Channel::kGenericReader && input.reader.empty()) {
    bad.emplace_back("reader", "required for the generic-reader channel");
  }
  if (input.name_kana && !input.birth_date) {
    bad.emplace_back("birth_date", "required with name_kana");
  }
  if (input.birth_date && !ParseIsoDate(*input.birth_date)) {
    bad.emplace_back("birth_date", "must be a date YYYY-MM-DD");
  }
  if (!bad.empty()) {
    std::string names;
    for (const auto& v : bad) names += (names.empty() ? "" : ", ") + v.field;
    return done(Invalid("the check-in request has invalid fields: " + names,
                        "受付の内容に誤りがあります。", std::move(bad)));
  }
  if (auto v = ck::ValidateVisitFacts(input.visit); !v) return done(v.error());

  if (!input.client_key.empty()) {
    auto existing = store_.CheckInForClientKey(input.client_key);
    if (!existing) return done(existing.error());
    if (existing.value()) {
      auto record = DecodeRecord(*existing.value());
      if (!record) return done(record.error());
      return done(View(std::move(record).value()));
    }
  }

  const auto now = clock_.Now();
  auto decision = ck::EvaluateDocuments(input.channel, input.documents, input.holdings,
                                        core::oqs::OqsDate::JapanDateOf(now));
  if (!decision) return done(decision.error());

  CheckInRecord record;
  record.id = "ci_" + ids_.NewId();
  record.client_key = input.client_key;
  record.day = JapanDay(now);
  record.desk_id = input.desk_id;
  record.channel = input.channel;
  record.documents = input.documents;
  record.holdings = input.holdings;
  record.path = decision->path;
  record.visit = input.visit;
  record.patient_id = input.visit.patient_id;
  record.staff_notes_ja = decision->staff_notes_ja;
  record.reader = input.reader;
  record.keys.reference_number = input.reference_number;
  record.keys.name_kana = input.name_kana;
  if (input.birth_date) record.keys.birth_date = ParseIsoDate(*input.birth_date);
  record.created_at = now;

  if (decision->requires_identifier_query) {
    if (!input.query) {
      return done(Invalid("the identifiers on the document are required for its query",
                          "資格確認書等の記号・番号と生年月日を入力してください。",
                          {{"identifiers", "required for this document"}}));
    }
    core::oqs::QueryValidationOptions vo;
    vo.today = core::oqs::OqsDate::JapanDateOf(now);
    if (auto q = core::oqs::ValidateQueryInput(*input.query, vo); !q) return done(q.error());
    record.query = input.query;
    record.query_key = kQueryKeyPrefix + record.id;
    if (!record.keys.birth_date) {
      if (auto d = core::oqs::OqsDate::Parse(input.query->birth_date)) {
        record.keys.birth_date = d->ymd();
      }
    }
  }

  if (input.channel == ck::Channel::kGenericReader) {
    if (!readers_) {
      return done(Precondition("READERS_NOT_CONFIGURED",
                               "generic card readers are disabled (readers.enabled)",
                               "汎用カードリーダーは使用しない設定です。"));
    }
    const std::string reader = input.reader;
    readers_->InspectCard(reader, [this, input = std::move(input), record = std::move(record),
                                   done = std::move(done)](
                                      core::Result<core::card::CardInspection> inspected) mutable {
      // Off the reader's worker: creating the check-in talks to the database.
      executor_.Post([this, input = std::move(input), record = std::move(record),
                      done = std::move(done), inspected = std::move(inspected)]() mutable {
        std::optional<ck::Outcome> outcome;
        if (!inspected) {
          auto failure = ReadFailureOf(inspected.error());
          if (!failure) return done(inspected.error());
          outcome = ck::DecideReadFailure(*failure, ArrivalOf(record));
        } else if (inspected->certificate) {
          record.certificate = inspected->certificate->status;
          record.keys.card_key = inspected->certificate->card_key;
          outcome = ck::DecideCertificate(inspected->certificate->status);
        }
        if (outcome) {
          record.notices = outcome->notices;
          record.scope = outcome->scope;
        }
        auto created = CreateWith(std::move(record), outcome);
        done(std::move(created));
      });
    });
    return;
  }

  std::optional<ck::Outcome> outcome;
  if (decision->path == ck::VerificationPath::kNoDocument) {
    outcome = ck::DecideReadFailure(ck::ReadFailure::kNoDocument, ArrivalOf(record));
  } else if (!record.query_key.empty() && !eligibility_) {
    outcome = ck::DecideReadFailure(ck::ReadFailure::kUpstreamUnavailable, ArrivalOf(record));
    record.query_key.clear();  // nothing will be sent
  }
  auto created = CreateWith(std::move(record), outcome);
  if (created && !created->record.query_key.empty() &&
      created->record.state == ck::CheckInState::kWaiting) {
    SubmitQuery(created->record.id);
  }
  done(std::move(created));
}

core::Result<CheckInView> CheckInUseCases::CreateWith(CheckInRecord record,
                                                      const std::optional<ck::Outcome>& outcome) {
  std::lock_guard lock(write_mu_);
  const auto machine = ck::CheckInMachine::Start(record.created_at);
  const ck::CheckInEvent& started = machine.events().front();
  record.reason = started.reason;
  record.message = started.message;
  record.message_ja = started.message_ja;
  ck::Attachments with;
  with.events.push_back(MakeEvent(record, "checkin.started", started.reason,
                                  "check-in started (" + std::string(ck::ToString(record.channel)) + ")"));
  if (outcome) {
    if (auto s = ApplyOutcome(record, *outcome, with.events); !s) return s.error();
  }
  if (auto s = Write(record, /*insert=*/true, std::move(with)); !s) {
    if (s.error().reason == "CHECKIN_EXISTS" && !record.client_key.empty()) {
      // A concurrent retry created it first: answer with that one.
      auto existing = store_.CheckInForClientKey(record.client_key);
      if (existing && existing.value()) {
        auto decoded = DecodeRecord(*existing.value());
        if (decoded) return View(std::move(decoded).value());
      }
    }
    return s.error();
  }
  Logger("checkin")->info("check-in {} started at desk {} ({}), state {}", record.id,
                          record.desk_id, ck::ToString(record.channel), ck::ToString(record.state));
  return View(std::move(record));
}

// ---------------------------------------------------------------------------------------------
// Document queries

void CheckInUseCases::SubmitQuery(const std::string& id) {
  if (!eligibility_) return;
  auto record = Load(id);
  if (!record || !record->query || record->query_key.empty()) return;
  {
    std::lock_guard lock(rejoin_mu_);
    rejoined_.insert(record->query_key);
  }
  if (upstream_gate_ && !upstream_gate_()) {
    // Not sent: the terminal is known not to answer. The fallback case re-verifies it later.
    auto e = core::Unavailable("UPSTREAM_NOT_ANSWERING",
                               "the terminal is not answering; the query was not sent",
                               "資格確認端末が応答していないため、照会を保留しました。");
    executor_.Post([this, id, e = std::move(e)]() mutable { ApplyQueryOutcome(id, std::move(e)); });
    return;
  }
  eligibility_->Query(RequestRef{record->query_key, ""}, *record->query, std::nullopt,
                      clock_.Now() + options_.query_timeout,
                      [this, id](core::Result<ResultView> outcome) {
                        executor_.Post([this, id, outcome = std::move(outcome)]() mutable {
                          ApplyQueryOutcome(id, std::move(outcome));
                        });
                      });
}

void CheckInUseCases::ApplyQueryOutcome(const std::string& id, core::Result<ResultView> outcome) {
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) {
    Logger("checkin")->warn("query outcome for check-in {} not applied: {}", id,
                            loaded.error().message);
    return;
  }
  CheckInRecord r = std::move(loaded).value();
  ck::Attachments with;
  if (!outcome) {
    if (r.state != ck::CheckInState::kWaiting) return;
    const auto& e = outcome.error();
    const bool pending = e.reason == "UPSTREAM_RESULT_PENDING" || e.reason == "DEADLINE_EXCEEDED" ||
                         e.reason == "UPSTREAM_NO_ANSWER";
    if (e.reason == "SHUTTING_DOWN") return;  // rejoined by the sweep after the restart
    auto decided = ck::DecideReadFailure(ck::ReadFailure::kUpstreamUnavailable, ArrivalOf(r));
    if (pending) r.timed_out = true;
    if (auto s = ApplyOutcome(r, decided, with.events); !s) return;
    with.events.back().attributes.emplace_back("upstream_reason", e.reason);
    if (auto s = Write(r, false, std::move(with)); !s) {
      Logger("checkin")->warn("check-in {}: upstream failure not recorded: {}", id, s.error().message);
    }
    return;
  }
  const ResultView& result = outcome.value();
  auto linked = store_.LinkOfResult(result.stored.id);
  if (!linked) return;
  if (linked.value()) return;  // applied already (the listener and the waiter both deliver it)
  ck::ResultLink link{result.stored.id, r.id, "QUERY", clock_.Now(), {}};
  std::optional<ck::Outcome> decided;
  if (result.parsed) {
    decided = ck::DecideResult(*result.parsed, r.certificate);
  } else {
    decided = ck::DecideReadFailure(ck::ReadFailure::kUpstreamUnavailable, ArrivalOf(r));
  }
  CheckInRecord candidate = r;
  TakeResult(candidate, result);
  if (ApplyOutcome(candidate, *decided, with.events).ok()) {
    r = std::move(candidate);
  } else {
    // Final already (or a second fallback): keep the result, linked, without deciding again.
    link.link = "LINKED";
    with.events.clear();
    with.events.push_back(MakeEvent(r, "checkin.result_linked", "LATE_QUERY_RESULT",
                                    "a late query result was attached"));
    with.events.back().result_id = result.stored.id;
  }
  with.result_link = link;
  if (auto s = Write(r, false, std::move(with)); !s) {
    Logger("checkin")->warn("check-in {}: query result {} not applied: {}", id, result.stored.id,
                            s.error().message);
  }
}

// ---------------------------------------------------------------------------------------------
// Results

void CheckInUseCases::TakeResult(CheckInRecord& r, const ResultView& result) {
  r.result_id = result.stored.id;
  if (result.parsed) {
    const ck::PatientKeys k = ck::KeysOf(*result.parsed);
    if (!r.keys.reference_number && k.reference_number) r.keys.reference_number = k.reference_number;
    if (!r.keys.name_kana && k.name_kana) r.keys.name_kana = k.name_kana;
    if (!r.keys.birth_date && k.birth_date) r.keys.birth_date = k.birth_date;
  }
  ComputeChanges(r, &result);
}

void CheckInUseCases::ComputeChanges(CheckInRecord& r, const ResultView* current) {
  r.changes.clear();
  r.baseline_check_in_id.clear();
  if (!eligibility_ || r.patient_id.empty()) return;
  std::optional<ResultView> fetched;
  if (!current) {
    if (r.result_id == 0) return;
    auto got = eligibility_->Get(r.result_id);
    if (!got) return;
    fetched = std::move(got).value();
    current = &*fetched;
  }
  if (!current->parsed) return;
  ck::CheckInQuery q;
  q.patient_id = r.patient_id;
  q.state = "VERIFIED";
  q.newest_first = true;
  q.limit = 50;
  auto rows = store_.ListCheckIns(q);
  if (!rows) return;
  for (const auto& row : rows.value()) {
    if (row.id == r.id || row.result_id == 0 || row.created_at >= r.created_at) continue;
    auto baseline = eligibility_->Get(row.result_id);
    if (!baseline || !baseline->parsed) continue;
    r.changes = ck::DetectChanges(*baseline->parsed, *current->parsed);
    r.baseline_check_in_id = row.id;
    return;
  }
}

void CheckInUseCases::OnResult(const ResultView& result) {
  if (result.stored.source == "face") {
    if (auto s = CorrelateFace(result); !s) {
      Logger("checkin")->warn("face result {} not correlated yet ({}); the sweep retries",
                              result.stored.id, s.error().reason);
    }
    return;
  }
  const std::string& key = result.stored.request_id;
  if (key.rfind(kQueryKeyPrefix, 0) == 0) {
    // "checkin:<id>" or, for a re-verification, "checkin:<id>#r<n>".
    std::string id = key.substr(std::char_traits<char>::length(kQueryKeyPrefix));
    id = id.substr(0, id.find('#'));
    ApplyQueryOutcome(id, result);
  }
}

core::Status CheckInUseCases::CorrelateFace(const ResultView& result) {
  std::lock_guard lock(write_mu_);
  auto linked = store_.LinkOfResult(result.stored.id);
  if (!linked) return linked.error();
  if (linked.value()) return core::OkStatus();
  if (!result.parsed) return core::OkStatus();  // unparsable files are quarantined, not stored

  const auto arrived = result.stored.received_at;
  ck::CheckInQuery q;
  q.open_or_updated_since = arrived - options_.late_window;
  q.limit = 1000;
  auto rows = store_.ListCheckIns(q);
  if (!rows) return rows.error();
  std::vector<ck::OpenCheckIn> open;
  std::map<std::string, CheckInRecord> records;
  for (const auto& row : rows.value()) {
    auto rec = DecodeRecord(row);
    if (!rec) continue;
    if (OwnsItsResult(*rec)) continue;
    if (rec->created_at < arrived - options_.late_window) continue;
    ck::OpenCheckIn c;
    c.check_in_id = rec->id;
    c.desk_id = rec->desk_id;
    c.state = rec->state;
    c.timed_out = rec->timed_out;
    c.started_at = rec->created_at;
    c.expected = rec->keys;
    open.push_back(std::move(c));
    records.emplace(rec->id, std::move(rec).value());
  }
  ck::ArrivingResult arriving;
  arriving.device_id = options_.face_device;
  arriving.arrived_at = arrived;
  arriving.keys = ck::KeysOf(*result.parsed);
  const ck::Correlation c = ck::Correlate(arriving, open, options_.desks, options_.window);

  std::vector<std::string> reasons;
  for (const auto& rs : c.reasons) reasons.push_back(rs.code);
  // The check-ins considered besides the chosen one, with why they fit or not (for staff and
  // auditors: a binding is never a silent guess).
  std::vector<CheckInRecord::Candidate> candidates;
  for (const auto& cand : c.candidates) {
    CheckInRecord::Candidate k{cand.check_in_id, cand.fits, {}};
    for (const auto& rs : cand.reasons) k.reasons.push_back(rs.code);
    candidates.push_back(std::move(k));
  }
  ck::Attachments with;

  if (c.outcome == ck::CorrelationOutcome::kBound && c.check_in_id) {
    CheckInRecord r = records.at(*c.check_in_id);
    TakeResult(r, result);
    r.correlation = "BOUND";
    r.correlation_reasons = reasons;
    r.candidates = candidates;
    if (ApplyOutcome(r, ck::DecideResult(*result.parsed, r.certificate), with.events)) {
      with.result_link = ck::ResultLink{result.stored.id, r.id, "BOUND", clock_.Now(), {}};
      with.events.insert(with.events.begin(),
                         MakeEvent(r, "checkin.result_bound", reasons.empty() ? "" : reasons.front(),
                                   "a face result was bound to the desk's waiting check-in"));
      Logger("checkin")->info("face result {} bound to check-in {}", result.stored.id, r.id);
      return Write(r, false, std::move(with));
    }
  }
  if (c.outcome == ck::CorrelationOutcome::kLinked && c.check_in_id) {
    CheckInRecord r = records.at(*c.check_in_id);
    with.result_link = ck::ResultLink{result.stored.id, r.id, "LINKED", clock_.Now(), {}};
    auto e = MakeEvent(r, "checkin.result_linked", reasons.empty() ? "" : reasons.front(),
                       "a late face result was attached without deciding the check-in");
    e.result_id = result.stored.id;
    with.events.push_back(std::move(e));
    Logger("checkin")->info("late face result {} linked to check-in {}", result.stored.id, r.id);
    return Write(r, false, std::move(with));
  }

  // UNMATCHED / AMBIGUOUS: the result gets its own check-in for staff to assign.
  CheckInRecord r;
  r.id = "ci_" + ids_.NewId();
  r.day = JapanDay(arrived);
  const auto desks = options_.desks.equal_range(options_.face_device);
  r.desk_id = desks.first != desks.second ? desks.first->second : "";
  r.channel = ck::Channel::kFaceReader;
  r.documents = {ck::Document::kMyNumberCard};
  r.path = ck::VerificationPath::kMyNumberCard;
  r.created_at = arrived;
  r.from_result = true;
  r.correlation = c.outcome == ck::CorrelationOutcome::kAmbiguous ? "AMBIGUOUS" : "UNMATCHED";
  r.correlation_reasons = reasons;
  r.candidates = std::move(candidates);
  TakeResult(r, result);
  // It stays WAITING — for staff, not for a result: nothing is verified until they say whose
  // result it is (AssignResult to another check-in, or to this one to accept a walk-in).
  r.reason = "RESULT_WITHOUT_CHECKIN";
  r.message = "a face result arrived that no waiting check-in takes; staff must assign it";
  r.message_ja = "どの受付にも紐付けられない顔認証の結果です。職員が受付を割り当ててください。";
  with.events.push_back(MakeEvent(r, "checkin.started", "RESULT_WITHOUT_CHECKIN",
                                  "a face result arrived that no waiting check-in takes"));
  with.events.push_back(MakeEvent(r, "checkin." + Lower(r.correlation),
                                  reasons.empty() ? "" : reasons.front(),
                                  "staff must assign this result to a check-in"));
  with.result_link = ck::ResultLink{result.stored.id, r.id, "OWN", clock_.Now(), {}};
  Logger("checkin")->info("face result {} is {}: own check-in {}", result.stored.id, r.correlation,
                          r.id);
  return Write(r, true, std::move(with));
}

// ---------------------------------------------------------------------------------------------
// Staff actions

core::Result<CheckInView> CheckInUseCases::Cancel(const std::string& id, const std::string& reason,
                                                  const Actor& actor) {
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  CheckInRecord r = std::move(loaded).value();
  if (r.Applied(actor.Key())) return View(std::move(r));  // a retry of this very cancellation
  auto machine = ck::CheckInMachine::Restore(r.state, r.cause);
  auto ev = machine.Cancel(clock_.Now(), reason.empty() ? "CHECKIN_CANCELLED" : reason);
  if (!ev) return ev.error();
  r.MarkApplied(actor.Key());
  r.state = machine.state();
  r.reason = ev->reason;
  r.message = ev->message;
  r.message_ja = ev->message_ja;
  ck::Attachments with;
  auto e = MakeEvent(r, "checkin.cancelled", ev->reason, ev->message);
  e.request_id = actor.request_id;
  with.events.push_back(std::move(e));
  if (auto s = Write(r, false, std::move(with)); !s) return s.error();
  return View(std::move(r));
}

core::Result<CheckInView> CheckInUseCases::LinkPatient(const std::string& id,
                                                       const std::string& patient_id,
                                                       const Actor& actor) {
  if (patient_id.size() > 64 ||
      std::any_of(patient_id.begin(), patient_id.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return Invalid("patient_id is too long or contains control characters",
                   "患者IDが正しくありません。", {{"patient_id", "at most 64 printable characters"}});
  }
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  CheckInRecord r = std::move(loaded).value();
  if (r.Applied(actor.Key())) return View(std::move(r));
  r.MarkApplied(actor.Key());
  r.patient_id = patient_id;
  ComputeChanges(r, nullptr);
  ck::Attachments with;
  with.patient_link = ck::PatientLink{0, r.id, patient_id, actor.client, actor.request_id, clock_.Now()};
  // The event does not carry the patient id (the vendor's identifier of a person).
  auto e = MakeEvent(r, "checkin.patient_linked", patient_id.empty() ? "PATIENT_UNLINKED" : "PATIENT_LINKED",
                     patient_id.empty() ? "the patient link was removed" : "linked to a patient");
  e.request_id = actor.request_id;
  e.attributes.emplace_back("changes", std::to_string(r.changes.size()));
  with.events.push_back(std::move(e));
  if (auto s = Write(r, false, std::move(with)); !s) return s.error();
  return View(std::move(r));
}

core::Result<CheckInView> CheckInUseCases::AssignResult(const std::string& id,
                                                        std::int64_t result_id,
                                                        const Actor& actor) {
  if (result_id <= 0) {
    return Invalid("result_id must be positive", "結果IDが正しくありません。",
                   {{"result_id", "must be a positive id"}});
  }
  if (!eligibility_) {
    return Precondition("UPSTREAM_NOT_CONFIGURED", "no results without an upstream",
                        "資格確認端末の連携が設定されていません。");
  }
  auto result = eligibility_->Get(result_id);
  if (!result) return result.error();
  std::lock_guard lock(write_mu_);
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  CheckInRecord target = std::move(loaded).value();
  if (target.Applied(actor.Key())) return View(std::move(target));
  auto holder_link = store_.LinkOfResult(result_id);
  if (!holder_link) return holder_link.error();
  std::optional<CheckInRecord> holder;
  if (holder_link.value()) {
    auto h = Load(holder_link.value()->check_in_id);
    if (!h) return h.error();
    if (!Unresolved(*h)) {
      return Precondition("RESULT_NOT_ASSIGNABLE",
                          "result " + std::to_string(result_id) + " already belongs to check-in " +
                              h->id + ": only unmatched or ambiguous results are assigned",
                          "この結果は既に別の受付に紐付いています。");
    }
    holder = std::move(h).value();
  }

  ck::Attachments with;
  const bool accept_own = holder && holder->id == target.id;
  if (!accept_own && target.from_result) {
    return Precondition("RESULT_NOT_ASSIGNABLE", "a result's own check-in takes only its result",
                        "この受付には別の結果を割り当てられません。");
  }
  if (IsFinal(target.state)) {
    return Precondition("CHECKIN_FINAL",
                        "check-in " + target.id + " is " + std::string(ck::ToString(target.state)) +
                            ": a result cannot be assigned to it",
                        "この受付は完了または取消済みのため、結果を割り当てられません。");
  }
  if (!result->parsed) {
    return Precondition("RESULT_UNREADABLE", "the result cannot be parsed", "結果を読み取れません。");
  }
  TakeResult(target, result.value());
  target.MarkApplied(actor.Key());
  target.correlation = "ASSIGNED";
  target.correlation_reasons = {accept_own ? "ACCEPTED_BY_STAFF" : "ASSIGNED_BY_STAFF"};
  auto e = MakeEvent(target, "checkin.result_assigned",
                     accept_own ? "ACCEPTED_BY_STAFF" : "ASSIGNED_BY_STAFF",
                     accept_own ? "staff accepted the result as this check-in's own"
                                : "staff assigned a result to this check-in");
  e.request_id = actor.request_id;
  e.result_id = result_id;
  with.events.push_back(std::move(e));
  if (auto s = ApplyOutcome(target, ck::DecideResult(*result->parsed, target.certificate), with.events);
      !s) {
    return s.error();
  }
  if (!accept_own) {
    with.result_link = ck::ResultLink{result_id, target.id, "ASSIGNED", clock_.Now(),
                                      holder ? holder->id : std::string()};
  }
  if (auto s = Write(target, false, std::move(with)); !s) return s.error();

  if (holder && !accept_own) {
    // The result's own check-in has served its purpose.
    auto machine = ck::CheckInMachine::Restore(holder->state, holder->cause);
    ck::Attachments closing;
    if (auto ev = machine.Cancel(clock_.Now(), "RESULT_ASSIGNED"); ev) {
      holder->state = machine.state();
      holder->reason = ev->reason;
      holder->message = "its result was assigned to check-in " + target.id;
      holder->message_ja = "この結果は別の受付に割り当てられました。";
      closing.events.push_back(MakeEvent(*holder, "checkin.cancelled", "RESULT_ASSIGNED",
                                         holder->message));
    }
    holder->correlation = "ASSIGNED";
    if (auto s = Write(*holder, false, std::move(closing)); !s) {
      Logger("checkin")->warn("check-in {} not closed after assignment: {}", holder->id,
                              s.error().message);
    }
  }
  return View(std::move(target));
}

// ---------------------------------------------------------------------------------------------
// Lists

core::Result<std::vector<CheckInView>> CheckInUseCases::List(const CheckInFilter& f) {
  if (f.limit < 0 || f.limit > 1000) {
    return Invalid("limit must be between 1 and 1000", "件数の指定が正しくありません。",
                   {{"limit", "1..1000"}});
  }
  ck::CheckInQuery q;
  q.limit = f.limit == 0 ? 200 : f.limit;
  const auto& p = f.patient;
  const bool by_patient = p.patient_id || p.reference_number || p.card_key || p.name_kana;
  if (by_patient) {
    q.patient_id = p.patient_id;
    q.reference_number = p.reference_number;
    q.card_key = p.card_key;
    if (p.name_kana) {
      if (!p.birth_date || !ParseIsoDate(*p.birth_date)) {
        return Invalid("a カナ name look-up needs the birth date", "生年月日を指定してください。",
                       {{"birth_date", "required with name_kana, YYYY-MM-DD"}});
      }
      q.kana_key = KanaKey(p.name_kana);
      q.birth_date = *p.birth_date;
    }
    q.newest_first = true;
  } else {
    if (f.day && !ParseIsoDate(*f.day)) {
      return Invalid("day must be a date YYYY-MM-DD", "日付の指定が正しくありません。",
                     {{"day", "YYYY-MM-DD"}});
    }
    q.day = f.day.value_or(Today());
  }
  q.desk_id = f.desk_id;
  if (f.state) q.state = std::string(ck::ToString(*f.state));
  auto rows = store_.ListCheckIns(q);
  if (!rows) return rows.error();
  std::vector<CheckInView> out;
  for (const auto& row : rows.value()) {
    auto rec = DecodeRecord(row);
    if (!rec) return rec.error();
    auto v = View(std::move(rec).value());
    if (!v) return v.error();
    out.push_back(std::move(v).value());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Consent

core::Result<ConsentView> CheckInUseCases::GetConsent(const std::string& id) {
  auto loaded = Load(id);
  if (!loaded) return loaded.error();
  const CheckInRecord& r = loaded.value();
  ConsentView v;
  v.check_in_id = r.id;
  v.result_id = r.result_id;
  v.scope = r.scope;
  v.oral_consents = r.oral_consents;
  v.withdrawals = r.withdrawals;
  if (r.result_id != 0 && eligibility_) {
    auto result = eligibility_->Get(r.result_id);
    if (!result) return result.error();
    if (result->parsed && result->parsed->results.size() == 1) {
      v.consents = ck::NormalizeConsents(result->parsed->results.front());
    }
  }
  return v;
}

core::Result<AccessOutcome> CheckInUseCases::CheckAccess(const std::string& check_in_id,
                                                         const std::string& patient_id,
                                                         ck::InformationKind kind,
                                                         std::optional<core::SystemTime> at) {
  CheckInRecord r;
  if (!check_in_id.empty()) {
    auto loaded = Load(check_in_id);
    if (!loaded) return loaded.error();
    r = std::move(loaded).value();
  } else {
    ck::CheckInQuery q;
    q.patient_id = patient_id;
    q.state = "VERIFIED";
    q.newest_first = true;
    q.limit = 1;
    auto rows = store_.ListCheckIns(q);
    if (!rows) return rows.error();
    if (rows->empty()) {
      AccessOutcome o;
      o.decision.reason = "NO_VERIFIED_CHECKIN";
      o.decision.message = "the patient has no verified check-in";
      o.decision.message_ja = "この患者の資格確認済みの受付がありません。";
      return o;
    }
    auto rec = DecodeRecord(rows->front());
    if (!rec) return rec.error();
    r = std::move(rec).value();
  }
  AccessOutcome o;
  o.check_in_id = r.id;
  o.result_id = r.result_id;
  std::optional<ResultView> result;
  if (r.state == ck::CheckInState::kVerified && r.result_id != 0 && eligibility_) {
    auto got = eligibility_->Get(r.result_id);
    if (!got) return got.error();
    result = std::move(got).value();
  }
  if (!result || !result->parsed || result->parsed->results.size() != 1) {
    o.decision.reason = "NO_VERIFIED_RESULT";
    o.decision.message = "the check-in has no verified eligibility result";
    o.decision.message_ja = "この受付には資格確認の結果がありません。";
    return o;
  }
  ck::AccessRequest req;
  req.kind = kind;
  req.at = at.value_or(clock_.Now());
  req.certificate = r.certificate;
  req.oral_consents = r.oral_consents;
  req.withdrawals = r.withdrawals;
  o.decision = ck::CheckAccess(result->parsed->results.front(), req);
  return o;
}

core::Result<ConsentView> CheckInUseCases::RecordConsentWithdrawal(
    const std::string& id, const std::vector<ck::InformationKind>& kinds,
    const std::string& staff_id, std::optional<core::SystemTime> at, const Actor& actor) {
  std::vector<core::FieldViolation> bad;
  if (kinds.empty()) bad.push_back({"kinds", "name at least one kind of information"});
  for (auto k : kinds) {
    if (k == ck::InformationKind::kInsurance) {
      bad.push_back({"kinds", "insurance information needs no consent and cannot be withdrawn"});
    }
  }
  if (staff_id.empty() || staff_id.size() > 64) {
    bad.push_back({"staff_id", "required, at most 64 characters"});
  }
  if (!bad.empty()) {
    return Invalid("consent withdrawal is incomplete", "撤回する情報の種類と記録者を入力してください。",
                   std::move(bad));
  }
  const core::SystemTime when = at.value_or(clock_.Now());
  {
    std::lock_guard lock(write_mu_);
    auto loaded = Load(id);
    if (!loaded) return loaded.error();
    CheckInRecord r = std::move(loaded).value();
    if (r.Applied(actor.Key())) return GetConsent(id);
    r.MarkApplied(actor.Key());
    ck::Attachments with;
    for (auto k : kinds) {
      r.withdrawals.push_back({k, when});
      if (k == ck::InformationKind::kCausativeDrugs) {
        for (auto& oral : r.oral_consents) {
          if (!oral.withdrawn_at) oral.withdrawn_at = when;
        }
      }
      auto e = MakeEvent(r, "checkin.consent_withdrawn", "CONSENT_WITHDRAWN",
                         "the patient withdrew a consent");
      e.request_id = actor.request_id;
      e.attributes.emplace_back("information_kind", std::string(ToString(k)));
      with.events.push_back(std::move(e));
    }
    if (auto s = Write(r, false, std::move(with)); !s) return s.error();
  }
  return GetConsent(id);
}

core::Result<ConsentView> CheckInUseCases::RecordOralConsent(const std::string& id,
                                                             const std::string& staff_id,
                                                             std::optional<core::SystemTime> at,
                                                             const Actor& actor) {
  if (staff_id.empty() || staff_id.size() > 64) {
    return Invalid("staff_id is required (at most 64 characters)", "記録者を入力してください。",
                   {{"staff_id", "required, at most 64 characters"}});
  }
  {
    std::lock_guard lock(write_mu_);
    auto loaded = Load(id);
    if (!loaded) return loaded.error();
    CheckInRecord r = std::move(loaded).value();
    if (r.Applied(actor.Key())) return GetConsent(id);
    if (r.state == ck::CheckInState::kCancelled) {
      return Precondition("CHECKIN_FINAL", "check-in " + id + " was cancelled",
                          "この受付は取り消されています。");
    }
    r.MarkApplied(actor.Key());
    r.oral_consents.push_back({staff_id, at.value_or(clock_.Now()), std::nullopt});
    ck::Attachments with;
    auto e = MakeEvent(r, "checkin.oral_consent_recorded", "ORAL_CONSENT",
                       "oral consent recorded (causative drugs only)");
    e.request_id = actor.request_id;
    e.attributes.emplace_back("information_kind", "CAUSATIVE_DRUGS");
    with.events.push_back(std::move(e));
    if (auto s = Write(r, false, std::move(with)); !s) return s.error();
  }
  return GetConsent(id);
}

// ---------------------------------------------------------------------------------------------
// Sweep

void CheckInUseCases::Reannounce(bool after_start) {
  if (!change_listener_) return;
  // NEEDS_FALLBACK check-ins (few: they are open) every time; after a start also those verified
  // within the late window, whose case the listener may have had to close.
  std::vector<ck::CheckInQuery> queries;
  ck::CheckInQuery open;
  open.state = "NEEDS_FALLBACK";
  open.limit = 1000;
  queries.push_back(open);
  if (after_start) {
    ck::CheckInQuery verified;
    verified.state = "VERIFIED";
    verified.open_or_updated_since = clock_.Now() - options_.late_window;
    verified.limit = 1000;
    queries.push_back(verified);
  }
  for (const auto& q : queries) {
    auto rows = store_.ListCheckIns(q);
    if (!rows) return;
    for (const auto& row : rows.value()) {
      if (row.state != q.state) continue;
      auto record = DecodeRecord(row);
      if (!record) continue;
      auto view = View(std::move(record).value());
      if (view) change_listener_(view.value());
    }
  }
}

void CheckInUseCases::CorrelateUnlinkedFaceResults(core::SystemTime now) {
  if (!eligibility_) return;
  auto unlinked = store_.UnlinkedFaceResults(now - options_.late_window);
  if (!unlinked) return;
  for (const auto result_id : unlinked.value()) {
    auto result = eligibility_->Get(result_id);
    if (!result) continue;
    if (auto s = CorrelateFace(result.value()); !s) {
      Logger("checkin")->warn("face result {} not correlated: {}", result_id, s.error().reason);
    }
  }
}

void CheckInUseCases::Sweep() {
  auto log = Logger("checkin");
  const auto now = clock_.Now();
  // A change is announced to the listener after it is stored; a daemon that stopped in between
  // (or a listener that failed) left its follow-up undone (e.g. no fallback case for a check-in
  // that needs one). The listener acts on states idempotently, so the open check-ins are announced
  // again: at the first sweep after a start, then every kReannounceEvery sweeps.
  if (sweeps_++ % kReannounceEvery == 0) Reannounce(/*after_start=*/sweeps_ == 1);
  // Face results stored but left uncorrelated (a crash between storing and correlating) are
  // correlated first: one that arrived inside a waiting check-in's window binds it, as it would
  // have without the crash, before the same sweep could mark that wait as timed out.
  CorrelateUnlinkedFaceResults(now);
  ck::CheckInQuery q;
  q.state = "WAITING";
  q.limit = 1000;
  auto waiting = store_.ListCheckIns(q);
  if (!waiting) {
    log->debug("sweep skipped: {}", waiting.error().message);
    return;
  }
  std::vector<std::string> to_submit;
  for (const auto& row : waiting.value()) {
    auto rec = DecodeRecord(row);
    if (!rec) continue;
    if (!rec->query_key.empty()) {
      std::lock_guard lock(rejoin_mu_);
      if (!rejoined_.count(rec->query_key)) to_submit.push_back(rec->id);
      continue;
    }
    if (rec->from_result) continue;  // waits for staff, not for a result
    if (rec->timed_out || now <= rec->created_at + options_.window.after_start) continue;
    std::lock_guard lock(write_mu_);
    auto fresh = Load(rec->id);
    if (!fresh || fresh->state != ck::CheckInState::kWaiting || fresh->timed_out) continue;
    CheckInRecord r = std::move(fresh).value();
    r.timed_out = true;
    ck::Attachments with;
    with.events.push_back(MakeEvent(r, "checkin.timed_out", "RESULT_WAIT_TIMED_OUT",
                                    "no result arrived within the window; a later one is linked"));
    if (auto s = Write(r, false, std::move(with)); !s) {
      log->warn("check-in {}: time-out not recorded: {}", r.id, s.error().message);
    }
  }
  // Queries of check-ins started before a restart: rejoin (a stored result is returned at once;
  // a journalled request is waited for; nothing is sent twice).
  for (const auto& id : to_submit) SubmitQuery(id);

}

}  // namespace onshid::app
