#pragma once
// SHA-256 as lower-case hex, and the one definition of how API tokens are stored: the hex SHA-256
// of the token text (auth.tokens[].sha256 in the config; printed by `onshictl hash-token`).

#include <string>
#include <string_view>

namespace onshid::app {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

std::string HashToken(std::string_view token);

}  // namespace onshid::app
