#include "api/rest_gateway.h"

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/support/byte_buffer.h>

#include "api/status_mapping.h"
#include "google/rpc/error_details.pb.h"

namespace onshid::api {
namespace {

HttpResponse FromStatus(const grpc::Status& status, const std::string& request_id) {
  HttpResponse r;
  r.status = HttpStatus(status.error_code());
  r.body = RpcStatusJson(ToRpcStatus(status));
  if (!request_id.empty()) r.headers.emplace_back("x-request-id", request_id);
  return r;
}

grpc::StatusCode CodeForHttp(int http_status) {
  switch (http_status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 405: return grpc::StatusCode::UNIMPLEMENTED;
    case 408: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case 413: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    case 504: return grpc::StatusCode::DEADLINE_EXCEEDED;
    default: return grpc::StatusCode::UNKNOWN;
  }
}

// State of one gateway call, alive until the gRPC callback has run.
struct PendingCall {
  grpc::ClientContext ctx;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  const google::protobuf::MethodDescriptor* method = nullptr;
  Responder respond;
};

}  // namespace

RestGateway::RestGateway(std::shared_ptr<grpc::Channel> channel, RestRouteTable routes,
                         std::chrono::milliseconds timeout, std::string gateway_secret)
    : stub_(std::move(channel)),
      routes_(std::move(routes)),
      timeout_(timeout),
      gateway_secret_(std::move(gateway_secret)) {}

HttpResponse RestGateway::ErrorResponse(int http_status, std::string_view reason,
                                        std::string_view message) {
  google::rpc::Status st;
  st.set_code(static_cast<int>(CodeForHttp(http_status)));
  st.set_message(std::string(message));
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain("onshid.jp");
  st.add_details()->PackFrom(info);
  HttpResponse r;
  r.status = http_status;
  r.body = RpcStatusJson(st);
  return r;
}

void RestGateway::Handle(HttpRequest request, Responder respond) {
  std::string request_id = request.Header("x-request-id");
  auto matched = routes_.Match(request.method, request.path);
  if (auto* err = std::get_if<RestRouteTable::MatchError>(&matched)) {
    HttpResponse r = *err == RestRouteTable::MatchError::kNotFound
                         ? ErrorResponse(404, "ROUTE_NOT_FOUND",
                                         "no API route for " + request.method + " " + request.path)
                         : ErrorResponse(405, "METHOD_NOT_ALLOWED",
                                         request.method + " is not allowed on " + request.path);
    respond(std::move(r));
    return;
  }
  const RouteMatch& match = std::get<RouteMatch>(matched);

  const auto* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(
      match.route->method->input_type());
  std::unique_ptr<google::protobuf::Message> input(prototype->New());
  if (auto built = BuildRequestMessage(match, request.query, request.body, input.get()); !built) {
    respond(FromStatus(ToGrpcStatus(built.error()), request_id));
    return;
  }

  auto call = std::make_shared<PendingCall>();
  call->method = match.route->method;
  call->respond = std::move(respond);
  call->ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
  call->ctx.AddMetadata("x-onshid-gateway", gateway_secret_);
  if (std::string auth = request.Header("authorization"); !auth.empty()) {
    call->ctx.AddMetadata("authorization", auth);
  }
  if (!request_id.empty()) call->ctx.AddMetadata("x-request-id", request_id);
  std::string bytes = input->SerializeAsString();
  grpc::Slice slice(bytes);
  call->request = grpc::ByteBuffer(&slice, 1);

  stub_.UnaryCall(&call->ctx, match.route->grpc_path, grpc::StubOptions(), &call->request,
                  &call->response, [call](grpc::Status status) {
                    std::string rid;
                    const auto& md = call->ctx.GetServerInitialMetadata();
                    if (auto it = md.find("x-request-id"); it != md.end()) {
                      rid.assign(it->second.data(), it->second.size());
                    }
                    if (!status.ok()) {
                      call->respond(FromStatus(status, rid));
                      return;
                    }
                    const auto* proto = google::protobuf::MessageFactory::generated_factory()
                                            ->GetPrototype(call->method->output_type());
                    std::unique_ptr<google::protobuf::Message> out(proto->New());
                    std::vector<grpc::Slice> slices;
                    std::string raw;
                    if (call->response.Dump(&slices).ok()) {
                      for (const auto& s : slices) raw.append(reinterpret_cast<const char*>(s.begin()), s.size());
                    }
                    HttpResponse r;
                    google::protobuf::util::JsonPrintOptions opts;
                    opts.always_print_primitive_fields = true;
                    if (!out->ParseFromString(raw) ||
                        !google::protobuf::util::MessageToJsonString(*out, &r.body, opts).ok()) {
                      call->respond(FromStatus(grpc::Status(grpc::StatusCode::INTERNAL,
                                                            "response could not be encoded as JSON"),
                                               rid));
                      return;
                    }
                    if (!rid.empty()) r.headers.emplace_back("x-request-id", rid);
                    call->respond(std::move(r));
                  });
}

}  // namespace onshid::api
