#include "api/http_server.h"
#include "support/stream_client.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <thread>

namespace onshid::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

HttpResponse TestErrorFormatter(int status, std::string_view reason, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body =
      "{\"reason\":\"" + std::string(reason) + "\",\"message\":\"" + std::string(message) + "\"}";
  return r;
}

// Echoes what it was given, so tests can check the request as the handler saw it.
void EchoHandler(HttpRequest req, Responder respond) {
  HttpResponse r;
  r.content_type = "text/plain";
  r.body = req.method + " " + req.path + " ? " + req.query + " | " + req.Header("x-test") + " | " +
           req.body;
  r.headers.emplace_back("X-Reply", "yes");
  respond(std::move(r));
}

// A synchronous-looking client: each call runs its own io_context until the operation completes,
// bounded by the stream's 5 s timeout so that a broken server fails the test instead of hanging.
class Client {
 public:
  explicit Client(int port) {
    stream_.expires_after(5s);
    beast::error_code ec;
    stream_.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
    REQUIRE_FALSE(ec);
  }

  beast::error_code Write(http::request<http::string_body> req) {
    req.prepare_payload();
    beast::error_code out;
    stream_.expires_after(5s);
    http::async_write(stream_, req, [&](beast::error_code ec, std::size_t) { out = ec; });
    Run();
    return out;
  }

  beast::error_code WriteRaw(const std::string& bytes) {
    beast::error_code out;
    stream_.expires_after(5s);
    asio::async_write(stream_, asio::buffer(bytes),
                      [&](beast::error_code ec, std::size_t) { out = ec; });
    Run();
    return out;
  }

  beast::error_code Read(http::response<http::string_body>* res) {
    beast::error_code out;
    stream_.expires_after(5s);
    http::async_read(stream_, buffer_, *res, [&](beast::error_code ec, std::size_t) { out = ec; });
    Run();
    return out;
  }

  http::response<http::string_body> Send(http::request<http::string_body> req) {
    REQUIRE_FALSE(Write(std::move(req)));
    http::response<http::string_body> res;
    const beast::error_code ec = Read(&res);
    INFO(ec.message());
    REQUIRE_FALSE(ec);
    return res;
  }

  // True when the server has closed the connection (EOF or reset) without sending more.
  bool ClosedByServer() {
    http::response<http::string_body> res;
    const beast::error_code ec = Read(&res);
    return ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::eof;
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
};

http::request<http::string_body> Get(const std::string& target) {
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "localhost");
  return req;
}

http::request<http::string_body> Post(const std::string& target, std::string body) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  return req;
}

// Keeps Responders a test hands out later, and signals when a request arrived.
struct Parked {
  std::mutex mu;
  std::vector<Responder> responders;
  std::vector<std::promise<void>> arrived{8};
  std::size_t count = 0;

  Handler MakeHandler() {
    return [this](HttpRequest, Responder respond) {
      std::lock_guard lock(mu);
      responders.push_back(std::move(respond));
      if (count < arrived.size()) arrived[count].set_value();
      ++count;
    };
  }
  std::future<void> Arrival(std::size_t i) { return arrived.at(i).get_future(); }
  Responder Take(std::size_t i) {
    std::lock_guard lock(mu);
    return responders.at(i);
  }
};

HttpResponse Ok(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

TEST_CASE("HttpServer: two requests on one keep-alive connection", "[http_server]") {
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt, EchoHandler,
                    TestErrorFormatter, 2);
  auto started = server.Start();
  REQUIRE(started.ok());
  REQUIRE(server.port() > 0);

  Client client(server.port());
  auto req = Post("/v1/things/a%20b?x=1&y=2", "{\"a\":1}");
  req.set("X-Test", "hello");
  auto res = client.Send(std::move(req));
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "POST /v1/things/a%20b ? x=1&y=2 | hello | {\"a\":1}");
  CHECK(res[http::field::content_type] == "text/plain");
  CHECK(res[http::field::content_length] == std::to_string(res.body().size()));
  CHECK(res["X-Reply"] == "yes");
  CHECK(res.keep_alive());

  res = client.Send(Get("/second"));
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "GET /second ?  |  | ");
  CHECK(res.keep_alive());

  const auto stats = server.stats();
  CHECK(stats.requests == 2);
  CHECK(stats.active_connections == 1);
  CHECK(stats.rejected_connections == 0);
  server.Stop(1s);
  CHECK(server.stats().active_connections == 0);
  server.Stop(1s);  // idempotent
}

TEST_CASE("HttpServer: oversized body gets 413 and the connection is closed", "[http_server]") {
  HttpLimits limits;
  limits.max_body_bytes = 16;
  HttpServer server("http_test", "127.0.0.1:0", limits, std::nullopt, EchoHandler,
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());

  Client client(server.port());
  auto res = client.Send(Post("/x", std::string(100, 'a')));
  CHECK(res.result_int() == 413);
  CHECK(res[http::field::content_type] == "application/json");
  CHECK_THAT(res.body(), Catch::Contains("BODY_TOO_LARGE"));
  CHECK(res[http::field::content_length] == std::to_string(res.body().size()));
  CHECK_FALSE(res.keep_alive());
  CHECK(client.ClosedByServer());

  // A body within the limit is fine.
  Client ok_client(server.port());
  CHECK(ok_client.Send(Post("/x", "small")).result_int() == 200);
  server.Stop(1s);
}

TEST_CASE("HttpServer: malformed HTTP gets 400", "[http_server]") {
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt, EchoHandler,
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());
  Client client(server.port());
  REQUIRE_FALSE(client.WriteRaw("GET / HTTP/1.1\r\nBad Header\r\n\r\n"));
  http::response<http::string_body> res;
  REQUIRE_FALSE(client.Read(&res));
  CHECK(res.result_int() == 400);
  CHECK_THAT(res.body(), Catch::Contains("MALFORMED_REQUEST"));
  server.Stop(1s);
}

TEST_CASE("HttpServer: a connection over the cap gets 503", "[http_server]") {
  HttpLimits limits;
  limits.max_connections = 1;
  HttpServer server("http_test", "127.0.0.1:0", limits, std::nullopt, EchoHandler,
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());

  Client first(server.port());
  CHECK(first.Send(Get("/a")).result_int() == 200);  // admitted and held open

  Client second(server.port());
  auto res = second.Send(Get("/b"));
  CHECK(res.result_int() == 503);
  CHECK_THAT(res.body(), Catch::Contains("TOO_MANY_CONNECTIONS"));
  CHECK_FALSE(res.keep_alive());
  CHECK(second.ClosedByServer());

  CHECK(first.Send(Get("/c")).result_int() == 200);  // the admitted one still works
  const auto stats = server.stats();
  CHECK(stats.rejected_connections == 1);
  CHECK(stats.active_connections == 1);
  server.Stop(1s);
}

TEST_CASE("HttpServer: a handler that never answers gets 504; late answers are ignored",
          "[http_server]") {
  HttpLimits limits;
  limits.request_timeout = 200ms;
  Parked parked;
  HttpServer server("http_test", "127.0.0.1:0", limits, std::nullopt, parked.MakeHandler(),
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());

  Client client(server.port());
  const auto before = std::chrono::steady_clock::now();
  auto res = client.Send(Get("/slow"));
  CHECK(res.result_int() == 504);
  CHECK_THAT(res.body(), Catch::Contains("HANDLER_TIMEOUT"));
  CHECK(std::chrono::steady_clock::now() - before >= 200ms);

  // The late answer is dropped, twice, and the server keeps working.
  Responder late = parked.Take(0);
  late(Ok("late"));
  late(Ok("later"));
  Client again(server.port());
  auto second_arrival = parked.Arrival(1);
  REQUIRE_FALSE(again.Write(Get("/next")));
  second_arrival.wait();
  parked.Take(1)(Ok("on time"));
  http::response<http::string_body> res2;
  REQUIRE_FALSE(again.Read(&res2));
  CHECK(res2.result_int() == 200);
  CHECK(res2.body() == "on time");

  server.Stop(1s);
  late(Ok("after stop"));  // must not crash
}

TEST_CASE("HttpServer: a request read too slowly gets 408", "[http_server]") {
  HttpLimits limits;
  limits.request_timeout = 200ms;
  HttpServer server("http_test", "127.0.0.1:0", limits, std::nullopt, EchoHandler,
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());
  Client client(server.port());
  REQUIRE_FALSE(client.WriteRaw("GET /partial HTTP/1.1\r\nHost: x\r\n"));  // never finished
  http::response<http::string_body> res;
  REQUIRE_FALSE(client.Read(&res));
  CHECK(res.result_int() == 408);
  CHECK_THAT(res.body(), Catch::Contains("REQUEST_TIMEOUT"));
  CHECK(client.ClosedByServer());
  server.Stop(1s);
}

TEST_CASE("HttpServer: Stop lets an in-flight request finish, then closes", "[http_server]") {
  Parked parked;
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt, parked.MakeHandler(),
                    TestErrorFormatter, 2);
  REQUIRE(server.Start().ok());

  Client idle(server.port());  // connected, never sends: closed at once by Stop
  Client busy(server.port());
  auto arrival = parked.Arrival(0);
  REQUIRE_FALSE(busy.Write(Get("/work")));
  arrival.wait();

  auto stopped = std::async(std::launch::async, [&] { server.Stop(5s); });
  CHECK(idle.ClosedByServer());
  // Answer from another thread while Stop waits.
  std::thread([r = parked.Take(0)] { r(Ok("done")); }).join();
  http::response<http::string_body> res;
  REQUIRE_FALSE(busy.Read(&res));
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "done");
  CHECK_FALSE(res.keep_alive());
  stopped.wait();
  CHECK(server.stats().active_connections == 0);
  parked.Take(0)(Ok("again"));  // a second call after stop is ignored
}

TEST_CASE("HttpServer: Stop returns after the grace period when a handler never answers",
          "[http_server]") {
  Parked parked;
  auto server = std::make_unique<HttpServer>("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt,
                                             parked.MakeHandler(), TestErrorFormatter);
  REQUIRE(server->Start().ok());
  Client client(server->port());
  auto arrival = parked.Arrival(0);
  REQUIRE_FALSE(client.Write(Get("/hang")));
  arrival.wait();
  server->Stop(100ms);
  CHECK(client.ClosedByServer());
  Responder late = parked.Take(0);
  server.reset();
  late(Ok("too late"));  // the server is gone; must not crash
}

TEST_CASE("HttpServer: Start errors name the address or the file", "[http_server]") {
  HttpServer first("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt, EchoHandler,
                   TestErrorFormatter);
  REQUIRE(first.Start().ok());
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second("http_test", taken, HttpLimits{}, std::nullopt, EchoHandler,
                    TestErrorFormatter);
  auto st = second.Start();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().reason == "HTTP_LISTEN_FAILED");
  CHECK_THAT(st.error().message, Catch::Contains(taken));
  first.Stop(1s);

  HttpServer bad_address("http_test", "no-port-here", HttpLimits{}, std::nullopt, EchoHandler,
                         TestErrorFormatter);
  REQUIRE_FALSE(bad_address.Start().ok());

  TlsFiles files{"/nonexistent/onshid-cert.pem", "/nonexistent/onshid-key.pem", ""};
  HttpServer tls("http_test", "127.0.0.1:0", HttpLimits{}, files, EchoHandler, TestErrorFormatter);
  st = tls.Start();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().reason == "TLS_FILE_UNREADABLE");
  CHECK_THAT(st.error().message, Catch::Contains("/nonexistent/onshid-cert.pem"));
}

// A self-signed certificate and key for "localhost" in a temporary directory, removed afterwards.
class SelfSignedFiles {
 public:
  SelfSignedFiles() {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("onshid-http-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    REQUIRE(key != nullptr);
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    FILE* f = std::fopen(cert_.c_str(), "w");
    REQUIRE(f != nullptr);
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(key_.c_str(), "w");
    REQUIRE(f != nullptr);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~SelfSignedFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& cert() const { return cert_; }
  const std::string& key() const { return key_; }

 private:
  std::filesystem::path dir_;
  std::string cert_;
  std::string key_;
};

// One GET over TLS; returns the status, or 0 when the handshake or exchange failed.
int TlsGet(int port, const SelfSignedFiles* client_identity) {
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  if (client_identity != nullptr) {
    ctx.use_certificate_chain_file(client_identity->cert());
    ctx.use_private_key_file(client_identity->key(), asio::ssl::context::pem);
  }
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::get_lowest_layer(stream).expires_after(5s);
  beast::error_code ec;
  beast::get_lowest_layer(stream).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) return 0;
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  auto req = Get("/tls");
  int status = 0;
  stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code hec) {
    if (hec) return;
    http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) return;
      http::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) {
        if (!rec) status = res.result_int();
      });
    });
  });
  ioc.run();
  return status;
}

TEST_CASE("HttpServer: TLS, and client certificates when a client CA is set", "[http_server]") {
  SelfSignedFiles files;
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{},
                    TlsFiles{files.cert(), files.key(), ""}, EchoHandler, TestErrorFormatter);
  REQUIRE(server.Start().ok());
  CHECK(TlsGet(server.port(), nullptr) == 200);
  server.Stop(1s);

  // mTLS: the self-signed certificate is its own CA.
  HttpServer mtls("http_test", "127.0.0.1:0", HttpLimits{},
                  TlsFiles{files.cert(), files.key(), files.cert()}, EchoHandler,
                  TestErrorFormatter);
  REQUIRE(mtls.Start().ok());
  CHECK(TlsGet(mtls.port(), nullptr) == 0);
  CHECK(TlsGet(mtls.port(), &files) == 200);
  mtls.Stop(1s);
}

// ---- Streamed responses ----------------------------------------------------------------------

using onshid::testing::StreamClient;

// Answers every request with a stream and hands the stream to the test; records how it ended.
struct Streamer {
  std::mutex mu;
  std::vector<std::shared_ptr<ResponseStream>> streams;
  std::vector<std::promise<void>> arrived{4};
  std::promise<ResponseStream::EndReason> gone;
  std::size_t count = 0;
  ResponseStream::Options options;

  Handler MakeHandler() {
    return [this](HttpRequest, Responder respond) {
      ResponseStream::Options opts = options;
      opts.on_client_gone = [this](ResponseStream::EndReason reason) { gone.set_value(reason); };
      auto stream = std::make_shared<ResponseStream>(std::move(opts));
      HttpResponse r;
      r.content_type = "text/event-stream";
      r.headers.emplace_back("X-Stream", "yes");
      r.stream = stream;
      {
        std::lock_guard lock(mu);
        streams.push_back(stream);
        if (count < arrived.size()) arrived[count].set_value();
        ++count;
      }
      respond(std::move(r));
    };
  }
  std::future<void> Arrival(std::size_t i) { return arrived.at(i).get_future(); }
  std::shared_ptr<ResponseStream> Take(std::size_t i) {
    std::lock_guard lock(mu);
    return streams.at(i);
  }
};

TEST_CASE("HttpServer: a stream sends headers, then chunks written from another thread",
          "[http_server][stream]") {
  Streamer streamer;
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt,
                    streamer.MakeHandler(), TestErrorFormatter, 2);
  REQUIRE(server.Start().ok());
  StreamClient client(server.port());
  auto arrival = streamer.Arrival(0);
  client.Send(Get("/events"));
  REQUIRE(client.ReadHeader());
  CHECK(client.response().result_int() == 200);
  CHECK(client.response()[http::field::content_type] == "text/event-stream");
  CHECK(client.response()[http::field::cache_control] == "no-cache");
  CHECK(client.response()["X-Stream"] == "yes");
  CHECK(client.response().chunked());
  CHECK_FALSE(client.response().keep_alive());
  arrival.wait();
  CHECK(server.stats().active_streams == 1);

  std::string expected;
  for (int i = 0; i < 200; ++i) expected += "data: " + std::to_string(i) + "\n\n";
  std::thread writer([stream = streamer.Take(0)] {
    for (int i = 0; i < 200; ++i) {
      CHECK(stream->Write("data: " + std::to_string(i) + "\n\n"));
    }
    CHECK(stream->Write(""));  // empty chunks are harmless
    stream->Close();
    CHECK_FALSE(stream->Write("after close"));
    CHECK_FALSE(stream->IsOpen());
  });
  CHECK(client.ReadToEnd());
  writer.join();
  CHECK(client.body() == expected);
  CHECK(streamer.gone.get_future().wait_for(0s) == std::future_status::timeout);  // closed, not gone
  server.Stop(1s);
  CHECK(server.stats().active_connections == 0);
  CHECK(server.stats().active_streams == 0);
}

TEST_CASE("HttpServer: the client going away is reported and ends the stream",
          "[http_server][stream]") {
  Streamer streamer;
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt,
                    streamer.MakeHandler(), TestErrorFormatter);
  REQUIRE(server.Start().ok());
  auto gone = streamer.gone.get_future();
  {
    StreamClient client(server.port());
    auto arrival = streamer.Arrival(0);
    client.Send(Get("/events"));
    REQUIRE(client.ReadHeader());
    arrival.wait();
    REQUIRE(streamer.Take(0)->Write("data: one\n\n"));
    REQUIRE(client.ReadUntil("data: one"));
    client.Close();
  }
  REQUIRE(gone.wait_for(5s) == std::future_status::ready);
  CHECK(gone.get() == ResponseStream::EndReason::kClientGone);
  CHECK_FALSE(streamer.Take(0)->Write("data: two\n\n"));
  CHECK_FALSE(streamer.Take(0)->IsOpen());
  server.Stop(1s);
}

TEST_CASE("HttpServer: Stop ends an open stream", "[http_server][stream]") {
  Streamer streamer;
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt,
                    streamer.MakeHandler(), TestErrorFormatter);
  REQUIRE(server.Start().ok());
  StreamClient client(server.port());
  auto arrival = streamer.Arrival(0);
  client.Send(Get("/events"));
  REQUIRE(client.ReadHeader());
  arrival.wait();
  REQUIRE(streamer.Take(0)->Write("data: one\n\n"));
  REQUIRE(client.ReadUntil("data: one"));

  auto gone = streamer.gone.get_future();
  const auto before = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&] { server.Stop(10s); });
  CHECK(client.ReadToEnd());  // the end of the response arrives
  stopped.wait();
  // Nothing else was in flight: Stop did not wait for the grace period.
  CHECK(std::chrono::steady_clock::now() - before < 5s);
  REQUIRE(gone.wait_for(0s) == std::future_status::ready);
  CHECK(gone.get() == ResponseStream::EndReason::kServerStopping);
  CHECK_FALSE(streamer.Take(0)->Write("data: late\n\n"));
  CHECK(server.stats().active_connections == 0);
}

TEST_CASE("HttpServer: an open stream counts towards the connection cap",
          "[http_server][stream]") {
  HttpLimits limits;
  limits.max_connections = 1;
  Streamer streamer;
  HttpServer server("http_test", "127.0.0.1:0", limits, std::nullopt, streamer.MakeHandler(),
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());
  StreamClient stream_client(server.port());
  auto arrival = streamer.Arrival(0);
  stream_client.Send(Get("/events"));
  REQUIRE(stream_client.ReadHeader());
  arrival.wait();

  Client second(server.port());
  auto res = second.Send(Get("/b"));
  CHECK(res.result_int() == 503);
  CHECK_THAT(res.body(), Catch::Contains("TOO_MANY_CONNECTIONS"));
  const auto stats = server.stats();
  CHECK(stats.rejected_connections == 1);
  CHECK(stats.active_connections == 1);
  CHECK(stats.active_streams == 1);
  streamer.Take(0)->Close();
  CHECK(stream_client.ReadToEnd());
  server.Stop(1s);
}

TEST_CASE("HttpServer: an idle stream outlives the request timeout and sends heartbeats",
          "[http_server][stream]") {
  HttpLimits limits;
  limits.request_timeout = 200ms;
  Streamer streamer;
  streamer.options.heartbeat_interval = 60ms;
  streamer.options.heartbeat_chunk = ": hb\n\n";
  HttpServer server("http_test", "127.0.0.1:0", limits, std::nullopt, streamer.MakeHandler(),
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());
  StreamClient client(server.port());
  const auto before = std::chrono::steady_clock::now();
  client.Send(Get("/events"));
  REQUIRE(client.ReadHeader());
  CHECK(client.response().result_int() == 200);
  // Eight heartbeats take well over the 200 ms request timeout.
  REQUIRE(client.ReadUntil(": hb\n\n: hb\n\n: hb\n\n: hb\n\n: hb\n\n: hb\n\n: hb\n\n: hb\n\n"));
  CHECK(std::chrono::steady_clock::now() - before >= 400ms);
  REQUIRE(streamer.Take(0)->Write("data: still here\n\n"));
  REQUIRE(client.ReadUntil("data: still here\n\n"));
  streamer.Take(0)->Close();
  CHECK(client.ReadToEnd());
  server.Stop(1s);
}

TEST_CASE("HttpServer: a stream that queues too much is closed as too slow",
          "[http_server][stream]") {
  Streamer streamer;
  streamer.options.max_queued_bytes = 16;
  HttpServer server("http_test", "127.0.0.1:0", HttpLimits{}, std::nullopt,
                    [&](HttpRequest req, Responder respond) {
                      // Write before answering: the chunks wait for the headers.
                      streamer.MakeHandler()(std::move(req), [&](HttpResponse r) {
                        CHECK(r.stream->Write("0123456789"));
                        CHECK_FALSE(r.stream->Write("0123456789"));  // 20 > 16
                        CHECK_FALSE(r.stream->IsOpen());
                        respond(std::move(r));
                      });
                    },
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());
  auto gone = streamer.gone.get_future();
  StreamClient client(server.port());
  client.Send(Get("/events"));
  REQUIRE(client.ReadHeader());
  CHECK_FALSE(client.ReadToEnd());  // truncated: no final chunk
  REQUIRE(gone.wait_for(5s) == std::future_status::ready);
  CHECK(gone.get() == ResponseStream::EndReason::kTooSlow);
  server.Stop(1s);
}

TEST_CASE("HttpServer: a stream answered after the request timed out is not delivered",
          "[http_server][stream]") {
  HttpLimits limits;
  limits.request_timeout = 100ms;
  Parked parked;
  HttpServer server("http_test", "127.0.0.1:0", limits, std::nullopt, parked.MakeHandler(),
                    TestErrorFormatter);
  REQUIRE(server.Start().ok());
  Client client(server.port());
  CHECK(client.Send(Get("/slow")).result_int() == 504);

  std::promise<ResponseStream::EndReason> gone;
  ResponseStream::Options options;
  options.on_client_gone = [&](ResponseStream::EndReason reason) { gone.set_value(reason); };
  HttpResponse r;
  r.stream = std::make_shared<ResponseStream>(std::move(options));
  auto stream = r.stream;
  parked.Take(0)(std::move(r));
  auto reported = gone.get_future();
  REQUIRE(reported.wait_for(5s) == std::future_status::ready);
  CHECK(reported.get() == ResponseStream::EndReason::kNotDelivered);
  CHECK_FALSE(stream->Write("data: x\n\n"));
  server.Stop(1s);
}

}  // namespace
}  // namespace onshid::api
