#include "api/event_service.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>

#include <google/protobuf/util/time_util.h>

#include "api/status_mapping.h"
#include "app/logging.h"

namespace onshid::api {
namespace {

constexpr int kBatch = 200;

// One subscriber. Reads run on the application executor; writes go out one at a time
// (OnWriteDone triggers the next). Lives until OnDone.
class SubscribeReactor final : public grpc::ServerWriteReactor<onshi::v1::Event> {
 public:
  SubscribeReactor(CallRunner& runner, std::shared_ptr<Call> call,
                   const onshi::v1::SubscribeRequest& request)
      : runner_(runner),
        deps_(runner.deps()),
        call_(std::move(call)),
        cursor_(request.after_cursor()),
        types_(request.types().begin(), request.types().end()),
        started_(deps_.clock->SteadyNow()) {
    // Open the stream at once (REST clients then see the SSE headers even when no event is due).
    StartSendInitialMetadata();
    // The store may run a wake callback after Unsubscribe() returned (it calls callbacks outside
    // its lock), so the callback goes through a guard that OnDone() clears.
    guard_ = std::make_shared<Guard>();
    guard_->reactor = this;
    handle_ = deps_.events->Subscribe([guard = guard_] {
      std::lock_guard lock(guard->mu);
      if (guard->reactor) guard->reactor->Wake();
    });
    Wake();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

  void OnDone() override {
    deps_.events->Unsubscribe(handle_);
    {
      std::lock_guard lock(guard_->mu);
      guard_->reactor = nullptr;
    }
    {
      // Wait until no read is in flight on the executor, so it never touches a dead reactor.
      std::unique_lock lock(mu_);
      idle_cv_.wait(lock, [this] { return !reading_; });
    }
    runner_.Finished(*call_, final_status_, started_);
    delete this;
  }

 private:
  struct Guard {
    std::mutex mu;
    SubscribeReactor* reactor = nullptr;
  };

  // Schedules a read of everything after the cursor (coalesced: one read at a time, and a wake
  // during a read triggers one more read afterwards).
  void Wake() {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (reading_) {
      wake_again_ = true;
      return;
    }
    reading_ = true;
    deps_.executor->Post([this] { Read(); });
  }

  void Read() {
    app::ScopedRequestId scoped(call_->request_id);
    while (true) {
      std::int64_t after;
      {
        std::lock_guard lock(mu_);
        if (finished_) break;
        wake_again_ = false;
        after = read_cursor_ > cursor_ ? read_cursor_ : cursor_;
      }
      auto batch = deps_.events->ListAfter(after, kBatch);
      std::lock_guard lock(mu_);
      if (!batch.ok()) {
        FinishLocked(ToGrpcStatus(batch.error()));
        break;
      }
      for (const auto& e : batch.value()) {
        read_cursor_ = e.cursor;
        if (!types_.empty() && !types_.count(e.type)) continue;
        queue_.push_back(ToProto(e));
      }
      WriteNextLocked();
      if (static_cast<int>(batch->size()) == kBatch) continue;  // more to replay
      if (!wake_again_) break;
    }
    std::lock_guard lock(mu_);
    reading_ = false;
    idle_cv_.notify_all();
  }

  void WriteNextLocked() {
    if (writing_ || finished_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    final_status_ = status;
    Finish(status);
  }

  CallRunner& runner_;
  const ApiDeps& deps_;
  std::shared_ptr<Call> call_;
  std::int64_t cursor_;
  std::set<std::string> types_;
  std::chrono::steady_clock::time_point started_;
  int handle_ = 0;
  std::shared_ptr<Guard> guard_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::deque<onshi::v1::Event> queue_;
  onshi::v1::Event current_;
  std::int64_t read_cursor_ = 0;
  bool reading_ = false;
  bool wake_again_ = false;
  bool writing_ = false;
  bool finished_ = false;
  grpc::Status final_status_;
};

// Refuses a stream before it starts (auth errors).
class RefusedReactor final : public grpc::ServerWriteReactor<onshi::v1::Event> {
 public:
  explicit RefusedReactor(grpc::Status status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

onshi::v1::Event ToProto(const core::Event& e) {
  onshi::v1::Event out;
  out.set_cursor(e.cursor);
  *out.mutable_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(e.at.time_since_epoch()).count());
  out.set_type(e.type);
  out.set_result_id(e.result_id);
  out.set_request_id(e.request_id);
  out.set_file_name(e.file_name);
  out.set_detail(e.detail);
  for (const auto& [k, v] : e.attributes) (*out.mutable_attributes())[k] = v;
  return out;
}

EventServiceImpl::EventServiceImpl(ApiDeps deps)
    : runner_(deps, onshi::v1::Event::descriptor()->file()->FindServiceByName("EventService")) {}

grpc::ServerWriteReactor<onshi::v1::Event>* EventServiceImpl::Subscribe(
    grpc::CallbackServerContext* ctx, const onshi::v1::SubscribeRequest* request) {
  auto admitted = runner_.Admit(ctx, "Subscribe");
  if (!admitted) {
    grpc::Status status = ToGrpcStatus(admitted.error());
    Call anonymous;
    anonymous.method = "/onshi.v1.EventService/Subscribe";
    runner_.Finished(anonymous, status, runner_.deps().clock->SteadyNow());
    return new RefusedReactor(status);
  }
  if (request->after_cursor() < 0) {
    return new RefusedReactor(ToGrpcStatus(core::InvalidArgument(
        "INVALID_CURSOR", "after_cursor must not be negative", "開始位置の指定が正しくありません。",
        {{"after_cursor", "must be 0 or a cursor from an earlier event"}})));
  }
  return new SubscribeReactor(runner_, std::move(admitted).value(), *request);
}

}  // namespace onshid::api
