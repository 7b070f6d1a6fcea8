// onshid: the vendor-neutral gateway between clinic software and オンライン資格確認.
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "app/config.h"
#include "app/logging.h"
#include "onshid/version.h"
#include "wiring.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/onshid/onshid.jsonc";

void Usage(std::ostream& out) {
  out << "usage: onshid [--config FILE] [--check-config] [--version]\n"
         "  --config FILE    configuration (JSON with comments); default " << kDefaultConfig
      << " when it exists, else built-in defaults\n"
         "  --check-config   validate the configuration (and ONSHID_* variables) and exit\n"
         "  --version        print the version and exit\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version") {
      std::cout << "onshid " << onshid::kVersion << "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      Usage(std::cout);
      return 0;
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
    } else {
      std::cerr << "onshid: unknown argument '" << a << "'\n";
      Usage(std::cerr);
      return 2;
    }
  }
  if (config_path.empty() && std::filesystem::exists(kDefaultConfig)) config_path = kDefaultConfig;

  onshid::app::Config config;
  try {
    config = config_path.empty() ? onshid::app::Config{} : onshid::app::LoadConfigFile(config_path);
    onshid::app::ApplyEnvironment(config, onshid::app::OnshidEnvironment());
  } catch (const onshid::app::ConfigError& e) {
    std::cerr << "onshid: invalid configuration: " << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "onshid: configuration OK (" << (config_path.empty() ? "defaults" : config_path)
              << ")\n";
    return 0;
  }

  // Block the signals the daemon handles before any thread exists, so every thread inherits the
  // mask and only RunDaemon's sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  onshid::app::SetupLogging(config.log.level);
  return onshid::RunDaemon(std::move(config), config_path);
}
