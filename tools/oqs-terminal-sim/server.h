// The simulated 資格確認端末: watches req/, answers into res/, writes face/ check-ins on command, and
// injects faults. Single-threaded: one poll() loop over inotify, the control socket and timers.
#ifndef ONSHID_TOOLS_OQS_TERMINAL_SIM_SERVER_H_
#define ONSHID_TOOLS_OQS_TERMINAL_SIM_SERVER_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "registry.h"

namespace oqs_sim {

enum class FaultKind { kNoResponse, kLate, kReject, kError9, kHalfWritten, kMalformed, kDuplicate };

// A fault applies to the next `remaining` requests (or face files), or, with `person`, to those that
// match that registry id (`remaining` < 0 = no limit).
struct Fault {
  FaultKind kind = FaultKind::kNoResponse;
  bool face = false;  // applies to face files instead of requests
  int remaining = 1;
  std::string person;
  int delay_ms = 2000;           // late: extra delay; half-written: completion delay (< 0: never)
  std::string error_code = "SIM0009E";
  std::string error_message = "資格確認システムで異常が発生しました（シミュレータによる障害注入）";
};

// Parses "kind[:key=value,...]" (keys: count, person, delay_ms, target=request|face, code, message).
std::optional<Fault> ParseFaultSpec(const std::string& spec, std::string* error);
std::optional<Fault> FaultFromJson(const nlohmann::json& j, std::string* error);
const char* FaultKindName(FaultKind kind);

struct ServeOptions {
  std::filesystem::path folder;
  std::filesystem::path registry_path;
  std::filesystem::path state_file;  // 照会番号 and consents survive restarts here
  std::filesystem::path control_socket;
  int latency_ms = 200;
  bool shift_jis = false;
  bool shuffle = false;
  uint32_t seed = 1;
  std::string institution_code = "1311234567";
  std::vector<Fault> faults;
};

class Server {
 public:
  Server(ServeOptions options, Registry registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates req/res/face, binds the control socket, processes files already in req/ and runs until
  // SIGINT/SIGTERM or the "shutdown" command. Returns the process exit code.
  int Run();

 private:
  using Clock = std::chrono::steady_clock;
  struct Consent {
    std::string cons_time;       // yyyyMMddHHmmss
    std::string available_time;  // ConsTime + 24 h
    bool health_checkups = false, pharmacists = false, diagnosis = false, operation = false;
    bool limit = false;
  };
  struct Client {
    int fd = -1;
    std::string buffer;
  };

  // What a request produces before faults are applied.
  struct Outcome {
    std::string result;                   // encoded result bytes
    std::string reject_reason;            // non-empty: answer with .err instead
    std::vector<std::string> person_ids;  // registry people the request matched
  };

  bool Setup();
  void LoadState();
  void SaveState();
  void After(int delay_ms, std::function<void()> action);
  void RunDueTimers();
  int NextTimerTimeoutMs() const;

  void ScanRequestFolder();
  void OnRequestFile(const std::string& name);
  std::optional<Fault> TakeFault(bool face, const std::vector<std::string>& person_ids);

  Outcome AnswerQualification(const pugi::xml_document& request);
  Outcome AnswerRegistration(const pugi::xml_document& request);
  std::string BuildError9(const pugi::xml_document& request, const std::string& type, const Fault& fault);
  void AppendResultOfQualification(pugi::xml_node list, const Person& person, const Qualification& q,
                                   bool limit_consent, const std::string& now_ts, const Consent* consent);
  std::string Finish(pugi::xml_document* doc);  // shuffle (if enabled) and encode

  void WriteResult(const std::string& res_name, const std::string& bytes);
  void WriteHalf(const std::string& res_name, const std::string& bytes, int complete_after_ms);
  void Reject(const std::string& req_name, const std::string& request_bytes, const std::string& reason);

  nlohmann::json HandleCommand(const nlohmann::json& command);
  nlohmann::json FaceCheckIn(const nlohmann::json& command);
  nlohmann::json StatusJson() const;
  void AcceptClient();
  bool ServeClient(Client* client);  // false: close it

  ServeOptions options_;
  Registry registry_;
  std::mt19937 rng_;     // element shuffling, deterministic with --seed
  std::mt19937 id_rng_;  // face file ids and ArbitraryFileIdentifier
  std::map<std::string, std::string> reference_numbers_;  // person id → 照会番号
  std::map<std::string, Consent> consents_;               // person id → last consent at the reader
  std::vector<Fault> faults_;
  std::multimap<Clock::time_point, std::function<void()>> timers_;
  std::vector<Client> clients_;
  int inotify_fd_ = -1;
  int listen_fd_ = -1;
  bool stop_ = false;
  uint64_t requests_seen_ = 0, requests_answered_ = 0, requests_rejected_ = 0, requests_dropped_ = 0;
  // Every request file taken from req/, by name, with how often a file of that name was taken (a
  // client that writes one request twice shows up here).
  std::map<std::string, int> request_files_;
  uint64_t requests_pending_ = 0, faces_written_ = 0;
};

}  // namespace oqs_sim

#endif  // ONSHID_TOOLS_OQS_TERMINAL_SIM_SERVER_H_
