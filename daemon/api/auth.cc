#include "api/auth.h"

#include <algorithm>

#include <openssl/crypto.h>

namespace onshid::api {

bool Principal::Has(app::Scope scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

Authenticator::Authenticator(std::vector<app::ApiToken> tokens) { Reload(std::move(tokens)); }

void Authenticator::Reload(std::vector<app::ApiToken> tokens) {
  auto next = std::make_shared<const std::vector<app::ApiToken>>(std::move(tokens));
  std::lock_guard lock(mu_);
  tokens_ = std::move(next);
}

core::Result<Principal> Authenticator::Authenticate(std::string_view authorization) const {
  auto unauthenticated = [](std::string reason, std::string message) {
    core::DomainError e;
    e.kind = core::ErrorKind::kUnauthenticated;
    e.reason = std::move(reason);
    e.message = std::move(message);
    e.message_ja =
        "連携システムの認証に失敗しました。設定されたアクセストークンを確認してください。";
    return e;
  };
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return unauthenticated("MISSING_CREDENTIALS",
                           "no credentials: send the header 'authorization: Bearer <token>'");
  }
  if (authorization.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), authorization.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      })) {
    return unauthenticated("MISSING_CREDENTIALS",
                           "the authorization value must have the form 'Bearer <token>'");
  }
  std::string hash = HashToken(authorization.substr(kBearer.size()));
  std::shared_ptr<const std::vector<app::ApiToken>> tokens;
  {
    std::lock_guard lock(mu_);
    tokens = tokens_;
  }
  const app::ApiToken* found = nullptr;
  // Compare against every token so the time taken does not depend on which one matched.
  for (const auto& t : *tokens) {
    if (t.sha256.size() == hash.size() && CRYPTO_memcmp(t.sha256.data(), hash.data(), hash.size()) == 0) {
      found = &t;
    }
  }
  if (!found) return unauthenticated("INVALID_TOKEN", "the bearer token is not known to this daemon");
  return Principal{found->name, found->scopes};
}

core::Status Authenticator::Authorize(const Principal& principal, app::Scope required) {
  if (principal.Has(required)) return core::OkStatus();
  core::DomainError e;
  e.kind = core::ErrorKind::kPermissionDenied;
  e.reason = "MISSING_SCOPE";
  e.message = std::string("the token '") + principal.name + "' lacks the scope '" +
              app::ToString(required) + "' that this call needs";
  e.message_ja = "この操作を行う権限がありません。システム管理者に連絡してください。";
  e.metadata = {{"required_scope", app::ToString(required)}};
  return e;
}

}  // namespace onshid::api
