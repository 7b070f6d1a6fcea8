#include "core/fallback/case.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

#include "core/fallback/case_errors.h"
#include "core/oqs/identifiers.h"

namespace onshid::core::fallback {
namespace {

// The enums are contiguous from 0.
template <typename E, std::size_t N>
std::optional<E> ByName(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 4> kEvidenceKinds = {
    "METHOD_APPLIED", "CARD_FACE", "PATIENT_CONTACTED", "ELIGIBILITY_FOUND"};
constexpr std::array<std::string_view, 2> kCaseStates = {"OPEN", "CLOSED"};
constexpr std::array<std::string_view, 5> kReverifyStates = {"NONE", "QUEUED", "SENT", "DONE",
                                                             "GAVE_UP"};
constexpr std::array<std::string_view, 4> kTaskKinds = {"CONTACT_PATIENT", "REQUERY_BEFORE_CLAIM",
                                                        "REFUND_DIFFERENCE", "RETURN_WATCH"};
constexpr std::array<std::string_view, 3> kTaskStates = {"OPEN", "DONE", "CANCELLED"};

// ---------------------------------------------------------------------------------------------
// Dates

oqs::OqsDate JapanToday(SystemTime now) { return oqs::OqsDate::JapanDateOf(now); }

// The last day of the month of `d` (claims for a month are made after it ends).
oqs::OqsDate MonthEnd(const oqs::OqsDate& d) {
  const auto ymd = d.ymd();
  return oqs::OqsDate::FromSysDays(std::chrono::sys_days{
      std::chrono::year_month_day_last{ymd.year(), std::chrono::month_day_last{ymd.month()}}});
}

oqs::OqsDate AddDays(const oqs::OqsDate& d, int days) {
  return oqs::OqsDate::FromSysDays(d.ToSysDays() + std::chrono::days{days});
}

// ---------------------------------------------------------------------------------------------
// Building a change

Publication Publish(std::string type, std::string reason,
                    std::vector<std::pair<std::string, std::string>> attributes = {}) {
  return {std::move(type), std::move(reason), std::move(attributes)};
}

void Add(Change& ch, SystemTime at, const std::string& actor, std::optional<ProofDetail> proof,
         std::optional<Publication> publication) {
  ch.events.push_back({at, actor, std::move(proof), std::move(publication)});
}

Change Begin(const Case& c) {
  Change ch;
  ch.after = c;
  return ch;
}

Change NoChange(const Case& c) {
  Change ch = Begin(c);
  ch.write = false;
  return ch;
}

void MarkApplied(Case& c, const std::string& key) {
  if (key.empty() || c.Applied(key)) return;
  c.applied_requests.push_back(key);
  while (c.applied_requests.size() > Case::kAppliedRequestsKept) {
    c.applied_requests.erase(c.applied_requests.begin());
  }
}

std::string TaskIdPrefix(const std::string& case_id) {
  const auto last = case_id.rfind('_');
  return "tk_" + case_id.substr(last == std::string::npos ? 0 : last + 1);
}

// Adds a new open task, numbered by the case's task counter, with its event.
void AddTask(Change& ch, TaskKind kind, const oqs::OqsDate& due, std::string why,
             std::string why_ja, SystemTime now, const std::string& actor, std::string route = "") {
  Case& c = ch.after;
  c.task_seq += 1;
  CaseTask t;
  t.id = TaskIdPrefix(c.id) + "_" + std::to_string(c.task_seq);
  t.kind = kind;
  t.state = TaskState::kOpen;
  t.due_day = IsoDay(due);
  t.created_at = now;
  t.why = std::move(why);
  t.why_ja = std::move(why_ja);
  t.route = std::move(route);
  Add(ch, now, actor, std::nullopt,
      Publish("fallback.task_created", std::string(ToString(kind)), {{"task_id", t.id}}));
  c.tasks.push_back(t);
  ch.tasks.push_back(std::move(t));
}

// Writes a changed task into the case and the change.
void UpdateTask(Change& ch, const CaseTask& t) {
  for (auto& mine : ch.after.tasks) {
    if (mine.id == t.id) mine = t;
  }
  ch.tasks.push_back(t);
}

// True when an open task of `kind` exists (or was created by this change).
bool HasOpen(const Case& c, TaskKind kind) {
  return std::any_of(c.tasks.begin(), c.tasks.end(), [&](const CaseTask& t) {
    return t.kind == kind && t.state == TaskState::kOpen;
  });
}

// Decides again on the case's inputs (EVALUATED, with fallback.evaluated).
void Evaluate(Change& ch, const std::string& actor, const std::string& why, SystemTime now) {
  Case& c = ch.after;
  const auto decided = Decide(c.input);
  c.decision = Summarize(decided);
  std::vector<std::pair<std::string, std::string>> attributes = {
      {"engine_version", std::string(kEngineVersion)}};
  if (decided) {
    attributes.emplace_back("first_choice", std::string(MethodName(decided->first_choice)));
  } else {
    attributes.emplace_back("error", decided.error().reason);
  }
  Add(ch, now, actor, proof::Evaluated{why, c.input, c.decision},
      Publish("fallback.evaluated", why, std::move(attributes)));
}

// Deletes the personal data from the case (the store's copy goes with purge_personal_data).
void ErasePersonalData(Change& ch, SystemTime now) {
  Case& c = ch.after;
  ch.purge_personal_data = true;
  c.personal = CasePersonalData{};
  for (auto& k : c.input.known_eligibilities) {
    k = KnownEligibility{k.source, "", "", "", "", "", k.ratio_wari};
  }
  c.purged_at = now;
}

// The closing itself, once allowed (Close, VerifiedOnline, ApplyReverification).
void CloseCase(Change& ch, const CloseInput& in, int return_watch_days, const std::string& actor,
               SystemTime now) {
  Case& c = ch.after;
  c.state = CaseState::kClosed;
  c.closed_at = now;
  c.close_reason = in.reason;
  if (c.reverify == ReverifyState::kQueued || c.reverify == ReverifyState::kSent) {
    c.reverify = ReverifyState::kDone;
  }
  const std::vector<CaseTask> tasks = c.tasks;
  for (auto t : tasks) {
    if (t.state != TaskState::kOpen) continue;
    // Still owed after the case closes.
    if (t.kind == TaskKind::kRefundDifference || t.kind == TaskKind::kReturnWatch) continue;
    t.state = TaskState::kCancelled;
    t.done_at = now;
    t.done_by = actor;
    UpdateTask(ch, t);
  }
  const std::string route = c.claim ? std::string(ClaimRouteName(c.claim->route)) : "";
  if (in.reason == "CLAIM_WORK_FINISHED" &&
      (route == "UNKNOWN" || route == "OLD_ELIGIBILITY" || route == "CONFIRM_LATER")) {
    AddTask(ch, TaskKind::kReturnWatch, AddDays(JapanToday(now), return_watch_days),
            "watch for a returned claim (返戻) of this route",
            "この請求が返戻されないか確認してください。", now, actor, route);
  }
  std::vector<std::pair<std::string, std::string>> attributes;
  if (!route.empty()) attributes.emplace_back("route", route);
  Add(ch, now, actor, proof::Closed{in.reason, route, in.keep_personal_data},
      Publish("fallback.case_closed", in.reason, std::move(attributes)));
  if (!in.keep_personal_data) {
    ErasePersonalData(ch, now);
    Add(ch, now, actor, proof::Purged{"CLAIM_WORK_FINISHED", std::nullopt},
        Publish("fallback.personal_data_purged", "CASE_CLOSED"));
  }
}

// Routes the claim to the current eligibility (`result`'s, when it shows one) and closes the case
// as VERIFIED_ONLINE.
void CloseVerifiedOnline(Change& ch, const oqs::EligibilityResult* result, Rule rule,
                         SystemTime now) {
  Case& c = ch.after;
  const std::string actor(kDaemonActor);
  ClaimSummary claim;
  claim.route = ClaimRoute::kCurrent;
  claim.rule = std::move(rule);
  claim.engine_version = std::string(kEngineVersion);
  claim.chosen_at = now;
  claim.chosen_by = actor;
  c.claim = std::move(claim);
  if (result) {
    if (auto k = EligibilityOf(*result, KnownEligibility::Source::kConfirmed)) {
      c.personal.confirmed = *k;
    }
  }
  CloseInput close;
  close.reason = "VERIFIED_ONLINE";
  CloseCase(ch, close, 0, actor, now);
}

// What the claim routing needs from a case (ChooseClaimRoute, Close).
Result<ClaimOutcome> OutcomeOf(const Case& c, std::optional<int> actual_days_at_claim) {
  if (!c.applied_method) return NoMethodApplied();
  ClaimOutcome o;
  o.input = c.input;
  o.method_applied = *c.applied_method;
  o.confirmed = c.personal.confirmed;
  o.statement = c.personal.statement;
  if (c.personal.contacted_on) o.patient_contacted_on = ParseIsoDay(*c.personal.contacted_on);
  o.actual_days_at_claim = actual_days_at_claim;
  return o;
}

bool ShowsEligibility(Method m) {
  switch (m) {
    case Method::kVisualCheckMode:
    case Method::kQualificationCertificate:
    case Method::kProvisionalQuery:
    case Method::kPortalScreen:
    case Method::kEligibilityNotice:
      return true;
    default:
      return false;
  }
}

// The 保険者番号 staff typed with an eligibility: empty is the caller's to judge (required or
// not); otherwise it must be one (digits, 6 or 8 of them, the check digit right).
void CheckInsurerNumber(const std::optional<KnownEligibility>& eligibility,
                        std::vector<FieldViolation>& bad, std::string* detail_ja) {
  if (!eligibility || eligibility->insurer_number.empty()) return;
  auto parsed = oqs::InsurerNumber::Parse(eligibility->insurer_number);
  if (parsed) return;
  bad.push_back({"eligibility.insurer_number", parsed.error().message});
  if (detail_ja && detail_ja->empty()) *detail_ja = parsed.error().message_ja;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names and values

std::string IsoDay(const oqs::OqsDate& date) {
  const auto ymd = date.ymd();
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<oqs::OqsDate> ParseIsoDay(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  std::string compact;
  compact.append(text.substr(0, 4)).append(text.substr(5, 2)).append(text.substr(8, 2));
  auto d = oqs::OqsDate::Parse(compact);
  if (!d) return std::nullopt;
  return d.value();
}

std::string_view ToString(EvidenceKind kind) { return kEvidenceKinds[static_cast<int>(kind)]; }
std::optional<EvidenceKind> EvidenceKindFromString(std::string_view name) {
  return ByName<EvidenceKind>(kEvidenceKinds, name);
}
std::string_view ToString(CaseState state) { return kCaseStates[static_cast<int>(state)]; }
std::optional<CaseState> CaseStateFromString(std::string_view name) {
  return ByName<CaseState>(kCaseStates, name);
}
std::string_view ToString(ReverifyState state) { return kReverifyStates[static_cast<int>(state)]; }
std::optional<ReverifyState> ReverifyStateFromString(std::string_view name) {
  return ByName<ReverifyState>(kReverifyStates, name);
}
std::string_view ToString(TaskKind kind) { return kTaskKinds[static_cast<int>(kind)]; }
std::optional<TaskKind> TaskKindFromString(std::string_view name) {
  return ByName<TaskKind>(kTaskKinds, name);
}
std::string_view ToString(TaskState state) { return kTaskStates[static_cast<int>(state)]; }
std::optional<TaskState> TaskStateFromString(std::string_view name) {
  return ByName<TaskState>(kTaskStates, name);
}

bool Case::Applied(const std::string& request_key) const {
  if (request_key.empty()) return false;
  return std::find(applied_requests.begin(), applied_requests.end(), request_key) !=
         applied_requests.end();
}

DecisionSummary Summarize(const Result<Decision>& decided) {
  DecisionSummary s;
  if (!decided) {
    s.error = decided.error().reason;
    for (const auto& f : decided.error().field_violations) s.error_fields.push_back(f.field);
    return s;
  }
  s.engine_version = decided->engine_version;
  s.first_choice = decided->first_choice;
  s.charge = decided->charge;
  s.charge_rule = decided->charge_rule.id;
  for (const auto& n : decided->charge_notes) s.charge_notes.push_back(n.id);
  for (const auto& m : decided->methods) {
    DecisionSummary::Line line;
    line.method = m.method;
    line.allowed = m.allowed;
    line.rule = m.rule.id;
    if (m.allowed) line.leads_to = m.leads_to;
    s.methods.push_back(std::move(line));
  }
  return s;
}

std::string_view ProofKind(const ProofDetail& detail) {
  struct Kind {
    std::string_view operator()(const proof::OpenedByHand&) const { return "OPENED"; }
    std::string_view operator()(const proof::OpenedForCheckIn&) const { return "OPENED"; }
    std::string_view operator()(const proof::Evaluated&) const { return "EVALUATED"; }
    std::string_view operator()(const proof::EvidenceRecorded&) const { return "EVIDENCE"; }
    std::string_view operator()(const proof::ClaimRouteRefused&) const {
      return "CLAIM_ROUTE_REFUSED";
    }
    std::string_view operator()(const proof::ClaimRouteChosen&) const { return "CLAIM_ROUTE"; }
    std::string_view operator()(const proof::Closed&) const { return "CLOSED"; }
    std::string_view operator()(const proof::Purged&) const { return "PURGED"; }
    std::string_view operator()(const proof::TaskDone&) const { return "TASK_DONE"; }
    std::string_view operator()(const proof::VerifiedOnline&) const { return "VERIFIED_ONLINE"; }
    std::string_view operator()(const proof::ReverifySent&) const { return "REVERIFY_SENT"; }
    std::string_view operator()(const proof::ReverifyFailed&) const { return "REVERIFY_FAILED"; }
    std::string_view operator()(const proof::Reverified&) const { return "REVERIFIED"; }
  };
  return std::visit(Kind{}, detail);
}

// ---------------------------------------------------------------------------------------------
// From a check-in

DerivedInput DeriveInput(const CheckInFacts& ci, bool reads_smartphones) {
  DerivedInput out;
  FallbackCase& c = out.input;
  c.cause = ci.cause.value_or(FallbackCause::kNetworkError);
  c.presented = DocumentSet(ci.documents);
  // A face-reader result means the card was on the reader.
  if (ci.channel == checkin::Channel::kFaceReader) c.presented.Add(Document::kMyNumberCard);
  c.visit = ci.visit;
  c.actual_days = std::clamp(ci.real_days_this_month + 1, 1, 31);
  c.facility.reads_smartphones = reads_smartphones;
  c.date = ParseIsoDay(ci.day);
  std::optional<oqs::OqsDate> birth;
  if (ci.result) {
    if (auto old = OldEligibilityOf(*ci.result)) c.known_eligibilities.push_back(*old);
    // The first qualification's birth date only.
    if (!ci.result->results.empty()) {
      const auto& q = ci.result->results.front();
      if (q.birthdate && q.birthdate->value) birth = *q.birthdate->value;
    }
  }
  if (!birth && ci.query_birth_date.size() == 8) {
    if (auto b = oqs::OqsDate::Parse(ci.query_birth_date)) birth = *b;
  }
  if (birth && c.date) {
    const int age = AgeOn(*birth, *c.date);
    c.age = age >= 75 ? AgeBracket::kKouki : age >= 70 ? AgeBracket::k70To74 : AgeBracket::kUnder70;
  } else {
    out.unconfirmed.push_back("age");
  }
  out.unconfirmed.push_back("has_valid_insurance_now");
  if (c.visit == VisitKind::kRevisit) out.unconfirmed.push_back("known_eligibilities");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Opening and revising

namespace {

Case Fresh(const NewCase& n, std::string day, SystemTime now) {
  Case c;
  c.id = n.id;
  c.client_key = n.client_key;
  c.state = CaseState::kOpen;
  c.day = std::move(day);
  c.opened_at = now;
  c.updated_at = now;
  c.opened_by = n.actor;
  return c;
}

// Decide's refusals that make inputs unusable (others, e.g. CERTIFICATE_IN_GRACE, are an answer).
Status CheckDecidable(const FallbackCase& input) {
  if (auto d = Decide(input); !d && d.error().reason == "INVALID_FALLBACK_CASE") return d.error();
  return OkStatus();
}

}  // namespace

Result<FallbackCase> CheckGivenInput(FallbackCase input, const oqs::OqsDate& today) {
  if (!input.date) input.date = today;
  if (auto s = CheckDecidable(input); !s) return s.error();
  return input;
}

Result<Change> OpenByHand(const NewCase& n, const std::optional<FallbackCase>& given,
                          SystemTime now) {
  if (!given) return CaseInputRequired();
  auto input = CheckGivenInput(*given, JapanToday(now));
  if (!input) return input.error();
  Change ch;
  ch.after = Fresh(n, IsoDay(*input->date), now);
  ch.after.input = std::move(input).value();
  Add(ch, now, n.actor, proof::OpenedByHand{}, Publish("fallback.case_opened", "OPENED_BY_HAND"));
  Evaluate(ch, n.actor, "OPENED", now);
  return ch;
}

Result<Change> OpenForCheckIn(const NewCase& n, const CheckInFacts& ci,
                              const std::optional<FallbackCase>& given, bool reads_smartphones,
                              SystemTime now) {
  if (ci.state != checkin::CheckInState::kNeedsFallback) {
    return CheckInNotInFallback(ci.id, checkin::ToString(ci.state));
  }
  DerivedInput derived = DeriveInput(ci, reads_smartphones);
  if (given) {
    derived.input = *given;
    if (!derived.input.date) derived.input.date = ParseIsoDay(ci.day);
    if (auto s = CheckDecidable(derived.input); !s) return s.error();
    derived.unconfirmed.clear();
  }
  Change ch;
  ch.after = Fresh(n, ci.day, now);
  Case& c = ch.after;
  c.check_in_id = ci.id;
  c.unconfirmed_facts = derived.unconfirmed;
  c.input = std::move(derived.input);
  const bool queue = ci.cause == FallbackCause::kNetworkError && ci.can_reverify;
  c.reverify = queue ? ReverifyState::kQueued : ReverifyState::kNone;
  Add(ch, now, n.actor, proof::OpenedForCheckIn{ci.id, ci.cause, c.reverify, c.unconfirmed_facts},
      Publish("fallback.case_opened",
              n.actor == kDaemonActor ? "CHECKIN_NEEDS_FALLBACK" : "OPENED_BY_HAND",
              {{"check_in_id", ci.id}}));
  if (queue) {
    Add(ch, now, n.actor, std::nullopt,
        Publish("fallback.reverify_queued", "UPSTREAM_UNAVAILABLE"));
  }
  Evaluate(ch, n.actor, "OPENED", now);
  return ch;
}

Result<Change> Revise(const Case& c, const FallbackCase& input, const std::string& actor,
                      const std::string& request_key, SystemTime now) {
  if (c.Applied(request_key)) return NoChange(c);  // a retry of this very revision
  if (c.Closed()) return CaseClosed(c.id);
  Change ch = Begin(c);
  MarkApplied(ch.after, request_key);
  ch.after.input = input;
  ch.after.unconfirmed_facts.clear();
  Evaluate(ch, actor, "REVISED", now);
  return ch;
}

// ---------------------------------------------------------------------------------------------
// Evidence

std::vector<FieldViolation> EvidenceViolations(const Case& c, const EvidenceInput& in,
                                               const oqs::OqsDate& today, std::string* detail_ja) {
  std::vector<FieldViolation> bad;
  if (in.staff_id.empty()) bad.push_back({"staff_id", "required: who recorded it"});
  switch (in.kind) {
    case EvidenceKind::kMethodApplied: {
      if (!in.method) {
        bad.push_back({"method", "required for METHOD_APPLIED"});
        break;
      }
      const Method m = *in.method;
      if (ShowsEligibility(m) || (m == Method::kEmergencyLookup && in.eligibility)) {
        if (!in.eligibility || in.eligibility->insurer_number.empty()) {
          bad.push_back(
              {"eligibility.insurer_number", "required: the eligibility seen with this method"});
        }
      }
      // 口頭確認 records the held eligibility; any other recorded one is staff-typed.
      if (m != Method::kOralConfirmation) CheckInsurerNumber(in.eligibility, bad, detail_ja);
      if (m == Method::kOralConfirmation) {
        if (!in.oral) {
          bad.push_back({"oral", "required for 口頭確認"});
        } else {
          static constexpr std::array<std::string_view, 3> kWho = {"PATIENT", "FAMILY", "GUARDIAN"};
          if (std::find(kWho.begin(), kWho.end(), in.oral->answered_by) == kWho.end()) {
            bad.push_back({"oral.answered_by", "PATIENT, FAMILY or GUARDIAN"});
          }
          if (!in.oral->no_change_confirmed) {
            bad.push_back(
                {"oral.no_change_confirmed", "the patient must confirm that nothing has changed"});
          }
          const int i = in.oral->held_eligibility_index;
          const auto& known = c.input.known_eligibilities;
          if (i < 0 || i >= static_cast<int>(known.size()) ||
              known[i].source != KnownEligibility::Source::kPastVisits) {
            bad.push_back(
                {"oral.held_eligibility_index", "must name a known eligibility from past visits"});
          } else if (bad.empty() && known[i].insurer_number.empty()) {
            bad.push_back(
                {"oral.held_eligibility_index", "the held eligibility's numbers were purged"});
          }
        }
      }
      if (m == Method::kInsuranceStatement && !in.statement) {
        bad.push_back({"statement", "required for the 被保険者資格申立書"});
      }
      if (m == Method::kFullSelfPay &&
          (!in.amount_collected_yen || *in.amount_collected_yen <= 0)) {
        bad.push_back({"amount_collected_yen", "required: the 10割 amount collected"});
      }
      break;
    }
    case EvidenceKind::kCardFace: {
      if (!in.card_face) {
        bad.push_back({"card_face", "required for CARD_FACE"});
      } else {
        const auto& f = *in.card_face;
        if (f.name.empty()) bad.push_back({"card_face.name", "required (氏名)"});
        if (f.sex == DeclaredSex::kUnset) bad.push_back({"card_face.sex", "required (性別)"});
        if (!f.birth_date) bad.push_back({"card_face.birth_date", "required (生年月日)"});
        if (f.address.empty() && f.insurer_name.empty()) {
          bad.push_back({"card_face.address", "住所 or 保険者名 is required"});
        }
      }
      if (in.amount_collected_yen && *in.amount_collected_yen < 0) {
        bad.push_back({"amount_collected_yen", "must not be negative"});
      }
      break;
    }
    case EvidenceKind::kPatientContacted: {
      if (!in.contacted_on) {
        bad.push_back({"contacted_on", "required: YYYY-MM-DD"});
      } else if (IsoDay(*in.contacted_on) < c.day || *in.contacted_on > today) {
        bad.push_back({"contacted_on", "between the visit and today"});
      }
      break;
    }
    case EvidenceKind::kEligibilityFound: {
      if (!in.eligibility || in.eligibility->insurer_number.empty()) {
        bad.push_back({"eligibility.insurer_number", "required: the eligibility found"});
      }
      CheckInsurerNumber(in.eligibility, bad, detail_ja);
      break;
    }
  }
  return bad;
}

Result<Change> RecordEvidence(const Case& c, const EvidenceInput& in, const std::string& actor,
                              const std::string& request_key, SystemTime now) {
  if (c.Applied(request_key)) return NoChange(c);  // recorded already: a retry appends nothing
  if (c.Closed()) return CaseClosed(c.id);
  const oqs::OqsDate today = JapanToday(now);
  const FallbackCase& input = c.input;

  // The engine is asked before the evidence is judged: a blocked method is refused as such.
  std::optional<MethodDecision> allowed;
  if (in.kind == EvidenceKind::kMethodApplied && in.method) {
    auto decided = Decide(input);
    if (!decided) return decided.error();
    const auto& md = decided->Find(*in.method);
    if (!md.allowed) return MethodNotAllowed(*in.method, md.rule);
    allowed = md;
  }
  if (in.kind == EvidenceKind::kCardFace && input.cause != FallbackCause::kTerminalError011) {
    return CardFaceNotApplicable();
  }
  std::string detail_ja;
  std::vector<FieldViolation> bad = EvidenceViolations(c, in, today, &detail_ja);
  if (in.kind == EvidenceKind::kMethodApplied && in.method == Method::kInsuranceStatement &&
      in.statement) {
    if (auto s = Validate(*in.statement); !s) {
      if (s.error().reason != "INVALID_INSURANCE_STATEMENT") return s.error();
      auto e = s.error();
      for (auto& f : e.field_violations) f.field = "evidence.statement." + f.field;
      for (const auto& f : bad)
        e.field_violations.push_back({"evidence." + f.field, f.description});
      return e;
    }
  }
  if (!bad.empty()) return InvalidEvidence(std::move(bad), "evidence.", std::move(detail_ja));

  Change ch = Begin(c);
  Case& after = ch.after;
  MarkApplied(after, request_key);
  CaseEvidence ev;
  ev.kind = in.kind;
  ev.staff_id = in.staff_id;
  ev.at = now;
  // Follow-up tasks and their events come after the evidence's own event.
  Change follow = Begin(after);
  const auto month_end = MonthEnd(input.date.value_or(today));

  switch (in.kind) {
    case EvidenceKind::kMethodApplied: {
      const Method m = *in.method;
      ev.method = m;
      ev.rule_id = allowed->rule.id;
      if (m == Method::kOralConfirmation) {
        KnownEligibility held = input.known_eligibilities[in.oral->held_eligibility_index];
        held.source = KnownEligibility::Source::kConfirmed;
        follow.after.personal.confirmed = held;
        ev.oral_answered_by = in.oral->answered_by;
      } else if (in.eligibility) {
        KnownEligibility k = *in.eligibility;
        k.source = KnownEligibility::Source::kConfirmed;
        follow.after.personal.confirmed = k;
        ev.eligibility_recorded = true;
      }
      if (m == Method::kInsuranceStatement) {
        follow.after.personal.statement = *in.statement;
        ev.statement_recorded = true;
      }
      ev.amount_collected_yen = in.amount_collected_yen;
      ev.eligibility_recorded = ev.eligibility_recorded || m == Method::kOralConfirmation;
      switch (m) {
        case Method::kConfirmAfterwards:
        case Method::kInsuranceStatement:
        case Method::kFullSelfPay:
          if (!HasOpen(follow.after, TaskKind::kContactPatient)) {
            AddTask(follow, TaskKind::kContactPatient, std::min(AddDays(today, 7), month_end),
                    "ask the patient for their eligibility information",
                    "患者に連絡し、資格情報（保険者番号等）を確認してください。", now, actor);
          }
          if (!HasOpen(follow.after, TaskKind::kRequeryBeforeClaim)) {
            AddTask(follow, TaskKind::kRequeryBeforeClaim, month_end,
                    "re-query OQS before the claim is made",
                    "請求前にオンライン資格確認で資格を再照会してください。", now, actor);
          }
          break;
        case Method::kEmergencyLookup:
          if (!in.eligibility && !HasOpen(follow.after, TaskKind::kRequeryBeforeClaim)) {
            AddTask(follow, TaskKind::kRequeryBeforeClaim, month_end,
                    "verify the eligibility once the emergency function is available",
                    "緊急時医療情報・資格確認機能が使えるようになったら資格を確認してください。",
                    now, actor);
          }
          break;
        default:
          break;
      }
      break;
    }
    case EvidenceKind::kCardFace: {
      follow.after.personal.card_face = *in.card_face;
      ev.card_face_recorded = true;
      ev.amount_collected_yen = in.amount_collected_yen;
      if (!HasOpen(follow.after, TaskKind::kRequeryBeforeClaim)) {
        AddTask(follow, TaskKind::kRequeryBeforeClaim, month_end,
                "verify with the card-face data once the emergency function is available",
                "緊急時医療情報・資格確認機能が使えるようになったら、控えた券面情報で資格を確認して"
                "ください。",
                now, actor);
      }
      break;
    }
    case EvidenceKind::kPatientContacted: {
      ev.contacted_on = IsoDay(*in.contacted_on);
      follow.after.personal.contacted_on = *ev.contacted_on;
      const std::vector<CaseTask> tasks = follow.after.tasks;
      for (auto t : tasks) {
        if (t.kind != TaskKind::kContactPatient || t.state != TaskState::kOpen) continue;
        t.state = TaskState::kDone;
        t.done_at = now;
        t.done_by = in.staff_id;
        UpdateTask(follow, t);
        Add(follow, now, actor, std::nullopt,
            Publish("fallback.task_completed", std::string(ToString(t.kind)), {{"task_id", t.id}}));
      }
      break;
    }
    case EvidenceKind::kEligibilityFound: {
      KnownEligibility k = *in.eligibility;
      k.source = KnownEligibility::Source::kConfirmed;
      follow.after.personal.confirmed = k;
      ev.eligibility_recorded = true;
      const bool paid_full =
          std::any_of(after.evidence.begin(), after.evidence.end(),
                      [](const CaseEvidence& e) { return e.method == Method::kFullSelfPay; });
      if (paid_full && !HasOpen(follow.after, TaskKind::kRefundDifference)) {
        AddTask(follow, TaskKind::kRefundDifference, AddDays(today, 14),
                "eligibility confirmed after 10割: refund the difference",
                "資格が確認できました。10割との差額を患者に返金してください。", now, actor);
      }
      break;
    }
  }

  after = std::move(follow.after);
  ev.seq = static_cast<std::int64_t>(after.evidence.size()) + 1;
  after.evidence.push_back(ev);
  if (ev.kind == EvidenceKind::kMethodApplied) after.applied_method = ev.method;
  // A recorded piece of evidence makes a chosen route stale.
  after.claim.reset();
  std::vector<std::pair<std::string, std::string>> attributes;
  if (ev.method) attributes.emplace_back("method", std::string(MethodName(*ev.method)));
  Add(ch, now, actor, proof::EvidenceRecorded{ev},
      Publish("fallback.evidence_recorded", std::string(ToString(in.kind)), std::move(attributes)));
  for (auto& e : follow.events) ch.events.push_back(std::move(e));
  ch.tasks = std::move(follow.tasks);
  return ch;
}

// ---------------------------------------------------------------------------------------------
// Claim route

Result<ClaimRouteAnswer> ChooseClaimRoute(const Case& c, std::optional<ClaimRoute> expected,
                                          std::optional<int> actual_days_at_claim,
                                          const std::string& actor, const std::string& request_key,
                                          SystemTime now) {
  if (c.Applied(request_key)) return ClaimRouteAnswer{NoChange(c), std::nullopt};
  if (c.Closed()) return CaseClosed(c.id);
  auto outcome = OutcomeOf(c, actual_days_at_claim);
  if (!outcome) return outcome.error();
  auto routed = RouteClaim(*outcome);
  ClaimRouteAnswer answer;
  Change& ch = answer.change;
  ch = Begin(c);
  if (!routed || (expected && routed->route != *expected)) {
    DomainError e = routed ? ClaimRouteMismatch(routed->route, routed->rule) : routed.error();
    // The refusal is part of the proof of attempt too.
    std::vector<std::string> fields;
    for (const auto& f : e.field_violations) fields.push_back(f.field);
    Add(ch, now, actor, proof::ClaimRouteRefused{e.reason, std::move(fields)},
        Publish("fallback.claim_route_refused", e.reason));
    answer.refused = std::move(e);
    return answer;
  }
  Case& after = ch.after;
  MarkApplied(after, request_key);
  ClaimSummary claim;
  claim.route = routed->route;
  claim.rule = routed->rule;
  claim.notes = routed->notes;
  claim.engine_version = routed->engine_version;
  claim.chosen_at = now;
  claim.chosen_by = actor;
  after.claim = claim;
  if (routed->claim_with) after.personal.claim_with = *routed->claim_with;
  after.personal.tekiyo = routed->tekiyo;
  std::vector<std::string> note_ids;
  for (const auto& n : claim.notes) note_ids.push_back(n.id);
  Add(ch, now, actor,
      proof::ClaimRouteChosen{claim.route, claim.rule.id, std::move(note_ids), claim.engine_version,
                              !routed->tekiyo.empty()},
      Publish("fallback.claim_route_chosen", claim.rule.id,
              {{"route", std::string(ClaimRouteName(claim.route))}}));
  // Notes that call for follow-ups, unless one of the kind was open before.
  const Case before = after;
  const auto today = JapanToday(now);
  for (const auto& note : claim.notes) {
    std::optional<TaskKind> kind;
    if (note.id == "REFUND_AFTER_FULL_SELF_PAY") kind = TaskKind::kRefundDifference;
    if (note.id == "CONTACT_THE_PATIENT") kind = TaskKind::kContactPatient;
    if (!kind || HasOpen(before, *kind)) continue;
    AddTask(ch, *kind, AddDays(today, 14), note.reason, note.reason_ja, now, actor);
  }
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Closing and purging

Status CheckCloseInput(const CloseInput& in) {
  if (in.reason != "CLAIM_WORK_FINISHED" && in.reason != "CANCELLED") return InvalidCloseReason();
  return OkStatus();
}

Result<Change> Close(const Case& c, const CloseInput& in, int return_watch_days,
                     const std::string& actor, const std::string& request_key, SystemTime now) {
  if (auto s = CheckCloseInput(in); !s) return s.error();
  if (c.Applied(request_key)) return NoChange(c);  // closed by this very request
  if (c.Closed()) return CaseClosed(c.id);
  if (in.reason == "CLAIM_WORK_FINISHED") {
    if (!c.claim) return NoClaimRoute();
    // The route must still hold on what is recorded now (e.g. a 不詳 摘要 still complete).
    auto outcome = OutcomeOf(c, std::nullopt);
    if (!outcome) return outcome.error();
    auto routed = RouteClaim(*outcome);
    if (!routed) return routed.error();
    if (routed->route != c.claim->route) return ClaimRouteStale();
  }
  Change ch = Begin(c);
  MarkApplied(ch.after, request_key);
  CloseCase(ch, in, return_watch_days, actor, now);
  return ch;
}

Change PurgeExpired(const Case& c, std::int64_t retention_hours, SystemTime now) {
  Change ch = Begin(c);
  ErasePersonalData(ch, now);
  Add(ch, now, std::string(kDaemonActor), proof::Purged{"RETENTION_EXPIRED", retention_hours},
      Publish("fallback.personal_data_purged", "RETENTION_EXPIRED"));
  return ch;
}

// ---------------------------------------------------------------------------------------------
// Tasks

std::optional<std::string> CaseIdOfTask(const std::string& task_id) {
  const auto last = task_id.rfind('_');
  if (task_id.rfind("tk_", 0) != 0 || last == std::string::npos || last <= 3) return std::nullopt;
  return "fb_" + task_id.substr(3, last - 3);
}

Status CheckTaskCompletion(const std::string& outcome, const std::string& staff_id) {
  std::vector<FieldViolation> bad;
  if (!outcome.empty() && outcome != "DONE" && outcome != "CLAIM_RETURNED") {
    bad.push_back({"outcome", "DONE or CLAIM_RETURNED"});
  }
  if (staff_id.empty()) bad.push_back({"staff_id", "required: who did it"});
  if (!bad.empty()) return InvalidTaskCompletion(std::move(bad));
  return OkStatus();
}

Result<TaskCompletion> CompleteTask(const Case& c, const std::string& task_id,
                                    const std::string& outcome, const std::string& staff_id,
                                    const std::string& actor, const std::string& request_key,
                                    SystemTime now) {
  if (auto s = CheckTaskCompletion(outcome, staff_id); !s) return s.error();
  const std::string result = outcome.empty() ? "DONE" : outcome;
  auto it = std::find_if(c.tasks.begin(), c.tasks.end(),
                         [&](const CaseTask& t) { return t.id == task_id; });
  if (it == c.tasks.end()) return TaskNotFound(task_id);
  CaseTask t = *it;
  if (c.Applied(request_key)) return TaskCompletion{NoChange(c), t};  // completed by this request
  if (t.state != TaskState::kOpen) return TaskNotOpen(ToString(t.state));
  if (result == "CLAIM_RETURNED" && t.kind != TaskKind::kReturnWatch) {
    return ClaimReturnedNeedsReturnWatch();
  }
  Change ch = Begin(c);
  MarkApplied(ch.after, request_key);
  t.state = TaskState::kDone;
  t.done_at = now;
  t.done_by = staff_id;
  t.outcome = result;
  Add(ch, now, actor, proof::TaskDone{t.id, t.kind, result, staff_id},
      Publish(result == "CLAIM_RETURNED" ? "fallback.claim_returned" : "fallback.task_completed",
              std::string(ToString(t.kind)), {{"task_id", t.id}}));
  UpdateTask(ch, t);
  return TaskCompletion{std::move(ch), t};
}

// ---------------------------------------------------------------------------------------------
// Online verification after all

Change VerifiedOnline(const Case& c, const std::string& check_in_id, std::int64_t result_id,
                      const oqs::EligibilityResult* result, SystemTime now) {
  // Staff already routed the claim: theirs to close.
  if (c.Closed() || c.claim) return NoChange(c);
  Change ch = Begin(c);
  Add(ch, now, std::string(kDaemonActor), proof::VerifiedOnline{check_in_id, result_id},
      Publish("fallback.verified_online", "VERIFIED_ONLINE"));
  CloseVerifiedOnline(ch, result,
                      {"VERIFIED_ONLINE", "OQS 資格確認結果",
                       "the check-in was verified online after all: claim with the current "
                       "eligibility",
                       "オンライン資格確認で資格が確認できました。現在の資格で請求してください。"},
                      now);
  return ch;
}

Change SendReverification(const Case& c, SystemTime now) {
  if (c.Closed() || (c.reverify != ReverifyState::kQueued && c.reverify != ReverifyState::kSent)) {
    return NoChange(c);
  }
  Change ch = Begin(c);
  ch.after.reverify_attempts += 1;
  ch.after.reverify = ReverifyState::kSent;
  Add(ch, now, std::string(kDaemonActor), proof::ReverifySent{ch.after.reverify_attempts},
      Publish("fallback.reverify_sent", "UPSTREAM_AVAILABLE"));
  return ch;
}

Change ApplyReverification(const Case& c, const ReverifyOutcome& outcome, int max_attempts,
                           SystemTime now) {
  if (c.Closed()) return NoChange(c);  // the check-in's own listener closed it already
  const std::string actor(kDaemonActor);
  Change ch = Begin(c);
  Case& after = ch.after;
  const int attempts = c.reverify_attempts;
  if (outcome.failure) {
    after.reverify = attempts >= max_attempts ? ReverifyState::kGaveUp : ReverifyState::kQueued;
    Add(ch, now, actor, proof::ReverifyFailed{attempts, outcome.failure->reason, after.reverify},
        Publish("fallback.reverify_failed", outcome.failure->reason));
    return ch;
  }
  std::optional<FallbackCause> cause;
  if (outcome.result) cause = FallbackCauseOf(*outcome.result);
  const bool valid = outcome.result && outcome.result->IsSingleValidResult();
  after.reverify = ReverifyState::kDone;
  Add(ch, now, actor, proof::Reverified{attempts, outcome.result_id, valid, cause},
      Publish("fallback.reverified", valid ? "VALID" : "NOT_VALID"));
  if (!valid && cause) {
    // The result is a reason of its own: decide again with it (and a 旧資格 it shows).
    after.input.cause = *cause;
    std::erase_if(after.input.known_eligibilities, [](const KnownEligibility& k) {
      return k.source == KnownEligibility::Source::kInvalidResult;
    });
    if (auto old = OldEligibilityOf(*outcome.result)) {
      after.input.known_eligibilities.push_back(*old);
    }
    Evaluate(ch, actor, "REVERIFIED", now);
  }
  // Closed by the check-in's listener when the check-in became VERIFIED; closed here too in case
  // the check-in could not take the result (e.g. it was cancelled meanwhile).
  if (valid && !after.claim) {
    CloseVerifiedOnline(ch, &*outcome.result,
                        {"VERIFIED_ONLINE", "OQS 資格確認結果",
                         "re-verified online: claim with the current eligibility",
                         "再照会で資格が確認できました。現在の資格で請求してください。"},
                        now);
  }
  return ch;
}

}  // namespace onshid::core::fallback
