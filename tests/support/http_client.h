#pragma once
// A minimal synchronous HTTP/1.1 client over loopback (Boost.Beast) for integration tests.

#include <map>
#include <string>

namespace onshid::testing {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                    const std::map<std::string, std::string>& headers = {},
                    const std::string& body = "");

}  // namespace onshid::testing
