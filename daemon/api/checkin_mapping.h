#pragma once
// Check-ins and consent (app/checkin.h) as API messages (onshi/v1/checkin.proto), both ways, and
// the request checks CheckInService and ConsentService share.
//
// Enums: each proto value is its enum's prefix + the core's stable name (api/enum_mapping.h), for
// Channel, CheckInState and InformationKind (Document, VisitKind and FallbackCause: see
// api/reception_mapping.h). FromProto gives
// nullopt for UNSPECIFIED and for numbers outside the enum (proto3 enums are open); callers turn
// that into INVALID_ARGUMENT.
//
// Pure: no I/O. The messages built here contain personal data (patient keys, changes): never log
// them.

#include <optional>
#include <string>

#include <google/protobuf/timestamp.pb.h>

#include "api/call.h"
#include "api/reception_mapping.h"
#include "app/checkin.h"
#include "core/error.h"
#include "onshi/v1/checkin.pb.h"

namespace onshid::api {

onshi::v1::Channel ToProto(core::checkin::Channel channel);
std::optional<core::checkin::Channel> FromProto(onshi::v1::Channel channel);
onshi::v1::CheckInState ToProto(core::checkin::CheckInState state);
std::optional<core::checkin::CheckInState> FromProto(onshi::v1::CheckInState state);
onshi::v1::InformationKind ToProto(core::checkin::InformationKind kind);
std::optional<core::checkin::InformationKind> FromProto(onshi::v1::InformationKind kind);

// google.protobuf.Timestamp ⇄ core::SystemTime.
google::protobuf::Timestamp ToTimestamp(core::SystemTime t);
core::SystemTime FromTimestamp(const google::protobuf::Timestamp& t);

// Every field of the check-in, its result links and its patient-link history.
onshi::v1::CheckIn ToProto(const app::CheckInView& view);
onshi::v1::ConsentStatus ToProto(const app::ConsentView& view);
onshi::v1::AccessDecision ToProto(const app::AccessOutcome& outcome);

// StartCheckInRequest → use-case input. `client_key` is "<principal>/<request id>".
//  - desk_id empty, channel UNSPECIFIED, an UNSPECIFIED (or unknown) document, an unknown
//    visit.kind: INVALID_CHECKIN (kInvalidArgument) naming each bad field ("desk_id", "channel",
//    "documents", "visit.kind") at once. visit.kind UNSPECIFIED is the core's default (初診).
//  - identifiers with any number, or birth_date, engage the document query (birth_date as
//    yyyyMMdd there; limit_certificate_consent "1"/"0"); the use case validates its fields.
//  - name_kana, reference_number, birth_date (YYYY-MM-DD) become optional keys when non-empty.
core::Result<app::StartCheckInInput> FromProto(const onshi::v1::StartCheckInRequest& request,
                                               std::string client_key);

// ListCheckInsRequest → filter. Empty strings are "not given"; state UNSPECIFIED is any state;
// limit 0 is the default. Errors: INVALID_CHECKIN_FILTER naming "state" (unknown number) or
// "limit" (outside 0..1000).
core::Result<app::CheckInFilter> FromProto(const onshi::v1::ListCheckInsRequest& request);

// The kinds of patient key a look-up uses, for audit subjects ("patient_id",
// "name_kana+birth_date", …); "" for a day's listing. Never the values (personal data).
std::string LookupKinds(const app::PatientLookup& lookup);

// --- Shared by CheckInService and ConsentService -------------------------------------------

// FAILED_PRECONDITION CHECKINS_UNAVAILABLE: the daemon was wired without check-ins.
core::DomainError CheckInsUnavailable();

// A check_in_id the caller names: 1..128 printable ASCII characters, as it is written into audit
// subjects. Error: INVALID_CHECKIN_ID (kInvalidArgument) naming "check_in_id".
std::optional<core::DomainError> CheckCheckInId(const std::string& check_in_id);

// "checkin:<id>": the audit subject of a call on one check-in.
std::string CheckInSubject(const std::string& check_in_id);

// Who makes a change: the call's principal and request id.
app::Actor ActorOf(const Call& call);

}  // namespace onshid::api
