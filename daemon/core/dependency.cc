#include "core/dependency.h"

namespace onshid::core {

const char* ToString(DependencyState state) {
  switch (state) {
    case DependencyState::kOk: return "OK";
    case DependencyState::kDegraded: return "DEGRADED";
    case DependencyState::kDown: return "DOWN";
    case DependencyState::kDisabled: return "DISABLED";
  }
  return "UNKNOWN";
}

void StatusBoard::Set(const std::string& name, DependencyState state, std::string reason,
                      std::string detail, std::string detail_ja, bool required_for_ready) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = deps_.try_emplace(name);
  DependencyStatus& d = it->second;
  if (inserted || d.state != state) d.since = clock_.Now();
  d.name = name;
  d.state = state;
  d.reason = std::move(reason);
  d.detail = std::move(detail);
  d.detail_ja = std::move(detail_ja);
  d.required_for_ready = required_for_ready;
}

std::vector<DependencyStatus> StatusBoard::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<DependencyStatus> out;
  out.reserve(deps_.size());
  for (const auto& [name, d] : deps_) out.push_back(d);
  return out;
}

bool StatusBoard::Ready() const {
  std::lock_guard lock(mu_);
  if (deps_.empty()) return false;
  for (const auto& [name, d] : deps_) {
    if (!d.required_for_ready) continue;
    if (d.state != DependencyState::kOk && d.state != DependencyState::kDisabled) return false;
  }
  return true;
}

}  // namespace onshid::core
