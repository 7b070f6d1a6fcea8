// oqs-terminal-sim: a simulator of the 資格確認端末 (OQS連携アプリケーション) for development, demos and
// tests. See `oqs-terminal-sim help`.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry.h"
#include "server.h"
#include "sim_util.h"

namespace {

constexpr const char kUsage[] = R"(oqs-terminal-sim: simulated 資格確認端末 (req/res/face shared folders)

  oqs-terminal-sim serve --folder DIR [--registry FILE] [--latency-ms N] [--encoding utf-8|shift_jis]
                         [--shuffle-elements] [--seed N] [--control-socket PATH] [--institution-code 10DIGITS]
                         [--state-file FILE] [--fault SPEC]... [--log-format plain|json] [--log-level debug|info]
  oqs-terminal-sim face --control-socket PATH --person ID [--consent all|none|medication-only]
                        [--time yyyyMMddHHmmss]
  oqs-terminal-sim status --control-socket PATH
  oqs-terminal-sim fault --control-socket PATH --kind KIND [--count N] [--person ID] [--delay-ms N]
                         [--target request|face]
  oqs-terminal-sim check-registry [--registry FILE]

Fault SPEC: KIND[:count=N,person=ID,delay_ms=N,target=request|face,code=X,message=Y]; KIND is no-response,
late, reject, error-9, half-written, malformed or duplicate (face only). Defaults: --control-socket
DIR/oqs-terminal-sim.sock, --state-file DIR/oqs-terminal-sim-state.json, --latency-ms 200.
Control socket: Unix stream, one JSON command per line ({"cmd":"status"|"face"|"fault"|"clear-faults"|
"reference"|"shutdown",...}), one JSON reply per line.
)";

// --key value / --key=value / bare flags.
struct Args {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> errors;

  std::string Get(const std::string& key, const std::string& fallback = "") const {
    auto it = values.find(key);
    return it == values.end() || it->second.empty() ? fallback : it->second.back();
  }
  bool Has(const std::string& key) const { return values.count(key) > 0; }
};

Args ParseArgs(int argc, char** argv, int first, const std::vector<std::string>& bare_flags) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      args.errors.push_back("unexpected argument '" + a + "'");
      continue;
    }
    a = a.substr(2);
    if (const size_t eq = a.find('='); eq != std::string::npos) {
      args.values[a.substr(0, eq)].push_back(a.substr(eq + 1));
    } else if (std::find(bare_flags.begin(), bare_flags.end(), a) != bare_flags.end()) {
      args.values[a].push_back("1");
    } else if (i + 1 < argc) {
      args.values[a].push_back(argv[++i]);
    } else {
      args.errors.push_back("--" + a + " needs a value");
    }
  }
  return args;
}

bool CheckKnown(const Args& args, const std::vector<std::string>& known) {
  bool ok = args.errors.empty();
  for (const auto& e : args.errors) std::cerr << "oqs-terminal-sim: " << e << "\n";
  for (const auto& [k, v] : args.values) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::cerr << "oqs-terminal-sim: unknown option --" << k << "\n";
      ok = false;
    }
  }
  return ok;
}

// Sends one command line to the control socket and prints the reply. Exit 0 when the reply says ok.
int SendControl(const std::string& socket_path, const nlohmann::json& command) {
  if (socket_path.empty()) {
    std::cerr << "oqs-terminal-sim: --control-socket is required\n";
    return 2;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    std::cerr << "oqs-terminal-sim: control socket path too long\n";
    return 2;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "oqs-terminal-sim: cannot connect to " << socket_path << ": " << std::strerror(errno) << "\n";
    if (fd >= 0) ::close(fd);
    return 1;
  }
  const std::string line = command.dump() + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    return 1;
  }
  std::string reply;
  char buf[4096];
  while (reply.find('\n') == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  std::cout << reply << std::flush;
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.value("ok", false)) {
    if (!j.is_discarded() && j.contains("error")) std::cerr << "oqs-terminal-sim: " << j["error"] << "\n";
    return 1;
  }
  return 0;
}

int CheckRegistry(const Args& args) {
  const std::string path = args.Get("registry", OQS_SIM_DEFAULT_REGISTRY);
  std::vector<std::string> errors;
  auto registry = oqs_sim::Registry::Load(path, &errors);
  if (!registry) {
    for (const auto& e : errors) std::cerr << path << ": " << e << "\n";
    return 1;
  }
  std::cout << path << ": " << registry->people().size() << " people, OK\n";
  return 0;
}

int Serve(const Args& args) {
  oqs_sim::ServeOptions options;
  options.folder = args.Get("folder");
  if (options.folder.empty()) {
    std::cerr << "oqs-terminal-sim: serve needs --folder DIR\n";
    return 2;
  }
  options.registry_path = args.Get("registry", OQS_SIM_DEFAULT_REGISTRY);
  options.control_socket = args.Get("control-socket", (options.folder / "oqs-terminal-sim.sock").string());
  options.state_file = args.Get("state-file", (options.folder / "oqs-terminal-sim-state.json").string());
  options.shuffle = args.Has("shuffle-elements");
  try {
    options.latency_ms = std::stoi(args.Get("latency-ms", "200"));
    options.seed = static_cast<uint32_t>(std::stoul(args.Get("seed", "1")));
  } catch (const std::exception&) {
    std::cerr << "oqs-terminal-sim: --latency-ms and --seed take integers\n";
    return 2;
  }
  const std::string encoding = args.Get("encoding", "utf-8");
  if (encoding == "shift_jis" || encoding == "shift-jis" || encoding == "sjis" || encoding == "cp932") {
    options.shift_jis = true;
  } else if (encoding != "utf-8" && encoding != "utf8") {
    std::cerr << "oqs-terminal-sim: --encoding is utf-8 or shift_jis\n";
    return 2;
  }
  options.institution_code = args.Get("institution-code", options.institution_code);
  if (options.institution_code.size() != 10 || !oqs_sim::IsDigits(options.institution_code)) {
    std::cerr << "oqs-terminal-sim: --institution-code must be 10 digits\n";
    return 2;
  }
  if (auto it = args.values.find("fault"); it != args.values.end()) {
    for (const auto& spec : it->second) {
      std::string error;
      auto fault = oqs_sim::ParseFaultSpec(spec, &error);
      if (!fault) {
        std::cerr << "oqs-terminal-sim: --fault " << spec << ": " << error << "\n";
        return 2;
      }
      options.faults.push_back(*fault);
    }
  }
  oqs_sim::SetLogOptions(args.Get("log-format", "plain") == "json",
                         args.Get("log-level", "info") == "debug" ? oqs_sim::LogLevel::kDebug
                                                                  : oqs_sim::LogLevel::kInfo);
  std::vector<std::string> errors;
  auto registry = oqs_sim::Registry::Load(options.registry_path, &errors);
  if (!registry) {
    for (const auto& e : errors) std::cerr << options.registry_path.string() << ": " << e << "\n";
    return 1;
  }
  oqs_sim::Server server(std::move(options), std::move(*registry));
  return server.Run();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "help";
  if (command == "serve") {
    Args args = ParseArgs(argc, argv, 2, {"shuffle-elements"});
    if (!CheckKnown(args, {"folder", "registry", "latency-ms", "encoding", "shuffle-elements", "seed",
                           "control-socket", "institution-code", "state-file", "fault", "log-format",
                           "log-level"})) {
      return 2;
    }
    return Serve(args);
  }
  if (command == "face") {
    Args args = ParseArgs(argc, argv, 2, {});
    if (!CheckKnown(args, {"control-socket", "person", "consent", "time"})) return 2;
    nlohmann::json cmd = {{"cmd", "face"}, {"person", args.Get("person")}, {"consent", args.Get("consent", "all")}};
    if (args.Has("time")) cmd["time"] = args.Get("time");
    return SendControl(args.Get("control-socket"), cmd);
  }
  if (command == "status") {
    Args args = ParseArgs(argc, argv, 2, {});
    if (!CheckKnown(args, {"control-socket"})) return 2;
    return SendControl(args.Get("control-socket"), {{"cmd", "status"}});
  }
  if (command == "fault") {
    Args args = ParseArgs(argc, argv, 2, {});
    if (!CheckKnown(args, {"control-socket", "kind", "count", "person", "delay-ms", "target"})) return 2;
    nlohmann::json cmd = {{"cmd", "fault"}, {"kind", args.Get("kind")}};
    try {
      if (args.Has("count")) cmd["count"] = std::stoi(args.Get("count"));
      if (args.Has("delay-ms")) cmd["delay_ms"] = std::stoi(args.Get("delay-ms"));
    } catch (const std::exception&) {
      std::cerr << "oqs-terminal-sim: --count and --delay-ms take integers\n";
      return 2;
    }
    if (args.Has("person")) cmd["person"] = args.Get("person");
    if (args.Has("target")) cmd["target"] = args.Get("target");
    return SendControl(args.Get("control-socket"), cmd);
  }
  if (command == "check-registry") {
    Args args = ParseArgs(argc, argv, 2, {});
    if (!CheckKnown(args, {"registry"})) return 2;
    return CheckRegistry(args);
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "oqs-terminal-sim: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
