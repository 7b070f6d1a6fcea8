#pragma once
// Proto enums ⇄ core enums by name, in one place (issue 12). Every value of an API enum is named
// "<PREFIX>" + the core value's stable name (its ToString), where PREFIX is the enum type's name in
// UPPER_SNAKE_CASE plus "_" (FallbackCause → "FALLBACK_CAUSE_", CheckInState → "CHECK_IN_STATE_",
// FallbackMethod → "FALLBACK_METHOD_"); value 0 is "<PREFIX>UNSPECIFIED". The descriptors of the
// generated code are read, so no hand-written switch can drift from the .proto; a core value
// without a proto value maps to 0, which the mapping tests forbid for every enum.

#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>

namespace onshid::api {

// "FALLBACK_CAUSE_" for FallbackCause (inline: onshictl uses it without linking the API).
inline std::string EnumValuePrefix(const google::protobuf::EnumDescriptor* descriptor) {
  const std::string& name = descriptor->name();
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i > 0 && c >= 'A' && c <= 'Z') out.push_back('_');
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  out.push_back('_');
  return out;
}

// The number of the value named prefix + `stable_name` in `descriptor`; 0 when there is none.
int EnumNumberOf(const google::protobuf::EnumDescriptor* descriptor, std::string_view stable_name);

// The stable name of value `number` (its name without the prefix); nullopt for 0 (UNSPECIFIED)
// and for numbers the enum does not define (proto3 enums are open).
std::optional<std::string> EnumStableNameOf(const google::protobuf::EnumDescriptor* descriptor,
                                            int number);

// Core value → proto value, by the core's stable name.
template <typename P>
P ProtoEnum(std::string_view stable_name) {
  return static_cast<P>(EnumNumberOf(google::protobuf::GetEnumDescriptor<P>(), stable_name));
}

// Proto value → core value through the core's parser (stable name → value); nullopt for
// UNSPECIFIED, unknown numbers and names the core does not know.
template <typename C, typename P, typename Parse>
std::optional<C> CoreEnum(P value, Parse parse) {
  auto name = EnumStableNameOf(google::protobuf::GetEnumDescriptor<P>(), static_cast<int>(value));
  if (!name) return std::nullopt;
  return parse(*name);
}

}  // namespace onshid::api
