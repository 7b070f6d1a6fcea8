#include "api/call.h"

#include <stdexcept>

#include "api/status_mapping.h"
#include "app/logging.h"
#include "onshi/v1/options.pb.h"

namespace onshid::api {
namespace {

std::string_view Metadata(const grpc::CallbackServerContext* ctx, std::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return {it->second.data(), it->second.size()};
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

}  // namespace

std::string ValidRequestId(std::string_view candidate) {
  if (candidate.empty() || candidate.size() > 128) return {};
  for (char c : candidate) {
    if (c < 0x21 || c > 0x7e) return {};
  }
  return std::string(candidate);
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
    out[m->name()] = MethodPolicy{FromProto(p.scope()), p.audited()};
  }
  return out;
}

CallRunner::CallRunner(ApiDeps deps, const google::protobuf::ServiceDescriptor* service)
    : deps_(deps), service_name_(service->full_name()), policies_(ReadPolicies(service)) {}

core::Result<std::shared_ptr<Call>> CallRunner::Admit(grpc::CallbackServerContext* ctx,
                                                      const std::string& method_name) {
  auto call = std::make_shared<Call>();
  call->method = "/" + service_name_ + "/" + method_name;
  call->request_id = ValidRequestId(Metadata(ctx, "x-request-id"));
  if (call->request_id.empty()) call->request_id = deps_.ids->NewId();
  ctx->AddInitialMetadata("x-request-id", call->request_id);
  // The REST gateway reaches us over the in-process channel and proves it with the per-process
  // secret; nobody else can claim the "rest" channel.
  call->channel = (!deps_.gateway_secret.empty() &&
                   Metadata(ctx, "x-onshid-gateway") == deps_.gateway_secret)
                      ? "rest"
                      : "grpc";
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
                                            const std::string& method_name, UseCase use_case) {
  return UnaryAsync(ctx, method_name,
                    [use_case = std::move(use_case)](std::shared_ptr<Call> call, Done done) {
                      done(use_case(*call));
                    });
}

grpc::ServerUnaryReactor* CallRunner::UnaryAsync(grpc::CallbackServerContext* ctx,
                                                 const std::string& method_name,
                                                 AsyncUseCase use_case) {
  auto* reactor = ctx->DefaultReactor();
  const auto started = deps_.clock->SteadyNow();
  auto admitted = Admit(ctx, method_name);
  if (!admitted) {
    // Log and count under the method's name even though nobody was admitted.
    Call anonymous;
    anonymous.method = "/" + service_name_ + "/" + method_name;
    anonymous.request_id = ValidRequestId(Metadata(ctx, "x-request-id"));
    grpc::Status status = ToGrpcStatus(admitted.error());
    Finished(anonymous, status, started);
    reactor->Finish(status);
    return reactor;
  }
  std::shared_ptr<Call> call = std::move(admitted).value();
  const MethodPolicy policy = policies_.at(method_name);

  const auto now = std::chrono::system_clock::now();
  const auto max_deadline = now + std::chrono::milliseconds(deps_.config->grpc.max_deadline_ms);
  auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    deadline = now + std::chrono::milliseconds(deps_.config->grpc.default_deadline_ms);
  }
  call->deadline = std::min(deadline, max_deadline);

  Done done = [this, call, policy, reactor, started](core::Status result) {
    app::ScopedRequestId scoped(call->request_id);
    if (policy.audited) {
      core::AuditRecord rec;
      rec.at = deps_.clock->Now();
      rec.request_id = call->request_id;
      rec.client = call->principal.name;
      rec.method = call->method;
      rec.channel = call->channel;
      rec.subject = call->audit_subject;
      rec.outcome = result.ok() ? "OK" : result.error().reason;
      if (auto s = deps_.store->AppendAudit(rec); !s) {
        // A call on patient data whose audit record cannot be written does not succeed.
        app::Logger("audit")->error("audit record not written: {}", s.error().message);
        if (result.ok()) result = s.error();
      }
    }
    grpc::Status status = result.ok() ? grpc::Status::OK : ToGrpcStatus(result.error());
    Finished(*call, status, started);
    reactor->Finish(status);
  };

  deps_.executor->Post([call, use_case = std::move(use_case), done = std::move(done)]() {
    app::ScopedRequestId scoped(call->request_id);
    if (std::chrono::system_clock::now() >= call->deadline) {
      done(DeadlinePassed());
      return;
    }
    use_case(call, done);
  });
  return reactor;
}

}  // namespace onshid::api
