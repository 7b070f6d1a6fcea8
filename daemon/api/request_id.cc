#include "api/request_id.h"

#include "app/random_ids.h"

namespace onshid::api {

bool ValidRequestId(std::string_view candidate) {
  if (candidate.empty() || candidate.size() > 128) return false;
  for (char c : candidate) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string NewRequestId() {
  static app::RandomIds ids;  // stateless; thread-safe
  return ids.NewId();
}

}  // namespace onshid::api
