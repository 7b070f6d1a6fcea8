#include "api/rest_routes.h"
#include "support/stream_client.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>

#include "api/http_server.h"
#include "api/rest_gateway.h"

#include "onshi/v1/system.pb.h"
#include "route_test.pb.h"

namespace onshid::api {
namespace {

namespace pb = google::protobuf;
using onshid::test::ThingRequest;

const pb::ServiceDescriptor* Service(const std::string& name) {
  const pb::ServiceDescriptor* s = pb::DescriptorPool::generated_pool()->FindServiceByName(name);
  REQUIRE(s != nullptr);
  return s;
}

RestRouteTable GoodTable() {
  // Force the generated descriptors of route_test.proto into the pool.
  (void)ThingRequest::descriptor();
  auto table = RestRouteTable::Build({Service("onshid.test.GoodService")});
  if (!table.ok()) FAIL(table.error().message);
  return std::move(table).value();
}

RouteMatch MustMatch(const RestRouteTable& table, std::string_view method, std::string_view path) {
  auto m = table.Match(method, path);
  INFO(method << " " << path);
  REQUIRE(std::holds_alternative<RouteMatch>(m));
  return std::get<RouteMatch>(m);
}

bool HasViolation(const core::DomainError& e, const std::string& field) {
  for (const auto& v : e.field_violations) {
    if (v.field == field) return true;
  }
  return false;
}

TEST_CASE("SystemService GetStatus is routed from its annotation", "[rest_routes]") {
  const pb::ServiceDescriptor* system =
      ::onshi::v1::GetStatusRequest::descriptor()->file()->FindServiceByName("SystemService");
  REQUIRE(system != nullptr);
  auto table = RestRouteTable::Build({system});
  REQUIRE(table.ok());
  const auto it = std::find_if(table->routes().begin(), table->routes().end(),
                               [](const RestRoute& r) { return r.method->name() == "GetStatus"; });
  REQUIRE(it != table->routes().end());
  const RestRoute& r = *it;
  CHECK(r.http_method == "GET");
  CHECK(r.path_template == "/v1/status");
  CHECK(r.body.empty());
  CHECK(r.grpc_path == "/onshi.v1.SystemService/GetStatus");
  CHECK(r.method == system->FindMethodByName("GetStatus"));

  auto m = table->Match("GET", "/v1/status");
  REQUIRE(std::holds_alternative<RouteMatch>(m));
  CHECK(std::get<RouteMatch>(m).route == &r);
  CHECK(std::get<RestRouteTable::MatchError>(table->Match("POST", "/v1/status")) ==
        RestRouteTable::MatchError::kMethodNotAllowed);
  CHECK(std::get<RestRouteTable::MatchError>(table->Match("GET", "/v1/status/")) ==
        RestRouteTable::MatchError::kNotFound);
  CHECK(std::get<RestRouteTable::MatchError>(table->Match("GET", "/v1/statuses")) ==
        RestRouteTable::MatchError::kNotFound);

  ::onshi::v1::GetStatusRequest req;
  CHECK(BuildRequestMessage(std::get<RouteMatch>(m), "", "", &req).ok());
}

TEST_CASE("good annotations become routes; unannotated methods are not routed", "[rest_routes]") {
  const RestRouteTable table = GoodTable();
  std::vector<std::string> seen;
  for (const RestRoute& r : table.routes()) seen.push_back(r.http_method + " " + r.path_template);
  CHECK_THAT(seen, Catch::Matchers::UnorderedEquals(std::vector<std::string>{
                       "GET /v1/things/{thing_id}",
                       "GET /v1/legacy/things/{thing_id}",
                       "GET /v1/sites/{site.id}/things/{thing_id}",
                       "GET /v1/things",
                       "GET /v1/things/search",
                       "POST /v1/things",
                       "PATCH /v1/things/{thing.id}",
                       "PUT /v1/things/{thing_id}/tags",
                       "POST /v1/things/{thing_id}:cancel",
                       "DELETE /v1/things/{thing_id}",
                   }));
  for (const RestRoute& r : table.routes()) {
    CHECK(r.method->name() != "InternalOnly");
    CHECK(r.grpc_path == "/onshid.test.GoodService/" + r.method->name());
  }
}

TEST_CASE("matching: variables, literals first, verbs, 404 and 405", "[rest_routes]") {
  const RestRouteTable table = GoodTable();

  RouteMatch m = MustMatch(table, "GET", "/v1/things/abc%20d");
  CHECK(m.route->method->name() == "GetThing");
  REQUIRE(m.path_bindings.size() == 1);
  CHECK(m.path_bindings[0] == std::pair<std::string, std::string>("thing_id", "abc d"));

  CHECK(MustMatch(table, "GET", "/v1/legacy/things/x").route->method->name() == "GetThing");
  CHECK(MustMatch(table, "GET", "/v1/things/search").route->method->name() == "SearchThings");
  CHECK(MustMatch(table, "GET", "/v1/things").route->method->name() == "ListThings");
  CHECK(MustMatch(table, "POST", "/v1/things").route->method->name() == "CreateThing");
  CHECK(MustMatch(table, "DELETE", "/v1/things/x").route->method->name() == "DeleteThing");

  m = MustMatch(table, "GET", "/v1/sites/s1/things/t1");
  CHECK(m.route->method->name() == "GetSiteThing");
  CHECK(m.path_bindings ==
        std::vector<std::pair<std::string, std::string>>{{"site.id", "s1"}, {"thing_id", "t1"}});

  m = MustMatch(table, "POST", "/v1/things/t9:cancel");
  CHECK(m.route->method->name() == "CancelThing");
  CHECK(m.path_bindings[0].second == "t9");

  using E = RestRouteTable::MatchError;
  auto error = [&](std::string_view method, std::string_view path) {
    auto r = table.Match(method, path);
    REQUIRE(std::holds_alternative<E>(r));
    return std::get<E>(r);
  };
  CHECK(error("GET", "/v1/things/") == E::kNotFound);     // empty variable segment
  CHECK(error("GET", "/v1/things/a/b") == E::kNotFound);  // a variable is one segment
  CHECK(error("GET", "/v1/things/") == E::kNotFound);
  CHECK(error("GET", "/v1/nothing") == E::kNotFound);
  CHECK(error("GET", "") == E::kNotFound);
  CHECK(error("GET", "/v1/things/%zz") == E::kNotFound);  // bad percent-encoding
  CHECK(error("PUT", "/v1/things") == E::kMethodNotAllowed);
  CHECK(error("POST", "/v1/things/x") == E::kMethodNotAllowed);
  // Without the verb route's method, "x:cancel" is just a segment value.
  CHECK(MustMatch(table, "GET", "/v1/things/x:cancel").path_bindings[0].second == "x:cancel");
}

TEST_CASE("unservable annotations are refused naming the method", "[rest_routes]") {
  (void)ThingRequest::descriptor();
  struct Case {
    std::string service;
    std::string method;
    std::string what;  // part of the message
  };
  const std::vector<Case> cases = {
      {"BadCustomService", "Custom", "custom"},
      {"BadResponseBodyService", "ResponseBody", "response_body"},
      {"BadSubPatternService", "SubPattern", "sub-pattern"},
      {"BadWildcardService", "Wildcard", "wildcard"},
      {"BadUnknownVariableService", "UnknownVariable", "no_such_field"},
      {"BadRepeatedVariableService", "RepeatedVariable", "repeated"},
      {"BadMessageVariableService", "MessageVariable", "message"},
      {"BadBodyOnGetService", "BodyOnGet", "GET may not have a body"},
      {"BadBodyOnDeleteService", "BodyOnDelete", "DELETE may not have a body"},
      {"BadUnknownBodyService", "UnknownBody", "no_such_field"},
      {"BadDuplicateService", "Second", "duplicates"},
      {"BadNoLeadingSlashService", "NoLeadingSlash", "does not start with '/'"},
      {"BadStreamingService", "Streaming", "client streaming"},
      {"BadBidiStreamingService", "BidiStreaming", "bidirectional streaming"},
      {"BadNestedBindingService", "NestedBinding", "nested"},
  };
  for (const Case& c : cases) {
    INFO(c.service);
    auto table = RestRouteTable::Build({Service("onshid.test." + c.service)});
    REQUIRE_FALSE(table.ok());
    const core::DomainError& e = table.error();
    INFO(e.message);
    CHECK(e.kind == core::ErrorKind::kFailedPrecondition);
    CHECK(e.reason == "UNSERVABLE_HTTP_ANNOTATION");
    CHECK_THAT(e.message, Catch::Contains("onshid.test." + c.service + "." + c.method));
    CHECK_THAT(e.message, Catch::Contains(c.what));
    CHECK_FALSE(e.message_ja.empty());
  }
}

TEST_CASE("server-streaming methods are routed; their query parameters bind as for unary GET",
          "[rest_routes]") {
  (void)ThingRequest::descriptor();
  auto built = RestRouteTable::Build({Service("onshid.test.StreamingService")});
  if (!built.ok()) FAIL(built.error().message);
  const RestRouteTable& table = built.value();
  REQUIRE(table.routes().size() == 3);
  for (const RestRoute& r : table.routes()) {
    INFO(r.path_template);
    CHECK(r.server_streaming == (r.method->name() != "GetThing"));
  }
  RouteMatch watch = MustMatch(table, "GET", "/v1/things:watch");
  CHECK(watch.route->server_streaming);
  CHECK(watch.route->grpc_path == "/onshid.test.StreamingService/WatchThings");
  ThingRequest req;
  REQUIRE(BuildRequestMessage(watch, "thing_id=t1&tags=a&tags=b&pageSize=3", "", &req).ok());
  CHECK(req.thing_id() == "t1");
  CHECK(req.tags_size() == 2);
  CHECK(req.page_size() == 3);

  RouteMatch one = MustMatch(table, "GET", "/v1/things/t9:watch");
  CHECK(one.route->method->name() == "WatchThing");
  ThingRequest req2;
  REQUIRE(BuildRequestMessage(one, "", "", &req2).ok());
  CHECK(req2.thing_id() == "t9");
  CHECK_FALSE(MustMatch(table, "GET", "/v1/things/t9").route->server_streaming);
}

TEST_CASE("the same path in two services is a duplicate", "[rest_routes]") {
  (void)ThingRequest::descriptor();
  auto table = RestRouteTable::Build(
      {Service("onshid.test.GoodService"), Service("onshid.test.BadResponseBodyService")});
  REQUIRE_FALSE(table.ok());
  auto twice = RestRouteTable::Build(
      {Service("onshid.test.GoodService"), Service("onshid.test.GoodService")});
  REQUIRE_FALSE(twice.ok());
  CHECK_THAT(twice.error().message, Catch::Contains("duplicates"));
}

TEST_CASE("BuildRequestMessage: path bindings and query parameters", "[rest_routes]") {
  const RestRouteTable table = GoodTable();

  SECTION("path variables, nested and percent-decoded") {
    RouteMatch m = MustMatch(table, "GET", "/v1/sites/s%2F1/things/t%E3%81%82");
    ThingRequest req;
    REQUIRE(BuildRequestMessage(m, "", "", &req).ok());
    CHECK(req.site().id() == "s/1");
    CHECK(req.thing_id() == "t\xE3\x81\x82");
  }

  SECTION("scalars, nested scalars, repeated scalars, enums, JSON names, timestamps") {
    RouteMatch m = MustMatch(table, "GET", "/v1/things");
    ThingRequest req;
    auto s = BuildRequestMessage(m,
                                 "page_size=25&tags=a+b&tags=c%26d&kind=KIND_LARGE&"
                                 "includeDeleted=true&filter.text=x&filter.minCount=-7&"
                                 "filter.site.floor=3&since=2024-04-01T09:00:00Z&ratio=0.5&"
                                 "big=18446744073709551615&numbers=1&numbers=2&token=AQI%3D&"
                                 "limit=0&&choice_a=z",
                                 "", &req);
    if (!s.ok()) FAIL(s.error().message);
    CHECK(req.page_size() == 25);
    CHECK(req.tags().size() == 2);
    CHECK(req.tags(0) == "a b");
    CHECK(req.tags(1) == "c&d");
    CHECK(req.kind() == onshid::test::KIND_LARGE);
    CHECK(req.include_deleted());
    CHECK(req.filter().text() == "x");
    CHECK(req.filter().min_count() == -7);
    CHECK(req.filter().site().floor() == 3);
    CHECK(req.since().seconds() == 1711962000);
    CHECK(req.ratio() == 0.5);
    CHECK(req.big() == 18446744073709551615ULL);
    CHECK(req.numbers().size() == 2);
    CHECK(req.token() == std::string("\x01\x02"));
    CHECK(req.has_limit());
    CHECK(req.limit() == 0);
    CHECK(req.choice_a() == "z");
  }

  SECTION("enum by number") {
    ThingRequest req;
    REQUIRE(BuildRequestMessage(MustMatch(table, "GET", "/v1/things"), "kind=1", "", &req).ok());
    CHECK(req.kind() == onshid::test::KIND_SMALL);
  }

  SECTION("enum without its prefix") {
    ThingRequest req;
    REQUIRE(BuildRequestMessage(MustMatch(table, "GET", "/v1/things"), "kind=LARGE", "", &req).ok());
    CHECK(req.kind() == onshid::test::KIND_LARGE);
  }

  auto bad_query = [&](const std::string& path, const std::string& query,
                       const std::string& field) {
    INFO(query);
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "GET", path), query, "", &req);
    REQUIRE_FALSE(s.ok());
    INFO(s.error().message);
    CHECK(s.error().kind == core::ErrorKind::kInvalidArgument);
    CHECK(s.error().reason == "INVALID_PARAMETER");
    CHECK_FALSE(s.error().message_ja.empty());
    if (!field.empty()) CHECK(HasViolation(s.error(), field));
    return s.error();
  };

  SECTION("bad query parameters") {
    CHECK_THAT(bad_query("/v1/things", "nope=1", "nope").message, Catch::Contains("nope"));
    bad_query("/v1/things", "page_size=abc", "page_size");
    bad_query("/v1/things", "page_size=99999999999", "page_size");
    bad_query("/v1/things", "page_size=", "page_size");
    bad_query("/v1/things", "big=-1", "big");
    bad_query("/v1/things", "include_deleted=yes", "include_deleted");
    bad_query("/v1/things", "kind=KIND_HUGE", "kind");
    bad_query("/v1/things", "kind=HUGE", "kind");
    bad_query("/v1/things", "since=yesterday", "since");
    bad_query("/v1/things", "page_size=1&page_size=2", "page_size");
    bad_query("/v1/things", "thing=x", "thing");          // message field
    bad_query("/v1/things", "things.id=x", "things.id");  // through a repeated message
    bad_query("/v1/things", "labels=x", "labels");        // map
    bad_query("/v1/things", "filter.nope=1", "filter.nope");
    bad_query("/v1/things", "choice_a=x&choice_b=y", "choice_b");
    bad_query("/v1/things", "tags=%zz", "");
    bad_query("/v1/things", "tags=%FF", "tags");                // not UTF-8
    bad_query("/v1/things/abc", "thing_id=other", "thing_id");  // bound by the path
  }

  SECTION("bad path values") {
    ThingRequest req;
    // A path bound to a string takes anything; the CancelThing route binds a string as well, so
    // check a non-string binding via a query-free message of another route is not possible here;
    // invalid UTF-8 is the failure a string binding can have.
    auto s = BuildRequestMessage(MustMatch(table, "GET", "/v1/things/%FF"), "", "", &req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "INVALID_PARAMETER");
    CHECK(HasViolation(s.error(), "thing_id"));
  }
}

TEST_CASE("BuildRequestMessage: JSON bodies", "[rest_routes]") {
  const RestRouteTable table = GoodTable();

  SECTION("body * fills the whole message") {
    ThingRequest req;
    auto s =
        BuildRequestMessage(MustMatch(table, "POST", "/v1/things"), "",
                            R"({"thing": {"displayName": "a", "count": 2}, "page_size": 3})", &req);
    if (!s.ok()) FAIL(s.error().message);
    CHECK(req.thing().display_name() == "a");
    CHECK(req.thing().count() == 2);
    CHECK(req.page_size() == 3);
  }

  SECTION("body * takes no query parameters") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "POST", "/v1/things"), "page_size=1", "{}", &req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "INVALID_PARAMETER");
    CHECK(HasViolation(s.error(), "page_size"));
  }

  SECTION("empty body on a body route leaves the message empty") {
    ThingRequest req;
    REQUIRE(BuildRequestMessage(MustMatch(table, "POST", "/v1/things"), "", "  \n", &req).ok());
    CHECK(req.ByteSizeLong() == 0);
  }

  SECTION("body field, path binding inside it wins, query for the rest") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "PATCH", "/v1/things/t1"), "page_size=4",
                                 R"({"id": "other", "displayName": "n", "tags": ["x"]})", &req);
    if (!s.ok()) FAIL(s.error().message);
    CHECK(req.thing().id() == "t1");
    CHECK(req.thing().display_name() == "n");
    CHECK(req.thing().tags_size() == 1);
    CHECK(req.page_size() == 4);
  }

  SECTION("body field may be a repeated scalar") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "PUT", "/v1/things/t1/tags"), "", R"(["a","b"])",
                                 &req);
    if (!s.ok()) FAIL(s.error().message);
    CHECK(req.thing_id() == "t1");
    CHECK(req.tags_size() == 2);
  }

  SECTION("a field body cannot smuggle in other fields") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "PUT", "/v1/things/t1/tags"), "",
                                 R"(["a"], "page_size": 5)", &req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "INVALID_JSON");
  }

  SECTION("query may not name the body field") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "PATCH", "/v1/things/t1"), "thing.count=1", "{}",
                                 &req);
    REQUIRE_FALSE(s.ok());
    CHECK(HasViolation(s.error(), "thing.count"));
  }

  SECTION("malformed JSON names the problem") {
    ThingRequest req;
    auto s =
        BuildRequestMessage(MustMatch(table, "POST", "/v1/things"), "", R"({"page_size": )", &req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == core::ErrorKind::kInvalidArgument);
    CHECK(s.error().reason == "INVALID_JSON");
    CHECK_THAT(s.error().message, Catch::Contains("onshid.test.ThingRequest"));
    CHECK(s.error().message.size() > std::string("request body is not valid JSON for ").size() +
                                         std::string("onshid.test.ThingRequest: ").size());
    CHECK_FALSE(s.error().message_ja.empty());
  }

  SECTION("unknown field is rejected naming it") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "POST", "/v1/things"), "",
                                 R"({"thing": {"colour": "red"}})", &req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "INVALID_JSON");
    CHECK_THAT(s.error().message, Catch::Contains("colour"));
    REQUIRE_FALSE(s.error().field_violations.empty());
    CHECK(s.error().field_violations[0].field == "thing.colour");

    ThingRequest top;
    s = BuildRequestMessage(MustMatch(table, "POST", "/v1/things"), "", R"({"colour": 1})", &top);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("colour"));
    CHECK(HasViolation(s.error(), "colour"));
  }

  SECTION("wrong type is rejected") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "POST", "/v1/things"), "",
                                 R"({"page_size": "many"})", &req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "INVALID_JSON");
    INFO(s.error().message);
    CHECK(HasViolation(s.error(), "page_size"));
    CHECK_THAT(s.error().message, !Catch::Contains("many"));  // values are not echoed
  }

  SECTION("a body on a route without body is rejected") {
    ThingRequest req;
    auto s = BuildRequestMessage(MustMatch(table, "GET", "/v1/things/t1"), "", "{}", &req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == core::ErrorKind::kInvalidArgument);
    CHECK_THAT(s.error().message, Catch::Contains("no request body"));
  }

  SECTION("wrong message type is an internal error") {
    ::onshi::v1::GetStatusRequest other;
    auto s = BuildRequestMessage(MustMatch(table, "GET", "/v1/things/t1"), "", "", &other);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == core::ErrorKind::kInternal);
  }
}

// ---- The gateway serving server-streaming methods as Server-Sent Events, end to end ----------

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;
using onshid::test::ThingEvent;
using onshid::test::ThingResponse;

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string raw;
  if (buffer.Dump(&slices).ok()) {
    for (const auto& s : slices) raw.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return raw;
}

grpc::ByteBuffer ToBuffer(const pb::Message& message) {
  std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// StreamingService as a generic callback service (no generated stubs needed). WatchThings plays
// the script named by thing_id: "events" (three events, OK), "fail-after" (two events, then
// UNAVAILABLE), "hold" (one event, then waits for cancellation), "quiet" (initial metadata only,
// then waits for cancellation). WatchThing sends two
// ThingResponses. Every call needs the gateway secret and "Bearer good".
class ScriptService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

  void SignalCancelled() {
    if (!cancelled_signalled_.exchange(true)) cancelled_.set_value();
  }
  std::future<void> Cancelled() { return cancelled_.get_future(); }

 private:
  std::promise<void> cancelled_;
  std::atomic<bool> cancelled_signalled_{false};
};

class ScriptReactor : public grpc::ServerGenericBidiReactor {
 public:
  ScriptReactor(grpc::GenericCallbackServerContext* ctx, ScriptService* service)
      : ctx_(ctx), service_(service) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    // Like the daemon's services: the request id goes into the initial metadata before any
    // check, so an early error arrives together with initial metadata.
    ctx_->AddInitialMetadata("x-request-id", "srv-" + Metadata("x-request-id"));
    ThingRequest req;
    if (!ok || !req.ParseFromString(Flatten(request_))) {
      Done(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
      return;
    }
    if (Metadata("x-onshid-gateway") != "test-secret") {
      Done(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not through the gateway"));
      return;
    }
    if (Metadata("authorization") != "Bearer good") {
      Done(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or bad token"));
      return;
    }
    std::string note;
    for (const std::string& tag : req.tags()) note += tag;
    if (ctx_->method() == "/onshid.test.StreamingService/WatchThing") {
      for (int i = 0; i < 2; ++i) {
        ThingResponse r;
        r.mutable_thing()->set_id(req.thing_id());
        r.mutable_thing()->set_count(i);
        out_.push_back(ToBuffer(r));
      }
    } else {
      const std::string& script = req.thing_id();
      int events = 0;
      if (script == "events") events = 3;
      if (script == "fail-after") events = 2;
      if (script == "hold") events = 1;
      for (int i = 0; i < events; ++i) {
        ThingEvent e;
        e.set_cursor(10 + i);
        e.set_note(note + "\nline " + std::to_string(i));  // a newline stays inside the JSON
        out_.push_back(ToBuffer(e));
      }
      if (script == "fail-after") {
        final_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "upstream went away");
      }
      hold_ = script == "hold" || script == "quiet";
    }
    StartSendInitialMetadata();
  }

  void OnSendInitialMetadataDone(bool ok) override { ok ? Next() : Done(grpc::Status::CANCELLED); }
  void OnWriteDone(bool ok) override { ok ? Next() : Done(grpc::Status::CANCELLED); }

  void OnCancel() override {
    if (hold_) service_->SignalCancelled();
    Done(grpc::Status::CANCELLED);
  }

  void OnDone() override { delete this; }

 private:
  std::string Metadata(const std::string& key) const {
    const auto& md = ctx_->client_metadata();
    const auto it = md.find(key);
    return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
  }

  void Next() {
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
    }
    if (next_ < out_.size()) {
      StartWrite(&out_[next_++]);
    } else if (!hold_) {
      Done(final_);
    }
  }

  void Done(grpc::Status status) {
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(std::move(status));
  }

  grpc::GenericCallbackServerContext* ctx_;
  ScriptService* service_;
  grpc::ByteBuffer request_;
  std::vector<grpc::ByteBuffer> out_;
  std::size_t next_ = 0;
  grpc::Status final_ = grpc::Status::OK;
  bool hold_ = false;
  std::mutex mu_;
  bool finished_ = false;
};

grpc::ServerGenericBidiReactor* ScriptService::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  return new ScriptReactor(ctx, this);
}

// An in-process gRPC server with ScriptService, the gateway over its in-process channel, and an
// HttpServer on a loopback port in front.
struct GatewayRig {
  ScriptService service;
  std::unique_ptr<grpc::Server> grpc_server;
  std::unique_ptr<RestGateway> gateway;
  std::unique_ptr<HttpServer> http;

  GatewayRig() {
    (void)ThingRequest::descriptor();
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(&service);
    grpc_server = builder.BuildAndStart();
    REQUIRE(grpc_server != nullptr);
    auto table = RestRouteTable::Build({Service("onshid.test.StreamingService")});
    REQUIRE(table.ok());
    gateway = std::make_unique<RestGateway>(grpc_server->InProcessChannel(grpc::ChannelArguments()),
                                            std::move(table).value(), 5s, "test-secret");
    http = std::make_unique<HttpServer>(
        "rest_test", "127.0.0.1:0", HttpLimits{}, std::nullopt,
        [gw = gateway.get()](HttpRequest req, Responder respond) {
          gw->Handle(std::move(req), std::move(respond));
        },
        &RestGateway::ErrorResponse, 2);
    REQUIRE(http->Start().ok());
  }

  ~GatewayRig() {
    http->Stop(1s);
    grpc_server->Shutdown(std::chrono::system_clock::now() + 1s);
  }
};

// Opens a GET for Server-Sent Events and reads its status line and headers.
class SseClient : public onshid::testing::StreamClient {
 public:
  SseClient(int port, const std::string& target, const std::string& token) : StreamClient(port) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::accept, "text/event-stream");
    req.set("X-Request-Id", "req-1");
    if (!token.empty()) req.set(http::field::authorization, token);
    Send(std::move(req));
    REQUIRE(ReadHeader());
  }
};

struct SseEvent {
  std::string event;  // "" for a message event
  std::string id;
  std::string data;
};

// Parses complete events; comment lines (": keep-alive") are skipped.
std::vector<SseEvent> ParseSse(const std::string& body) {
  std::vector<SseEvent> events;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = body.find("\n\n", start);
    if (end == std::string::npos) return events;
    SseEvent e;
    bool any = false;
    std::size_t pos = start;
    while (pos < end) {
      std::size_t eol = body.find('\n', pos);
      if (eol == std::string::npos || eol > end) eol = end;
      const std::string line = body.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.empty() || line[0] == ':') continue;
      const std::size_t colon = line.find(": ");
      REQUIRE(colon != std::string::npos);
      const std::string field = line.substr(0, colon);
      const std::string value = line.substr(colon + 2);
      if (field == "event") e.event = value;
      if (field == "id") e.id = value;
      if (field == "data") {
        REQUIRE(e.data.empty());  // one line per data
        e.data = value;
      }
      any = true;
    }
    if (any) events.push_back(std::move(e));
    start = end + 2;
  }
}

TEST_CASE("gateway: a server stream becomes Server-Sent Events with the cursor as id",
          "[rest_gateway]") {
  GatewayRig rig;
  SseClient client(rig.http->port(), "/v1/things:watch?thing_id=events&tags=a&tags=b",
                   "Bearer good");
  CHECK(client.response().result_int() == 200);
  CHECK(client.response()[http::field::content_type] == "text/event-stream");
  CHECK(client.response()[http::field::cache_control] == "no-cache");
  CHECK(client.response()["x-request-id"] == "srv-req-1");
  REQUIRE(client.ReadToEnd());
  const std::vector<SseEvent> events = ParseSse(client.body());
  REQUIRE(events.size() == 3);
  for (int i = 0; i < 3; ++i) {
    INFO(events[i].data);
    CHECK(events[i].event.empty());
    CHECK(events[i].id == std::to_string(10 + i));
    ThingEvent e;
    REQUIRE(pb::util::JsonStringToMessage(events[i].data, &e).ok());
    CHECK(e.cursor() == 10 + i);
    CHECK(e.note() == "ab\nline " + std::to_string(i));
  }
}

TEST_CASE("gateway: events of a message without a cursor are numbered", "[rest_gateway]") {
  GatewayRig rig;
  SseClient client(rig.http->port(), "/v1/things/t7:watch", "Bearer good");
  CHECK(client.response().result_int() == 200);
  REQUIRE(client.ReadToEnd());
  const std::vector<SseEvent> events = ParseSse(client.body());
  REQUIRE(events.size() == 2);
  CHECK(events[0].id == "1");
  CHECK(events[1].id == "2");
  ThingResponse r;
  REQUIRE(pb::util::JsonStringToMessage(events[1].data, &r).ok());
  CHECK(r.thing().id() == "t7");
  CHECK(r.thing().count() == 1);
}

TEST_CASE("gateway: an error before the stream starts is a JSON error with its HTTP status",
          "[rest_gateway]") {
  GatewayRig rig;
  SseClient client(rig.http->port(), "/v1/things:watch?thing_id=events", "");
  CHECK(client.response().result_int() == 401);
  CHECK(client.response()[http::field::content_type] == "application/json");
  REQUIRE(client.ReadToEnd());
  CHECK_THAT(client.body(), Catch::Contains("\"code\":16"));
  CHECK_THAT(client.body(), Catch::Contains("missing or bad token"));
  CHECK(client.response()["x-request-id"] == "srv-req-1");

  // A request the route table rejects never reaches the service.
  SseClient bad(rig.http->port(), "/v1/things:watch?no_such=1", "Bearer good");
  CHECK(bad.response().result_int() == 400);
}

TEST_CASE("gateway: an error after some events ends the stream with an error event",
          "[rest_gateway]") {
  GatewayRig rig;
  SseClient client(rig.http->port(), "/v1/things:watch?thing_id=fail-after", "Bearer good");
  CHECK(client.response().result_int() == 200);
  REQUIRE(client.ReadToEnd());
  const std::vector<SseEvent> events = ParseSse(client.body());
  REQUIRE(events.size() == 3);
  CHECK(events[0].id == "10");
  CHECK(events[1].id == "11");
  CHECK(events[2].event == "error");
  CHECK_THAT(events[2].data, Catch::Contains("\"code\":14"));
  CHECK_THAT(events[2].data, Catch::Contains("upstream went away"));
}

TEST_CASE("gateway: the client going away cancels the server-side call", "[rest_gateway]") {
  GatewayRig rig;
  auto cancelled = rig.service.Cancelled();
  SECTION("after an event") {
    SseClient client(rig.http->port(), "/v1/things:watch?thing_id=hold", "Bearer good");
    CHECK(client.response().result_int() == 200);
    REQUIRE(client.ReadUntil("id: 10\n"));
    CHECK(cancelled.wait_for(0s) == std::future_status::timeout);
    client.Close();
  }
  SECTION("on a quiet stream (headers after the initial metadata, no event yet)") {
    SseClient client(rig.http->port(), "/v1/things:watch?thing_id=quiet", "Bearer good");
    CHECK(client.response().result_int() == 200);
    CHECK(client.response()["x-request-id"] == "srv-req-1");
    CHECK(client.body().empty());
    CHECK(cancelled.wait_for(0s) == std::future_status::timeout);
    client.Close();
  }
  REQUIRE(cancelled.wait_for(5s) == std::future_status::ready);
}

TEST_CASE("gateway: destroying the gateway cancels its open calls and waits for them",
          "[rest_gateway]") {
  GatewayRig rig;
  auto cancelled = rig.service.Cancelled();
  SseClient client(rig.http->port(), "/v1/things:watch?thing_id=hold", "Bearer good");
  REQUIRE(client.ReadUntil("id: 10\n"));
  rig.gateway.reset();  // returns once gRPC has let go of the call
  CHECK(cancelled.wait_for(5s) == std::future_status::ready);
  REQUIRE(client.ReadToEnd());  // the stream was ended, with an error event
  CHECK_THAT(client.body(), Catch::Contains("event: error"));
}

}  // namespace
}  // namespace onshid::api
