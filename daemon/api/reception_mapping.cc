#include "api/reception_mapping.h"

#include "api/enum_mapping.h"

namespace onshid::api {

namespace v1 = onshi::v1;

v1::Document ToProto(core::Document document) {
  return ProtoEnum<v1::Document>(core::ToString(document));
}
std::optional<core::Document> FromProto(v1::Document document) {
  return CoreEnum<core::Document>(document, core::DocumentFromString);
}

v1::VisitKind ToProto(core::VisitKind kind) {
  return ProtoEnum<v1::VisitKind>(core::ToString(kind));
}
std::optional<core::VisitKind> FromProto(v1::VisitKind kind) {
  return CoreEnum<core::VisitKind>(kind, core::VisitKindFromString);
}

v1::FallbackCause ToProto(core::FallbackCause cause) {
  return ProtoEnum<v1::FallbackCause>(core::ToString(cause));
}
std::optional<core::FallbackCause> FromProto(v1::FallbackCause cause) {
  return CoreEnum<core::FallbackCause>(cause, core::FallbackCauseFromString);
}

}  // namespace onshid::api
