#pragma once
// Everything an RPC goes through before and after its use case runs, in one place, for gRPC and
// for REST (the gateway calls the same gRPC handlers in-process):
//   request id (x-request-id metadata exactly as sent — refused with INVALID_REQUEST_ID when it
//   is not 1–128 printable ASCII characters, generated only when absent — echoed in initial
//   metadata) → authentication (bearer token) → authorization (the method's scope from its proto
//   policy) → deadline (the client's, else grpc.default_deadline_ms; capped at
//   grpc.max_deadline_ms) → on the application executor: for writes (policy `idempotent`) the audit
//   row (ATTEMPTED) and the request key (REQUEST_ID_REUSED, or the first final outcome answered
//   again without running anything) → the use case → the write's outcome recorded → audit_log
//   (reads: written after the call; a read whose audit row fails, fails) → metrics and one log
//   line → status mapping.
//
// A committed write is never reported as failed: its audit row exists before it runs, and when
// recording its outcome afterwards fails the client still gets the outcome (and a retry runs the
// use case again, which is idempotent by its request key).

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <grpcpp/grpcpp.h>
#include <google/protobuf/descriptor.h>

#include "api/auth.h"
#include "api/metrics.h"
#include "api/request_id.h"
#include "app/checkin.h"
#include "app/config.h"
#include "app/eligibility.h"
#include "app/executor.h"
#include "core/card/card_readers.h"
#include "core/clock.h"
#include "core/dependency.h"
#include "core/error.h"
#include "core/id_source.h"
#include "core/request_keys.h"
#include "core/results.h"
#include "core/store.h"

namespace onshid::app {
class FallbackCaseUseCases;  // app/fallback_cases.h
}  // namespace onshid::app

namespace onshid::api {

// What the API layer needs from the rest of the daemon. Pointers are owned by the wiring and
// outlive the API server.
struct ApiDeps {
  const app::Config* config = nullptr;
  Authenticator* auth = nullptr;
  Metrics* metrics = nullptr;
  core::Store* store = nullptr;
  // Idempotency of write calls (methods whose policy says idempotent).
  core::RequestKeyStore* request_keys = nullptr;
  core::EventStore* events = nullptr;
  core::ResultStore* results = nullptr;
  // Null when no upstream (terminal folder) is configured.
  app::EligibilityUseCases* eligibility = nullptr;
  // Null when generic card readers are disabled (readers.enabled = false).
  core::card::CardReaders* readers = nullptr;
  // Check-ins and consent (CheckInService, ConsentService). Null when the daemon is wired without
  // them: those services then fail with FAILED_PRECONDITION CHECKINS_UNAVAILABLE.
  app::CheckInUseCases* checkins = nullptr;
  // Fallback cases (FallbackService's case methods). Null when the daemon is wired without them:
  // those methods then fail with FAILED_PRECONDITION FALLBACK_CASES_UNAVAILABLE (EvaluateOptions
  // still answers).
  app::FallbackCaseUseCases* fallback_cases = nullptr;
  core::StatusBoard* board = nullptr;
  app::Executor* executor = nullptr;
  core::IdSource* ids = nullptr;
  const core::Clock* clock = nullptr;
  core::SystemTime start_time{};
  int schema_version = 0;
  // Random per process; the REST gateway presents it (x-onshid-gateway metadata) so that calls it
  // forwards are attributed to the "rest" channel. Nobody outside the process knows it.
  std::string gateway_secret;
};

// One call, as seen by a use case.
struct Call {
  std::string method;      // "/onshi.v1.SystemService/GetStatus"
  // The x-request-id exactly as the client sent it (generated when it sent none). This is the id
  // shown to clients everywhere: metadata, errors, results, events, audit.
  std::string request_id;
  Principal principal;
  std::string channel;     // "grpc" or "rest"
  std::chrono::system_clock::time_point deadline;
  std::string audit_subject;  // set by the use case: ids of what it touched (no personal data)

  // The daemon's internal key of this request: unique per client and x-request-id (two clients
  // may use the same id). Use cases store it to recognise a retry; it is never shown to clients.
  std::string Key() const { return principal.name + "/" + request_id; }
};

struct MethodPolicy {
  app::Scope scope = app::Scope::kAdmin;
  bool audited = false;
  bool idempotent = false;  // a write keyed by x-request-id (options.proto)
};

// Reads the (onshi.v1.policy) option of every method of `service`. Throws std::runtime_error naming
// the method when one has no policy (start-up refuses to serve an unprotected method).
std::map<std::string, MethodPolicy> ReadPolicies(const google::protobuf::ServiceDescriptor* service);

struct UnaryState;  // call.cc

class CallRunner {
 public:
  // Throws std::runtime_error (start-up) when a method of `service` lacks a policy.
  CallRunner(ApiDeps deps, const google::protobuf::ServiceDescriptor* service);

  using UseCase = std::function<core::Status(Call& call)>;

  // Runs `use_case` for the method named `method_name` (e.g. "GetStatus") and finishes the
  // returned reactor with its result. Never blocks the calling (gRPC) thread. `request` and
  // `response` are the call's messages (they outlive the reactor): a write's request is
  // fingerprinted, and an outcome answered again is parsed into `response`.
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const std::string& method_name,
                                  const google::protobuf::Message& request,
                                  google::protobuf::Message* response, UseCase use_case);

  // Like Unary, for use cases that complete later (e.g. waiting for the terminal): the use case
  // runs on the executor and must call `done` exactly once, from any thread.
  using Done = std::function<void(core::Status)>;
  using AsyncUseCase = std::function<void(std::shared_ptr<Call> call, Done done)>;
  grpc::ServerUnaryReactor* UnaryAsync(grpc::CallbackServerContext* ctx,
                                       const std::string& method_name,
                                       const google::protobuf::Message& request,
                                       google::protobuf::Message* response,
                                       AsyncUseCase use_case);

  // For streaming methods: the same request id, authentication and scope checks as Unary (auth
  // failures are counted). Must be called on the gRPC thread before the reactor sends anything.
  core::Result<std::shared_ptr<Call>> Admit(grpc::CallbackServerContext* ctx,
                                            const std::string& method_name);

  // Records a finished streaming call in metrics and the log.
  void Finished(const Call& call, const grpc::Status& status,
                std::chrono::steady_clock::time_point started) const;

  const ApiDeps& deps() const { return deps_; }

 private:
  // "rest" for calls the REST gateway forwards (it proves itself with the per-process secret),
  // else "grpc".
  std::string ChannelOf(const grpc::CallbackServerContext* ctx) const;
  // For a write: the ATTEMPTED audit row and the request key. Returns true when the call was
  // answered from a recorded outcome (nothing else to do), false when the use case should run.
  core::Result<bool> BeginWrite(const std::shared_ptr<UnaryState>& state);
  // After the use case (`run`) or a refusal before it: records a write's final outcome, audits,
  // finishes the reactor.
  void Complete(const std::shared_ptr<UnaryState>& state, core::Status result, bool run);
  void FinishCall(const std::shared_ptr<UnaryState>& state, const grpc::Status& status,
                  const std::string& reason);

  ApiDeps deps_;
  std::string service_name_;
  std::map<std::string, MethodPolicy> policies_;
};

// Hex SHA-256 of `method` and the deterministic serialization of `request`: what identifies a
// write for its x-request-id (the same over gRPC and REST, which share the message).
std::string Fingerprint(const std::string& method, const google::protobuf::Message& request);

// Whether an outcome is final for idempotency: OK and the refusals a retry would meet again
// (invalid argument, failed precondition, not found, already exists, permission denied). Not
// final: unavailable, deadline, aborted, resource exhausted, cancelled, internal — a retry with
// the same id runs again.
bool IsFinalOutcome(const core::Status& status);

}  // namespace onshid::api
