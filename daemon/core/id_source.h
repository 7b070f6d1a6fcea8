#pragma once
// IdSource port (rules of the house 7): request ids and other unique identifiers are injected so
// tests can predict them.

#include <string>

namespace onshid::core {

// Thread-safe.
class IdSource {
 public:
  virtual ~IdSource() = default;
  // A new random identifier in UUID v4 text form (36 characters, lower case).
  virtual std::string NewId() = 0;
};

}  // namespace onshid::core
