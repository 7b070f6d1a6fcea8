#pragma once
// The single place where domain errors become gRPC statuses (with google.rpc error details) and
// HTTP statuses (rules of the house 4 and 5). Every other file produces core::DomainError values.

#include <grpcpp/support/status.h>

#include "core/error.h"
#include "google/rpc/status.pb.h"

namespace onshid::api {

// gRPC code for a domain error kind.
grpc::StatusCode GrpcCode(core::ErrorKind kind);

// HTTP status for a gRPC code (the mapping of google.rpc.Code, as used by grpc-gateway).
int HttpStatus(grpc::StatusCode code);

// A gRPC status whose binary details hold a google.rpc.Status with ErrorInfo (reason, domain
// "onshid.jp", metadata), LocalizedMessage (ja-JP), BadRequest (field violations, when any) and
// Help (links, when any). grpc::Status::error_message() is the English message.
grpc::Status ToGrpcStatus(const core::DomainError& error);

// The google.rpc.Status carried by a gRPC status: its details when present, else one built from the
// code and message alone (for statuses produced by gRPC itself, e.g. DEADLINE_EXCEEDED).
google::rpc::Status ToRpcStatus(const grpc::Status& status);

// google.rpc.Status as JSON (details as typed Any objects), for REST responses.
std::string RpcStatusJson(const google::rpc::Status& status);

// The stable reason of a status (ErrorInfo.reason), or the gRPC code's name when it has none.
std::string ReasonOf(const grpc::Status& status);

// Name of a gRPC code ("OK", "NOT_FOUND", ...), used in metrics labels and logs.
const char* CodeName(grpc::StatusCode code);

}  // namespace onshid::api
