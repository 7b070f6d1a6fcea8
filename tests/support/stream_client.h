#pragma once
// A test client that reads an HTTP response incrementally over loopback (streamed responses,
// Server-Sent Events), each step bounded by 5 s. Header-only: used by unit and integration tests.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace onshid::testing {

namespace stream_client_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Reads a streamed response incrementally, each read bounded by 5 s.
class StreamClient {
 public:
  explicit StreamClient(int port) {
    stream_.expires_after(5s);
    beast::error_code ec;
    stream_.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
    REQUIRE_FALSE(ec);
  }

  void Send(http::request<http::string_body> req) {
    req.prepare_payload();
    beast::error_code out;
    stream_.expires_after(5s);
    http::async_write(stream_, req, [&](beast::error_code ec, std::size_t) { out = ec; });
    Run();
    REQUIRE_FALSE(out);
  }

  // Reads the status line and headers; false on error.
  bool ReadHeader() {
    beast::error_code out;
    stream_.expires_after(5s);
    http::async_read_header(stream_, buffer_, parser_,
                            [&](beast::error_code ec, std::size_t) { out = ec; });
    Run();
    return !out;
  }

  const http::response<http::string_body>& response() const { return parser_.get(); }
  const std::string& body() const { return parser_.get().body(); }

  // Reads until the body received so far contains `needle`; false when the response or the
  // connection ended first.
  bool ReadUntil(std::string_view needle) {
    while (body().find(needle) == std::string::npos) {
      if (parser_.is_done() || ReadSome()) return false;
    }
    return true;
  }

  // Reads to the end of the response: true when it ended properly, false when the connection
  // ended or failed first (a truncated response).
  bool ReadToEnd() {
    while (!parser_.is_done()) {
      if (ReadSome()) return false;
    }
    return true;
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  beast::error_code ReadSome() {
    beast::error_code out;
    stream_.expires_after(5s);
    http::async_read_some(stream_, buffer_, parser_,
                          [&](beast::error_code ec, std::size_t) { out = ec; });
    Run();
    return out;
  }

  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

}  // namespace stream_client_detail

using stream_client_detail::StreamClient;

}  // namespace onshid::testing
