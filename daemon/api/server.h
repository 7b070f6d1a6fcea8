#pragma once
// The daemon's network face: the gRPC server (callback API, grpc.health.v1, reflection), the REST
// gateway, and the health/metrics HTTP port.

#include <memory>
#include <optional>

#include <grpcpp/grpcpp.h>

#include "api/call.h"
#include "api/http_server.h"

namespace onshid::api {

class SystemServiceImpl;
class EligibilityServiceImpl;
class EventServiceImpl;
class ReaderServiceImpl;
class CheckInServiceImpl;
class ConsentServiceImpl;
class FallbackServiceImpl;
class RestGateway;

class ApiServer {
 public:
  explicit ApiServer(ApiDeps deps);
  ~ApiServer();

  // Binds and starts all listeners. Errors name the config key whose address or file failed
  // (grpc.listen, rest.listen, health.listen, tls.*) or the method whose annotation cannot be served.
  core::Status Start();

  // Updates grpc.health.v1 statuses from the status board ("" = overall readiness; each service
  // SERVING while the daemon can answer it).
  void RefreshHealth();

  // Stops accepting at once; in-flight calls may finish within `grace`; then everything is closed.
  void Shutdown(std::chrono::milliseconds grace);

  int grpc_port() const { return grpc_port_; }
  int rest_port() const;
  int health_port() const;

 private:
  HttpResponse HandleHealth(const HttpRequest& request) const;

  ApiDeps deps_;
  std::unique_ptr<SystemServiceImpl> system_service_;
  std::unique_ptr<EligibilityServiceImpl> eligibility_service_;
  std::unique_ptr<EventServiceImpl> event_service_;
  std::unique_ptr<ReaderServiceImpl> reader_service_;
  std::unique_ptr<CheckInServiceImpl> checkin_service_;
  std::unique_ptr<ConsentServiceImpl> consent_service_;
  std::unique_ptr<FallbackServiceImpl> fallback_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int grpc_port_ = 0;
  std::unique_ptr<RestGateway> gateway_;
  std::unique_ptr<HttpServer> rest_http_;
  std::unique_ptr<HttpServer> health_http_;
};

// The services served over gRPC and REST (their descriptors drive routes and policies).
std::vector<const google::protobuf::ServiceDescriptor*> PublicServices();

}  // namespace onshid::api
