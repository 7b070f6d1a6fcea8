// The stored form of a fallback case (app/fallback_case_record.h): bodies written by the use
// cases before the case became a core aggregate still decode, and encode back to the same JSON;
// the legacy form of the presented documents is read; changes become attempts and events.
//
// The bodies below were written by app/fallback_cases.cc as it was before issue 12 (the unit
// tests' scenarios: a 申立書 case routed 旧資格, a check-in case whose re-verification failed once,
// an error-011 case cancelled and purged). Do not edit them: they are what databases hold.

#include "app/fallback_case_record.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/checkin_record.h"

namespace {

namespace app = onshid::app;
namespace core = onshid::core;
namespace fb = onshid::core::fallback;
using json = nlohmann::json;

// A 資格(無効) first visit, 申立書 recorded (request desk-1/r1), patient contacted on 2025-12-15,
// routed 旧資格; personal data held.
constexpr const char* kStatementBody =
    R"json({"applied_method":"INSURANCE_STATEMENT","applied_requests":["desk-1/r1"],"claim":{"chosen_at":1765760400000000,"chosen_by":"desk-1","engine_version":"fallback-engine/2","notes":[],"route":"OLD_ELIGIBILITY","rule":{"id":"CLAIM_WITH_OLD_ELIGIBILITY","reason":"a past eligibility is known: claim with the 旧資格, not 不詳; 振替・分割 redirects it to the new insurer","reason_ja":"過去の資格情報が分かるため、不詳ではなく旧資格で請求してください（新しい保険者の登録があれば、振替・分割で自動的に請求先が切り替わります）。","source":"seed 003 p.14 旧資格（過去の資格情報）でのレセプト請求 (DOMAIN.md §8)"}},"decision":{"charge":"NORMAL_RATIO","charge_notes":[],"charge_rule":"NORMAL_RATIO","engine_version":"fallback-engine/2","first_choice":"ELIGIBILITY_NOTICE","methods":[{"allowed":true,"leads_to":"CURRENT","method":"ELIGIBILITY_NOTICE","rule":"NOTICE_FIRST_AFTER_INVALID_RESULT"},{"allowed":true,"leads_to":"OLD_ELIGIBILITY","method":"INSURANCE_STATEMENT","rule":"STATEMENT_FIRST_VISIT"},{"allowed":false,"leads_to":null,"method":"VISUAL_CHECK_MODE","rule":"VISUAL_CHECK_NOT_APPLICABLE"},{"allowed":false,"leads_to":null,"method":"QUALIFICATION_CERTIFICATE","rule":"CERTIFICATE_NOT_PRESENTED"},{"allowed":false,"leads_to":null,"method":"PROVISIONAL_QUERY","rule":"PROVISIONAL_NO_DOCUMENT"},{"allowed":false,"leads_to":null,"method":"PORTAL_SCREEN","rule":"PORTAL_CANNOT_SHOW_INVALID_RESULT"},{"allowed":false,"leads_to":null,"method":"ORAL_CONFIRMATION","rule":"ORAL_NEEDS_REVISIT"},{"allowed":false,"leads_to":null,"method":"CONFIRM_AFTERWARDS","rule":"CONFIRM_AFTERWARDS_NEEDS_MULTIPLE_DAYS"},{"allowed":false,"leads_to":null,"method":"EMERGENCY_LOOKUP","rule":"EMERGENCY_LOOKUP_NOT_ACTIVE"},{"allowed":false,"leads_to":null,"method":"FULL_SELF_PAY","rule":"FULL_SELF_PAY_NOT_NEEDED"}]},"evidence":[{"at":1765328400000000,"card_face_recorded":false,"eligibility_recorded":false,"kind":"METHOD_APPLIED","method":"INSURANCE_STATEMENT","oral_answered_by":"","rule_id":"STATEMENT_FIRST_VISIT","seq":1,"staff_id":"staff-7","statement_recorded":true},{"at":1765760400000000,"card_face_recorded":false,"contacted_on":"2025-12-15","eligibility_recorded":false,"kind":"PATIENT_CONTACTED","oral_answered_by":"","rule_id":"","seq":2,"staff_id":"staff-7","statement_recorded":false}],"input":{"actual_days":1,"age":"UNDER_70","cause":"RESULT_INVALID","certificate_expiry":null,"date":"2025-12-10","facility":{"emergency_mode_active":false,"oqs_available":true,"reads_smartphones":false},"has_valid_insurance_now":true,"known_eligibilities":[{"ratio_wari":3,"source":"INVALID_RESULT"}],"newborn":"NO","presented":["MY_NUMBER_CARD"],"visit":"FIRST_VISIT"},"opened_by":"desk-1","reverify":{"attempts":0,"state":"NONE"},"task_seq":2,"unconfirmed_facts":[]})json";
constexpr const char* kStatementPersonal =
    R"json({"claim_with":{"branch":"01","insurer_name":"旧テスト健康保険組合","insurer_number":"06139992","number":"BANGO-OLD31","ratio_wari":3,"source":"INVALID_RESULT","symbol":"KIGO-OLD7"},"contacted_on":"2025-12-15","known":[{"branch":"01","insurer_name":"旧テスト健康保険組合","insurer_number":"06139992","number":"BANGO-OLD31","ratio_wari":3,"source":"INVALID_RESULT","symbol":"KIGO-OLD7"}],"statement":{"address":"東京都千代田区1-1","birth_date":{"day":15,"era":2,"month":1,"year":55},"declared_ratio":0,"employer_name":"株式会社テスト","furigana":"ヤマダ　タロウ","guardian_relationship":"","has_valid_insurance":true,"insurance_type":1,"insurer_name":"全国健康保険協会","issued_when":0,"kokuho_union":false,"name":"山田　太郎","other_address":"","phone":"090-1234-5678","sex":1,"signed_by_guardian":false,"signed_by_patient_or_guardian":true,"written_on":"2025-12-10"}})json";

// Opened by the daemon for check-in ci_1 (NETWORK_ERROR), re-verification sent once and failed.
constexpr const char* kCheckInBody =
    R"json({"decision":{"charge":"NORMAL_RATIO","charge_notes":[],"charge_rule":"NORMAL_RATIO","engine_version":"fallback-engine/2","first_choice":"QUALIFICATION_CERTIFICATE","methods":[{"allowed":true,"leads_to":"CURRENT","method":"QUALIFICATION_CERTIFICATE","rule":"CERTIFICATE_FACE_WHILE_OQS_DOWN"},{"allowed":false,"leads_to":null,"method":"VISUAL_CHECK_MODE","rule":"VISUAL_CHECK_NEEDS_SYSTEM"},{"allowed":false,"leads_to":null,"method":"PROVISIONAL_QUERY","rule":"PROVISIONAL_NO_DOCUMENT"},{"allowed":false,"leads_to":null,"method":"PORTAL_SCREEN","rule":"PORTAL_NEEDS_CARD"},{"allowed":false,"leads_to":null,"method":"ELIGIBILITY_NOTICE","rule":"NOTICE_NEEDS_CARD"},{"allowed":false,"leads_to":null,"method":"ORAL_CONFIRMATION","rule":"ORAL_NEEDS_REVISIT"},{"allowed":false,"leads_to":null,"method":"CONFIRM_AFTERWARDS","rule":"CONFIRM_AFTERWARDS_NEEDS_CARD"},{"allowed":false,"leads_to":null,"method":"EMERGENCY_LOOKUP","rule":"EMERGENCY_LOOKUP_NOT_ACTIVE"},{"allowed":false,"leads_to":null,"method":"INSURANCE_STATEMENT","rule":"STATEMENT_NEEDS_CARD"},{"allowed":false,"leads_to":null,"method":"FULL_SELF_PAY","rule":"FULL_SELF_PAY_NOT_NEEDED"}]},"evidence":[],"input":{"actual_days":1,"age":"UNDER_70","cause":"NETWORK_ERROR","certificate_expiry":null,"date":"2025-12-10","facility":{"emergency_mode_active":false,"oqs_available":true,"reads_smartphones":false},"has_valid_insurance_now":true,"known_eligibilities":[],"newborn":"NO","presented":["QUALIFICATION_CERTIFICATE_CARD"],"visit":"FIRST_VISIT"},"opened_by":"onshid","reverify":{"attempts":1,"state":"QUEUED"},"unconfirmed_facts":["has_valid_insurance_now"]})json";

// Error 011, card face recorded, then cancelled: personal data purged.
constexpr const char* kPurgedBody =
    R"json({"close_reason":"CANCELLED","decision":{"charge":"NORMAL_RATIO","charge_notes":["THREE_WARI_UNTIL_VERIFIED"],"charge_rule":"NORMAL_RATIO","engine_version":"fallback-engine/2","first_choice":"PORTAL_SCREEN","methods":[{"allowed":true,"leads_to":"CURRENT","method":"PORTAL_SCREEN","rule":"PORTAL_WITH_CARD"},{"allowed":true,"leads_to":"CURRENT","method":"ELIGIBILITY_NOTICE","rule":"NOTICE_WITH_CARD"},{"allowed":true,"leads_to":"CONFIRM_LATER","method":"EMERGENCY_LOOKUP","rule":"EMERGENCY_LOOKUP_AFTER_ERROR_011"},{"allowed":true,"leads_to":"UNKNOWN","method":"INSURANCE_STATEMENT","rule":"STATEMENT_FIRST_VISIT"},{"allowed":false,"leads_to":null,"method":"VISUAL_CHECK_MODE","rule":"VISUAL_CHECK_NEEDS_SYSTEM"},{"allowed":false,"leads_to":null,"method":"QUALIFICATION_CERTIFICATE","rule":"CERTIFICATE_NOT_PRESENTED"},{"allowed":false,"leads_to":null,"method":"PROVISIONAL_QUERY","rule":"PROVISIONAL_NO_DOCUMENT"},{"allowed":false,"leads_to":null,"method":"ORAL_CONFIRMATION","rule":"ORAL_NEEDS_REVISIT"},{"allowed":false,"leads_to":null,"method":"CONFIRM_AFTERWARDS","rule":"CONFIRM_AFTERWARDS_NEEDS_MULTIPLE_DAYS"},{"allowed":false,"leads_to":null,"method":"FULL_SELF_PAY","rule":"FULL_SELF_PAY_NOT_NEEDED"}]},"evidence":[{"amount_collected_yen":1500,"at":1765760460000000,"card_face_recorded":true,"eligibility_recorded":false,"kind":"CARD_FACE","oral_answered_by":"","rule_id":"","seq":1,"staff_id":"staff-7","statement_recorded":false}],"input":{"actual_days":1,"age":"UNDER_70","cause":"TERMINAL_ERROR_011","certificate_expiry":null,"date":"2025-12-10","facility":{"emergency_mode_active":false,"oqs_available":true,"reads_smartphones":false},"has_valid_insurance_now":true,"known_eligibilities":[],"newborn":"NO","presented":["MY_NUMBER_CARD"],"visit":"FIRST_VISIT"},"opened_by":"desk-1","purged_at":1765760460000000,"reverify":{"attempts":0,"state":"NONE"},"task_seq":1,"unconfirmed_facts":[]})json";

fb::CaseRow Row(const std::string& id, const std::string& state, const char* body,
                bool has_personal_data) {
  fb::CaseRow r;
  r.id = id;
  r.version = 4;
  r.state = state;
  r.day = "2025-12-10";
  r.opened_at = app::FromUnixMicros(1765328400000000);
  r.updated_at = app::FromUnixMicros(1765760400000000);
  r.has_personal_data = has_personal_data;
  r.body = body;
  return r;
}

fb::Task Task(std::string id, std::string kind, std::string state, std::string due,
              std::string body) {
  fb::Task t;
  t.id = std::move(id);
  t.case_id = "fb_00000000-0000-4000-8000-000000000001";
  t.kind = std::move(kind);
  t.state = std::move(state);
  t.due_day = std::move(due);
  t.created_at = app::FromUnixMicros(1765328400000000);
  t.body = std::move(body);
  return t;
}

const std::vector<fb::Task> kStatementTasks = {
    Task(
        "tk_00000000-0000-4000-8000-000000000001_1", "CONTACT_PATIENT", "DONE", "2025-12-17",
        R"json({"why":"ask the patient for their eligibility information","why_ja":"患者に連絡し、資格情報（保険者番号等）を確認してください。"})json"),
    Task(
        "tk_00000000-0000-4000-8000-000000000001_2", "REQUERY_BEFORE_CLAIM", "OPEN", "2025-12-31",
        R"json({"why":"re-query OQS before the claim is made","why_ja":"請求前にオンライン資格確認で資格を再照会してください。"})json"),
};

}  // namespace

TEST_CASE("fallback case record: a body written before the aggregate decodes",
          "[fallback_record]") {
  const auto row = Row("fb_00000000-0000-4000-8000-000000000001", "OPEN", kStatementBody, true);
  auto decoded = app::DecodeCase(row, std::string(kStatementPersonal), kStatementTasks);
  REQUIRE(decoded.ok());
  const fb::Case& c = decoded.value();
  CHECK(c.id == row.id);
  CHECK(c.version == 4);
  CHECK(c.state == fb::CaseState::kOpen);
  CHECK(c.opened_by == "desk-1");
  CHECK(c.has_personal_data);
  CHECK(c.input.cause == fb::FallbackCause::kResultInvalid);
  CHECK(c.input.presented.HasMyNumberCard());
  CHECK(c.input.date == core::oqs::OqsDate::Parse("20251210").value());
  REQUIRE(c.input.known_eligibilities.size() == 1);
  CHECK(c.input.known_eligibilities[0].source == fb::KnownEligibility::Source::kInvalidResult);
  CHECK(c.input.known_eligibilities[0].insurer_number == "06139992");  // from the personal data
  CHECK(c.input.known_eligibilities[0].ratio_wari == 3);
  CHECK(c.decision.first_choice == fb::Method::kEligibilityNotice);
  CHECK(c.decision.methods.size() == 10);
  CHECK(c.decision.methods[1].leads_to == fb::ClaimRoute::kOldEligibility);
  CHECK_FALSE(c.decision.methods[2].leads_to);
  REQUIRE(c.evidence.size() == 2);
  CHECK(c.evidence[0].method == fb::Method::kInsuranceStatement);
  CHECK(c.evidence[0].statement_recorded);
  CHECK(c.evidence[1].kind == fb::EvidenceKind::kPatientContacted);
  CHECK(c.evidence[1].contacted_on == "2025-12-15");
  CHECK(c.applied_method == fb::Method::kInsuranceStatement);
  REQUIRE(c.claim);
  CHECK(c.claim->route == fb::ClaimRoute::kOldEligibility);
  CHECK(c.claim->rule.id == "CLAIM_WITH_OLD_ELIGIBILITY");
  CHECK(c.Applied("desk-1/r1"));
  CHECK(c.task_seq == 2);
  CHECK(c.reverify == fb::ReverifyState::kNone);
  REQUIRE(c.personal.statement);
  CHECK(c.personal.statement->furigana == "ヤマダ　タロウ");
  CHECK(c.personal.statement->birth_date->era == fb::Era::kShowa);
  CHECK(c.personal.contacted_on == "2025-12-15");
  REQUIRE(c.personal.claim_with);
  CHECK(c.personal.claim_with->number == "BANGO-OLD31");
  CHECK_FALSE(c.personal.confirmed);
  REQUIRE(c.tasks.size() == 2);
  CHECK(c.tasks[0].kind == fb::TaskKind::kContactPatient);
  CHECK(c.tasks[0].state == fb::TaskState::kDone);
  CHECK(c.tasks[1].kind == fb::TaskKind::kRequeryBeforeClaim);
  CHECK(c.tasks[1].due_day == "2025-12-31");
  CHECK(c.tasks[1].why_ja == "請求前にオンライン資格確認で資格を再照会してください。");

  // Written back unchanged: the same body and the same personal data.
  const auto encoded = app::EncodeCase(c);
  CHECK(json::parse(encoded.row.body) == json::parse(kStatementBody));
  REQUIRE(encoded.personal_data);
  CHECK(json::parse(*encoded.personal_data) == json::parse(kStatementPersonal));
  CHECK(encoded.row.claim_route == "OLD_ELIGIBILITY");
  for (const auto& t : kStatementTasks) {
    INFO(t.id);
    const auto back = app::EncodeTask(app::DecodeTask(t), t.case_id);
    CHECK(json::parse(back.body) == json::parse(t.body));
    CHECK(back.kind == t.kind);
    CHECK(back.state == t.state);
  }
}

TEST_CASE("fallback case record: a check-in's case and a purged case decode and write back alike",
          "[fallback_record]") {
  SECTION("re-verification queued after a failure") {
    const auto row = Row("fb_00000000-0000-4000-8000-000000000003", "OPEN", kCheckInBody, false);
    auto c = app::DecodeCase(row, std::nullopt, {});
    REQUIRE(c.ok());
    CHECK(c->opened_by == "onshid");
    CHECK(c->reverify == fb::ReverifyState::kQueued);
    CHECK(c->reverify_attempts == 1);
    CHECK(c->unconfirmed_facts == std::vector<std::string>{"has_valid_insurance_now"});
    CHECK(c->input.presented.HasQualificationCertificate());
    CHECK_FALSE(c->claim);
    CHECK_FALSE(c->applied_method);
    const auto encoded = app::EncodeCase(*c);
    CHECK(json::parse(encoded.row.body) == json::parse(kCheckInBody));
    CHECK_FALSE(encoded.personal_data);
    CHECK(encoded.row.claim_route.empty());
  }
  SECTION("closed and purged") {
    const auto row = Row("fb_00000000-0000-4000-8000-000000000004", "CLOSED", kPurgedBody, false);
    auto c = app::DecodeCase(row, std::nullopt, {});
    REQUIRE(c.ok());
    CHECK(c->Closed());
    CHECK(c->close_reason == "CANCELLED");
    REQUIRE(c->purged_at);
    CHECK(app::UnixMicros(*c->purged_at) == 1765760460000000);
    CHECK(c->evidence.at(0).card_face_recorded);
    CHECK(c->evidence.at(0).amount_collected_yen == 1500);
    const auto encoded = app::EncodeCase(*c);
    CHECK(json::parse(encoded.row.body) == json::parse(kPurgedBody));
    CHECK_FALSE(encoded.personal_data);  // a purged case gets none back
  }
}

TEST_CASE("fallback case record: legacy and damaged forms", "[fallback_record]") {
  // Presented documents as flags, from before the shared vocabulary.
  const auto legacy = Row("fb_legacy", "OPEN", R"json({"input": {"cause": "IC_UNREADABLE",
      "presented": {"my_number_card": true, "eligibility_notice": true, "smartphone": false},
      "visit": "REVISIT", "actual_days": 3, "age": "KOUKI", "newborn": "NO",
      "known_eligibilities": [{"source": "PAST_VISITS"}]},
      "opened_by": "desk-1", "evidence": [], "reverify": {"state": "NONE", "attempts": 0}})json",
                          true);
  auto c = app::DecodeCase(legacy, R"json({"known": [{"source": "PAST_VISITS",
      "insurer_number": "06139992", "symbol": "K", "number": "N", "branch": "",
      "insurer_name": "X"}]})json",
                           {});
  REQUIRE(c.ok());
  CHECK(c->input.cause == fb::FallbackCause::kIcUnreadable);
  CHECK(c->input.presented.List() ==
        std::vector<core::Document>{core::Document::kMyNumberCard,
                                    core::Document::kQualificationNotice});
  CHECK(c->input.visit == fb::VisitKind::kRevisit);
  CHECK(c->input.actual_days == 3);
  CHECK(c->input.age == fb::AgeBracket::kKouki);
  REQUIRE(c->input.known_eligibilities.size() == 1);
  CHECK(c->input.known_eligibilities[0].insurer_number == "06139992");
  // Written in today's form.
  const auto body = json::parse(app::EncodeCase(*c).row.body);
  CHECK(body["input"]["presented"] == json::array({"MY_NUMBER_CARD", "QUALIFICATION_NOTICE"}));

  // Unreadable personal data reads as none; an unreadable body is an internal error.
  CHECK(app::DecodeCase(legacy, std::string("{not json"), {}).ok());
  const auto broken = Row("fb_broken", "OPEN", "[1, 2]", false);
  auto e = app::DecodeCase(broken, std::nullopt, {});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().reason == "INTERNAL");
}

TEST_CASE("fallback case record: a change becomes attempts, events and tasks in order",
          "[fallback_record]") {
  fb::FallbackCase input;
  input.cause = fb::FallbackCause::kNetworkError;
  input.presented.Add(core::Document::kMyNumberCard);
  input.date = core::oqs::OqsDate::Parse("20251210").value();
  const auto now = app::FromUnixMicros(1765328400000000);
  auto opened = fb::OpenByHand({"fb_x", "desk-1/open", "desk-1"}, input, now);
  REQUIRE(opened.ok());
  fb::Case c = opened->after;
  c.version = 1;
  fb::EvidenceInput in;
  in.kind = fb::EvidenceKind::kMethodApplied;
  in.staff_id = "staff-7";
  in.method = fb::Method::kConfirmAfterwards;
  c.input.actual_days = 2;
  auto recorded = fb::RecordEvidence(c, in, "desk-1", "desk-1/e1", now);
  REQUIRE(recorded.ok());
  const auto with = app::EncodeChange(*recorded);
  REQUIRE(with.attempts.size() == 1);
  CHECK(with.attempts[0].kind == "EVIDENCE");
  CHECK(with.attempts[0].actor == "desk-1");
  CHECK(json::parse(with.attempts[0].body)["method"] == "CONFIRM_AFTERWARDS");
  REQUIRE(with.events.size() == 3);
  CHECK(with.events[0].type == "fallback.evidence_recorded");
  CHECK(with.events[0].attributes ==
        std::vector<std::pair<std::string, std::string>>{
            {"case_id", "fb_x"}, {"reason", "METHOD_APPLIED"}, {"method", "CONFIRM_AFTERWARDS"}});
  CHECK(with.events[1].type == "fallback.task_created");
  CHECK(with.events[1].attributes ==
        std::vector<std::pair<std::string, std::string>>{
            {"case_id", "fb_x"}, {"reason", "CONTACT_PATIENT"}, {"task_id", "tk_x_1"}});
  REQUIRE(with.tasks.size() == 2);
  CHECK(with.tasks[0].id == "tk_x_1");
  CHECK(with.tasks[0].case_id == "fb_x");
  CHECK(with.tasks[0].state == "OPEN");
  CHECK(json::parse(with.tasks[0].body) ==
        json({{"why", "ask the patient for their eligibility information"},
              {"why_ja", "患者に連絡し、資格情報（保険者番号等）を確認してください。"}}));
  CHECK_FALSE(with.purge_personal_data);
  CHECK_FALSE(with.personal_data);  // EncodeCase's to give

  // The opening: OPENED then EVALUATED, the evaluation's input without identifiers.
  const auto first = app::EncodeChange(*opened);
  REQUIRE(first.attempts.size() == 2);
  CHECK(first.attempts[0].body == R"({"by_hand":true})");
  const auto evaluated = json::parse(first.attempts[1].body);
  CHECK(evaluated["why"] == "OPENED");
  CHECK(evaluated["input"]["cause"] == "NETWORK_ERROR");
  CHECK(evaluated["decision"]["engine_version"] == std::string(fb::kEngineVersion));
}
