#include "server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <set>

#include "sim_util.h"
#include "xml_out.h"

namespace fs = std::filesystem;

namespace oqs_sim {
namespace {

volatile std::sig_atomic_t g_signalled = 0;
void OnSignal(int) { g_signalled = 1; }

bool IsRequestName(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  if (name.size() < 5 || name.compare(name.size() - 4, 4, ".xml") != 0) return false;
  return name.find("req_") != std::string::npos;
}

// OQSsiquc01req_X.xml → OQSsiquc01res_X.xml
std::string ResultName(const std::string& req_name) {
  std::string out = req_name;
  out.replace(out.find("req_"), 4, "res_");
  return out;
}

std::string MessageType(const std::string& req_name) { return req_name.substr(0, req_name.find("req_")); }

std::string RandomToken(std::mt19937* rng, size_t length, std::string_view alphabet) {
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string out;
  for (size_t i = 0; i < length; ++i) out += alphabet[pick(*rng)];
  return out;
}

// Invalid XML: the document cut short with a stray unterminated tag.
std::string Malform(const std::string& bytes) { return bytes.substr(0, bytes.size() * 2 / 3) + "<<Broken&"; }

constexpr const char* kInfoConsentPrefixes[] = {"SpecificHealthCheckupsInfo", "PharmacistsInfo", "DiagnosisInfo",
                                                "OperationInfo"};

}  // namespace

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNoResponse: return "no-response";
    case FaultKind::kLate: return "late";
    case FaultKind::kReject: return "reject";
    case FaultKind::kError9: return "error-9";
    case FaultKind::kHalfWritten: return "half-written";
    case FaultKind::kMalformed: return "malformed";
    case FaultKind::kDuplicate: return "duplicate";
  }
  return "?";
}

std::optional<Fault> FaultFromJson(const nlohmann::json& j, std::string* error) {
  static const std::map<std::string, FaultKind> kKinds = {
      {"no-response", FaultKind::kNoResponse}, {"late", FaultKind::kLate},
      {"reject", FaultKind::kReject},          {"error-9", FaultKind::kError9},
      {"half-written", FaultKind::kHalfWritten}, {"malformed", FaultKind::kMalformed},
      {"duplicate", FaultKind::kDuplicate}};
  if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string()) {
    *error = "fault needs a \"kind\"";
    return std::nullopt;
  }
  auto it = kKinds.find(j["kind"].get<std::string>());
  if (it == kKinds.end()) {
    *error = "unknown fault kind '" + j["kind"].get<std::string>() +
             "' (no-response, late, reject, error-9, half-written, malformed, duplicate)";
    return std::nullopt;
  }
  Fault fault;
  fault.kind = it->second;
  try {
    fault.person = j.value("person", "");
    fault.remaining = j.contains("count") ? j["count"].get<int>() : (fault.person.empty() ? 1 : -1);
    const std::string target = j.value("target", fault.kind == FaultKind::kDuplicate ? "face" : "request");
    if (target != "request" && target != "face") {
      *error = "fault target must be request or face";
      return std::nullopt;
    }
    fault.face = target == "face";
    if (fault.face && fault.kind != FaultKind::kMalformed && fault.kind != FaultKind::kDuplicate) {
      *error = "face faults are malformed or duplicate";
      return std::nullopt;
    }
    if (!fault.face && fault.kind == FaultKind::kDuplicate) {
      *error = "duplicate applies to face files only";
      return std::nullopt;
    }
    const int default_delay = fault.kind == FaultKind::kHalfWritten ? -1 : 2000;
    fault.delay_ms = j.value("delay_ms", default_delay);
    fault.error_code = j.value("code", fault.error_code);
    fault.error_message = j.value("message", fault.error_message);
  } catch (const nlohmann::json::exception& e) {
    *error = std::string("bad fault field: ") + e.what();
    return std::nullopt;
  }
  if (fault.remaining == 0) {
    *error = "fault count must not be 0";
    return std::nullopt;
  }
  return fault;
}

std::optional<Fault> ParseFaultSpec(const std::string& spec, std::string* error) {
  nlohmann::json j = nlohmann::json::object();
  const size_t colon = spec.find(':');
  j["kind"] = spec.substr(0, colon);
  if (colon != std::string::npos) {
    std::string rest = spec.substr(colon + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t comma = rest.find(',', pos);
      if (comma == std::string::npos) comma = rest.size();
      const std::string item = rest.substr(pos, comma - pos);
      pos = comma + 1;
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      if (eq == std::string::npos) {
        *error = "fault option '" + item + "' is not key=value";
        return std::nullopt;
      }
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      if (key == "count" || key == "delay_ms") {
        try {
          j[key] = std::stoi(value);
        } catch (const std::exception&) {
          *error = "fault option " + key + " must be an integer";
          return std::nullopt;
        }
      } else if (key == "person" || key == "target" || key == "code" || key == "message") {
        j[key] = value;
      } else {
        *error = "unknown fault option '" + key + "'";
        return std::nullopt;
      }
    }
  }
  return FaultFromJson(j, error);
}

Server::Server(ServeOptions options, Registry registry)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      rng_(options_.seed),
      id_rng_(std::random_device{}()),
      faults_(options_.faults) {}

Server::~Server() {
  for (auto& c : clients_) ::close(c.fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(options_.control_socket.c_str());
  }
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

bool Server::Setup() {
  std::error_code ec;
  for (const char* sub : {"req", "res", "face"}) {
    fs::create_directories(options_.folder / sub, ec);
    if (ec) {
      Log(LogLevel::kError, "folder_create_failed", {{"folder", (options_.folder / sub).string()}, {"error", ec.message()}});
      return false;
    }
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 ||
      inotify_add_watch(inotify_fd_, (options_.folder / "req").c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    Log(LogLevel::kError, "inotify_failed", {{"error", std::strerror(errno)}});
    return false;
  }
  LoadState();

  // Bind under a temporary name and rename into place once listening, so that the socket's
  // appearance means it accepts connections.
  const std::string final_path = options_.control_socket.string();
  const std::string tmp_path = final_path + "." + std::to_string(getpid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (tmp_path.size() >= sizeof addr.sun_path) {
    Log(LogLevel::kError, "control_socket_path_too_long", {{"path", final_path}});
    return false;
  }
  std::memcpy(addr.sun_path, tmp_path.c_str(), tmp_path.size() + 1);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ::unlink(tmp_path.c_str());
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    Log(LogLevel::kError, "control_socket_failed", {{"path", final_path}, {"error", std::strerror(errno)}});
    ::unlink(tmp_path.c_str());
    return false;
  }
  return true;
}

void Server::LoadState() {
  if (options_.state_file.empty()) return;
  auto bytes = ReadWholeFile(options_.state_file);
  if (!bytes) return;
  auto j = nlohmann::json::parse(*bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    Log(LogLevel::kWarn, "state_file_unreadable", {{"path", options_.state_file.string()}});
    return;
  }
  if (auto refs = j.find("reference_numbers"); refs != j.end() && refs->is_object()) {
    for (auto it = refs->begin(); it != refs->end(); ++it) {
      if (it->is_string()) reference_numbers_[it.key()] = it->get<std::string>();
    }
  }
  if (auto consents = j.find("consents"); consents != j.end() && consents->is_object()) {
    for (auto it = consents->begin(); it != consents->end(); ++it) {
      const nlohmann::json& c = *it;
      if (!c.is_object()) continue;
      Consent consent;
      consent.cons_time = c.value("cons_time", "");
      consent.available_time = c.value("available_time", "");
      consent.health_checkups = c.value("health_checkups", false);
      consent.pharmacists = c.value("pharmacists", false);
      consent.diagnosis = c.value("diagnosis", false);
      consent.operation = c.value("operation", false);
      consent.limit = c.value("limit", false);
      consents_[it.key()] = consent;
    }
  }
  Log(LogLevel::kInfo, "state_loaded",
      {{"reference_numbers", reference_numbers_.size()}, {"consents", consents_.size()}});
}

void Server::SaveState() {
  if (options_.state_file.empty()) return;
  nlohmann::json j = {{"reference_numbers", reference_numbers_}, {"consents", nlohmann::json::object()}};
  for (const auto& [id, c] : consents_) {
    j["consents"][id] = {{"cons_time", c.cons_time},         {"available_time", c.available_time},
                         {"health_checkups", c.health_checkups}, {"pharmacists", c.pharmacists},
                         {"diagnosis", c.diagnosis},         {"operation", c.operation},
                         {"limit", c.limit}};
  }
  std::string error;
  if (!WriteFileAtomic(options_.state_file, j.dump(2) + "\n", &error)) {
    Log(LogLevel::kWarn, "state_save_failed", {{"error", error}});
  }
}

void Server::After(int delay_ms, std::function<void()> action) {
  timers_.emplace(Clock::now() + std::chrono::milliseconds(std::max(0, delay_ms)), std::move(action));
}

void Server::RunDueTimers() {
  while (!timers_.empty() && timers_.begin()->first <= Clock::now()) {
    auto action = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    action();
  }
}

int Server::NextTimerTimeoutMs() const {
  if (timers_.empty()) return -1;
  const auto wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(timers_.begin()->first - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(wait + 1, 0, 60000));
}

void Server::ScanRequestFolder() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.folder / "req", ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) OnRequestFile(name);
}

std::optional<Fault> Server::TakeFault(bool face, const std::vector<std::string>& person_ids) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->face != face || it->remaining == 0) continue;
    if (!it->person.empty() &&
        std::find(person_ids.begin(), person_ids.end(), it->person) == person_ids.end()) {
      continue;
    }
    Fault taken = *it;
    if (it->remaining > 0 && --it->remaining == 0) faults_.erase(it);
    return taken;
  }
  return std::nullopt;
}

void Server::OnRequestFile(const std::string& name) {
  if (!IsRequestName(name)) return;
  const fs::path path = options_.folder / "req" / name;
  auto bytes = ReadWholeFile(path);
  if (!bytes) return;  // already consumed (a second event for the same file)
  std::error_code ec;
  if (!fs::remove(path, ec)) return;  // somebody else took it
  ++requests_seen_;
  ++request_files_[name];
  const std::string type = MessageType(name);
  const std::string res_name = ResultName(name);
  Log(LogLevel::kInfo, "request_received", {{"file", name}, {"type", type}, {"bytes", bytes->size()}});

  pugi::xml_document doc;
  std::string parse_error;
  Outcome outcome;
  if (!ParseRequest(*bytes, &doc, &parse_error)) {
    outcome.reject_reason = "要求ファイルを解析できません (" + parse_error + ")";
  } else if (type == "OQSsiquc01") {
    outcome = AnswerQualification(doc);
  } else if (type == "OQSsiimm01") {
    outcome = AnswerRegistration(doc);
  } else {
    outcome.reject_reason = "未対応の要求種別です (" + type + ")";
  }

  ++requests_pending_;
  const int latency = options_.latency_ms;
  const std::string request_bytes = *bytes;
  if (!outcome.reject_reason.empty()) {
    After(latency, [this, name, request_bytes, reason = outcome.reject_reason] {
      Reject(name, request_bytes, reason);
      --requests_pending_;
    });
    return;
  }
  std::optional<Fault> fault = TakeFault(false, outcome.person_ids);
  auto write_normal = [this, res_name, result = outcome.result] {
    WriteResult(res_name, result);
    ++requests_answered_;
    --requests_pending_;
  };
  if (!fault) {
    After(latency, write_normal);
    return;
  }
  Log(LogLevel::kInfo, "fault_applied", {{"file", name}, {"fault", FaultKindName(fault->kind)}});
  switch (fault->kind) {
    case FaultKind::kNoResponse:
      ++requests_dropped_;
      --requests_pending_;
      break;
    case FaultKind::kLate:
      After(latency + fault->delay_ms, write_normal);
      break;
    case FaultKind::kReject:
      After(latency, [this, name, request_bytes] {
        Reject(name, request_bytes, "要求を受け付けられませんでした（シミュレータによる障害注入）");
        --requests_pending_;
      });
      break;
    case FaultKind::kError9: {
      std::string error9 = BuildError9(doc, type, *fault);
      After(latency, [this, res_name, error9] {
        WriteResult(res_name, error9);
        ++requests_answered_;
        --requests_pending_;
      });
      break;
    }
    case FaultKind::kHalfWritten:
      After(latency, [this, res_name, result = outcome.result, complete = fault->delay_ms] {
        WriteHalf(res_name, result, complete);
      });
      break;
    case FaultKind::kMalformed:
      After(latency, [this, res_name, result = outcome.result] {
        WriteResult(res_name, Malform(result));
        ++requests_answered_;
        --requests_pending_;
      });
      break;
    case FaultKind::kDuplicate:
      After(latency, write_normal);
      break;
  }
}

std::string Server::Finish(pugi::xml_document* doc) {
  if (options_.shuffle) ShuffleElements(doc, &rng_);
  return Serialize(*doc, options_.shift_jis);
}

void Server::AppendResultOfQualification(pugi::xml_node list, const Person& person, const Qualification& q,
                                         bool limit_consent, const std::string& now_ts, const Consent* consent) {
  pugi::xml_node r = list.append_child("ResultOfQualificationConfirmation");
  AppendJsonFields(r, q.fields, {"LimitApplicationCertificateRelatedInfo", "SpecificDiseasesCertificateList"});
  const std::string cons_time = consent ? consent->cons_time : now_ts;
  AppendText(r, "LimitApplicationCertificateRelatedConsFlg", limit_consent ? "1" : "0");
  if (limit_consent) {
    AppendText(r, "LimitApplicationCertificateRelatedConsTime", cons_time);
    if (auto it = q.fields.find("LimitApplicationCertificateRelatedInfo"); it != q.fields.end()) {
      AppendJsonFields(r.append_child("LimitApplicationCertificateRelatedInfo"), *it);
    }
  }
  if (auto it = q.fields.find("SpecificDiseasesCertificateList"); it != q.fields.end()) {
    AppendText(r, "SpecificDiseasesCertificateRelatedConsFlg", limit_consent ? "1" : "0");
    if (limit_consent) {
      AppendText(r, "SpecificDiseasesCertificateRelatedConsTime", cons_time);
      AppendJsonFields(r.append_child("SpecificDiseasesCertificateList"), *it);
    }
  }
  for (const char* prefix : kInfoConsentPrefixes) {
    const std::string p(prefix);
    bool given = false;
    if (consent) {
      if (p == "SpecificHealthCheckupsInfo") given = consent->health_checkups;
      if (p == "PharmacistsInfo") given = consent->pharmacists;
      if (p == "DiagnosisInfo") given = consent->diagnosis;
      if (p == "OperationInfo") given = consent->operation;
    }
    if (!given) {
      AppendText(r, (p + "ConsFlg").c_str(), "0");
      continue;
    }
    const bool expired = consent->available_time <= now_ts;
    AppendText(r, (p + "ConsFlg").c_str(), expired ? "2" : "1");  // OQSCD016: 2 同意有効期限切れ
    AppendText(r, (p + "ConsTime").c_str(), consent->cons_time);
    AppendText(r, (p + "AvailableTime").c_str(), consent->available_time);
  }
  if (auto it = reference_numbers_.find(person.id); it != reference_numbers_.end()) {
    AppendText(r, "ReferenceNumber", it->second);
  }
}

Server::Outcome Server::AnswerQualification(const pugi::xml_document& request) {
  Outcome outcome;
  const auto now = std::chrono::system_clock::now();
  const std::string now_ts = JstTimestamp(now);
  pugi::xml_node req_header = request.child("XmlMsg").child("MessageHeader");
  pugi::xml_node search = request.child("XmlMsg").child("MessageBody").child("QualificationConfirmSearchInfo");
  std::string date = ChildText(req_header, "QualificationConfirmationDate");
  const bool date_ok = IsDate8(date);
  if (!date_ok) date = JstDate(now);
  const std::string institution = ChildText(req_header, "MedicalInstitutionCode");

  pugi::xml_document doc;
  pugi::xml_node msg = doc.append_child("XmlMsg");
  pugi::xml_node header = msg.append_child("MessageHeader");
  AppendText(header, "ProcessExecutionTime", now_ts);
  AppendText(header, "QualificationConfirmationDate", date);
  AppendText(header, "MedicalInstitutionCode", institution.empty() ? options_.institution_code : institution);
  if (auto afi = ChildText(req_header, "ArbitraryFileIdentifier"); !afi.empty()) {
    AppendText(header, "ArbitraryFileIdentifier", afi);
  }
  AppendText(header, "ReferenceClassification", "2");
  AppendText(header, "SegmentOfResult", "1");
  AppendText(header, "CharacterCodeIdentifier", options_.shift_jis ? "1" : "0");
  pugi::xml_node body = msg.append_child("MessageBody");
  if (search) body.append_copy(search);

  SearchKey key{ChildText(search, "InsurerNumber"), ChildText(search, "InsuredCardSymbol"),
                ChildText(search, "InsuredIdentificationNumber"), ChildText(search, "InsuredBranchNumber"),
                ChildText(search, "Birthdate")};
  std::string missing;
  if (!search) missing = "QualificationConfirmSearchInfo";
  else if (TrimSpaces(key.insurer_number).empty()) missing = "InsurerNumber";
  else if (TrimSpaces(key.number).empty()) missing = "InsuredIdentificationNumber";
  else if (!IsDate8(key.birthdate)) missing = "Birthdate";
  else if (!date_ok) missing = "QualificationConfirmationDate";
  if (!missing.empty()) {
    AppendText(body, "ProcessingResultStatus", "2");
    AppendText(body, "ProcessingResultCode", "SIM1001E");
    AppendText(body, "ProcessingResultMessage", "照会条件が不正です（" + missing + "）");
    Log(LogLevel::kInfo, "qualification_invalid_request", {{"field", missing}});
    outcome.result = Finish(&doc);
    return outcome;
  }

  const bool limit_consent = ChildText(search, "LimitApplicationCertificateRelatedConsFlg") == "1";
  std::vector<Match> visible;
  for (const Match& m : registry_.Find(key)) {
    outcome.person_ids.push_back(m.person->id);
    if (!m.person->dv_suppressed) visible.push_back(m);
  }
  int validity = 4;  // 該当資格なし (also for DV-suppressed people)
  if (visible.size() == 1) validity = visible[0].person->ValidityOf(visible[0].qualification_index, date);
  if (visible.size() > 1) validity = 5;  // 複数該当
  AppendText(body, "ProcessingResultStatus", "1");
  AppendText(body, "QualificationValidity", std::to_string(validity));
  if (!visible.empty()) {
    pugi::xml_node list = body.append_child("ResultList");
    for (const Match& m : visible) {
      auto consent = consents_.find(m.person->id);
      AppendResultOfQualification(list, *m.person, m.person->qualifications[m.qualification_index],
                                  limit_consent, now_ts, consent == consents_.end() ? nullptr : &consent->second);
    }
    if (visible.size() == 1 && !visible[0].person->prescription_issue_select.empty()) {
      AppendText(body, "PrescriptionIssueSelect", visible[0].person->prescription_issue_select);
    }
  }
  nlohmann::json ids = outcome.person_ids;
  Log(LogLevel::kInfo, "qualification_answered", {{"validity", validity}, {"results", visible.size()}});
  Log(LogLevel::kDebug, "qualification_matched", {{"people", ids}});
  outcome.result = Finish(&doc);
  return outcome;
}

Server::Outcome Server::AnswerRegistration(const pugi::xml_document& request) {
  Outcome outcome;
  const auto now = std::chrono::system_clock::now();
  pugi::xml_node req_header = request.child("XmlMsg").child("MessageHeader");
  pugi::xml_node info = request.child("XmlMsg").child("MessageBody").child("ReferenceNumberRegistrationInfo");
  const std::string institution = ChildText(req_header, "MedicalInstitutionCode");

  pugi::xml_document doc;
  pugi::xml_node msg = doc.append_child("XmlMsg");
  pugi::xml_node header = msg.append_child("MessageHeader");
  AppendText(header, "ProcessExecutionTime", JstTimestamp(now));
  AppendText(header, "MedicalInstitutionCode", institution.empty() ? options_.institution_code : institution);
  if (auto afi = ChildText(req_header, "ArbitraryFileIdentifier"); !afi.empty()) {
    AppendText(header, "ArbitraryFileIdentifier", afi);
  }
  AppendText(header, "SegmentOfResult", "1");
  AppendText(header, "CharacterCodeIdentifier", options_.shift_jis ? "1" : "0");
  pugi::xml_node body = msg.append_child("MessageBody");
  if (info) body.append_copy(info);

  const std::string reference = ChildText(info, "ReferenceNumber");
  SearchKey key{ChildText(info, "InsurerNumber"), ChildText(info, "InsuredCardSymbol"),
                ChildText(info, "InsuredIdentificationNumber"), ChildText(info, "InsuredBranchNumber"), ""};
  std::string code, message;
  std::vector<Match> visible;
  if (!info || reference.empty() || reference.size() > 50 || TrimSpaces(key.insurer_number).empty() ||
      TrimSpaces(key.number).empty()) {
    code = "SIM2001E";
    message = "照会番号登録情報が不正です";
  } else {
    for (const Match& m : registry_.Find(key)) {
      outcome.person_ids.push_back(m.person->id);
      if (!m.person->dv_suppressed) visible.push_back(m);
    }
    if (visible.empty()) {
      code = "SIM2002E";
      message = "該当する資格情報が存在しません";
    } else if (visible.size() > 1) {
      code = "SIM2003E";
      message = "該当する資格情報が複数存在します";
    }
  }
  if (code.empty()) {
    reference_numbers_[visible[0].person->id] = reference;
    SaveState();
    AppendText(body, "ProcessingResultStatus", "1");
    Log(LogLevel::kInfo, "reference_number_registered", {{"person", visible[0].person->id}});
  } else {
    AppendText(body, "ProcessingResultStatus", "2");
    AppendText(body, "ProcessingResultCode", code);
    AppendText(body, "ProcessingResultMessage", message);
    Log(LogLevel::kInfo, "reference_number_refused", {{"code", code}});
  }
  outcome.result = Finish(&doc);
  return outcome;
}

std::string Server::BuildError9(const pugi::xml_document& request, const std::string& type, const Fault& fault) {
  const auto now = std::chrono::system_clock::now();
  pugi::xml_node req_header = request.child("XmlMsg").child("MessageHeader");
  const std::string institution = ChildText(req_header, "MedicalInstitutionCode");
  pugi::xml_document doc;
  pugi::xml_node msg = doc.append_child("XmlMsg");
  pugi::xml_node header = msg.append_child("MessageHeader");
  AppendText(header, "ProcessExecutionTime", JstTimestamp(now));
  if (type == "OQSsiquc01") {
    std::string date = ChildText(req_header, "QualificationConfirmationDate");
    AppendText(header, "QualificationConfirmationDate", IsDate8(date) ? date : JstDate(now));
  }
  AppendText(header, "MedicalInstitutionCode", institution.empty() ? options_.institution_code : institution);
  if (auto afi = ChildText(req_header, "ArbitraryFileIdentifier"); !afi.empty()) {
    AppendText(header, "ArbitraryFileIdentifier", afi);
  }
  if (type == "OQSsiquc01") AppendText(header, "ReferenceClassification", "2");
  AppendText(header, "SegmentOfResult", "9");
  AppendText(header, "ErrorCode", fault.error_code);
  AppendText(header, "ErrorMessage", fault.error_message);
  AppendText(header, "CharacterCodeIdentifier", options_.shift_jis ? "1" : "0");
  pugi::xml_node body = msg.append_child("MessageBody");
  pugi::xml_node req_body = request.child("XmlMsg").child("MessageBody");
  for (const char* echo : {"QualificationConfirmSearchInfo", "ReferenceNumberRegistrationInfo"}) {
    if (pugi::xml_node n = req_body.child(echo)) body.append_copy(n);
  }
  return Finish(&doc);
}

void Server::WriteResult(const std::string& res_name, const std::string& bytes) {
  std::string error;
  if (!WriteFileAtomic(options_.folder / "res" / res_name, bytes, &error)) {
    Log(LogLevel::kError, "result_write_failed", {{"file", res_name}, {"error", error}});
    return;
  }
  Log(LogLevel::kInfo, "result_written", {{"file", res_name}, {"bytes", bytes.size()}});
}

void Server::WriteHalf(const std::string& res_name, const std::string& bytes, int complete_after_ms) {
  const fs::path path = options_.folder / "res" / res_name;
  const size_t half = bytes.size() / 2;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, bytes.data(), half) != static_cast<ssize_t>(half)) {
    Log(LogLevel::kError, "result_write_failed", {{"file", res_name}, {"error", std::strerror(errno)}});
  }
  if (fd >= 0) ::close(fd);
  Log(LogLevel::kInfo, "result_half_written", {{"file", res_name}, {"bytes", half}});
  if (complete_after_ms < 0) {
    ++requests_answered_;
    --requests_pending_;
    return;
  }
  After(complete_after_ms, [this, path, res_name, rest = bytes.substr(half)] {
    const int afd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (afd < 0 || ::write(afd, rest.data(), rest.size()) != static_cast<ssize_t>(rest.size())) {
      Log(LogLevel::kError, "result_write_failed", {{"file", res_name}, {"error", std::strerror(errno)}});
    }
    if (afd >= 0) ::close(afd);
    Log(LogLevel::kInfo, "result_completed", {{"file", res_name}});
    ++requests_answered_;
    --requests_pending_;
  });
}

void Server::Reject(const std::string& req_name, const std::string& request_bytes, const std::string& reason) {
  const std::string base = req_name.substr(0, req_name.size() - 4);  // without ".xml"
  std::string text = "要求ファイルを受け付けられませんでした。\r\nファイル名: " + req_name + "\r\n理由: " + reason + "\r\n";
  if (options_.shift_jis) text = Utf8ToCp932(text);
  std::string error;
  // The .err first, then the request itself: a client that sees its request in res/ finds the reason.
  if (!WriteFileAtomic(options_.folder / "res" / (base + ".err"), text, &error) ||
      !WriteFileAtomic(options_.folder / "res" / req_name, request_bytes, &error)) {
    Log(LogLevel::kError, "reject_write_failed", {{"file", req_name}, {"error", error}});
  }
  ++requests_rejected_;
  Log(LogLevel::kInfo, "request_rejected", {{"file", req_name}, {"reason", reason}});
}

nlohmann::json Server::StatusJson() const {
  return {{"ok", true},
          {"requests_seen", requests_seen_},
          {"requests_answered", requests_answered_},
          {"requests_rejected", requests_rejected_},
          {"requests_dropped", requests_dropped_},
          {"requests_pending", requests_pending_},
          {"faces_written", faces_written_},
          {"request_files", request_files_},
          {"faults_armed", faults_.size()},
          {"encoding", options_.shift_jis ? "shift_jis" : "utf-8"}};
}

nlohmann::json Server::FaceCheckIn(const nlohmann::json& command) {
  const Person* person = registry_.FindById(command.value("person", ""));
  if (!person) return {{"ok", false}, {"error", "unknown person id"}};
  const std::string mode = command.value("consent", "all");
  if (mode != "all" && mode != "none" && mode != "medication-only") {
    return {{"ok", false}, {"error", "consent must be all, none or medication-only"}};
  }
  auto when = std::chrono::system_clock::now();
  if (command.contains("time")) {
    auto parsed = ParseJstTimestamp(command.value("time", ""));
    if (!parsed) return {{"ok", false}, {"error", "time must be yyyyMMddHHmmss"}};
    when = *parsed;
  }
  const std::string ts = JstTimestamp(when);
  const std::string date = ts.substr(0, 8);
  Consent consent;
  consent.cons_time = ts;
  consent.available_time = JstTimestamp(when + std::chrono::hours(24));
  consent.pharmacists = mode != "none";
  consent.health_checkups = consent.diagnosis = consent.operation = consent.limit = mode == "all";
  consents_[person->id] = consent;
  SaveState();

  pugi::xml_document doc;
  pugi::xml_node msg = doc.append_child("XmlMsg");
  pugi::xml_node header = msg.append_child("MessageHeader");
  AppendText(header, "ProcessExecutionTime", ts);
  AppendText(header, "QualificationConfirmationDate", date);
  AppendText(header, "MedicalInstitutionCode", options_.institution_code);
  AppendText(header, "ArbitraryFileIdentifier",
             RandomToken(&id_rng_, 15, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") + "=");
  AppendText(header, "ReferenceClassification", "1");
  AppendText(header, "SegmentOfResult", "1");
  AppendText(header, "CharacterCodeIdentifier", options_.shift_jis ? "1" : "0");
  pugi::xml_node body = msg.append_child("MessageBody");
  AppendText(body, "ProcessingResultStatus", "1");
  int validity = 4;
  if (!person->dv_suppressed) {
    const Qualification& q = person->CurrentQualification(date);
    const size_t index = static_cast<size_t>(&q - person->qualifications.data());
    validity = person->ValidityOf(index, date);
    AppendText(body, "QualificationValidity", std::to_string(validity));
    AppendResultOfQualification(body.append_child("ResultList"), *person, q, consent.limit, ts, &consent);
    if (!person->prescription_issue_select.empty()) {
      AppendText(body, "PrescriptionIssueSelect", person->prescription_issue_select);
    }
  } else {
    AppendText(body, "QualificationValidity", "4");
  }
  std::string bytes = Finish(&doc);

  std::optional<Fault> fault = TakeFault(true, {person->id});
  if (fault && fault->kind == FaultKind::kMalformed) bytes = Malform(bytes);
  const int copies = fault && fault->kind == FaultKind::kDuplicate ? 2 : 1;
  nlohmann::json files = nlohmann::json::array();
  for (int i = 0; i < copies; ++i) {
    const std::string name = "OQSsiquc01res_face_" + options_.institution_code +
                             RandomToken(&id_rng_, 20, "0123456789abcdef") + "_" + ts + ".xml";
    std::string error;
    if (!WriteFileAtomic(options_.folder / "face" / name, bytes, &error)) {
      return {{"ok", false}, {"error", error}};
    }
    files.push_back(name);
    ++faces_written_;
  }
  Log(LogLevel::kInfo, "face_written",
      {{"files", files}, {"validity", validity}, {"consent", mode},
       {"fault", fault ? FaultKindName(fault->kind) : "none"}});
  return {{"ok", true}, {"files", files}, {"validity", validity}};
}

nlohmann::json Server::HandleCommand(const nlohmann::json& command) {
  const std::string cmd = command.is_object() ? command.value("cmd", "") : "";
  if (cmd == "status" || cmd == "ping") return StatusJson();
  if (cmd == "face") return FaceCheckIn(command);
  if (cmd == "fault") {
    std::string error;
    auto fault = FaultFromJson(command, &error);
    if (!fault) return {{"ok", false}, {"error", error}};
    faults_.push_back(*fault);
    Log(LogLevel::kInfo, "fault_armed", {{"fault", FaultKindName(fault->kind)}, {"count", fault->remaining},
                                         {"target", fault->face ? "face" : "request"}});
    return {{"ok", true}, {"faults_armed", faults_.size()}};
  }
  if (cmd == "clear-faults") {
    faults_.clear();
    return {{"ok", true}};
  }
  if (cmd == "reference") {
    auto it = reference_numbers_.find(command.value("person", ""));
    return {{"ok", true},
            {"reference_number", it == reference_numbers_.end() ? nlohmann::json() : nlohmann::json(it->second)}};
  }
  if (cmd == "shutdown") {
    stop_ = true;
    return {{"ok", true}};
  }
  return {{"ok", false}, {"error", "unknown command; try status, face, fault, clear-faults, reference, shutdown"}};
}

void Server::AcceptClient() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    clients_.push_back({fd, ""});
  }
}

bool Server::ServeClient(Client* client) {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(client->fd, buf, sizeof buf);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return false;
    }
    client->buffer.append(buf, static_cast<size_t>(n));
    if (client->buffer.size() > 65536) return false;
  }
  size_t nl;
  while ((nl = client->buffer.find('\n')) != std::string::npos) {
    const std::string line = client->buffer.substr(0, nl);
    client->buffer.erase(0, nl + 1);
    if (TrimSpaces(line).empty()) continue;
    auto command = nlohmann::json::parse(line, nullptr, false);
    nlohmann::json reply = command.is_discarded() ? nlohmann::json{{"ok", false}, {"error", "not JSON"}}
                                                  : HandleCommand(command);
    const std::string out = reply.dump() + "\n";
    size_t sent = 0;
    while (sent < out.size()) {
      const ssize_t n = ::send(client->fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          pollfd p{client->fd, POLLOUT, 0};
          ::poll(&p, 1, 1000);
          continue;
        }
        return false;
      }
      sent += static_cast<size_t>(n);
    }
  }
  return true;
}

int Server::Run() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (!Setup()) return 1;
  ScanRequestFolder();
  Log(LogLevel::kInfo, "ready",
      {{"folder", options_.folder.string()}, {"control_socket", options_.control_socket.string()},
       {"people", registry_.people().size()}, {"latency_ms", options_.latency_ms},
       {"encoding", options_.shift_jis ? "shift_jis" : "utf-8"}, {"shuffle", options_.shuffle},
       {"faults", faults_.size()}});

  alignas(inotify_event) char events[8192];
  while (!stop_ && !g_signalled) {
    std::vector<pollfd> fds = {{inotify_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const auto& c : clients_) fds.push_back({c.fd, POLLIN, 0});
    const int rc = ::poll(fds.data(), fds.size(), NextTimerTimeoutMs());
    if (rc < 0 && errno != EINTR) {
      Log(LogLevel::kError, "poll_failed", {{"error", std::strerror(errno)}});
      return 1;
    }
    if (rc > 0) {
      if (fds[0].revents & POLLIN) {
        ssize_t n;
        while ((n = ::read(inotify_fd_, events, sizeof events)) > 0) {
          for (char* p = events; p < events + n;) {
            const auto* ev = reinterpret_cast<const inotify_event*>(p);
            if (ev->len > 0) OnRequestFile(ev->name);
            p += sizeof(inotify_event) + ev->len;
          }
        }
      }
      if (fds[1].revents & POLLIN) AcceptClient();
      std::set<int> closing;
      for (size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.fd == fds[i].fd; });
        if (it != clients_.end() && !ServeClient(&*it)) closing.insert(it->fd);
      }
      for (int fd : closing) ::close(fd);
      std::erase_if(clients_, [&](const Client& c) { return closing.count(c.fd) > 0; });
    }
    RunDueTimers();
  }
  Log(LogLevel::kInfo, "stopping", {{"pending_timers", timers_.size()}});
  return 0;
}

}  // namespace oqs_sim
