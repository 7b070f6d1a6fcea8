// oqs-terminal-sim, the simulated 資格確認端末, run as a separate process on a temporary shared folder.
// Requests are written the way a client writes them (temp name, then rename); results are awaited with
// inotify; the simulator is ready when its control socket appears (it renames the socket into place
// only after listen()).
#include <catch2/catch.hpp>

#include <iconv.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "support/child_process.h"

using onshid::testing::ChildOptions;
using onshid::testing::ChildProcess;
using onshid::testing::CommandResult;
using onshid::testing::Run;

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr const char kSimBinary[] = OQS_TERMINAL_SIM_BINARY;
constexpr int kWaitMs = 10000;

class SimTempDir {
 public:
  SimTempDir() {
    char tmpl[] = "/tmp/oqs-sim-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~SimTempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Counts inotify events per file name in one directory and waits for them.
class DirWatch {
 public:
  explicit DirWatch(const fs::path& dir, uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    inotify_add_watch(fd_, dir.c_str(), mask);
  }
  ~DirWatch() { ::close(fd_); }
  DirWatch(const DirWatch&) = delete;
  DirWatch& operator=(const DirWatch&) = delete;

  // Waits until `name` has seen at least `events` events; false on timeout.
  bool WaitFor(const std::string& name, int events = 1, int timeout_ms = kWaitMs) {
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    while (counts_[name] < events) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) > 0) Drain();
    }
    return true;
  }
  // Waits for `count` distinct names matching `pattern`; returns them in arrival order.
  std::vector<std::string> WaitForNames(const std::regex& pattern, size_t count, int timeout_ms = kWaitMs) {
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      std::vector<std::string> hits;
      for (const auto& n : order_) {
        if (std::regex_match(n, pattern)) hits.push_back(n);
      }
      if (hits.size() >= count) return hits;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) return hits;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) > 0) Drain();
    }
  }
  int Count(const std::string& name) {
    Drain();
    return counts_[name];
  }

 private:
  void Drain() {
    alignas(inotify_event) char buf[8192];
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(p);
        if (ev->len > 0) {
          const std::string name = ev->name;
          if (counts_[name]++ == 0) order_.push_back(name);
        }
        p += sizeof(inotify_event) + ev->len;
      }
    }
  }
  int fd_ = -1;
  std::map<std::string, int> counts_;
  std::vector<std::string> order_;
};

// Runs the simulator's CLI to its end: stdout and stderr together.
CommandResult RunSim(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kSimBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, std::chrono::milliseconds(kWaitMs * 3));
}

class SimProcess {
 public:
  SimProcess(fs::path folder, std::vector<std::string> extra_args)
      : folder_(std::move(folder)), extra_args_(std::move(extra_args)) {}
  ~SimProcess() { Stop(); }
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  fs::path socket() const { return folder_ / "oqs-terminal-sim.sock"; }
  fs::path log_path() const { return folder_.parent_path() / (folder_.filename().string() + "-sim.log"); }
  std::string log() const { return Slurp(log_path()); }

  bool Start() {
    fs::create_directories(folder_);
    DirWatch ready(folder_, IN_MOVED_TO);
    ChildOptions options;
    options.argv = {kSimBinary, "serve", "--folder", folder_.string(), "--log-format", "json"};
    options.argv.insert(options.argv.end(), extra_args_.begin(), extra_args_.end());
    options.stdout_path = std::nullopt;  // the test's own
    options.stderr_path = log_path().string();
    options.stop_grace = std::chrono::milliseconds(kWaitMs);
    process_ = std::make_unique<ChildProcess>(std::move(options));
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(kWaitMs);
    while (SteadyClock::now() < deadline) {
      if (ready.WaitFor(socket().filename().string(), 1, 200)) return true;
      if (!process_->Running()) return false;
    }
    return false;
  }

  // SIGTERM, and the process reaped (SIGKILL if it has not exited within kWaitMs).
  void Stop() { process_.reset(); }

  nlohmann::json Command(const nlohmann::json& command) const {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = socket().string();
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return {{"ok", false}, {"error", "connect failed"}};
    }
    const std::string line = command.dump() + "\n";
    (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    std::string reply;
    char buf[4096];
    ssize_t n;
    while (reply.find('\n') == std::string::npos && (n = ::read(fd, buf, sizeof buf)) > 0) {
      reply.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return nlohmann::json::parse(reply, nullptr, false);
  }

 private:
  fs::path folder_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<ChildProcess> process_;
};

struct Search {
  std::string insurer, symbol, number, branch, birthdate;
};

std::string QucRequest(const Search& s, const std::string& file_id, const std::string& encoding = "UTF-8") {
  std::string xml = "<?xml version=\"1.0\" encoding=\"" + encoding +
                    "\" standalone=\"no\"?>\n<XmlMsg><MessageHeader>"
                    "<QualificationConfirmationDate>20261121</QualificationConfirmationDate>"
                    "<MedicalInstitutionCode>1311234567</MedicalInstitutionCode>"
                    "<ArbitraryFileIdentifier>" + file_id + "</ArbitraryFileIdentifier></MessageHeader>"
                    "<MessageBody><QualificationConfirmSearchInfo><InsurerNumber>" + s.insurer + "</InsurerNumber>";
  if (!s.symbol.empty()) xml += "<InsuredCardSymbol>" + s.symbol + "</InsuredCardSymbol>";
  xml += "<InsuredIdentificationNumber>" + s.number + "</InsuredIdentificationNumber>";
  if (!s.branch.empty()) xml += "<InsuredBranchNumber>" + s.branch + "</InsuredBranchNumber>";
  xml += "<Birthdate>" + s.birthdate +
         "</Birthdate><LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>"
         "</QualificationConfirmSearchInfo></MessageBody></XmlMsg>\n";
  return xml;
}

std::string ImmRequest(const Search& s, const std::string& reference) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<XmlMsg><MessageHeader>"
         "<MedicalInstitutionCode>1311234567</MedicalInstitutionCode>"
         "<ArbitraryFileIdentifier>imm-1</ArbitraryFileIdentifier></MessageHeader><MessageBody>"
         "<ReferenceNumberRegistrationInfo><ReferenceNumber>" + reference + "</ReferenceNumber><InsurerNumber>" +
         s.insurer + "</InsurerNumber><InsuredCardSymbol>" + s.symbol +
         "</InsuredCardSymbol><InsuredIdentificationNumber>" + s.number +
         "</InsuredIdentificationNumber><InsuredBranchNumber>" + s.branch +
         "</InsuredBranchNumber></ReferenceNumberRegistrationInfo></MessageBody></XmlMsg>\n";
}

// As a client does: write a dot-prefixed temp file in req/, then rename it to its final name.
void PutRequest(const fs::path& folder, const std::string& name, const std::string& bytes) {
  const fs::path tmp = folder / "req" / ("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary);
    out << bytes;
  }
  fs::rename(tmp, folder / "req" / name);
}

std::string ResName(const std::string& req_name) {
  std::string out = req_name;
  out.replace(out.find("req_"), 4, "res_");
  return out;
}

// Writes a request and returns the result file's bytes ("" on timeout).
std::string Ask(const fs::path& folder, DirWatch* res_watch, const std::string& name, const std::string& xml) {
  PutRequest(folder, name, xml);
  if (!res_watch->WaitFor(ResName(name))) return "";
  return Slurp(folder / "res" / ResName(name));
}

bool ParseXml(const std::string& bytes, pugi::xml_document* doc) {
  return doc->load_buffer(bytes.data(), bytes.size(), pugi::parse_default, pugi::encoding_utf8);
}

std::string At(const pugi::xml_node& node, const char* path) {
  return node.first_element_by_path(path, '/').text().get();
}

std::string Cp932ToUtf8ForTest(const std::string& in) {
  iconv_t cd = iconv_open("UTF-8", "CP932");
  std::string copy = in, out(in.size() * 3 + 16, '\0');
  char* src = copy.data();
  char* dst = out.data();
  size_t src_left = copy.size(), dst_left = out.size();
  const size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) return "";
  out.resize(out.size() - dst_left);
  return out;
}

std::string Utf8ToCp932ForTest(const std::string& in) {
  iconv_t cd = iconv_open("CP932", "UTF-8");
  std::string copy = in, out(in.size() * 2 + 16, '\0');
  char* src = copy.data();
  char* dst = out.data();
  size_t src_left = copy.size(), dst_left = out.size();
  iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  out.resize(out.size() - dst_left);
  return out;
}

const Search kShahoHonnin{"06139992", "1234", "5678", "00", "19800415"};
const Search kKokuho{"  271395", "架空市", "102345", "00", "19750303"};
const Search kKouki{"39139985", "", "13919998", "", "19440808"};
const Search kMovedOld{"  281394", "見本", "440022", "00", "19880808"};
const Search kMovedNew{"06279012", "77", "1001", "00", "19880808"};
const Search kUnknown{"06139992", "1234", "0000", "00", "19800415"};
const Search kDv{"06139992", "1234", "3456", "00", "19920303"};
const Search kDuplicate{"06279020", "88", "2002", "03", "20100510"};
const Search kFujo{"12139994", "", "1307008", "", "19580707"};
const Search kLost{"06279038", "5", "808", "00", "19700505"};

}  // namespace

TEST_CASE("oqs-terminal-sim answers 資格確認 and 照会番号登録 from its registry and writes face check-ins",
          "[sim]") {
  SimTempDir dir;
  const fs::path folder = dir.path() / "oqs";
  auto sim = std::make_unique<SimProcess>(folder, std::vector<std::string>{"--latency-ms", "20"});
  REQUIRE(sim->Start());
  INFO(sim->log());
  REQUIRE(fs::is_directory(folder / "req"));
  REQUIRE(fs::is_directory(folder / "face"));
  DirWatch res(folder / "res");

  int seq = 0;
  auto query = [&](const Search& s, pugi::xml_document* doc) {
    const std::string name = "OQSsiquc01req_20261121" + std::to_string(1000 + ++seq) + ".xml";
    const std::string bytes = Ask(folder, &res, name, QucRequest(s, "afi-" + std::to_string(seq)));
    REQUIRE_FALSE(bytes.empty());
    CHECK_FALSE(fs::exists(folder / "req" / name));  // consumed
    REQUIRE(ParseXml(bytes, doc));
    const pugi::xml_node msg = doc->child("XmlMsg");
    CHECK(At(msg, "MessageHeader/ArbitraryFileIdentifier") == "afi-" + std::to_string(seq));
    CHECK(At(msg, "MessageHeader/ReferenceClassification") == "2");
    CHECK(At(msg, "MessageHeader/SegmentOfResult") == "1");
    CHECK(At(msg, "MessageHeader/CharacterCodeIdentifier") == "0");
    CHECK(At(msg, "MessageHeader/MedicalInstitutionCode") == "1311234567");
    CHECK(At(msg, "MessageHeader/ProcessExecutionTime").size() == 14);
    CHECK(At(msg, "MessageBody/QualificationConfirmSearchInfo/InsurerNumber") == s.insurer);
    CHECK(At(msg, "MessageBody/ProcessingResultStatus") == "1");
    return At(msg, "MessageBody/QualificationValidity");
  };
  auto results = [](const pugi::xml_document& doc) {
    std::vector<pugi::xml_node> out;
    for (auto r : doc.child("XmlMsg").child("MessageBody").child("ResultList").children(
             "ResultOfQualificationConfirmation")) {
      out.push_back(r);
    }
    return out;
  };

  pugi::xml_document doc;
  CHECK(query(kShahoHonnin, &doc) == "1");
  REQUIRE(results(doc).size() == 1);
  CHECK(At(results(doc)[0], "Name") == "診療　太郎");
  CHECK(At(results(doc)[0], "NameKana") == "ｼﾝﾘｮｳ ﾀﾛｳ");
  CHECK(At(results(doc)[0], "LimitApplicationCertificateRelatedConsFlg") == "1");
  CHECK(At(doc.child("XmlMsg"), "MessageBody/PrescriptionIssueSelect") == "1");

  CHECK(query(kKokuho, &doc) == "1");
  CHECK(At(results(doc)[0], "InsurerNumber") == "  271395");

  CHECK(query(kKouki, &doc) == "1");
  CHECK(At(results(doc)[0], "InsuredPartialContributionRatio") == "010");
  CHECK(At(results(doc)[0], "LimitApplicationCertificateRelatedInfo/LimitApplicationCertificateClassificationFlag") ==
        "B10");

  CHECK(query(kMovedOld, &doc) == "3");
  REQUIRE(results(doc).size() == 1);
  CHECK(At(results(doc)[0], "DisqualificationDate") == "20261001");
  CHECK(At(results(doc)[0], "InsurerNumber") == "  281394");
  CHECK(query(kMovedNew, &doc) == "1");

  CHECK(query(kUnknown, &doc) == "4");
  CHECK(results(doc).empty());
  CHECK(query(kDv, &doc) == "4");
  CHECK(results(doc).empty());

  CHECK(query(kDuplicate, &doc) == "5");
  CHECK(results(doc).size() == 2);

  CHECK(query(kFujo, &doc) == "6");
  CHECK(At(results(doc)[0], "InsuredCardClassification") == "A1");
  CHECK(At(results(doc)[0], "PublicExpenseResultList/MedicalTicketInfo/TicketType") == "01");

  CHECK(query(kLost, &doc) == "2");

  // 照会番号登録, then the number comes back in query results.
  {
    const std::string bytes = Ask(folder, &res, "OQSsiimm01req_202611210001.xml", ImmRequest(kShahoHonnin, "P-000123"));
    REQUIRE(ParseXml(bytes, &doc));
    CHECK(At(doc.child("XmlMsg"), "MessageHeader/SegmentOfResult") == "1");
    CHECK(At(doc.child("XmlMsg"), "MessageBody/ProcessingResultStatus") == "1");
    CHECK(At(doc.child("XmlMsg"), "MessageBody/ReferenceNumberRegistrationInfo/ReferenceNumber") == "P-000123");
    const std::string unknown = Ask(folder, &res, "OQSsiimm01req_202611210002.xml", ImmRequest(kUnknown, "P-9"));
    REQUIRE(ParseXml(unknown, &doc));
    CHECK(At(doc.child("XmlMsg"), "MessageBody/ProcessingResultStatus") == "2");
    CHECK_FALSE(At(doc.child("XmlMsg"), "MessageBody/ProcessingResultCode").empty());
  }
  CHECK(query(kShahoHonnin, &doc) == "1");
  CHECK(At(results(doc)[0], "ReferenceNumber") == "P-000123");

  // Face check-in through the CLI.
  {
    DirWatch face(folder / "face");
    const CommandResult run =
        RunSim({"face", "--control-socket", sim->socket().string(), "--person", "shaho-honnin",
                "--consent", "all", "--time", "20261121093000"});
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const auto names = face.WaitForNames(
        std::regex(R"(OQSsiquc01res_face_1311234567[0-9A-Za-z]{20}_20261121093000\.xml)"), 1);
    REQUIRE(names.size() == 1);
    REQUIRE(face.WaitFor(names[0]));
    REQUIRE(ParseXml(Slurp(folder / "face" / names[0]), &doc));
    const pugi::xml_node msg = doc.child("XmlMsg");
    CHECK(At(msg, "MessageHeader/ReferenceClassification") == "1");
    CHECK_FALSE(At(msg, "MessageHeader/ArbitraryFileIdentifier").empty());
    CHECK_FALSE(msg.child("MessageBody").child("QualificationConfirmSearchInfo"));
    CHECK(At(msg, "MessageBody/QualificationValidity") == "1");
    const pugi::xml_node r = results(doc).at(0);
    CHECK(At(r, "PharmacistsInfoConsFlg") == "1");
    CHECK(At(r, "PharmacistsInfoConsTime") == "20261121093000");
    CHECK(At(r, "PharmacistsInfoAvailableTime") == "20261122093000");
    CHECK(At(r, "ReferenceNumber") == "P-000123");
  }

  const nlohmann::json status = sim->Command({{"cmd", "status"}});
  CHECK(status.value("ok", false));
  CHECK(status.value("requests_seen", 0) == seq + 2);
  CHECK(status.value("requests_answered", 0) == seq + 2);
  CHECK(status.value("faces_written", 0) == 1);

  // The 照会番号 survives a restart (state file).
  sim->Stop();
  sim = std::make_unique<SimProcess>(folder, std::vector<std::string>{"--latency-ms", "0"});
  REQUIRE(sim->Start());
  CHECK(query(kShahoHonnin, &doc) == "1");
  CHECK(At(results(doc)[0], "ReferenceNumber") == "P-000123");
}

TEST_CASE("oqs-terminal-sim writes Shift_JIS with shuffled elements and reads Shift_JIS requests", "[sim]") {
  SimTempDir dir;
  const fs::path folder = dir.path() / "oqs";
  SimProcess sim(folder, {"--latency-ms", "0", "--encoding", "shift_jis", "--shuffle-elements", "--seed", "7"});
  REQUIRE(sim.Start());
  INFO(sim.log());
  DirWatch res(folder / "res");

  bool saw_shuffled_header = false;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "OQSsiquc01req_20261121200" + std::to_string(i) + ".xml";
    const std::string raw =
        Ask(folder, &res, name, Utf8ToCp932ForTest(QucRequest(kShahoHonnin, "sjis", "Shift_JIS")));
    REQUIRE_FALSE(raw.empty());
    CHECK(raw.rfind("<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>", 0) == 0);
    CHECK(raw.find("診療") == std::string::npos);  // not UTF-8
    const std::string utf8 = Cp932ToUtf8ForTest(raw);
    REQUIRE_FALSE(utf8.empty());
    pugi::xml_document doc;
    REQUIRE(ParseXml(utf8, &doc));
    const pugi::xml_node msg = doc.child("XmlMsg");
    CHECK(At(msg, "MessageHeader/CharacterCodeIdentifier") == "1");
    CHECK(At(msg, "MessageBody/QualificationValidity") == "1");
    CHECK(At(msg, "MessageBody/ResultList/ResultOfQualificationConfirmation/Name") == "診療　太郎");
    CHECK(At(msg, "MessageBody/QualificationConfirmSearchInfo/InsuredCardSymbol") == "1234");
    if (std::string(msg.child("MessageHeader").first_child().name()) != "ProcessExecutionTime") {
      saw_shuffled_header = true;
    }
  }
  CHECK(saw_shuffled_header);

  // Face files follow the encoding too; ● survives the round trip.
  DirWatch face(folder / "face");
  CHECK(sim.Command({{"cmd", "face"}, {"person", "gaiji-maru"}, {"consent", "medication-only"}}).value("ok", false));
  const auto names = face.WaitForNames(std::regex(R"(OQSsiquc01res_face_.*\.xml)"), 1);
  REQUIRE(names.size() == 1);
  REQUIRE(face.WaitFor(names[0]));
  pugi::xml_document doc;
  REQUIRE(ParseXml(Cp932ToUtf8ForTest(Slurp(folder / "face" / names[0])), &doc));
  const pugi::xml_node r = doc.child("XmlMsg").child("MessageBody").child("ResultList").child(
      "ResultOfQualificationConfirmation");
  CHECK(At(r, "Name") == "●橋　八郎");
  CHECK(At(r, "PharmacistsInfoConsFlg") == "1");
  CHECK(At(r, "DiagnosisInfoConsFlg") == "0");
  CHECK(At(doc.child("XmlMsg"), "MessageHeader/CharacterCodeIdentifier") == "1");
}

TEST_CASE("oqs-terminal-sim injects faults into results and face files", "[sim]") {
  SimTempDir dir;
  const fs::path folder = dir.path() / "oqs";
  SimProcess sim(folder, {"--latency-ms", "0", "--fault", "error-9:person=lost"});
  REQUIRE(sim.Start());
  INFO(sim.log());
  DirWatch res(folder / "res");
  DirWatch req(folder / "req", IN_DELETE);
  auto arm = [&](nlohmann::json fault) {
    fault["cmd"] = "fault";
    REQUIRE(sim.Command(fault).value("ok", false));
  };
  const std::string ok_xml = QucRequest(kShahoHonnin, "ok");
  pugi::xml_document doc;

  SECTION("no-response consumes the request and never answers") {
    arm({{"kind", "no-response"}, {"count", 1}});
    PutRequest(folder, "OQSsiquc01req_000000000001.xml", ok_xml);
    CHECK_FALSE(Ask(folder, &res, "OQSsiquc01req_000000000002.xml", ok_xml).empty());
    CHECK(req.Count("OQSsiquc01req_000000000001.xml") == 1);  // consumed
    CHECK_FALSE(fs::exists(folder / "res" / "OQSsiquc01res_000000000001.xml"));
    CHECK(sim.Command({{"cmd", "status"}}).value("requests_dropped", 0) == 1);
  }
  SECTION("late answers after later requests") {
    arm({{"kind", "late"}, {"delay_ms", 1500}});
    PutRequest(folder, "OQSsiquc01req_000000000001.xml", ok_xml);
    CHECK_FALSE(Ask(folder, &res, "OQSsiquc01req_000000000002.xml", ok_xml).empty());
    CHECK_FALSE(fs::exists(folder / "res" / "OQSsiquc01res_000000000001.xml"));
    REQUIRE(res.WaitFor("OQSsiquc01res_000000000001.xml"));
    CHECK(ParseXml(Slurp(folder / "res" / "OQSsiquc01res_000000000001.xml"), &doc));
  }
  SECTION("reject moves the request into res/ with a .err beside it") {
    arm({{"kind", "reject"}, {"person", "kokuho"}});
    PutRequest(folder, "OQSsiquc01req_000000000003.xml", QucRequest(kKokuho, "rej"));
    REQUIRE(res.WaitFor("OQSsiquc01req_000000000003.xml"));
    CHECK(Slurp(folder / "res" / "OQSsiquc01req_000000000003.xml") == QucRequest(kKokuho, "rej"));
    const std::string err = Slurp(folder / "res" / "OQSsiquc01req_000000000003.err");
    CHECK(err.find("理由") != std::string::npos);
    CHECK_FALSE(fs::exists(folder / "res" / "OQSsiquc01res_000000000003.xml"));
    // Another person is unaffected.
    CHECK_FALSE(Ask(folder, &res, "OQSsiquc01req_000000000004.xml", ok_xml).empty());
  }
  SECTION("an unparsable request is rejected") {
    PutRequest(folder, "OQSsiquc01req_000000000005.xml", "<XmlMsg><MessageHeader>");
    REQUIRE(res.WaitFor("OQSsiquc01req_000000000005.xml"));
    CHECK(fs::exists(folder / "res" / "OQSsiquc01req_000000000005.err"));
  }
  SECTION("error-9 (armed by --fault for one person) answers SegmentOfResult 9") {
    REQUIRE(ParseXml(Ask(folder, &res, "OQSsiquc01req_000000000006.xml", QucRequest(kLost, "e9")), &doc));
    CHECK(At(doc.child("XmlMsg"), "MessageHeader/SegmentOfResult") == "9");
    CHECK_FALSE(At(doc.child("XmlMsg"), "MessageHeader/ErrorCode").empty());
    CHECK_FALSE(At(doc.child("XmlMsg"), "MessageHeader/ErrorMessage").empty());
  }
  SECTION("half-written leaves a truncated file under the final name, then completes it") {
    arm({{"kind", "half-written"}, {"delay_ms", 300}});
    PutRequest(folder, "OQSsiquc01req_000000000007.xml", ok_xml);
    REQUIRE(res.WaitFor("OQSsiquc01res_000000000007.xml", 1));
    pugi::xml_document partial;
    CHECK_FALSE(ParseXml(Slurp(folder / "res" / "OQSsiquc01res_000000000007.xml"), &partial));
    REQUIRE(res.WaitFor("OQSsiquc01res_000000000007.xml", 2));
    CHECK(ParseXml(Slurp(folder / "res" / "OQSsiquc01res_000000000007.xml"), &doc));
  }
  SECTION("malformed writes invalid XML") {
    arm({{"kind", "malformed"}});
    CHECK_FALSE(ParseXml(Ask(folder, &res, "OQSsiquc01req_000000000008.xml", ok_xml), &doc));
  }
  SECTION("face faults: malformed and duplicate") {
    DirWatch face(folder / "face");
    arm({{"kind", "malformed"}, {"target", "face"}});
    auto reply = sim.Command({{"cmd", "face"}, {"person", "kouki"}});
    REQUIRE(reply.value("ok", false));
    const std::string bad = reply["files"][0];
    REQUIRE(face.WaitFor(bad));
    CHECK_FALSE(ParseXml(Slurp(folder / "face" / bad), &doc));

    arm({{"kind", "duplicate"}});
    reply = sim.Command({{"cmd", "face"}, {"person", "kouki"}});
    REQUIRE(reply["files"].size() == 2);
    const std::string a = reply["files"][0], b = reply["files"][1];
    REQUIRE(face.WaitFor(a));
    REQUIRE(face.WaitFor(b));
    CHECK(a != b);
    CHECK(Slurp(folder / "face" / a) == Slurp(folder / "face" / b));
    CHECK(ParseXml(Slurp(folder / "face" / a), &doc));
  }
}

TEST_CASE("oqs-terminal-sim check-registry accepts the shipped registry and names a bad check digit", "[sim]") {
  const std::string shipped = std::string(ONSHID_SOURCE_DIR) + "/tools/oqs-terminal-sim/registry.json";
  const CommandResult good = RunSim({"check-registry", "--registry", shipped});
  INFO(good.output);
  CHECK(good.exit_code == 0);

  SimTempDir dir;
  std::string text = Slurp(shipped);
  const size_t pos = text.find("\"06139992\"");  // shaho-honnin's insurer; check digit 2
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 10, "\"06139993\"");
  const fs::path bad = dir.path() / "bad-registry.json";
  std::ofstream(bad) << text;
  const CommandResult run = RunSim({"check-registry", "--registry", bad.string()});
  INFO(run.output);
  CHECK(run.exit_code != 0);
  CHECK(run.output.find("shaho-honnin") != std::string::npos);
  CHECK(run.output.find("check digit") != std::string::npos);
}
