#pragma once
// onshi.v1.SystemService: the daemon's version, uptime and dependency states.

#include "api/call.h"
#include "onshi/v1/system.grpc.pb.h"

namespace onshid::api {

class SystemServiceImpl final : public onshi::v1::SystemService::CallbackService {
 public:
  explicit SystemServiceImpl(ApiDeps deps);

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const onshi::v1::GetStatusRequest* request,
                                      onshi::v1::GetStatusResponse* response) override;

  grpc::ServerUnaryReactor* SearchAuditLog(grpc::CallbackServerContext* ctx,
                                           const onshi::v1::SearchAuditLogRequest* request,
                                           onshi::v1::SearchAuditLogResponse* response) override;

 private:
  CallRunner runner_;
};

// Fills a GetStatusResponse from the daemon's state (shared with /readyz).
void FillStatus(const ApiDeps& deps, onshi::v1::GetStatusResponse* out);

}  // namespace onshid::api
