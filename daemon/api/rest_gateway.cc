#include "api/rest_gateway.h"

#include "api/request_id.h"

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/alarm.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>

#include "api/status_mapping.h"
#include "google/rpc/error_details.pb.h"

namespace onshid::api {

// A count of live calls with a way to cancel each; a call registers while it is being started
// and its Ticket (destroyed with the call, after gRPC's last reaction on it) unregisters it.
class RestGateway::InFlight {
 public:
  using Entry = std::list<std::function<void()>>::iterator;

  class Ticket {
   public:
    Ticket(std::shared_ptr<InFlight> owner, Entry entry)
        : owner_(std::move(owner)), entry_(entry) {}
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { owner_->Remove(entry_); }

   private:
    std::shared_ptr<InFlight> owner_;
    Entry entry_;
  };

  // `cancel` must be safe to call until the ticket is destroyed.
  static std::unique_ptr<Ticket> Add(const std::shared_ptr<InFlight>& self,
                                     std::function<void()> cancel) {
    std::lock_guard lock(self->mu_);
    self->calls_.push_back(std::move(cancel));
    return std::make_unique<Ticket>(self, std::prev(self->calls_.end()));
  }

  // Cancels every live call and waits until none is left or `limit` passed; true when none is.
  bool CancelAndWait(std::chrono::milliseconds limit) {
    std::vector<std::function<void()>> cancels;
    {
      std::lock_guard lock(mu_);
      cancels.assign(calls_.begin(), calls_.end());
    }
    // Outside the lock: a cancel may drop the last reference to its call.
    for (auto& cancel : cancels) cancel();
    cancels.clear();
    std::unique_lock lock(mu_);
    return drained_.wait_for(lock, limit, [this] { return calls_.empty(); });
  }

 private:
  void Remove(Entry entry) {
    std::lock_guard lock(mu_);
    calls_.erase(entry);
    if (calls_.empty()) drained_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable drained_;
  std::list<std::function<void()>> calls_;  // guarded by mu_
};

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
  std::unique_ptr<RestGateway::InFlight::Ticket> ticket;  // first: released last
  grpc::ClientContext ctx;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  const google::protobuf::MethodDescriptor* method = nullptr;
  Responder respond;
};

namespace pb = google::protobuf;

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string raw;
  if (buffer.Dump(&slices).ok()) {
    for (const auto& s : slices) raw.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return raw;
}

grpc::ByteBuffer Serialize(const pb::Message& message) {
  std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// The x-request-id the server echoed (initial metadata, or trailing metadata for a call that ended
// without sending any; `trailers_ready` only once the call is done), else `fallback`.
std::string ServerRequestId(const grpc::ClientContext& ctx, bool trailers_ready,
                            const std::string& fallback) {
  const auto& initial = ctx.GetServerInitialMetadata();
  if (auto it = initial.find("x-request-id"); it != initial.end()) {
    return std::string(it->second.data(), it->second.size());
  }
  if (trailers_ready) {
    const auto& trailing = ctx.GetServerTrailingMetadata();
    if (auto it = trailing.find("x-request-id"); it != trailing.end()) {
      return std::string(it->second.data(), it->second.size());
    }
  }
  return fallback;
}

// The singular int64 field named `cursor` of `type`, used as the SSE event id; null when none.
const pb::FieldDescriptor* CursorField(const pb::Descriptor* type) {
  const pb::FieldDescriptor* f = type->FindFieldByName("cursor");
  if (f == nullptr || f->is_repeated() || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_INT64) {
    return nullptr;
  }
  return f;
}

// How long after the server's initial metadata the gateway waits for a status before it commits
// to a 200 event stream. A server sends its initial metadata together with an early error status
// (e.g. x-request-id then UNAUTHENTICATED), so the metadata alone does not mean the call is
// streaming; a status arriving within this window is still answered as a plain JSON error.
constexpr std::chrono::milliseconds kHeaderSettle{100};

// One server-streaming call served as Server-Sent Events, through a generic bidi reactor: the one
// request message is written with WritesDone, then messages are read until the status. Owns
// itself from Start() until OnDone(). Reactions run on gRPC threads and never block; the
// ResponseStream's callback (from an HTTP I/O thread) only cancels the call.
class SseCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                      public std::enable_shared_from_this<SseCall> {
 public:
  SseCall(const pb::Descriptor* output, std::string request_id, Responder respond)
      : output_(output),
        cursor_(CursorField(output)),
        request_id_(std::move(request_id)),
        respond_(std::move(respond)) {}

  grpc::ClientContext& context() { return ctx_; }

  // `header_wait`: send the HTTP headers after this long even if the server has sent neither
  // metadata nor a message, so that the HTTP server's request timeout does not fire.
  void Start(grpc::GenericStub& stub, const std::shared_ptr<RestGateway::InFlight>& in_flight,
             const std::string& grpc_path, const pb::Message& input,
             std::chrono::milliseconds keep_alive, std::chrono::milliseconds header_wait) {
    const std::weak_ptr<SseCall> weak = weak_from_this();
    ResponseStream::Options options;
    options.max_queued_bytes = RestGateway::kMaxSseBacklogBytes;
    options.heartbeat_interval = keep_alive;
    options.heartbeat_chunk = ": keep-alive\n\n";
    options.on_client_gone = [weak](ResponseStream::EndReason) {
      if (auto call = weak.lock()) call->ctx_.TryCancel();
    };
    stream_ = std::make_shared<ResponseStream>(std::move(options));
    ticket_ = RestGateway::InFlight::Add(in_flight, [weak] {
      if (auto call = weak.lock()) call->ctx_.TryCancel();
    });
    request_ = Serialize(input);
    self_ = shared_from_this();
    stub.PrepareBidiStreamingCall(&ctx_, grpc_path, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    header_alarm_.Set(std::chrono::system_clock::now() + header_wait, [weak](bool fired) {
      if (!fired) return;
      if (auto call = weak.lock()) call->SendHeaders();
    });
    StartCall();
  }

  void OnReadInitialMetadataDone(bool ok) override {
    // Not ok: the call ended without metadata (trailers only, e.g. refused): OnDone answers.
    if (!ok) return;
    metadata_arrived_.store(true, std::memory_order_release);
    const std::weak_ptr<SseCall> weak = weak_from_this();
    settle_alarm_.Set(std::chrono::system_clock::now() + kHeaderSettle, [weak](bool fired) {
      if (!fired) return;
      if (auto call = weak.lock()) call->SendHeaders();
    });
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the status follows in OnDone
    SendHeaders();
    std::string event;
    if (!FormatEvent(&event)) {
      error_sent_ = true;
      stream_->Write(ErrorEvent(
          grpc::Status(grpc::StatusCode::INTERNAL, "response could not be encoded as JSON")));
      ctx_.TryCancel();
      return;
    }
    if (!stream_->Write(std::move(event))) {
      ctx_.TryCancel();  // the client is gone
      return;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    bool sent = false;
    {
      std::lock_guard lock(mu_);
      sent = headers_sent_;
      headers_sent_ = true;
    }
    header_alarm_.Cancel();
    settle_alarm_.Cancel();
    const std::string rid = ServerRequestId(ctx_, /*trailers_ready=*/true, request_id_);
    if (!sent && !status.ok()) {
      respond_(FromStatus(status, rid));
    } else {
      if (!sent) respond_(Headers(rid));
      if (!status.ok() && !error_sent_) stream_->Write(ErrorEvent(status));
      stream_->Close();
    }
    const std::shared_ptr<SseCall> last = std::move(self_);  // may destroy this on return
  }

 private:
  static std::string ErrorEvent(const grpc::Status& status) {
    return "event: error\ndata: " + RpcStatusJson(ToRpcStatus(status)) + "\n\n";
  }

  HttpResponse Headers(const std::string& rid) {
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("cache-control", "no-cache");
    if (!rid.empty()) r.headers.emplace_back("x-request-id", rid);
    r.stream = stream_;
    return r;
  }

  // Sends the HTTP status and headers, once.
  void SendHeaders() {
    {
      std::lock_guard lock(mu_);
      if (headers_sent_) return;
      headers_sent_ = true;
    }
    // The server's initial metadata may be read only once it has arrived.
    const bool metadata = metadata_arrived_.load(std::memory_order_acquire);
    respond_(Headers(metadata ? ServerRequestId(ctx_, false, request_id_) : request_id_));
  }

  // `id: ...\ndata: <JSON>\n\n` for the message in response_.
  bool FormatEvent(std::string* event) {
    const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(output_);
    std::unique_ptr<pb::Message> message(prototype->New());
    if (!message->ParseFromString(Flatten(response_))) return false;
    pb::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    std::string json;
    if (!pb::util::MessageToJsonString(*message, &json, options).ok()) return false;
    ++count_;
    const std::int64_t id = cursor_ != nullptr
                                ? message->GetReflection()->GetInt64(*message, cursor_)
                                : static_cast<std::int64_t>(count_);
    *event = "id: " + std::to_string(id) + "\ndata: " + json + "\n\n";
    return true;
  }

  // First member, so released last: the gateway waits for it.
  std::unique_ptr<RestGateway::InFlight::Ticket> ticket_;
  const pb::Descriptor* output_;
  const pb::FieldDescriptor* cursor_;
  const std::string request_id_;  // from the HTTP request; "" when none
  Responder respond_;

  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::Alarm header_alarm_;  // headers after header_wait at the latest
  grpc::Alarm settle_alarm_;  // headers kHeaderSettle after the initial metadata
  std::atomic<bool> metadata_arrived_{false};
  std::shared_ptr<ResponseStream> stream_;
  std::shared_ptr<SseCall> self_;  // set from Start() until OnDone()

  std::mutex mu_;
  bool headers_sent_ = false;  // guarded by mu_
  // Reactions on the read chain and OnDone run one after the other:
  std::uint64_t count_ = 0;
  bool error_sent_ = false;
};

// gRPC carries only printable ASCII in text metadata; anything else aborts the call (and, in the
// in-process channel, the daemon). A header that cannot travel is not forwarded.
bool MetadataSafe(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

void AddCallMetadata(const HttpRequest& request, const std::string& gateway_secret,
                     grpc::ClientContext* ctx) {
  ctx->AddMetadata("x-onshid-gateway", gateway_secret);
  // An authorization the gRPC side cannot receive is no credential: MISSING_CREDENTIALS there.
  if (std::string auth = request.Header("authorization"); !auth.empty() && MetadataSafe(auth)) {
    ctx->AddMetadata("authorization", auth);
  }
  // Checked before (RefusedRequestId): only an acceptable id gets here.
  if (std::string rid = request.Header("x-request-id"); !rid.empty()) {
    ctx->AddMetadata("x-request-id", rid);
  }
}

// A sent x-request-id that is not acceptable (empty, too long, spaces, non-ASCII or control
// characters) is refused here, as the gRPC side would refuse it — it cannot even be forwarded.
std::optional<HttpResponse> RefusedRequestId(const HttpRequest& request) {
  if (!request.HasHeader("x-request-id") || ValidRequestId(request.Header("x-request-id"))) {
    return std::nullopt;
  }
  return FromStatus(ToGrpcStatus(InvalidRequestId()), "");
}

}  // namespace

RestGateway::RestGateway(std::shared_ptr<grpc::Channel> channel, RestRouteTable routes,
                         std::chrono::milliseconds timeout, std::string gateway_secret,
                         std::chrono::milliseconds sse_keep_alive)
    : stub_(std::move(channel)),
      routes_(std::move(routes)),
      timeout_(timeout),
      gateway_secret_(std::move(gateway_secret)),
      sse_keep_alive_(sse_keep_alive),
      in_flight_(std::make_shared<InFlight>()) {}

RestGateway::~RestGateway() { in_flight_->CancelAndWait(kDrainLimit); }

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
  if (auto refused = RefusedRequestId(request)) {
    respond(std::move(*refused));
    return;
  }

  const auto* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(
      match.route->method->input_type());
  std::unique_ptr<google::protobuf::Message> input(prototype->New());
  if (auto built = BuildRequestMessage(match, request.query, request.body, input.get()); !built) {
    respond(FromStatus(ToGrpcStatus(built.error()), request_id));
    return;
  }

  if (match.route->server_streaming) {
    auto call = std::make_shared<SseCall>(match.route->method->output_type(), request_id,
                                          std::move(respond));
    AddCallMetadata(request, gateway_secret_, &call->context());
    const auto header_wait = std::max(timeout_ / 2, std::chrono::milliseconds(1));
    call->Start(stub_, in_flight_, match.route->grpc_path, *input, sse_keep_alive_, header_wait);
    return;
  }

  auto call = std::make_shared<PendingCall>();
  call->ticket = InFlight::Add(in_flight_, [weak = std::weak_ptr<PendingCall>(call)] {
    if (auto c = weak.lock()) c->ctx.TryCancel();
  });
  call->method = match.route->method;
  call->respond = std::move(respond);
  // The call's deadline is kept below the HTTP request timeout, so that the API's own answer
  // (e.g. UPSTREAM_RESULT_PENDING with the request id) reaches the client rather than the HTTP
  // server's HANDLER_TIMEOUT: a tenth of the timeout, at least 200 ms and at most 2 s, is kept
  // back.
  const auto reserve =
      std::clamp(timeout_ / 10, std::chrono::milliseconds(200), std::chrono::milliseconds(2000));
  call->ctx.set_deadline(std::chrono::system_clock::now() +
                         std::max(timeout_ - reserve, timeout_ / 2));
  AddCallMetadata(request, gateway_secret_, &call->ctx);
  call->request = Serialize(*input);

  stub_.UnaryCall(&call->ctx, match.route->grpc_path, grpc::StubOptions(), &call->request,
                  &call->response, [call](grpc::Status status) {
                    const std::string rid =
                        ServerRequestId(call->ctx, /*trailers_ready=*/true, "");
                    if (!status.ok()) {
                      call->respond(FromStatus(status, rid));
                      return;
                    }
                    const auto* proto = google::protobuf::MessageFactory::generated_factory()
                                            ->GetPrototype(call->method->output_type());
                    std::unique_ptr<google::protobuf::Message> out(proto->New());
                    const std::string raw = Flatten(call->response);
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
