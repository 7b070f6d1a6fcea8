#include "desk_client.h"

#include <algorithm>
#include <sstream>

namespace onshid::testing {

namespace v1 = onshi::v1;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string Describe(const grpc::Status& s) {
  std::ostringstream out;
  out << "status " << s.error_code() << ": " << s.error_message();
  return out.str();
}

}  // namespace

void Prepare(grpc::ClientContext& ctx, const std::string& token, const std::string& request_id,
             std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  if (!request_id.empty()) ctx.AddMetadata("x-request-id", request_id);
}

DeskClient::DeskClient(int grpc_port, std::string token, DeskOptions options)
    : token_(std::move(token)),
      options_(std::move(options)),
      channel_(grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port),
                                   grpc::InsecureChannelCredentials())),
      checkins_(v1::CheckInService::NewStub(channel_)),
      consent_(v1::ConsentService::NewStub(channel_)),
      fallback_(v1::FallbackService::NewStub(channel_)),
      readers_(v1::ReaderService::NewStub(channel_)),
      events_(v1::EventService::NewStub(channel_)) {
  reader_ = std::thread([this] { ReadEvents(); });
}

DeskClient::~DeskClient() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (stream_ctx_) stream_ctx_->TryCancel();
  }
  cv_.notify_all();
  reader_.join();
}

void DeskClient::set_context(std::function<std::string()> context) {
  std::lock_guard lock(mu_);
  context_ = std::move(context);
}

void DeskClient::Prepare(grpc::ClientContext& ctx, const std::string& request_id) const {
  testing::Prepare(ctx, token_, request_id, options_.call_timeout);
}

// ---- check-ins ----

grpc::Status DeskClient::StartCheckIn(const v1::StartCheckInRequest& request, v1::CheckIn* out,
                                      const std::string& request_id) {
  grpc::ClientContext ctx;
  Prepare(ctx, request_id);
  return checkins_->StartCheckIn(&ctx, request, out);
}

v1::CheckIn DeskClient::StartCheckIn(const v1::StartCheckInRequest& request,
                                     const std::string& request_id) {
  v1::CheckIn out;
  const grpc::Status s = StartCheckIn(request, &out, request_id);
  if (!s.ok()) Fail("StartCheckIn at " + request.desk_id() + " refused: " + Describe(s));
  return out;
}

v1::CheckIn DeskClient::GetCheckIn(const std::string& check_in_id) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::GetCheckInRequest request;
  request.set_check_in_id(check_in_id);
  v1::CheckIn out;
  const grpc::Status s = checkins_->GetCheckIn(&ctx, request, &out);
  if (!s.ok()) Fail("GetCheckIn " + check_in_id + " failed: " + Describe(s));
  return out;
}

v1::AccessDecision DeskClient::CheckAccess(const std::string& check_in_id, v1::InformationKind kind,
                                           const std::string& request_id) {
  grpc::ClientContext ctx;
  Prepare(ctx, request_id);
  v1::CheckAccessRequest request;
  request.set_check_in_id(check_in_id);
  request.set_kind(kind);
  v1::AccessDecision out;
  const grpc::Status s = consent_->CheckAccess(&ctx, request, &out);
  if (!s.ok()) Fail("CheckAccess " + check_in_id + " failed: " + Describe(s));
  return out;
}

v1::CheckIn DeskClient::AwaitState(const std::string& check_in_id, v1::CheckInState state,
                                   std::optional<std::chrono::milliseconds> timeout) {
  const auto deadline = SteadyClock::now() + Timeout(timeout);
  // Check-in events name the state they moved to without the enum's prefix ("VERIFIED").
  std::string name = v1::CheckInState_Name(state);
  const std::string prefix = "CHECK_IN_STATE_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  v1::CheckIn now = GetCheckIn(check_in_id);
  while (now.state() != state) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    AwaitEvent(
        "check-in " + check_in_id + " state=" + name + " (it is " +
            v1::CheckInState_Name(now.state()) + ")",
        [&](const v1::Event& e) {
          const auto& a = e.attributes();
          const auto id = a.find("check_in_id");
          const auto to = a.find("state");
          return id != a.end() && id->second == check_in_id && to != a.end() && to->second == name;
        },
        std::max(left, std::chrono::milliseconds(0)));
    now = GetCheckIn(check_in_id);
  }
  return now;
}

// ---- events ----

v1::Event DeskClient::AwaitEvent(const std::string& type, const std::string& check_in_id,
                                 std::optional<std::chrono::milliseconds> timeout) {
  if (check_in_id.empty()) {
    return AwaitEvent(
        type, [&](const v1::Event& e) { return e.type() == type; }, timeout);
  }
  return AwaitEvent(type, "check_in_id", check_in_id, timeout);
}

v1::Event DeskClient::AwaitEvent(const std::string& type, const std::string& key,
                                 const std::string& value,
                                 std::optional<std::chrono::milliseconds> timeout) {
  return AwaitEvent(
      type + " " + key + "=" + value,
      [&](const v1::Event& e) {
        if (e.type() != type) return false;
        const auto it = e.attributes().find(key);
        return it != e.attributes().end() && it->second == value;
      },
      timeout);
}

v1::Event DeskClient::AwaitEvent(const std::string& what, const EventMatch& matches,
                                 std::optional<std::chrono::milliseconds> timeout) {
  if (auto got = TryAwaitEvent(matches, Timeout(timeout))) return std::move(got->event);
  bool ended;
  {
    std::lock_guard lock(mu_);
    ended = stream_ended_;
  }
  Fail(ended ? "the event stream ended before " + what
             : "no " + what + " event within " + std::to_string(Timeout(timeout).count()) + " ms");
}

std::optional<ReceivedEvent> DeskClient::TryAwaitEvent(const EventMatch& matches,
                                                       std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::unique_lock lock(mu_);
  std::size_t scanned = 0;  // events before this index were checked already
  std::optional<ReceivedEvent> found;
  cv_.wait_until(lock, deadline, [&] {
    for (; scanned < buffer_.size(); ++scanned) {
      Buffered& b = buffer_[scanned];
      if (!b.awaited && matches(b.received.event)) {
        b.awaited = true;
        found = b.received;
        return true;
      }
    }
    return stream_ended_;
  });
  return found;
}

std::vector<v1::Event> DeskClient::Received() const {
  std::lock_guard lock(mu_);
  std::vector<v1::Event> out;
  out.reserve(buffer_.size());
  for (const auto& b : buffer_) out.push_back(b.received.event);
  return out;
}

bool DeskClient::AwaitCursor(std::int64_t cursor, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return last_cursor_ >= cursor || stream_ended_; }) &&
         last_cursor_ >= cursor;
}

std::vector<v1::Event> DeskClient::Unawaited() const {
  std::lock_guard lock(mu_);
  std::vector<v1::Event> out;
  for (const auto& b : buffer_) {
    if (!b.awaited) out.push_back(b.received.event);
  }
  return out;
}

int DeskClient::Subscriptions() const {
  std::lock_guard lock(mu_);
  return subscriptions_;
}

void DeskClient::ReadEvents() {
  while (true) {
    auto ctx = std::make_shared<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token_);
    v1::SubscribeRequest request;
    for (const auto& type : options_.event_types) request.add_types(type);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stream_ctx_ = ctx;
      request.set_after_cursor(last_cursor_);
      ++subscriptions_;
    }
    auto stream = events_->Subscribe(ctx.get(), request);
    v1::Event e;
    int read = 0;
    while (stream->Read(&e)) {
      const auto now = SteadyClock::now();
      {
        std::lock_guard lock(mu_);
        last_cursor_ = e.cursor();
        buffer_.push_back({{e, now}, false});
      }
      ++read;
      cv_.notify_all();
      if (options_.hang_up_every > 0 && read % options_.hang_up_every == 0) ctx->TryCancel();
    }
    (void)stream->Finish();
    std::unique_lock lock(mu_);
    stream_ctx_.reset();
    if (stopping_) return;
    if (!options_.resume) {
      stream_ended_ = true;
      lock.unlock();
      cv_.notify_all();
      return;
    }
    // The daemon is away: subscribe again, a little later when this connection got nothing.
    if (cv_.wait_for(lock, std::chrono::milliseconds(read > 0 ? 0 : 100),
                     [this] { return stopping_; })) {
      return;
    }
  }
}

std::chrono::milliseconds DeskClient::Timeout(
    std::optional<std::chrono::milliseconds> timeout) const {
  return timeout.value_or(options_.await_timeout);
}

void DeskClient::Fail(const std::string& what) const {
  std::function<std::string()> context;
  {
    std::lock_guard lock(mu_);
    context = context_;
  }
  throw DeskError(context ? what + "\n" + context() : what);
}

}  // namespace onshid::testing
