#pragma once
// IdSource backed by the operating system's random generator (UUID v4).

#include "core/id_source.h"

namespace onshid::app {

class RandomIds final : public core::IdSource {
 public:
  std::string NewId() override;
};

}  // namespace onshid::app
