#pragma once
// Shared helpers for integration tests that talk to a running daemon: config text, tokens, gRPC
// stubs and status inspection.

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "app/token_hash.h"
#include "daemon_process.h"
#include "desk_client.h"  // Prepare
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "onshi/v1/system.grpc.pb.h"

namespace onshid::testing {

// Tokens the tests use; the config holds their SHA-256.
inline constexpr const char* kReadToken = "read-token-for-tests";
inline constexpr const char* kAdminToken = "admin-token-for-tests";
inline constexpr const char* kReceptionToken = "reception-only-token";

inline std::string Sha256Hex(const std::string& s) { return app::HashToken(s); }

struct Ports {
  int grpc = FreePort();
  int rest = FreePort();
  int health = FreePort();
};

struct ConfigOptions {
  std::string state_dir;
  Ports ports;
  std::string storage_extra;  // appended inside "storage": {...}, starting with a comma
  std::string tokens;         // JSON array; empty = the three test tokens
  std::string tls;            // JSON object for "tls"; empty = none
  std::string extra = "";     // more top-level members, each followed by a comma
};

inline std::string DefaultTokens() {
  return std::string(R"([
      {"name": "desk-reader", "sha256": ")") + Sha256Hex(kReadToken) + R"(", "scopes": ["read"]},
      {"name": "ops", "sha256": ")" + Sha256Hex(kAdminToken) + R"(", "scopes": ["read", "admin"]},
      {"name": "reception-only", "sha256": ")" + Sha256Hex(kReceptionToken) + R"(", "scopes": ["reception"]}
    ])";
}

inline std::string ConfigJson(const ConfigOptions& o) {
  return R"({
    // written by the integration tests
    "site_id": "test-clinic",
    "state_dir": ")" + o.state_dir + R"(",
    "log": {"level": "info"},
    "grpc": {"listen": "127.0.0.1:)" + std::to_string(o.ports.grpc) + R"("},
    "rest": {"listen": "127.0.0.1:)" + std::to_string(o.ports.rest) + R"(", "max_body_bytes": 4096},
    "health": {"listen": "127.0.0.1:)" + std::to_string(o.ports.health) + R"("},
    "auth": {"tokens": )" + (o.tokens.empty() ? DefaultTokens() : o.tokens) + R"(},
    "storage": {"health_interval_ms": 500)" + o.storage_extra + R"(},)" +
         (o.tls.empty() ? "" : "\n    \"tls\": " + o.tls + ",") + R"(
    )" + o.extra + R"(
    "service": {"shutdown_grace_ms": 3000}
  })";
}

inline std::unique_ptr<onshi::v1::SystemService::Stub> SystemStub(int port) {
  return onshi::v1::SystemService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

inline std::string InitialMetadata(const grpc::ClientContext& ctx, const std::string& key) {
  const auto& md = ctx.GetServerInitialMetadata();
  auto it = md.find(key);
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

// ErrorInfo.reason of a failed call, or "".
inline std::string ReasonOf(const grpc::Status& s) {
  google::rpc::Status st;
  if (!st.ParseFromString(s.error_details())) return "";
  for (const auto& any : st.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

inline std::string BearerHeader(const char* token) { return std::string("Bearer ") + token; }

}  // namespace onshid::testing
