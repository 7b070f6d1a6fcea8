#pragma once
// The REST gateway: HTTP+JSON in front of the same gRPC services.
//
// Routes come from the google.api.http annotations (RestRouteTable). Each request becomes a protobuf
// request message (JSON via protobuf's JSON utilities, unknown fields rejected) and is sent through
// an in-process gRPC channel to the very same handlers that serve gRPC clients, so authentication,
// scopes, deadlines, auditing and errors are identical. Errors are google.rpc.Status JSON with the
// HTTP status from status_mapping.cc.

#include <memory>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "api/http_server.h"
#include "api/rest_routes.h"

namespace onshid::api {

class RestGateway {
 public:
  // `channel` is the server's in-process channel; `timeout` bounds each call (the gRPC deadline).
  RestGateway(std::shared_ptr<grpc::Channel> channel, RestRouteTable routes,
              std::chrono::milliseconds timeout, std::string gateway_secret);

  // HttpServer handler. Never blocks.
  void Handle(HttpRequest request, Responder respond);

  // Error bodies for errors the HTTP server produces itself (413, 408, 503...).
  static HttpResponse ErrorResponse(int http_status, std::string_view reason,
                                    std::string_view message);

 private:
  grpc::GenericStub stub_;
  RestRouteTable routes_;
  std::chrono::milliseconds timeout_;
  std::string gateway_secret_;
};

}  // namespace onshid::api
