#pragma once
// The state of everything the daemon depends on (database, upstream terminal, card readers, ...),
// reported by GetStatus and /readyz. Components publish their state to a StatusBoard; readers take
// snapshots.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"

namespace onshid::core {

enum class DependencyState { kOk, kDegraded, kDown, kDisabled };

const char* ToString(DependencyState state);

struct DependencyStatus {
  std::string name;    // "database", "upstream", "readers"
  DependencyState state = DependencyState::kDown;
  std::string reason;  // stable code when not OK, e.g. "DATABASE_UNREACHABLE"
  std::string detail;  // English, for IT staff; no personal data
  std::string detail_ja;
  SystemTime since{};  // when `state` was entered
  bool required_for_ready = true;  // /readyz fails while this one is not OK/DISABLED
};

// Thread-safe registry of dependency states.
class StatusBoard {
 public:
  explicit StatusBoard(const Clock& clock) : clock_(clock) {}

  // Records the state of one dependency. `since` is kept when the state does not change, so it
  // tells how long a dependency has been down.
  void Set(const std::string& name, DependencyState state, std::string reason = {},
           std::string detail = {}, std::string detail_ja = {}, bool required_for_ready = true);

  // All dependencies sorted by name.
  std::vector<DependencyStatus> Snapshot() const;

  // True when every required dependency is OK or DISABLED (and at least one is registered).
  bool Ready() const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, DependencyStatus> deps_;
};

}  // namespace onshid::core
