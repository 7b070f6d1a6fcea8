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

core::DomainError InvalidRequestId() {
  return core::InvalidArgument(
      "INVALID_REQUEST_ID",
      "x-request-id must be 1 to 128 printable ASCII characters without spaces; it is never "
      "replaced, so that a retry with it is recognised",
      "要求IDの形式が正しくありません。連携ソフトウェアの設定を確認してください。",
      {{"x-request-id", "1 to 128 printable ASCII characters (0x21-0x7E), no spaces"}});
}

std::string NewRequestId() {
  static app::RandomIds ids;  // stateless; thread-safe
  return ids.NewId();
}

}  // namespace onshid::api
