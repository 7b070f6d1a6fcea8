#include "core/upstream.h"

#include <array>

namespace onshid::core {
namespace {

constexpr std::array<const char*, 6> kJournalStateNames = {"JOURNALLED", "WRITING", "WRITTEN",
                                                           "ANSWERED",   "REJECTED", "ABANDONED"};

}  // namespace

const char* ToString(JournalState state) { return kJournalStateNames[static_cast<int>(state)]; }

std::optional<JournalState> JournalStateFromString(std::string_view name) {
  for (std::size_t i = 0; i < kJournalStateNames.size(); ++i) {
    if (name == kJournalStateNames[i]) return static_cast<JournalState>(i);
  }
  return std::nullopt;
}

bool IsFinal(JournalState state) {
  return state == JournalState::kAnswered || state == JournalState::kRejected;
}

}  // namespace onshid::core
