#pragma once
// Bearer-token authentication and scope checks for the gRPC and REST APIs.
//
// Tokens live in the configuration as SHA-256 hashes; a presented token is hashed and compared in
// constant time. The token set can be replaced at run time (SIGHUP) without dropping calls.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "app/token_hash.h"
#include "core/error.h"

namespace onshid::api {

struct Principal {
  std::string name;  // the token's configured name; safe to log and audit
  std::vector<app::Scope> scopes;
  bool Has(app::Scope scope) const;
};

class Authenticator {
 public:
  explicit Authenticator(std::vector<app::ApiToken> tokens);

  // Replaces the token set (thread-safe; calls in flight keep their principal).
  void Reload(std::vector<app::ApiToken> tokens);

  // `authorization` is the header / metadata value ("Bearer <token>"), or empty when absent.
  // Errors: kUnauthenticated with reason MISSING_CREDENTIALS or INVALID_TOKEN.
  core::Result<Principal> Authenticate(std::string_view authorization) const;

  // Errors: kPermissionDenied with reason MISSING_SCOPE (metadata required_scope).
  static core::Status Authorize(const Principal& principal, app::Scope required);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<app::ApiToken>> tokens_;
};

using app::HashToken;

}  // namespace onshid::api
