#pragma once
// The fallback decision engine (core/fallback/decision.h) as API messages
// (onshi/v1/fallback.proto), both ways.
//
// Enums: every proto name is its prefix plus the core's stable name (FALLBACK_CAUSE_ +
// FailureCauseName, FALLBACK_METHOD_ + MethodName, FALLBACK_CHARGE_ + ChargeName, CLAIM_ROUTE_ +
// ClaimRouteName); AgeBracket, NewbornStatus and KnownEligibilitySource spell out the core values;
// the visit is the check-in VisitKind (FIRST_VISIT ⇄ kFirstVisit, RETURN_VISIT ⇄ kRevisit).
// The enum FromProto functions give nullopt for UNSPECIFIED and for numbers outside the enum
// (proto3 enums are open), except NewbornStatus, whose UNSPECIFIED is read as not a newborn.
//
// Pure: no I/O, no clock (the caller passes today's date). The messages may contain personal data
// (known eligibilities): never log them.

#include <optional>
#include <string>

#include "core/error.h"
#include "core/fallback/decision.h"
#include "core/oqs/identifiers.h"
#include "onshi/v1/fallback.pb.h"

namespace onshid::api {

onshi::v1::FallbackCause ToProto(core::fallback::FailureCause cause);
std::optional<core::fallback::FailureCause> FromProto(onshi::v1::FallbackCause cause);
onshi::v1::AgeBracket ToProto(core::fallback::AgeBracket age);
std::optional<core::fallback::AgeBracket> FromProto(onshi::v1::AgeBracket age);
onshi::v1::NewbornStatus ToProto(core::fallback::Newborn newborn);
std::optional<core::fallback::Newborn> FromProto(onshi::v1::NewbornStatus newborn);
onshi::v1::KnownEligibilitySource ToProto(core::fallback::KnownEligibility::Source source);
std::optional<core::fallback::KnownEligibility::Source> FromProto(
    onshi::v1::KnownEligibilitySource source);
onshi::v1::FallbackMethod ToProto(core::fallback::Method method);
std::optional<core::fallback::Method> FromProto(onshi::v1::FallbackMethod method);
onshi::v1::FallbackCharge ToProto(core::fallback::Charge charge);
std::optional<core::fallback::Charge> FromProto(onshi::v1::FallbackCharge charge);
onshi::v1::ClaimRoute ToProto(core::fallback::ClaimRoute route);
std::optional<core::fallback::ClaimRoute> FromProto(onshi::v1::ClaimRoute route);
// Named apart from checkin_mapping.h's FromProto(VisitKind), which returns the check-in's kind.
onshi::v1::VisitKind ToProto(core::fallback::VisitKind visit);
std::optional<core::fallback::VisitKind> FallbackVisitFromProto(onshi::v1::VisitKind visit);

// The whole case with every default made explicit (optional fields set, date and
// certificate_expiry as YYYY-MM-DD, newborn NOT_NEWBORN rather than UNSPECIFIED), so that
// FromProto(ToProto(c), any day) == c for every case with a date.
onshi::v1::FallbackCase ToProto(const core::fallback::FallbackCase& fallback_case);

// FallbackCase → engine input. `today` (the Japan calendar date by the daemon's clock) is the
// date when `date` is empty. Absent optional fields take the core defaults (actual_days 1,
// has_valid_insurance_now true, facility.oqs_available true). Contradictions between the fields
// are left to Decide.
// Error: INVALID_FALLBACK_CASE (kInvalidArgument) with one FieldViolation per problem, each named
// by its path under `field_prefix` (e.g. "fallback_case.cause"): cause, visit or age UNSPECIFIED
// or unknown; newborn unknown; known_eligibilities[i].source UNSPECIFIED or unknown;
// known_eligibilities[i].ratio_wari outside 1–3; date or certificate_expiry not YYYY-MM-DD or not
// a calendar date. The Japanese message names the wrong items for the clerk.
core::Result<core::fallback::FallbackCase> FromProto(const onshi::v1::FallbackCase& fallback_case,
                                                     const core::oqs::OqsDate& today,
                                                     const std::string& field_prefix = "");

// An engine error (Decide's INVALID_FALLBACK_CASE or CERTIFICATE_IN_GRACE) for an API caller: each
// field path prefixed with `field_prefix` ("fallback_case."); for INVALID_FALLBACK_CASE the
// Japanese message also names the items the clerk should look at. Other errors pass unchanged.
core::DomainError ToApiError(core::DomainError engine_error, const std::string& field_prefix);

// The decision, methods in the engine's order, with Japanese names and the echoed input.
onshi::v1::EvaluateOptionsResponse ToProto(const core::fallback::Decision& decision);

}  // namespace onshid::api
