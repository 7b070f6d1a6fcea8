// Issue 6 §2–4 end to end with the real daemon, managed PostgreSQL and the terminal simulator as
// its own process: an outage (the terminal stops answering → check-ins need the fallback path and
// queue their verification → cases open by themselves → the terminal answers again → queued
// verifications are re-sent → check-ins verified, cases closed); a 不詳 claim refused while its
// 摘要 is incomplete, then built, closed and its personal data purged, with the proof exported.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <string>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "core/oqs/identifiers.h"
#include "onshi/v1/checkin.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/fallback.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/desk_client.h"
#include "support/http_client.h"
#include "support/sim_terminal.h"

using namespace onshid::testing;
namespace v1 = onshi::v1;

namespace {

const std::string kDeskToken = "desk-token-for-fallback-cases";

std::string JapanToday() {
  const auto d = onshid::core::oqs::OqsDate::JapanDateOf(std::chrono::system_clock::now());
  const std::string s = d.ToString();
  return s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2);
}

std::string Config(const std::string& state, const Ports& ports, const std::string& folder) {
  const std::string tokens = std::string(R"([{"name": "desk", "sha256": ")") +
                             Sha256Hex(kDeskToken) + R"(", "scopes": ["read", "reception"]}])";
  // A 2 s query time-out and a 1 s stale-request threshold make the outage visible quickly; the
  // re-verifier runs every sweep (200 ms) at most every 200 ms.
  const std::string extra =
      R"("upstream": {"folder": ")" + folder + R"(", "medical_institution_code": ")" +
      kSimInstitutionCode + R"(", "poll_interval_ms": 200, "stale_request_warn_s": 1},
    "checkin": {"desks": [{"id": "desk-A", "devices": ["face"]}], "sweep_interval_ms": 200,
                "query_timeout_s": 2},
    "fallback": {"reverify_interval_ms": 200},)";
  return ConfigJson({state, ports, "", tokens, "", extra});
}

// The reception PC's events: check-ins, fallback cases and the terminal's state.
DeskOptions DeskEvents() {
  DeskOptions o;
  o.event_types = {"checkin.verified",     "checkin.needs_fallback", "fallback.case_opened",
                   "fallback.case_closed", "fallback.reverify_sent", "upstream.state"};
  return o;
}

// The case of a check-in (the daemon opened it).
v1::FallbackCaseRecord CaseOf(DeskClient& desk, const std::string& check_in_id) {
  grpc::ClientContext ctx;
  desk.Prepare(ctx);
  v1::ListCasesRequest req;
  req.set_check_in_id(check_in_id);
  v1::ListCasesResponse out;
  auto s = desk.fallback().ListCases(&ctx, req, &out);
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE(out.cases_size() == 1);
  return out.cases(0);
}
v1::FallbackCaseRecord GetCase(DeskClient& desk, const std::string& id) {
  grpc::ClientContext ctx;
  desk.Prepare(ctx);
  v1::GetCaseRequest req;
  req.set_case_id(id);
  v1::FallbackCaseRecord out;
  auto s = desk.fallback().GetCase(&ctx, req, &out);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return out;
}
nlohmann::json Proof(DeskClient& desk, const std::string& case_id) {
  grpc::ClientContext ctx;
  desk.Prepare(ctx);
  v1::ExportProofRequest req;
  req.set_case_id(case_id);
  v1::ExportProofResponse out;
  auto s = desk.fallback().ExportProof(&ctx, req, &out);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return nlohmann::json::parse(out.proof_json());
}

// A 資格確認書 check-in queried online (simulator registry people).
v1::StartCheckInRequest CertificateCheckIn(const std::string& symbol, const std::string& number,
                                           const std::string& branch, const std::string& birth) {
  v1::StartCheckInRequest r;
  r.set_desk_id("desk-A");
  r.set_channel(v1::CHANNEL_DOCUMENT_QUERY);
  r.add_documents(v1::DOCUMENT_QUALIFICATION_CERTIFICATE_CARD);
  r.mutable_visit()->set_kind(v1::VISIT_KIND_FIRST_VISIT);
  r.mutable_identifiers()->set_insurer_number("06139992");
  r.mutable_identifiers()->set_insured_card_symbol(symbol);
  r.mutable_identifiers()->set_insured_identification_number(number);
  r.mutable_identifiers()->set_insured_branch_number(branch);
  r.set_birth_date(birth);
  return r;
}

std::vector<std::string> AttemptKinds(const nlohmann::json& proof) {
  std::vector<std::string> kinds;
  for (const auto& a : proof["attempts"]) kinds.push_back(a["kind"].get<std::string>());
  return kinds;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("an outage: check-ins queue their verification, cases open, and close themselves when "
          "the terminal answers again",
          "[fallback_cases]") {
  TempDir dir;
  Ports ports;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  DaemonProcess daemon(dir.path(), Config(dir.path() + "/state", ports, terminal.folder));
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  DeskClient desk(ports.grpc, kDeskToken, DeskEvents());
  desk.set_context([&daemon] { return daemon.log(); });

  // 1. The terminal answers: a 資格確認書 check-in is verified and opens no case.
  auto live = desk.StartCheckIn(CertificateCheckIn("1234", "5678", "00", "1980-04-15"));
  desk.AwaitEvent("checkin.verified", "check_in_id", live.check_in_id());
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    v1::ListCasesRequest req;
    req.set_check_in_id(live.check_in_id());
    v1::ListCasesResponse out;
    REQUIRE(desk.fallback().ListCases(&ctx, req, &out).ok());
    CHECK(out.cases_size() == 0);
  }

  // 2. The terminal hangs (its process is stopped). A check-in's query is written, is not
  //    consumed, and times out: the check-in needs the fallback path and the daemon opens a case.
  terminal.process->Signal(SIGSTOP);
  auto first = desk.StartCheckIn(CertificateCheckIn("1234", "5678", "01", "1982-09-20"));
  desk.AwaitEvent("checkin.needs_fallback", "check_in_id", first.check_in_id());
  desk.AwaitEvent("fallback.case_opened", "check_in_id", first.check_in_id());
  const auto first_case = CaseOf(desk, first.check_in_id());
  CHECK(first_case.state() == v1::FALLBACK_CASE_STATE_OPEN);
  CHECK(first_case.opened_by() == "onshid");
  CHECK(first_case.input().cause() == v1::FALLBACK_CAUSE_NETWORK_ERROR);
  CHECK(std::vector<int>(first_case.input().presented().begin(), first_case.input().presented().end()) ==
        std::vector<int>{v1::DOCUMENT_QUALIFICATION_CERTIFICATE_CARD});
  CHECK(first_case.reverify() == v1::FALLBACK_REVERIFY_STATE_QUEUED);
  CHECK(first_case.decision().engine_version() == "fallback-engine/2");
  CHECK(first_case.decision().methods_size() == 10);

  // 3. The daemon notices that req/ is not consumed; the next check-in's query is not sent at
  //    all: it needs the fallback path at once, its case queued for re-verification.
  desk.AwaitEvent("upstream.state", "state", "DEGRADED");
  auto second = desk.StartCheckIn(CertificateCheckIn("1234", "5678", "02", "2022-06-10"));
  desk.AwaitEvent("fallback.case_opened", "check_in_id", second.check_in_id());
  auto second_checkin = desk.GetCheckIn(second.check_in_id());
  CHECK(second_checkin.state() == v1::CHECK_IN_STATE_NEEDS_FALLBACK);
  const auto second_case = CaseOf(desk, second.check_in_id());
  CHECK(second_case.reverify() == v1::FALLBACK_REVERIFY_STATE_QUEUED);
  CHECK(second_case.reverify_attempts() == 0);
  CHECK(std::find(second_case.unconfirmed_facts().begin(), second_case.unconfirmed_facts().end(),
                  "has_valid_insurance_now") != second_case.unconfirmed_facts().end());

  // 4. The terminal answers again. The first query's file is consumed and answered; the queued
  //    second verification is re-sent by the daemon once nothing else waits for the terminal.
  terminal.process->Signal(SIGCONT);
  desk.AwaitEvent("fallback.reverify_sent", "case_id", second_case.case_id());
  for (int closed = 0; closed < 2;) {
    auto e = desk.AwaitEvent("fallback.case_closed");
    const auto& id = e.attributes().at("case_id");
    if (id == first_case.case_id() || id == second_case.case_id()) ++closed;
  }
  for (const auto& [check_in_id, case_id] :
       {std::pair{first.check_in_id(), first_case.case_id()},
        std::pair{second.check_in_id(), second_case.case_id()}}) {
    INFO(check_in_id);
    auto c = GetCase(desk, case_id);
    CHECK(c.state() == v1::FALLBACK_CASE_STATE_CLOSED);
    CHECK(c.close_reason() == v1::FALLBACK_CLOSE_REASON_VERIFIED_ONLINE);
    CHECK(c.claim().route() == v1::CLAIM_ROUTE_CURRENT);
    CHECK(c.claim().rule().id() == "VERIFIED_ONLINE");
    CHECK_FALSE(c.has_personal_data());
    CHECK(c.confirmed().identifiers().insurer_number().empty());  // purged with the case
    auto checkin = desk.GetCheckIn(check_in_id);
    CHECK(checkin.state() == v1::CHECK_IN_STATE_VERIFIED);
  }
  const auto proof = AttemptKinds(Proof(desk, second_case.case_id()));
  CHECK(proof.front() == "OPENED");
  CHECK(Has(proof, "REVERIFY_SENT"));
  CHECK(Has(proof, "CLOSED"));
  CHECK(Has(proof, "PURGED"));

  // Nothing personal in the daemon's log (the registry's names and the query's numbers).
  const std::string log = daemon.log();
  CHECK(log.find("06139992") == std::string::npos);
  CHECK(log.find("診療") == std::string::npos);
}

TEST_CASE("a 不詳 claim is refused while its 摘要 is incomplete, then built, closed and purged",
          "[fallback_cases]") {
  TempDir dir;
  Ports ports;
  DaemonProcess daemon(dir.path(), ConfigJson({dir.path() + "/state", ports, "",
                                               std::string(R"([{"name": "desk", "sha256": ")") +
                                                   Sha256Hex(kDeskToken) +
                                                   R"(", "scopes": ["read", "reception"]}])",
                                               "", ""}));
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  DeskClient desk(ports.grpc, kDeskToken, DeskEvents());
  const std::string today = JapanToday();

  // A first visit with the card; the terminal's network failed; the patient has valid insurance.
  v1::FallbackCaseRecord c;
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "open-fusho-1");
    v1::OpenCaseRequest req;
    auto* in = req.mutable_fallback_case();
    in->set_cause(v1::FALLBACK_CAUSE_NETWORK_ERROR);
    in->add_presented(onshi::v1::DOCUMENT_MY_NUMBER_CARD);
    in->set_visit(v1::VISIT_KIND_FIRST_VISIT);
    in->set_age(v1::AGE_BRACKET_UNDER_70);
    in->set_date(today);
    auto s = desk.fallback().OpenCase(&ctx, req, &c);
    INFO(s.error_message());
    REQUIRE(s.ok());
    // Retried with the same request id: the same case.
    grpc::ClientContext again;
    Prepare(again, kDeskToken, "open-fusho-1");
    v1::FallbackCaseRecord same;
    REQUIRE(desk.fallback().OpenCase(&again, req, &same).ok());
    CHECK(same.case_id() == c.case_id());
  }
  CHECK(c.state() == v1::FALLBACK_CASE_STATE_OPEN);
  CHECK(c.opened_by() == "desk");

  // The 申立書 over REST (how a レセコン UI would post it), without the phone first: refused,
  // the field named.
  const std::map<std::string, std::string> headers = {{"authorization", "Bearer " + kDeskToken},
                                                      {"content-type", "application/json"}};
  nlohmann::json statement = {
      {"hasValidInsurance", true},
      {"insuranceType", "INSURANCE_TYPE_SHAHO"},
      {"insurerName", "全国健康保険協会"},
      {"employerName", "株式会社見本"},
      {"name", "見本　花子"},
      {"furigana", "ミホン　ハナコ"},
      {"birthDate", {{"era", "ERA_SHOWA"}, {"year", 55}, {"month", 1}, {"day", 15}}},
      {"sex", "DECLARED_SEX_FEMALE"},
      {"address", "東京都架空区見本町三丁目"},
      {"writtenOn", today},
      {"signedByPatientOrGuardian", true}};
  const std::string path = "/v1/fallback/cases/" + c.case_id();
  {
    nlohmann::json body = {{"evidence",
                            {{"kind", "FALLBACK_EVIDENCE_KIND_METHOD_APPLIED"},
                             {"method", "FALLBACK_METHOD_INSURANCE_STATEMENT"},
                             {"staffId", "S-07"},
                             {"statement", statement}}}};
    auto r = HttpCall(ports.rest, "POST", path + "/evidence", headers, body.dump());
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::Contains("INVALID_INSURANCE_STATEMENT"));
    CHECK_THAT(r.body, Catch::Contains("evidence.statement.phone"));
    statement["phone"] = "０９０-１２３４-５６７８";
    body["evidence"]["statement"] = statement;
    r = HttpCall(ports.rest, "POST", path + "/evidence", headers, body.dump());
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto j = nlohmann::json::parse(r.body);
    CHECK(j["hasPersonalData"] == true);
    std::vector<std::string> kinds;
    for (const auto& t : j["tasks"]) kinds.push_back(t["kind"]);
    CHECK(Has(kinds, "CONTACT_PATIENT"));
    CHECK(Has(kinds, "REQUERY_BEFORE_CLAIM"));
  }

  // 不詳 is refused while the patient-contact date (an item of the 摘要) is missing.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    v1::ChooseClaimRouteRequest req;
    req.set_case_id(c.case_id());
    req.set_expected_route(v1::CLAIM_ROUTE_UNKNOWN);
    v1::FallbackCaseRecord out;
    auto s = desk.fallback().ChooseClaimRoute(&ctx, req, &out);
    CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ReasonOf(s) == "FUSHO_TEKIYO_INCOMPLETE");
    CHECK_THAT(s.error_message(), !Catch::Contains("見本"));
    // Closing without a route is refused too.
    grpc::ClientContext close_ctx;
    Prepare(close_ctx, kDeskToken);
    v1::CloseCaseRequest close;
    close.set_case_id(c.case_id());
    close.set_reason(v1::FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED);
    s = desk.fallback().CloseCase(&close_ctx, close, &out);
    CHECK(ReasonOf(s) == "NO_CLAIM_ROUTE");
  }

  // The facility contacts the patient (recorded with onshictl); now the 摘要 is complete and the
  // route is 不詳.
  const std::string ctl = std::string(ONSHICTL_BINARY) + " --addr 127.0.0.1:" +
                          std::to_string(ports.grpc) + " --token " + kDeskToken;
  {
    auto out = RunCommand(ctl + " fallback evidence " + c.case_id() +
                          " --kind patient-contacted --staff S-07 --contacted-on " + today);
    INFO(out.output);
    REQUIRE(out.exit_code == 0);
  }
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    v1::ChooseClaimRouteRequest req;
    req.set_case_id(c.case_id());
    req.set_expected_route(v1::CLAIM_ROUTE_UNKNOWN);
    auto s = desk.fallback().ChooseClaimRoute(&ctx, req, &c);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  CHECK(c.claim().route() == v1::CLAIM_ROUTE_UNKNOWN);
  CHECK_THAT(c.tekiyo(), Catch::StartsWith("不詳"));
  CHECK_THAT(c.tekiyo(), Catch::Contains("ミホン"));
  CHECK_THAT(c.tekiyo(), Catch::Contains("全国健康保険協会"));

  // Closed: the personal data (申立書, 摘要) is deleted; a 返戻 watch remains; the proof keeps
  // what was tried, including the refusal, and nothing personal.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    v1::CloseCaseRequest req;
    req.set_case_id(c.case_id());
    req.set_reason(v1::FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED);
    auto s = desk.fallback().CloseCase(&ctx, req, &c);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  CHECK(c.state() == v1::FALLBACK_CASE_STATE_CLOSED);
  CHECK_FALSE(c.has_personal_data());
  CHECK(c.tekiyo().empty());
  CHECK(c.has_purged_at());
  std::vector<std::string> open_tasks;
  for (const auto& t : c.tasks()) {
    if (t.state() == v1::FALLBACK_TASK_STATE_OPEN) open_tasks.push_back(t.kind());
  }
  CHECK(open_tasks == std::vector<std::string>{"RETURN_WATCH"});
  const auto proof = Proof(desk, c.case_id());
  const auto kinds = AttemptKinds(proof);
  {
    auto out = RunCommand(ctl + " fallback proof " + c.case_id());
    INFO(out.output);
    CHECK(out.exit_code == 0);
    CHECK(nlohmann::json::parse(out.output)["attempts"].size() == proof["attempts"].size());
    auto tasks = RunCommand(ctl + " --json fallback tasks --case " + c.case_id() + " --state open");
    INFO(tasks.output);
    CHECK(tasks.exit_code == 0);
    CHECK_THAT(tasks.output, Catch::Contains("RETURN_WATCH"));
    CHECK_THAT(tasks.output, !Catch::Contains("CONTACT_PATIENT"));
  }
  CHECK(Has(kinds, "CLAIM_ROUTE_REFUSED"));
  CHECK(Has(kinds, "CLAIM_ROUTE"));
  CHECK(Has(kinds, "PURGED"));
  const std::string dumped = proof.dump();
  CHECK(dumped.find("見本") == std::string::npos);
  CHECK(dumped.find("ミホン") == std::string::npos);
  CHECK(dumped.find("全国健康保険協会") == std::string::npos);

  // A closed case takes nothing more.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    v1::RecordEvidenceRequest req;
    req.set_case_id(c.case_id());
    req.mutable_evidence()->set_kind(v1::FALLBACK_EVIDENCE_KIND_PATIENT_CONTACTED);
    req.mutable_evidence()->set_staff_id("S-07");
    req.mutable_evidence()->set_contacted_on(today);
    v1::FallbackCaseRecord out;
    CHECK(ReasonOf(desk.fallback().RecordEvidence(&ctx, req, &out)) == "CASE_CLOSED");
  }
  CHECK(daemon.log().find("見本") == std::string::npos);
}
