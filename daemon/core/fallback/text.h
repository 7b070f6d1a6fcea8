#pragma once
// Text helpers shared by the fallback engine's files. Internal: not part of the engine's API.
//
// Pure: the standard library only.

#include <string_view>

namespace onshid::core::fallback::internal {

// True when `s` holds nothing but ASCII spaces, tabs and U+3000 (全角スペース), in any mix —
// what a form field left "empty" by hand or by an IME usually contains.
inline bool IsBlankText(std::string_view s) {
  constexpr std::string_view kIdeographicSpace = "\u3000";
  while (!s.empty()) {
    if (s.front() == ' ' || s.front() == '\t') {
      s.remove_prefix(1);
    } else if (s.substr(0, kIdeographicSpace.size()) == kIdeographicSpace) {
      s.remove_prefix(kIdeographicSpace.size());
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace onshid::core::fallback::internal
