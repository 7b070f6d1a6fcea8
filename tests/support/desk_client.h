#pragma once
// DeskClient: a reception desk talking to a running daemon over gRPC on loopback — the one client
// the integration tests and the benchmarks use to start and read check-ins and to await their
// events and states.
//
// Events are read by a thread of the client from the moment it is constructed (replayed from the
// start, then live) and kept until awaited: an event that arrived before the await started is not
// lost, and one read while awaiting another stays for a later await. An await takes the oldest
// matching event nobody awaited yet. Every await is bounded by a deadline on the events; nothing
// sleeps.
//
// Failures (a call the daemon refused, an event or state that did not come in time, the stream
// ending first) throw DeskError with what was awaited and the context set with set_context() (the
// daemon's log, say): a test fails with that message, a benchmark reports it. Thread-safe.
//
//   DeskClient desk(ports.grpc, kDeskToken);
//   desk.set_context([&daemon] { return daemon.log(); });
//   const CheckIn started = desk.StartCheckIn(request, "request-id-1");
//   desk.AwaitEvent("checkin.verified", started.check_in_id());
//   CHECK(desk.GetCheckIn(started.check_in_id()).state() == onshi::v1::CHECK_IN_STATE_VERIFIED);

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "onshi/v1/checkin.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/fallback.grpc.pb.h"
#include "onshi/v1/readers.grpc.pb.h"

namespace onshid::testing {

// A call with `token` (none when empty), `request_id` as x-request-id (none when empty) and a
// deadline `timeout` from now: how every test client prepares its calls.
void Prepare(grpc::ClientContext& ctx, const std::string& token, const std::string& request_id = "",
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

class DeskError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An event as the client received it.
struct ReceivedEvent {
  onshi::v1::Event event;
  std::chrono::steady_clock::time_point received_at;  // when the stream delivered it
};

struct DeskOptions {
  std::vector<std::string> event_types;  // the subscription; empty = every type
  // When the stream ends (the daemon restarted, went away), subscribe again after the last cursor
  // received, as a vendor's client does. Without it, awaits fail once the stream ended.
  bool resume = false;
  // With resume: hang up after every this many events and resume (tests of the resume path).
  int hang_up_every = 0;
  std::chrono::milliseconds await_timeout{60000};  // the deadline of an await unless given
  std::chrono::milliseconds call_timeout{10000};   // the deadline of each unary call
};

class DeskClient {
 public:
  using Event = onshi::v1::Event;
  using EventMatch = std::function<bool(const Event&)>;

  DeskClient(int grpc_port, std::string token, DeskOptions options = {});
  ~DeskClient();  // cancels the event stream and joins its reader
  DeskClient(const DeskClient&) = delete;
  DeskClient& operator=(const DeskClient&) = delete;

  // Shown with every DeskError (e.g. the daemon's log at that moment).
  void set_context(std::function<std::string()> context);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  onshi::v1::CheckInService::Stub& checkins() { return *checkins_; }
  onshi::v1::ConsentService::Stub& consent() { return *consent_; }
  onshi::v1::FallbackService::Stub& fallback() { return *fallback_; }
  onshi::v1::ReaderService::Stub& readers() { return *readers_; }
  // The desk's token and the call deadline on `ctx`; `request_id` as x-request-id when not empty.
  void Prepare(grpc::ClientContext& ctx, const std::string& request_id = "") const;

  // --- check-ins ---
  // The daemon's answer as it is (refusals included).
  grpc::Status StartCheckIn(const onshi::v1::StartCheckInRequest& request, onshi::v1::CheckIn* out,
                            const std::string& request_id = "");
  // The started check-in; DeskError when the daemon refused.
  onshi::v1::CheckIn StartCheckIn(const onshi::v1::StartCheckInRequest& request,
                                  const std::string& request_id = "");
  onshi::v1::CheckIn GetCheckIn(const std::string& check_in_id);
  onshi::v1::AccessDecision CheckAccess(const std::string& check_in_id,
                                        onshi::v1::InformationKind kind,
                                        const std::string& request_id = "");
  // The check-in once it is in `state`: read now, and after each event that says it moved to
  // `state` (attributes check_in_id and state), which the subscription must include.
  onshi::v1::CheckIn AwaitState(const std::string& check_in_id, onshi::v1::CheckInState state,
                                std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // --- events ---
  // The oldest event of `type` not awaited yet, for check-in `check_in_id` ("" = any check-in).
  Event AwaitEvent(const std::string& type, const std::string& check_in_id = "",
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // The oldest event of `type` not awaited yet whose attribute `key` is `value`.
  Event AwaitEvent(const std::string& type, const std::string& key, const std::string& value,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // The oldest event not awaited yet that `matches`; `what` names it in the error.
  Event AwaitEvent(const std::string& what, const EventMatch& matches,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // As AwaitEvent, with the time it was received; nullopt (no exception) after the deadline or
  // once the stream ended.
  std::optional<ReceivedEvent> TryAwaitEvent(const EventMatch& matches,
                                             std::chrono::milliseconds timeout);

  // Every event received, awaited or not, in the order received.
  std::vector<Event> Received() const;
  // Events received and never awaited, oldest first.
  std::vector<Event> Unawaited() const;
  // Waits until an event with a cursor >= `cursor` was received (awaits nothing). False after
  // the deadline or once the stream ended.
  bool AwaitCursor(std::int64_t cursor, std::chrono::milliseconds timeout);
  // How often the stream was subscribed (more than once only with DeskOptions::resume).
  int Subscriptions() const;

 private:
  struct Buffered {
    ReceivedEvent received;
    bool awaited = false;
  };

  void ReadEvents();
  // Under mu_: the first unawaited match, marked awaited.
  std::optional<ReceivedEvent> TakeLocked(const EventMatch& matches);
  std::chrono::milliseconds Timeout(std::optional<std::chrono::milliseconds> timeout) const;
  [[noreturn]] void Fail(const std::string& what) const;

  const std::string token_;
  const DeskOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<onshi::v1::CheckInService::Stub> checkins_;
  std::unique_ptr<onshi::v1::ConsentService::Stub> consent_;
  std::unique_ptr<onshi::v1::FallbackService::Stub> fallback_;
  std::unique_ptr<onshi::v1::ReaderService::Stub> readers_;
  std::unique_ptr<onshi::v1::EventService::Stub> events_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Buffered> buffer_;
  std::int64_t last_cursor_ = 0;
  int subscriptions_ = 0;
  bool stream_ended_ = false;  // and not resumed
  bool stopping_ = false;
  std::shared_ptr<grpc::ClientContext> stream_ctx_;
  std::function<std::string()> context_;
  std::thread reader_;
};

}  // namespace onshid::testing
