#pragma once
// The shared vocabulary (core/reception.h) as API enums (onshi/v1/reception.proto), both ways:
// each proto value is its enum's prefix + the core's stable name (api/enum_mapping.h). FromProto
// gives nullopt for UNSPECIFIED and numbers outside the enum; callers name the field.

#include <optional>

#include "core/reception.h"
#include "onshi/v1/reception.pb.h"

namespace onshid::api {

onshi::v1::Document ToProto(core::Document document);
std::optional<core::Document> FromProto(onshi::v1::Document document);
onshi::v1::VisitKind ToProto(core::VisitKind kind);
std::optional<core::VisitKind> FromProto(onshi::v1::VisitKind kind);
onshi::v1::FallbackCause ToProto(core::FallbackCause cause);
std::optional<core::FallbackCause> FromProto(onshi::v1::FallbackCause cause);

}  // namespace onshid::api
