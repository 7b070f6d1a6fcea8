// The real daemon in its other modes: an external PostgreSQL (storage.dsn), a database migrated by
// a newer version, TLS with client certificates, server reflection, and the onshictl client.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "reflection.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/pg_test_env.h"

using namespace onshid::testing;

TEST_CASE("with storage.dsn the daemon uses that server and runs no PostgreSQL of its own") {
  PgTestEnv& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  TempDir dir;
  Ports ports;
  const std::string state = dir.path() + "/state";
  DaemonProcess daemon(dir.path(), ConfigJson({state, ports, "", "", ""}),
                       {{"ONSHID_STORAGE_DSN", dsn}});
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  CHECK_FALSE(std::filesystem::exists(state + "/pgdata"));
  CHECK(daemon.log().find("configured PostgreSQL server") != std::string::npos);

  auto stub = SystemStub(ports.grpc);
  grpc::ClientContext ctx;
  Prepare(ctx, kReadToken);
  onshi::v1::GetStatusResponse resp;
  REQUIRE(stub->GetStatus(&ctx, {}, &resp).ok());
  CHECK(resp.ready());
  CHECK(resp.schema_version() >= 1);

  // The daemon migrated that database.
  pqxx::connection conn(dsn);
  pqxx::work tx(conn);
  CHECK(tx.exec1("SELECT max(version) FROM schema_migrations")[0].as<int>() == resp.schema_version());
  tx.commit();

  daemon.Signal(SIGTERM);
  CHECK(daemon.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
}

TEST_CASE("a database migrated by a newer onshid stops start-up with SCHEMA_TOO_NEW") {
  PgTestEnv& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  {
    pqxx::connection conn(dsn);
    pqxx::work tx(conn);
    tx.exec0(
        "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    tx.exec0("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')");
    tx.commit();
  }
  TempDir dir;
  Ports ports;
  DaemonProcess daemon(dir.path(), ConfigJson({dir.path() + "/state", ports, "", "", ""}),
                       {{"ONSHID_STORAGE_DSN", dsn}});
  CHECK_FALSE(daemon.Start(std::chrono::seconds(30)));
  CHECK(daemon.WaitExit(std::chrono::seconds(10)) == std::optional<int>(1));
  INFO(daemon.log());
  CHECK(daemon.log().find("SCHEMA_TOO_NEW") != std::string::npos);
  CHECK(daemon.log().find("9999") != std::string::npos);
}

TEST_CASE("TLS with required client certificates on gRPC and REST") {
  TempDir dir;
  const std::string d = dir.path();
  // A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate.
  const std::string script =
      "set -e; cd " + d + "; "
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=onshid-test-ca "
      "  -keyout ca.key -out ca.pem; "
      "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr; "
      "echo subjectAltName=DNS:localhost,IP:127.0.0.1 > san.ext; "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
      "  -extfile san.ext -out server.pem; "
      "openssl req -newkey rsa:2048 -nodes -subj /CN=rececon -keyout client.key -out client.csr; "
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
      "  -out client.pem";
  std::ofstream(d + "/make-certs.sh") << script << "\n";
  auto made = RunCommand("bash " + d + "/make-certs.sh");
  INFO(made.output);
  REQUIRE(made.exit_code == 0);

  Ports ports;
  const std::string tls = R"({"cert_file": ")" + d + R"(/server.pem", "key_file": ")" + d +
                          R"(/server.key", "client_ca_file": ")" + d + R"(/ca.pem"})";
  DaemonProcess daemon(d, ConfigJson({d + "/state", ports, "", "", tls}));
  REQUIRE(daemon.Start());
  INFO(daemon.log());

  auto channel = [&](bool with_client_cert) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(d + "/ca.pem");
    if (with_client_cert) {
      ssl.pem_cert_chain = ReadFile(d + "/client.pem");
      ssl.pem_private_key = ReadFile(d + "/client.key");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(ports.grpc),
                                     grpc::SslCredentials(ssl), args);
  };
  onshi::v1::GetStatusResponse resp;
  {
    auto stub = onshi::v1::SystemService::NewStub(channel(true));
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    auto s = stub->GetStatus(&ctx, {}, &resp);
    CHECK(s.ok());
    CHECK(resp.ready());
  }
  {
    auto stub = onshi::v1::SystemService::NewStub(channel(false));
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    CHECK_FALSE(stub->GetStatus(&ctx, {}, &resp).ok());
  }
  {
    auto stub = SystemStub(ports.grpc);  // plaintext against a TLS port
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    CHECK_FALSE(stub->GetStatus(&ctx, {}, &resp).ok());
  }
  const std::string url = "https://localhost:" + std::to_string(ports.rest) + "/v1/status";
  const std::string curl = "curl -sS --resolve localhost:" + std::to_string(ports.rest) +
                           ":127.0.0.1 --cacert " + d + "/ca.pem -H 'authorization: Bearer " +
                           kReadToken + "' ";
  auto with_cert = RunCommand(curl + "--cert " + d + "/client.pem --key " + d + "/client.key " + url);
  CHECK(with_cert.exit_code == 0);
  CHECK(with_cert.output.find("\"ready\":true") != std::string::npos);
  auto without_cert = RunCommand(curl + url);
  CHECK(without_cert.exit_code != 0);

  daemon.Signal(SIGTERM);
  CHECK(daemon.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
}

TEST_CASE("server reflection describes the API, onshictl talks to the daemon, the watchdog is fed") {
  TempDir dir;
  Ports ports;
  // As systemd does with WatchdogSec=: the daemon must send WATCHDOG=1 at half this interval.
  DaemonProcess daemon(dir.path(), ConfigJson({dir.path() + "/state", ports, "", "", ""}),
                       {{"WATCHDOG_USEC", "400000"}});
  REQUIRE(daemon.Start());
  INFO(daemon.log());

  SECTION("systemd watchdog keep-alive") {
    CHECK(daemon.WaitNotify("WATCHDOG=1", std::chrono::seconds(5)));
    CHECK(daemon.WaitNotify("WATCHDOG=1", std::chrono::seconds(5)));
  }

  SECTION("reflection lists the services and serves their descriptors") {
    auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(ports.grpc), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->ServerReflectionInfo(&ctx);
    grpc::reflection::v1alpha::ServerReflectionRequest req;
    req.set_list_services("");
    REQUIRE(stream->Write(req));
    grpc::reflection::v1alpha::ServerReflectionResponse resp;
    REQUIRE(stream->Read(&resp));
    std::vector<std::string> names;
    for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
    CHECK(std::find(names.begin(), names.end(), "onshi.v1.SystemService") != names.end());
    CHECK(std::find(names.begin(), names.end(), "grpc.health.v1.Health") != names.end());

    req.set_file_containing_symbol("onshi.v1.SystemService");
    REQUIRE(stream->Write(req));
    REQUIRE(stream->Read(&resp));
    REQUIRE(resp.has_file_descriptor_response());
    bool found = false;
    for (const auto& bytes : resp.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      REQUIRE(file.ParseFromString(bytes));
      if (file.name() == "onshi/v1/system.proto") found = true;
    }
    CHECK(found);
    stream->WritesDone();
    CHECK(stream->Finish().ok());
  }

  SECTION("onshictl status, health and errors") {
    const std::string ctl = std::string(ONSHICTL_BINARY) + " --addr 127.0.0.1:" + std::to_string(ports.grpc);
    auto status = RunCommand(ctl + " --token " + kReadToken + " --json status");
    REQUIRE(status.exit_code == 0);
    auto j = nlohmann::json::parse(status.output);
    CHECK(j["ready"] == true);
    CHECK(j["siteId"] == "test-clinic");

    auto human = RunCommand(ctl + " --token " + kReadToken + " status");
    CHECK(human.exit_code == 0);
    CHECK(human.output.find("database: OK") != std::string::npos);

    auto health = RunCommand(ctl + " health");
    CHECK(health.exit_code == 0);
    CHECK(health.output.find("SERVING") != std::string::npos);

    auto denied = RunCommand(ctl + " --token wrong status");
    CHECK(denied.exit_code == 1);
    CHECK(denied.output.find("INVALID_TOKEN") != std::string::npos);
    CHECK(denied.output.find("ja-JP") != std::string::npos);

    auto hashed = RunCommand(std::string(ONSHICTL_BINARY) + " hash-token " + kReadToken);
    CHECK(hashed.output == Sha256Hex(kReadToken) + "\n");
  }

  daemon.Signal(SIGTERM);
  CHECK(daemon.WaitExit(std::chrono::seconds(15)) == std::optional<int>(0));
}
