// Issue 3 end to end: the daemon and the terminal simulator as separate processes on a real
// folder and real PostgreSQL; gRPC and REST over loopback.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "onshi/v1/eligibility.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/desk_client.h"
#include "support/http_client.h"
#include "support/sim_terminal.h"

using namespace onshid::testing;

namespace {

constexpr const char* kInstitution = kSimInstitutionCode;

std::string UpstreamConfig(const std::string& folder) {
  return R"("upstream": {"folder": ")" + folder + R"(", "medical_institution_code": ")" +
         kInstitution + R"(", "poll_interval_ms": 200},)";
}

onshi::v1::QueryRequest Req(const std::string& insurer, const std::string& symbol,
                            const std::string& number, const std::string& branch,
                            const std::string& birth) {
  onshi::v1::QueryRequest r;
  r.mutable_identifiers()->set_insurer_number(insurer);
  r.mutable_identifiers()->set_insured_card_symbol(symbol);
  r.mutable_identifiers()->set_insured_identification_number(number);
  r.mutable_identifiers()->set_insured_branch_number(branch);
  r.set_birth_date(birth);
  return r;
}

std::unique_ptr<onshi::v1::EligibilityService::Stub> EligibilityStub(int port) {
  return onshi::v1::EligibilityService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

// A reception token for queries and reading results.
const std::string kDeskToken = "desk-token-for-eligibility";
std::string DeskTokens() {
  return std::string(R"([{"name": "desk", "sha256": ")") + Sha256Hex(kDeskToken) +
         R"(", "scopes": ["read", "reception"]}, {"name": "ops", "sha256": ")" +
         Sha256Hex(kAdminToken) + R"(", "scopes": ["read", "admin"]}])";
}

}  // namespace

TEST_CASE("eligibility queries and face check-ins through the terminal simulator", "[eligibility]") {
  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  Ports ports;
  DaemonProcess daemon(dir.path(), ConfigJson({dir.path() + "/state", ports, "", DeskTokens(), "",
                                               UpstreamConfig(terminal.folder)}));
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  INFO(terminal.process->log());
  auto stub = EligibilityStub(ports.grpc);

  SECTION("a valid 社保 本人 query answers validity 1 with the person's data, audited") {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "q-shaho-1");
    onshi::v1::QueryResponse resp;
    auto s = stub->Query(&ctx, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp);
    REQUIRE(s.ok());
    const auto& r = resp.result();
    CHECK(r.validity().code() == "1");
    CHECK(r.validity().label() == "有効");
    CHECK(r.source() == onshi::v1::RESULT_SOURCE_QUERY);
    REQUIRE(r.qualifications_size() == 1);
    CHECK(r.qualifications(0).name() == "診療　太郎");
    CHECK(r.qualifications(0).name_kana() == "ｼﾝﾘｮｳ ﾀﾛｳ");
    CHECK(r.qualifications(0).birth_date() == "1980-04-15");
    CHECK(r.raw_sha256().size() == 64);
    CHECK(r.result_id() > 0);

    // The same request id again: the stored result, not a second request to the terminal.
    grpc::ClientContext again;
    Prepare(again, kDeskToken, "q-shaho-1");
    onshi::v1::QueryResponse resp2;
    REQUIRE(stub->Query(&again, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp2).ok());
    CHECK(resp2.result().result_id() == r.result_id());
    auto status = nlohmann::json::parse(terminal.Ctl("status").output);
    INFO(status.dump());
    CHECK(status["requests_seen"] == 1);

    // GetResult and the audit log.
    grpc::ClientContext get_ctx;
    Prepare(get_ctx, kDeskToken);
    onshi::v1::GetResultRequest get;
    get.set_result_id(r.result_id());
    onshi::v1::EligibilityResult got;
    REQUIRE(stub->GetResult(&get_ctx, get, &got).ok());
    CHECK(got.qualifications(0).identifiers().insurer_number() == "06139992");
    auto audit = HttpCall(ports.rest, "POST", "/v1/audit:search",
                          {{"authorization", BearerHeader(kAdminToken)}}, R"({"requestId": "q-shaho-1"})");
    CHECK(audit.body.find("/onshi.v1.EligibilityService/Query") != std::string::npos);
    CHECK(audit.body.find("result:" + std::to_string(r.result_id())) != std::string::npos);
    // Personal data never reaches the log.
    CHECK(daemon.log().find("診療") == std::string::npos);
    CHECK(daemon.log().find("5678") == std::string::npos);
  }

  SECTION("REST query, 国保 6-digit insurer number, moved person (validity 3), unknown person (4)") {
    std::map<std::string, std::string> h = {{"authorization", "Bearer " + kDeskToken}};
    auto kokuho = HttpCall(ports.rest, "POST", "/v1/eligibility:query", h,
                           R"({"identifiers": {"insurerNumber": "271395", "insuredCardSymbol": "架空市",
                               "insuredIdentificationNumber": "102345", "insuredBranchNumber": "00"},
                               "birthDate": "1975-03-03"})");
    REQUIRE(kokuho.status == 200);
    auto j = nlohmann::json::parse(kokuho.body);
    CHECK(j["result"]["validity"]["code"] == "1");
    CHECK(j["result"]["qualifications"][0]["identifiers"]["insurerNumber"] == "  271395");

    auto unknown = HttpCall(ports.rest, "POST", "/v1/eligibility:query", h,
                            R"({"identifiers": {"insurerNumber": "06139992", "insuredCardSymbol": "1",
                                "insuredIdentificationNumber": "999999", "insuredBranchNumber": "00"},
                                "birthDate": "1990-01-01"})");
    REQUIRE(unknown.status == 200);
    CHECK(nlohmann::json::parse(unknown.body)["result"]["validity"]["code"] == "4");
  }

  SECTION("bad input is refused before anything is sent, naming each field") {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    onshi::v1::QueryResponse resp;
    auto s = stub->Query(&ctx, Req("06139993", "1234", "5678", "123", "1980-02-30"), &resp);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(ReasonOf(s) == "INVALID_QUERY");
    google::rpc::Status st;
    REQUIRE(st.ParseFromString(s.error_details()));
    std::set<std::string> fields;
    for (const auto& any : st.details()) {
      google::rpc::BadRequest br;
      if (any.UnpackTo(&br)) {
        for (const auto& v : br.field_violations()) fields.insert(v.field());
      }
    }
    CHECK(fields.count("insurer_number") == 1);
    CHECK(fields.count("insured_branch_number") == 1);
    CHECK(fields.count("birth_date") == 1);
    CHECK(std::filesystem::is_empty(terminal.folder + "/req"));
  }

  SECTION("a face check-in arrives as an event on the stream, then its result is readable") {
    DeskClient desk(ports.grpc, kDeskToken);
    auto face = terminal.Ctl("face --person gaiji-maru --consent all");
    REQUIRE(face.exit_code == 0);
    const auto e = desk.AwaitEvent("face.received", "", std::chrono::seconds(20));
    CHECK(e.result_id() > 0);
    CHECK(e.attributes().at("validity") == "1");

    grpc::ClientContext get_ctx;
    Prepare(get_ctx, kDeskToken);
    onshi::v1::GetResultRequest get;
    get.set_result_id(e.result_id());
    onshi::v1::EligibilityResult got;
    REQUIRE(stub->GetResult(&get_ctx, get, &got).ok());
    CHECK(got.source() == onshi::v1::RESULT_SOURCE_FACE);
    CHECK(got.reference_classification().code() == "1");
    REQUIRE(got.qualifications_size() == 1);
    CHECK(got.qualifications(0).has_unconvertible_chars());
    CHECK(got.qualifications(0).consents().pharmacists_info().flag().code() == "1");
    // The daemon owns face/: the file was archived.
    CHECK(std::filesystem::is_empty(terminal.folder + "/face"));

    // REST clients get the same stream as Server-Sent Events (replayed from the start).
    auto sse = RunCommand("timeout 20 sh -c \"curl -sN -H 'authorization: Bearer " + kDeskToken +
                          "' 'http://127.0.0.1:" + std::to_string(ports.rest) +
                          "/v1/events?afterCursor=0' | grep -m1 '^data:.*face.received'\"");
    CHECK(sse.exit_code == 0);
    CHECK(sse.output.find("\"resultId\":\"" + std::to_string(e.result_id()) + "\"") !=
          std::string::npos);

    // Replay from cursor 0 finds the same event again.
    DeskClient replay(ports.grpc, kDeskToken);
    CHECK(replay.AwaitEvent("face.received", "", std::chrono::seconds(10)).cursor() == e.cursor());
  }

  SECTION("the third-party sample face file is ingested; a malformed one is quarantined") {
    DeskClient desk(ports.grpc, kDeskToken);
    const std::string sample = std::string(ONSHID_SOURCE_DIR) + "/tests/data/oqs/third_party/face-myclinic-2023.xml";
    REQUIRE(std::filesystem::exists(sample));
    std::filesystem::copy_file(sample, terminal.folder + "/face/.tmp-sample");
    std::filesystem::rename(terminal.folder + "/face/.tmp-sample",
                            terminal.folder + "/face/OQSsiquc01res_face_sample_20230221174835.xml");
    desk.AwaitEvent("face.received", "", std::chrono::seconds(20));

    {
      std::ofstream(terminal.folder + "/face/.tmp-bad") << "<?xml version=\"1.0\"?><XmlMsg><MessageHeader>";
    }
    std::filesystem::rename(terminal.folder + "/face/.tmp-bad",
                            terminal.folder + "/face/OQSsiquc01res_face_bad_20260101000000.xml");
    const auto q = desk.AwaitEvent("upstream.file_quarantined", "", std::chrono::seconds(20));
    CHECK(q.file_name() == "OQSsiquc01res_face_bad_20260101000000.xml");

    // The same content delivered twice under two names is recognised as a duplicate.
    REQUIRE(terminal.Ctl("fault --kind duplicate --target face --count 1").exit_code == 0);
    REQUIRE(terminal.Ctl("face --person kokuho").exit_code == 0);
    const auto first = desk.AwaitEvent("face.received", "", std::chrono::seconds(20));
    const auto dup = desk.AwaitEvent("face.duplicate", "", std::chrono::seconds(20));
    CHECK(dup.attributes().at("duplicate_of") == std::to_string(first.result_id()));
  }

  SECTION("a rejected request file and an abnormal result reach the caller as such") {
    REQUIRE(terminal.Ctl("fault --kind reject --count 1").exit_code == 0);
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "q-reject-1");
    onshi::v1::QueryResponse resp;
    auto s = stub->Query(&ctx, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp);
    CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ReasonOf(s) == "UPSTREAM_REJECTED");

    REQUIRE(terminal.Ctl("fault --kind error-9 --count 1").exit_code == 0);
    grpc::ClientContext ctx9;
    Prepare(ctx9, kDeskToken, "q-error9-1");
    REQUIRE(stub->Query(&ctx9, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp).ok());
    CHECK(resp.result().segment_of_result().code() == "9");
    CHECK_FALSE(resp.result().error_code().empty());

    // onshictl prints the replayed events (rejection included) and exits once the stream is quiet.
    auto events = RunCommand(std::string(ONSHICTL_BINARY) + " --addr 127.0.0.1:" +
                             std::to_string(ports.grpc) + " --token " + kDeskToken + " events");
    CHECK(events.exit_code == 0);
    CHECK(events.output.find("eligibility.rejected request=q-reject-1") != std::string::npos);
    CHECK(events.output.find("upstream.state") != std::string::npos);
  }

  SECTION("no answer before the deadline: DEADLINE_EXCEEDED, never re-sent, late result stored once") {
    REQUIRE(terminal.Ctl("fault --kind late --delay-ms 1500 --count 1").exit_code == 0);
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "q-late-1");
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    onshi::v1::QueryResponse resp;
    auto s = stub->Query(&ctx, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp);
    CHECK(s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);

    // The late result is stored and published.
    DeskClient desk(ports.grpc, kDeskToken);
    const auto e = desk.AwaitEvent("eligibility.result", "", std::chrono::seconds(20));
    CHECK(e.request_id() == "q-late-1");

    // A retry with the same request id returns that result without a new request.
    grpc::ClientContext retry;
    Prepare(retry, kDeskToken, "q-late-1");
    REQUIRE(stub->Query(&retry, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp).ok());
    CHECK(resp.result().result_id() == e.result_id());
    auto status = nlohmann::json::parse(terminal.Ctl("status").output);
    INFO(status.dump());
    CHECK(status["requests_seen"] == 1);
  }

  daemon.Signal(SIGTERM);
  CHECK(daemon.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
}

TEST_CASE("a request in flight across a daemon restart is waited for, not re-sent", "[eligibility]") {
  TempDir dir;
  SimTerminal terminal(dir.path(), 0);
  REQUIRE(terminal.ready);
  REQUIRE(terminal.Ctl("fault --kind late --delay-ms 3000 --count 1").exit_code == 0);
  Ports ports;
  const std::string config = ConfigJson({dir.path() + "/state", ports, "", DeskTokens(), "",
                                         UpstreamConfig(terminal.folder)});
  std::int64_t result_id = 0;
  {
    DaemonProcess first(dir.path(), config);
    REQUIRE(first.Start());
    auto stub = EligibilityStub(ports.grpc);
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "q-restart-1");
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
    onshi::v1::QueryResponse resp;
    CHECK(stub->Query(&ctx, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp).error_code() ==
          grpc::StatusCode::DEADLINE_EXCEEDED);
    first.Signal(SIGTERM);
    REQUIRE(first.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
  }
  DaemonProcess second(dir.path(), config);
  REQUIRE(second.Start());
  INFO(second.log());
  auto stub = EligibilityStub(ports.grpc);
  // The retry rejoins the pending request and gets the late result.
  grpc::ClientContext ctx;
  Prepare(ctx, kDeskToken, "q-restart-1");
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  onshi::v1::QueryResponse resp;
  auto s = stub->Query(&ctx, Req("06139992", "1234", "5678", "00", "1980-04-15"), &resp);
  REQUIRE(s.ok());
  result_id = resp.result().result_id();
  CHECK(result_id > 0);
  auto status = nlohmann::json::parse(terminal.Ctl("status").output);
  INFO(status.dump());
  CHECK(status["requests_seen"] == 1);
  second.Signal(SIGTERM);
  CHECK(second.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
}

TEST_CASE("every registry person answers through the daemon with the expected validity", "[eligibility]") {
  struct Case {
    const char* person;
    const char* insurer;
    const char* symbol;
    const char* number;
    const char* branch;
    const char* birth;
    const char* validity;
  };
  const Case cases[] = {
      {"shaho-honnin", "06139992", "1234", "5678", "00", "1980-04-15", "1"},
      {"shaho-kazoku", "06139992", "1234", "5678", "01", "1982-09-20", "1"},
      {"shaho-kazoku-mishugaku", "06139992", "1234", "5678", "02", "2022-06-10", "1"},
      {"kokuho", "271395", "架空市", "102345", "00", "1975-03-03", "1"},
      {"kouki", "39139985", "", "13919998", "", "1944-08-08", "1"},
      {"kourei-70", "271395", "架空市", "204567", "00", "1954-01-01", "1"},
      {"gendogaku", "01399906", "12345678", "42", "00", "1968-11-11", "1"},
      {"tokutei-shippei", "281394", "見本", "330011", "00", "1960-02-29", "1"},
      {"iryo-fujo", "12139994", "", "1307008", "", "1958-07-07", "6"},
      {"gaiji-maru", "06139992", "1234", "9012", "00", "1990-01-02", "1"},
      {"moved (old 国保)", "281394", "見本", "440022", "00", "1988-08-08", "3"},
      {"moved (new)", "06279012", "77", "1001", "00", "1988-08-08", "1"},
      {"lost", "06279038", "5", "808", "00", "1970-05-05", "2"},
      {"dv-suppressed", "06139992", "1234", "3456", "00", "1992-03-03", "4"},
      {"duplicate-a/b", "06279020", "88", "2002", "03", "2010-05-10", "5"},
  };
  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  Ports ports;
  DaemonProcess daemon(dir.path(), ConfigJson({dir.path() + "/state", ports, "", DeskTokens(), "",
                                               UpstreamConfig(terminal.folder)}));
  REQUIRE(daemon.Start());
  auto stub = EligibilityStub(ports.grpc);
  for (const Case& c : cases) {
    INFO(c.person);
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    onshi::v1::QueryResponse resp;
    auto s = stub->Query(&ctx, Req(c.insurer, c.symbol, c.number, c.branch, c.birth), &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    CHECK(resp.result().validity().code() == c.validity);
    if (std::string(c.validity) == "5") CHECK(resp.result().qualifications_size() == 2);
    if (std::string(c.validity) == "3") {
      REQUIRE(resp.result().qualifications_size() >= 1);
      CHECK_FALSE(resp.result().qualifications(0).disqualification_date().empty());
    }
  }
  daemon.Signal(SIGTERM);
  CHECK(daemon.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
}
