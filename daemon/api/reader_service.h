#pragma once
// onshi.v1.ReaderService: the site's generic PC/SC readers and card operations, over the
// core::card::CardReaders port (ApiDeps::readers).
//
// Every method first goes through CallRunner (auth, scope, deadline, audit). With
// ApiDeps::readers null (readers.enabled = false) every method fails with FAILED_PRECONDITION
// READERS_NOT_CONFIGURED. Unary methods use CallRunner::UnaryAsync: the port completes on a
// reader worker thread, and the completion is handed back to the application executor (the
// audit write may block). WatchReaders is a server-streaming reactor fed by CardReaders::Watch.
//
// PINs: parsed into core::card::Pin (format checked before anything reaches the card); the
// request's own copy is wiped at once. Nothing in this service logs request or response fields.
// Audit subjects are "card:<card key>" or "reader:<reader name>", never personal data.

#include "api/call.h"
#include "onshi/v1/readers.grpc.pb.h"

namespace onshid::api {

class ReaderServiceImpl final : public onshi::v1::ReaderService::CallbackService {
 public:
  // `deps.readers` may be null (readers disabled). Throws std::runtime_error at start-up when a
  // method lacks its (onshi.v1.policy) option.
  explicit ReaderServiceImpl(ApiDeps deps);

  grpc::ServerUnaryReactor* ListReaders(grpc::CallbackServerContext* ctx,
                                        const onshi::v1::ListReadersRequest* request,
                                        onshi::v1::ListReadersResponse* response) override;
  grpc::ServerWriteReactor<onshi::v1::ReaderEvent>* WatchReaders(
      grpc::CallbackServerContext* ctx, const onshi::v1::WatchReadersRequest* request) override;
  grpc::ServerUnaryReactor* InspectCard(grpc::CallbackServerContext* ctx,
                                        const onshi::v1::InspectCardRequest* request,
                                        onshi::v1::InspectCardResponse* response) override;
  grpc::ServerUnaryReactor* GetPinStatus(grpc::CallbackServerContext* ctx,
                                         const onshi::v1::GetPinStatusRequest* request,
                                         onshi::v1::PinStatus* response) override;
  grpc::ServerUnaryReactor* VerifyPin(grpc::CallbackServerContext* ctx,
                                      const onshi::v1::VerifyPinRequest* request,
                                      onshi::v1::PinStatus* response) override;
  grpc::ServerUnaryReactor* SignChallenge(grpc::CallbackServerContext* ctx,
                                          const onshi::v1::SignChallengeRequest* request,
                                          onshi::v1::SignChallengeResponse* response) override;
  grpc::ServerUnaryReactor* ReadBasicInfo(grpc::CallbackServerContext* ctx,
                                          const onshi::v1::ReadBasicInfoRequest* request,
                                          onshi::v1::BasicInfo* response) override;

 private:
  CallRunner runner_;
};

// API forms of the port's values (exposed for tests).
onshi::v1::ReaderEvent ToProto(const core::card::ReaderEvent& event);
onshi::v1::CertificateInfo ToProto(const core::card::CertificateSummary& summary);

}  // namespace onshid::api
