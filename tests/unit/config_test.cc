#include <catch2/catch.hpp>

#include <fstream>

#include "app/config.h"

using onshid::app::Config;
using onshid::app::ConfigError;
using onshid::app::ParseConfig;

namespace {

// The key a parse error names, or "" when it parsed.
std::string KeyOfError(const std::string& text) {
  try {
    ParseConfig(text, "/etc/onshid/test.jsonc");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("/etc/onshid/test.jsonc") != std::string::npos);
    CHECK(std::string(e.what()).find(e.key()) != std::string::npos);
    return e.key();
  }
  return "";
}

}  // namespace

TEST_CASE("empty object gives the documented defaults") {
  Config c = ParseConfig("{}", "x");
  CHECK(c.grpc.listen == "127.0.0.1:50051");
  CHECK(c.rest.listen == "127.0.0.1:8080");
  CHECK(c.health.listen == "127.0.0.1:9464");
  CHECK(c.storage.dsn.empty());
  CHECK(c.storage.managed.run_as == "onshid");
  CHECK(c.log.level == "info");
  CHECK(c.auth.tokens.empty());
}

TEST_CASE("comments are allowed and values are read") {
  const std::string text = R"({
    // line comment
    "site_id": "clinic-a", /* block */
    "grpc": {"listen": "0.0.0.0:6000", "default_deadline_ms": 2000},
    "auth": {"tokens": [{"name": "desk", "sha256": ")" + std::string(64, 'a') +
                           R"(", "scopes": ["read", "reception"]}]},
    "storage": {"dsn": "host=/tmp dbname=x", "managed": {"run_as": "pg"}}
  })";
  Config c = ParseConfig(text, "x");
  CHECK(c.site_id == "clinic-a");
  CHECK(c.grpc.listen == "0.0.0.0:6000");
  CHECK(c.grpc.default_deadline_ms == 2000);
  REQUIRE(c.auth.tokens.size() == 1);
  CHECK(c.auth.tokens[0].name == "desk");
  CHECK(c.auth.tokens[0].scopes.size() == 2);
  CHECK(c.storage.dsn == "host=/tmp dbname=x");
  CHECK(c.storage.managed.run_as == "pg");
}

TEST_CASE("every error names its key") {
  const std::string hash(64, 'b');
  CHECK(KeyOfError(R"({"sitee_id": "x"})") == "sitee_id");
  CHECK(KeyOfError(R"({"grpc": {"lisen": "x"}})") == "grpc.lisen");
  CHECK(KeyOfError(R"({"storage": {"managed": {"user": "x"}}})") == "storage.managed.user");
  CHECK(KeyOfError(R"({"grpc": {"listen": 5}})") == "grpc.listen");
  CHECK(KeyOfError(R"({"grpc": {"listen": "nohostport"}})") == "grpc.listen");
  CHECK(KeyOfError(R"({"rest": {"max_connections": 0}})") == "rest.max_connections");
  CHECK(KeyOfError(R"({"rest": {"max_body_bytes": "big"}})") == "rest.max_body_bytes");
  CHECK(KeyOfError(R"({"rest": {"enabled": 1}})") == "rest.enabled");
  CHECK(KeyOfError(R"({"log": {"level": "loud"}})") == "log.level");
  CHECK(KeyOfError(R"({"storage": {"pool_size": 1000}})") == "storage.pool_size");
  CHECK(KeyOfError(R"({"state_dir": "relative/dir"})") == "state_dir");
  CHECK(KeyOfError(R"({"tls": {"cert_file": "/a.pem"}})") == "tls.key_file");
  CHECK(KeyOfError(R"({"tls": {"client_ca_file": "/ca.pem"}})") == "tls.client_ca_file");
  CHECK(KeyOfError(R"({"grpc": {"default_deadline_ms": 5000, "max_deadline_ms": 1000}})") ==
        "grpc.default_deadline_ms");
  CHECK(KeyOfError(R"({"auth": {"tokens": [{"name": "a", "sha256": "short", "scopes": ["read"]}]}})") ==
        "auth.tokens[0].sha256");
  CHECK(KeyOfError(R"({"auth": {"tokens": [{"name": "a", "sha256": ")" + hash +
                   R"(", "scopes": ["read", "write"]}]}})") == "auth.tokens[0].scopes[1]");
  CHECK(KeyOfError(R"({"auth": {"tokens": [{"name": "a", "sha256": ")" + hash +
                   R"(", "scopes": []}]}})") == "auth.tokens[0].scopes");
  CHECK(KeyOfError(R"({"auth": {"tokens": [{"name": "a", "sha256": ")" + hash +
                   R"(", "scopes": ["read"], "extra": 1}]}})") == "auth.tokens[0].extra");
  CHECK(KeyOfError(R"({"auth": {"tokens": [{"name": "a", "sha256": ")" + hash +
                   R"(", "scopes": ["read"]}, {"name": "a", "sha256": ")" + std::string(64, 'c') +
                   R"(", "scopes": ["read"]}]}})") == "auth.tokens[1].name");
  CHECK(KeyOfError(R"({"grpc": [1]})") == "grpc");
  CHECK(KeyOfError(R"({"upstream": {"folder": "/mnt/oqs"}})") == "upstream.medical_institution_code");
  CHECK(KeyOfError(R"({"upstream": {"encoding": "euc-jp"}})") == "upstream.encoding");
  CHECK(KeyOfError(R"({"upstream": {"max_in_flight": 21}})") == "upstream.max_in_flight");
  CHECK(KeyOfError(R"({"readers": {"enabled": true, "trust_anchor_files": ["/ca.pem"]}})") ==
        "readers.card_key_secret_file");
  CHECK(KeyOfError(R"({"readers": {"enabled": true, "card_key_secret_file": "/k"}})") ==
        "readers.trust_anchor_files");
  CHECK(KeyOfError(R"({"readers": {"trust_anchor_files": ["/a.pem", 3]}})") ==
        "readers.trust_anchor_files[1]");
  CHECK(KeyOfError(R"({"site_id": "x",})") == "(syntax)");
}

TEST_CASE("environment overrides apply and are validated") {
  Config c = ParseConfig("{}", "x");
  onshid::app::ApplyEnvironment(c, {{"ONSHID_STORAGE_DSN", "host=/run/pg"},
                                    {"ONSHID_GRPC_LISTEN", "127.0.0.1:7000"},
                                    {"ONSHID_LOG_LEVEL", "debug"},
                                    {"PATH", "/bin"}});
  CHECK(c.storage.dsn == "host=/run/pg");
  CHECK(c.grpc.listen == "127.0.0.1:7000");
  CHECK(c.log.level == "debug");
  CHECK_THROWS_AS(onshid::app::ApplyEnvironment(c, {{"ONSHID_LOG_LEVEL", "chatty"}}), ConfigError);
  try {
    onshid::app::ApplyEnvironment(c, {{"ONSHID_UNKNOWN", "1"}});
    FAIL("unknown variable accepted");
  } catch (const ConfigError& e) {
    CHECK(e.key() == "ONSHID_UNKNOWN");
  }
}

TEST_CASE("the example config in deploy/ parses and matches the defaults") {
  Config example = onshid::app::LoadConfigFile(ONSHID_SOURCE_DIR "/deploy/onshid.example.jsonc");
  Config defaults;
  CHECK(example.site_id == defaults.site_id);
  CHECK(example.state_dir == defaults.state_dir);
  CHECK(example.grpc.listen == defaults.grpc.listen);
  CHECK(example.grpc.default_deadline_ms == defaults.grpc.default_deadline_ms);
  CHECK(example.rest.max_body_bytes == defaults.rest.max_body_bytes);
  CHECK(example.rest.request_timeout_ms == defaults.rest.request_timeout_ms);
  CHECK(example.rest.max_connections == defaults.rest.max_connections);
  CHECK(example.health.listen == defaults.health.listen);
  CHECK(example.storage.pool_size == defaults.storage.pool_size);
  CHECK(example.storage.managed.run_as == defaults.storage.managed.run_as);
  CHECK(example.service.shutdown_grace_ms == defaults.service.shutdown_grace_ms);
  CHECK(example.upstream.folder == defaults.upstream.folder);
  CHECK(example.upstream.max_in_flight == defaults.upstream.max_in_flight);
  CHECK(example.upstream.poll_interval_ms == defaults.upstream.poll_interval_ms);
  CHECK(example.readers.enabled == defaults.readers.enabled);
  CHECK(example.readers.max_certificate_bytes == defaults.readers.max_certificate_bytes);
  REQUIRE(example.checkin.desks.size() == defaults.checkin.desks.size());
  CHECK(example.checkin.desks[0].id == defaults.checkin.desks[0].id);
  CHECK(example.checkin.desks[0].devices == defaults.checkin.desks[0].devices);
  CHECK(example.checkin.result_window_s == defaults.checkin.result_window_s);
  CHECK(example.checkin.late_window_s == defaults.checkin.late_window_s);
  CHECK(example.checkin.query_timeout_s == defaults.checkin.query_timeout_s);
  CHECK(example.checkin.sweep_interval_ms == defaults.checkin.sweep_interval_ms);
}

TEST_CASE("checkin.desks: bad devices and duplicate ids are named") {
  auto error_key = [](const std::string& text) {
    try {
      onshid::app::ParseConfig(text, "t.jsonc");
    } catch (const ConfigError& e) {
      return e.key();
    }
    return std::string("(no error)");
  };
  CHECK(error_key(R"({"checkin": {"desks": [{"id": "a", "devices": ["usb"]}]}})") ==
        "checkin.desks[0].devices[0]");
  CHECK(error_key(R"({"checkin": {"desks": [{"id": "a", "devices": ["reader:"]}]}})") ==
        "checkin.desks[0].devices[0]");
  CHECK(error_key(R"({"checkin": {"desks": [{"devices": ["face"]}]}})") == "checkin.desks[0].id");
  CHECK(error_key(R"({"checkin": {"desks": [{"id": "a", "devices": []}, {"id": "a", "devices": []}]}})") ==
        "checkin.desks[1].id");
  CHECK(error_key(R"({"checkin": {"desks": [{"id": "a", "devices": ["face", "reader:ACS 00"]}]}})") ==
        "(no error)");
}

TEST_CASE("an unreadable file is an error naming the file") {
  try {
    onshid::app::LoadConfigFile("/nonexistent/onshid.jsonc");
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(e.file() == "/nonexistent/onshid.jsonc");
  }
}
