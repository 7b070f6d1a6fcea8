// Issue 11 ("integrity under faults") end to end: the real daemon as a child process, the terminal
// simulator as its own process and the daemon's PostgreSQL, driven over gRPC and REST on loopback.
//
// What is proved here:
//  - every write RPC keyed by x-request-id answers a retry with its first final outcome, byte for
//    byte (a response or a refusal), and refuses the id for another request (ALREADY_EXISTS
//    REQUEST_ID_REUSED) without doing anything; over gRPC, over REST and after a restart;
//  - the request id shown everywhere is exactly the one the client sent; a bad one is refused;
//    every REST answer carries one;
//  - a query the terminal rejected answers the rejection again (never INTERNAL), sent once;
//  - a slow query reaches the client as UPSTREAM_RESULT_PENDING before the client's deadline
//    (gRPC) and before the HTTP timeout (REST), and a retry rejoins it without sending it again;
//  - the audit row of a write exists (ATTEMPTED) while it runs and is finished with its outcome;
//  - over REST, an x-request-id gRPC metadata cannot carry (or an empty one) is refused like any
//    other bad id, and the daemon keeps serving;
//  - a write whose outcome was lost in a crash (failpoint call.after_use_case) answers a retry
//    with the outcome it would have recorded.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/oqs/identifiers.h"
#include "onshi/v1/checkin.grpc.pb.h"
#include "onshi/v1/eligibility.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/fallback.grpc.pb.h"
#include "onshi/v1/system.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/desk_client.h"
#include "support/http_client.h"
#include "support/sim_terminal.h"

using namespace onshid::testing;
namespace v1 = onshi::v1;
using namespace std::chrono_literals;

namespace {

const std::string kDeskToken = "desk-token-for-idempotency";

std::string Tokens() {
  return std::string(R"([{"name": "desk", "sha256": ")") + Sha256Hex(kDeskToken) +
         R"(", "scopes": ["read", "reception"]}, {"name": "ops", "sha256": ")" +
         Sha256Hex(kAdminToken) + R"(", "scopes": ["read", "admin"]}])";
}

// The daemon with the simulator's folder and three desks (A and B with the face reader, C
// without). `rest_timeout_ms` > 0 sets rest.request_timeout_ms.
std::string Config(const std::string& state, const Ports& ports, const std::string& folder,
                   int rest_timeout_ms = 0) {
  const std::string extra = R"("upstream": {"folder": ")" + folder +
                            R"(", "medical_institution_code": ")" + kSimInstitutionCode +
                            R"(", "poll_interval_ms": 200},
    "checkin": {"desks": [{"id": "desk-A", "devices": ["face"]},
                          {"id": "desk-B", "devices": ["face"]},
                          {"id": "desk-C", "devices": []}],
                "sweep_interval_ms": 200},)";
  std::string config = ConfigJson({state, ports, "", Tokens(), "", extra});
  if (rest_timeout_ms > 0) {
    const std::string rest = R"("max_body_bytes": 4096})";
    const auto at = config.find(rest);
    REQUIRE(at != std::string::npos);
    config.replace(at, rest.size(),
                   R"("max_body_bytes": 4096, "request_timeout_ms": )" +
                       std::to_string(rest_timeout_ms) + "}");
  }
  return config;
}

std::string JapanToday() {
  const auto d = onshid::core::oqs::OqsDate::JapanDateOf(std::chrono::system_clock::now());
  const std::string s = d.ToString();
  return s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2);
}

// Deterministic bytes of a message: what "byte for byte" compares.
std::string Bytes(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

// An x-request-id the daemon would accept (what it generates for a bad or missing one).
bool LooksLikeRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// One unary call as the client saw it.
struct Answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  std::string details;  // google.rpc.Status bytes
  std::string body;     // the response's deterministic bytes when OK
  std::string echoed;   // x-request-id in the initial metadata
  std::chrono::milliseconds took{0};
  bool ok() const { return code == grpc::StatusCode::OK; }
};

// Calls `method` with `token`, the x-request-id `id` (none when nullopt; sent as is, even empty)
// and a deadline `deadline` from now.
template <typename Stub, typename Req, typename Resp>
Answer Invoke(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
              const std::optional<std::string>& id, const Req& req, Resp* out,
              std::chrono::milliseconds deadline = 10s, const std::string& token = kDeskToken) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  ctx.AddMetadata("authorization", "Bearer " + token);
  if (id) ctx.AddMetadata("x-request-id", *id);
  const auto started = std::chrono::steady_clock::now();
  const grpc::Status s = (stub.*method)(&ctx, req, out);
  Answer a;
  a.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started);
  a.code = s.error_code();
  a.message = s.error_message();
  a.details = s.error_details();
  if (s.ok()) a.body = Bytes(*out);
  a.echoed = InitialMetadata(ctx, "x-request-id");
  return a;
}

// The rich error details of a failed call.
struct Details {
  std::string reason;
  std::map<std::string, std::string> metadata;
  std::string message_ja;
  std::vector<std::string> fields;  // BadRequest field violations
};

Details DetailsOf(const std::string& error_details) {
  Details d;
  google::rpc::Status st;
  if (!st.ParseFromString(error_details)) return d;
  for (const auto& any : st.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::LocalizedMessage lm;
    google::rpc::BadRequest br;
    if (any.UnpackTo(&info)) {
      d.reason = info.reason();
      d.metadata.insert(info.metadata().begin(), info.metadata().end());
    } else if (any.UnpackTo(&lm)) {
      if (lm.locale() == "ja-JP") d.message_ja = lm.message();
    } else if (any.UnpackTo(&br)) {
      for (const auto& v : br.field_violations()) d.fields.push_back(v.field());
    }
  }
  return d;
}

// The same details from a REST error body (google.rpc.Status as JSON).
Details DetailsOfJson(const std::string& body) {
  Details d;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("details")) return d;
  for (const auto& any : j["details"]) {
    const std::string type = any.value("@type", "");
    if (type.find("ErrorInfo") != std::string::npos) {
      d.reason = any.value("reason", "");
      if (any.contains("metadata")) {
        for (const auto& [k, v] : any["metadata"].items()) d.metadata[k] = v.get<std::string>();
      }
    } else if (type.find("LocalizedMessage") != std::string::npos) {
      if (any.value("locale", "") == "ja-JP") d.message_ja = any.value("message", "");
    } else if (type.find("BadRequest") != std::string::npos && any.contains("fieldViolations")) {
      for (const auto& v : any["fieldViolations"]) d.fields.push_back(v.value("field", ""));
    }
  }
  return d;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// `again` is `first` answered again: the same status, message, details and response bytes, under
// the id the client sent.
void CheckSame(const Answer& first, const Answer& again, const std::string& id) {
  INFO("request id " << id << ": first " << first.code << " " << first.message << ", again "
                     << again.code << " " << again.message);
  CHECK(again.code == first.code);
  CHECK(again.message == first.message);
  CHECK(again.details == first.details);
  CHECK(again.body == first.body);
  CHECK(again.echoed == id);
}

// ALREADY_EXISTS REQUEST_ID_REUSED naming `id`, with a Japanese message and x-request-id named.
void CheckReused(const Answer& a, const std::string& id) {
  INFO("request id " << id << ": " << a.code << " " << a.message);
  CHECK(a.code == grpc::StatusCode::ALREADY_EXISTS);
  Details d = DetailsOf(a.details);
  CHECK(d.reason == "REQUEST_ID_REUSED");
  CHECK(d.metadata["request_id"] == id);
  CHECK_FALSE(d.message_ja.empty());
  CHECK(Contains(d.fields, "x-request-id"));
  CHECK(a.echoed == id);
}

// A refusal (not OK, never a 500) with `reason`.
void CheckRefused(const Answer& a, grpc::StatusCode code, const std::string& reason) {
  INFO(a.code << " " << a.message);
  CHECK(a.code == code);
  CHECK(DetailsOf(a.details).reason == reason);
}

// The stubs of one daemon.
struct Client {
  explicit Client(int grpc_port)
      : channel(grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port),
                                    grpc::InsecureChannelCredentials())),
        checkins(v1::CheckInService::NewStub(channel)),
        consent(v1::ConsentService::NewStub(channel)),
        eligibility(v1::EligibilityService::NewStub(channel)),
        fallback(v1::FallbackService::NewStub(channel)),
        system(v1::SystemService::NewStub(channel)) {}

  // A read that must succeed (no request id).
  template <typename Stub, typename Req, typename Resp>
  Resp Read(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
            const Req& req) {
    Resp out;
    const Answer a = Invoke(stub, method, {}, req, &out);
    INFO(a.message);
    REQUIRE(a.ok());
    return out;
  }
  int CountCheckIns() {
    return Read(*checkins, &v1::CheckInService::Stub::ListCheckIns, v1::ListCheckInsRequest{})
        .check_ins_size();
  }
  v1::ConsentStatus GetConsent(const std::string& id) {
    v1::GetConsentRequest req;
    req.set_check_in_id(id);
    return Read(*consent, &v1::ConsentService::Stub::GetConsent, req);
  }
  v1::FallbackCaseRecord GetCase(const std::string& id) {
    v1::GetCaseRequest req;
    req.set_case_id(id);
    return Read(*fallback, &v1::FallbackService::Stub::GetCase, req);
  }
  int CountCases() {
    return Read(*fallback, &v1::FallbackService::Stub::ListCases, v1::ListCasesRequest{})
        .cases_size();
  }
  // Audit entries of one request id, newest first (ops token: admin scope).
  std::vector<v1::AuditEntry> Audit(const std::string& request_id) {
    v1::SearchAuditLogRequest req;
    req.set_request_id(request_id);
    v1::SearchAuditLogResponse out;
    const Answer a =
        Invoke(*system, &v1::SystemService::Stub::SearchAuditLog, {}, req, &out, 10s, kAdminToken);
    INFO(a.message);
    REQUIRE(a.ok());
    return {out.entries().begin(), out.entries().end()};
  }

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::CheckInService::Stub> checkins;
  std::unique_ptr<v1::ConsentService::Stub> consent;
  std::unique_ptr<v1::EligibilityService::Stub> eligibility;
  std::unique_ptr<v1::FallbackService::Stub> fallback;
  std::unique_ptr<v1::SystemService::Stub> system;
};

// The outcomes of the audit rows of `entries`, sorted (their order within a second is not
// asserted).
std::vector<std::string> Outcomes(const std::vector<v1::AuditEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.outcome());
  std::sort(out.begin(), out.end());
  return out;
}

// The next event of `type` for the client request id `request_id`.
v1::Event AwaitRequest(DeskClient& desk, const std::string& type, const std::string& request_id) {
  return desk.AwaitEvent(type + " request_id=" + request_id, [&](const v1::Event& e) {
    return e.type() == type && e.request_id() == request_id;
  });
}

// Registry people (tools/oqs-terminal-sim/registry.json).
v1::QueryRequest QueryFor(const std::string& insurer, const std::string& symbol,
                          const std::string& number, const std::string& branch,
                          const std::string& birth) {
  v1::QueryRequest r;
  r.mutable_identifiers()->set_insurer_number(insurer);
  r.mutable_identifiers()->set_insured_card_symbol(symbol);
  r.mutable_identifiers()->set_insured_identification_number(number);
  r.mutable_identifiers()->set_insured_branch_number(branch);
  r.set_birth_date(birth);
  return r;
}
v1::QueryRequest ShahoHonnin() { return QueryFor("06139992", "1234", "5678", "00", "1980-04-15"); }
v1::QueryRequest ShahoKazoku() { return QueryFor("06139992", "1234", "5678", "01", "1982-09-20"); }
v1::QueryRequest Mishugaku() { return QueryFor("06139992", "1234", "5678", "02", "2022-06-10"); }
v1::QueryRequest Kokuho() { return QueryFor("271395", "架空市", "102345", "00", "1975-03-03"); }
v1::QueryRequest Gendogaku() { return QueryFor("01399906", "12345678", "42", "00", "1968-11-11"); }
v1::QueryRequest Kourei() { return QueryFor("271395", "架空市", "204567", "00", "1954-01-01"); }

v1::StartCheckInRequest FaceCheckIn(const std::string& desk, const std::string& kana = "",
                                    const std::string& birth = "") {
  v1::StartCheckInRequest r;
  r.set_desk_id(desk);
  r.set_channel(v1::CHANNEL_FACE_READER);
  r.add_documents(v1::DOCUMENT_MY_NUMBER_CARD);
  r.mutable_visit()->set_kind(v1::VISIT_KIND_FIRST_VISIT);
  if (!kana.empty()) {
    r.set_name_kana(kana);
    r.set_birth_date(birth);
  }
  return r;
}

// A first visit with the card whose terminal lost the network (a 不詳 flow, as in
// fallback_cases_test.cc).
v1::FallbackCase FirstVisitCase(const std::string& today) {
  v1::FallbackCase in;
  in.set_cause(v1::FALLBACK_CAUSE_NETWORK_ERROR);
  in.add_presented(onshi::v1::DOCUMENT_MY_NUMBER_CARD);
  in.set_visit(v1::VISIT_KIND_FIRST_VISIT);
  in.set_age(v1::AGE_BRACKET_UNDER_70);
  in.set_date(today);
  return in;
}

v1::InsuranceStatement Statement(const std::string& today) {
  v1::InsuranceStatement s;
  s.set_has_valid_insurance(true);
  s.set_insurance_type(v1::INSURANCE_TYPE_SHAHO);
  s.set_insurer_name("全国健康保険協会");
  s.set_employer_name("株式会社見本");
  s.set_name("見本　花子");
  s.set_furigana("ミホン　ハナコ");
  s.mutable_birth_date()->set_era(v1::ERA_SHOWA);
  s.mutable_birth_date()->set_year(55);
  s.mutable_birth_date()->set_month(1);
  s.mutable_birth_date()->set_day(15);
  s.set_sex(v1::DECLARED_SEX_FEMALE);
  s.set_address("東京都架空区見本町三丁目");
  s.set_written_on(today);
  s.set_signed_by_patient_or_guardian(true);
  s.set_phone("090-1234-5678");
  return s;
}

std::map<std::string, std::string> RestHeaders(const std::optional<std::string>& id,
                                               const std::string& token = kDeskToken) {
  std::map<std::string, std::string> h = {{"content-type", "application/json"}};
  if (!token.empty()) h["authorization"] = "Bearer " + token;
  if (id) h["x-request-id"] = *id;
  return h;
}

std::string QueryJson(const v1::QueryRequest& q) {
  std::string out;
  REQUIRE(google::protobuf::util::MessageToJsonString(q, &out).ok());
  return out;
}

nlohmann::json SimStatus(const SimTerminal& terminal) {
  auto j = nlohmann::json::parse(terminal.Ctl("status").output, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// Every request file the simulator took was taken once.
void CheckEachRequestFileTakenOnce(const SimTerminal& terminal) {
  const auto status = SimStatus(terminal);
  INFO(status.dump());
  for (const auto& [name, times] : status.at("request_files").items()) {
    INFO(name);
    CHECK(times.get<int>() == 1);
  }
}

}  // namespace

TEST_CASE(
    "every write RPC answers a retry with its first final outcome and refuses its request "
    "id for another request, over gRPC, REST and across a restart",
    "[integrity]") {
  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  Ports ports;
  const std::string config = Config(dir.path() + "/state", ports, terminal.folder);
  auto daemon = std::make_unique<DaemonProcess>(dir.path(), config);
  REQUIRE(daemon->Start());
  auto client = std::make_unique<Client>(ports.grpc);
  // Every event from the start (replayed, then live).
  auto desk = std::make_unique<DeskClient>(ports.grpc, kDeskToken);
  desk->set_context([&daemon] { return daemon->log(); });
  const std::string today = JapanToday();
  using Elig = v1::EligibilityService::Stub;
  using Ck = v1::CheckInService::Stub;
  using Cs = v1::ConsentService::Stub;
  using Fb = v1::FallbackService::Stub;

  // --- EligibilityService.Query: the stored result again, the terminal asked once.
  v1::QueryResponse query;
  const Answer query_first =
      Invoke(*client->eligibility, &Elig::Query, {"q-1"}, ShahoHonnin(), &query);
  INFO(query_first.message);
  REQUIRE(query_first.ok());
  CHECK(query.result().request_id() == "q-1");
  CHECK(query_first.echoed == "q-1");
  const int seen_after_query = terminal.RequestsSeen();
  CHECK(seen_after_query == 1);
  {
    v1::QueryResponse again;
    CheckSame(query_first,
              Invoke(*client->eligibility, &Elig::Query, {"q-1"}, ShahoHonnin(), &again), "q-1");
    CHECK(again.result().result_id() == query.result().result_id());
    // The same id for another patient: refused, and that patient's query is not sent (before
    // this change the retry answered the first patient's result).
    v1::QueryResponse other;
    CheckReused(Invoke(*client->eligibility, &Elig::Query, {"q-1"}, Kokuho(), &other), "q-1");
    CHECK_FALSE(other.has_result());
    CHECK(terminal.RequestsSeen() == seen_after_query);
  }
  // A refusal (INVALID_ARGUMENT) is a final outcome too: answered again, nothing sent.
  v1::QueryRequest bad_query = ShahoHonnin();
  bad_query.set_birth_date("1980-02-30");
  {
    v1::QueryResponse unused;
    const Answer refused =
        Invoke(*client->eligibility, &Elig::Query, {"q-invalid"}, bad_query, &unused);
    CheckRefused(refused, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_QUERY");
    CheckSame(refused,
              Invoke(*client->eligibility, &Elig::Query, {"q-invalid"}, bad_query, &unused),
              "q-invalid");
    CHECK(terminal.RequestsSeen() == seen_after_query);
  }

  // --- EligibilityService.RegisterReferenceNumber: the registration again, sent once.
  auto registration = [](const std::string& reference) {
    v1::RegisterReferenceNumberRequest r;
    r.set_reference_number(reference);
    r.mutable_identifiers()->set_insurer_number("06139992");
    r.mutable_identifiers()->set_insured_card_symbol("1234");
    r.mutable_identifiers()->set_insured_identification_number("5678");
    r.mutable_identifiers()->set_insured_branch_number("01");
    return r;
  };
  {
    v1::ReferenceNumberRegistration reg, again, other;
    const Answer first = Invoke(*client->eligibility, &Elig::RegisterReferenceNumber, {"refno-1"},
                                registration("P-000456"), &reg);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(reg.state() == v1::REFERENCE_NUMBER_STATE_REGISTERED);
    const int seen = terminal.RequestsSeen();
    CheckSame(first,
              Invoke(*client->eligibility, &Elig::RegisterReferenceNumber, {"refno-1"},
                     registration("P-000456"), &again),
              "refno-1");
    CheckReused(Invoke(*client->eligibility, &Elig::RegisterReferenceNumber, {"refno-1"},
                       registration("P-000457"), &other),
                "refno-1");
    CHECK(terminal.RequestsSeen() == seen);
  }

  // --- CheckInService.AssignResult: a face result nobody waits for (UNMATCHED) accepted by staff.
  REQUIRE(terminal.Face("kouki") == 0);
  const auto unmatched = desk->AwaitEvent("checkin.unmatched");
  const std::string walk_in_id = unmatched.attributes().at("check_in_id");
  const std::int64_t walk_in_result = desk->GetCheckIn(walk_in_id).result_id();
  REQUIRE(walk_in_result > 0);
  {
    v1::AssignResultRequest req;
    req.set_check_in_id(walk_in_id);
    req.set_result_id(walk_in_result);
    v1::CheckIn assigned, again, other;
    const Answer first = Invoke(*client->checkins, &Ck::AssignResult, {"assign-1"}, req, &assigned);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(assigned.state() == v1::CHECK_IN_STATE_VERIFIED);
    CHECK(assigned.correlation().outcome() == "ASSIGNED");
    const std::string after = Bytes(desk->GetCheckIn(walk_in_id));
    CheckSame(first, Invoke(*client->checkins, &Ck::AssignResult, {"assign-1"}, req, &again),
              "assign-1");
    v1::AssignResultRequest other_req = req;
    other_req.set_result_id(walk_in_result + 1000);
    CheckReused(Invoke(*client->checkins, &Ck::AssignResult, {"assign-1"}, other_req, &other),
                "assign-1");
    CHECK(Bytes(desk->GetCheckIn(walk_in_id)) == after);
  }

  // --- CheckInService.StartCheckIn: the check-in as it was started; no second one.
  v1::CheckIn started;
  const auto start_req = FaceCheckIn("desk-A", "ｼﾝﾘｮｳ ﾀﾛｳ", "1980-04-15");
  const Answer start_first =
      Invoke(*client->checkins, &Ck::StartCheckIn, {"start-1"}, start_req, &started);
  INFO(start_first.message);
  REQUIRE(start_first.ok());
  CHECK(started.state() == v1::CHECK_IN_STATE_WAITING);
  const std::string patient_id = started.check_in_id();
  {
    v1::CheckIn again, other;
    CheckSame(start_first,
              Invoke(*client->checkins, &Ck::StartCheckIn, {"start-1"}, start_req, &again),
              "start-1");
    const int before = client->CountCheckIns();
    CheckReused(
        Invoke(*client->checkins, &Ck::StartCheckIn, {"start-1"}, FaceCheckIn("desk-B"), &other),
        "start-1");
    CHECK(client->CountCheckIns() == before);
  }
  // The patient looks into the face reader: the check-in is verified.
  REQUIRE(terminal.Face("shaho-honnin") == 0);
  desk->AwaitEvent("checkin.verified", "check_in_id", patient_id);
  {
    // An id is one request: reused for another method, it is refused too.
    v1::CancelCheckInRequest cancel;
    cancel.set_check_in_id(patient_id);
    v1::CheckIn out;
    CheckReused(Invoke(*client->checkins, &Ck::CancelCheckIn, {"start-1"}, cancel, &out),
                "start-1");
    CHECK(desk->GetCheckIn(patient_id).state() == v1::CHECK_IN_STATE_VERIFIED);
  }

  // --- CheckInService.LinkPatient.
  {
    v1::LinkPatientRequest req;
    req.set_check_in_id(patient_id);
    req.set_patient_id("P-100");
    v1::CheckIn linked, again, other;
    const Answer first = Invoke(*client->checkins, &Ck::LinkPatient, {"link-1"}, req, &linked);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(linked.patient_id() == "P-100");
    CheckSame(first, Invoke(*client->checkins, &Ck::LinkPatient, {"link-1"}, req, &again),
              "link-1");
    v1::LinkPatientRequest other_req = req;
    other_req.set_patient_id("P-200");
    CheckReused(Invoke(*client->checkins, &Ck::LinkPatient, {"link-1"}, other_req, &other),
                "link-1");
    const auto now = desk->GetCheckIn(patient_id);
    CHECK(now.patient_id() == "P-100");
    CHECK(now.patient_links_size() == 1);
  }

  // --- ConsentService.RecordConsentWithdrawal.
  {
    v1::RecordConsentWithdrawalRequest req;
    req.set_check_in_id(patient_id);
    req.add_kinds(v1::INFORMATION_KIND_MEDICATION);
    req.set_staff_id("clerk-1");
    v1::ConsentStatus st, again, other;
    const Answer first =
        Invoke(*client->consent, &Cs::RecordConsentWithdrawal, {"withdraw-1"}, req, &st);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(st.withdrawals_size() == 1);
    CheckSame(first,
              Invoke(*client->consent, &Cs::RecordConsentWithdrawal, {"withdraw-1"}, req, &again),
              "withdraw-1");
    v1::RecordConsentWithdrawalRequest other_req = req;
    other_req.set_kinds(0, v1::INFORMATION_KIND_HEALTH_CHECKUPS);
    CheckReused(
        Invoke(*client->consent, &Cs::RecordConsentWithdrawal, {"withdraw-1"}, other_req, &other),
        "withdraw-1");
    CHECK(client->GetConsent(patient_id).withdrawals_size() == 1);
  }

  // --- ConsentService.RecordOralConsent over REST: the same body again, byte for byte; the same
  //     message over gRPC gets the same outcome; another body is 409 REQUEST_ID_REUSED.
  const std::string oral_path = "/v1/checkins/" + patient_id + "/consent:recordOral";
  const auto oral_first =
      HttpCall(ports.rest, "POST", oral_path, RestHeaders({"oral-1"}), R"({"staffId": "dr-sato"})");
  {
    INFO(oral_first.body);
    REQUIRE(oral_first.status == 200);
    CHECK(oral_first.headers.at("x-request-id") == "oral-1");
    auto again = HttpCall(ports.rest, "POST", oral_path, RestHeaders({"oral-1"}),
                          R"({"staffId": "dr-sato"})");
    CHECK(again.status == 200);
    CHECK(again.body == oral_first.body);
    CHECK(again.headers["x-request-id"] == "oral-1");

    v1::RecordOralConsentRequest req;
    req.set_check_in_id(patient_id);
    req.set_staff_id("dr-sato");
    v1::ConsentStatus over_grpc, from_rest;
    const Answer grpc_again =
        Invoke(*client->consent, &Cs::RecordOralConsent, {"oral-1"}, req, &over_grpc);
    INFO(grpc_again.message);
    REQUIRE(grpc_again.ok());
    REQUIRE(google::protobuf::util::JsonStringToMessage(oral_first.body, &from_rest).ok());
    CHECK(Bytes(over_grpc) == Bytes(from_rest));
    CHECK(over_grpc.oral_consents_size() == 1);

    auto other = HttpCall(ports.rest, "POST", oral_path, RestHeaders({"oral-1"}),
                          R"({"staffId": "dr-kato"})");
    INFO(other.body);
    CHECK(other.status == 409);
    CHECK(other.headers["x-request-id"] == "oral-1");
    Details d = DetailsOfJson(other.body);
    CHECK(d.reason == "REQUEST_ID_REUSED");
    CHECK(d.metadata["request_id"] == "oral-1");
    CHECK_FALSE(d.message_ja.empty());
    CHECK(client->GetConsent(patient_id).oral_consents_size() == 1);
  }

  // --- CheckInService.CancelCheckIn, and a refusal (NOT_FOUND) answered again.
  {
    v1::CheckIn waiting;
    const Answer started_b =
        Invoke(*client->checkins, &Ck::StartCheckIn, {"start-2"}, FaceCheckIn("desk-B"), &waiting);
    REQUIRE(started_b.ok());
    v1::CancelCheckInRequest req;
    req.set_check_in_id(waiting.check_in_id());
    req.set_reason("PATIENT_LEFT");
    v1::CheckIn cancelled, again, other;
    const Answer first =
        Invoke(*client->checkins, &Ck::CancelCheckIn, {"cancel-1"}, req, &cancelled);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(cancelled.state() == v1::CHECK_IN_STATE_CANCELLED);
    const std::string after = Bytes(desk->GetCheckIn(waiting.check_in_id()));
    CheckSame(first, Invoke(*client->checkins, &Ck::CancelCheckIn, {"cancel-1"}, req, &again),
              "cancel-1");
    v1::CancelCheckInRequest other_req = req;
    other_req.set_reason("DUPLICATE_ENTRY");
    CheckReused(Invoke(*client->checkins, &Ck::CancelCheckIn, {"cancel-1"}, other_req, &other),
                "cancel-1");
    CHECK(Bytes(desk->GetCheckIn(waiting.check_in_id())) == after);

    v1::CancelCheckInRequest missing;
    missing.set_check_in_id("ci_no-such-check-in");
    const Answer not_found =
        Invoke(*client->checkins, &Ck::CancelCheckIn, {"cancel-missing"}, missing, &other);
    CheckRefused(not_found, grpc::StatusCode::NOT_FOUND, "CHECKIN_NOT_FOUND");
    CheckSame(not_found,
              Invoke(*client->checkins, &Ck::CancelCheckIn, {"cancel-missing"}, missing, &other),
              "cancel-missing");
  }

  // --- FallbackService: OpenCase, ReviseCase, RecordEvidence, ChooseClaimRoute, CompleteTask,
  //     CloseCase on one 不詳 case.
  v1::FallbackCaseRecord opened;
  v1::OpenCaseRequest open_req;
  *open_req.mutable_fallback_case() = FirstVisitCase(today);
  const Answer open_first = Invoke(*client->fallback, &Fb::OpenCase, {"open-1"}, open_req, &opened);
  {
    INFO(open_first.message);
    REQUIRE(open_first.ok());
    v1::FallbackCaseRecord again, other;
    CheckSame(open_first, Invoke(*client->fallback, &Fb::OpenCase, {"open-1"}, open_req, &again),
              "open-1");
    const int before = client->CountCases();
    v1::OpenCaseRequest other_req = open_req;
    other_req.mutable_fallback_case()->set_age(v1::AGE_BRACKET_70_TO_74);
    CheckReused(Invoke(*client->fallback, &Fb::OpenCase, {"open-1"}, other_req, &other), "open-1");
    CHECK(client->CountCases() == before);
  }
  const std::string case_id = opened.case_id();
  {
    v1::ReviseCaseRequest req;
    req.set_case_id(case_id);
    *req.mutable_fallback_case() = FirstVisitCase(today);
    req.mutable_fallback_case()->set_actual_days(1);
    v1::FallbackCaseRecord revised, again, other;
    const Answer first = Invoke(*client->fallback, &Fb::ReviseCase, {"revise-1"}, req, &revised);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(revised.version() == opened.version() + 1);
    CheckSame(first, Invoke(*client->fallback, &Fb::ReviseCase, {"revise-1"}, req, &again),
              "revise-1");
    v1::ReviseCaseRequest other_req = req;
    other_req.mutable_fallback_case()->set_actual_days(2);
    CheckReused(Invoke(*client->fallback, &Fb::ReviseCase, {"revise-1"}, other_req, &other),
                "revise-1");
    CHECK(client->GetCase(case_id).version() == revised.version());
  }
  {
    v1::RecordEvidenceRequest req;
    req.set_case_id(case_id);
    req.mutable_evidence()->set_kind(v1::FALLBACK_EVIDENCE_KIND_METHOD_APPLIED);
    req.mutable_evidence()->set_method(v1::FALLBACK_METHOD_INSURANCE_STATEMENT);
    req.mutable_evidence()->set_staff_id("S-07");
    *req.mutable_evidence()->mutable_statement() = Statement(today);
    v1::FallbackCaseRecord recorded, again, other;
    const Answer first =
        Invoke(*client->fallback, &Fb::RecordEvidence, {"evidence-1"}, req, &recorded);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(recorded.evidence_size() == 1);
    CheckSame(first, Invoke(*client->fallback, &Fb::RecordEvidence, {"evidence-1"}, req, &again),
              "evidence-1");
    v1::RecordEvidenceRequest other_req = req;
    other_req.mutable_evidence()->set_staff_id("S-08");
    CheckReused(Invoke(*client->fallback, &Fb::RecordEvidence, {"evidence-1"}, other_req, &other),
                "evidence-1");
    const auto now = client->GetCase(case_id);
    CHECK(now.evidence_size() == 1);
    CHECK(now.tasks_size() == recorded.tasks_size());
    CHECK(now.version() == recorded.version());
  }
  // 不詳 is refused while the patient-contact date is missing; that refusal is the outcome of
  // "route-1" for good, even once the route would be allowed.
  v1::ChooseClaimRouteRequest route_req;
  route_req.set_case_id(case_id);
  route_req.set_expected_route(v1::CLAIM_ROUTE_UNKNOWN);
  v1::FallbackCaseRecord routed;
  const Answer route_refused =
      Invoke(*client->fallback, &Fb::ChooseClaimRoute, {"route-1"}, route_req, &routed);
  CheckRefused(route_refused, grpc::StatusCode::FAILED_PRECONDITION, "FUSHO_TEKIYO_INCOMPLETE");
  CheckSame(route_refused,
            Invoke(*client->fallback, &Fb::ChooseClaimRoute, {"route-1"}, route_req, &routed),
            "route-1");
  {
    v1::RecordEvidenceRequest contacted;
    contacted.set_case_id(case_id);
    contacted.mutable_evidence()->set_kind(v1::FALLBACK_EVIDENCE_KIND_PATIENT_CONTACTED);
    contacted.mutable_evidence()->set_staff_id("S-07");
    contacted.mutable_evidence()->set_contacted_on(today);
    v1::FallbackCaseRecord out;
    const Answer a =
        Invoke(*client->fallback, &Fb::RecordEvidence, {"evidence-2"}, contacted, &out);
    INFO(a.message);
    REQUIRE(a.ok());
  }
  CheckSame(route_refused,
            Invoke(*client->fallback, &Fb::ChooseClaimRoute, {"route-1"}, route_req, &routed),
            "route-1");
  CHECK(client->GetCase(case_id).claim().route() == v1::CLAIM_ROUTE_UNSPECIFIED);
  {
    v1::ChooseClaimRouteRequest other_req = route_req;
    other_req.clear_expected_route();
    v1::FallbackCaseRecord other;
    CheckReused(Invoke(*client->fallback, &Fb::ChooseClaimRoute, {"route-1"}, other_req, &other),
                "route-1");
    const Answer first =
        Invoke(*client->fallback, &Fb::ChooseClaimRoute, {"route-2"}, route_req, &routed);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(routed.claim().route() == v1::CLAIM_ROUTE_UNKNOWN);
    v1::FallbackCaseRecord again;
    CheckSame(first,
              Invoke(*client->fallback, &Fb::ChooseClaimRoute, {"route-2"}, route_req, &again),
              "route-2");
  }
  {
    std::string task_id;
    for (const auto& t : routed.tasks()) {
      if (t.kind() == "REQUERY_BEFORE_CLAIM" && t.state() == v1::FALLBACK_TASK_STATE_OPEN) {
        task_id = t.task_id();
      }
    }
    REQUIRE_FALSE(task_id.empty());
    v1::CompleteTaskRequest req;
    req.set_task_id(task_id);
    req.set_staff_id("S-07");
    v1::FallbackTask done, again, other;
    const Answer first = Invoke(*client->fallback, &Fb::CompleteTask, {"task-1"}, req, &done);
    INFO(first.message);
    REQUIRE(first.ok());
    CHECK(done.state() == v1::FALLBACK_TASK_STATE_DONE);
    CheckSame(first, Invoke(*client->fallback, &Fb::CompleteTask, {"task-1"}, req, &again),
              "task-1");
    v1::CompleteTaskRequest other_req = req;
    other_req.set_staff_id("S-08");
    CheckReused(Invoke(*client->fallback, &Fb::CompleteTask, {"task-1"}, other_req, &other),
                "task-1");
    const auto after = client->GetCase(case_id);
    for (const auto& t : after.tasks()) {
      if (t.task_id() == task_id) CHECK(t.done_by() == "S-07");
    }
    v1::CompleteTaskRequest missing;
    missing.set_task_id("tk_nosuchcase_1");
    missing.set_staff_id("S-07");
    const Answer not_found =
        Invoke(*client->fallback, &Fb::CompleteTask, {"task-missing"}, missing, &other);
    CheckRefused(not_found, grpc::StatusCode::NOT_FOUND, "TASK_NOT_FOUND");
    CheckSame(not_found,
              Invoke(*client->fallback, &Fb::CompleteTask, {"task-missing"}, missing, &other),
              "task-missing");
  }
  v1::CloseCaseRequest close_req;
  close_req.set_case_id(case_id);
  close_req.set_reason(v1::FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED);
  v1::FallbackCaseRecord closed;
  const Answer close_first =
      Invoke(*client->fallback, &Fb::CloseCase, {"close-1"}, close_req, &closed);
  {
    INFO(close_first.message);
    REQUIRE(close_first.ok());
    CHECK(closed.state() == v1::FALLBACK_CASE_STATE_CLOSED);
    v1::FallbackCaseRecord again, other;
    CheckSame(close_first,
              Invoke(*client->fallback, &Fb::CloseCase, {"close-1"}, close_req, &again), "close-1");
    v1::CloseCaseRequest other_req = close_req;
    other_req.set_keep_personal_data(true);
    CheckReused(Invoke(*client->fallback, &Fb::CloseCase, {"close-1"}, other_req, &other),
                "close-1");
    CHECK(Bytes(client->GetCase(case_id)) == Bytes(closed));
    v1::ExportProofRequest proof_req;
    proof_req.set_case_id(case_id);
    v1::ExportProofResponse proof;
    REQUIRE(Invoke(*client->fallback, &Fb::ExportProof, {}, proof_req, &proof).ok());
    // The proof of attempt holds one close and one refused route: the retries ran nothing.
    std::map<std::string, int> kinds;
    const auto proof_json = nlohmann::json::parse(proof.proof_json());
    for (const auto& a : proof_json.at("attempts")) {
      ++kinds[a.value("kind", "")];
    }
    CHECK(kinds["CLOSED"] == 1);
    CHECK(kinds["CLAIM_ROUTE_REFUSED"] == 1);
    CHECK(kinds["CLAIM_ROUTE"] == 1);
    CHECK(kinds["OPENED"] == 1);
    CHECK(kinds["EVALUATED"] == 2);  // opened, revised
    CHECK(kinds["EVIDENCE"] == 2);
  }

  // --- The audit log: a write, its replay and the refused reuse, under the id exactly as sent;
  //     none left ATTEMPTED. Over REST the channel says so.
  {
    const auto entries = client->Audit("start-1");
    CHECK(Outcomes(entries) ==
          std::vector<std::string>{"OK", "OK", "REQUEST_ID_REUSED", "REQUEST_ID_REUSED"});
    int start_rows = 0;
    for (const auto& e : entries) {
      CHECK(e.request_id() == "start-1");
      CHECK(e.client() == "desk");
      CHECK(e.channel() == "grpc");
      if (e.method() != "/onshi.v1.CheckInService/StartCheckIn") continue;
      ++start_rows;
      if (e.outcome() == "OK") CHECK(e.subject() == "checkin:" + patient_id);
    }
    CHECK(start_rows == 3);
    const auto oral = client->Audit("oral-1");
    CHECK(Outcomes(oral) == std::vector<std::string>{"OK", "OK", "OK", "REQUEST_ID_REUSED"});
    int over_rest = 0;
    for (const auto& e : oral) over_rest += e.channel() == "rest" ? 1 : 0;
    CHECK(over_rest == 3);
  }

  // --- A restart: the outcomes are in PostgreSQL.
  const int seen_before_restart = terminal.RequestsSeen();
  desk.reset();
  client.reset();
  daemon->Signal(SIGTERM);
  REQUIRE(daemon->WaitExit(30s) == std::optional<int>(0));
  daemon = std::make_unique<DaemonProcess>(dir.path(), config);
  REQUIRE(daemon->Start());
  client = std::make_unique<Client>(ports.grpc);
  {
    v1::QueryResponse q;
    CheckSame(query_first, Invoke(*client->eligibility, &Elig::Query, {"q-1"}, ShahoHonnin(), &q),
              "q-1");
    CheckReused(Invoke(*client->eligibility, &Elig::Query, {"q-1"}, Kokuho(), &q), "q-1");
    v1::CheckIn c;
    CheckSame(start_first, Invoke(*client->checkins, &Ck::StartCheckIn, {"start-1"}, start_req, &c),
              "start-1");
    v1::FallbackCaseRecord f;
    CheckSame(route_refused,
              Invoke(*client->fallback, &Fb::ChooseClaimRoute, {"route-1"}, route_req, &f),
              "route-1");
    CheckSame(close_first, Invoke(*client->fallback, &Fb::CloseCase, {"close-1"}, close_req, &f),
              "close-1");
    v1::OpenCaseRequest other_open = open_req;
    other_open.mutable_fallback_case()->set_visit(v1::VISIT_KIND_REVISIT);
    CheckReused(Invoke(*client->fallback, &Fb::OpenCase, {"open-1"}, other_open, &f), "open-1");
    auto oral = HttpCall(ports.rest, "POST", oral_path, RestHeaders({"oral-1"}),
                         R"({"staffId": "dr-sato"})");
    CHECK(oral.status == 200);
    CHECK(oral.body == oral_first.body);
    CHECK(oral.headers["x-request-id"] == "oral-1");
    CHECK(client->GetConsent(patient_id).oral_consents_size() == 1);
    CHECK(client->Audit("start-1").size() == 5);
  }
  CHECK(terminal.RequestsSeen() == seen_before_restart);
  CheckEachRequestFileTakenOnce(terminal);
  daemon->Signal(SIGTERM);
  CHECK(daemon->WaitExit(30s) == std::optional<int>(0));
}

TEST_CASE(
    "request ids are the client's own, a rejected query answers its rejection again, a slow "
    "query answers UPSTREAM_RESULT_PENDING before the client's deadline and is sent once",
    "[integrity]") {
  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  Ports ports;
  // The REST server answers HANDLER_TIMEOUT after 2 s; the daemon must answer before.
  const std::string config = Config(dir.path() + "/state", ports, terminal.folder, 2000);
  auto daemon = std::make_unique<DaemonProcess>(dir.path(), config);
  REQUIRE(daemon->Start());
  auto client = std::make_unique<Client>(ports.grpc);
  // Every event from the start (replayed, then live).
  auto desk = std::make_unique<DeskClient>(ports.grpc, kDeskToken);
  desk->set_context([&daemon] { return daemon->log(); });
  using Elig = v1::EligibilityService::Stub;

  // --- The id as sent, everywhere (before this change results, events and the audit log showed
  //     "<token name>/<id>").
  const std::string odd_id = "Rezept:2026/05#17~a&b=c";
  v1::QueryResponse shaho;
  const Answer shaho_first =
      Invoke(*client->eligibility, &Elig::Query, {odd_id}, ShahoHonnin(), &shaho);
  {
    INFO(shaho_first.message);
    REQUIRE(shaho_first.ok());
    CHECK(shaho_first.echoed == odd_id);
    CHECK(shaho.result().request_id() == odd_id);
    const auto e = AwaitRequest(*desk, "eligibility.result", odd_id);
    CHECK(e.result_id() == shaho.result().result_id());
    const auto audit = client->Audit(odd_id);
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].request_id() == odd_id);
    CHECK(audit[0].method() == "/onshi.v1.EligibilityService/Query");
    CHECK(audit[0].outcome() == "OK");
    CHECK(audit[0].subject() == "result:" + std::to_string(shaho.result().result_id()));
    // Read back by GetResult: the same id.
    v1::GetResultRequest get;
    get.set_result_id(shaho.result().result_id());
    v1::EligibilityResult got;
    REQUIRE(Invoke(*client->eligibility, &Elig::GetResult, {}, get, &got).ok());
    CHECK(got.request_id() == odd_id);
  }
  {
    // 128 characters is the longest id taken.
    const std::string longest(128, 'x');
    v1::GetStatusRequest req;
    v1::GetStatusResponse out;
    const Answer a =
        Invoke(*client->system, &v1::SystemService::Stub::GetStatus, {longest}, req, &out);
    CHECK(a.ok());
    CHECK(a.echoed == longest);
  }

  // --- A bad id is refused, never replaced, and nothing is done.
  const int seen_before_bad_ids = terminal.RequestsSeen();
  for (const std::string& bad : {std::string(129, 'x'), std::string("two words"), std::string()}) {
    INFO("x-request-id \"" << bad << "\"");
    v1::QueryResponse out;
    const Answer a = Invoke(*client->eligibility, &Elig::Query, {bad}, Kokuho(), &out);
    CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
    Details d = DetailsOf(a.details);
    CHECK(d.reason == "INVALID_REQUEST_ID");
    CHECK(Contains(d.fields, "x-request-id"));
    CHECK_FALSE(d.message_ja.empty());
    CHECK(a.echoed != bad);
    CHECK(LooksLikeRequestId(a.echoed));
  }
  for (const std::string& bad : {std::string(129, 'x'), std::string("two words")}) {
    INFO("REST x-request-id \"" << bad << "\"");
    auto r = HttpCall(ports.rest, "POST", "/v1/eligibility:query", RestHeaders({bad}),
                      QueryJson(Kokuho()));
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK(DetailsOfJson(r.body).reason == "INVALID_REQUEST_ID");
    REQUIRE(r.headers.count("x-request-id") == 1);
    CHECK(r.headers["x-request-id"] != bad);
    CHECK(LooksLikeRequestId(r.headers["x-request-id"]));
  }
  CHECK(terminal.RequestsSeen() == seen_before_bad_ids);

  // --- Every REST answer carries x-request-id, errors included.
  {
    auto unauthenticated = HttpCall(ports.rest, "POST", "/v1/eligibility:query",
                                    RestHeaders({"rest-401"}, ""), QueryJson(Kokuho()));
    CHECK(unauthenticated.status == 401);
    CHECK(unauthenticated.headers["x-request-id"] == "rest-401");
    auto no_route = HttpCall(ports.rest, "GET", "/v1/no-such-route", RestHeaders({"rest-404"}));
    CHECK(no_route.status == 404);
    CHECK(no_route.headers["x-request-id"] == "rest-404");
    auto bad_body = HttpCall(ports.rest, "POST", "/v1/eligibility:query", RestHeaders({"rest-400"}),
                             "{not json");
    CHECK(bad_body.status == 400);
    CHECK(bad_body.headers["x-request-id"] == "rest-400");
    auto no_id = HttpCall(ports.rest, "GET", "/v1/status", RestHeaders(std::nullopt));
    CHECK(no_id.status == 200);
    CHECK(LooksLikeRequestId(no_id.headers["x-request-id"]));
    auto with_id = HttpCall(ports.rest, "GET", "/v1/status", RestHeaders({odd_id}));
    CHECK(with_id.headers["x-request-id"] == odd_id);
    CHECK(terminal.RequestsSeen() == seen_before_bad_ids);
  }

  // --- A query the terminal rejects (.err): the rejection again, not INTERNAL (SQLSTATE 23505),
  //     sent once.
  REQUIRE(terminal.Ctl("fault --kind reject --count 1").exit_code == 0);
  v1::QueryResponse unused;
  const Answer rejected =
      Invoke(*client->eligibility, &Elig::Query, {"q-rej-1"}, ShahoKazoku(), &unused);
  {
    CheckRefused(rejected, grpc::StatusCode::FAILED_PRECONDITION, "UPSTREAM_REJECTED");
    CHECK(DetailsOf(rejected.details).metadata["request_id"] == "q-rej-1");
    AwaitRequest(*desk, "eligibility.rejected", "q-rej-1");
    const int seen = terminal.RequestsSeen();
    CheckSame(rejected,
              Invoke(*client->eligibility, &Elig::Query, {"q-rej-1"}, ShahoKazoku(), &unused),
              "q-rej-1");
    CHECK(terminal.RequestsSeen() == seen);
  }

  // --- The rejection arrives after the client gave up (UPSTREAM_RESULT_PENDING): the retry is
  //     answered from the journal. While the query waits, its audit row is ATTEMPTED.
  REQUIRE(terminal.Ctl("fault --kind reject --count 1").exit_code == 0);
  const int seen_before_late_reject = terminal.RequestsSeen();
  terminal.process->Signal(SIGSTOP);
  auto waiting = std::async(std::launch::async, [&client] {
    v1::QueryResponse out;
    return Invoke(*client->eligibility, &Elig::Query, {"q-rej-2"}, Mishugaku(), &out, 2000ms);
  });
  // The request file is written once the use case runs, after the audit row.
  const auto req_file = WaitForFile(terminal.folder + "/req", "OQSsiquc01req_", 5s);
  CHECK(req_file.has_value());
  {
    const auto during = client->Audit("q-rej-2");
    REQUIRE(during.size() == 1);
    CHECK(during[0].outcome() == "ATTEMPTED");
    CHECK(during[0].request_id() == "q-rej-2");
    CHECK(during[0].method() == "/onshi.v1.EligibilityService/Query");
  }
  const Answer gave_up = waiting.get();
  terminal.process->Signal(SIGCONT);
  {
    INFO(gave_up.code << " " << gave_up.message << " after " << gave_up.took.count() << " ms");
    CHECK(gave_up.code == grpc::StatusCode::DEADLINE_EXCEEDED);
    Details d = DetailsOf(gave_up.details);
    CHECK(d.reason == "UPSTREAM_RESULT_PENDING");
    CHECK(d.metadata["request_id"] == "q-rej-2");
    CHECK_FALSE(d.message_ja.empty());
    CHECK(gave_up.took.count() < 2000);
    CHECK(Outcomes(client->Audit("q-rej-2")) ==
          std::vector<std::string>{"UPSTREAM_RESULT_PENDING"});
  }
  AwaitRequest(*desk, "eligibility.rejected", "q-rej-2");
  const Answer late_rejected =
      Invoke(*client->eligibility, &Elig::Query, {"q-rej-2"}, Mishugaku(), &unused);
  CheckRefused(late_rejected, grpc::StatusCode::FAILED_PRECONDITION, "UPSTREAM_REJECTED");
  CHECK(DetailsOf(late_rejected.details).metadata["request_id"] == "q-rej-2");
  CheckSame(late_rejected,
            Invoke(*client->eligibility, &Elig::Query, {"q-rej-2"}, Mishugaku(), &unused),
            "q-rej-2");
  CHECK(terminal.RequestsSeen() == seen_before_late_reject + 1);

  // --- A slow query over gRPC: UPSTREAM_RESULT_PENDING with its details before the client's 2 s
  //     deadline (not a bare local DEADLINE_EXCEEDED); the id stays this request's while it is
  //     pending; a retry rejoins it and gets the result, sent once.
  REQUIRE(terminal.Ctl("fault --kind late --delay-ms 3000 --count 1").exit_code == 0);
  const int seen_before_slow = terminal.RequestsSeen();
  v1::QueryResponse slow;
  const Answer pending =
      Invoke(*client->eligibility, &Elig::Query, {"q-slow-1"}, Kokuho(), &slow, 2000ms);
  {
    INFO(pending.code << " " << pending.message << " after " << pending.took.count() << " ms");
    CHECK(pending.code == grpc::StatusCode::DEADLINE_EXCEEDED);
    Details d = DetailsOf(pending.details);
    CHECK(d.reason == "UPSTREAM_RESULT_PENDING");
    CHECK(d.metadata["request_id"] == "q-slow-1");
    CHECK_FALSE(d.message_ja.empty());
    CHECK(pending.took.count() < 2000);
    CHECK(pending.echoed == "q-slow-1");
  }
  CheckReused(Invoke(*client->eligibility, &Elig::Query, {"q-slow-1"}, Gendogaku(), &unused),
              "q-slow-1");
  const Answer slow_done =
      Invoke(*client->eligibility, &Elig::Query, {"q-slow-1"}, Kokuho(), &slow, 10s);
  {
    INFO(slow_done.message);
    REQUIRE(slow_done.ok());
    CHECK(slow.result().request_id() == "q-slow-1");
    CHECK(slow.result().validity().code() == "1");
    CHECK(terminal.RequestsSeen() == seen_before_slow + 1);
    CHECK(Outcomes(client->Audit("q-slow-1")) ==
          std::vector<std::string>{"OK", "REQUEST_ID_REUSED", "UPSTREAM_RESULT_PENDING"});
  }

  // --- A slow query over REST (rest.request_timeout_ms 2000): 504 with UPSTREAM_RESULT_PENDING and
  //     the request id, not the HTTP server's HANDLER_TIMEOUT; once the result is in, the retry
  //     answers it, sent once.
  REQUIRE(terminal.Ctl("fault --kind late --delay-ms 3000 --count 1").exit_code == 0);
  const int seen_before_slow_rest = terminal.RequestsSeen();
  {
    auto r = HttpCall(ports.rest, "POST", "/v1/eligibility:query", RestHeaders({"q-slow-rest-1"}),
                      QueryJson(Kourei()));
    INFO(r.body);
    CHECK(r.status == 504);
    Details d = DetailsOfJson(r.body);
    CHECK(d.reason == "UPSTREAM_RESULT_PENDING");
    CHECK(d.metadata["request_id"] == "q-slow-rest-1");
    CHECK_FALSE(d.message_ja.empty());
    CHECK(r.headers["x-request-id"] == "q-slow-rest-1");
    CHECK_THAT(r.body, !Catch::Contains("HANDLER_TIMEOUT"));
  }
  const auto slow_rest_event = AwaitRequest(*desk, "eligibility.result", "q-slow-rest-1");
  const auto slow_rest = HttpCall(ports.rest, "POST", "/v1/eligibility:query",
                                  RestHeaders({"q-slow-rest-1"}), QueryJson(Kourei()));
  {
    INFO(slow_rest.body);
    REQUIRE(slow_rest.status == 200);
    const auto j = nlohmann::json::parse(slow_rest.body);
    CHECK(j["result"]["requestId"] == "q-slow-rest-1");
    CHECK(j["result"]["resultId"] == std::to_string(slow_rest_event.result_id()));
    CHECK(slow_rest.headers.at("x-request-id") == "q-slow-rest-1");
    CHECK(terminal.RequestsSeen() == seen_before_slow_rest + 1);
  }

  // --- After a restart: every final outcome again, from PostgreSQL; still nothing re-sent.
  const int seen_before_restart = terminal.RequestsSeen();
  desk.reset();
  client.reset();
  daemon->Signal(SIGTERM);
  REQUIRE(daemon->WaitExit(30s) == std::optional<int>(0));
  daemon = std::make_unique<DaemonProcess>(dir.path(), config);
  REQUIRE(daemon->Start());
  client = std::make_unique<Client>(ports.grpc);
  {
    v1::QueryResponse out;
    CheckSame(shaho_first,
              Invoke(*client->eligibility, &Elig::Query, {odd_id}, ShahoHonnin(), &out), odd_id);
    CheckSame(rejected,
              Invoke(*client->eligibility, &Elig::Query, {"q-rej-1"}, ShahoKazoku(), &out),
              "q-rej-1");
    CheckSame(late_rejected,
              Invoke(*client->eligibility, &Elig::Query, {"q-rej-2"}, Mishugaku(), &out),
              "q-rej-2");
    CheckReused(Invoke(*client->eligibility, &Elig::Query, {"q-rej-2"}, Kokuho(), &out), "q-rej-2");
    CheckSame(slow_done, Invoke(*client->eligibility, &Elig::Query, {"q-slow-1"}, Kokuho(), &out),
              "q-slow-1");
    auto r = HttpCall(ports.rest, "POST", "/v1/eligibility:query", RestHeaders({"q-slow-rest-1"}),
                      QueryJson(Kourei()));
    CHECK(r.status == 200);
    CHECK(r.body == slow_rest.body);
  }
  CHECK(terminal.RequestsSeen() == seen_before_restart);
  CheckEachRequestFileTakenOnce(terminal);
  daemon->Signal(SIGTERM);
  CHECK(daemon->WaitExit(30s) == std::optional<int>(0));
}

TEST_CASE(
    "over REST an x-request-id the API cannot take is refused INVALID_REQUEST_ID without "
    "running anything, the empty one and those gRPC metadata cannot carry included, and the "
    "daemon keeps serving",
    "[integrity]") {
  TempDir dir;
  Ports ports;
  const std::string config = ConfigJson({dir.path() + "/state", ports, "", Tokens(), "", ""});
  auto daemon = std::make_unique<DaemonProcess>(dir.path(), config);
  REQUIRE(daemon->Start());
  // An answer, or status 0 when the connection ended without one.
  const auto try_http = [&](const std::string& method, const std::string& target,
                            const std::map<std::string, std::string>& headers,
                            const std::string& body) {
    try {
      return HttpCall(ports.rest, method, target, headers, body);
    } catch (const std::exception&) {
      return HttpResult{};
    }
  };
  v1::OpenCaseRequest open_req;
  *open_req.mutable_fallback_case() = FirstVisitCase(JapanToday());
  std::string open_json;
  REQUIRE(google::protobuf::util::MessageToJsonString(open_req, &open_json).ok());
  // Empty (0 characters), non-ASCII and a control character: none is 1-128 printable ASCII. The
  // HTTP server passes a bad id on for the API to refuse: it must reach the API (not be dropped
  // when empty) and must be refused before it is put into gRPC metadata, which cannot carry
  // non-ASCII or control characters.
  for (const std::string& bad : {std::string(), std::string("受付-1"), std::string("tab\there")}) {
    // (Catch's text wrapping cannot print a tab: it is shown as \t.)
    std::string shown;
    for (char c : bad) shown += c == '\t' ? std::string("\\t") : std::string(1, c);
    INFO("REST x-request-id \"" << shown << "\"");
    const auto r = try_http("POST", "/v1/fallback/cases", RestHeaders({bad}), open_json);
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK(DetailsOfJson(r.body).reason == "INVALID_REQUEST_ID");
    const auto echoed = r.headers.find("x-request-id");
    CHECK(
        (echoed != r.headers.end() && echoed->second != bad && LooksLikeRequestId(echoed->second)));
    const auto alive = try_http("GET", "/v1/status", RestHeaders(std::nullopt), "");
    CHECK(alive.status == 200);
    if (alive.status != 200) {
      // The daemon died answering it: started again so that the next id is tried too.
      const auto exit_code = daemon->WaitExit(10s);
      // The gRPC library's own lines say why (e.g. "API misuse ... assertion failed").
      std::string why;
      std::istringstream lines(daemon->log());
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("{", 0) != 0) why += line + "\n";
      }
      FAIL_CHECK("the daemon exited (" + (exit_code ? std::to_string(*exit_code) : "running") +
                 ")\n" + why);
      daemon = std::make_unique<DaemonProcess>(dir.path(), config);
      REQUIRE(daemon->Start());
    }
  }
  // Nothing was done: no case was opened.
  Client client(ports.grpc);
  CHECK(client.CountCases() == 0);
  daemon->Signal(SIGTERM);
  CHECK(daemon->WaitExit(30s) == std::optional<int>(0));
}

#if defined(ONSHID_FAILPOINTS) && ONSHID_FAILPOINTS
TEST_CASE(
    "a write whose outcome was lost in a crash answers the same outcome when retried, a "
    "refused claim route is refused again, not answered OK",
    "[integrity]") {
  TempDir dir;
  Ports ports;
  const std::string config = ConfigJson({dir.path() + "/state", ports, "", Tokens(), "", ""});
  const std::string today = JapanToday();
  using Fb = v1::FallbackService::Stub;
  v1::ChooseClaimRouteRequest route_req;
  route_req.set_expected_route(v1::CLAIM_ROUTE_UNKNOWN);
  {
    // Failpoints are set through the environment (daemon/failpoint/failpoint.h); the daemon must
    // accept ONSHID_FAILPOINT among its ONSHID_* variables.
    // The third write call's use case finishes, then the daemon dies before its outcome is
    // recorded for retries (call.after_use_case): the outcome lives only in what the use case
    // committed.
    DaemonProcess daemon(dir.path(), config, {{"ONSHID_FAILPOINT", "call.after_use_case@3=kill"}});
    const bool started = daemon.Start();
    INFO(daemon.log());
    REQUIRE(started);
    Client client(ports.grpc);
    v1::OpenCaseRequest open_req;
    *open_req.mutable_fallback_case() = FirstVisitCase(today);
    v1::FallbackCaseRecord opened;
    const Answer open =
        Invoke(*client.fallback, &Fb::OpenCase, {"crash-open-1"}, open_req, &opened);
    INFO(open.message);
    REQUIRE(open.ok());
    route_req.set_case_id(opened.case_id());
    v1::RecordEvidenceRequest evidence;
    evidence.set_case_id(opened.case_id());
    evidence.mutable_evidence()->set_kind(v1::FALLBACK_EVIDENCE_KIND_METHOD_APPLIED);
    evidence.mutable_evidence()->set_method(v1::FALLBACK_METHOD_INSURANCE_STATEMENT);
    evidence.mutable_evidence()->set_staff_id("S-07");
    *evidence.mutable_evidence()->mutable_statement() = Statement(today);
    v1::FallbackCaseRecord recorded;
    const Answer recorded_answer =
        Invoke(*client.fallback, &Fb::RecordEvidence, {"crash-evidence-1"}, evidence, &recorded);
    INFO(recorded_answer.message);
    REQUIRE(recorded_answer.ok());
    // 不詳 without the patient-contact date: refused (FUSHO_TEKIYO_INCOMPLETE) and the refusal is
    // committed to the case's proof of attempt; then the daemon dies.
    v1::FallbackCaseRecord lost;
    const Answer crashed =
        Invoke(*client.fallback, &Fb::ChooseClaimRoute, {"crash-route-1"}, route_req, &lost);
    CHECK(crashed.code == grpc::StatusCode::UNAVAILABLE);
    const auto exit_code = daemon.WaitExit(30s);
    REQUIRE(exit_code.has_value());
    CHECK(*exit_code == 128 + SIGKILL);
  }
  DaemonProcess daemon(dir.path(), config);
  REQUIRE(daemon.Start());
  Client client(ports.grpc);
  // The retry runs the use case again (no outcome was recorded). Nothing changed, so it must be
  // refused again; an OK would tell the client a claim route was chosen when none was.
  v1::FallbackCaseRecord retried;
  const Answer retry =
      Invoke(*client.fallback, &Fb::ChooseClaimRoute, {"crash-route-1"}, route_req, &retried);
  CheckRefused(retry, grpc::StatusCode::FAILED_PRECONDITION, "FUSHO_TEKIYO_INCOMPLETE");
  if (retry.ok()) CHECK(retried.claim().route() != v1::CLAIM_ROUTE_UNSPECIFIED);
  CHECK(client.GetCase(route_req.case_id()).claim().route() == v1::CLAIM_ROUTE_UNSPECIFIED);
  // And the answer it gave is now the recorded one.
  CheckSame(retry,
            Invoke(*client.fallback, &Fb::ChooseClaimRoute, {"crash-route-1"}, route_req, &retried),
            "crash-route-1");
  daemon.Signal(SIGTERM);
  CHECK(daemon.WaitExit(30s) == std::optional<int>(0));
}
#endif
