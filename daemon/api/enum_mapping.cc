#include "api/enum_mapping.h"

namespace onshid::api {

int EnumNumberOf(const google::protobuf::EnumDescriptor* descriptor,
                 std::string_view stable_name) {
  const auto* value =
      descriptor->FindValueByName(EnumValuePrefix(descriptor) + std::string(stable_name));
  return value ? value->number() : 0;
}

std::optional<std::string> EnumStableNameOf(const google::protobuf::EnumDescriptor* descriptor,
                                            int number) {
  if (number == 0) return std::nullopt;
  const auto* value = descriptor->FindValueByNumber(number);
  if (!value) return std::nullopt;
  const std::string prefix = EnumValuePrefix(descriptor);
  if (value->name().rfind(prefix, 0) != 0) return std::nullopt;
  return value->name().substr(prefix.size());
}

}  // namespace onshid::api
