#include "api/server.h"

#include <fstream>
#include <stdexcept>
#include <sstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <nlohmann/json.hpp>

#include "api/checkin_service.h"
#include "api/consent_service.h"
#include "api/eligibility_service.h"
#include "api/event_service.h"
#include "api/fallback_service.h"
#include "api/reader_service.h"
#include "api/rest_gateway.h"
#include "api/system_service.h"
#include "app/logging.h"
#include "core/dependency.h"

namespace onshid::api {
namespace {

core::Result<std::string> ReadPem(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  if (in) ss << in.rdbuf();
  if (!in || ss.str().empty()) {
    core::DomainError e;
    e.kind = core::ErrorKind::kFailedPrecondition;
    e.reason = "TLS_FILE_UNREADABLE";
    e.message = key + ": cannot read " + path;
    e.message_ja = "TLS証明書ファイルを読み込めません。設定を確認してください。";
    return e;
  }
  return ss.str();
}

core::DomainError ListenError(const std::string& key, const std::string& address) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "LISTEN_FAILED";
  e.message = key + ": cannot listen on " + address + " (address in use or not available?)";
  e.message_ja = "通信ポートを開けません。設定または他のソフトウェアとの競合を確認してください。";
  return e;
}

}  // namespace

std::vector<const google::protobuf::ServiceDescriptor*> PublicServices() {
  // Linking the generated code registers these in the generated pool.
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  std::vector<const google::protobuf::ServiceDescriptor*> out;
  for (const char* name :
       {onshi::v1::SystemService::service_full_name(), onshi::v1::EligibilityService::service_full_name(),
        onshi::v1::EventService::service_full_name(), onshi::v1::ReaderService::service_full_name(),
        onshi::v1::CheckInService::service_full_name(), onshi::v1::ConsentService::service_full_name(),
        onshi::v1::FallbackService::service_full_name()}) {
    const auto* service = pool->FindServiceByName(name);
    if (!service) throw std::logic_error(std::string("service not linked: ") + name);
    out.push_back(service);
  }
  return out;
}

ApiServer::ApiServer(ApiDeps deps) : deps_(deps) {}

ApiServer::~ApiServer() { Shutdown(std::chrono::milliseconds(0)); }

core::Status ApiServer::Start() {
  const app::Config& cfg = *deps_.config;
  auto log = app::Logger("api");

  // Fails start-up on any annotation the gateway cannot serve, before anything listens.
  auto routes = RestRouteTable::Build(PublicServices());
  if (!routes) return routes.error();

  system_service_ = std::make_unique<SystemServiceImpl>(deps_);
  eligibility_service_ = std::make_unique<EligibilityServiceImpl>(deps_);
  event_service_ = std::make_unique<EventServiceImpl>(deps_);
  reader_service_ = std::make_unique<ReaderServiceImpl>(deps_);
  checkin_service_ = std::make_unique<CheckInServiceImpl>(deps_);
  consent_service_ = std::make_unique<ConsentServiceImpl>(deps_);
  fallback_service_ = std::make_unique<FallbackServiceImpl>(deps_);

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  std::optional<TlsFiles> http_tls;
  if (cfg.tls.enabled()) {
    auto cert = ReadPem("tls.cert_file", cfg.tls.cert_file);
    if (!cert) return cert.error();
    auto key = ReadPem("tls.key_file", cfg.tls.key_file);
    if (!key) return key.error();
    grpc::SslServerCredentialsOptions opts;
    opts.pem_key_cert_pairs.push_back({key.value(), cert.value()});
    if (!cfg.tls.client_ca_file.empty()) {
      auto ca = ReadPem("tls.client_ca_file", cfg.tls.client_ca_file);
      if (!ca) return ca.error();
      opts.pem_root_certs = ca.value();
      opts.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(opts);
    http_tls = TlsFiles{cfg.tls.cert_file, cfg.tls.key_file, cfg.tls.client_ca_file};
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(cfg.grpc.listen, creds, &grpc_port_);
  builder.RegisterService(system_service_.get());
  builder.RegisterService(eligibility_service_.get());
  builder.RegisterService(event_service_.get());
  builder.RegisterService(reader_service_.get());
  builder.RegisterService(checkin_service_.get());
  builder.RegisterService(consent_service_.get());
  builder.RegisterService(fallback_service_.get());
  grpc_server_ = builder.BuildAndStart();
  if (!grpc_server_ || grpc_port_ == 0) {
    grpc_server_.reset();
    return ListenError("grpc.listen", cfg.grpc.listen);
  }
  RefreshHealth();
  log->info("gRPC listening on port {} ({})", grpc_port_, cfg.tls.enabled() ? "TLS" : "plaintext");

  if (cfg.rest.enabled) {
    grpc::ChannelArguments args;
    gateway_ = std::make_unique<RestGateway>(grpc_server_->InProcessChannel(args),
                                             std::move(routes).value(),
                                             std::chrono::milliseconds(cfg.rest.request_timeout_ms),
                                             deps_.gateway_secret);
    HttpLimits limits;
    limits.max_body_bytes = static_cast<std::size_t>(cfg.rest.max_body_bytes);
    limits.request_timeout = std::chrono::milliseconds(cfg.rest.request_timeout_ms);
    limits.max_connections = cfg.rest.max_connections;
    rest_http_ = std::make_unique<HttpServer>(
        "rest", cfg.rest.listen, limits, http_tls,
        [gw = gateway_.get()](HttpRequest req, Responder respond) {
          gw->Handle(std::move(req), std::move(respond));
        },
        &RestGateway::ErrorResponse, cfg.rest.io_threads);
    if (auto s = rest_http_->Start(); !s) return s.error();
    log->info("REST listening on port {}", rest_http_->port());
  }

  HttpLimits health_limits;
  health_limits.max_body_bytes = 4096;
  health_limits.request_timeout = std::chrono::milliseconds(5000);
  health_limits.max_connections = 16;
  health_http_ = std::make_unique<HttpServer>(
      "health", cfg.health.listen, health_limits, std::nullopt,
      [this](HttpRequest req, Responder respond) { respond(HandleHealth(req)); },
      &RestGateway::ErrorResponse, 1);
  if (auto s = health_http_->Start(); !s) return s.error();
  log->info("health and metrics listening on port {}", health_http_->port());
  return core::OkStatus();
}

void ApiServer::RefreshHealth() {
  if (!grpc_server_) return;
  auto* health = grpc_server_->GetHealthCheckService();
  if (!health) return;
  health->SetServingStatus("", deps_.board->Ready());
  // The system service answers even when dependencies are down: that is its purpose.
  health->SetServingStatus(onshi::v1::SystemService::service_full_name(), true);
  // Results and events are served from the database.
  const bool db_ok = [&] {
    for (const auto& d : deps_.board->Snapshot()) {
      if (d.name == "database") return d.state == core::DependencyState::kOk;
    }
    return false;
  }();
  health->SetServingStatus(onshi::v1::EventService::service_full_name(), db_ok);
  health->SetServingStatus(onshi::v1::EligibilityService::service_full_name(),
                           db_ok && deps_.eligibility != nullptr);
  health->SetServingStatus(onshi::v1::ReaderService::service_full_name(), deps_.readers != nullptr);
  // Check-ins and consent are served from the database.
  health->SetServingStatus(onshi::v1::CheckInService::service_full_name(),
                           db_ok && deps_.checkins != nullptr);
  health->SetServingStatus(onshi::v1::ConsentService::service_full_name(),
                           db_ok && deps_.checkins != nullptr);
  // Fallback evaluation is pure: it needs nothing but the process.
  health->SetServingStatus(onshi::v1::FallbackService::service_full_name(), true);
}

HttpResponse ApiServer::HandleHealth(const HttpRequest& request) const {
  HttpResponse r;
  if (request.method != "GET") {
    return RestGateway::ErrorResponse(405, "METHOD_NOT_ALLOWED", "only GET is served here");
  }
  if (request.path == "/healthz") {
    r.body = R"({"status":"alive"})";
  } else if (request.path == "/readyz") {
    nlohmann::json j;
    bool ready = deps_.board->Ready();
    j["ready"] = ready;
    j["dependencies"] = nlohmann::json::array();
    for (const auto& d : deps_.board->Snapshot()) {
      nlohmann::json dj{{"name", d.name}, {"state", core::ToString(d.state)}};
      if (!d.reason.empty()) dj["reason"] = d.reason;
      if (!d.detail.empty()) dj["detail"] = d.detail;
      if (!d.detail_ja.empty()) dj["detail_ja"] = d.detail_ja;
      dj["required"] = d.required_for_ready;
      j["dependencies"].push_back(dj);
    }
    r.status = ready ? 200 : 503;
    r.body = j.dump();
  } else if (request.path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = deps_.metrics->Render();
  } else {
    return RestGateway::ErrorResponse(404, "ROUTE_NOT_FOUND", "try /healthz, /readyz or /metrics");
  }
  return r;
}

void ApiServer::Shutdown(std::chrono::milliseconds grace) {
  // Stop accepting everywhere first, then let in-flight work finish within the same bound.
  auto deadline = std::chrono::system_clock::now() + grace;
  if (rest_http_) rest_http_->Stop(grace);
  if (grpc_server_) {
    if (auto* health = grpc_server_->GetHealthCheckService()) health->Shutdown();
    grpc_server_->Shutdown(deadline);
    grpc_server_->Wait();
    grpc_server_.reset();
  }
  if (health_http_) health_http_->Stop(std::chrono::milliseconds(0));
  rest_http_.reset();
  health_http_.reset();
  gateway_.reset();
}

int ApiServer::rest_port() const { return rest_http_ ? rest_http_->port() : 0; }
int ApiServer::health_port() const { return health_http_ ? health_http_->port() : 0; }

}  // namespace onshid::api
