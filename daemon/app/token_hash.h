#pragma once
// The one definition of how API tokens are stored: lower-case hex SHA-256 of the token text
// (auth.tokens[].sha256 in the config; printed by `onshictl hash-token`).

#include <string>
#include <string_view>

namespace onshid::app {

std::string HashToken(std::string_view token);

}  // namespace onshid::app
