#include <catch2/catch.hpp>

#include "api/auth.h"
#include "api/metrics.h"

using namespace onshid;

TEST_CASE("bearer tokens are checked by hash and scopes are enforced") {
  api::Authenticator auth({{"desk", api::HashToken("s3cret"), {app::Scope::kRead}}});
  auto missing = auth.Authenticate("");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().reason == "MISSING_CREDENTIALS");
  CHECK(missing.error().kind == core::ErrorKind::kUnauthenticated);

  auto wrong = auth.Authenticate("Bearer nope");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().reason == "INVALID_TOKEN");

  auto basic = auth.Authenticate("Basic czNjcmV0");
  REQUIRE_FALSE(basic.ok());
  CHECK(basic.error().reason == "MISSING_CREDENTIALS");

  auto ok = auth.Authenticate("Bearer s3cret");
  REQUIRE(ok.ok());
  CHECK(ok->name == "desk");
  CHECK(api::Authenticator::Authorize(*ok, app::Scope::kRead).ok());
  auto denied = api::Authenticator::Authorize(*ok, app::Scope::kAdmin);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().kind == core::ErrorKind::kPermissionDenied);
  CHECK(denied.error().reason == "MISSING_SCOPE");

  auth.Reload({{"ops", api::HashToken("other"), {app::Scope::kAdmin}}});
  CHECK_FALSE(auth.Authenticate("Bearer s3cret").ok());
  CHECK(auth.Authenticate("bearer other").ok());
}

TEST_CASE("token hash is the hex SHA-256") {
  CHECK(api::HashToken("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("metrics render counters, histograms and sampled gauges") {
  api::Metrics m("1.2.3");
  m.ObserveRpc("/onshi.v1.SystemService/GetStatus", "OK", 0.003);
  m.ObserveRpc("/onshi.v1.SystemService/GetStatus", "OK", 0.2);
  m.CountAuthFailure("/onshi.v1.SystemService/GetStatus", "UNAUTHENTICATED");
  m.AddSampler([] {
    return std::vector<api::Metrics::Sample>{{"onshid_db_pool_busy", "busy", {}, 2},
                                             {"onshid_dependency_up", "up", {{"name", "data\"base"}}, 1}};
  });
  std::string text = m.Render();
  CHECK(text.find("onshid_build_info{version=\"1.2.3\"} 1") != std::string::npos);
  CHECK(text.find("onshid_rpc_requests_total{method=\"/onshi.v1.SystemService/GetStatus\",code=\"OK\"} 2") !=
        std::string::npos);
  CHECK(text.find("le=\"0.005\"} 1") != std::string::npos);
  CHECK(text.find("le=\"0.25\"} 2") != std::string::npos);
  CHECK(text.find("le=\"+Inf\"} 2") != std::string::npos);
  CHECK(text.find("onshid_auth_failures_total{method=\"/onshi.v1.SystemService/GetStatus\",reason=\"UNAUTHENTICATED\"} 1") !=
        std::string::npos);
  CHECK(text.find("onshid_db_pool_busy 2") != std::string::npos);
  CHECK(text.find("onshid_dependency_up{name=\"data\\\"base\"} 1") != std::string::npos);
}
