#pragma once
// onshi.v1.EligibilityService: individual queries, stored results and 照会番号 registrations.

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

  grpc::ServerUnaryReactor* RegisterReferenceNumber(
      grpc::CallbackServerContext* ctx, const onshi::v1::RegisterReferenceNumberRequest* request,
      onshi::v1::ReferenceNumberRegistration* response) override;
  grpc::ServerUnaryReactor* GetReferenceNumberRegistration(
      grpc::CallbackServerContext* ctx,
      const onshi::v1::GetReferenceNumberRegistrationRequest* request,
      onshi::v1::ReferenceNumberRegistration* response) override;
  grpc::ServerUnaryReactor* ListReferenceNumberRegistrations(
      grpc::CallbackServerContext* ctx,
      const onshi::v1::ListReferenceNumberRegistrationsRequest* request,
      onshi::v1::ListReferenceNumberRegistrationsResponse* response) override;

 private:
  CallRunner runner_;
};

}  // namespace onshid::api
