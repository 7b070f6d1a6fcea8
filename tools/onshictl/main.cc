// onshictl: command-line client for onshid over gRPC.
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
#include "onshi/v1/eligibility.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/readers.grpc.pb.h"
#include "onshi/v1/system.grpc.pb.h"
#include "app/token_hash.h"
#include "onshid/version.h"

namespace {

struct Options {
  std::string addr = "127.0.0.1:50051";
  std::string token;
  std::string tls_ca, tls_cert, tls_key, tls_server_name;
  bool json = false;
  int timeout_ms = 5000;
  // query
  std::string insurer, symbol, number, branch, birth, date;
  bool limit_consent = false;
  // events
  long long after = 0;
  long long count = -1;  // stop after this many events (-1: until interrupted)
  bool follow = false;    // events: keep streaming after the replay
  // readers watch
  bool initial = false;
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
         "  events [--after CURSOR] [--follow] [--count N]\n"
         "                      events after CURSOR; with --follow keep streaming new ones\n"
         "  readers             the generic card readers (name, card present, last error)\n"
         "  readers watch [--initial] [--count N]\n"
         "                      follow reader/card events (--initial: current readers first)\n"
         "  card inspect READER token kind, certificate status and card key of the card on READER\n"
         "  card pin-status READER\n"
         "                      remaining tries of the card's PIN (no PIN is sent)\n"
         "                      READER: a name from `onshictl readers` (quote it: it has spaces)\n"
         "options:\n"
         "  --addr HOST:PORT    daemon's gRPC address (default 127.0.0.1:50051; env ONSHID_ADDR)\n"
         "  --token TOKEN       bearer token (env ONSHID_TOKEN)\n"
         "  --tls-ca FILE       CA that signed the daemon's certificate (enables TLS)\n"
         "  --tls-cert FILE --tls-key FILE   client certificate for mTLS\n"
         "  --tls-server-name NAME  expected name in the daemon's certificate\n"
         "  --timeout MS        deadline per call (default 5000)\n"
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
    else if (a == "--tls-cert") value(o.tls_cert);
    else if (a == "--tls-key") value(o.tls_key);
    else if (a == "--tls-server-name") value(o.tls_server_name);
    else if (a == "--json") o.json = true;
    else if (a == "--insurer") value(o.insurer);
    else if (a == "--symbol") value(o.symbol);
    else if (a == "--number") value(o.number);
    else if (a == "--branch") value(o.branch);
    else if (a == "--birth") value(o.birth);
    else if (a == "--date") value(o.date);
    else if (a == "--limit-consent") o.limit_consent = true;
    else if (a == "--follow") o.follow = true;
    else if (a == "--initial") o.initial = true;
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
  if (cmd == "events") return Events(o);
  if (cmd == "readers") {
    if (o.args.size() == 1) return ListReaders(o);
    if (o.args.size() == 2 && o.args[1] == "watch") return WatchReaders(o);
    std::cerr << "onshictl: usage: readers | readers watch [--initial] [--count N]\n";
    return 2;
  }
  if (cmd == "card") return CardCommand(o);
  std::cerr << "onshictl: unknown command " << cmd << "\n";
  Usage(std::cerr);
  return 2;
}
