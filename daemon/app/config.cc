#include "app/config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

extern char** environ;

namespace onshid::app {
namespace {

using nlohmann::json;

std::string TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

// Reads one JSON object strictly: every key must be consumed, or Finish() reports it as unknown.
class Reader {
 public:
  Reader(const json& j, std::string path, const std::string& file)
      : j_(j), path_(std::move(path)), file_(file) {
    if (!j_.is_object()) Fail(path_.empty() ? "(top level)" : path_, "must be an object, not " + TypeName(j_));
  }

  [[noreturn]] void Fail(const std::string& key, const std::string& problem) const {
    throw ConfigError(file_, key, problem);
  }

  std::string Key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }

  const json* Find(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  void String(const std::string& key, std::string& out) {
    if (const json* v = Find(key)) {
      if (!v->is_string()) Fail(Key(key), "must be a string, not " + TypeName(*v));
      out = v->get<std::string>();
    }
  }

  void Bool(const std::string& key, bool& out) {
    if (const json* v = Find(key)) {
      if (!v->is_boolean()) Fail(Key(key), "must be true or false, not " + TypeName(*v));
      out = v->get<bool>();
    }
  }

  void Int(const std::string& key, int& out, long long min, long long max) {
    if (const json* v = Find(key)) {
      if (!v->is_number_integer()) Fail(Key(key), "must be an integer, not " + TypeName(*v));
      long long x = v->is_number_unsigned()
                        ? static_cast<long long>(std::min<unsigned long long>(
                              v->get<unsigned long long>(),
                              static_cast<unsigned long long>(std::numeric_limits<long long>::max())))
                        : v->get<long long>();
      if (x < min || x > max) {
        Fail(Key(key), "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                           ", not " + std::to_string(x));
      }
      out = static_cast<int>(x);
    }
  }

  void StringList(const std::string& key, std::vector<std::string>& out) {
    if (const json* v = Find(key)) {
      if (!v->is_array()) Fail(Key(key), "must be an array of strings, not " + TypeName(*v));
      out.clear();
      for (std::size_t i = 0; i < v->size(); ++i) {
        const json& item = (*v)[i];
        if (!item.is_string()) {
          Fail(Key(key) + "[" + std::to_string(i) + "]", "must be a string, not " + TypeName(item));
        }
        out.push_back(item.get<std::string>());
      }
    }
  }

  // Calls fn(Reader&) for a nested object when present.
  template <typename Fn>
  void Object(const std::string& key, Fn fn) {
    if (const json* v = Find(key)) {
      Reader child(*v, Key(key), file_);
      fn(child);
      child.Finish();
    }
  }

  const json* Array(const std::string& key) {
    const json* v = Find(key);
    if (v && !v->is_array()) Fail(Key(key), "must be an array, not " + TypeName(*v));
    return v;
  }

  void Finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) Fail(Key(it.key()), "unknown key (check the spelling against deploy/onshid.example.jsonc)");
    }
  }

  const std::string& file() const { return file_; }

 private:
  const json& j_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> seen_;
};

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "host:port" or "[v6]:port", port 0..65535.
bool ValidListen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) return false;
  std::string port = s.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  if (port.size() > 5 || std::stoi(port) > 65535) return false;
  std::string host = s.substr(0, colon);
  if (host.front() == '[') return host.back() == ']' && host.size() > 2;
  return host.find(':') == std::string::npos;
}

const std::vector<std::string> kLogLevels = {"trace", "debug", "info",    "warn",
                                             "error", "critical", "off"};

void Validate(const Config& c, const std::string& file) {
  auto fail = [&](const std::string& key, const std::string& problem) {
    throw ConfigError(file, key, problem);
  };
  if (c.site_id.empty()) fail("site_id", "must not be empty");
  if (c.state_dir.empty() || c.state_dir.front() != '/') fail("state_dir", "must be an absolute path");
  if (std::find(kLogLevels.begin(), kLogLevels.end(), c.log.level) == kLogLevels.end()) {
    fail("log.level", "must be one of trace, debug, info, warn, error, critical, off; not \"" +
                          c.log.level + "\"");
  }
  if (!ValidListen(c.grpc.listen)) fail("grpc.listen", "must be host:port, not \"" + c.grpc.listen + "\"");
  if (c.rest.enabled && !ValidListen(c.rest.listen)) {
    fail("rest.listen", "must be host:port, not \"" + c.rest.listen + "\"");
  }
  if (!ValidListen(c.health.listen)) fail("health.listen", "must be host:port, not \"" + c.health.listen + "\"");
  if (c.grpc.default_deadline_ms > c.grpc.max_deadline_ms) {
    fail("grpc.default_deadline_ms", "must not exceed grpc.max_deadline_ms");
  }
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    fail(c.tls.cert_file.empty() ? "tls.cert_file" : "tls.key_file",
         "tls.cert_file and tls.key_file must be set together");
  }
  if (!c.tls.client_ca_file.empty() && c.tls.cert_file.empty()) {
    fail("tls.client_ca_file", "requires tls.cert_file and tls.key_file (mTLS needs TLS)");
  }
  if (c.upstream.encoding != "utf-8" && c.upstream.encoding != "shift_jis") {
    fail("upstream.encoding", "must be utf-8 or shift_jis, not \"" + c.upstream.encoding + "\"");
  }
  if (!c.upstream.folder.empty()) {
    const std::string& code = c.upstream.medical_institution_code;
    if (code.size() != 10 ||
        !std::all_of(code.begin(), code.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      fail("upstream.medical_institution_code",
           "must be the 10-digit 医療機関コード when upstream.folder is set");
    }
  }
  if (c.readers.enabled && c.readers.card_key_secret_file.empty()) {
    fail("readers.card_key_secret_file", "is required when readers.enabled is true");
  }
  if (c.readers.enabled && c.readers.trust_anchor_files.empty()) {
    fail("readers.trust_anchor_files",
         "must list the CA certificates of the user-authentication certificates when readers.enabled is true");
  }
  std::set<std::string> desk_ids;
  for (std::size_t i = 0; i < c.checkin.desks.size(); ++i) {
    if (!desk_ids.insert(c.checkin.desks[i].id).second) {
      fail("checkin.desks[" + std::to_string(i) + "].id",
           "duplicate desk id \"" + c.checkin.desks[i].id + "\"");
    }
  }
  std::set<std::string> names, hashes;
  for (std::size_t i = 0; i < c.auth.tokens.size(); ++i) {
    const ApiToken& t = c.auth.tokens[i];
    std::string key = "auth.tokens[" + std::to_string(i) + "]";
    if (!names.insert(t.name).second) fail(key + ".name", "duplicate token name \"" + t.name + "\"");
    if (!hashes.insert(t.sha256).second) fail(key + ".sha256", "the same token hash appears twice");
  }
}

}  // namespace

std::vector<Config::CheckIn::Desk> Config::CheckIn::DefaultDesks() {
  Desk reception;
  reception.id = "reception";
  reception.devices.emplace_back("face");
  return {reception};
}

const char* ToString(Scope scope) {
  switch (scope) {
    case Scope::kRead: return "read";
    case Scope::kReception: return "reception";
    case Scope::kAdmin: return "admin";
  }
  return "?";
}

ConfigError::ConfigError(const std::string& file, const std::string& key, const std::string& problem)
    : std::runtime_error((file.empty() ? std::string("configuration") : file) + ": " + key + ": " +
                         problem),
      file_(file),
      key_(key) {}

Config ParseConfig(const std::string& text, const std::string& file_name) {
  json root;
  try {
    root = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // nlohmann's message carries line and column.
    throw ConfigError(file_name, "(syntax)", e.what());
  }
  Config c;
  c.source = file_name;
  Reader r(root, "", file_name);
  r.String("site_id", c.site_id);
  r.String("state_dir", c.state_dir);
  r.Object("log", [&](Reader& o) { o.String("level", c.log.level); });
  r.Object("grpc", [&](Reader& o) {
    o.String("listen", c.grpc.listen);
    o.Int("default_deadline_ms", c.grpc.default_deadline_ms, 100, 3600000);
    o.Int("max_deadline_ms", c.grpc.max_deadline_ms, 100, 3600000);
  });
  r.Object("rest", [&](Reader& o) {
    o.Bool("enabled", c.rest.enabled);
    o.String("listen", c.rest.listen);
    o.Int("max_body_bytes", c.rest.max_body_bytes, 1024, 64 << 20);
    o.Int("request_timeout_ms", c.rest.request_timeout_ms, 100, 3600000);
    o.Int("max_connections", c.rest.max_connections, 1, 10000);
    o.Int("io_threads", c.rest.io_threads, 1, 64);
  });
  r.Object("health", [&](Reader& o) { o.String("listen", c.health.listen); });
  r.Object("tls", [&](Reader& o) {
    o.String("cert_file", c.tls.cert_file);
    o.String("key_file", c.tls.key_file);
    o.String("client_ca_file", c.tls.client_ca_file);
  });
  r.Object("auth", [&](Reader& o) {
    if (const json* tokens = o.Array("tokens")) {
      for (std::size_t i = 0; i < tokens->size(); ++i) {
        Reader t((*tokens)[i], "auth.tokens[" + std::to_string(i) + "]", file_name);
        ApiToken token;
        t.String("name", token.name);
        t.String("sha256", token.sha256);
        if (token.name.empty()) t.Fail(t.Key("name"), "is required");
        if (!IsHex64(token.sha256)) {
          t.Fail(t.Key("sha256"),
                 "must be the 64-character lower-case hex SHA-256 of the token "
                 "(onshictl hash-token prints it)");
        }
        const json* scopes = t.Array("scopes");
        if (!scopes || scopes->empty()) t.Fail(t.Key("scopes"), "must list at least one of read, reception, admin");
        for (std::size_t k = 0; k < scopes->size(); ++k) {
          const json& s = (*scopes)[k];
          std::string key = t.Key("scopes") + "[" + std::to_string(k) + "]";
          if (!s.is_string()) t.Fail(key, "must be a string, not " + TypeName(s));
          std::string v = s.get<std::string>();
          if (v == "read") token.scopes.push_back(Scope::kRead);
          else if (v == "reception") token.scopes.push_back(Scope::kReception);
          else if (v == "admin") token.scopes.push_back(Scope::kAdmin);
          else t.Fail(key, "must be read, reception or admin, not \"" + v + "\"");
        }
        t.Finish();
        c.auth.tokens.push_back(std::move(token));
      }
    }
  });
  r.Object("storage", [&](Reader& o) {
    o.String("dsn", c.storage.dsn);
    o.Int("pool_size", c.storage.pool_size, 1, 64);
    o.Int("connect_timeout_ms", c.storage.connect_timeout_ms, 100, 600000);
    o.Int("health_interval_ms", c.storage.health_interval_ms, 100, 3600000);
    o.Int("statement_timeout_ms", c.storage.statement_timeout_ms, 100, 3600000);
    o.Int("lock_timeout_ms", c.storage.lock_timeout_ms, 100, 3600000);
    o.Int("idle_in_transaction_timeout_ms", c.storage.idle_in_transaction_timeout_ms, 1000,
          3600000);
    o.Int("keepalives_idle_s", c.storage.keepalives_idle_s, 1, 7200);
    o.Int("keepalives_interval_s", c.storage.keepalives_interval_s, 1, 600);
    o.Int("keepalives_count", c.storage.keepalives_count, 1, 100);
    o.Object("managed", [&](Reader& m) {
      m.String("bin_dir", c.storage.managed.bin_dir);
      m.String("run_as", c.storage.managed.run_as);
    });
  });
  r.Object("upstream", [&](Reader& o) {
    o.String("folder", c.upstream.folder);
    o.String("encoding", c.upstream.encoding);
    o.String("medical_institution_code", c.upstream.medical_institution_code);
    o.Int("max_in_flight", c.upstream.max_in_flight, 1, 20);
    o.Int("max_queued", c.upstream.max_queued, 1, 100000);
    o.Int("poll_interval_ms", c.upstream.poll_interval_ms, 50, 600000);
    o.Int("settle_ms", c.upstream.settle_ms, 5, 10000);
    o.String("face_mirror_dir", c.upstream.face_mirror_dir);
    o.Int("stale_request_warn_s", c.upstream.stale_request_warn_s, 1, 86400);
    o.Int("answer_timeout_s", c.upstream.answer_timeout_s, 1, 86400);
    o.Int("late_answer_window_s", c.upstream.late_answer_window_s, 60, 30 * 86400);
  });
  r.Object("readers", [&](Reader& o) {
    o.Bool("enabled", c.readers.enabled);
    o.StringList("trust_anchor_files", c.readers.trust_anchor_files);
    o.String("card_key_secret_file", c.readers.card_key_secret_file);
    o.Int("max_certificate_bytes", c.readers.max_certificate_bytes, 1024, 65536);
  });
  r.Object("checkin", [&](Reader& o) {
    if (const json* desks = o.Array("desks")) {
      c.checkin.desks.clear();
      for (std::size_t i = 0; i < desks->size(); ++i) {
        Reader d((*desks)[i], "checkin.desks[" + std::to_string(i) + "]", file_name);
        Config::CheckIn::Desk desk;
        d.String("id", desk.id);
        d.StringList("devices", desk.devices);
        if (desk.id.empty()) d.Fail(d.Key("id"), "is required");
        for (std::size_t k = 0; k < desk.devices.size(); ++k) {
          const std::string& dev = desk.devices[k];
          if (dev != "face" && (dev.rfind("reader:", 0) != 0 || dev.size() == 7)) {
            d.Fail(d.Key("devices") + "[" + std::to_string(k) + "]",
                   "must be \"face\" or \"reader:<PC/SC reader name>\", not \"" + dev + "\"");
          }
        }
        d.Finish();
        c.checkin.desks.push_back(std::move(desk));
      }
    }
    o.Int("result_window_s", c.checkin.result_window_s, 10, 86400);
    o.Int("late_window_s", c.checkin.late_window_s, 60, 7 * 86400);
    o.Int("query_timeout_s", c.checkin.query_timeout_s, 1, 600);
    o.Int("sweep_interval_ms", c.checkin.sweep_interval_ms, 50, 600000);
  });
  r.Object("fallback", [&](Reader& o) {
    o.Bool("reads_smartphones", c.fallback.reads_smartphones);
    o.Int("personal_data_retention_days", c.fallback.personal_data_retention_days, 1, 3650);
    o.Int("purge_interval_s", c.fallback.purge_interval_s, 1, 86400);
    o.Int("reverify_interval_ms", c.fallback.reverify_interval_ms, 100, 3600000);
    o.Int("reverify_max_attempts", c.fallback.reverify_max_attempts, 1, 1000);
    o.Int("return_watch_days", c.fallback.return_watch_days, 1, 730);
  });
  r.Object("service", [&](Reader& o) {
    o.Int("shutdown_grace_ms", c.service.shutdown_grace_ms, 0, 600000);
    o.Int("worker_threads", c.service.worker_threads, 1, 256);
    o.Int("request_key_retention_h", c.service.request_key_retention_h, 1, 24 * 365);
  });
  r.Finish();
  Validate(c, file_name);
  return c;
}

Config LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "(file)", "cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

const std::vector<std::pair<std::string, std::string>>& EnvironmentOverrides() {
  static const std::vector<std::pair<std::string, std::string>> kOverrides = {
      {"ONSHID_SITE_ID", "site_id"},         {"ONSHID_STATE_DIR", "state_dir"},
      {"ONSHID_LOG_LEVEL", "log.level"},     {"ONSHID_GRPC_LISTEN", "grpc.listen"},
      {"ONSHID_REST_LISTEN", "rest.listen"}, {"ONSHID_HEALTH_LISTEN", "health.listen"},
      {"ONSHID_STORAGE_DSN", "storage.dsn"}, {"ONSHID_UPSTREAM_FOLDER", "upstream.folder"},
  };
  return kOverrides;
}

void ApplyEnvironment(Config& config, const std::map<std::string, std::string>& env) {
  for (const auto& [var, value] : env) {
    if (var.rfind("ONSHID_", 0) != 0) continue;
    if (var == "ONSHID_SITE_ID") config.site_id = value;
    else if (var == "ONSHID_STATE_DIR") config.state_dir = value;
    else if (var == "ONSHID_LOG_LEVEL") config.log.level = value;
    else if (var == "ONSHID_GRPC_LISTEN") config.grpc.listen = value;
    else if (var == "ONSHID_REST_LISTEN") config.rest.listen = value;
    else if (var == "ONSHID_HEALTH_LISTEN") config.health.listen = value;
    else if (var == "ONSHID_STORAGE_DSN") config.storage.dsn = value;
    else if (var == "ONSHID_UPSTREAM_FOLDER") config.upstream.folder = value;
    else if (var == "ONSHID_TOKEN") continue;  // onshictl's, not the daemon's
    else if (var == "ONSHID_FAILPOINT") continue;  // crash tests (daemon/failpoint), not config
    else throw ConfigError("environment", var, "unknown ONSHID_* variable");
  }
  try {
    Validate(config, "environment (ONSHID_*) over " + (config.source.empty() ? "defaults" : config.source));
  } catch (const ConfigError&) {
    throw;
  }
}

std::map<std::string, std::string> OnshidEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("ONSHID_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

}  // namespace onshid::app
