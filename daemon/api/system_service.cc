#include "api/system_service.h"

#include <google/protobuf/util/time_util.h>

#include "onshid/version.h"

namespace onshid::api {
namespace {

onshi::v1::DependencyState ToProto(core::DependencyState s) {
  switch (s) {
    case core::DependencyState::kOk: return onshi::v1::DEPENDENCY_STATE_OK;
    case core::DependencyState::kDegraded: return onshi::v1::DEPENDENCY_STATE_DEGRADED;
    case core::DependencyState::kDown: return onshi::v1::DEPENDENCY_STATE_DOWN;
    case core::DependencyState::kDisabled: return onshi::v1::DEPENDENCY_STATE_DISABLED;
  }
  return onshi::v1::DEPENDENCY_STATE_UNSPECIFIED;
}

google::protobuf::Timestamp ToTimestamp(core::SystemTime t) {
  using namespace std::chrono;
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      duration_cast<nanoseconds>(t.time_since_epoch()).count());
}

}  // namespace

void FillStatus(const ApiDeps& deps, onshi::v1::GetStatusResponse* out) {
  using namespace std::chrono;
  out->set_version(kVersion);
  out->set_site_id(deps.config->site_id);
  *out->mutable_start_time() = ToTimestamp(deps.start_time);
  auto up = duration_cast<nanoseconds>(deps.clock->Now() - deps.start_time).count();
  *out->mutable_uptime() = google::protobuf::util::TimeUtil::NanosecondsToDuration(up);
  for (const auto& d : deps.board->Snapshot()) {
    auto* p = out->add_dependencies();
    p->set_name(d.name);
    p->set_state(ToProto(d.state));
    p->set_reason(d.reason);
    p->set_detail(d.detail);
    p->set_detail_ja(d.detail_ja);
    *p->mutable_since() = ToTimestamp(d.since);
  }
  out->set_ready(deps.board->Ready());
  out->set_schema_version(deps.schema_version);
}

SystemServiceImpl::SystemServiceImpl(ApiDeps deps)
    : runner_(deps, onshi::v1::GetStatusRequest::descriptor()->file()->FindServiceByName("SystemService")) {}

grpc::ServerUnaryReactor* SystemServiceImpl::GetStatus(grpc::CallbackServerContext* ctx,
                                                       const onshi::v1::GetStatusRequest* request,
                                                       onshi::v1::GetStatusResponse* response) {
  return runner_.Unary(ctx, "GetStatus", *request, response, [this, response](Call&) -> core::Status {
    FillStatus(runner_.deps(), response);
    return core::OkStatus();
  });
}

grpc::ServerUnaryReactor* SystemServiceImpl::SearchAuditLog(
    grpc::CallbackServerContext* ctx, const onshi::v1::SearchAuditLogRequest* request,
    onshi::v1::SearchAuditLogResponse* response) {
  return runner_.Unary(ctx, "SearchAuditLog", *request, response, [this, request, response](Call& call) -> core::Status {
    core::AuditQuery q;
    if (!request->request_id().empty()) q.request_id = request->request_id();
    if (!request->client().empty()) q.client = request->client();
    if (request->has_since()) {
      q.since = core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
          std::chrono::nanoseconds(google::protobuf::util::TimeUtil::TimestampToNanoseconds(request->since()))));
    }
    q.limit = request->limit() == 0 ? 100 : request->limit();
    auto found = runner_.deps().store->ListAudit(q);
    if (!found) return found.error();
    call.audit_subject = "audit_log:" + std::to_string(found->size()) + " entries";
    for (const auto& r : found.value()) {
      auto* e = response->add_entries();
      e->set_id(r.id);
      *e->mutable_at() = ToTimestamp(r.at);
      e->set_request_id(r.request_id);
      e->set_client(r.client);
      e->set_method(r.method);
      e->set_channel(r.channel);
      e->set_subject(r.subject);
      e->set_outcome(r.outcome);
    }
    return core::OkStatus();
  });
}

}  // namespace onshid::api
