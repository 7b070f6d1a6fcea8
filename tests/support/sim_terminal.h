#pragma once
// SimTerminal: the terminal simulator (tools/oqs-terminal-sim) as its own process, serving the
// shared folder a test daemon watches, with its control socket for faces, faults and status.
// Integration tests only (OQS_TERMINAL_SIM_BINARY is defined for them).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"

#ifndef OQS_TERMINAL_SIM_BINARY
#error "OQS_TERMINAL_SIM_BINARY must be defined (tools/oqs-terminal-sim registers it)"
#endif

namespace onshid::testing {

// The 医療機関コード the simulator answers for (put it in the daemon's upstream config).
inline constexpr const char* kSimInstitutionCode = "1312345678";

struct SimTerminal {
  // Serves `dir`/oqs with the bundled registry; `extra` is one more `serve` argument when set.
  explicit SimTerminal(const std::string& dir, int latency_ms = 0, const std::string& extra = "")
      : folder(dir + "/oqs"), socket(dir + "/sim.sock") {
    std::filesystem::create_directories(folder);
    std::vector<std::string> argv = {OQS_TERMINAL_SIM_BINARY, "serve", "--folder", folder,
                                     "--control-socket", socket, "--latency-ms",
                                     std::to_string(latency_ms), "--institution-code",
                                     kSimInstitutionCode, "--registry",
                                     std::string(ONSHID_SOURCE_DIR) +
                                         "/tools/oqs-terminal-sim/registry.json"};
    if (!extra.empty()) argv.push_back(extra);
    process = std::make_unique<ChildProcess>(argv, dir + "/sim.log");
    ready = WaitForUnixSocket(socket, std::chrono::seconds(20));
  }
  // Runs one control command, e.g. "fault --kind reject --count 1".
  CommandResult Ctl(const std::string& args) const {
    return RunCommand(std::string(OQS_TERMINAL_SIM_BINARY) + " " + args + " --control-socket " +
                      socket);
  }
  // The patient looks into the face reader: a face result file for `person`; the exit code.
  int Face(const std::string& person, const std::string& consent = "all") const {
    return Ctl("face --person " + person + " --consent " + consent).exit_code;
  }
  // Requests the simulator has read from req/.
  int RequestsSeen() const {
    return nlohmann::json::parse(Ctl("status").output)["requests_seen"].get<int>();
  }

  std::string folder;
  std::string socket;
  std::unique_ptr<ChildProcess> process;
  bool ready = false;
};

}  // namespace onshid::testing
