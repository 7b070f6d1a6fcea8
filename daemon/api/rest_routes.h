#pragma once
// The REST route table, built from the `google.api.http` annotations of the services the daemon
// serves (no hand-written per-method routes), and the conversion of one HTTP request (path
// bindings, query string, JSON body) into the method's protobuf request message.
//
// Supported annotation shapes:
//   - `get`, `put`, `post`, `delete`, `patch` with a path such as "/v1/cases/{case_id}:close":
//     literal segments, variables `{field}` or `{a.b}` (one whole segment each, binding a
//     singular scalar or enum field), and an optional trailing `:verb`;
//   - `body`: "" (no body), "*" (the whole request message) or a top-level field name
//     (not on GET or DELETE);
//   - `additional_bindings` (one level, as the google.api.http spec allows), each served as its
//     own route of the same method.
// Unary and server-streaming methods are served (the gateway streams the latter as Server-Sent
// Events; their request message binds exactly as for a unary method).
// Everything else (`custom`, `response_body`, `{name=pattern}` variables, `*`/`**` wildcards,
// client-streaming and bidirectional streaming methods, duplicate method+path) is refused when the
// table is built, so that the daemon never starts with a route it would serve wrongly.
//
// Threading: a built table is immutable; Match() and BuildRequestMessage() may be called from any
// number of threads at once.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.h"

namespace onshid::api {

// One segment of a parsed path template: a literal ("v1") or a variable bound to a field path.
struct RestPathSegment {
  bool is_variable = false;
  // The literal text (for literals) or the field path as written, "a.b" (for variables).
  std::string text;
  // For variables: the fields from the request message down to the bound scalar field.
  std::vector<const google::protobuf::FieldDescriptor*> field_path;
};

// One HTTP route to one RPC method. A method with additional_bindings has one route per binding.
struct RestRoute {
  std::string http_method;    // "GET", "POST", "PUT", "PATCH", "DELETE"
  std::string path_template;  // as annotated, e.g. "/v1/things/{thing_id}:cancel"
  std::string body;           // "", "*" or a top-level field name of the request message
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string grpc_path;  // "/onshi.v1.SystemService/GetStatus"
  // The method streams its responses (`returns (stream T)`); the request is still one message.
  bool server_streaming = false;
  // Parsed template: the segments between '/' and the custom verb after the last ':' ("" if none).
  std::vector<RestPathSegment> segments;
  std::string verb;
};

// A successful match of an HTTP method and path against the table.
struct RouteMatch {
  const RestRoute* route = nullptr;  // points into the table; valid while the table lives
  // Field path ("site.id") -> percent-decoded value of the path segment, in template order.
  std::vector<std::pair<std::string, std::string>> path_bindings;
};

class RestRouteTable {
 public:
  // Builds the table from every annotated method of `services` (descriptors from the generated
  // pool, so the google.api.http extension can be read). Methods without an http annotation are
  // not routed.
  //
  // Fails with kind kFailedPrecondition, reason "UNSERVABLE_HTTP_ANNOTATION" and a message naming
  // the method (full name) and what is wrong, on any annotation the gateway cannot serve (see the
  // list at the top of this file), on a variable or body naming a missing field or a field of the
  // wrong shape, on a body for GET/DELETE, on a path not starting with "/", and on two routes with
  // the same HTTP method and path shape (variables compared as wildcards).
  static core::Result<RestRouteTable> Build(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  enum class MatchError {
    kNotFound,          // no route has this path (HTTP 404)
    kMethodNotAllowed,  // the path matches a route of another HTTP method (HTTP 405)
  };

  // Matches `http_method` (upper case) and the raw, still percent-encoded `path` (without the
  // query). Literal segments match exactly after percent-decoding; a trailing slash is significant;
  // a variable matches one non-empty segment. When several routes match, the one whose literal
  // segments come first wins ("/v1/things/search" over "/v1/things/{thing_id}").
  std::variant<RouteMatch, MatchError> Match(std::string_view http_method,
                                             std::string_view path) const;

  const std::vector<RestRoute>& routes() const { return routes_; }

 private:
  std::vector<RestRoute> routes_;
};

// Fills `out` (whose type must be match.route->method->input_type(); it should be empty) from:
//   1. the JSON `body`, per the route's body rule: "*" = the whole message, a field name = that
//      field, "" = no body allowed (a body of only whitespace counts as empty); an empty body
//      leaves the message (or field) unset;
//   2. the path bindings, which override values the body set for the same fields;
//   3. the raw query string (`a=1&b.c=x&r=1&r=2`, percent-decoded, '+' as space) for fields not
//      bound by the path or the body: singular and repeated scalars and enums, nested through
//      singular message fields, and google.protobuf.Timestamp/Duration as their JSON strings.
//      Names are proto field names or JSON (lowerCamel) names. With body "*" no query parameter
//      is accepted.
// JSON goes through google::protobuf::util::JsonStringToMessage with unknown fields rejected.
//
// Errors are kind kInvalidArgument with reason "INVALID_JSON" (malformed JSON, unknown field,
// wrong type; the message includes protobuf's description of the problem) or "INVALID_PARAMETER"
// (bad path or query value, unknown or repeated query parameter, a body on a route that takes
// none), with a FieldViolation naming the JSON or query field when it can be determined, and a
// short Japanese message_ja for reception staff. Messages never quote submitted values (values
// protobuf's description quotes are replaced by "<value>", and its input excerpt is dropped).
core::Status BuildRequestMessage(const RouteMatch& match, std::string_view query,
                                 std::string_view body, google::protobuf::Message* out);

}  // namespace onshid::api
