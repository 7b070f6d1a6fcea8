// The real onshid binary, started as a separate process on managed PostgreSQL, called over gRPC,
// REST and the health port on loopback.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "support/api_client.h"
#include "support/daemon_process.h"
#include "support/http_client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "onshi/v1/system.grpc.pb.h"

using namespace onshid::testing;

namespace {
std::string ConfigJson(const std::string& state_dir, const Ports& ports, const std::string& storage_extra = "",
                       const std::string& tokens = "") {
  return onshid::testing::ConfigJson({state_dir, ports, storage_extra, tokens, ""});
}
}  // namespace

TEST_CASE("the daemon serves gRPC, REST, health and metrics on managed PostgreSQL, then stops on SIGTERM") {
  TempDir dir;
  Ports ports;
  const std::string state = dir.path() + "/state";
  DaemonProcess daemon(dir.path(), ConfigJson(state, ports));
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  std::cout << "cold start (initdb + migrate) ready after " << daemon.ready_after().count() << " ms\n";
  CHECK(std::filesystem::exists(state + "/pgdata/PG_VERSION"));

  auto stub = SystemStub(ports.grpc);

  SECTION("GetStatus over gRPC echoes the request id and reports the database") {
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken, "test-req-1");
    onshi::v1::GetStatusResponse resp;
    grpc::Status s = stub->GetStatus(&ctx, {}, &resp);
    REQUIRE(s.ok());
    CHECK(InitialMetadata(ctx, "x-request-id") == "test-req-1");
    CHECK(resp.version() == "0.1.0");
    CHECK(resp.site_id() == "test-clinic");
    CHECK(resp.ready());
    CHECK(resp.schema_version() >= 1);
    CHECK(resp.start_time().seconds() > 0);
    bool db = false;
    for (const auto& d : resp.dependencies()) {
      if (d.name() == "database") {
        db = true;
        CHECK(d.state() == onshi::v1::DEPENDENCY_STATE_OK);
      }
    }
    CHECK(db);

    grpc::ClientContext ctx2;
    Prepare(ctx2, kReadToken);
    REQUIRE(stub->GetStatus(&ctx2, {}, &resp).ok());
    CHECK(InitialMetadata(ctx2, "x-request-id").size() == 36);  // generated UUID

    // Every log line is JSON; the request's lines carry its id; no token appears.
    bool saw_request_line = false;
    std::istringstream lines(daemon.log());
    for (std::string line; std::getline(lines, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      REQUIRE_FALSE(j.is_discarded());
      CHECK(j.contains("ts"));
      CHECK(j.contains("level"));
      CHECK(j.contains("component"));
      if (j.value("request_id", "") == "test-req-1") saw_request_line = true;
    }
    CHECK(saw_request_line);
    CHECK(daemon.log().find(kReadToken) == std::string::npos);
  }

  SECTION("a bad token and a missing scope are refused and counted") {
    onshi::v1::GetStatusResponse resp;
    grpc::ClientContext none;
    Prepare(none, "");
    grpc::Status s = stub->GetStatus(&none, {}, &resp);
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(ReasonOf(s) == "MISSING_CREDENTIALS");

    grpc::ClientContext bad;
    Prepare(bad, "not-a-token");
    s = stub->GetStatus(&bad, {}, &resp);
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(ReasonOf(s) == "INVALID_TOKEN");

    grpc::ClientContext scope;
    Prepare(scope, kReceptionToken);
    s = stub->GetStatus(&scope, {}, &resp);
    CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(ReasonOf(s) == "MISSING_SCOPE");

    auto rest = HttpCall(ports.rest, "GET", "/v1/status", {{"authorization", "Bearer wrong"}});
    CHECK(rest.status == 401);
    auto j = nlohmann::json::parse(rest.body);
    CHECK(j["code"] == 16);
    CHECK(rest.body.find("INVALID_TOKEN") != std::string::npos);

    auto rest403 = HttpCall(ports.rest, "POST", "/v1/audit:search",
                            {{"authorization", BearerHeader(kReadToken)}}, "{}");
    CHECK(rest403.status == 403);
    CHECK(rest403.body.find("MISSING_SCOPE") != std::string::npos);

    auto metrics = HttpCall(ports.health, "GET", "/metrics");
    CHECK(metrics.body.find(
              "onshid_auth_failures_total{method=\"/onshi.v1.SystemService/GetStatus\",reason=\"UNAUTHENTICATED\"} 3") !=
          std::string::npos);
    CHECK(metrics.body.find(
              "onshid_auth_failures_total{method=\"/onshi.v1.SystemService/GetStatus\",reason=\"PERMISSION_DENIED\"} 1") !=
          std::string::npos);
  }

  SECTION("GetStatus over REST goes through the same code path") {
    auto r = HttpCall(ports.rest, "GET", "/v1/status",
                      {{"authorization", BearerHeader(kReadToken)}, {"x-request-id", "rest-req-7"}});
    REQUIRE(r.status == 200);
    CHECK(r.headers["x-request-id"] == "rest-req-7");
    CHECK(r.headers["content-type"].find("application/json") == 0);
    auto j = nlohmann::json::parse(r.body);
    CHECK(j["version"] == "0.1.0");
    CHECK(j["ready"] == true);
    CHECK(j["siteId"] == "test-clinic");
    CHECK(j["dependencies"][0]["name"] == "database");
    CHECK(j["dependencies"][0]["state"] == "DEPENDENCY_STATE_OK");

    auto missing = HttpCall(ports.rest, "GET", "/v1/nothing", {{"authorization", BearerHeader(kReadToken)}});
    CHECK(missing.status == 404);
    auto wrong_verb = HttpCall(ports.rest, "DELETE", "/v1/status", {{"authorization", BearerHeader(kReadToken)}});
    CHECK(wrong_verb.status == 405);
  }

  SECTION("malformed and invalid JSON bodies are 400 naming the problem") {
    std::map<std::string, std::string> h = {{"authorization", BearerHeader(kAdminToken)},
                                            {"content-type", "application/json"}};
    auto broken = HttpCall(ports.rest, "POST", "/v1/audit:search", h, "{\"limit\": ");
    CHECK(broken.status == 400);
    CHECK(broken.body.find("INVALID_JSON") != std::string::npos);

    auto unknown = HttpCall(ports.rest, "POST", "/v1/audit:search", h, R"({"limt": 5})");
    CHECK(unknown.status == 400);
    CHECK(unknown.body.find("limt") != std::string::npos);

    auto range = HttpCall(ports.rest, "POST", "/v1/audit:search", h, R"({"limit": 5000})");
    CHECK(range.status == 400);
    auto j = nlohmann::json::parse(range.body);
    CHECK(range.body.find("google.rpc.BadRequest") != std::string::npos);
    CHECK(range.body.find("\"field\":\"limit\"") != std::string::npos);
    CHECK(range.body.find("ja-JP") != std::string::npos);

    auto big = HttpCall(ports.rest, "POST", "/v1/audit:search", h, std::string(8192, ' '));
    CHECK(big.status == 413);
  }

  SECTION("audited calls are written to audit_log, by channel") {
    std::map<std::string, std::string> h = {{"authorization", BearerHeader(kAdminToken)},
                                            {"x-request-id", "audit-rest-1"}};
    auto first = HttpCall(ports.rest, "POST", "/v1/audit:search", h, "{}");
    REQUIRE(first.status == 200);

    grpc::ClientContext ctx;
    Prepare(ctx, kAdminToken, "audit-grpc-1");
    onshi::v1::SearchAuditLogRequest req;
    req.set_request_id("audit-rest-1");
    onshi::v1::SearchAuditLogResponse resp;
    REQUIRE(stub->SearchAuditLog(&ctx, req, &resp).ok());
    REQUIRE(resp.entries_size() == 1);
    CHECK(resp.entries(0).client() == "ops");
    CHECK(resp.entries(0).channel() == "rest");
    CHECK(resp.entries(0).method() == "/onshi.v1.SystemService/SearchAuditLog");
    CHECK(resp.entries(0).outcome() == "OK");

    grpc::ClientContext ctx2;
    Prepare(ctx2, kAdminToken);
    req.set_request_id("audit-grpc-1");
    REQUIRE(stub->SearchAuditLog(&ctx2, req, &resp).ok());
    REQUIRE(resp.entries_size() == 1);
    CHECK(resp.entries(0).channel() == "grpc");

    // GetStatus touches no patient data and is not audited.
    grpc::ClientContext ctx3;
    Prepare(ctx3, kReadToken, "not-audited-1");
    onshi::v1::GetStatusResponse st;
    REQUIRE(stub->GetStatus(&ctx3, {}, &st).ok());
    grpc::ClientContext ctx4;
    Prepare(ctx4, kAdminToken);
    req.set_request_id("not-audited-1");
    REQUIRE(stub->SearchAuditLog(&ctx4, req, &resp).ok());
    CHECK(resp.entries_size() == 0);
  }

  SECTION("health, readiness and metrics over HTTP") {
    auto live = HttpCall(ports.health, "GET", "/healthz");
    CHECK(live.status == 200);
    auto ready = HttpCall(ports.health, "GET", "/readyz");
    CHECK(ready.status == 200);
    auto j = nlohmann::json::parse(ready.body);
    CHECK(j["ready"] == true);
    CHECK(j["dependencies"][0]["name"] == "database");
    CHECK(j["dependencies"][0]["state"] == "OK");

    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    onshi::v1::GetStatusResponse resp;
    REQUIRE(stub->GetStatus(&ctx, {}, &resp).ok());
    auto metrics = HttpCall(ports.health, "GET", "/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.headers["content-type"].find("text/plain") == 0);
    CHECK(metrics.body.find("onshid_build_info{version=\"0.1.0\"} 1") != std::string::npos);
    CHECK(metrics.body.find("onshid_rpc_requests_total{method=\"/onshi.v1.SystemService/GetStatus\",code=\"OK\"}") !=
          std::string::npos);
    CHECK(metrics.body.find("onshid_rpc_duration_seconds_bucket{method=\"/onshi.v1.SystemService/GetStatus\",code=\"OK\",le=\"+Inf\"}") !=
          std::string::npos);
    CHECK(metrics.body.find("onshid_uptime_seconds ") != std::string::npos);
    CHECK(metrics.body.find("onshid_db_pool_connections ") != std::string::npos);

    auto health_stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(ports.grpc), grpc::InsecureChannelCredentials()));
    for (const std::string service : {"", "onshi.v1.SystemService"}) {
      grpc::ClientContext hctx;
      hctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::health::v1::HealthCheckRequest hreq;
      hreq.set_service(service);
      grpc::health::v1::HealthCheckResponse hresp;
      REQUIRE(health_stub->Check(&hctx, hreq, &hresp).ok());
      CHECK(hresp.status() == grpc::health::v1::HealthCheckResponse::SERVING);
    }
  }

  SECTION("SIGHUP reloads the tokens") {
    const std::string new_token = "token-after-reload";
    std::ofstream(daemon.config_path())
        << ConfigJson(state, ports, "",
                      std::string(R"([{"name": "new", "sha256": ")") + Sha256Hex(new_token) +
                          R"(", "scopes": ["read"]}])");
    daemon.Signal(SIGHUP);
    REQUIRE(daemon.WaitNotify("READY=1", std::chrono::seconds(10)));
    onshi::v1::GetStatusResponse resp;
    grpc::ClientContext old_ctx;
    Prepare(old_ctx, kReadToken);
    CHECK(stub->GetStatus(&old_ctx, {}, &resp).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    grpc::ClientContext new_ctx;
    Prepare(new_ctx, new_token);
    CHECK(stub->GetStatus(&new_ctx, {}, &resp).ok());
  }

  daemon.Signal(SIGTERM);
  auto code = daemon.WaitExit(std::chrono::seconds(15));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(daemon.log().find("\"stopped\"") != std::string::npos);
  // The managed PostgreSQL was stopped with the daemon.
  CHECK_FALSE(std::filesystem::exists(state + "/pgdata/postmaster.pid"));
}

TEST_CASE("a second start reuses the managed cluster and its data") {
  TempDir dir;
  Ports ports;
  const std::string state = dir.path() + "/state";
  {
    DaemonProcess first(dir.path(), ConfigJson(state, ports));
    REQUIRE(first.Start());
    HttpCall(ports.rest, "POST", "/v1/audit:search",
             {{"authorization", BearerHeader(kAdminToken)}, {"x-request-id", "before-restart"}}, "{}");
    first.Signal(SIGTERM);
    REQUIRE(first.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
  }
  DaemonProcess second(dir.path(), ConfigJson(state, ports));
  REQUIRE(second.Start());
  INFO(second.log());
  std::cout << "warm start ready after " << second.ready_after().count() << " ms\n";
  auto r = HttpCall(ports.rest, "POST", "/v1/audit:search",
                    {{"authorization", BearerHeader(kAdminToken)}}, R"({"requestId": "before-restart"})");
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["entries"].size() == 1);
  second.Signal(SIGTERM);
  CHECK(second.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
}

TEST_CASE("bad configuration stops start-up with the key and file named") {
  TempDir dir;
  Ports ports;
  DaemonProcess daemon(dir.path(), R"({"grpc": {"listen": "127.0.0.1:1", "deadline": 5}})");
  CHECK_FALSE(daemon.Start(std::chrono::seconds(10)));
  CHECK(daemon.WaitExit(std::chrono::seconds(10)) == std::optional<int>(2));
  CHECK(daemon.log().find("grpc.deadline") != std::string::npos);
  CHECK(daemon.log().find(daemon.config_path()) != std::string::npos);
}
