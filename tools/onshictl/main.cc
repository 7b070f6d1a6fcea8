// onshictl: command-line client for onshid over gRPC.
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "onshi/v1/checkin.grpc.pb.h"
#include "onshi/v1/eligibility.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/fallback.grpc.pb.h"
#include "onshi/v1/readers.grpc.pb.h"
#include "onshi/v1/system.grpc.pb.h"
#include "api/enum_mapping.h"
#include "app/token_hash.h"
#include "onshid/version.h"

namespace {

struct Options {
  std::string addr = "127.0.0.1:50051";
  std::string token;
  std::string tls_ca, tls_cert, tls_key, tls_server_name;
  bool json = false;
  int timeout_ms = 5000;
  // Sent as x-request-id: a write retried with the same id (and the same request) is done once.
  std::string request_id;
  // query
  std::string insurer, symbol, number, branch, birth, date;
  bool limit_consent = false;
  // events
  long long after = 0;
  long long count = -1;  // stop after this many events (-1: until interrupted)
  bool follow = false;    // events: keep streaming after the replay
  // readers watch
  bool initial = false;
  // checkin / consent (enum values as text, parsed per command)
  std::string desk, channel, visit, patient_id, reader, kana, reference, day, state, reason, staff,
      checkin, kind, at, holds_my_number, holds_certificate;
  std::vector<std::string> documents;
  int real_days = 0;
  // fallback evaluate (visit, documents, real_days and date shared with the commands above)
  std::string cause, age, newborn, certificate_expiry;
  std::vector<std::string> known;
  bool no_insurance_now = false, no_oqs = false, reads_smartphones = false, disaster_mode = false;
  // fallback cases (kind, state, day, staff, reason and checkin shared with the commands above)
  std::string method, expect, outcome, due, case_id, contacted_on, oral_by, eligibility_json,
      statement_json, card_face_json;
  int limit = 0, actual_days = 0, held_index = 0, amount = -1;
  bool portal_pdf = false, no_change = false, keep_personal_data = false;
  std::vector<std::string> args;
};

void Usage(std::ostream& out) {
  out << "usage: onshictl [options] COMMAND\n"
         "commands:\n"
         "  status              version, uptime and the state of every dependency\n"
         "  health [SERVICE]    grpc.health.v1 check (overall when SERVICE is omitted)\n"
         "  hash-token [TOKEN]  print the SHA-256 to put in auth.tokens[].sha256 (TOKEN or stdin)\n"
         "  query --insurer N --number N [--symbol S] [--branch NN] --birth YYYY-MM-DD\n"
         "        [--limit-consent] [--date YYYY-MM-DD]\n"
         "                      individual eligibility query through the terminal (資格確認書 etc.)\n"
         "  result ID           one stored result\n"
         "  refno register --reference REF --insurer N --number N [--symbol S] [--branch NN]\n"
         "                      register REF (e.g. the patient id) as the patient's 照会番号 in OQS\n"
         "  refno get ID        one 照会番号 registration\n"
         "  refno list --reference REF\n"
         "                      the registrations of REF, newest first\n"
         "  events [--after CURSOR] [--follow] [--count N]\n"
         "                      events after CURSOR; with --follow keep streaming new ones\n"
         "  readers             the generic card readers (name, card present, last error)\n"
         "  readers watch [--initial] [--count N]\n"
         "                      follow reader/card events (--initial: current readers first)\n"
         "  card inspect READER token kind, certificate status and card key of the card on READER\n"
         "  card pin-status READER\n"
         "                      remaining tries of the card's PIN (no PIN is sent)\n"
         "                      READER: a name from `onshictl readers` (quote it: it has spaces)\n"
         "  checkin start --desk D --channel face|document|reader|manual [--document DOC ...]\n"
         "        [--visit first|revisit] [--patient-id P] [--real-days N]\n"
         "        [--insurer N --symbol S --number N --branch NN] [--birth-date YYYY-MM-DD]\n"
         "        [--limit-consent] [--holds-my-number yes|no] [--holds-certificate yes|no]\n"
         "        [--reader NAME] [--kana KANA] [--reference REF]\n"
         "                      start a check-in (受付); DOC e.g. MY_NUMBER_CARD,\n"
         "                      QUALIFICATION_CERTIFICATE_CARD, HEALTH_INSURANCE_CARD\n"
         "  checkin get ID      one check-in\n"
         "  checkin list [--day YYYY-MM-DD] [--desk D] [--state S] [--patient-id P]\n"
         "                      a day's check-ins (default today), or a patient's (newest first)\n"
         "  checkin assign ID RESULT_ID\n"
         "                      give an unmatched/ambiguous result to check-in ID\n"
         "  checkin cancel ID [--reason CODE]\n"
         "  checkin link ID PATIENT_ID\n"
         "                      link the check-in to the vendor's patient id (\"\" unlinks)\n"
         "  consent get ID      consent flags and oral consents of check-in ID\n"
         "  consent check (--checkin ID | --patient-id P) --kind KIND [--at RFC3339]\n"
         "                      may KIND (e.g. MEDICATION) be shown? exit 0 allowed, 3 denied\n"
         "  consent oral ID --staff S\n"
         "                      record the patient's 口頭同意 (causative drugs only)\n"
         "  fallback evaluate --cause CAUSE [--document DOC ...] [--visit first|revisit]\n"
         "        [--real-days N] [--date YYYY-MM-DD] [--age under70|70to74|kouki]\n"
         "        [--newborn registered|not-registered|unchecked]\n"
         "        [--known past-visits|invalid-result ...] [--no-insurance-now] [--no-oqs]\n"
         "        [--reads-smartphones] [--disaster-mode] [--certificate-expiry YYYY-MM-DD]\n"
         "                      the confirmation methods reception may use when マイナ保険証\n"
         "                      fails (✓ allowed, in order / ✗ blocked, with the reason), the\n"
         "                      first choice and the charge; nothing is stored.\n"
         "                      CAUSE e.g. network-error, ic-unreadable, result-invalid,\n"
         "                      smartphone-not-supported, no-document (omit it for the list);\n"
         "                      DOC card|smartphone|certificate|health-card|notice|none\n"
         "                      (check-in names such as MY_NUMBER_CARD work too);\n"
         "                      --real-days: 実日数 this month before today (default 0);\n"
         "                      --age default under70; --date default today (Japan)\n"
         "  fallback open [--checkin ID] [--cause CAUSE and the evaluate flags]\n"
         "                      open a fallback case (代替確認の記録) for a check-in and/or the\n"
         "                      given inputs (--cause required without --checkin)\n"
         "  fallback revise ID --cause CAUSE [the evaluate flags]\n"
         "                      replace the case's inputs and decide again\n"
         "  fallback get ID     one case: decision, evidence, claim route, tasks\n"
         "  fallback list [--state open|closed] [--day YYYY-MM-DD] [--checkin ID] [--limit N]\n"
         "  fallback evidence ID --kind method-applied|card-face|patient-contacted|\n"
         "        eligibility-found --staff S [--method METHOD] [--eligibility-json FILE]\n"
         "        [--portal-pdf] [--oral-by patient|family|guardian [--held-index N]\n"
         "        [--no-change-confirmed]] [--statement-json FILE] [--amount YEN]\n"
         "        [--card-face-json FILE] [--contacted-on YYYY-MM-DD]\n"
         "                      record evidence; METHOD e.g. portal-screen, insurance-statement,\n"
         "                      full-self-pay; the FILEs hold a KnownEligibility, an\n"
         "                      InsuranceStatement (申立書) and a CardFace in proto JSON, e.g.\n"
         "                      {\"insuranceType\": \"INSURANCE_TYPE_SHAHO\",\n"
         "                       \"birthDate\": {\"era\": \"ERA_SHOWA\", \"year\": 55, ...}, ...}\n"
         "  fallback route ID [--expect ROUTE] [--actual-days N]\n"
         "                      choose the claim route (請求方法); ROUTE current|old-eligibility|\n"
         "                      unknown|confirm-later|self-pay; --actual-days: 実日数 at the claim\n"
         "  fallback close ID --reason finished|cancelled [--keep-personal-data]\n"
         "                      close the case; finished deletes its personal data unless kept\n"
         "  fallback tasks [--case ID] [--state open|done|cancelled] [--due YYYY-MM-DD]\n"
         "        [--limit N]   follow-up tasks, by due day\n"
         "  fallback complete-task TASK_ID --staff S [--outcome done|claim-returned]\n"
         "  fallback proof ID   the case's proof of attempt as JSON (no personal data)\n"
         "options:\n"
         "  --addr HOST:PORT    daemon's gRPC address (default 127.0.0.1:50051; env ONSHID_ADDR)\n"
         "  --token TOKEN       bearer token (env ONSHID_TOKEN)\n"
         "  --tls-ca FILE       CA that signed the daemon's certificate (enables TLS)\n"
         "  --tls-cert FILE --tls-key FILE   client certificate for mTLS\n"
         "  --tls-server-name NAME  expected name in the daemon's certificate\n"
         "  --timeout MS        deadline per call (default 5000)\n"
         "  --request-id ID     x-request-id of the call: run a write again with the same ID (and the\n"
         "                      same arguments) to retry it without doing it twice\n"
         "  --json              print the response as JSON\n";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "onshictl: cannot read " << path << "\n";
    std::exit(2);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<grpc::Channel> MakeChannel(const Options& o) {
  grpc::ChannelArguments args;
  if (o.tls_ca.empty()) {
    return grpc::CreateCustomChannel(o.addr, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(o.tls_ca);
  if (!o.tls_cert.empty()) {
    ssl.pem_cert_chain = ReadFile(o.tls_cert);
    ssl.pem_private_key = ReadFile(o.tls_key);
  }
  if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  return grpc::CreateCustomChannel(o.addr, grpc::SslCredentials(ssl), args);
}

void Prepare(grpc::ClientContext& ctx, const Options& o) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(o.timeout_ms));
  if (!o.token.empty()) ctx.AddMetadata("authorization", "Bearer " + o.token);
  if (!o.request_id.empty()) ctx.AddMetadata("x-request-id", o.request_id);
}

int ReportError(const grpc::Status& s, const grpc::ClientContext& ctx, const Options& o) {
  google::rpc::Status st;
  bool detailed = !s.error_details().empty() && st.ParseFromString(s.error_details());
  if (o.json && detailed) {
    std::string out;
    (void)google::protobuf::util::MessageToJsonString(st, &out);
    std::cout << out << "\n";
  } else {
    std::cerr << "onshictl: " << s.error_message() << " (gRPC code " << s.error_code() << ")\n";
    for (const auto& any : st.details()) {
      google::rpc::ErrorInfo info;
      google::rpc::LocalizedMessage lm;
      if (any.UnpackTo(&info)) std::cerr << "  reason: " << info.reason() << "\n";
      if (any.UnpackTo(&lm)) std::cerr << "  " << lm.locale() << ": " << lm.message() << "\n";
    }
  }
  const auto& md = ctx.GetServerInitialMetadata();
  if (auto it = md.find("x-request-id"); it != md.end()) {
    std::cerr << "  request id: " << std::string(it->second.data(), it->second.size()) << "\n";
  }
  return 1;
}

const char* StateName(onshi::v1::DependencyState s) {
  switch (s) {
    case onshi::v1::DEPENDENCY_STATE_OK: return "OK";
    case onshi::v1::DEPENDENCY_STATE_DEGRADED: return "DEGRADED";
    case onshi::v1::DEPENDENCY_STATE_DOWN: return "DOWN";
    case onshi::v1::DEPENDENCY_STATE_DISABLED: return "DISABLED";
    default: return "UNKNOWN";
  }
}

int Status(const Options& o) {
  auto stub = onshi::v1::SystemService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  onshi::v1::GetStatusResponse resp;
  auto s = stub->GetStatus(&ctx, {}, &resp);
  if (!s.ok()) return ReportError(s, ctx, o);
  if (o.json) {
    std::string out;
    google::protobuf::util::JsonPrintOptions opts;
    opts.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(resp, &out, opts);
    std::cout << out << "\n";
  } else {
    std::cout << "onshid " << resp.version() << " (site " << resp.site_id() << ")\n"
              << "started  " << google::protobuf::util::TimeUtil::ToString(resp.start_time()) << "\n"
              << "uptime   " << resp.uptime().seconds() << " s\n"
              << "schema   " << resp.schema_version() << "\n"
              << "ready    " << (resp.ready() ? "yes" : "NO") << "\n";
    for (const auto& d : resp.dependencies()) {
      std::cout << "  " << d.name() << ": " << StateName(d.state());
      if (!d.reason().empty()) std::cout << " [" << d.reason() << "] " << d.detail();
      std::cout << "\n";
    }
  }
  return resp.ready() ? 0 : 3;
}

int Health(const Options& o) {
  auto stub = grpc::health::v1::Health::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  grpc::health::v1::HealthCheckRequest req;
  if (o.args.size() > 1) req.set_service(o.args[1]);
  grpc::health::v1::HealthCheckResponse resp;
  auto s = stub->Check(&ctx, req, &resp);
  if (!s.ok()) return ReportError(s, ctx, o);
  const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
  if (o.json) {
    std::cout << "{\"service\":\"" << req.service() << "\",\"status\":\"" << name << "\"}\n";
  } else {
    std::cout << (req.service().empty() ? "(overall)" : req.service()) << ": " << name << "\n";
  }
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 3;
}

void PrintJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = false;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  std::cout << out << "\n";
}

void PrintResult(const onshi::v1::EligibilityResult& r) {
  std::cout << "result " << r.result_id() << " (" << (r.source() == onshi::v1::RESULT_SOURCE_FACE ? "face" : "query")
            << ") received " << google::protobuf::util::TimeUtil::ToString(r.received_at()) << "\n"
            << "  validity " << r.validity().code() << " " << r.validity().label() << "\n";
  if (!r.error_message().empty()) std::cout << "  error " << r.error_code() << " " << r.error_message() << "\n";
  for (const auto& q : r.qualifications()) {
    std::cout << "  " << q.name() << " (" << q.name_kana() << ") " << q.birth_date() << "\n"
              << "    insurer " << q.identifiers().insurer_number() << " " << q.insurer_name()
              << "  記号 " << q.identifiers().insured_card_symbol() << "  番号 "
              << q.identifiers().insured_identification_number() << "  枝番 "
              << q.identifiers().insured_branch_number() << "\n";
    if (q.partial_contribution_ratio_wari() > 0) {
      std::cout << "    負担割合 " << q.partial_contribution_ratio_wari() << "割\n";
    }
    if (q.has_unconvertible_chars()) std::cout << "    ● in name/address: confirm with the カナ name\n";
  }
  for (const auto& issue : r.issues()) std::cout << "  issue: " << issue << "\n";
}

int Query(const Options& o) {
  auto stub = onshi::v1::EligibilityService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  onshi::v1::QueryRequest req;
  req.mutable_identifiers()->set_insurer_number(o.insurer);
  req.mutable_identifiers()->set_insured_card_symbol(o.symbol);
  req.mutable_identifiers()->set_insured_identification_number(o.number);
  req.mutable_identifiers()->set_insured_branch_number(o.branch);
  req.set_birth_date(o.birth);
  req.set_confirmation_date(o.date);
  req.set_limit_certificate_consent(o.limit_consent);
  onshi::v1::QueryResponse resp;
  auto s = stub->Query(&ctx, req, &resp);
  if (!s.ok()) return ReportError(s, ctx, o);
  if (o.json) {
    PrintJson(resp);
  } else {
    PrintResult(resp.result());
  }
  return 0;
}

int Result(const Options& o) {
  if (o.args.size() < 2) {
    std::cerr << "onshictl: result needs an id\n";
    return 2;
  }
  auto stub = onshi::v1::EligibilityService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  onshi::v1::GetResultRequest req;
  req.set_result_id(std::atoll(o.args[1].c_str()));
  onshi::v1::EligibilityResult resp;
  auto s = stub->GetResult(&ctx, req, &resp);
  if (!s.ok()) return ReportError(s, ctx, o);
  if (o.json) {
    PrintJson(resp);
  } else {
    PrintResult(resp);
  }
  return 0;
}

void PrintRegistration(const onshi::v1::ReferenceNumberRegistration& r) {
  std::string state = onshi::v1::ReferenceNumberState_Name(r.state());
  const std::string prefix = "REFERENCE_NUMBER_STATE_";
  if (state.rfind(prefix, 0) == 0) state = state.substr(prefix.size());
  std::cout << "registration " << r.registration_id() << " " << state << "\n"
            << "  reference number: " << r.reference_number() << "\n"
            << "  insurer: " << r.identifiers().insurer_number()
            << "  symbol: " << r.identifiers().insured_card_symbol()
            << "  number: " << r.identifiers().insured_identification_number()
            << "  branch: " << r.identifiers().insured_branch_number() << "\n";
  if (!r.error_code().empty()) {
    std::cout << "  terminal: " << r.error_code() << " " << r.error_message() << "\n";
  }
}

int ReferenceNumberCommand(const Options& o) {
  const std::string sub = o.args.size() > 1 ? o.args[1] : "";
  auto stub = onshi::v1::EligibilityService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  if (sub == "register" && o.args.size() == 2) {
    onshi::v1::RegisterReferenceNumberRequest req;
    req.set_reference_number(o.reference);
    req.mutable_identifiers()->set_insurer_number(o.insurer);
    req.mutable_identifiers()->set_insured_card_symbol(o.symbol);
    req.mutable_identifiers()->set_insured_identification_number(o.number);
    req.mutable_identifiers()->set_insured_branch_number(o.branch);
    onshi::v1::ReferenceNumberRegistration resp;
    auto s = stub->RegisterReferenceNumber(&ctx, req, &resp);
    if (!s.ok()) return ReportError(s, ctx, o);
    o.json ? PrintJson(resp) : PrintRegistration(resp);
    return resp.state() == onshi::v1::REFERENCE_NUMBER_STATE_REGISTERED ? 0 : 3;
  }
  if (sub == "get" && o.args.size() == 3) {
    onshi::v1::GetReferenceNumberRegistrationRequest req;
    req.set_registration_id(std::atoll(o.args[2].c_str()));
    onshi::v1::ReferenceNumberRegistration resp;
    auto s = stub->GetReferenceNumberRegistration(&ctx, req, &resp);
    if (!s.ok()) return ReportError(s, ctx, o);
    o.json ? PrintJson(resp) : PrintRegistration(resp);
    return 0;
  }
  if (sub == "list" && o.args.size() == 2) {
    onshi::v1::ListReferenceNumberRegistrationsRequest req;
    req.set_reference_number(o.reference);
    onshi::v1::ListReferenceNumberRegistrationsResponse resp;
    auto s = stub->ListReferenceNumberRegistrations(&ctx, req, &resp);
    if (!s.ok()) return ReportError(s, ctx, o);
    if (o.json) {
      PrintJson(resp);
    } else {
      for (const auto& r : resp.registrations()) PrintRegistration(r);
    }
    return 0;
  }
  std::cerr << "onshictl: usage: refno register --reference REF --insurer N --number N "
               "[--symbol S] [--branch NN] | refno get ID | refno list --reference REF\n";
  return 2;
}

int Events(const Options& o) {
  auto stub = onshi::v1::EventService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  if (!o.token.empty()) ctx.AddMetadata("authorization", "Bearer " + o.token);
  onshi::v1::SubscribeRequest req;
  req.set_after_cursor(o.after);
  auto reader = stub->Subscribe(&ctx, req);
  // Without --follow the stream is closed once it has been quiet for a second (the replay is done).
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  auto last = std::chrono::steady_clock::now();
  std::thread idle;
  if (!o.follow) {
    idle = std::thread([&] {
      std::unique_lock lock(mu);
      while (!done) {
        if (cv.wait_until(lock, last + std::chrono::seconds(1), [&] { return done; })) break;
        if (std::chrono::steady_clock::now() - last >= std::chrono::seconds(1)) {
          ctx.TryCancel();
          break;
        }
      }
    });
  }
  onshi::v1::Event e;
  long long seen = 0;
  while ((o.count < 0 || seen < o.count) && reader->Read(&e)) {
    ++seen;
    {
      std::lock_guard lock(mu);
      last = std::chrono::steady_clock::now();
    }
    if (o.json) {
      PrintJson(e);
    } else {
      std::cout << e.cursor() << " " << google::protobuf::util::TimeUtil::ToString(e.at()) << " "
                << e.type();
      if (e.result_id()) std::cout << " result=" << e.result_id();
      if (!e.request_id().empty()) std::cout << " request=" << e.request_id();
      for (const auto& [k, v] : e.attributes()) std::cout << " " << k << "=" << v;
      if (!e.detail().empty()) std::cout << " (" << e.detail() << ")";
      std::cout << std::endl;
    }
  }
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  if (idle.joinable()) idle.join();
  if (o.count >= 0 && seen >= o.count) {
    ctx.TryCancel();
    reader->Finish();
    return 0;
  }
  auto s = reader->Finish();
  if (!s.ok() && !(s.error_code() == grpc::StatusCode::CANCELLED && !o.follow)) {
    return ReportError(s, ctx, o);
  }
  return 0;
}

const char* ReaderEventName(onshi::v1::ReaderEventKind k) {
  switch (k) {
    case onshi::v1::READER_EVENT_KIND_READER_ADDED: return "reader-added";
    case onshi::v1::READER_EVENT_KIND_READER_REMOVED: return "reader-removed";
    case onshi::v1::READER_EVENT_KIND_CARD_INSERTED: return "card-inserted";
    case onshi::v1::READER_EVENT_KIND_CARD_REMOVED: return "card-removed";
    case onshi::v1::READER_EVENT_KIND_SERVICE_DEGRADED: return "service-degraded";
    case onshi::v1::READER_EVENT_KIND_SERVICE_RECOVERED: return "service-recovered";
    default: return "unknown";
  }
}

int ListReaders(const Options& o) {
  auto stub = onshi::v1::ReaderService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  onshi::v1::ListReadersResponse resp;
  auto s = stub->ListReaders(&ctx, {}, &resp);
  if (!s.ok()) return ReportError(s, ctx, o);
  if (o.json) {
    PrintJson(resp);
    return 0;
  }
  if (resp.readers().empty()) std::cout << "(no readers)\n";
  for (const auto& r : resp.readers()) {
    std::cout << r.name() << "\t" << (r.card_present() ? "card" : "no card");
    if (!r.last_error().empty()) std::cout << "\tlast error: " << r.last_error();
    std::cout << "\n";
  }
  return 0;
}

int WatchReaders(const Options& o) {
  auto stub = onshi::v1::ReaderService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  if (!o.token.empty()) ctx.AddMetadata("authorization", "Bearer " + o.token);
  onshi::v1::WatchReadersRequest req;
  req.set_initial_state(o.initial);
  auto reader = stub->WatchReaders(&ctx, req);
  onshi::v1::ReaderEvent e;
  long long seen = 0;
  while ((o.count < 0 || seen < o.count) && reader->Read(&e)) {
    ++seen;
    if (o.json) {
      PrintJson(e);
    } else {
      std::cout << google::protobuf::util::TimeUtil::ToString(e.at()) << " "
                << ReaderEventName(e.kind());
      if (!e.reader().empty()) std::cout << " \"" << e.reader() << "\"";
      if (!e.reason().empty()) std::cout << " (" << e.reason() << ")";
      if (e.snapshot()) std::cout << " [current]";
      std::cout << std::endl;
    }
  }
  if (o.count >= 0 && seen >= o.count) {
    ctx.TryCancel();
    return 0;
  }
  auto s = reader->Finish();
  if (!s.ok()) return ReportError(s, ctx, o);
  return 0;
}

const char* TokenName(onshi::v1::TokenKind t) {
  switch (t) {
    case onshi::v1::TOKEN_KIND_MY_NUMBER_CARD: return "My Number card";
    case onshi::v1::TOKEN_KIND_JUKI_CARD: return "Juki card";
    case onshi::v1::TOKEN_KIND_SMARTPHONE: return "smartphone";
    default: return "unknown";
  }
}

int CardCommand(const Options& o) {
  if (o.args.size() != 3 || (o.args[1] != "inspect" && o.args[1] != "pin-status")) {
    std::cerr << "onshictl: usage: card inspect READER | card pin-status READER\n";
    return 2;
  }
  auto stub = onshi::v1::ReaderService::NewStub(MakeChannel(o));
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  if (o.args[1] == "pin-status") {
    onshi::v1::GetPinStatusRequest req;
    req.set_reader(o.args[2]);
    onshi::v1::PinStatus resp;
    auto s = stub->GetPinStatus(&ctx, req, &resp);
    if (!s.ok()) return ReportError(s, ctx, o);
    if (o.json) {
      PrintJson(resp);
    } else if (resp.locked()) {
      std::cout << "PIN locked (use 目視確認モード or another method; unlocking needs the municipality)\n";
    } else {
      std::cout << "tries left: " << resp.tries_left() << "\n";
    }
    return 0;
  }
  onshi::v1::InspectCardRequest req;
  req.set_reader(o.args[2]);
  onshi::v1::InspectCardResponse resp;
  auto s = stub->InspectCard(&ctx, req, &resp);
  if (!s.ok()) return ReportError(s, ctx, o);
  if (o.json) {
    PrintJson(resp);
    return 0;
  }
  std::cout << "token: " << TokenName(resp.token()) << "\n";
  if (resp.pin_required_for_certificate()) {
    std::cout << "certificate: needs the PIN first (smartphone)\n";
  }
  if (resp.has_certificate()) {
    const auto& c = resp.certificate();
    using google::protobuf::util::TimeUtil;
    std::string status = onshi::v1::CertificateStatus_Name(c.status());
    const std::string prefix = "CERTIFICATE_STATUS_";
    if (status.rfind(prefix, 0) == 0) status = status.substr(prefix.size());
    std::cout << "certificate: " << status << "\n"
              << "  " << c.status_message_ja() << "\n"
              << "  not before:   " << TimeUtil::ToString(c.not_before()) << "\n"
              << "  not after:    " << TimeUtil::ToString(c.not_after()) << "\n"
              << "  renewal from: " << TimeUtil::ToString(c.renewal_alert_from()) << "\n"
              << "  grace end:    " << TimeUtil::ToString(c.grace_end()) << "\n"
              << "  issuer:       " << c.issuer() << "\n"
              << "  card key:     " << c.card_key() << "\n";
  }
  return 0;
}

// One unary call: deadline and token, errors reported (exit 1), the response printed as JSON
// (--json) or by `print` (exit 0), and kept in `*out` when given.
template <typename Stub, typename Req, typename Resp>
int Unary(const Options& o, Stub& stub,
          grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
          void (*print)(const Resp&), Resp* out = nullptr) {
  grpc::ClientContext ctx;
  Prepare(ctx, o);
  Resp resp;
  auto s = (stub.*rpc)(&ctx, req, &resp);
  if (!s.ok()) return ReportError(s, ctx, o);
  if (o.json) {
    PrintJson(resp);
  } else {
    print(resp);
  }
  if (out) *out = std::move(resp);
  return 0;
}

// The values of `d` without the enum's own prefix, lower-case with '-' ("network-error"), each
// with its full name: what the enum flags accept and what a usage error lists.
std::vector<std::pair<std::string, std::string>> ShortNames(
    const google::protobuf::EnumDescriptor* d) {
  const std::string prefix = onshid::api::EnumValuePrefix(d);
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1; i < d->value_count(); ++i) {
    const std::string& name = d->value(i)->name();
    std::string alias;
    for (char c : name.substr(name.rfind(prefix, 0) == 0 ? prefix.size() : 0)) {
      alias += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.emplace_back(alias, name);
  }
  return out;
}

// The value's name without the enum's prefix ("FALLBACK_METHOD_PORTAL_SCREEN" → "PORTAL_SCREEN").
std::string Short(const google::protobuf::EnumDescriptor* d, int value) {
  const auto* v = d->FindValueByNumber(value);
  if (!v) return std::to_string(value);
  const std::string prefix = onshid::api::EnumValuePrefix(d);
  const std::string& name = v->name();
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// An enum flag's value: the proto value name with or without its prefix (CHANNEL_, DOCUMENT_, …),
// in any case, '-' for '_' ("my-number-card"), or one of `aliases` (short names). Exits with a
// usage error listing the names otherwise.
int EnumFlag(const google::protobuf::EnumDescriptor* d, const std::string& flag,
             const std::string& text,
             const std::vector<std::pair<std::string, std::string>>& aliases = {}) {
  const std::string prefix = onshid::api::EnumValuePrefix(d);
  std::string name;
  for (const auto& [alias, target] : aliases) {
    if (text == alias) name = target;
  }
  if (name.empty()) {
    for (char c : text) {
      name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  if (name.rfind(prefix, 0) != 0) name = prefix + name;
  const auto* value = d->FindValueByName(name);
  if (value && value->number() != 0) return value->number();
  std::cerr << "onshictl: " << flag << " " << text << " is not one of:";
  for (const auto& [alias, target] : aliases) std::cerr << " " << alias;
  for (const auto& [short_name, target] : ShortNames(d)) std::cerr << " " << short_name;
  std::cerr << "\n";
  std::exit(2);
}

// --document: a Document name (with or without DOCUMENT_, '-' for '_') or a short name (card,
// smartphone, certificate, health-card, notice, portal).
onshi::v1::Document DocumentFlag(const std::string& text) {
  namespace v1 = onshi::v1;
  return static_cast<v1::Document>(EnumFlag(v1::Document_descriptor(), "--document", text,
                                            {{"card", "MY_NUMBER_CARD"},
                                             {"smartphone", "MY_NUMBER_SMARTPHONE"},
                                             {"certificate", "QUALIFICATION_CERTIFICATE_CARD"},
                                             {"health-card", "HEALTH_INSURANCE_CARD"},
                                             {"notice", "QUALIFICATION_NOTICE"},
                                             {"portal", "MYNA_PORTAL_SCREEN"}}));
}

// --visit: first or revisit (also "return", or the VisitKind name).
onshi::v1::VisitKind VisitFlag(const std::string& text) {
  namespace v1 = onshi::v1;
  return static_cast<v1::VisitKind>(EnumFlag(v1::VisitKind_descriptor(), "--visit", text,
                                             {{"first", "FIRST_VISIT"}, {"return", "REVISIT"}}));
}

bool YesNo(const std::string& flag, const std::string& text) {
  if (text == "yes") return true;
  if (text == "no") return false;
  std::cerr << "onshictl: " << flag << " needs yes or no\n";
  std::exit(2);
}

std::string Ts(const google::protobuf::Timestamp& t) {
  return google::protobuf::util::TimeUtil::ToString(t);
}

void PrintCheckIn(const onshi::v1::CheckIn& c) {
  namespace v1 = onshi::v1;
  std::cout << "checkin " << c.check_in_id() << "  " << v1::CheckInState_Name(c.state())
            << "  desk " << c.desk_id() << "  " << v1::Channel_Name(c.channel()) << "  " << c.day()
            << "\n";
  std::cout << "  documents:";
  for (int d : c.documents()) std::cout << " " << v1::Document_Name(static_cast<v1::Document>(d));
  std::cout << "\n  path " << c.verification_path() << ", scope " << c.information_scope() << ", "
            << v1::VisitKind_Name(c.visit().kind()) << " (実日数 "
            << c.visit().real_days_this_month() << ")\n";
  if (!c.reason().empty()) std::cout << "  " << c.reason() << ": " << c.message_ja() << "\n";
  if (c.fallback_cause() != v1::FALLBACK_CAUSE_UNSPECIFIED) {
    std::cout << "  fallback: " << Short(v1::FallbackCause_descriptor(), c.fallback_cause()) << "\n";
  }
  if (!c.certificate_status().empty()) {
    std::cout << "  certificate: " << c.certificate_status() << "\n";
  }
  for (const auto& n : c.notices()) {
    std::cout << "  notice " << n.code() << ": " << n.message_ja() << "\n";
  }
  for (const auto& note : c.staff_notes_ja()) std::cout << "  note: " << note << "\n";
  if (c.result_id()) std::cout << "  result " << c.result_id() << "\n";
  for (const auto& r : c.results()) {
    std::cout << "    " << r.link() << " result " << r.result_id() << " at " << Ts(r.at()) << "\n";
  }
  if (!c.correlation().outcome().empty()) {
    std::cout << "  correlation " << c.correlation().outcome();
    for (const auto& r : c.correlation().reasons()) std::cout << " " << r;
    std::cout << "\n";
    for (const auto& cand : c.correlation().candidates()) {
      std::cout << "    candidate " << cand.check_in_id() << (cand.fits() ? " (fits)" : "");
      for (const auto& r : cand.reasons()) std::cout << " " << r;
      std::cout << "\n";
    }
  }
  if (c.timed_out()) std::cout << "  timed out waiting for a result\n";
  if (!c.patient_id().empty()) std::cout << "  patient " << c.patient_id() << "\n";
  if (!c.baseline_check_in_id().empty()) {
    std::cout << "  changes since check-in " << c.baseline_check_in_id() << ":";
    if (c.changes().empty()) std::cout << " none";
    std::cout << "\n";
    for (const auto& ch : c.changes()) {
      std::cout << "    " << ch.field() << ": " << ch.old_value() << " → " << ch.new_value()
                << "\n";
    }
  }
}

void PrintCheckIns(const onshi::v1::ListCheckInsResponse& r) {
  if (r.check_ins().empty()) std::cout << "(no check-ins)\n";
  for (const auto& c : r.check_ins()) {
    std::cout << c.check_in_id() << "\t" << Ts(c.created_at()) << "\t" << c.desk_id() << "\t"
              << onshi::v1::CheckInState_Name(c.state()) << "\t"
              << onshi::v1::Channel_Name(c.channel()) << "\t"
              << (c.patient_id().empty() ? "-" : c.patient_id()) << "\t" << c.reason() << "\n";
  }
}

void PrintConsent(const onshi::v1::ConsentStatus& s) {
  std::cout << "checkin " << s.check_in_id() << "  result " << s.result_id() << "  scope "
            << s.information_scope() << "\n";
  for (const auto& c : s.consents()) {
    std::cout << "  " << onshi::v1::InformationKind_Name(c.kind()) << ": " << c.flag();
    if (c.has_consent_time()) std::cout << " at " << Ts(c.consent_time());
    if (c.has_available_until()) std::cout << " until " << Ts(c.available_until());
    std::cout << "\n";
  }
  for (const auto& oral : s.oral_consents()) {
    std::cout << "  oral consent by " << oral.staff_id() << " at " << Ts(oral.at()) << "\n";
  }
}

void PrintDecision(const onshi::v1::AccessDecision& d) {
  std::cout << (d.allowed() ? "ALLOWED " : "DENIED ") << d.reason() << " (checkin "
            << d.check_in_id() << ")";
  if (d.has_available_until()) std::cout << " until " << Ts(d.available_until());
  std::cout << "\n  " << d.message_ja() << "\n";
}

int CheckInCommand(const Options& o) {
  namespace v1 = onshi::v1;
  const auto& a = o.args;
  const std::string sub = a.size() > 1 ? a[1] : "";
  auto stub = v1::CheckInService::NewStub(MakeChannel(o));
  if (sub == "start" && a.size() == 2) {
    v1::StartCheckInRequest req;
    req.set_desk_id(o.desk);
    if (!o.channel.empty()) {
      req.set_channel(
          static_cast<v1::Channel>(EnumFlag(v1::Channel_descriptor(), "--channel", o.channel,
                                            {{"face", "FACE_READER"},
                                             {"document", "DOCUMENT_QUERY"},
                                             {"reader", "GENERIC_READER"}})));
    }
    for (const auto& d : o.documents) {
      req.add_documents(DocumentFlag(d));
    }
    if (!o.visit.empty()) {
      req.mutable_visit()->set_kind(VisitFlag(o.visit));
    }
    req.mutable_visit()->set_real_days_this_month(o.real_days);
    req.mutable_visit()->set_patient_id(o.patient_id);
    if (!o.holds_my_number.empty()) {
      req.mutable_holdings()->set_my_number_insurance(
          YesNo("--holds-my-number", o.holds_my_number));
    }
    if (!o.holds_certificate.empty()) {
      req.mutable_holdings()->set_qualification_certificate(
          YesNo("--holds-certificate", o.holds_certificate));
    }
    auto* ids = req.mutable_identifiers();
    ids->set_insurer_number(o.insurer);
    ids->set_insured_card_symbol(o.symbol);
    ids->set_insured_identification_number(o.number);
    ids->set_insured_branch_number(o.branch);
    req.set_birth_date(o.birth);
    req.set_limit_certificate_consent(o.limit_consent);
    req.set_reader(o.reader);
    req.set_name_kana(o.kana);
    req.set_reference_number(o.reference);
    return Unary(o, *stub, &v1::CheckInService::Stub::StartCheckIn, req, PrintCheckIn);
  }
  if (sub == "get" && a.size() == 3) {
    v1::GetCheckInRequest req;
    req.set_check_in_id(a[2]);
    return Unary(o, *stub, &v1::CheckInService::Stub::GetCheckIn, req, PrintCheckIn);
  }
  if (sub == "list" && a.size() == 2) {
    v1::ListCheckInsRequest req;
    req.set_day(o.day);
    req.set_desk_id(o.desk);
    if (!o.state.empty()) {
      req.set_state(static_cast<v1::CheckInState>(
          EnumFlag(v1::CheckInState_descriptor(), "--state", o.state)));
    }
    req.set_patient_id(o.patient_id);
    return Unary(o, *stub, &v1::CheckInService::Stub::ListCheckIns, req, PrintCheckIns);
  }
  if (sub == "assign" && a.size() == 4) {
    v1::AssignResultRequest req;
    req.set_check_in_id(a[2]);
    req.set_result_id(std::atoll(a[3].c_str()));
    return Unary(o, *stub, &v1::CheckInService::Stub::AssignResult, req, PrintCheckIn);
  }
  if (sub == "cancel" && a.size() == 3) {
    v1::CancelCheckInRequest req;
    req.set_check_in_id(a[2]);
    req.set_reason(o.reason);
    return Unary(o, *stub, &v1::CheckInService::Stub::CancelCheckIn, req, PrintCheckIn);
  }
  if (sub == "link" && a.size() == 4) {
    v1::LinkPatientRequest req;
    req.set_check_in_id(a[2]);
    req.set_patient_id(a[3]);
    return Unary(o, *stub, &v1::CheckInService::Stub::LinkPatient, req, PrintCheckIn);
  }
  std::cerr << "onshictl: usage: checkin start|get ID|list|assign ID RESULT_ID|cancel ID|"
               "link ID PATIENT_ID (see --help)\n";
  return 2;
}

int ConsentCommand(const Options& o) {
  namespace v1 = onshi::v1;
  const auto& a = o.args;
  const std::string sub = a.size() > 1 ? a[1] : "";
  auto stub = v1::ConsentService::NewStub(MakeChannel(o));
  if (sub == "get" && a.size() == 3) {
    v1::GetConsentRequest req;
    req.set_check_in_id(a[2]);
    return Unary(o, *stub, &v1::ConsentService::Stub::GetConsent, req, PrintConsent);
  }
  if (sub == "check" && a.size() == 2) {
    v1::CheckAccessRequest req;
    req.set_check_in_id(o.checkin);
    req.set_patient_id(o.patient_id);
    if (!o.kind.empty()) {
      req.set_kind(static_cast<v1::InformationKind>(
          EnumFlag(v1::InformationKind_descriptor(), "--kind", o.kind)));
    }
    if (!o.at.empty() && !google::protobuf::util::TimeUtil::FromString(o.at, req.mutable_at())) {
      std::cerr << "onshictl: --at needs an RFC 3339 time, e.g. 2025-04-01T09:30:00+09:00\n";
      return 2;
    }
    v1::AccessDecision decision;
    int rc = Unary(o, *stub, &v1::ConsentService::Stub::CheckAccess, req, PrintDecision, &decision);
    return rc != 0 ? rc : decision.allowed() ? 0 : 3;
  }
  if (sub == "oral" && a.size() == 3) {
    v1::RecordOralConsentRequest req;
    req.set_check_in_id(a[2]);
    req.set_staff_id(o.staff);
    return Unary(o, *stub, &v1::ConsentService::Stub::RecordOralConsent, req, PrintConsent);
  }
  std::cerr << "onshictl: usage: consent get ID | consent check (--checkin ID | --patient-id P) "
               "--kind KIND [--at RFC3339] | consent oral ID --staff S\n";
  return 2;
}

// --document for fallback evaluate: a document (see DocumentFlag); "none" adds nothing.
void AddPresented(const std::string& text, onshi::v1::FallbackCase* c) {
  if (text != "none") c->add_presented(DocumentFlag(text));
}

void PrintFallbackRule(const onshi::v1::FallbackRule& r) {
  std::cout << "      " << r.reason_ja() << "\n";
}

void PrintOptions(const onshi::v1::EvaluateOptionsResponse& r) {
  namespace v1 = onshi::v1;
  const auto& in = r.input();
  const std::string cause = Short(v1::FallbackCause_descriptor(), in.cause());
  std::cout << "代替確認 " << in.date() << "  " << cause << "  "
            << (in.visit() == v1::VISIT_KIND_REVISIT ? "再診" : "初診") << "  実日数 "
            << in.actual_days() << "  (" << r.engine_version() << ")\n";
  std::string first;
  for (const auto& m : r.methods()) {
    if (m.method() == r.first_choice()) first = m.method_name_ja();
    const std::string name = Short(v1::FallbackMethod_descriptor(), m.method());
    std::cout << "  " << (m.allowed() ? "✓ " : "✗ ") << m.method_name_ja() << " (" << name << ")";
    if (m.allowed()) std::cout << " → " << m.leads_to_name_ja();
    std::cout << "  [" << m.rule().id() << "]\n";
    PrintFallbackRule(m.rule());
  }
  std::cout << "first choice: " << first << "\n";
  std::cout << "charge: "
            << (r.charge() == v1::FALLBACK_CHARGE_FULL_SELF_PAY ? "10割" : "通常の負担割合")
            << "  [" << r.charge_rule().id() << "]\n";
  PrintFallbackRule(r.charge_rule());
  for (const auto& note : r.charge_notes()) {
    std::cout << "  note [" << note.id() << "]\n";
    PrintFallbackRule(note);
  }
}

// The fallback case from the evaluate flags (--cause required).
void BuildCase(const Options& o, onshi::v1::FallbackCase* c) {
  namespace v1 = onshi::v1;
  if (o.cause.empty()) {
    std::cerr << "onshictl: --cause is required, one of:";
    for (const auto& [alias, name] :
         ShortNames(v1::FallbackCause_descriptor())) {
      std::cerr << " " << alias;
    }
    std::cerr << "\n";
    std::exit(2);
  }
  c->set_cause(static_cast<v1::FallbackCause>(
      EnumFlag(v1::FallbackCause_descriptor(), "--cause", o.cause)));
  for (const auto& d : o.documents) AddPresented(d, c);
  c->set_visit(v1::VISIT_KIND_FIRST_VISIT);
  if (!o.visit.empty()) {
    c->set_visit(VisitFlag(o.visit));
  }
  c->set_actual_days(o.real_days + 1);  // the days before today, and today
  c->set_date(o.date);
  c->set_age(v1::AGE_BRACKET_UNDER_70);
  if (!o.age.empty()) {
    c->set_age(static_cast<v1::AgeBracket>(
        EnumFlag(v1::AgeBracket_descriptor(), "--age", o.age,
                         {{"under70", "AGE_BRACKET_UNDER_70"},
                          {"70to74", "AGE_BRACKET_70_TO_74"},
                          {"kouki", "AGE_BRACKET_KOUKI"}})));
  }
  if (!o.newborn.empty()) {
    c->set_newborn(static_cast<v1::NewbornStatus>(
        EnumFlag(v1::NewbornStatus_descriptor(), "--newborn", o.newborn,
                         {{"registered", "NEWBORN_STATUS_CARD_REGISTERED"},
                          {"not-registered", "NEWBORN_STATUS_CARD_NOT_REGISTERED"},
                          {"unchecked", "NEWBORN_STATUS_REGISTRATION_UNCHECKED"}})));
  }
  for (const auto& k : o.known) {
    c->add_known_eligibilities()->set_source(static_cast<v1::KnownEligibilitySource>(
        EnumFlag(v1::KnownEligibilitySource_descriptor(), "--known", k)));
  }
  if (o.no_insurance_now) c->set_has_valid_insurance_now(false);
  if (o.no_oqs) c->mutable_facility()->set_oqs_available(false);
  c->mutable_facility()->set_reads_smartphones(o.reads_smartphones);
  c->mutable_facility()->set_emergency_mode_active(o.disaster_mode);
  c->set_certificate_expiry(o.certificate_expiry);
}

// A message from a proto-JSON file (--statement-json etc.); exits 2 when unreadable.
void ReadJsonFile(const std::string& flag, const std::string& path,
                  google::protobuf::Message* out) {
  const std::string text = ReadFile(path);
  auto status = google::protobuf::util::JsonStringToMessage(text, out);
  if (!status.ok()) {
    // Only the first line of protobuf's description: the rest quotes the file (personal data).
    const std::string why(status.message());
    std::cerr << "onshictl: " << flag << " " << path << ": not a " << out->GetTypeName()
              << " in proto JSON: " << why.substr(0, why.find('\n')) << "\n";
    std::exit(2);
  }
}

void PrintTask(const onshi::v1::FallbackTask& t) {
  std::cout << t.task_id() << "\t" << t.case_id() << "\t" << t.kind() << "\t"
            << Short(onshi::v1::FallbackTaskState_descriptor(), t.state())
            << "\t期限 " << t.due_day();
  if (!t.done_by().empty()) std::cout << "\t" << t.done_by();
  std::cout << "\n";
}

void PrintTasks(const onshi::v1::ListTasksResponse& r) {
  if (r.tasks().empty()) std::cout << "(no tasks)\n";
  for (const auto& t : r.tasks()) PrintTask(t);
}

void PrintCase(const onshi::v1::FallbackCaseRecord& c) {
  namespace v1 = onshi::v1;
  const auto& in = c.input();
  std::cout << "代替確認 " << c.case_id() << "  "
            << Short(v1::FallbackCaseState_descriptor(), c.state());
  if (c.close_reason() != v1::FALLBACK_CLOSE_REASON_UNSPECIFIED) {
    std::cout << " ("
              << Short(v1::FallbackCloseReason_descriptor(), c.close_reason())
              << ")";
  }
  std::cout << "  " << c.day() << "  v" << c.version();
  if (!c.check_in_id().empty()) std::cout << "  checkin " << c.check_in_id();
  std::cout << "  opened by " << c.opened_by() << "\n";
  std::cout << "  入力: " << Short(v1::FallbackCause_descriptor(), in.cause())
            << "  " << (in.visit() == v1::VISIT_KIND_REVISIT ? "再診" : "初診") << "  実日数 "
            << in.actual_days() << "  受診日 " << in.date() << "  "
            << Short(v1::AgeBracket_descriptor(), in.age()) << "\n";
  if (!c.unconfirmed_facts().empty()) {
    std::cout << "  未確認の入力:";
    for (const auto& f : c.unconfirmed_facts()) std::cout << " " << f;
    std::cout << "\n";
  }
  if (c.has_decision()) {
    const auto& d = c.decision();
    std::cout << "  判定 (" << d.engine_version() << "): 負担 "
              << (d.charge() == v1::FALLBACK_CHARGE_FULL_SELF_PAY ? "10割" : "通常の負担割合")
              << "\n";
    for (const auto& m : d.methods()) {
      if (!m.allowed()) continue;
      std::cout << "    ✓ " << m.method_name_ja() << " ("
                << Short(v1::FallbackMethod_descriptor(), m.method())
                << ") → " << m.leads_to_name_ja() << "\n";
    }
  }
  if (c.has_decision_error()) {
    std::cout << "  判定なし " << c.decision_error().reason() << ": "
              << c.decision_error().message_ja() << "\n";
  }
  for (const auto& e : c.evidence()) {
    std::cout << "  記録 #" << e.seq() << " "
              << Short(v1::FallbackEvidenceKind_descriptor(), e.kind());
    if (e.method() != v1::FALLBACK_METHOD_UNSPECIFIED) {
      std::cout << " " << Short(v1::FallbackMethod_descriptor(), e.method());
    }
    std::cout << " by " << e.staff_id() << " at " << Ts(e.at());
    if (e.has_amount_collected_yen()) std::cout << "  徴収 " << e.amount_collected_yen() << "円";
    if (!e.contacted_on().empty()) std::cout << "  連絡日 " << e.contacted_on();
    std::cout << "\n";
  }
  if (c.has_claim()) {
    const auto& cl = c.claim();
    std::cout << "  請求: " << cl.route_name_ja() << " ("
              << Short(v1::ClaimRoute_descriptor(), cl.route()) << ")  ["
              << cl.rule().id() << "]\n"
              << "      " << cl.rule().reason_ja() << "\n";
    for (const auto& note : cl.notes()) {
      std::cout << "    note [" << note.id() << "]\n      " << note.reason_ja() << "\n";
    }
  }
  if (!c.tekiyo().empty()) {
    std::cout << "  摘要:\n";
    std::istringstream lines(c.tekiyo());
    for (std::string line; std::getline(lines, line);) std::cout << "    " << line << "\n";
  }
  if (c.reverify() != v1::FALLBACK_REVERIFY_STATE_UNSPECIFIED &&
      c.reverify() != v1::FALLBACK_REVERIFY_STATE_NONE) {
    std::cout << "  再照会: "
              << Short(v1::FallbackReverifyState_descriptor(), c.reverify())
              << " (" << c.reverify_attempts() << "回)\n";
  }
  std::cout << "  個人情報: " << (c.has_personal_data() ? "保持中" : "なし");
  if (c.has_purged_at()) std::cout << " (削除 " << Ts(c.purged_at()) << ")";
  std::cout << "\n";
  for (const auto& t : c.tasks()) {
    std::cout << "  作業 ";
    PrintTask(t);
  }
}

void PrintCases(const onshi::v1::ListCasesResponse& r) {
  namespace v1 = onshi::v1;
  if (r.cases().empty()) std::cout << "(no cases)\n";
  for (const auto& c : r.cases()) {
    std::cout << c.case_id() << "\t" << c.day() << "\t"
              << Short(v1::FallbackCaseState_descriptor(), c.state())
              << "\t"
              << Short(v1::FallbackCause_descriptor(), c.input().cause())
              << "\t" << (c.check_in_id().empty() ? "-" : c.check_in_id()) << "\t"
              << (c.has_claim() ? c.claim().route_name_ja() : "-") << "\n";
  }
}

void PrintProof(const onshi::v1::ExportProofResponse& r) { std::cout << r.proof_json() << "\n"; }

// A required enum flag: exits 2 listing the short names when it is missing.
void Require(const std::string& text, const std::string& what, const std::string& flag,
             const google::protobuf::EnumDescriptor* d) {
  if (!text.empty()) return;
  std::cerr << "onshictl: " << what << " needs " << flag << ", one of:";
  for (const auto& [alias, name] : ShortNames(d)) std::cerr << " " << alias;
  std::cerr << "\n";
  std::exit(2);
}

int FallbackCommand(const Options& o) {
  namespace v1 = onshi::v1;
  using S = v1::FallbackService::Stub;
  const auto& a = o.args;
  const std::string sub = a.size() > 1 ? a[1] : "";
  auto stub = v1::FallbackService::NewStub(MakeChannel(o));
  if (sub == "evaluate" && a.size() == 2) {
    v1::EvaluateOptionsRequest req;
    BuildCase(o, req.mutable_fallback_case());
    return Unary(o, *stub, &S::EvaluateOptions, req, PrintOptions);
  }
  if (sub == "open" && a.size() == 2) {
    if (o.checkin.empty() && o.cause.empty()) {
      std::cerr << "onshictl: fallback open needs --checkin ID, --cause CAUSE, or both\n";
      return 2;
    }
    v1::OpenCaseRequest req;
    req.set_check_in_id(o.checkin);
    if (!o.cause.empty()) BuildCase(o, req.mutable_fallback_case());
    return Unary(o, *stub, &S::OpenCase, req, PrintCase);
  }
  if (sub == "revise" && a.size() == 3) {
    v1::ReviseCaseRequest req;
    req.set_case_id(a[2]);
    BuildCase(o, req.mutable_fallback_case());
    return Unary(o, *stub, &S::ReviseCase, req, PrintCase);
  }
  if (sub == "get" && a.size() == 3) {
    v1::GetCaseRequest req;
    req.set_case_id(a[2]);
    return Unary(o, *stub, &S::GetCase, req, PrintCase);
  }
  if (sub == "list" && a.size() == 2) {
    v1::ListCasesRequest req;
    if (!o.state.empty()) {
      req.set_state(static_cast<v1::FallbackCaseState>(EnumFlag(
          v1::FallbackCaseState_descriptor(), "--state", o.state)));
    }
    req.set_day(o.day);
    req.set_check_in_id(o.checkin);
    req.set_limit(o.limit);
    return Unary(o, *stub, &S::ListCases, req, PrintCases);
  }
  if (sub == "evidence" && a.size() == 3) {
    Require(o.kind, "fallback evidence", "--kind", v1::FallbackEvidenceKind_descriptor());
    v1::RecordEvidenceRequest req;
    req.set_case_id(a[2]);
    auto* e = req.mutable_evidence();
    e->set_kind(static_cast<v1::FallbackEvidenceKind>(EnumFlag(
        v1::FallbackEvidenceKind_descriptor(), "--kind", o.kind)));
    if (!o.method.empty()) {
      e->set_method(static_cast<v1::FallbackMethod>(EnumFlag(
          v1::FallbackMethod_descriptor(), "--method", o.method)));
    }
    e->set_staff_id(o.staff);
    if (!o.eligibility_json.empty()) {
      ReadJsonFile("--eligibility-json", o.eligibility_json, e->mutable_eligibility());
    }
    e->set_portal_pdf(o.portal_pdf);
    if (!o.oral_by.empty()) {
      auto* oral = e->mutable_oral();
      oral->set_answered_by(static_cast<v1::OralAnswerer>(EnumFlag(
          v1::OralAnswerer_descriptor(), "--oral-by", o.oral_by)));
      oral->set_no_change_confirmed(o.no_change);
      oral->set_held_eligibility_index(o.held_index);
    }
    if (!o.statement_json.empty()) {
      ReadJsonFile("--statement-json", o.statement_json, e->mutable_statement());
    }
    if (o.amount >= 0) e->set_amount_collected_yen(o.amount);
    if (!o.card_face_json.empty()) {
      ReadJsonFile("--card-face-json", o.card_face_json, e->mutable_card_face());
    }
    e->set_contacted_on(o.contacted_on);
    return Unary(o, *stub, &S::RecordEvidence, req, PrintCase);
  }
  if (sub == "route" && a.size() == 3) {
    v1::ChooseClaimRouteRequest req;
    req.set_case_id(a[2]);
    if (!o.expect.empty()) {
      req.set_expected_route(static_cast<v1::ClaimRoute>(
          EnumFlag(v1::ClaimRoute_descriptor(), "--expect", o.expect)));
    }
    if (o.actual_days > 0) req.set_actual_days_at_claim(o.actual_days);
    return Unary(o, *stub, &S::ChooseClaimRoute, req, PrintCase);
  }
  if (sub == "close" && a.size() == 3) {
    const std::vector<std::pair<std::string, std::string>> reasons = {
        {"finished", "FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED"},
        {"cancelled", "FALLBACK_CLOSE_REASON_CANCELLED"}};
    if (o.reason.empty()) {
      std::cerr << "onshictl: fallback close needs --reason finished|cancelled\n";
      return 2;
    }
    v1::CloseCaseRequest req;
    req.set_case_id(a[2]);
    req.set_reason(static_cast<v1::FallbackCloseReason>(
        EnumFlag(v1::FallbackCloseReason_descriptor(), "--reason", o.reason, reasons)));
    req.set_keep_personal_data(o.keep_personal_data);
    return Unary(o, *stub, &S::CloseCase, req, PrintCase);
  }
  if (sub == "tasks" && a.size() == 2) {
    v1::ListTasksRequest req;
    req.set_case_id(o.case_id);
    if (!o.state.empty()) {
      req.set_state(static_cast<v1::FallbackTaskState>(EnumFlag(
          v1::FallbackTaskState_descriptor(), "--state", o.state)));
    }
    req.set_due_on_or_before(o.due);
    req.set_limit(o.limit);
    return Unary(o, *stub, &S::ListTasks, req, PrintTasks);
  }
  if (sub == "complete-task" && a.size() == 3) {
    v1::CompleteTaskRequest req;
    req.set_task_id(a[2]);
    if (!o.outcome.empty()) {
      req.set_outcome(static_cast<v1::FallbackTaskOutcome>(
          EnumFlag(v1::FallbackTaskOutcome_descriptor(), "--outcome", o.outcome)));
    }
    req.set_staff_id(o.staff);
    return Unary(o, *stub, &S::CompleteTask, req, PrintTask);
  }
  if (sub == "proof" && a.size() == 3) {
    v1::ExportProofRequest req;
    req.set_case_id(a[2]);
    return Unary(o, *stub, &S::ExportProof, req, PrintProof);
  }
  std::cerr << "onshictl: usage: fallback evaluate|open|revise ID|get ID|list|evidence ID|"
               "route ID|close ID|tasks|complete-task TASK_ID|proof ID (see --help)\n";
  return 2;
}

int PrintTokenHash(const Options& o) {
  std::string token;
  if (o.args.size() > 1) {
    token = o.args[1];
  } else {
    std::getline(std::cin, token);
  }
  if (token.empty()) {
    std::cerr << "onshictl: empty token\n";
    return 2;
  }
  std::cout << onshid::app::HashToken(token);
  std::cout << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const char* a = std::getenv("ONSHID_ADDR")) o.addr = a;
  if (const char* t = std::getenv("ONSHID_TOKEN")) o.token = t;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::cerr << "onshictl: " << a << " needs a value\n";
        std::exit(2);
      }
      out = argv[++i];
    };
    if (a == "--addr") value(o.addr);
    else if (a == "--token") value(o.token);
    else if (a == "--tls-ca") value(o.tls_ca);
    else if (a == "--request-id") value(o.request_id);
    else if (a == "--tls-cert") value(o.tls_cert);
    else if (a == "--tls-key") value(o.tls_key);
    else if (a == "--tls-server-name") value(o.tls_server_name);
    else if (a == "--json") o.json = true;
    else if (a == "--insurer") value(o.insurer);
    else if (a == "--symbol") value(o.symbol);
    else if (a == "--number") value(o.number);
    else if (a == "--branch") value(o.branch);
    else if (a == "--birth" || a == "--birth-date") value(o.birth);
    else if (a == "--date") value(o.date);
    else if (a == "--limit-consent") o.limit_consent = true;
    else if (a == "--follow") o.follow = true;
    else if (a == "--initial") o.initial = true;
    else if (a == "--desk") value(o.desk);
    else if (a == "--channel") value(o.channel);
    else if (a == "--document") value(o.documents.emplace_back());
    else if (a == "--visit") value(o.visit);
    else if (a == "--patient-id") value(o.patient_id);
    else if (a == "--holds-my-number") value(o.holds_my_number);
    else if (a == "--holds-certificate") value(o.holds_certificate);
    else if (a == "--reader") value(o.reader);
    else if (a == "--kana") value(o.kana);
    else if (a == "--reference") value(o.reference);
    else if (a == "--day") value(o.day);
    else if (a == "--state") value(o.state);
    else if (a == "--reason") value(o.reason);
    else if (a == "--staff") value(o.staff);
    else if (a == "--checkin") value(o.checkin);
    else if (a == "--kind") value(o.kind);
    else if (a == "--at") value(o.at);
    else if (a == "--cause") value(o.cause);
    else if (a == "--age") value(o.age);
    else if (a == "--newborn") value(o.newborn);
    else if (a == "--known") value(o.known.emplace_back());
    else if (a == "--certificate-expiry") value(o.certificate_expiry);
    else if (a == "--no-insurance-now") o.no_insurance_now = true;
    else if (a == "--no-oqs") o.no_oqs = true;
    else if (a == "--reads-smartphones") o.reads_smartphones = true;
    else if (a == "--disaster-mode") o.disaster_mode = true;
    else if (a == "--method") value(o.method);
    else if (a == "--expect") value(o.expect);
    else if (a == "--outcome") value(o.outcome);
    else if (a == "--due") value(o.due);
    else if (a == "--case") value(o.case_id);
    else if (a == "--contacted-on") value(o.contacted_on);
    else if (a == "--oral-by") value(o.oral_by);
    else if (a == "--eligibility-json") value(o.eligibility_json);
    else if (a == "--statement-json") value(o.statement_json);
    else if (a == "--card-face-json") value(o.card_face_json);
    else if (a == "--portal-pdf") o.portal_pdf = true;
    else if (a == "--no-change-confirmed") o.no_change = true;
    else if (a == "--keep-personal-data") o.keep_personal_data = true;
    else if (a == "--limit" || a == "--actual-days" || a == "--held-index" || a == "--amount") {
      std::string v;
      value(v);
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0 || n > 100000000) {
        std::cerr << "onshictl: " << a << " needs a number\n";
        return 2;
      }
      int& field = a == "--limit"         ? o.limit
                   : a == "--actual-days" ? o.actual_days
                   : a == "--held-index"  ? o.held_index
                                          : o.amount;
      field = static_cast<int>(n);
    }
    else if (a == "--real-days") {
      std::string v;
      value(v);
      o.real_days = std::atoi(v.c_str());
    }
    else if (a == "--after") {
      std::string v;
      value(v);
      o.after = std::atoll(v.c_str());
    } else if (a == "--count") {
      std::string v;
      value(v);
      o.count = std::atoll(v.c_str());
    }
    else if (a == "--timeout") {
      std::string v;
      value(v);
      o.timeout_ms = std::atoi(v.c_str());
    } else if (a == "--version") {
      std::cout << "onshictl " << onshid::kVersion << "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      Usage(std::cout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "onshictl: unknown option " << a << "\n";
      Usage(std::cerr);
      return 2;
    } else {
      o.args.push_back(a);
    }
  }
  if (o.args.empty()) {
    Usage(std::cerr);
    return 2;
  }
  const std::string& cmd = o.args[0];
  if (cmd == "status") return Status(o);
  if (cmd == "health") return Health(o);
  if (cmd == "hash-token") return PrintTokenHash(o);
  if (cmd == "query") return Query(o);
  if (cmd == "result") return Result(o);
  if (cmd == "refno") return ReferenceNumberCommand(o);
  if (cmd == "events") return Events(o);
  if (cmd == "readers") {
    if (o.args.size() == 1) return ListReaders(o);
    if (o.args.size() == 2 && o.args[1] == "watch") return WatchReaders(o);
    std::cerr << "onshictl: usage: readers | readers watch [--initial] [--count N]\n";
    return 2;
  }
  if (cmd == "card") return CardCommand(o);
  if (cmd == "checkin") return CheckInCommand(o);
  if (cmd == "consent") return ConsentCommand(o);
  if (cmd == "fallback") return FallbackCommand(o);
  std::cerr << "onshictl: unknown command " << cmd << "\n";
  Usage(std::cerr);
  return 2;
}
