#include <catch2/catch.hpp>

#include "api/status_mapping.h"
#include "google/rpc/error_details.pb.h"

using namespace onshid;

TEST_CASE("domain errors become gRPC statuses with google.rpc details") {
  core::DomainError e = core::InvalidArgument(
      "INVALID_BIRTH_DATE", "birth_date is not a date", "生年月日が正しくありません。",
      {{"patient.birth_date", "must be YYYY-MM-DD"}});
  e.help.push_back({"field reference", "https://example.invalid/docs"});
  grpc::Status s = api::ToGrpcStatus(e);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "birth_date is not a date");
  CHECK(api::ReasonOf(s) == "INVALID_BIRTH_DATE");

  google::rpc::Status st = api::ToRpcStatus(s);
  CHECK(st.code() == 3);
  bool info = false, localized = false, bad_request = false, help = false;
  for (const auto& any : st.details()) {
    google::rpc::ErrorInfo i;
    google::rpc::LocalizedMessage lm;
    google::rpc::BadRequest br;
    google::rpc::Help h;
    if (any.UnpackTo(&i)) {
      info = true;
      CHECK(i.reason() == "INVALID_BIRTH_DATE");
      CHECK(i.domain() == "onshid.jp");
    } else if (any.UnpackTo(&lm)) {
      localized = true;
      CHECK(lm.locale() == "ja-JP");
      CHECK(lm.message() == "生年月日が正しくありません。");
    } else if (any.UnpackTo(&br)) {
      bad_request = true;
      REQUIRE(br.field_violations_size() == 1);
      CHECK(br.field_violations(0).field() == "patient.birth_date");
    } else if (any.UnpackTo(&h)) {
      help = true;
      CHECK(h.links(0).url() == "https://example.invalid/docs");
    }
  }
  CHECK(info);
  CHECK(localized);
  CHECK(bad_request);
  CHECK(help);
}

TEST_CASE("every error kind maps to a gRPC code and an HTTP status from one table") {
  using K = core::ErrorKind;
  struct Row {
    K kind;
    grpc::StatusCode code;
    int http;
  };
  const Row rows[] = {
      {K::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT, 400},
      {K::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION, 400},
      {K::kNotFound, grpc::StatusCode::NOT_FOUND, 404},
      {K::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS, 409},
      {K::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED, 401},
      {K::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED, 403},
      {K::kUnavailable, grpc::StatusCode::UNAVAILABLE, 503},
      {K::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED, 504},
      {K::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED, 429},
      {K::kCancelled, grpc::StatusCode::CANCELLED, 499},
      {K::kAborted, grpc::StatusCode::ABORTED, 409},
      {K::kInternal, grpc::StatusCode::INTERNAL, 500},
  };
  for (const Row& r : rows) {
    CHECK(api::GrpcCode(r.kind) == r.code);
    CHECK(api::HttpStatus(r.code) == r.http);
  }
}

TEST_CASE("statuses without details still produce google.rpc.Status JSON") {
  grpc::Status s(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
  CHECK(api::ReasonOf(s) == "DEADLINE_EXCEEDED");
  std::string json = api::RpcStatusJson(api::ToRpcStatus(s));
  CHECK(json.find("\"code\":4") != std::string::npos);
  CHECK(json.find("Deadline Exceeded") != std::string::npos);
}

TEST_CASE("REST error JSON carries typed details") {
  grpc::Status s = api::ToGrpcStatus(core::Unavailable("DATABASE_UNAVAILABLE", "db down", "停止中"));
  std::string json = api::RpcStatusJson(api::ToRpcStatus(s));
  CHECK(json.find("type.googleapis.com/google.rpc.ErrorInfo") != std::string::npos);
  CHECK(json.find("DATABASE_UNAVAILABLE") != std::string::npos);
  CHECK(json.find("ja-JP") != std::string::npos);
}
