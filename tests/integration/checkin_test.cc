// Issue 5 end to end: a reception morning through gRPC and REST, with the daemon, the terminal
// simulator (a separate process writing real face/ and res/ files) and real PostgreSQL; then a
// restart of the daemon in the middle of a check-in with nothing lost.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "onshi/v1/checkin.grpc.pb.h"
#include "onshi/v1/eligibility.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/system.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/desk_client.h"
#include "support/http_client.h"
#include "support/sim_terminal.h"

using namespace onshid::testing;
using onshi::v1::CheckIn;

namespace {

constexpr const char* kInstitution = kSimInstitutionCode;
const std::string kDeskToken = "desk-token-for-checkins";


std::string Config(const std::string& state, const Ports& ports, const std::string& folder) {
  const std::string tokens = std::string(R"([{"name": "desk", "sha256": ")") +
                             Sha256Hex(kDeskToken) +
                             R"(", "scopes": ["read", "reception"]}, {"name": "ops", "sha256": ")" +
                             Sha256Hex(kAdminToken) + R"(", "scopes": ["read", "admin"]}])";
  const std::string extra =
      R"("upstream": {"folder": ")" + folder + R"(", "medical_institution_code": ")" +
      kInstitution + R"(", "poll_interval_ms": 200},
    "checkin": {"desks": [{"id": "desk-A", "devices": ["face"]},
                          {"id": "desk-B", "devices": ["face"]},
                          {"id": "desk-C", "devices": []}],
                "sweep_interval_ms": 200},)";
  return ConfigJson({state, ports, "", tokens, "", extra});
}

// The reception PC of one daemon: check-ins, consent and the check-in events.
DeskOptions CheckInEvents() {
  DeskOptions o;
  o.event_types = {"checkin.started",      "checkin.verified",        "checkin.needs_fallback",
                   "checkin.cancelled",    "checkin.result_bound",    "checkin.unmatched",
                   "checkin.ambiguous",    "checkin.result_assigned", "checkin.patient_linked",
                   "checkin.result_linked"};
  return o;
}

onshi::v1::StartCheckInRequest FaceCheckIn(const std::string& desk, const std::string& kana = "",
                                           const std::string& birth = "") {
  onshi::v1::StartCheckInRequest r;
  r.set_desk_id(desk);
  r.set_channel(onshi::v1::CHANNEL_FACE_READER);
  r.add_documents(onshi::v1::DOCUMENT_MY_NUMBER_CARD);
  r.mutable_visit()->set_kind(onshi::v1::VISIT_KIND_FIRST_VISIT);
  if (!kana.empty()) {
    r.set_name_kana(kana);
    r.set_birth_date(birth);
  }
  return r;
}

std::map<std::string, std::string> DeskHeaders() {
  return {{"authorization", "Bearer " + kDeskToken}, {"content-type", "application/json"}};
}

}  // namespace

TEST_CASE("a reception morning: face results bind to desks, a 資格確認書 query, refusals, an "
          "ambiguous result assigned by staff, patient links and consent",
          "[checkin]") {
  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  Ports ports;
  DaemonProcess daemon(dir.path(), Config(dir.path() + "/state", ports, terminal.folder));
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  DeskClient desk(ports.grpc, kDeskToken, CheckInEvents());

  // 1. A patient at desk A is sent to the face reader: the face result binds to that check-in.
  CheckIn a;
  REQUIRE(
      desk.StartCheckIn(FaceCheckIn("desk-A", "ｼﾝﾘｮｳ ﾀﾛｳ", "1980-04-15"), &a, "morning-a").ok());
  CHECK(a.state() == onshi::v1::CHECK_IN_STATE_WAITING);
  CHECK(a.day().size() == 10);
  desk.AwaitEvent("checkin.started", a.check_in_id());
  REQUIRE(terminal.Face("shaho-honnin") == 0);
  auto bound = desk.AwaitEvent("checkin.result_bound", a.check_in_id());
  CHECK(bound.result_id() > 0);
  desk.AwaitEvent("checkin.verified", a.check_in_id());
  a = desk.GetCheckIn(a.check_in_id());
  CHECK(a.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  CHECK(a.correlation().outcome() == "BOUND");
  CHECK(a.result_id() == bound.result_id());
  REQUIRE(a.results_size() == 1);
  CHECK(a.results(0).link() == "BOUND");

  // The same request id again: the first answer again (the check-in as it was started), nothing
  // new; its state now is read with GetCheckIn.
  CheckIn again;
  REQUIRE(desk.StartCheckIn(FaceCheckIn("desk-A", "ｼﾝﾘｮｳ ﾀﾛｳ", "1980-04-15"), &again, "morning-a")
              .ok());
  CHECK(again.check_in_id() == a.check_in_id());
  CHECK(again.state() == onshi::v1::CHECK_IN_STATE_WAITING);
  CHECK(desk.GetCheckIn(a.check_in_id()).state() == onshi::v1::CHECK_IN_STATE_VERIFIED);

  // 2. A 資格確認書 at desk B: queried online at once.
  onshi::v1::StartCheckInRequest doc;
  doc.set_desk_id("desk-B");
  doc.set_channel(onshi::v1::CHANNEL_DOCUMENT_QUERY);
  doc.add_documents(onshi::v1::DOCUMENT_QUALIFICATION_CERTIFICATE_CARD);
  doc.mutable_visit()->set_kind(onshi::v1::VISIT_KIND_FIRST_VISIT);
  doc.mutable_identifiers()->set_insurer_number("271395");
  doc.mutable_identifiers()->set_insured_card_symbol("架空市");
  doc.mutable_identifiers()->set_insured_identification_number("102345");
  doc.mutable_identifiers()->set_insured_branch_number("00");
  doc.set_birth_date("1975-03-03");
  CheckIn b;
  REQUIRE(desk.StartCheckIn(doc, &b).ok());
  CHECK(b.verification_path() == "QUALIFICATION_CERTIFICATE_QUERY");
  desk.AwaitEvent("checkin.verified", b.check_in_id());
  b = desk.GetCheckIn(b.check_in_id());
  CHECK(b.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  REQUIRE(b.results_size() == 1);
  CHECK(b.results(0).link() == "QUERY");

  // 3. Refusals, with the rule named: お知らせ without the card (REST), missing identifiers (gRPC).
  {
    auto refused = HttpCall(ports.rest, "POST", "/v1/checkins", DeskHeaders(),
                            R"({"deskId": "desk-B", "channel": "CHANNEL_DOCUMENT_QUERY",
                                "documents": ["DOCUMENT_QUALIFICATION_NOTICE"],
                                "visit": {"kind": "VISIT_KIND_FIRST_VISIT"}})");
    INFO(refused.body);
    CHECK(refused.status == 400);
    CHECK_THAT(refused.body, Catch::Contains("QUALIFICATION_NOTICE_WITHOUT_CARD"));
    CHECK_THAT(refused.body, Catch::Contains("ja-JP"));

    onshi::v1::StartCheckInRequest no_ids = doc;
    no_ids.clear_identifiers();
    no_ids.clear_birth_date();
    CheckIn unused;
    auto s = desk.StartCheckIn(no_ids, &unused);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(ReasonOf(s) == "INVALID_CHECKIN");

    auto unknown_desk = FaceCheckIn("desk-Z");
    s = desk.StartCheckIn(unknown_desk, &unused);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(s.error_message(), Catch::Contains("desk"));
  }

  // 4. A face result with nobody waiting: UNMATCHED, never a silent guess.
  REQUIRE(terminal.Face("kouki") == 0);
  auto unmatched = desk.AwaitEvent("checkin.unmatched");
  CheckIn walk_in = desk.GetCheckIn(unmatched.attributes().at("check_in_id"));
  CHECK(walk_in.correlation().outcome() == "UNMATCHED");
  CHECK(walk_in.state() == onshi::v1::CHECK_IN_STATE_WAITING);  // for staff: nothing verified yet
  {
    // Staff accept it as a walk-in: the result now decides its own check-in.
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "accept-1");
    onshi::v1::AssignResultRequest req;
    req.set_check_in_id(walk_in.check_in_id());
    req.set_result_id(walk_in.result_id());
    CheckIn accepted;
    REQUIRE(desk.checkins().AssignResult(&ctx, req, &accepted).ok());
    CHECK(accepted.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
    CHECK(accepted.correlation().outcome() == "ASSIGNED");
  }

  // 5. Two patients wait at desks A and B behind the same terminal, no keys known: the result is
  //    AMBIGUOUS and gets its own check-in; staff assign it to desk B's check-in.
  CheckIn wa, wb;
  REQUIRE(desk.StartCheckIn(FaceCheckIn("desk-A"), &wa).ok());
  REQUIRE(desk.StartCheckIn(FaceCheckIn("desk-B"), &wb).ok());
  REQUIRE(terminal.Face("gaiji-maru", "none") == 0);
  auto amb = desk.AwaitEvent("checkin.ambiguous");
  const std::string own_id = amb.attributes().at("check_in_id");
  CHECK(own_id != wa.check_in_id());
  CHECK(own_id != wb.check_in_id());
  CheckIn own = desk.GetCheckIn(own_id);
  CHECK(own.correlation().outcome() == "AMBIGUOUS");
  std::set<std::string> candidates;
  for (const auto& c : own.correlation().candidates()) {
    if (c.fits()) candidates.insert(c.check_in_id());
  }
  CHECK(candidates == std::set<std::string>{wa.check_in_id(), wb.check_in_id()});
  CHECK(desk.GetCheckIn(wa.check_in_id()).state() == onshi::v1::CHECK_IN_STATE_WAITING);
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "assign-1");
    onshi::v1::AssignResultRequest req;
    req.set_check_in_id(wb.check_in_id());
    req.set_result_id(own.result_id());
    CheckIn assigned;
    auto s = desk.checkins().AssignResult(&ctx, req, &assigned);
    INFO(s.error_message());
    REQUIRE(s.ok());
    CHECK(assigned.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
    CHECK(assigned.correlation().outcome() == "ASSIGNED");
    CHECK(assigned.result_id() == own.result_id());
  }
  CheckIn closed = desk.GetCheckIn(own_id);
  CHECK(closed.state() == onshi::v1::CHECK_IN_STATE_CANCELLED);
  CHECK(closed.reason() == "RESULT_ASSIGNED");
  // Desk A's patient left: cancelled over REST.
  {
    auto r = HttpCall(ports.rest, "POST", "/v1/checkins/" + wa.check_in_id() + ":cancel",
                      DeskHeaders(), R"({"reason": "PATIENT_LEFT"})");
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(nlohmann::json::parse(r.body)["state"] == "CHECK_IN_STATE_CANCELLED");
  }

  // The patient who left tapped the face reader after all: the late result is kept and linked to
  // the cancelled check-in, without deciding it.
  REQUIRE(terminal.Face("lost") == 0);
  auto late = desk.AwaitEvent("checkin.result_linked", wa.check_in_id());
  CheckIn left = desk.GetCheckIn(wa.check_in_id());
  CHECK(left.state() == onshi::v1::CHECK_IN_STATE_CANCELLED);
  REQUIRE(left.results_size() == 1);
  CHECK(left.results(0).link() == "LINKED");
  CHECK(left.results(0).result_id() == late.result_id());

  // 6. Patient links and changes since the last verified visit: the spouse's card was used for
  //    the same patient id — every differing field is listed for staff.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "link-1");
    onshi::v1::LinkPatientRequest req;
    req.set_check_in_id(a.check_in_id());
    req.set_patient_id("P-100");
    CheckIn linked;
    REQUIRE(desk.checkins().LinkPatient(&ctx, req, &linked).ok());
    CHECK(linked.patient_id() == "P-100");
    CHECK(linked.changes_size() == 0);  // the first visit: no baseline
    REQUIRE(linked.patient_links_size() == 1);
    CHECK(linked.patient_links(0).linked_by() == "desk");
  }
  CheckIn second;
  REQUIRE(desk.StartCheckIn(FaceCheckIn("desk-A", "ｼﾝﾘｮｳ ﾊﾅｺ", "1982-09-20"), &second).ok());
  REQUIRE(terminal.Face("shaho-kazoku") == 0);
  desk.AwaitEvent("checkin.verified", second.check_in_id());
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "link-2");
    onshi::v1::LinkPatientRequest req;
    req.set_check_in_id(second.check_in_id());
    req.set_patient_id("P-100");
    CheckIn linked;
    REQUIRE(desk.checkins().LinkPatient(&ctx, req, &linked).ok());
    CHECK(linked.baseline_check_in_id() == a.check_in_id());
    std::map<std::string, std::pair<std::string, std::string>> changes;
    for (const auto& c : linked.changes()) changes[c.field()] = {c.old_value(), c.new_value()};
    CHECK(changes["insured_branch_number"] == std::make_pair(std::string("00"), std::string("01")));
    CHECK(changes.count("personal_family_classification") == 1);
    CHECK(changes.count("name_kana") == 1);
    CHECK(changes.count("insurer_number") == 0);
  }
  // Look-up by patient id: newest first, any day.
  {
    auto r = HttpCall(ports.rest, "GET", "/v1/checkins?patientId=P-100", DeskHeaders());
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto list = nlohmann::json::parse(r.body)["checkIns"];
    REQUIRE(list.size() == 2);
    CHECK(list[0]["checkInId"] == second.check_in_id());
    CHECK(list[1]["checkInId"] == a.check_in_id());
  }

  // 7. The 受付一覧: today's check-ins in arrival order, filterable by desk and state.
  {
    auto r = HttpCall(ports.rest, "GET", "/v1/checkins", DeskHeaders());
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto list = nlohmann::json::parse(r.body)["checkIns"];
    std::vector<std::string> ids;
    for (const auto& c : list) ids.push_back(c["checkInId"]);
    const std::vector<std::string> expected = {a.check_in_id(),  b.check_in_id(),
                                               walk_in.check_in_id(), wa.check_in_id(),
                                               wb.check_in_id(), own_id,
                                               second.check_in_id()};
    CHECK(ids == expected);
    auto by_desk = HttpCall(ports.rest, "GET", "/v1/checkins?deskId=desk-B&state=VERIFIED",
                            DeskHeaders());
    auto desk_b = nlohmann::json::parse(by_desk.body)["checkIns"];
    REQUIRE(desk_b.size() == 2);
    CHECK(desk_b[0]["checkInId"] == b.check_in_id());
    CHECK(desk_b[1]["checkInId"] == wb.check_in_id());
  }

  // 8. Consent: the face reader recorded consent for A; none for the assigned result. Every
  //    decision is in the audit log with its reason.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    onshi::v1::GetConsentRequest req;
    req.set_check_in_id(a.check_in_id());
    onshi::v1::ConsentStatus st;
    REQUIRE(desk.consent().GetConsent(&ctx, req, &st).ok());
    bool medication_given = false;
    for (const auto& c : st.consents()) {
      if (c.kind() == onshi::v1::INFORMATION_KIND_MEDICATION) medication_given = c.flag() == "GIVEN";
    }
    CHECK(medication_given);
  }
  auto allowed =
      desk.CheckAccess(a.check_in_id(), onshi::v1::INFORMATION_KIND_MEDICATION, "access-1");
  CHECK(allowed.allowed());
  CHECK(allowed.reason() == "CONSENT_GIVEN");
  auto denied =
      desk.CheckAccess(wb.check_in_id(), onshi::v1::INFORMATION_KIND_MEDICATION, "access-2");
  CHECK_FALSE(denied.allowed());
  CHECK(denied.reason() == "NO_CONSENT");
  CHECK(desk.CheckAccess(wb.check_in_id(), onshi::v1::INFORMATION_KIND_INSURANCE, "access-3")
            .allowed());
  // Oral consent opens the causative drugs only.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "oral-1");
    onshi::v1::RecordOralConsentRequest req;
    req.set_check_in_id(wb.check_in_id());
    req.set_staff_id("dr-sato");
    onshi::v1::ConsentStatus st;
    REQUIRE(desk.consent().RecordOralConsent(&ctx, req, &st).ok());
    CHECK(st.oral_consents_size() == 1);
  }
  CHECK(desk.CheckAccess(wb.check_in_id(), onshi::v1::INFORMATION_KIND_CAUSATIVE_DRUGS, "access-4")
            .reason() == "ORAL_CONSENT");
  CHECK_FALSE(desk.CheckAccess(wb.check_in_id(), onshi::v1::INFORMATION_KIND_MEDICATION, "access-5")
                  .allowed());
  // The patient withdraws consent: medication on check-in A and the oral consent on B are closed
  // from then on (REST), and the withdrawal is listed with the consents.
  {
    auto withdrawn = HttpCall(ports.rest, "POST",
                              "/v1/checkins/" + a.check_in_id() + "/consent:recordWithdrawal",
                              DeskHeaders(), R"({"kinds": ["INFORMATION_KIND_MEDICATION"], "staffId": "clerk-1"})");
    INFO(withdrawn.body);
    REQUIRE(withdrawn.status == 200);
    auto j = nlohmann::json::parse(withdrawn.body);
    REQUIRE(j["withdrawals"].size() == 1);
    CHECK(j["withdrawals"][0]["kind"] == "INFORMATION_KIND_MEDICATION");
    auto after =
        desk.CheckAccess(a.check_in_id(), onshi::v1::INFORMATION_KIND_MEDICATION, "access-6");
    CHECK_FALSE(after.allowed());
    CHECK(after.reason() == "CONSENT_WITHDRAWN");
    CHECK(desk.CheckAccess(a.check_in_id(), onshi::v1::INFORMATION_KIND_INSURANCE, "access-7")
              .allowed());

    auto oral = HttpCall(ports.rest, "POST",
                         "/v1/checkins/" + wb.check_in_id() + "/consent:recordWithdrawal",
                         DeskHeaders(), R"({"kinds": ["INFORMATION_KIND_CAUSATIVE_DRUGS"], "staffId": "dr-sato"})");
    REQUIRE(oral.status == 200);
    CHECK(nlohmann::json::parse(oral.body)["oralConsents"][0].contains("withdrawnAt"));
    auto oral_closed =
        desk.CheckAccess(wb.check_in_id(), onshi::v1::INFORMATION_KIND_CAUSATIVE_DRUGS, "access-8");
    CHECK_FALSE(oral_closed.allowed());
    CHECK(oral_closed.reason() == "CONSENT_WITHDRAWN");

    // Insurance information needs no consent; the field is named.
    auto bad = HttpCall(ports.rest, "POST",
                        "/v1/checkins/" + a.check_in_id() + "/consent:recordWithdrawal",
                        DeskHeaders(), R"({"kinds": ["INFORMATION_KIND_INSURANCE"]})");
    INFO(bad.body);
    CHECK(bad.status == 400);
    CHECK_THAT(bad.body, Catch::Contains("kinds"));
    CHECK_THAT(bad.body, Catch::Contains("staff_id"));
  }
  {
    auto system = SystemStub(ports.grpc);
    grpc::ClientContext ctx;
    Prepare(ctx, kAdminToken);
    onshi::v1::SearchAuditLogRequest req;
    req.set_request_id("access-2");
    onshi::v1::SearchAuditLogResponse resp;
    REQUIRE(system->SearchAuditLog(&ctx, req, &resp).ok());
    REQUIRE(resp.entries_size() == 1);
    CHECK(resp.entries(0).method() == "/onshi.v1.ConsentService/CheckAccess");
    CHECK_THAT(resp.entries(0).subject(), Catch::Contains("MEDICATION"));
    CHECK_THAT(resp.entries(0).subject(), Catch::Contains("NO_CONSENT"));
  }
  // Names never reach the log.
  CHECK_THAT(daemon.log(), !Catch::Contains("ｼﾝﾘｮｳ"));
  CHECK_THAT(daemon.log(), !Catch::Contains("P-100"));
}

TEST_CASE("a restart in the middle of a check-in loses nothing", "[checkin]") {
  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  Ports ports;
  const std::string config = Config(dir.path() + "/state", ports, terminal.folder);
  std::string waiting_id, verified_id;
  {
    DaemonProcess daemon(dir.path(), config);
    REQUIRE(daemon.Start());
    DeskClient desk(ports.grpc, kDeskToken, CheckInEvents());
    CheckIn done;
    REQUIRE(desk.StartCheckIn(FaceCheckIn("desk-A", "ｺｸﾎ ｼﾞﾛｳ", "1975-03-03"), &done).ok());
    REQUIRE(terminal.Face("kokuho") == 0);
    desk.AwaitEvent("checkin.verified", done.check_in_id());
    verified_id = done.check_in_id();
    CheckIn waiting;
    REQUIRE(
        desk.StartCheckIn(FaceCheckIn("desk-A", "ｼﾝﾘｮｳ ﾀﾛｳ", "1980-04-15"), &waiting, "restart-1")
            .ok());
    waiting_id = waiting.check_in_id();
    daemon.Signal(SIGTERM);
    REQUIRE(daemon.WaitExit(std::chrono::seconds(30)) == std::optional<int>(0));
  }
  // The patient taps the face reader while the daemon is down.
  REQUIRE(terminal.Face("shaho-honnin") == 0);
  DaemonProcess daemon(dir.path(), config);
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  DeskClient desk(ports.grpc, kDeskToken, CheckInEvents());
  // The result is ingested at start-up and binds to the check-in that waited across the restart.
  CheckIn waited = desk.AwaitState(waiting_id, onshi::v1::CHECK_IN_STATE_VERIFIED);
  CHECK(waited.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  CHECK(waited.correlation().outcome() == "BOUND");
  CHECK(desk.GetCheckIn(verified_id).state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  // A retry of the request made before the restart still finds its check-in.
  CheckIn retried;
  REQUIRE(desk.StartCheckIn(FaceCheckIn("desk-A", "ｼﾝﾘｮｳ ﾀﾛｳ", "1980-04-15"), &retried, "restart-1")
              .ok());
  CHECK(retried.check_in_id() == waiting_id);
}

TEST_CASE("a 照会番号 registered through the daemon travels with the patient's face result",
          "[checkin]") {
  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  Ports ports;
  DaemonProcess daemon(dir.path(), Config(dir.path() + "/state", ports, terminal.folder));
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  INFO(terminal.process->log());
  DeskClient desk(ports.grpc, kDeskToken, CheckInEvents());
  auto eligibility = onshi::v1::EligibilityService::NewStub(desk.channel());
  auto register_as = [&](const std::string& request_id, const std::string& reference,
                         const std::string& number, onshi::v1::ReferenceNumberRegistration* out) {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, request_id);
    onshi::v1::RegisterReferenceNumberRequest req;
    req.set_reference_number(reference);
    req.mutable_identifiers()->set_insurer_number("06139992");
    req.mutable_identifiers()->set_insured_card_symbol("1234");
    req.mutable_identifiers()->set_insured_identification_number(number);
    req.mutable_identifiers()->set_insured_branch_number("00");
    return eligibility->RegisterReferenceNumber(&ctx, req, out);
  };

  // Registered by OQS; a retry with the same request id is answered from the store.
  onshi::v1::ReferenceNumberRegistration registered;
  auto s = register_as("refno-1", "P-000123", "5678", &registered);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(registered.state() == onshi::v1::REFERENCE_NUMBER_STATE_REGISTERED);
  CHECK(registered.reference_number() == "P-000123");
  CHECK(registered.identifiers().insurer_number() == "06139992");
  CHECK(registered.has_completed_at());
  CHECK(terminal.RequestsSeen() == 1);
  onshi::v1::ReferenceNumberRegistration retried;
  REQUIRE(register_as("refno-1", "P-000123", "5678", &retried).ok());
  CHECK(retried.registration_id() == registered.registration_id());
  CHECK(terminal.RequestsSeen() == 1);
  // The same request id for other values is refused, and nothing is sent.
  onshi::v1::ReferenceNumberRegistration unused;
  s = register_as("refno-1", "P-000124", "5678", &unused);
  CHECK(s.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(ReasonOf(s) == "REQUEST_ID_REUSED");
  CHECK(terminal.RequestsSeen() == 1);

  // A patient OQS does not know: answered, not registered, with the terminal's code.
  onshi::v1::ReferenceNumberRegistration refused;
  REQUIRE(register_as("refno-2", "P-000777", "9999", &refused).ok());
  CHECK(refused.state() == onshi::v1::REFERENCE_NUMBER_STATE_FAILED);
  CHECK(refused.error_code() == "SIM2002E");
  CHECK_FALSE(refused.error_message().empty());

  // Read back by id and by 照会番号 (REST).
  {
    auto got = HttpCall(ports.rest, "GET",
                        "/v1/reference-numbers/" + std::to_string(registered.registration_id()),
                        DeskHeaders());
    INFO(got.body);
    REQUIRE(got.status == 200);
    auto j = nlohmann::json::parse(got.body);
    CHECK(j["state"] == "REFERENCE_NUMBER_STATE_REGISTERED");
    CHECK(j["referenceNumber"] == "P-000123");
    auto listed = HttpCall(ports.rest, "GET", "/v1/reference-numbers?referenceNumber=P-000123",
                           DeskHeaders());
    INFO(listed.body);
    REQUIRE(listed.status == 200);
    auto l = nlohmann::json::parse(listed.body);
    REQUIRE(l["registrations"].size() == 1);
    CHECK(l["registrations"][0]["registrationId"] ==
          std::to_string(registered.registration_id()));
  }
  // onshictl: exit 0 for a registered number, 3 for one OQS did not register.
  {
    const std::string ctl = std::string(ONSHICTL_BINARY) + " --addr 127.0.0.1:" +
                            std::to_string(ports.grpc) + " --token " + kDeskToken;
    auto got = RunCommand(ctl + " refno get " + std::to_string(registered.registration_id()));
    CHECK(got.exit_code == 0);
    CHECK_THAT(got.output, Catch::Contains("REGISTERED"));
    auto again_ctl = RunCommand(ctl + " refno register --reference P-000888 --insurer 06139992"
                                      " --symbol 1234 --number 9999 --branch 00");
    CHECK(again_ctl.exit_code == 3);
    CHECK_THAT(again_ctl.output, Catch::Contains("SIM2002E"));
  }
  // Bad input over REST names every bad field and sends nothing.
  {
    auto bad = HttpCall(ports.rest, "POST", "/v1/reference-numbers", DeskHeaders(),
                        R"({"referenceNumber": "", "identifiers": {"insurerNumber": "0613999",
                            "insuredIdentificationNumber": "5678"}})");
    INFO(bad.body);
    CHECK(bad.status == 400);
    CHECK_THAT(bad.body, Catch::Contains("INVALID_REFERENCE_NUMBER_REGISTRATION"));
    CHECK_THAT(bad.body, Catch::Contains("reference_number"));
    CHECK_THAT(bad.body, Catch::Contains("insurer_number"));
    CHECK(terminal.RequestsSeen() == 3);
  }

  // Two patients wait at desk A; the face result carries P-000123 and binds to its check-in.
  auto with_reference = [](const std::string& reference) {
    auto r = FaceCheckIn("desk-A");
    r.set_reference_number(reference);
    return r;
  };
  CheckIn other, mine;
  REQUIRE(desk.StartCheckIn(with_reference("P-000999"), &other).ok());
  REQUIRE(desk.StartCheckIn(with_reference("P-000123"), &mine).ok());
  REQUIRE(terminal.Face("shaho-honnin") == 0);
  desk.AwaitEvent("checkin.verified", mine.check_in_id());
  mine = desk.GetCheckIn(mine.check_in_id());
  CHECK(mine.correlation().outcome() == "BOUND");
  // The other waiting check-in was ruled out by its 照会番号, not by a guess.
  bool other_ruled_out = false;
  for (const auto& c : mine.correlation().candidates()) {
    if (c.check_in_id() != other.check_in_id()) continue;
    for (const auto& reason : c.reasons()) {
      other_ruled_out |= !c.fits() && reason == "REFERENCE_NUMBER_DISAGREES";
    }
  }
  CHECK(other_ruled_out);
  CHECK(desk.GetCheckIn(other.check_in_id()).state() == onshi::v1::CHECK_IN_STATE_WAITING);
  // The 照会番号 and insurance numbers never reach the log.
  CHECK_THAT(daemon.log(), !Catch::Contains("P-000123"));
  CHECK_THAT(daemon.log(), !Catch::Contains("06139992"));
}
