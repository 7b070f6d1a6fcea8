#pragma once
// A small asynchronous HTTP/1.1 server (Boost.Beast) with its own io_context and threads, used for
// the REST gateway and for the health/metrics port. It knows nothing about routes: every request
// goes to one Handler, which answers through a Responder from any thread.
//
// What the server does by itself:
//   - keep-alive (one request at a time per connection; pipelined requests wait their turn);
//   - a body limit enforced while parsing: 413, then the connection is closed;
//   - a per-request timeout covering both reading the request and waiting for the handler:
//     a request not fully received in time gets 408 and the connection is closed (an idle
//     keep-alive connection is just closed); a handler that has not answered in time gets 504
//     on its behalf, and its late Responder call is ignored;
//   - a connection cap: a connection beyond `max_connections` gets 503 and is closed;
//   - malformed HTTP gets 400 (431 for oversized headers) and the connection is closed;
//   - TLS 1.2+ when TlsFiles are given, with client certificates required and verified against
//     `client_ca_file` when it is set (mTLS);
//   - every response carries Content-Length and Content-Type, except streamed responses (below).
//
// Streaming (e.g. Server-Sent Events): a handler may answer with an HttpResponse whose `stream` is
// set. The server then sends the status and headers at once (chunked transfer encoding for
// HTTP/1.1, close-delimited for HTTP/1.0; always `Connection: close`), then every chunk the
// handler writes to the ResponseStream, in order, from any thread, until the handler closes it,
// the client goes away, the client reads too slowly, or the server stops. The per-request timeout
// bounds only the wait for the headers and each single write to the socket, not the stream's
// lifetime. An open stream counts as a connection towards `max_connections`.
// Error bodies come from the ErrorFormatter, so they look like the API's other errors.
//
// Logging: to the spdlog logger named after the server's `name` (created with the default
// logger's sinks if it does not exist). Lines carry a connection id, the method, status and
// duration; never paths, query strings, headers or bodies (they may hold personal data).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace onshid::api {

struct HttpLimits {
  std::size_t max_body_bytes = 1 << 20;
  // Bounds reading one request (from the connection's start, or from the end of the previous
  // response on a keep-alive connection), then, afresh, waiting for the handler's response; also
  // bounds writing a response and the TLS handshake.
  std::chrono::milliseconds request_timeout{10000};
  int max_connections = 64;
};

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  // Non-empty: clients must present a certificate issued by one of these CAs (mTLS).
  std::string client_ca_file;
};

struct HttpRequest {
  std::string method;  // as sent, e.g. "GET"
  std::string path;    // raw (still percent-encoded) target up to '?'
  std::string query;   // raw, after '?'; "" when none
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The value of the first header named `lower_name` (lower case), or "" when absent.
  std::string Header(std::string_view lower_name) const;
  // Whether a header named `lower_name` was sent (possibly empty).
  bool HasHeader(std::string_view lower_name) const;
};

// The body of a streamed response, written by the handler and sent by the server.
//
// Threading: Write(), Close() and IsOpen() may be called from any thread, concurrently. The
// handler keeps its std::shared_ptr for as long as it writes; the server keeps its own while the
// connection lives.
class ResponseStream {
 public:
  // Why a stream ended without the handler closing it.
  enum class EndReason {
    kClientGone,      // the client closed the connection, or a write to it failed
    kServerStopping,  // HttpServer::Stop() ended it (at the end of the grace period)
    kTooSlow,         // more than max_queued_bytes were waiting, or a write timed out
    kNotDelivered,    // the response never started: the request had timed out (504), the
                      // connection was gone, or the server had stopped
  };

  struct Options {
    // Write() beyond this many bytes waiting to be sent ends the stream as kTooSlow, and the
    // connection is closed without the final chunk, so the client sees a truncated response.
    std::size_t max_queued_bytes = 1 << 20;
    // When > 0: after this long without a chunk sent, the server sends `heartbeat_chunk`
    // (e.g. ": keep-alive\n\n" for SSE), so that proxies and clients see a live connection.
    std::chrono::milliseconds heartbeat_interval{0};
    std::string heartbeat_chunk;
    // Called at most once when the stream ends for any reason other than Close(): lets the handler
    // stop producing (e.g. cancel an upstream call). Called from an I/O thread, from the thread
    // calling HttpServer::Stop(), or from inside the Responder call when the response cannot be
    // delivered at all; never from inside Write() or Close(). Must not block.
    std::function<void(EndReason)> on_client_gone;
  };

  ResponseStream();
  explicit ResponseStream(Options options);
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  // Queues `chunk` to be sent after everything written before it. Returns false (and drops the
  // chunk) once the stream has ended or was closed; the handler should then stop writing. An empty
  // chunk is accepted and sends nothing. Writing before the response is handed to the Responder is
  // allowed: the chunks are sent right after the headers.
  bool Write(std::string chunk);

  // Ends the stream normally: what is queued is sent, then the end of the response, then the
  // connection is closed. Idempotent; on_client_gone is not called after it.
  void Close();

  // False once the stream was closed or has ended.
  bool IsOpen() const;

 private:
  friend struct ResponseStreamAccess;  // the server's side, in http_server.cc

  const std::size_t max_queued_bytes_;
  const std::chrono::milliseconds heartbeat_interval_;
  const std::string heartbeat_chunk_;

  mutable std::mutex mu_;
  std::string queued_;             // guarded by mu_
  bool closed_by_handler_ = false;  // guarded by mu_
  bool overflowed_ = false;         // guarded by mu_
  bool ended_ = false;              // guarded by mu_; the server is done with the stream
  bool wake_pending_ = false;       // guarded by mu_
  std::function<void()> wake_;      // guarded by mu_; set when a connection takes the stream
  std::function<void(EndReason)> on_client_gone_;  // guarded by mu_
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;  // ignored when `stream` is set
  // Extra headers. Content-Length, Content-Type, Connection and Transfer-Encoding are set by the
  // server (given ones are dropped), as are headers containing CR or LF. A streamed response gets
  // `Cache-Control: no-cache` unless a Cache-Control header is given.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: the response is streamed (see the top of this file); `status`, `content_type` and
  // `headers` are sent at once, the body comes from the stream.
  std::shared_ptr<ResponseStream> stream;
};

// Sends the response to the request it was given with. Must be called exactly once, from any
// thread. Safe to call after the request timed out, the connection closed or the server stopped
// (the call is then ignored, and a response's stream ends with kNotDelivered); a second call is
// ignored too.
using Responder = std::function<void(HttpResponse)>;

// Handles one request. Called on an I/O thread; must not block (hand long work to another executor
// and answer through the Responder when done).
using Handler = std::function<void(HttpRequest, Responder)>;

// Builds the responses the server produces itself: 400/431 (malformed HTTP), 408 (request read too
// slowly), 413 (body too large), 500 (the handler threw), 503 (too many connections), 504 (handler
// too slow). `reason` is a
// stable UPPER_SNAKE_CASE code ("BODY_TOO_LARGE"), `message` an English explanation. Called on
// I/O threads; must not block.
using ErrorFormatter =
    std::function<HttpResponse(int http_status, std::string_view reason, std::string_view message)>;

class HttpServer {
 public:
  // `listen` is "host:port" ("127.0.0.1:8080", "[::1]:0", "0.0.0.0:8443"); port 0 picks a free
  // port (see port()). `io_threads` >= 1. Nothing happens until Start().
  HttpServer(std::string name, std::string listen, HttpLimits limits, std::optional<TlsFiles> tls,
             Handler handler, ErrorFormatter error_formatter, int io_threads = 1);
  // Stops with no grace if still running.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS files, binds and starts accepting on the I/O threads. Errors (kind kUnavailable,
  // reason "HTTP_LISTEN_FAILED", message naming the address; or kind kFailedPrecondition, reason
  // "TLS_FILE_UNREADABLE", message naming the file) leave the server stopped. Call at most once.
  core::Status Start();

  // Stops accepting at once, closes idle connections, lets in-flight requests finish for up to
  // `grace` (open streams keep flowing meanwhile), then ends open streams (kServerStopping; each
  // gets the end of its response when it can be written promptly), closes everything and joins
  // the I/O threads. Idempotent; callable from any thread except an I/O thread of this server.
  void Stop(std::chrono::milliseconds grace);

  // The bound port (after a successful Start()), 0 before.
  int port() const;

  struct Stats {
    std::uint64_t requests;              // requests handed to the handler
    std::uint64_t rejected_connections;  // connections refused with 503
    std::uint64_t active_connections;    // admitted connections open now, streams included
    std::uint64_t active_streams;        // of which streaming a response
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace onshid::api
