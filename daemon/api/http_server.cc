#include "api/http_server.h"

#include "api/request_id.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>

namespace onshid::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Executor = asio::any_io_executor;  // the connection's strand

// Bytes read and thrown away after an error response before closing, so the peer's unread request
// does not turn our close into a reset that destroys the response in flight ("lingering close").
constexpr std::size_t kMaxDrainBytes = 1 << 20;
constexpr std::chrono::milliseconds kMaxDrainTime{2000};

std::shared_ptr<spdlog::logger> GetOrCreateLogger(const std::string& name) {
  if (auto logger = spdlog::get(name)) return logger;
  auto logger = std::make_shared<spdlog::logger>(name, spdlog::default_logger()->sinks().begin(),
                                                 spdlog::default_logger()->sinks().end());
  logger->set_level(spdlog::default_logger()->level());
  try {
    spdlog::register_logger(logger);
  } catch (const spdlog::spdlog_ex&) {
    // Another thread registered it first; use that one.
    if (auto existing = spdlog::get(name)) return existing;
  }
  return logger;
}

HttpResponse DefaultError(int status, std::string_view reason, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = "{\"code\":" + std::to_string(status) + ",\"reason\":\"" + std::string(reason) +
           "\",\"message\":\"" + std::string(message) + "\"}";
  return r;
}

// After Stop()'s grace, how long open streams get to send the end of their response.
constexpr std::chrono::milliseconds kStreamEndTime{500};

std::string Str(beast::string_view sv) { return std::string(sv.data(), sv.size()); }

// One HTTP/1.1 chunk ("<hex size>\r\n<data>\r\n"); `data` must not be empty.
std::string Chunk(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string size;
  for (std::size_t n = data.size(); n > 0; n >>= 4) size.insert(size.begin(), kHex[n & 0xF]);
  std::string out;
  out.reserve(size.size() + data.size() + 4);
  out.append(size).append("\r\n").append(data).append("\r\n");
  return out;
}

const char* EndReasonName(ResponseStream::EndReason reason) {
  switch (reason) {
    case ResponseStream::EndReason::kClientGone: return "client gone";
    case ResponseStream::EndReason::kServerStopping: return "server stopping";
    case ResponseStream::EndReason::kTooSlow: return "client too slow";
    case ResponseStream::EndReason::kNotDelivered: return "not delivered";
  }
  return "?";
}

}  // namespace

std::string HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

bool HttpRequest::HasHeader(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return true;
  }
  return false;
}

ResponseStream::ResponseStream() : ResponseStream(Options{}) {}

ResponseStream::ResponseStream(Options options)
    : max_queued_bytes_(options.max_queued_bytes),
      heartbeat_interval_(options.heartbeat_interval),
      heartbeat_chunk_(std::move(options.heartbeat_chunk)),
      on_client_gone_(std::move(options.on_client_gone)) {}

bool ResponseStream::Write(std::string chunk) {
  std::function<void()> wake;
  bool accepted = true;
  {
    std::lock_guard lock(mu_);
    if (closed_by_handler_ || overflowed_ || ended_) return false;
    if (chunk.empty()) return true;
    if (queued_.size() + chunk.size() > max_queued_bytes_) {
      // The server reports kTooSlow from an I/O thread (never from inside Write).
      overflowed_ = true;
      accepted = false;
      std::string().swap(queued_);
    } else if (queued_.empty()) {
      queued_ = std::move(chunk);
    } else {
      queued_ += chunk;
    }
    if (wake_ && !wake_pending_) {
      wake_pending_ = true;
      wake = wake_;
    }
  }
  if (wake) wake();
  return accepted;
}

void ResponseStream::Close() {
  std::function<void()> wake;
  std::function<void(EndReason)> dropped;  // destroyed outside the lock
  {
    std::lock_guard lock(mu_);
    if (closed_by_handler_ || ended_) return;
    closed_by_handler_ = true;
    dropped = std::move(on_client_gone_);
    on_client_gone_ = nullptr;
    if (wake_ && !wake_pending_) {
      wake_pending_ = true;
      wake = wake_;
    }
  }
  if (wake) wake();
}

bool ResponseStream::IsOpen() const {
  std::lock_guard lock(mu_);
  return !closed_by_handler_ && !overflowed_ && !ended_;
}

// The server's side of a ResponseStream.
struct ResponseStreamAccess {
  struct Taken {
    std::string data;
    bool closed = false;      // by the handler: send `data`, then the end of the response
    bool overflowed = false;  // too slow: abort the response
  };

  // Starts delivering: `wake` is called (from any thread, never under the stream's lock) when
  // there is something to send. Until the first Take() the stream counts as already woken.
  static void Attach(ResponseStream& s, std::function<void()> wake) {
    std::lock_guard lock(s.mu_);
    if (s.ended_) return;
    s.wake_ = std::move(wake);
    s.wake_pending_ = true;
  }

  static Taken Take(ResponseStream& s) {
    std::lock_guard lock(s.mu_);
    s.wake_pending_ = false;
    Taken t;
    t.data.swap(s.queued_);
    t.closed = s.closed_by_handler_;
    t.overflowed = s.overflowed_;
    return t;
  }

  // The server is done with the stream. Unless the handler closed it, reports `reason` (kTooSlow
  // when it overflowed) through on_client_gone. Idempotent. Returns the reason reported, if any.
  static std::optional<ResponseStream::EndReason> End(ResponseStream& s,
                                                      ResponseStream::EndReason reason) {
    std::function<void(ResponseStream::EndReason)> callback;
    std::function<void()> wake;  // destroyed outside the lock
    bool report = false;
    {
      std::lock_guard lock(s.mu_);
      if (s.ended_) return std::nullopt;
      s.ended_ = true;
      std::string().swap(s.queued_);
      if (s.overflowed_) reason = ResponseStream::EndReason::kTooSlow;
      report = !s.closed_by_handler_;
      callback = std::move(s.on_client_gone_);
      s.on_client_gone_ = nullptr;
      wake = std::move(s.wake_);
      s.wake_ = nullptr;
    }
    if (!report) return std::nullopt;
    if (callback) {
      try {
        callback(reason);
      } catch (const std::exception& e) {
        spdlog::error("response stream on_client_gone threw: {}", e.what());
      }
    }
    return reason;
  }

  static std::chrono::milliseconds HeartbeatInterval(const ResponseStream& s) {
    return s.heartbeat_interval_;
  }
  static const std::string& HeartbeatChunk(const ResponseStream& s) { return s.heartbeat_chunk_; }
};

namespace {

// Ends the stream of a response that will never be sent.
void DropResponse(HttpResponse& response) {
  if (response.stream) {
    ResponseStreamAccess::End(*response.stream, ResponseStream::EndReason::kNotDelivered);
  }
}

}  // namespace

namespace {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Begin() = 0;
  // Runs on the session's strand when the server starts stopping.
  virtual void OnServerStopping() = 0;
  // Runs on the session's strand at the end of Stop()'s grace: ends an open stream.
  virtual void OnStreamsEnding() = 0;
  virtual const Executor& executor() const = 0;
};

// State shared by the server, its sessions and outstanding Responders. It outlives the io_context:
// a Responder checks `stopped` under `mu` before posting, so nothing is posted to a destroyed
// io_context.
struct ServerShared {
  std::string name;
  HttpLimits limits;
  Handler handler;
  ErrorFormatter error_formatter;
  std::shared_ptr<spdlog::logger> logger;

  std::mutex mu;
  bool stopped = false;  // guarded by mu
  std::atomic<bool> stopping{false};

  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> active{0};     // admitted sessions alive
  std::atomic<std::uint64_t> rejecting{0};  // sessions alive only to send 503
  std::atomic<std::uint64_t> streaming{0};  // admitted sessions streaming a response
  std::atomic<bool> streams_ending{false};  // Stop() is ending streams; new ones end at once

  std::mutex idle_mu;
  std::condition_variable idle_cv;  // notified whenever a session ends

  std::mutex sessions_mu;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;

  HttpResponse FormatError(int status, std::string_view reason, std::string_view message) {
    if (error_formatter) {
      try {
        HttpResponse r = error_formatter(status, reason, message);
        r.status = status;
        return r;
      } catch (const std::exception& e) {
        logger->error("error formatter threw: {}", e.what());
      }
    }
    return DefaultError(status, reason, message);
  }
};

template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(std::shared_ptr<ServerShared> shared, Stream stream, std::uint64_t id, bool rejected)
      : shared_(std::move(shared)),
        executor_(stream.get_executor()),
        stream_(std::move(stream)),
        timer_(stream_.get_executor()),
        id_(id),
        rejected_(rejected),
        heartbeat_timer_(stream_.get_executor()) {}

  ~Session() override {
    if (body_stream_) ResponseStreamAccess::End(*body_stream_, ResponseStream::EndReason::kServerStopping);
    // Before `active`, so that Stop() never sees more streams than admitted sessions.
    if (counted_streaming_) shared_->streaming.fetch_sub(1);
    (rejected_ ? shared_->rejecting : shared_->active).fetch_sub(1);
    {
      std::lock_guard lock(shared_->sessions_mu);
      shared_->sessions.erase(id_);
    }
    { std::lock_guard lock(shared_->idle_mu); }
    shared_->idle_cv.notify_all();
  }

  const Executor& executor() const override { return executor_; }

  void Begin() override {
    if constexpr (kTls) {
      state_ = State::kHandshake;
      ArmTimer(shared_->limits.request_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      AfterHandshake();
    }
  }

  void OnServerStopping() override {
    if (state_ == State::kClosed) return;
    if (rejected_ || state_ == State::kClosing) {
      CloseNow();
    } else if (state_ == State::kReading && !GotSome()) {
      // Idle keep-alive connection: nothing in flight, close it now.
      stopping_cancel_ = true;
      beast::get_lowest_layer(stream_).cancel();
    }
    // A request being read, handled or written finishes; its response closes the connection.
    // An open stream goes on until OnStreamsEnding().
  }

  void OnStreamsEnding() override {
    if (state_ == State::kStreaming && stream_head_done_) {
      EndStream(ResponseStream::EndReason::kServerStopping, /*graceful=*/true);
    }
    // A stream whose headers are still being written ends once they are (streams_ending).
  }

 private:
  enum class State { kHandshake, kReading, kHandling, kWriting, kStreaming, kClosing, kClosed };
  // How an open stream is being ended by the server.
  enum class StreamEnd { kNone, kGraceful, kAbort };

  void OnHandshake(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) {
      shared_->logger->debug("conn {}: TLS handshake failed: {}", id_, ec.message());
      CloseNow();
      return;
    }
    AfterHandshake();
  }

  void AfterHandshake() {
    if (rejected_) {
      SendError(503, "TOO_MANY_CONNECTIONS", "the server has too many open connections");
    } else {
      DoRead();
    }
  }

  bool GotSome() const { return buffer_.size() > 0 || (parser_ && parser_->got_some()); }

  void ArmTimer(std::chrono::milliseconds timeout) {
    const std::uint64_t gen = ++timer_gen_;
    timer_.expires_after(timeout);
    timer_.async_wait([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (!ec && gen == self->timer_gen_) self->OnTimeout();
    });
  }

  void DisarmTimer() {
    ++timer_gen_;
    timer_.cancel();
  }

  void OnTimeout() {
    switch (state_) {
      case State::kReading:
        read_timed_out_ = true;
        beast::get_lowest_layer(stream_).cancel();
        break;
      case State::kHandling:
        ++seq_;  // the handler's late response no longer matches
        shared_->logger->warn("conn {}: {} handler did not answer within {} ms", id_, method_,
                              shared_->limits.request_timeout.count());
        SendError(504, "HANDLER_TIMEOUT", "the request was not answered in time");
        break;
      case State::kStreaming:
        // A single write (headers or chunk) took longer than the request timeout.
        shared_->logger->info("conn {}: stream write timed out", id_);
        EndStream(ResponseStream::EndReason::kTooSlow, /*graceful=*/false);
        break;
      case State::kHandshake:
      case State::kWriting:
      case State::kClosing:
        CloseNow();
        break;
      case State::kClosed:
        break;
    }
  }

  void DoRead() {
    state_ = State::kReading;
    read_timed_out_ = false;
    stopping_cancel_ = false;
    request_start_ = std::chrono::steady_clock::now();
    if (shared_->stopping && buffer_.size() == 0) {
      CloseNow();
      return;
    }
    parser_.emplace();
    parser_->body_limit(shared_->limits.max_body_bytes);
    ArmTimer(shared_->limits.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->OnReadHeader(ec);
                            });
  }

  void OnReadHeader(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) {
      OnReadError(ec);
      return;
    }
    const auto& req = parser_->get();
    const auto expect = req[http::field::expect];
    if (beast::iequals(expect, "100-continue") && !parser_->is_done()) {
      continue_ = std::make_unique<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *continue_,
                        [self = this->shared_from_this()](beast::error_code wec, std::size_t) {
                          if (self->state_ == State::kClosed) return;
                          if (wec) {
                            self->OnReadError(wec);
                            return;
                          }
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (self->state_ == State::kClosed) return;
                       if (ec) {
                         self->OnReadError(ec);
                       } else {
                         self->Dispatch();
                       }
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (read_timed_out_) {
      if (GotSome()) {
        SendError(408, "REQUEST_TIMEOUT", "the request was not received in time");
      } else {
        CloseNow();  // idle keep-alive connection: nothing to say
      }
      return;
    }
    if (stopping_cancel_ || ec == http::error::end_of_stream ||
        ec == http::error::partial_message) {
      CloseNow();
      return;
    }
    if (ec == http::error::body_limit) {
      SendError(
          413, "BODY_TOO_LARGE",
          "the request body exceeds " + std::to_string(shared_->limits.max_body_bytes) + " bytes");
      return;
    }
    if (ec == http::error::header_limit) {
      SendError(431, "HEADERS_TOO_LARGE", "the request headers are too large");
      return;
    }
    if (&ec.category() == &http::make_error_code(http::error::bad_target).category()) {
      SendError(400, "MALFORMED_REQUEST", "the request is not valid HTTP/1.1");
      return;
    }
    shared_->logger->debug("conn {}: read failed: {}", id_, ec.message());
    CloseNow();
  }

  void Dispatch() {
    // Waiting for the handler gets a window of its own: the read window may have been spent
    // mostly idle on a keep-alive connection.
    DisarmTimer();
    state_ = State::kHandling;
    request_start_ = std::chrono::steady_clock::now();
    ArmTimer(shared_->limits.request_timeout);
    const std::uint64_t seq = ++seq_;
    shared_->requests.fetch_add(1);

    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpRequest request;
    request.method = Str(req.method_string());
    method_ = request.method;
    const std::string target = Str(req.target());
    const std::size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    for (const auto& field : req) {
      std::string name = Str(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      });
      request.headers.emplace_back(std::move(name), Str(field.value()));
    }
    request.body = std::move(req.body());
    // Every answer carries an x-request-id: the client's when it sent an acceptable one; else one
    // made here. A request without one is handled under the new id (as if the client had sent
    // it); an unacceptable one is passed on unchanged, for the API to refuse.
    request_id_.clear();
    bool has_id = false;
    for (const auto& [name, value] : request.headers) {
      if (name != "x-request-id") continue;
      has_id = true;
      if (ValidRequestId(value)) request_id_ = value;
    }
    if (request_id_.empty()) request_id_ = NewRequestId();
    if (!has_id) request.headers.emplace_back("x-request-id", request_id_);

    auto called = std::make_shared<std::atomic<bool>>(false);
    Responder responder = [shared = shared_, weak = this->weak_from_this(), seq,
                           called](HttpResponse response) {
      if (called->exchange(true)) {
        DropResponse(response);
        return;
      }
      {
        std::lock_guard lock(shared->mu);
        if (!shared->stopped) {
          if (auto self = weak.lock()) {
            asio::post(self->executor_, [self, seq, response = std::move(response)]() mutable {
              self->OnResponse(seq, std::move(response));
            });
            return;
          }
        }
      }
      DropResponse(response);
    };
    try {
      shared_->handler(std::move(request), std::move(responder));
    } catch (const std::exception& e) {
      shared_->logger->error("conn {}: handler threw: {}", id_, e.what());
      if (!called->exchange(true)) {
        SendError(500, "INTERNAL", "the request handler failed");
      }
    }
  }

  void OnResponse(std::uint64_t seq, HttpResponse response) {
    if (state_ != State::kHandling || seq != seq_) {  // timed out or connection gone
      DropResponse(response);
      return;
    }
    DisarmTimer();
    if (response.stream) {
      StartStream(std::move(response));
      return;
    }
    Write(std::move(response), !keep_alive_ || shared_->stopping);
  }

  // Copies the handler's extra headers into `head`, except those the server sets or that would
  // break the framing. Returns true when a Cache-Control header was among them.
  template <typename Body>
  static bool CopyHeaders(const std::vector<std::pair<std::string, std::string>>& headers,
                          http::response<Body>* head) {
    bool cache_control = false;
    for (const auto& [name, value] : headers) {
      if (beast::iequals(name, "content-length") || beast::iequals(name, "content-type") ||
          beast::iequals(name, "connection") || beast::iequals(name, "transfer-encoding") ||
          name.empty() || name.find_first_of("\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        continue;
      }
      if (beast::iequals(name, "cache-control")) cache_control = true;
      head->set(name, value);
    }
    return cache_control;
  }

  // ---- Streamed responses --------------------------------------------------------------------
  // On the strand: at most one write in flight (headers, then chunks, heartbeats and the end of
  // the response), and, once the headers are out, one read watching for the client going away.

  void StartStream(HttpResponse r) {
    state_ = State::kStreaming;
    body_stream_ = std::move(r.stream);
    counted_streaming_ = true;
    shared_->streaming.fetch_add(1);
    {
      std::lock_guard lock(shared_->idle_mu);
    }
    shared_->idle_cv.notify_all();  // Stop() waits for sessions other than streams

    stream_chunked_ = version_ >= 11;
    stream_head_ = {};
    stream_head_.version(version_);
    stream_head_.result(static_cast<unsigned>(r.status));
    AddRequestId(r.headers);
    if (!CopyHeaders(r.headers, &stream_head_)) {
      stream_head_.set(http::field::cache_control, "no-cache");
    }
    stream_head_.set(http::field::content_type,
                     r.content_type.empty() ? "application/octet-stream" : r.content_type);
    stream_head_.keep_alive(false);
    if (stream_chunked_) stream_head_.chunked(true);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - request_start_)
                        .count();
    shared_->logger->debug("conn {}: {} -> {} stream opened in {} ms", id_, method_, r.status, ms);

    ResponseStreamAccess::Attach(*body_stream_, [shared = shared_, weak = this->weak_from_this()] {
      std::lock_guard lock(shared->mu);
      if (shared->stopped) return;
      if (auto self = weak.lock()) {
        asio::post(self->executor_, [self] { self->FlushStream(); });
      }
    });
    stream_sr_.emplace(stream_head_);
    stream_writing_ = true;
    ArmTimer(shared_->limits.request_timeout);
    http::async_write_header(stream_, *stream_sr_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->OnStreamWrite(ec);
                             });
  }

  void OnStreamWrite(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    DisarmTimer();
    stream_writing_ = false;
    if (ec) {
      shared_->logger->debug("conn {}: stream write failed: {}", id_, ec.message());
      EndStream(ResponseStream::EndReason::kClientGone, /*graceful=*/false);
      return;
    }
    if (!stream_head_done_) {
      stream_head_done_ = true;
      stream_sr_.reset();
      WatchClient();
      if (shared_->streams_ending) {
        EndStream(ResponseStream::EndReason::kServerStopping, /*graceful=*/true);
        return;
      }
    }
    if (stream_final_) {
      FinishStreamConnection();
      return;
    }
    FlushStream();
  }

  // Sends what the handler queued (and the end of the response once it closed or the server ends
  // the stream), or waits for more, with a heartbeat when configured.
  void FlushStream() {
    if (state_ != State::kStreaming || stream_writing_ || !stream_head_done_) return;
    std::string data;
    bool last = stream_end_ == StreamEnd::kGraceful;
    if (stream_end_ == StreamEnd::kNone) {
      ResponseStreamAccess::Taken taken = ResponseStreamAccess::Take(*body_stream_);
      if (taken.overflowed) {
        shared_->logger->info("conn {}: stream closed, client reads too slowly", id_);
        EndStream(ResponseStream::EndReason::kTooSlow, /*graceful=*/false);
        return;
      }
      data = std::move(taken.data);
      if (taken.closed) {
        last = true;
        stream_end_ = StreamEnd::kGraceful;
        ResponseStreamAccess::End(*body_stream_, ResponseStream::EndReason::kClientGone);  // no report
      }
    }
    std::string out;
    if (!data.empty()) out = stream_chunked_ ? Chunk(data) : std::move(data);
    if (last && stream_chunked_) out += "0\r\n\r\n";
    if (out.empty()) {
      if (last) {
        FinishStreamConnection();
      } else {
        ArmHeartbeat();
      }
      return;
    }
    stream_final_ = last;
    WriteStreamBytes(std::move(out));
  }

  void WriteStreamBytes(std::string out) {
    ++heartbeat_gen_;
    heartbeat_timer_.cancel();
    stream_out_ = std::move(out);
    stream_writing_ = true;
    ArmTimer(shared_->limits.request_timeout);
    asio::async_write(stream_, asio::buffer(stream_out_),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                        self->stream_bytes_ += n;
                        self->OnStreamWrite(ec);
                      });
  }

  void ArmHeartbeat() {
    const std::chrono::milliseconds interval = ResponseStreamAccess::HeartbeatInterval(*body_stream_);
    if (interval.count() <= 0 || ResponseStreamAccess::HeartbeatChunk(*body_stream_).empty()) return;
    const std::uint64_t gen = ++heartbeat_gen_;
    heartbeat_timer_.expires_after(interval);
    heartbeat_timer_.async_wait([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (!ec && gen == self->heartbeat_gen_) self->OnHeartbeat();
    });
  }

  void OnHeartbeat() {
    if (state_ != State::kStreaming || stream_writing_ || stream_end_ != StreamEnd::kNone) return;
    const std::string& chunk = ResponseStreamAccess::HeartbeatChunk(*body_stream_);
    WriteStreamBytes(stream_chunked_ ? Chunk(chunk) : chunk);
  }

  // Reads while streaming: a client of a streamed response sends nothing, so EOF or an error
  // means it has gone. Whatever it does send is discarded (bounded).
  void WatchClient() {
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->OnClientData(ec, n);
                            });
  }

  void OnClientData(beast::error_code ec, std::size_t n) {
    if (state_ == State::kClosed) return;
    drained_ += n;
    const bool gone = ec || drained_ > kMaxDrainBytes;
    if (state_ == State::kStreaming && gone) {
      shared_->logger->debug("conn {}: stream client gone ({})", id_,
                             ec ? ec.message() : "sent too much");
      EndStream(ResponseStream::EndReason::kClientGone, /*graceful=*/false);
    } else if (gone) {
      CloseNow();
    } else {
      WatchClient();
    }
  }

  // The server ends the stream: reports `reason` to the handler (unless it closed the stream
  // itself), then either sends the end of the response and closes, or closes at once.
  void EndStream(ResponseStream::EndReason reason, bool graceful) {
    if (stream_end_ == StreamEnd::kNone) {
      stream_end_ = graceful ? StreamEnd::kGraceful : StreamEnd::kAbort;
      if (auto reported = ResponseStreamAccess::End(*body_stream_, reason)) {
        shared_->logger->debug("conn {}: stream ended ({}) after {} bytes", id_,
                               EndReasonName(*reported), stream_bytes_);
      }
    } else if (!graceful) {
      stream_end_ = StreamEnd::kAbort;
    }
    if (stream_end_ == StreamEnd::kAbort) {
      CloseNow();
    } else {
      FlushStream();
    }
  }

  // After the end of a streamed response: half-close and let WatchClient() read until the client
  // closes too (bounded in time), so the end of the response is not lost to a reset.
  void FinishStreamConnection() {
    state_ = State::kClosing;
    if (shared_->stopping) {
      CloseNow();
      return;
    }
    ArmTimer(std::min(shared_->limits.request_timeout, kMaxDrainTime));
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) CloseNow();
  }

  // Adds the x-request-id of the request being answered unless the response has one (an error
  // sent before a request was read gets a new id).
  void AddRequestId(std::vector<std::pair<std::string, std::string>>& headers) {
    for (const auto& [name, value] : headers) {
      if (beast::iequals(name, "x-request-id")) return;
    }
    headers.emplace_back("x-request-id", request_id_.empty() ? NewRequestId() : request_id_);
  }

  void SendError(int status, std::string_view reason, const std::string& message) {
    shared_->logger->debug("conn {}: answering {} {}", id_, status, reason);
    Write(shared_->FormatError(status, reason, message), /*close=*/true);
  }

  void Write(HttpResponse r, bool close) {
    state_ = State::kWriting;
    close_after_write_ = close;
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    AddRequestId(r.headers);
    CopyHeaders(r.headers, &response_);
    response_.set(http::field::content_type,
                  r.content_type.empty() ? "application/octet-stream" : r.content_type);
    response_.body() = std::move(r.body);
    response_.keep_alive(!close);
    response_.prepare_payload();
    if (!method_.empty()) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - request_start_)
                          .count();
      shared_->logger->debug("conn {}: {} -> {} in {} ms", id_, method_, r.status, ms);
    }
    ArmTimer(shared_->limits.request_timeout);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->OnWrite(ec);
                      });
  }

  void OnWrite(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    DisarmTimer();
    method_.clear();
    if (ec) {
      shared_->logger->debug("conn {}: write failed: {}", id_, ec.message());
      CloseNow();
    } else if (close_after_write_ && shared_->stopping) {
      CloseNow();  // no lingering while the server stops
    } else if (close_after_write_) {
      Shutdown();
    } else {
      DoRead();
    }
  }

  // Graceful close: TLS close_notify, or TCP half-close followed by draining what the peer still
  // sends, each bounded in time.
  void Shutdown() {
    state_ = State::kClosing;
    ArmTimer(std::min(shared_->limits.request_timeout, kMaxDrainTime));
    if constexpr (kTls) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->CloseNow(); });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) {
        CloseNow();
        return;
      }
      Drain();
    }
  }

  void Drain() {
    beast::get_lowest_layer(stream_).socket().async_read_some(
        asio::buffer(drain_buf_),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
          if (self->state_ == State::kClosed) return;
          self->drained_ += n;
          if (ec || self->drained_ > kMaxDrainBytes) {
            self->CloseNow();
          } else {
            self->Drain();
          }
        });
  }

  void CloseNow() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    DisarmTimer();
    ++heartbeat_gen_;
    heartbeat_timer_.cancel();
    if (body_stream_ && stream_end_ == StreamEnd::kNone) {
      stream_end_ = StreamEnd::kAbort;
      ResponseStreamAccess::End(*body_stream_, ResponseStream::EndReason::kClientGone);
    }
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  std::shared_ptr<ServerShared> shared_;
  Executor executor_;
  Stream stream_;
  asio::steady_timer timer_;
  const std::uint64_t id_;
  const bool rejected_;

  State state_ = State::kReading;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<http::response<http::empty_body>> continue_;
  http::response<http::string_body> response_;
  std::string method_;  // of the request being answered, for log lines
  std::string request_id_;  // of the request being answered (x-request-id on every answer)
  std::chrono::steady_clock::time_point request_start_ = std::chrono::steady_clock::now();
  std::uint64_t seq_ = 0;        // number of the request being handled
  std::uint64_t timer_gen_ = 0;  // invalidates timer callbacks already queued
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool read_timed_out_ = false;
  bool stopping_cancel_ = false;
  std::size_t drained_ = 0;
  std::array<char, 4096> drain_buf_{};
  unsigned version_ = 11;  // HTTP version of the request being answered (11 = 1.1)

  // Streamed response (state kStreaming).
  std::shared_ptr<ResponseStream> body_stream_;
  asio::steady_timer heartbeat_timer_;
  std::uint64_t heartbeat_gen_ = 0;  // invalidates heartbeat callbacks already queued
  http::response<http::empty_body> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> stream_sr_;
  std::string stream_out_;  // the bytes of the write in flight
  std::uint64_t stream_bytes_ = 0;
  StreamEnd stream_end_ = StreamEnd::kNone;
  bool stream_chunked_ = false;
  bool stream_head_done_ = false;
  bool stream_writing_ = false;
  bool stream_final_ = false;  // the write in flight ends the response
  bool counted_streaming_ = false;
};

// Splits "host:port" / "[v6]:port". Returns false when there is no port.
bool SplitHostPort(const std::string& listen, std::string* host, std::string* port) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) return false;
  *host = listen.substr(0, colon);
  *port = listen.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  return std::all_of(port->begin(), port->end(), [](char c) { return c >= '0' && c <= '9'; });
}

core::DomainError ListenError(const std::string& listen, const std::string& what) {
  return core::Unavailable(
      "HTTP_LISTEN_FAILED", "cannot listen on " + listen + ": " + what,
      "通信ポートを開けないため起動できません。システム管理者に連絡してください。");
}

core::DomainError TlsError(const std::string& file, const std::string& what) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "TLS_FILE_UNREADABLE";
  e.message = "TLS file " + file + ": " + what;
  e.message_ja = "暗号化通信の設定ファイルを読み込めません。システム管理者に連絡してください。";
  return e;
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ServerShared> shared = std::make_shared<ServerShared>();
  std::string listen;
  std::optional<TlsFiles> tls;
  int io_threads = 1;

  std::mutex lifecycle_mu;  // serializes Start/Stop
  bool started = false;
  bool stopped = false;
  std::atomic<int> port{0};

  std::optional<ssl::context> ssl_ctx;
  std::unique_ptr<asio::io_context> ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_retry;
  std::vector<std::thread> threads;
  std::uint64_t next_id = 0;  // on the acceptor's strand

  std::optional<core::DomainError> SetUpTls() {
    const TlsFiles& files = *tls;
    ssl_ctx.emplace(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ssl_ctx->native_handle(), TLS1_2_VERSION);
    ssl_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    ssl_ctx->use_certificate_chain_file(files.cert_file, ec);
    if (ec) return TlsError(files.cert_file, "cannot load certificate chain: " + ec.message());
    ssl_ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
    if (ec) return TlsError(files.key_file, "cannot load private key: " + ec.message());
    if (SSL_CTX_check_private_key(ssl_ctx->native_handle()) != 1) {
      return TlsError(files.key_file, "private key does not match certificate " + files.cert_file);
    }
    if (!files.client_ca_file.empty()) {
      ssl_ctx->load_verify_file(files.client_ca_file, ec);
      if (ec) return TlsError(files.client_ca_file, "cannot load client CA: " + ec.message());
      ssl_ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(ssl_ctx->native_handle(), names);
      }
    }
    return std::nullopt;
  }

  void DoAccept() {
    acceptor->async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, tcp::socket s) {
      OnAccept(ec, std::move(s));
    });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      // Typically out of file descriptors: back off instead of spinning.
      shared->logger->warn("accept failed: {}", ec.message());
      accept_retry->expires_after(std::chrono::milliseconds(100));
      accept_retry->async_wait([this](beast::error_code tec) {
        if (!tec && acceptor->is_open()) DoAccept();
      });
      return;
    }
    const std::uint64_t id = ++next_id;
    const auto max = static_cast<std::uint64_t>(std::max(0, shared->limits.max_connections));
    bool rejected = false;
    if (shared->active.load() >= max) {
      rejected = true;
      shared->rejected.fetch_add(1);
      if (shared->rejecting.load() >= std::max<std::uint64_t>(max, 8)) {
        // Too many refusals in flight already: drop without a response.
        beast::error_code ignored;
        socket.close(ignored);
        DoAccept();
        return;
      }
      shared->rejecting.fetch_add(1);
      shared->logger->warn("conn {}: refused, {} connections open", id, shared->active.load());
    } else {
      shared->active.fetch_add(1);
    }
    std::shared_ptr<SessionBase> session;
    if (ssl_ctx) {
      session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          shared,
          beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *ssl_ctx), id,
          rejected);
    } else {
      session = std::make_shared<Session<beast::tcp_stream>>(
          shared, beast::tcp_stream(std::move(socket)), id, rejected);
    }
    {
      std::lock_guard lock(shared->sessions_mu);
      shared->sessions.emplace(id, session);
    }
    asio::post(session->executor(), [session] { session->Begin(); });
    DoAccept();
  }
};

HttpServer::HttpServer(std::string name, std::string listen, HttpLimits limits,
                       std::optional<TlsFiles> tls, Handler handler, ErrorFormatter error_formatter,
                       int io_threads)
    : impl_(std::make_shared<Impl>()) {
  impl_->shared->logger = GetOrCreateLogger(name);
  impl_->shared->name = std::move(name);
  impl_->shared->limits = limits;
  impl_->shared->handler = std::move(handler);
  impl_->shared->error_formatter = std::move(error_formatter);
  impl_->listen = std::move(listen);
  impl_->tls = std::move(tls);
  impl_->io_threads = std::max(1, io_threads);
}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

core::Status HttpServer::Start() {
  Impl& im = *impl_;
  std::lock_guard lock(im.lifecycle_mu);
  if (im.started || im.stopped) return core::Internal("HttpServer::Start called twice");

  std::string host;
  std::string port;
  if (!SplitHostPort(im.listen, &host, &port)) {
    return ListenError(im.listen, "expected host:port");
  }
  if (im.tls) {
    if (auto error = im.SetUpTls()) return *std::move(error);
  }

  im.ioc = std::make_unique<asio::io_context>(im.io_threads);
  beast::error_code ec;
  tcp::resolver resolver(*im.ioc);
  const auto results = resolver.resolve(host, port, tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    im.ioc.reset();
    return ListenError(im.listen, ec ? ec.message() : "address not found");
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(*im.ioc));
  auto fail = [&](const std::string& step) {
    acceptor.reset();
    im.ioc.reset();
    return ListenError(im.listen, step + ": " + ec.message());
  };
  acceptor->open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("setsockopt");
  acceptor->bind(endpoint, ec);
  if (ec) return fail("bind " + endpoint.address().to_string());
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  im.port = acceptor->local_endpoint(ec).port();
  im.acceptor = std::move(acceptor);
  im.accept_retry = std::make_unique<asio::steady_timer>(im.acceptor->get_executor());
  im.work.emplace(im.ioc->get_executor());
  for (int i = 0; i < im.io_threads; ++i) {
    im.threads.emplace_back([ioc = im.ioc.get(), logger = im.shared->logger] {
      while (true) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          logger->error("I/O thread caught: {}", e.what());
        }
      }
    });
  }
  asio::post(im.acceptor->get_executor(), [impl = impl_.get()] { impl->DoAccept(); });
  im.started = true;
  im.shared->logger->info("{} listening on {} (port {}{})", im.shared->name, im.listen,
                          im.port.load(), im.tls ? ", TLS" : "");
  return core::OkStatus();
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  Impl& im = *impl_;
  std::lock_guard lock(im.lifecycle_mu);
  if (!im.started || im.stopped) {
    im.stopped = true;
    return;
  }
  im.stopped = true;
  ServerShared& shared = *im.shared;
  shared.stopping = true;

  // Stop accepting at once.
  std::promise<void> closed;
  asio::post(im.acceptor->get_executor(), [&im, &closed] {
    beast::error_code ec;
    im.acceptor->close(ec);
    im.accept_retry->cancel();
    closed.set_value();
  });
  closed.get_future().wait();

  // Close idle connections; let the others finish their request.
  std::vector<std::shared_ptr<SessionBase>> sessions;
  {
    std::lock_guard sessions_lock(shared.sessions_mu);
    for (const auto& [id, weak] : shared.sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (const auto& s : sessions) asio::post(s->executor(), [s] { s->OnServerStopping(); });
  sessions.clear();

  // Open streams do not end by themselves: wait for the other sessions only.
  {
    std::unique_lock idle_lock(shared.idle_mu);
    shared.idle_cv.wait_for(idle_lock, grace, [&] {
      return shared.active.load() <= shared.streaming.load() && shared.rejecting.load() == 0;
    });
  }

  // End open streams, giving each a moment to send the end of its response.
  shared.streams_ending = true;
  if (shared.streaming.load() > 0) {
    {
      std::lock_guard sessions_lock(shared.sessions_mu);
      for (const auto& [id, weak] : shared.sessions) {
        if (auto s = weak.lock()) sessions.push_back(std::move(s));
      }
    }
    for (const auto& s : sessions) asio::post(s->executor(), [s] { s->OnStreamsEnding(); });
    sessions.clear();
    std::unique_lock idle_lock(shared.idle_mu);
    shared.idle_cv.wait_for(idle_lock, kStreamEndTime,
                            [&] { return shared.streaming.load() == 0; });
  }

  // Close everything: no Responder may post any more, then the io_context and with it every
  // remaining session and socket is destroyed.
  {
    std::lock_guard stopped_lock(shared.mu);
    shared.stopped = true;
  }
  im.work.reset();
  im.ioc->stop();
  for (std::thread& t : im.threads) t.join();
  im.threads.clear();
  im.accept_retry.reset();
  im.acceptor.reset();
  im.ioc.reset();
  shared.logger->info("{} stopped", shared.name);
}

int HttpServer::port() const { return impl_->port.load(); }

HttpServer::Stats HttpServer::stats() const {
  const ServerShared& s = *impl_->shared;
  return Stats{s.requests.load(), s.rejected.load(), s.active.load(), s.streaming.load()};
}

}  // namespace onshid::api
