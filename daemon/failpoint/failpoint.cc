#include "failpoint/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace onshid::failpoint {
namespace {

struct Rule {
  long nth = 1;       // act on this hit (when every == 0)
  long every = 0;     // act on every k-th hit
  long sleep_ms = -1; // < 0: kill
  long hits = 0;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Rule, std::less<>> rules;
};

long ParseLong(std::string_view s, long fallback) {
  long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && ptr == s.data() + s.size() ? v : fallback;
}

// Parses ONSHID_FAILPOINT once; a malformed entry is reported on stderr and ignored.
Registry* Load() {
  const char* env = std::getenv("ONSHID_FAILPOINT");
  if (env == nullptr || *env == '\0') return nullptr;
  auto* registry = new Registry();  // lives as long as the process
  std::string_view rest(env);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    Rule rule;
    if (auto eq = item.find('='); eq != std::string_view::npos) {
      std::string_view action = item.substr(eq + 1);
      item = item.substr(0, eq);
      if (action.rfind("sleep:", 0) == 0) {
        rule.sleep_ms = ParseLong(action.substr(6), -1);
        if (rule.sleep_ms < 0) {
          std::fprintf(stderr, "onshid: ONSHID_FAILPOINT: bad action '%.*s' ignored\n",
                       static_cast<int>(action.size()), action.data());
          continue;
        }
      } else if (action != "kill") {
        std::fprintf(stderr, "onshid: ONSHID_FAILPOINT: bad action '%.*s' ignored\n",
                     static_cast<int>(action.size()), action.data());
        continue;
      }
    }
    if (auto pct = item.find('%'); pct != std::string_view::npos) {
      rule.every = ParseLong(item.substr(pct + 1), 0);
      item = item.substr(0, pct);
    }
    if (auto at = item.find('@'); at != std::string_view::npos) {
      rule.nth = ParseLong(item.substr(at + 1), 1);
      item = item.substr(0, at);
    }
    registry->rules[std::string(item)] = rule;
  }
  return registry;
}

Registry* Instance() {
  static Registry* registry = Load();
  return registry;
}

}  // namespace

bool Active() {
#if defined(ONSHID_FAILPOINTS) && ONSHID_FAILPOINTS
  return Instance() != nullptr;
#else
  return false;
#endif
}

void Hit(std::string_view name) {
  Registry* registry = Instance();
  if (registry == nullptr) return;
  long sleep_ms = 0;
  {
    std::lock_guard lock(registry->mu);
    auto it = registry->rules.find(name);
    if (it == registry->rules.end()) return;
    Rule& rule = it->second;
    ++rule.hits;
    const bool due = rule.every > 0 ? rule.hits % rule.every == 0 : rule.hits == rule.nth;
    if (!due) return;
    sleep_ms = rule.sleep_ms;
  }
  if (sleep_ms >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    return;
  }
  // Like a power cut: no destructors, no flushing beyond this one line.
  std::fprintf(stderr, "onshid: failpoint %.*s: killing the process\n",
               static_cast<int>(name.size()), name.data());
  std::fflush(stderr);
  kill(getpid(), SIGKILL);
  pause();
}

}  // namespace onshid::failpoint
