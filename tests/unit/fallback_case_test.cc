// The fallback case's pure rules (core/fallback/case.h): what each kind of evidence needs, the
// tasks evidence, routes and closing create with their due days, the claim route, the check-in →
// engine derivation, and the events each change appends. No store: a case is a value.
//
// Dates: visits on 2025-12-10 (Japan) unless said otherwise; `now` is 10:00 JST on the day.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/fallback/case.h"
#include "core/fallback/case_errors.h"

namespace {

namespace core = onshid::core;
namespace fb = onshid::core::fallback;
namespace oqs = onshid::core::oqs;
namespace ck = onshid::core::checkin;
using fb::Method;
using C = fb::FallbackCause;

oqs::OqsDate D(const char* s) { return oqs::OqsDate::Parse(s).value(); }

// 10:00 JST on `day` (YYYYMMDD).
core::SystemTime At(const char* day) { return D(day).JapanMidnight() + std::chrono::hours{10}; }

const core::SystemTime kNow = At("20251210");

constexpr const char* kValidInsurer = "06139992";     // 法別 06, check digit 2
constexpr const char* kWrongCheckDigit = "06139991";  // the same number with a wrong check digit

fb::KnownEligibility Eligibility(
    const char* insurer,
    fb::KnownEligibility::Source source = fb::KnownEligibility::Source::kConfirmed) {
  fb::KnownEligibility k;
  k.source = source;
  k.insurer_number = insurer;
  k.symbol = "KIGO";
  k.number = "BANGO";
  k.branch = "01";
  k.insurer_name = "テスト健康保険組合";
  k.ratio_wari = 3;
  return k;
}

// A first visit on 2025-12-10 with the card, the terminal unreachable: an open case.
fb::Case OpenCase(C cause = C::kNetworkError, const char* day = "20251210") {
  fb::FallbackCase input;
  input.cause = cause;
  input.presented.Add(core::Document::kMyNumberCard);
  input.date = D(day);
  auto opened = fb::OpenByHand({"fb_abc", "", "desk-1"}, input, At(day));
  REQUIRE(opened.ok());
  return opened->after;
}

fb::InsuranceStatement Statement() {
  fb::InsuranceStatement s;
  s.has_valid_insurance = true;
  s.insurance_type = fb::InsuranceType::kShaho;
  s.insurer_name = "全国健康保険協会";
  s.employer_name = "株式会社テスト";
  s.name = "山田　太郎";
  s.furigana = "ヤマダ　タロウ";
  s.birth_date = fb::WarekiDate{fb::Era::kShowa, 55, 1, 15};
  s.sex = fb::DeclaredSex::kMale;
  s.address = "東京都千代田区1-1";
  s.written_on = D("20251210");
  s.signed_by_patient_or_guardian = true;
  s.phone = "090-1234-5678";
  return s;
}

fb::EvidenceInput Applied(Method m) {
  fb::EvidenceInput in;
  in.kind = fb::EvidenceKind::kMethodApplied;
  in.staff_id = "staff-7";
  in.method = m;
  return in;
}

fb::EvidenceInput Found(const char* insurer) {
  fb::EvidenceInput in;
  in.kind = fb::EvidenceKind::kEligibilityFound;
  in.staff_id = "staff-7";
  in.eligibility = Eligibility(insurer);
  return in;
}

std::vector<std::string> Fields(const core::DomainError& e) {
  std::vector<std::string> out;
  for (const auto& v : e.field_violations) out.push_back(v.field);
  return out;
}

bool Names(const core::DomainError& e, const std::string& field) {
  const auto f = Fields(e);
  return std::find(f.begin(), f.end(), field) != f.end();
}

std::vector<std::string> ProofKinds(const fb::Change& ch) {
  std::vector<std::string> out;
  for (const auto& e : ch.events) {
    if (e.proof) out.emplace_back(fb::ProofKind(*e.proof));
  }
  return out;
}

std::vector<std::string> Published(const fb::Change& ch) {
  std::vector<std::string> out;
  for (const auto& e : ch.events) {
    if (e.publication) out.push_back(e.publication->type + ":" + e.publication->reason);
  }
  return out;
}

const fb::CaseTask* TaskOf(const fb::Case& c, fb::TaskKind kind) {
  for (const auto& t : c.tasks) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

template <typename T>
T Ok(const core::Result<T>& r) {
  if (!r.ok()) FAIL(r.error().reason << ": " << r.error().message);
  return r.value();
}

template <typename T>
core::DomainError Err(const core::Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error();
}

// A stored case as the application hands it to the next rule (the store assigns the version).
fb::Case Stored(fb::Change ch) {
  ch.after.version += 1;
  return ch.after;
}

}  // namespace

// =============================================================================================
// The insurer number staff type

TEST_CASE("fallback case: an insurer number in evidence must have a valid check digit",
          "[fallback_case]") {
  const fb::Case c = OpenCase();

  SECTION("the eligibility seen on the portal screen") {
    auto in = Applied(Method::kPortalScreen);
    in.eligibility = Eligibility(kWrongCheckDigit);
    const auto e = Err(fb::RecordEvidence(c, in, "desk-1", "", kNow));
    CHECK(e.reason == "INVALID_EVIDENCE");
    CHECK(e.kind == core::ErrorKind::kInvalidArgument);
    CHECK(Fields(e) == std::vector<std::string>{"evidence.eligibility.insurer_number"});
    CHECK(e.field_violations[0].description.find("check digit") != std::string::npos);
    // The clerk reads which item and why.
    CHECK(e.message_ja.find("保険者番号") != std::string::npos);
    CHECK(e.message_ja.find("検証番号") != std::string::npos);
    // Not the number itself (personal data).
    CHECK(e.message.find(kWrongCheckDigit) == std::string::npos);
    CHECK(e.message_ja.find(kWrongCheckDigit) == std::string::npos);

    in.eligibility = Eligibility(kValidInsurer);
    CHECK(fb::RecordEvidence(c, in, "desk-1", "", kNow).ok());
  }

  SECTION("other malformed numbers: letters, a wrong length") {
    for (const char* bad : {"0613999X", "0613999", "061399921"}) {
      INFO(bad);
      auto in = Applied(Method::kPortalScreen);
      in.eligibility = Eligibility(bad);
      CHECK(Names(Err(fb::RecordEvidence(c, in, "desk-1", "", kNow)),
                  "evidence.eligibility.insurer_number"));
    }
    // A 6-digit 国保 number and full-width digits are numbers as a clerk types them.
    for (const char* good : {"138057", "０６１３９９９２"}) {
      INFO(good);
      auto in = Applied(Method::kPortalScreen);
      in.eligibility = Eligibility(good);
      CHECK(fb::RecordEvidence(c, in, "desk-1", "", kNow).ok());
    }
  }

  SECTION("an eligibility found afterwards") {
    const auto e = Err(fb::RecordEvidence(c, Found(kWrongCheckDigit), "desk-1", "", kNow));
    CHECK(e.reason == "INVALID_EVIDENCE");
    CHECK(Fields(e) == std::vector<std::string>{"evidence.eligibility.insurer_number"});
    CHECK(fb::RecordEvidence(c, Found(kValidInsurer), "desk-1", "", kNow).ok());
  }

  SECTION("an eligibility given with a method that does not need one is still checked") {
    fb::FallbackCase input = c.input;
    input.actual_days = 2;  // 事後確認 is allowed
    auto later = Ok(fb::OpenByHand({"fb_later", "", "desk-1"}, input, kNow)).after;
    auto in = Applied(Method::kConfirmAfterwards);
    in.eligibility = Eligibility(kWrongCheckDigit);
    CHECK(Names(Err(fb::RecordEvidence(later, in, "desk-1", "", kNow)),
                "evidence.eligibility.insurer_number"));
  }

  SECTION("with a 申立書, next to the form's own problems") {
    auto in = Applied(Method::kInsuranceStatement);
    in.statement = Statement();
    in.statement->phone.clear();
    in.eligibility = Eligibility(kWrongCheckDigit);
    const auto e = Err(fb::RecordEvidence(c, in, "desk-1", "", kNow));
    CHECK(e.reason == "INVALID_INSURANCE_STATEMENT");
    CHECK(Names(e, "evidence.statement.phone"));
    CHECK(Names(e, "evidence.eligibility.insurer_number"));
  }
}

// =============================================================================================
// What each kind of evidence needs

TEST_CASE("fallback case: every missing piece of evidence is named by its path",
          "[fallback_case]") {
  const fb::Case c = OpenCase();
  const auto today = D("20251210");

  SECTION("staff and the eligibility seen") {
    auto in = Applied(Method::kPortalScreen);
    in.staff_id.clear();
    std::string detail;
    CHECK(Fields(fb::InvalidEvidence(fb::EvidenceViolations(c, in, today, &detail))) ==
          std::vector<std::string>{"evidence.staff_id", "evidence.eligibility.insurer_number"});
    CHECK(detail.empty());
  }
  SECTION("METHOD_APPLIED without its method") {
    auto in = Applied(Method::kPortalScreen);
    in.method.reset();
    CHECK(Fields(Err(fb::RecordEvidence(c, in, "desk-1", "", kNow))) ==
          std::vector<std::string>{"evidence.method"});
  }
  SECTION("the 申立書: missing, then invalid") {
    const auto missing =
        Err(fb::RecordEvidence(c, Applied(Method::kInsuranceStatement), "desk-1", "", kNow));
    CHECK(missing.reason == "INVALID_EVIDENCE");
    CHECK(Fields(missing) == std::vector<std::string>{"evidence.statement"});
    auto in = Applied(Method::kInsuranceStatement);
    in.statement = Statement();
    in.statement->phone = "12345";
    in.staff_id.clear();
    const auto invalid = Err(fb::RecordEvidence(c, in, "desk-1", "", kNow));
    CHECK(invalid.reason == "INVALID_INSURANCE_STATEMENT");
    CHECK(Fields(invalid) ==
          std::vector<std::string>{"evidence.statement.phone", "evidence.staff_id"});
  }
  SECTION("口頭確認 needs the answer about a held eligibility") {
    fb::FallbackCase input = c.input;
    input.visit = fb::VisitKind::kRevisit;
    input.known_eligibilities = {
        Eligibility(kValidInsurer, fb::KnownEligibility::Source::kPastVisits)};
    auto revisit = Ok(fb::OpenByHand({"fb_re", "", "desk-1"}, input, kNow)).after;
    auto in = Applied(Method::kOralConfirmation);
    CHECK(Fields(Err(fb::RecordEvidence(revisit, in, "desk-1", "", kNow))) ==
          std::vector<std::string>{"evidence.oral"});
    in.oral = fb::OralConfirmation{"NEIGHBOUR", false, 3};
    CHECK(Fields(Err(fb::RecordEvidence(revisit, in, "desk-1", "", kNow))) ==
          std::vector<std::string>{"evidence.oral.answered_by", "evidence.oral.no_change_confirmed",
                                   "evidence.oral.held_eligibility_index"});
    in.oral = fb::OralConfirmation{"FAMILY", true, 0};
    in.eligibility = Eligibility(kWrongCheckDigit);  // not what 口頭確認 records: ignored
    const auto ch = Ok(fb::RecordEvidence(revisit, in, "desk-1", "", kNow));
    REQUIRE(ch.after.personal.confirmed);
    CHECK(ch.after.personal.confirmed->insurer_number == kValidInsurer);
    CHECK(ch.after.personal.confirmed->source == fb::KnownEligibility::Source::kConfirmed);
    CHECK(ch.after.evidence.back().oral_answered_by == "FAMILY");
    CHECK(ch.after.evidence.back().eligibility_recorded);
  }
  SECTION("10割 needs the amount") {
    fb::FallbackCase input = c.input;
    input.has_valid_insurance_now = false;
    auto self_pay = Ok(fb::OpenByHand({"fb_sp", "", "desk-1"}, input, kNow)).after;
    auto in = Applied(Method::kFullSelfPay);
    in.amount_collected_yen = 0;
    CHECK(Fields(Err(fb::RecordEvidence(self_pay, in, "desk-1", "", kNow))) ==
          std::vector<std::string>{"evidence.amount_collected_yen"});
  }
  SECTION("the card face after error 011 only, with its items") {
    fb::EvidenceInput face;
    face.kind = fb::EvidenceKind::kCardFace;
    face.staff_id = "staff-7";
    face.card_face = fb::CardFace{"", fb::DeclaredSex::kUnset, std::nullopt, "", ""};
    CHECK(Err(fb::RecordEvidence(c, face, "desk-1", "", kNow)).reason == "EVIDENCE_NOT_APPLICABLE");
    const fb::Case e011 = OpenCase(C::kTerminalError011);
    face.amount_collected_yen = -1;
    CHECK(Fields(Err(fb::RecordEvidence(e011, face, "desk-1", "", kNow))) ==
          std::vector<std::string>{"evidence.card_face.name", "evidence.card_face.sex",
                                   "evidence.card_face.birth_date", "evidence.card_face.address",
                                   "evidence.amount_collected_yen"});
  }
  SECTION("the contact date lies between the visit and today") {
    fb::EvidenceInput contacted;
    contacted.kind = fb::EvidenceKind::kPatientContacted;
    contacted.staff_id = "staff-7";
    const auto later = At("20251215");
    CHECK(Fields(Err(fb::RecordEvidence(c, contacted, "desk-1", "", later))) ==
          std::vector<std::string>{"evidence.contacted_on"});
    for (const char* day : {"20251209", "20251216"}) {
      INFO(day);
      contacted.contacted_on = D(day);
      CHECK(Names(Err(fb::RecordEvidence(c, contacted, "desk-1", "", later)),
                  "evidence.contacted_on"));
    }
    for (const char* day : {"20251210", "20251215"}) {
      INFO(day);
      contacted.contacted_on = D(day);
      CHECK(fb::RecordEvidence(c, contacted, "desk-1", "", later).ok());
    }
  }
  SECTION("a method the engine blocks is refused with its rule before anything else") {
    auto in = Applied(Method::kOralConfirmation);
    in.staff_id.clear();
    const auto e = Err(fb::RecordEvidence(c, in, "desk-1", "", kNow));
    CHECK(e.reason == "METHOD_NOT_ALLOWED");
    CHECK(e.metadata.front() == std::pair<std::string, std::string>{"rule", "ORAL_NEEDS_REVISIT"});
  }
}

TEST_CASE("fallback case: INVALID_EVIDENCE has one wording, naming the items for the clerk",
          "[fallback_case]") {
  const auto e = fb::InvalidEvidence(
      {{"staff_id", "required"}, {"statement.phone", "digits"}, {"statement.name", "required"}});
  CHECK(e.reason == "INVALID_EVIDENCE");
  CHECK(Fields(e) == std::vector<std::string>{"evidence.staff_id", "evidence.statement.phone",
                                              "evidence.statement.name"});
  CHECK(e.message_ja ==
        "記録する内容に不足または誤りがあります。次の項目を確認してください：記録者、被保険者資格申"
        "立書");
  const auto under = fb::InvalidEvidence({{"eligibility.insurer_number", "check digit"}}, "",
                                         "保険者番号が正しくありません。");
  CHECK(Fields(under) == std::vector<std::string>{"eligibility.insurer_number"});
  CHECK(under.message_ja ==
        "記録する内容に不足または誤りがあります。次の項目を確認してください：保険者番号。"
        "保険者番号が正しくありません。");
  // A parent of a labelled field keeps the parent's label.
  CHECK(fb::InvalidEvidence({{"eligibility.ratio_wari", "1–3"}})
            .message_ja.find("確認した資格情報") != std::string::npos);
}

// =============================================================================================
// Tasks and their due days

TEST_CASE("fallback case: evidence creates the follow-up tasks once, due by the claim month",
          "[fallback_case]") {
  SECTION("a 申立書 on the 10th: contact within a week, re-query by the month's end") {
    auto in = Applied(Method::kInsuranceStatement);
    in.statement = Statement();
    const auto ch = Ok(fb::RecordEvidence(OpenCase(), in, "desk-1", "", kNow));
    REQUIRE(ch.tasks.size() == 2);
    CHECK(ch.tasks[0].kind == fb::TaskKind::kContactPatient);
    CHECK(ch.tasks[0].due_day == "2025-12-17");
    CHECK(ch.tasks[0].id == "tk_abc_1");
    CHECK(ch.tasks[1].kind == fb::TaskKind::kRequeryBeforeClaim);
    CHECK(ch.tasks[1].due_day == "2025-12-31");
    CHECK(ch.tasks[1].id == "tk_abc_2");
    CHECK(ch.after.task_seq == 2);
    CHECK(ch.after.tasks.size() == 2);
    CHECK(ProofKinds(ch) == std::vector<std::string>{"EVIDENCE"});
    CHECK(Published(ch) == std::vector<std::string>{"fallback.evidence_recorded:METHOD_APPLIED",
                                                    "fallback.task_created:CONTACT_PATIENT",
                                                    "fallback.task_created:REQUERY_BEFORE_CLAIM"});
    REQUIRE(ch.after.personal.statement);
    CHECK(ch.after.evidence.at(0).statement_recorded);
    CHECK(ch.after.evidence.at(0).rule_id == "STATEMENT_FIRST_VISIT");
    CHECK(ch.after.applied_method == Method::kInsuranceStatement);

    // Again: a second piece of evidence, no second pair of tasks.
    const auto twice = Ok(fb::RecordEvidence(Stored(ch), in, "desk-1", "", kNow));
    CHECK(twice.tasks.empty());
    CHECK(twice.after.evidence.size() == 2);
    CHECK(twice.after.evidence[1].seq == 2);
  }

  SECTION("a 申立書 on the 28th: the contact is due before the month's claim, not a week later") {
    auto in = Applied(Method::kInsuranceStatement);
    in.statement = Statement();
    in.statement->written_on = D("20251228");
    const auto ch = Ok(fb::RecordEvidence(OpenCase(C::kNetworkError, "20251228"), in, "desk-1", "",
                                          At("20251228")));
    REQUIRE(ch.tasks.size() == 2);
    CHECK(ch.tasks[0].due_day == "2025-12-31");
    CHECK(ch.tasks[1].due_day == "2025-12-31");
  }

  SECTION("the patient contacted completes the contact task") {
    auto in = Applied(Method::kInsuranceStatement);
    in.statement = Statement();
    const fb::Case with_tasks = Stored(Ok(fb::RecordEvidence(OpenCase(), in, "desk-1", "", kNow)));
    fb::EvidenceInput contacted;
    contacted.kind = fb::EvidenceKind::kPatientContacted;
    contacted.staff_id = "staff-9";
    contacted.contacted_on = D("20251212");
    const auto ch = Ok(fb::RecordEvidence(with_tasks, contacted, "desk-1", "", At("20251213")));
    REQUIRE(ch.tasks.size() == 1);
    CHECK(ch.tasks[0].kind == fb::TaskKind::kContactPatient);
    CHECK(ch.tasks[0].state == fb::TaskState::kDone);
    CHECK(ch.tasks[0].done_by == "staff-9");
    CHECK(TaskOf(ch.after, fb::TaskKind::kContactPatient)->state == fb::TaskState::kDone);
    CHECK(TaskOf(ch.after, fb::TaskKind::kRequeryBeforeClaim)->state == fb::TaskState::kOpen);
    CHECK(ch.after.personal.contacted_on == "2025-12-12");
    CHECK(Published(ch).back() == "fallback.task_completed:CONTACT_PATIENT");
  }

  SECTION("10割, then the eligibility found: refund the difference within 14 days") {
    fb::FallbackCase input = OpenCase().input;
    input.has_valid_insurance_now = false;
    const fb::Case c = Ok(fb::OpenByHand({"fb_sp", "", "desk-1"}, input, kNow)).after;
    auto paid = Applied(Method::kFullSelfPay);
    paid.amount_collected_yen = 12000;
    const fb::Case after_paid = Stored(Ok(fb::RecordEvidence(c, paid, "desk-1", "", kNow)));
    const auto found =
        Ok(fb::RecordEvidence(after_paid, Found(kValidInsurer), "desk-1", "", At("20251220")));
    REQUIRE(found.tasks.size() == 1);
    CHECK(found.tasks[0].kind == fb::TaskKind::kRefundDifference);
    CHECK(found.tasks[0].due_day == "2026-01-03");
    // Without a 10割 before, nothing is owed.
    CHECK(
        Ok(fb::RecordEvidence(OpenCase(), Found(kValidInsurer), "desk-1", "", kNow)).tasks.empty());
  }

  SECTION("the lookup after error 011 without an eligibility is re-queried later") {
    const fb::Case c = OpenCase(C::kTerminalError011);
    const auto ch =
        Ok(fb::RecordEvidence(c, Applied(Method::kEmergencyLookup), "desk-1", "", kNow));
    REQUIRE(ch.tasks.size() == 1);
    CHECK(ch.tasks[0].kind == fb::TaskKind::kRequeryBeforeClaim);
    CHECK(ch.tasks[0].due_day == "2025-12-31");
  }
}

// =============================================================================================
// The claim route and closing

TEST_CASE(
    "fallback case: the claim route is refused on the record, chosen, and must still hold "
    "when the case closes",
    "[fallback_case]") {
  fb::Case c = OpenCase();
  CHECK(Err(fb::ChooseClaimRoute(c, std::nullopt, std::nullopt, "desk-1", "", kNow)).reason ==
        "NO_METHOD_APPLIED");
  auto in = Applied(Method::kInsuranceStatement);
  in.statement = Statement();
  c = Stored(Ok(fb::RecordEvidence(c, in, "desk-1", "", kNow)));

  // The 摘要 lacks the contact date: refused, the refusal recorded, the request key not applied.
  const auto refused =
      Ok(fb::ChooseClaimRoute(c, std::nullopt, std::nullopt, "desk-1", "desk-1/r1", kNow));
  REQUIRE(refused.refused);
  CHECK(refused.refused->reason == "FUSHO_TEKIYO_INCOMPLETE");
  CHECK(refused.change.write);
  CHECK(ProofKinds(refused.change) == std::vector<std::string>{"CLAIM_ROUTE_REFUSED"});
  CHECK_FALSE(refused.change.after.Applied("desk-1/r1"));
  CHECK_FALSE(refused.change.after.claim);

  fb::EvidenceInput contacted;
  contacted.kind = fb::EvidenceKind::kPatientContacted;
  contacted.staff_id = "staff-7";
  contacted.contacted_on = D("20251215");
  c = Stored(Ok(fb::RecordEvidence(c, contacted, "desk-1", "", At("20251215"))));

  const auto mismatch =
      Ok(fb::ChooseClaimRoute(c, fb::ClaimRoute::kCurrent, std::nullopt, "desk-1", "", kNow));
  REQUIRE(mismatch.refused);
  CHECK(mismatch.refused->reason == "CLAIM_ROUTE_MISMATCH");

  const auto chosen = Ok(fb::ChooseClaimRoute(c, fb::ClaimRoute::kUnknown, std::nullopt, "desk-1",
                                              "desk-1/r2", At("20251215")));
  CHECK_FALSE(chosen.refused);
  REQUIRE(chosen.change.after.claim);
  CHECK(chosen.change.after.claim->route == fb::ClaimRoute::kUnknown);
  CHECK(chosen.change.after.personal.tekiyo.rfind("不詳", 0) == 0);
  CHECK(chosen.change.after.Applied("desk-1/r2"));
  c = Stored(chosen.change);
  // The same request again changes nothing.
  CHECK_FALSE(Ok(fb::ChooseClaimRoute(c, std::nullopt, std::nullopt, "desk-1", "desk-1/r2", kNow))
                  .change.write);

  // A 不詳 claim finished: 返戻 watched for 90 days, the rest cancelled, personal data purged.
  const auto finished = At("20251216");
  fb::CloseInput close;
  CHECK(Err(fb::Close(OpenCase(), close, 90, "desk-1", "", finished)).reason == "NO_CLAIM_ROUTE");
  CHECK(Err(fb::Close(c, {"DONE", false}, 90, "desk-1", "", finished)).reason ==
        "INVALID_CLOSE_REASON");
  const auto closed = Ok(fb::Close(c, close, 90, "desk-1", "", finished));
  CHECK(closed.after.Closed());
  CHECK(closed.after.close_reason == "CLAIM_WORK_FINISHED");
  CHECK(closed.purge_personal_data);
  CHECK_FALSE(closed.after.personal.statement);
  CHECK(closed.after.personal.tekiyo.empty());
  CHECK(closed.after.purged_at == finished);
  const auto* watch = TaskOf(closed.after, fb::TaskKind::kReturnWatch);
  REQUIRE(watch);
  CHECK(watch->due_day == "2026-03-16");
  CHECK(watch->route == "UNKNOWN");
  CHECK(TaskOf(closed.after, fb::TaskKind::kRequeryBeforeClaim)->state ==
        fb::TaskState::kCancelled);
  CHECK(ProofKinds(closed) == std::vector<std::string>{"CLOSED", "PURGED"});
  CHECK(Published(closed) == std::vector<std::string>{"fallback.task_created:RETURN_WATCH",
                                                      "fallback.case_closed:CLAIM_WORK_FINISHED",
                                                      "fallback.personal_data_purged:CASE_CLOSED"});
  CHECK(Err(fb::RecordEvidence(Stored(closed), contacted, "desk-1", "", finished)).reason ==
        "CASE_CLOSED");

  // New evidence makes the chosen route stale; closing then needs it chosen again.
  auto more = Ok(fb::RecordEvidence(c, Found(kValidInsurer), "desk-1", "", finished));
  CHECK_FALSE(more.after.claim);
}

TEST_CASE("fallback case: a purge deletes every identifier, also of known eligibilities",
          "[fallback_case]") {
  fb::FallbackCase input = OpenCase().input;
  input.cause = C::kResultInvalid;
  input.known_eligibilities = {
      Eligibility(kValidInsurer, fb::KnownEligibility::Source::kInvalidResult)};
  fb::Case c = Ok(fb::OpenByHand({"fb_p", "", "desk-1"}, input, kNow)).after;
  c.personal.confirmed = Eligibility(kValidInsurer);
  c.state = fb::CaseState::kClosed;
  const auto ch = fb::PurgeExpired(c, 48, kNow);
  CHECK(ch.purge_personal_data);
  CHECK_FALSE(ch.after.personal.confirmed);
  REQUIRE(ch.after.input.known_eligibilities.size() == 1);
  const auto& k = ch.after.input.known_eligibilities[0];
  CHECK(k.insurer_number.empty());
  CHECK(k.number.empty());
  CHECK(k.source == fb::KnownEligibility::Source::kInvalidResult);
  CHECK(k.ratio_wari == 3);
  CHECK(ProofKinds(ch) == std::vector<std::string>{"PURGED"});
}

TEST_CASE("fallback case: completing tasks", "[fallback_case]") {
  CHECK(fb::CaseIdOfTask("tk_abc_3") == "fb_abc");
  CHECK_FALSE(fb::CaseIdOfTask("tk_3"));
  CHECK_FALSE(fb::CaseIdOfTask("garbage"));
  CHECK(Fields(Err(fb::CheckTaskCompletion("MAYBE", ""))) ==
        std::vector<std::string>{"outcome", "staff_id"});

  auto in = Applied(Method::kInsuranceStatement);
  in.statement = Statement();
  const fb::Case c = Stored(Ok(fb::RecordEvidence(OpenCase(), in, "desk-1", "", kNow)));
  CHECK(Err(fb::CompleteTask(c, "tk_abc_9", "", "staff-7", "desk-1", "", kNow)).reason ==
        "TASK_NOT_FOUND");
  CHECK(Err(fb::CompleteTask(c, "tk_abc_1", "CLAIM_RETURNED", "staff-7", "desk-1", "", kNow))
            .reason == "INVALID_TASK_COMPLETION");
  const auto done = Ok(fb::CompleteTask(c, "tk_abc_1", "", "staff-7", "desk-1", "k1", kNow));
  CHECK(done.task.state == fb::TaskState::kDone);
  CHECK(done.task.outcome == "DONE");
  CHECK(ProofKinds(done.change) == std::vector<std::string>{"TASK_DONE"});
  const fb::Case after = Stored(done.change);
  // The same request again: the task as it is, nothing written; another request: not open.
  const auto again = Ok(fb::CompleteTask(after, "tk_abc_1", "", "staff-7", "desk-1", "k1", kNow));
  CHECK_FALSE(again.change.write);
  CHECK(Err(fb::CompleteTask(after, "tk_abc_1", "", "staff-7", "desk-1", "k2", kNow)).reason ==
        "TASK_NOT_OPEN");
}

// =============================================================================================
// From a check-in

TEST_CASE("fallback case: the engine's inputs derived from a check-in", "[fallback_case]") {
  fb::CheckInFacts ci;
  ci.id = "ci_1";
  ci.day = "2025-12-10";
  ci.state = ck::CheckInState::kNeedsFallback;
  ci.channel = ck::Channel::kDocumentQuery;
  ci.documents = {core::Document::kQualificationCertificateCard};

  SECTION("the age bracket on the visit day: 75 and over is 後期高齢者") {
    const std::vector<std::pair<const char*, fb::AgeBracket>> cases = {
        {"19501210", fb::AgeBracket::kKouki},    // 75 on the day itself
        {"19501211", fb::AgeBracket::k70To74},   // 75 tomorrow
        {"19551210", fb::AgeBracket::k70To74},   // 70 on the day
        {"19551211", fb::AgeBracket::kUnder70},  // 69
        {"19200101", fb::AgeBracket::kKouki}};
    for (const auto& [birth, bracket] : cases) {
      INFO(birth);
      ci.query_birth_date = birth;
      const auto d = fb::DeriveInput(ci, false);
      CHECK(d.input.age == bracket);
      CHECK(d.unconfirmed == std::vector<std::string>{"has_valid_insurance_now"});
    }
    ci.query_birth_date = "1950-12-10";  // not the query's form: no age
    const auto unknown = fb::DeriveInput(ci, false);
    CHECK(unknown.input.age == fb::AgeBracket::kUnder70);
    CHECK(unknown.unconfirmed == std::vector<std::string>{"age", "has_valid_insurance_now"});
  }

  SECTION("実日数 counts this visit and stays within 1–31") {
    for (const auto& [before, days] :
         std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {30, 31}, {31, 31}, {45, 31}, {-3, 1}}) {
      INFO(before);
      ci.real_days_this_month = before;
      CHECK(fb::DeriveInput(ci, false).input.actual_days == days);
    }
  }

  SECTION("cause, documents, visit and facility") {
    auto d = fb::DeriveInput(ci, true);
    CHECK(d.input.cause == C::kNetworkError);  // no cause yet: the terminal is assumed unreachable
    CHECK(d.input.presented.HasQualificationCertificate());
    CHECK_FALSE(d.input.presented.HasMyNumberCard());
    CHECK(d.input.facility.reads_smartphones);
    CHECK(d.input.date == D("20251210"));
    ci.channel = ck::Channel::kFaceReader;
    ci.documents.clear();
    ci.cause = C::kFaceReaderWontStart;
    ci.visit = fb::VisitKind::kRevisit;
    d = fb::DeriveInput(ci, false);
    CHECK(d.input.cause == C::kFaceReaderWontStart);
    CHECK(d.input.presented.HasMyNumberCard());  // the card was on the reader
    CHECK(d.unconfirmed ==
          std::vector<std::string>{"age", "has_valid_insurance_now", "known_eligibilities"});
  }

  SECTION("a 資格(無効) result: its 旧資格 is known and its birth date wins over the query's") {
    oqs::EligibilityResult r;
    r.qualification_validity = oqs::CodeValue<oqs::QualificationValidity>{
        "2", oqs::ParseCode<oqs::QualificationValidity>("2")};
    oqs::Qualification q;
    q.insurer_number = oqs::InsurerNumberValue{kValidInsurer, std::nullopt};
    q.insured_identification_number = "BANGO";
    q.birthdate = oqs::DateValue{"19401010", D("19401010")};
    r.results.push_back(q);
    ci.result = r;
    ci.query_birth_date = "19800115";
    const auto d = fb::DeriveInput(ci, false);
    CHECK(d.input.age == fb::AgeBracket::kKouki);
    REQUIRE(d.input.known_eligibilities.size() == 1);
    CHECK(d.input.known_eligibilities[0].source == fb::KnownEligibility::Source::kInvalidResult);
    CHECK(d.input.known_eligibilities[0].insurer_number == kValidInsurer);
  }

  SECTION("opening: only for NEEDS_FALLBACK; queued when the query can be re-sent") {
    ci.state = ck::CheckInState::kVerified;
    const auto e = Err(fb::OpenForCheckIn({"fb_1", "", "onshid"}, ci, std::nullopt, false, kNow));
    CHECK(e.reason == "CHECKIN_NOT_IN_FALLBACK");
    ci.state = ck::CheckInState::kNeedsFallback;
    ci.cause = C::kNetworkError;
    ci.can_reverify = true;
    const auto ch = Ok(fb::OpenForCheckIn({"fb_1", "", "onshid"}, ci, std::nullopt, false, kNow));
    CHECK(ch.after.reverify == fb::ReverifyState::kQueued);
    CHECK(ch.after.check_in_id == "ci_1");
    CHECK(ProofKinds(ch) == std::vector<std::string>{"OPENED", "EVALUATED"});
    CHECK(Published(ch) == std::vector<std::string>{"fallback.case_opened:CHECKIN_NEEDS_FALLBACK",
                                                    "fallback.reverify_queued:UPSTREAM_UNAVAILABLE",
                                                    "fallback.evaluated:OPENED"});
    ci.can_reverify = false;
    CHECK(Ok(fb::OpenForCheckIn({"fb_2", "", "desk-1"}, ci, std::nullopt, false, kNow))
              .after.reverify == fb::ReverifyState::kNone);
  }
}

// =============================================================================================
// Re-verification

TEST_CASE("fallback case: re-verification answers", "[fallback_case]") {
  fb::Case c = OpenCase();
  c.reverify = fb::ReverifyState::kQueued;
  const auto sent = fb::SendReverification(c, kNow);
  REQUIRE(sent.write);
  CHECK(sent.after.reverify == fb::ReverifyState::kSent);
  CHECK(sent.after.reverify_attempts == 1);
  c = Stored(sent);
  CHECK_FALSE(fb::SendReverification(OpenCase(), kNow).write);  // not queued

  fb::ReverifyOutcome down;
  down.failure = core::Unavailable("UPSTREAM_FOLDER_UNAVAILABLE", "down", "応答なし");
  CHECK(fb::ApplyReverification(c, down, 2, kNow).after.reverify == fb::ReverifyState::kQueued);
  CHECK(fb::ApplyReverification(c, down, 1, kNow).after.reverify == fb::ReverifyState::kGaveUp);

  // 資格(無効): the cause changes and the case is decided again.
  fb::ReverifyOutcome invalid;
  invalid.result_id = 12;
  oqs::EligibilityResult r;
  r.header.segment_of_result =
      oqs::CodeValue<oqs::SegmentOfResult>{"1", oqs::ParseCode<oqs::SegmentOfResult>("1")};
  r.processing_result_status = oqs::CodeValue<oqs::ProcessingResultStatus>{
      "1", oqs::ParseCode<oqs::ProcessingResultStatus>("1")};
  r.qualification_validity = oqs::CodeValue<oqs::QualificationValidity>{
      "2", oqs::ParseCode<oqs::QualificationValidity>("2")};
  oqs::Qualification q;
  q.insurer_number = oqs::InsurerNumberValue{kValidInsurer, std::nullopt};
  r.results.push_back(q);
  invalid.result = r;
  const auto decided = fb::ApplyReverification(c, invalid, 2, kNow);
  CHECK(decided.after.reverify == fb::ReverifyState::kDone);
  CHECK(decided.after.input.cause == C::kResultInvalid);
  CHECK(decided.after.input.known_eligibilities.size() == 1);
  CHECK(ProofKinds(decided) == std::vector<std::string>{"REVERIFIED", "EVALUATED"});
  CHECK_FALSE(decided.after.Closed());

  // A closed case takes no answer.
  fb::Case closed = c;
  closed.state = fb::CaseState::kClosed;
  CHECK_FALSE(fb::ApplyReverification(closed, invalid, 2, kNow).write);
}
