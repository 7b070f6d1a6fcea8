#pragma once
// The REST gateway: HTTP+JSON in front of the same gRPC services.
//
// Routes come from the google.api.http annotations (RestRouteTable). Each request becomes a protobuf
// request message (JSON via protobuf's JSON utilities, unknown fields rejected) and is sent through
// an in-process gRPC channel to the very same handlers that serve gRPC clients, so authentication,
// scopes, deadlines, auditing and errors are identical. Errors are google.rpc.Status JSON with the
// HTTP status from status_mapping.cc.
//
// Server-streaming methods are served as Server-Sent Events (text/event-stream):
//   - the call has no deadline: it lasts until the server ends it or the client leaves (the HTTP
//     client going away cancels the gRPC call);
//   - the HTTP status and headers are sent with the server's first message, or 100 ms after its
//     initial metadata, or when half of `timeout` has passed without either (whichever comes
//     first), so an error the server returns at once (unauthenticated, forbidden, invalid
//     argument...), even along with initial metadata, is an ordinary JSON error response with its
//     HTTP status. A streaming service should send its initial metadata as soon as it has
//     accepted the call, so that clients see the stream open promptly;
//   - each message is one event `id: <id>\ndata: <message as one line of JSON>\n\n`, where <id> is
//     the message's int64 `cursor` field when its type has one, else 1, 2, 3...;
//   - an error status after the headers is a final `event: error\ndata: <google.rpc.Status JSON>`
//     event; then (as after an OK status) the response ends;
//   - while idle, a `: keep-alive` comment is sent every `sse_keep_alive`.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "api/http_server.h"
#include "api/rest_routes.h"

namespace onshid::api {

class RestGateway {
 public:
  // `channel` is the server's in-process channel; `timeout` bounds each unary call (the gRPC
  // deadline); `sse_keep_alive` > 0 is the idle interval between keep-alive comments on event
  // streams (0: none).
  RestGateway(std::shared_ptr<grpc::Channel> channel, RestRouteTable routes,
              std::chrono::milliseconds timeout, std::string gateway_secret,
              std::chrono::milliseconds sse_keep_alive = std::chrono::seconds(15));

  // Cancels the calls still in flight and waits (up to kDrainLimit) until gRPC has let go of
  // each of them, so that no gateway call outlives its channel and the gRPC library.
  ~RestGateway();
  RestGateway(const RestGateway&) = delete;
  RestGateway& operator=(const RestGateway&) = delete;

  // HttpServer handler. Never blocks.
  void Handle(HttpRequest request, Responder respond);

  // The largest event stream backlog (bytes not yet sent to a slow client) before the stream is
  // closed.
  static constexpr std::size_t kMaxSseBacklogBytes = 1 << 20;
  static constexpr std::chrono::seconds kDrainLimit{5};

  // Calls between Handle() and the end of their last gRPC reaction; shared with each call.
  class InFlight;

  // Error bodies for errors the HTTP server produces itself (413, 408, 503...).
  static HttpResponse ErrorResponse(int http_status, std::string_view reason,
                                    std::string_view message);

 private:
  grpc::GenericStub stub_;
  RestRouteTable routes_;
  std::chrono::milliseconds timeout_;
  std::string gateway_secret_;
  std::chrono::milliseconds sse_keep_alive_;
  std::shared_ptr<InFlight> in_flight_;
};

}  // namespace onshid::api
