#include "api/call.h"

#include <stdexcept>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "api/status_mapping.h"
#include "app/logging.h"
#include "app/token_hash.h"
#include "failpoint/failpoint.h"
#include "onshi/v1/options.pb.h"

namespace onshid::api {
namespace {

std::string_view Metadata(const grpc::CallbackServerContext* ctx, std::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return {it->second.data(), it->second.size()};
}

bool HasMetadata(const grpc::CallbackServerContext* ctx, std::string_view key) {
  return ctx->client_metadata().count(grpc::string_ref(key.data(), key.size())) != 0;
}

app::Scope FromProto(onshi::v1::Scope s) {
  switch (s) {
    case onshi::v1::SCOPE_READ: return app::Scope::kRead;
    case onshi::v1::SCOPE_RECEPTION: return app::Scope::kReception;
    default: return app::Scope::kAdmin;
  }
}

core::DomainError DeadlinePassed() {
  core::DomainError e;
  e.kind = core::ErrorKind::kDeadlineExceeded;
  e.reason = "DEADLINE_EXCEEDED";
  e.message = "the call's deadline passed before it could run";
  e.message_ja = "処理が時間内に完了しませんでした。もう一度お試しください。";
  return e;
}

// The audit row of `call` with `outcome`.
core::AuditRecord AuditOf(const Call& call, const std::string& outcome, core::SystemTime at) {
  core::AuditRecord rec;
  rec.at = at;
  rec.request_id = call.request_id;
  rec.client = call.principal.name;
  rec.method = call.method;
  rec.channel = call.channel;
  rec.subject = call.audit_subject;
  rec.outcome = outcome;
  return rec;
}

// The outcome to keep for a retry: the response bytes, or the status with its details.
core::RequestOutcome OutcomeOf(const core::Status& result, const grpc::Status& status,
                               const google::protobuf::Message& response,
                               const std::string& audit_subject) {
  core::RequestOutcome out;
  out.code = static_cast<int>(status.error_code());
  out.audit_subject = audit_subject;
  if (result.ok()) {
    out.reason = "OK";
    response.SerializeToString(&out.body);
  } else {
    out.reason = result.error().reason;
    out.body = ToRpcStatus(status).SerializeAsString();
  }
  return out;
}

// The status a recorded outcome stands for; OK fills `response`.
grpc::Status Replay(const core::RequestOutcome& outcome, google::protobuf::Message* response) {
  if (outcome.code == 0) {
    if (!response->ParseFromString(outcome.body)) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "stored response is unreadable");
    }
    return grpc::Status::OK;
  }
  google::rpc::Status st;
  if (!st.ParseFromString(outcome.body)) {
    return grpc::Status(static_cast<grpc::StatusCode>(outcome.code), outcome.reason);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(outcome.code), st.message(), outcome.body);
}

}  // namespace

std::string Fingerprint(const std::string& method, const google::protobuf::Message& request) {
  std::string bytes = method + "\n";
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return app::Sha256Hex(bytes);
}

bool IsFinalOutcome(const core::Status& status) {
  if (status.ok()) return true;
  switch (status.error().kind) {
    case core::ErrorKind::kInvalidArgument:
    case core::ErrorKind::kFailedPrecondition:
    case core::ErrorKind::kNotFound:
    case core::ErrorKind::kAlreadyExists:
    case core::ErrorKind::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

std::map<std::string, MethodPolicy> ReadPolicies(const google::protobuf::ServiceDescriptor* service) {
  std::map<std::string, MethodPolicy> out;
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    if (!m->options().HasExtension(onshi::v1::policy) ||
        m->options().GetExtension(onshi::v1::policy).scope() == onshi::v1::SCOPE_UNSPECIFIED) {
      throw std::runtime_error("method " + m->full_name() +
                               " declares no (onshi.v1.policy) scope; refusing to serve it");
    }
    const auto& p = m->options().GetExtension(onshi::v1::policy);
    out[m->name()] = MethodPolicy{FromProto(p.scope()), p.audited(), p.idempotent()};
  }
  return out;
}

CallRunner::CallRunner(ApiDeps deps, const google::protobuf::ServiceDescriptor* service)
    : deps_(deps), service_name_(service->full_name()), policies_(ReadPolicies(service)) {}

std::string CallRunner::ChannelOf(const grpc::CallbackServerContext* ctx) const {
  // The REST gateway reaches us over the in-process channel and proves it with the per-process
  // secret; nobody else can claim the "rest" channel.
  return !deps_.gateway_secret.empty() &&
                 Metadata(ctx, "x-onshid-gateway") == deps_.gateway_secret
             ? "rest"
             : "grpc";
}

core::Result<std::shared_ptr<Call>> CallRunner::Admit(grpc::CallbackServerContext* ctx,
                                                      const std::string& method_name) {
  auto call = std::make_shared<Call>();
  call->method = "/" + service_name_ + "/" + method_name;
  const std::string_view sent = Metadata(ctx, "x-request-id");
  const bool valid = ValidRequestId(sent);
  // The id is echoed on every answer; a refused id is not echoed back (the refusal gets its own).
  call->request_id = valid ? std::string(sent) : deps_.ids->NewId();
  ctx->AddInitialMetadata("x-request-id", call->request_id);
  call->channel = ChannelOf(ctx);
  auto policy_it = policies_.find(method_name);
  if (policy_it == policies_.end()) return core::Internal("no policy for " + call->method);
  auto principal = deps_.auth->Authenticate(Metadata(ctx, "authorization"));
  if (!principal) {
    deps_.metrics->CountAuthFailure(call->method, "UNAUTHENTICATED");
    return principal.error();
  }
  call->principal = std::move(principal).value();
  if (auto allowed = Authenticator::Authorize(call->principal, policy_it->second.scope); !allowed) {
    deps_.metrics->CountAuthFailure(call->method, "PERMISSION_DENIED");
    return allowed.error();
  }
  if (!valid && HasMetadata(ctx, "x-request-id")) return InvalidRequestId();
  return call;
}

void CallRunner::Finished(const Call& call, const grpc::Status& status,
                          std::chrono::steady_clock::time_point started) const {
  double seconds = std::chrono::duration<double>(deps_.clock->SteadyNow() - started).count();
  deps_.metrics->ObserveRpc(call.method, CodeName(status.error_code()), seconds);
  app::ScopedRequestId scoped(call.request_id);
  auto log = app::Logger("rpc");
  if (status.ok()) {
    log->info("{} via {} by {}: OK in {:.1f} ms", call.method, call.channel, call.principal.name,
              seconds * 1000);
  } else {
    log->info("{} via {} by {}: {} ({}) in {:.1f} ms", call.method, call.channel,
              call.principal.name.empty() ? "-" : call.principal.name,
              CodeName(status.error_code()), ReasonOf(status), seconds * 1000);
  }
}

grpc::ServerUnaryReactor* CallRunner::Unary(grpc::CallbackServerContext* ctx,
                                            const std::string& method_name,
                                            const google::protobuf::Message& request,
                                            google::protobuf::Message* response, UseCase use_case) {
  return UnaryAsync(ctx, method_name, request, response,
                    [use_case = std::move(use_case)](std::shared_ptr<Call> call, Done done) {
                      done(use_case(*call));
                    });
}

// The state of one unary call between the gRPC thread, the executor and the use case's
// completion (which may come from any thread). Owned by shared_ptr; the reactor is finished once.
struct UnaryState {
  std::shared_ptr<Call> call;
  MethodPolicy policy;
  grpc::ServerUnaryReactor* reactor = nullptr;
  const google::protobuf::Message* request = nullptr;
  google::protobuf::Message* response = nullptr;
  std::chrono::steady_clock::time_point started;
  std::int64_t audit_id = 0;  // the ATTEMPTED row of a write; 0 for reads
};

grpc::ServerUnaryReactor* CallRunner::UnaryAsync(grpc::CallbackServerContext* ctx,
                                                 const std::string& method_name,
                                                 const google::protobuf::Message& request,
                                                 google::protobuf::Message* response,
                                                 AsyncUseCase use_case) {
  auto* reactor = ctx->DefaultReactor();
  const auto started = deps_.clock->SteadyNow();
  auto admitted = Admit(ctx, method_name);
  if (!admitted) {
    // Log and count under the method's name even though nobody was admitted.
    Call anonymous;
    anonymous.method = "/" + service_name_ + "/" + method_name;
    const std::string_view sent = Metadata(ctx, "x-request-id");
    anonymous.request_id = ValidRequestId(sent) ? std::string(sent) : std::string();
    anonymous.channel = ChannelOf(ctx);
    grpc::Status status = ToGrpcStatus(admitted.error());
    Finished(anonymous, status, started);
    reactor->Finish(status);
    return reactor;
  }
  auto state = std::make_shared<UnaryState>();
  state->call = std::move(admitted).value();
  state->policy = policies_.at(method_name);
  state->reactor = reactor;
  state->request = &request;
  state->response = response;
  state->started = started;

  const auto now = std::chrono::system_clock::now();
  const auto max_deadline = now + std::chrono::milliseconds(deps_.config->grpc.max_deadline_ms);
  auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    deadline = now + std::chrono::milliseconds(deps_.config->grpc.default_deadline_ms);
  }
  state->call->deadline = std::min(deadline, max_deadline);

  deps_.executor->Post([this, state, use_case = std::move(use_case)]() {
    app::ScopedRequestId scoped(state->call->request_id);
    if (std::chrono::system_clock::now() >= state->call->deadline) {
      return Complete(state, DeadlinePassed(), /*run=*/false);
    }
    if (state->policy.idempotent) {
      auto begun = BeginWrite(state);
      if (!begun.ok()) return Complete(state, begun.error(), false);
      if (begun.value()) return;  // answered from the recorded outcome
    }
    // `done` may be called from any thread (the terminal's, a reader's); the bookkeeping after it
    // touches the database, so it runs on the executor.
    use_case(state->call, [this, state](core::Status result) {
      deps_.executor->Post([this, state, result = std::move(result)]() mutable {
        app::ScopedRequestId scoped_id(state->call->request_id);
        Complete(state, std::move(result), /*run=*/true);
      });
    });
  });
  return reactor;
}

core::Result<bool> CallRunner::BeginWrite(const std::shared_ptr<UnaryState>& state) {
  Call& call = *state->call;
  if (state->policy.audited) {
    auto id = deps_.store->AppendAudit(AuditOf(call, "ATTEMPTED", deps_.clock->Now()));
    // A write that cannot be audited does not run.
    if (!id) return id.error();
    state->audit_id = id.value();
    ONSHID_FAILPOINT("audit.after_attempt");
  }
  if (!deps_.request_keys) return false;
  core::RequestKey key;
  key.client = call.principal.name;
  key.request_id = call.request_id;
  key.method = call.method;
  key.fingerprint = Fingerprint(call.method, *state->request);
  auto claimed = deps_.request_keys->ClaimRequestKey(key, deps_.clock->Now());
  if (!claimed) return claimed.error();
  if (claimed->key.fingerprint != key.fingerprint || claimed->key.method != key.method) {
    return core::RequestIdReused(call.request_id);
  }
  if (!claimed->outcome) return false;  // first time, still running, or not final: run it
  // The first final outcome, answered again; the use case does not run.
  const core::RequestOutcome& outcome = *claimed->outcome;
  call.audit_subject = outcome.audit_subject;
  grpc::Status status = Replay(outcome, state->response);
  app::Logger("rpc")->debug("{}: answered from the outcome recorded for this request id",
                            call.method);
  FinishCall(state, status, outcome.reason);
  return true;
}

void CallRunner::Complete(const std::shared_ptr<UnaryState>& state, core::Status result, bool run) {
  Call& call = *state->call;
  grpc::Status status = result.ok() ? grpc::Status::OK : ToGrpcStatus(result.error());
  const std::string reason = result.ok() ? "OK" : result.error().reason;
  if (state->policy.idempotent && run) {
    ONSHID_FAILPOINT("call.after_use_case");
    if (deps_.request_keys && IsFinalOutcome(result)) {
      auto outcome = OutcomeOf(result, status, *state->response, call.audit_subject);
      if (auto s = deps_.request_keys->FinishRequestKey(call.principal.name, call.request_id,
                                                        outcome, deps_.clock->Now());
          !s) {
        // The write happened (or was refused); a retry runs the use case again, which recognises
        // its request key. The client gets the real outcome now.
        app::Logger("rpc")->error("outcome of {} not recorded for retries: {}", call.method,
                                  s.error().message);
      }
    }
  }
  if (state->policy.audited && state->audit_id == 0) {
    // A read, or a write refused before its audit row was written (its deadline passed): the row
    // is written now. A read whose audit row fails does not succeed.
    if (auto s = deps_.store->AppendAudit(AuditOf(call, reason, deps_.clock->Now())); !s) {
      app::Logger("audit")->error("audit record not written: {}", s.error().message);
      if (status.ok() && !state->policy.idempotent) status = ToGrpcStatus(s.error());
    }
    Finished(call, status, state->started);
    state->reactor->Finish(status);
    return;
  }
  FinishCall(state, status, reason);
}

void CallRunner::FinishCall(const std::shared_ptr<UnaryState>& state, const grpc::Status& status,
                            const std::string& reason) {
  Call& call = *state->call;
  if (state->audit_id != 0) {
    // The write's audit row exists (ATTEMPTED): a failure to finish it leaves it ATTEMPTED, and
    // never turns a committed write into a reported failure.
    if (auto s = deps_.store->FinishAudit(state->audit_id, reason, call.audit_subject,
                                          deps_.clock->Now());
        !s) {
      app::Logger("audit")->error("audit record {} not finished: {}", state->audit_id,
                                  s.error().message);
    }
  }
  Finished(call, status, state->started);
  state->reactor->Finish(status);
}

}  // namespace onshid::api
