#pragma once
// onshi.v1.EventService: replay from a cursor, then live events, as a server stream.

#include "api/call.h"
#include "onshi/v1/events.grpc.pb.h"

namespace onshid::api {

class EventServiceImpl final : public onshi::v1::EventService::CallbackService {
 public:
  explicit EventServiceImpl(ApiDeps deps);

  grpc::ServerWriteReactor<onshi::v1::Event>* Subscribe(
      grpc::CallbackServerContext* ctx, const onshi::v1::SubscribeRequest* request) override;

 private:
  CallRunner runner_;
};

// The API form of a stored event.
onshi::v1::Event ToProto(const core::Event& event);

}  // namespace onshid::api
