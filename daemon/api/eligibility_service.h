#pragma once
// onshi.v1.EligibilityService: individual queries and stored results.

#include "api/call.h"
#include "onshi/v1/eligibility.grpc.pb.h"

namespace onshid::api {

class EligibilityServiceImpl final : public onshi::v1::EligibilityService::CallbackService {
 public:
  explicit EligibilityServiceImpl(ApiDeps deps);

  grpc::ServerUnaryReactor* Query(grpc::CallbackServerContext* ctx,
                                  const onshi::v1::QueryRequest* request,
                                  onshi::v1::QueryResponse* response) override;
  grpc::ServerUnaryReactor* GetResult(grpc::CallbackServerContext* ctx,
                                      const onshi::v1::GetResultRequest* request,
                                      onshi::v1::EligibilityResult* response) override;
  grpc::ServerUnaryReactor* ListResults(grpc::CallbackServerContext* ctx,
                                        const onshi::v1::ListResultsRequest* request,
                                        onshi::v1::ListResultsResponse* response) override;

 private:
  CallRunner runner_;
};

}  // namespace onshid::api
