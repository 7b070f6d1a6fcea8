#pragma once
// The daemon's configuration: plain structs with defaults (rules of the house 8).
//
// Parsed from one JSON file (comments allowed) by ParseConfig; deploy/onshid.example.jsonc shows
// every key with its default. Unknown keys, wrong types and out-of-range values are errors that
// name the key (as a dotted path) and the file.

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace onshid::app {

enum class Scope { kRead, kReception, kAdmin };
const char* ToString(Scope scope);

// One API client. The token itself is never stored: only its SHA-256 (hex).
struct ApiToken {
  std::string name;        // who this is, e.g. "rececon-desk-1"; appears in logs and audit_log
  std::string sha256;      // lower-case hex SHA-256 of the bearer token (64 characters)
  std::vector<Scope> scopes;
};

struct TlsConfig {
  std::string cert_file;       // PEM; empty = plaintext (loopback only is recommended)
  std::string key_file;        // PEM
  std::string client_ca_file;  // PEM; non-empty = clients must present a certificate (mTLS)
  bool enabled() const { return !cert_file.empty(); }
};

struct Config {
  std::string source;  // the file this came from ("" for defaults); used in messages

  std::string site_id = "default";  // this clinic site, reported by GetStatus
  std::string state_dir = "/var/lib/onshid";

  struct Log {
    std::string level = "info";  // trace, debug, info, warn, error, critical, off
  } log;

  struct Grpc {
    std::string listen = "127.0.0.1:50051";
    int default_deadline_ms = 10000;  // applied when a client sends no deadline
    int max_deadline_ms = 60000;      // longer client deadlines are cut to this
  } grpc;

  struct Rest {
    bool enabled = true;
    std::string listen = "127.0.0.1:8080";
    int max_body_bytes = 1 << 20;
    int request_timeout_ms = 10000;
    int max_connections = 64;
    int io_threads = 1;
  } rest;

  struct Health {
    std::string listen = "127.0.0.1:9464";  // /healthz, /readyz, /metrics; no auth, no secrets
  } health;

  TlsConfig tls;  // for gRPC and REST

  struct Auth {
    std::vector<ApiToken> tokens;
  } auth;

  struct Storage {
    std::string dsn;  // empty = managed PostgreSQL under state_dir
    int pool_size = 4;
    int connect_timeout_ms = 5000;
    int health_interval_ms = 5000;  // how often the database is pinged for status
    // Bounds on every session (rules against a hung or partitioned database): a statement, a
    // lock wait and an idle open transaction are cut off after these; TCP keepalives notice a
    // dead server (external servers; the managed one is on a Unix socket).
    int statement_timeout_ms = 30000;
    int lock_timeout_ms = 10000;
    int idle_in_transaction_timeout_ms = 60000;
    int keepalives_idle_s = 30;
    int keepalives_interval_s = 10;
    int keepalives_count = 3;
    struct Managed {
      std::string bin_dir;            // empty = newest /usr/lib/postgresql/*/bin
      std::string run_as = "onshid";  // unprivileged user for PostgreSQL when started as root
    } managed;
  } storage;

  // The 資格確認端末's shared folder. With `folder` empty the daemon runs without an upstream and
  // eligibility calls answer UPSTREAM_NOT_CONFIGURED.
  struct Upstream {
    std::string folder;                    // the folder that contains req/, res/ and face/
    std::string encoding = "utf-8";        // of request files: utf-8 or shift_jis
    std::string medical_institution_code;  // 医療機関コード, 10 digits (required with folder)
    int max_in_flight = 10;                // the terminal serves at most 20 sessions in all
    int max_queued = 1000;
    int poll_interval_ms = 1000;           // polling fallback (network shares), besides inotify
    int settle_ms = 25;                    // a new file is read after it stayed unchanged this long
    std::string face_mirror_dir;           // re-emit face files here for legacy software
    int stale_request_warn_s = 60;         // req/ file unconsumed this long → upstream DEGRADED
    // A written request without an answer holds its in-flight slot this long, then is ABANDONED:
    // the slot is released, the waiting client is told UPSTREAM_NO_ANSWER and /readyz names it.
    int answer_timeout_s = 300;
    // An abandoned request's late answer is still accepted (stored, linked) this long.
    int late_answer_window_s = 86400;
  } upstream;

  // The site's generic PC/SC card readers (汎用カードリーダー), through pcscd.
  struct Readers {
    bool enabled = false;
    // PEM or DER files of the CA certificates that issue 利用者証明用電子証明書 (in production the
    // J-LIS CAs); certificates from other issuers are UNTRUSTED.
    std::vector<std::string> trust_anchor_files;
    // A file holding the secret (at least 16 bytes) for the pseudonymous card key; required when
    // enabled. Keep it with the database backups: a new secret gives every card a new key.
    std::string card_key_secret_file;
    int max_certificate_bytes = 4096;
  } readers;

  // Reception desks and the devices that serve them, for binding arriving results to check-ins.
  struct CheckIn {
    struct Desk {
      std::string id;
      // "face" (the terminal folder's face feed; face files do not say which reader they came
      // from, so every desk behind one terminal lists it) and "reader:<PC/SC reader name>".
      std::vector<std::string> devices;
    };
    // One desk, "reception", served by the face feed.
    static std::vector<Desk> DefaultDesks();
    std::vector<Desk> desks = DefaultDesks();
    int result_window_s = 600;     // a result binds to a check-in started at most this long before
    int late_window_s = 7200;      // ended / timed-out check-ins take late results this long
    int query_timeout_s = 30;      // a document query's wait before the fallback path
    int sweep_interval_ms = 1000;  // time-outs and recovery of uncorrelated results
  } checkin;

  // Fallback cases (代替の資格確認): the facility's setup and the follow-up machinery.
  struct Fallback {
    bool reads_smartphones = false;  // スマートフォンのマイナ保険証 can be read (generic reader)
    // A closed case kept with its personal data (CloseCase keep_personal_data) loses it after this.
    int personal_data_retention_days = 90;
    int purge_interval_s = 3600;         // how often the scheduled purge runs
    // Queued verifications (terminal down) are re-sent one at a time, at least this far apart,
    // and only when the terminal has nothing else waiting (real-time traffic first).
    int reverify_interval_ms = 2000;
    int reverify_max_attempts = 20;      // then staff take over (reverify GAVE_UP)
    int return_watch_days = 90;          // 返戻 watch task after a 不詳/旧資格/事後確認 claim
  } fallback;

  struct Service {
    int shutdown_grace_ms = 10000;  // in-flight calls may finish within this on SIGTERM
    int worker_threads = 4;         // application executor
    // How long the outcome of a write call is kept for a retry with the same x-request-id.
    int request_key_retention_h = 72;
  } service;
};

// A configuration problem, with the file and the key it concerns.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, const std::string& key, const std::string& problem);
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  std::string key_;
};

// Parses `text` (JSON with // and /* */ comments) read from `file_name`. Throws ConfigError.
Config ParseConfig(const std::string& text, const std::string& file_name);

// Reads and parses a file. Throws ConfigError (also when the file cannot be read).
Config LoadConfigFile(const std::string& path);

// Applies ONSHID_* environment overrides (see README, "Configuration"). `env` maps names to values
// so tests need not touch the process environment. Throws ConfigError naming the variable.
void ApplyEnvironment(Config& config, const std::map<std::string, std::string>& env);

// Reads the ONSHID_* variables from the process environment.
std::map<std::string, std::string> OnshidEnvironment();

// The ONSHID_* variables ApplyEnvironment understands, with the key each overrides.
const std::vector<std::pair<std::string, std::string>>& EnvironmentOverrides();

}  // namespace onshid::app
