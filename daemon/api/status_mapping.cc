#include "api/status_mapping.h"

#include <google/protobuf/util/json_util.h>

#include "google/rpc/error_details.pb.h"

namespace onshid::api {

namespace {
constexpr const char* kErrorDomain = "onshid.jp";

struct CodeRow {
  grpc::StatusCode code;
  const char* name;
  int http;
};

// One table: gRPC code, its name, and its HTTP status.
constexpr CodeRow kCodes[] = {
    {grpc::StatusCode::OK, "OK", 200},
    {grpc::StatusCode::CANCELLED, "CANCELLED", 499},
    {grpc::StatusCode::UNKNOWN, "UNKNOWN", 500},
    {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", 400},
    {grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", 504},
    {grpc::StatusCode::NOT_FOUND, "NOT_FOUND", 404},
    {grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS", 409},
    {grpc::StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED", 403},
    {grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", 429},
    {grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION", 400},
    {grpc::StatusCode::ABORTED, "ABORTED", 409},
    {grpc::StatusCode::OUT_OF_RANGE, "OUT_OF_RANGE", 400},
    {grpc::StatusCode::UNIMPLEMENTED, "UNIMPLEMENTED", 501},
    {grpc::StatusCode::INTERNAL, "INTERNAL", 500},
    {grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE", 503},
    {grpc::StatusCode::DATA_LOSS, "DATA_LOSS", 500},
    {grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED", 401},
};

const CodeRow& Row(grpc::StatusCode code) {
  for (const CodeRow& r : kCodes) {
    if (r.code == code) return r;
  }
  return kCodes[2];  // UNKNOWN
}
}  // namespace

grpc::StatusCode GrpcCode(core::ErrorKind kind) {
  using K = core::ErrorKind;
  switch (kind) {
    case K::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case K::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case K::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case K::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case K::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case K::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case K::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case K::kDeadlineExceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case K::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case K::kCancelled: return grpc::StatusCode::CANCELLED;
    case K::kAborted: return grpc::StatusCode::ABORTED;
    case K::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

int HttpStatus(grpc::StatusCode code) { return Row(code).http; }

const char* CodeName(grpc::StatusCode code) { return Row(code).name; }

grpc::Status ToGrpcStatus(const core::DomainError& error) {
  google::rpc::Status st;
  grpc::StatusCode code = GrpcCode(error.kind);
  st.set_code(static_cast<int>(code));
  st.set_message(error.message);

  google::rpc::ErrorInfo info;
  info.set_reason(error.reason);
  info.set_domain(kErrorDomain);
  for (const auto& [k, v] : error.metadata) (*info.mutable_metadata())[k] = v;
  st.add_details()->PackFrom(info);

  if (!error.message_ja.empty()) {
    google::rpc::LocalizedMessage lm;
    lm.set_locale("ja-JP");
    lm.set_message(error.message_ja);
    st.add_details()->PackFrom(lm);
  }
  if (!error.field_violations.empty()) {
    google::rpc::BadRequest br;
    for (const auto& fv : error.field_violations) {
      auto* v = br.add_field_violations();
      v->set_field(fv.field);
      v->set_description(fv.description);
    }
    st.add_details()->PackFrom(br);
  }
  if (!error.help.empty()) {
    google::rpc::Help help;
    for (const auto& h : error.help) {
      auto* l = help.add_links();
      l->set_description(h.description);
      l->set_url(h.url);
    }
    st.add_details()->PackFrom(help);
  }
  return grpc::Status(code, error.message, st.SerializeAsString());
}

google::rpc::Status ToRpcStatus(const grpc::Status& status) {
  google::rpc::Status st;
  if (!status.error_details().empty() && st.ParseFromString(status.error_details())) return st;
  st.Clear();
  st.set_code(static_cast<int>(status.error_code()));
  st.set_message(status.error_message());
  return st;
}

std::string RpcStatusJson(const google::rpc::Status& status) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = false;
  auto s = google::protobuf::util::MessageToJsonString(status, &out, opts);
  if (!s.ok()) {
    return R"({"code":13,"message":"error could not be encoded"})";
  }
  return out;
}

std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status st;
  if (!status.error_details().empty() && st.ParseFromString(status.error_details())) {
    for (const auto& any : st.details()) {
      google::rpc::ErrorInfo info;
      if (any.UnpackTo(&info)) return info.reason();
    }
  }
  return CodeName(status.error_code());
}

}  // namespace onshid::api
