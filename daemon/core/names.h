#pragma once
// Stable names of contiguous enums (0..N-1), kept in one array per enum: the value → name and
// name → value directions can then not drift apart. Used by the core's ToString / FromString
// pairs; the API derives its enum value names from the same names (api/enum_mapping.h).

#include <array>
#include <optional>
#include <string_view>

namespace onshid::core {

template <typename E, std::size_t N>
std::string_view NameOf(const std::array<std::string_view, N>& names, E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : std::string_view();
}

template <typename E, std::size_t N>
std::optional<E> ValueNamed(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace onshid::core
