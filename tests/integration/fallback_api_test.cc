// Issue 6 §4: FallbackService.EvaluateOptions end to end with the real daemon on managed PostgreSQL
// — gRPC for seed cases, REST with lowerCamelCase JSON and a bad request, and onshictl.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "core/oqs/identifiers.h"
#include "onshi/v1/fallback.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/http_client.h"

using namespace onshid::testing;
namespace v1 = onshi::v1;

namespace {

std::string JapanToday() {
  const auto d = onshid::core::oqs::OqsDate::JapanDateOf(std::chrono::system_clock::now());
  const std::string s = d.ToString();  // yyyyMMdd
  return s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2);
}

v1::FallbackCase Case(v1::FallbackCause cause, v1::VisitKind visit = v1::VISIT_KIND_FIRST_VISIT) {
  v1::FallbackCase c;
  c.set_cause(cause);
  c.set_visit(visit);
  c.set_age(v1::AGE_BRACKET_UNDER_70);
  return c;
}

struct Evaluated {
  grpc::Status status;
  v1::EvaluateOptionsResponse response;
};

Evaluated Evaluate(v1::FallbackService::Stub& stub, const v1::FallbackCase& c,
                   const std::string& token = kReadToken) {
  grpc::ClientContext ctx;
  Prepare(ctx, token);
  v1::EvaluateOptionsRequest req;
  *req.mutable_fallback_case() = c;
  Evaluated out;
  out.status = stub.EvaluateOptions(&ctx, req, &out.response);
  return out;
}

std::vector<v1::FallbackMethod> Allowed(const v1::EvaluateOptionsResponse& r) {
  std::vector<v1::FallbackMethod> out;
  for (const auto& m : r.methods()) {
    if (m.allowed()) out.push_back(m.method());
  }
  return out;
}

const v1::FallbackMethodDecision& Find(const v1::EvaluateOptionsResponse& r,
                                       v1::FallbackMethod method) {
  for (const auto& m : r.methods()) {
    if (m.method() == method) return m;
  }
  FAIL("method not listed: " << v1::FallbackMethod_Name(method));
  return r.methods(0);
}

std::map<std::string, std::string> ReadHeaders() {
  return {{"authorization", BearerHeader(kReadToken)}, {"content-type", "application/json"}};
}

}  // namespace

TEST_CASE("EvaluateOptions answers seed cases over gRPC, REST and onshictl", "[fallback_api]") {
  TempDir dir;
  Ports ports;
  DaemonProcess daemon(dir.path(), ConfigJson({dir.path() + "/state", ports, "", "", ""}));
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  auto stub = v1::FallbackService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(ports.grpc), grpc::InsecureChannelCredentials()));

  // 1. Smartphone only at a facility that cannot read phones (seed 003 p.11): the マイナポータル
  //    screen is the only method (10割 stays the last resort). No date: today in Japan.
  {
    auto c = Case(v1::FALLBACK_CAUSE_SMARTPHONE_NOT_SUPPORTED);
    c.add_presented(onshi::v1::DOCUMENT_MY_NUMBER_SMARTPHONE);
    const std::string before = JapanToday();
    auto e = Evaluate(*stub, c);
    const std::string after = JapanToday();
    INFO(e.status.error_message());
    REQUIRE(e.status.ok());
    const auto& r = e.response;
    CHECK(r.engine_version() == "fallback-engine/2");
    CHECK(r.methods_size() == 10);
    CHECK(Allowed(r) == std::vector<v1::FallbackMethod>{v1::FALLBACK_METHOD_PORTAL_SCREEN,
                                                        v1::FALLBACK_METHOD_FULL_SELF_PAY});
    CHECK(r.first_choice() == v1::FALLBACK_METHOD_PORTAL_SCREEN);
    CHECK(r.methods(0).rule().id() == "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD");
    CHECK(r.methods(0).method_name_ja() == "マイナポータル資格情報画面");
    CHECK(r.methods(0).leads_to() == v1::CLAIM_ROUTE_CURRENT);
    CHECK(Find(r, v1::FALLBACK_METHOD_ELIGIBILITY_NOTICE).rule().id() ==
          "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD");
    CHECK(Find(r, v1::FALLBACK_METHOD_INSURANCE_STATEMENT).rule().id() ==
          "STATEMENT_NOT_FOR_SMARTPHONE_ONLY");
    CHECK(Find(r, v1::FALLBACK_METHOD_FULL_SELF_PAY).rule().id() ==
          "FULL_SELF_PAY_SMARTPHONE_ONLY");
    CHECK(r.charge() == v1::FALLBACK_CHARGE_NORMAL_RATIO);
    CHECK(r.charge_rule().id() == "NORMAL_RATIO");
    CHECK((r.input().date() == before || r.input().date() == after));
    CHECK(r.input().actual_days() == 1);
    CHECK(r.input().newborn() == v1::NEWBORN_STATUS_NOT_NEWBORN);
  }

  // 2. 資格(無効) with the card, first visit, the 旧資格 it showed (seed 003 「資格（無効）」…の
  //    対応方法): ① cannot show it, start with ② お知らせ; ④ claims the 旧資格.
  {
    auto c = Case(v1::FALLBACK_CAUSE_RESULT_INVALID);
    c.add_presented(onshi::v1::DOCUMENT_MY_NUMBER_CARD);
    c.set_date("2025-12-10");
    auto* k = c.add_known_eligibilities();
    k->set_source(v1::KNOWN_ELIGIBILITY_SOURCE_INVALID_RESULT);
    k->mutable_identifiers()->set_insurer_number("06139992");
    k->set_ratio_wari(3);
    auto e = Evaluate(*stub, c);
    INFO(e.status.error_message());
    REQUIRE(e.status.ok());
    const auto& r = e.response;
    CHECK(Allowed(r) == std::vector<v1::FallbackMethod>{v1::FALLBACK_METHOD_ELIGIBILITY_NOTICE,
                                                        v1::FALLBACK_METHOD_INSURANCE_STATEMENT});
    CHECK(r.first_choice() == v1::FALLBACK_METHOD_ELIGIBILITY_NOTICE);
    CHECK(r.methods(0).rule().id() == "NOTICE_FIRST_AFTER_INVALID_RESULT");
    const auto& portal = Find(r, v1::FALLBACK_METHOD_PORTAL_SCREEN);
    CHECK_FALSE(portal.allowed());
    CHECK(portal.rule().id() == "PORTAL_CANNOT_SHOW_INVALID_RESULT");
    CHECK_FALSE(portal.rule().reason_ja().empty());
    CHECK(portal.leads_to() == v1::CLAIM_ROUTE_UNSPECIFIED);
    CHECK(Find(r, v1::FALLBACK_METHOD_INSURANCE_STATEMENT).leads_to() ==
          v1::CLAIM_ROUTE_OLD_ELIGIBILITY);
    CHECK(Find(r, v1::FALLBACK_METHOD_FULL_SELF_PAY).rule().id() == "FULL_SELF_PAY_NOT_NEEDED");
    CHECK(r.charge() == v1::FALLBACK_CHARGE_NORMAL_RATIO);
    REQUIRE(r.input().known_eligibilities_size() == 1);
    CHECK(r.input().known_eligibilities(0).identifiers().insurer_number() == "06139992");
  }

  // 3. Lost 資格確認書, nothing presented, first visit (seed 003 p.16): 10割 is the only way.
  {
    auto c = Case(v1::FALLBACK_CAUSE_NO_DOCUMENT);
    c.set_date("2025-12-10");
    auto e = Evaluate(*stub, c);
    INFO(e.status.error_message());
    REQUIRE(e.status.ok());
    const auto& r = e.response;
    CHECK(Allowed(r) == std::vector<v1::FallbackMethod>{v1::FALLBACK_METHOD_FULL_SELF_PAY});
    CHECK(r.first_choice() == v1::FALLBACK_METHOD_FULL_SELF_PAY);
    CHECK(r.methods(0).rule().id() == "FULL_SELF_PAY_NO_CARD_FIRST_VISIT");
    CHECK(r.methods(0).leads_to() == v1::CLAIM_ROUTE_SELF_PAY);
    CHECK(Find(r, v1::FALLBACK_METHOD_ORAL_CONFIRMATION).rule().id() == "ORAL_NEEDS_REVISIT");
    CHECK(Find(r, v1::FALLBACK_METHOD_INSURANCE_STATEMENT).rule().id() == "STATEMENT_NEEDS_CARD");
    CHECK(r.charge() == v1::FALLBACK_CHARGE_FULL_SELF_PAY);
    CHECK(r.charge_rule().id() == "FULL_SELF_PAY_NO_CARD_FIRST_VISIT");
  }

  // Errors over gRPC: in the certificate's grace no fallback is needed; no token, no answer.
  {
    auto c = Case(v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED);
    c.add_presented(onshi::v1::DOCUMENT_MY_NUMBER_CARD);
    c.set_date("2025-12-10");
    c.set_certificate_expiry("2025-10-19");
    auto e = Evaluate(*stub, c);
    CHECK(e.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ReasonOf(e.status) == "CERTIFICATE_IN_GRACE");
    auto anonymous = Evaluate(*stub, Case(v1::FALLBACK_CAUSE_NO_DOCUMENT), "");
    CHECK(anonymous.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }

  // REST: the same engine behind POST /v1/fallback:evaluate, lowerCamelCase JSON both ways.
  {
    auto ok = HttpCall(ports.rest, "POST", "/v1/fallback:evaluate", ReadHeaders(),
                       R"({"fallbackCase": {
                             "cause": "FALLBACK_CAUSE_RESULT_INVALID",
                             "presented": ["DOCUMENT_MY_NUMBER_CARD"],
                             "visit": "VISIT_KIND_FIRST_VISIT", "age": "AGE_BRACKET_UNDER_70",
                             "date": "2025-12-10", "actualDays": 1,
                             "knownEligibilities": [{"source": "KNOWN_ELIGIBILITY_SOURCE_INVALID_RESULT"}]}})");
    INFO(ok.body);
    REQUIRE(ok.status == 200);
    CHECK_FALSE(ok.headers["x-request-id"].empty());
    auto j = nlohmann::json::parse(ok.body);
    CHECK(j["engineVersion"] == "fallback-engine/2");
    CHECK(j["firstChoice"] == "FALLBACK_METHOD_ELIGIBILITY_NOTICE");
    REQUIRE(j["methods"].size() == 10);
    CHECK(j["methods"][0]["method"] == "FALLBACK_METHOD_ELIGIBILITY_NOTICE");
    CHECK(j["methods"][0]["allowed"] == true);
    CHECK(j["methods"][0]["methodNameJa"] == "資格情報のお知らせ");
    CHECK(j["methods"][0]["rule"]["id"] == "NOTICE_FIRST_AFTER_INVALID_RESULT");
    CHECK_FALSE(j["methods"][0]["rule"]["reasonJa"].get<std::string>().empty());
    bool portal_blocked = false;
    for (const auto& m : j["methods"]) {
      if (m["method"] == "FALLBACK_METHOD_PORTAL_SCREEN") {
        portal_blocked = m["allowed"] == false &&
                         m["rule"]["id"] == "PORTAL_CANNOT_SHOW_INVALID_RESULT";
      }
    }
    CHECK(portal_blocked);
    CHECK(j["charge"] == "FALLBACK_CHARGE_NORMAL_RATIO");
    CHECK(j["input"]["date"] == "2025-12-10");
    CHECK(j["input"]["hasValidInsuranceNow"] == true);
    CHECK(j["input"]["facility"]["oqsAvailable"] == true);

    // A bad request names every wrong field by its path, with a message for the clerk.
    auto bad = HttpCall(ports.rest, "POST", "/v1/fallback:evaluate", ReadHeaders(),
                        R"({"fallbackCase": {"visit": "VISIT_KIND_FIRST_VISIT", "age": "AGE_BRACKET_UNDER_70",
                                             "date": "2025-02-29"}})");
    INFO(bad.body);
    CHECK(bad.status == 400);
    auto b = nlohmann::json::parse(bad.body);
    CHECK(b["code"] == 3);
    std::string reason, message_ja;
    std::vector<std::string> fields;
    for (const auto& d : b["details"]) {
      if (d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo") reason = d["reason"];
      if (d["@type"] == "type.googleapis.com/google.rpc.LocalizedMessage") {
        CHECK(d["locale"] == "ja-JP");
        message_ja = d["message"];
      }
      if (d["@type"] == "type.googleapis.com/google.rpc.BadRequest") {
        for (const auto& v : d["fieldViolations"]) fields.push_back(v["field"]);
      }
    }
    CHECK(reason == "INVALID_FALLBACK_CASE");
    CHECK(fields == std::vector<std::string>{"fallback_case.cause", "fallback_case.date"});
    CHECK_THAT(message_ja, Catch::Contains("確認できない理由"));
    CHECK_THAT(message_ja, Catch::Contains("受診日"));

    // A contradiction the engine finds is named the same way.
    auto contradiction = HttpCall(ports.rest, "POST", "/v1/fallback:evaluate", ReadHeaders(),
                                  R"({"fallbackCase": {"cause": "FALLBACK_CAUSE_IC_UNREADABLE",
                                       "visit": "VISIT_KIND_REVISIT", "age": "AGE_BRACKET_KOUKI"}})");
    INFO(contradiction.body);
    CHECK(contradiction.status == 400);
    CHECK_THAT(contradiction.body, Catch::Contains("fallback_case.presented"));
    CHECK_THAT(contradiction.body, Catch::Contains("提示された書類"));
  }

  // onshictl prints the checklist in Japanese; --json prints the response.
  {
    const std::string ctl = std::string(ONSHICTL_BINARY) + " --addr 127.0.0.1:" +
                            std::to_string(ports.grpc) + " --token " + kReadToken;
    auto out = RunCommand(ctl + " fallback evaluate --cause smartphone-not-supported"
                                " --document smartphone --visit first --date 2026-02-10");
    INFO(out.output);
    CHECK(out.exit_code == 0);
    CHECK_THAT(out.output, Catch::Contains("✓ マイナポータル資格情報画面"));
    CHECK_THAT(out.output, Catch::Contains("✗ 資格情報のお知らせ"));
    CHECK_THAT(out.output, Catch::Contains("first choice: マイナポータル資格情報画面"));
    CHECK_THAT(out.output, Catch::Contains("charge: 通常の負担割合"));

    auto lost = RunCommand(ctl + " fallback evaluate --cause no-document --real-days 0"
                                 " --age 70to74 --date 2025-12-10");
    INFO(lost.output);
    CHECK(lost.exit_code == 0);
    CHECK_THAT(lost.output, Catch::Contains("first choice: 10割負担（資格確認後に返金）"));

    auto json = RunCommand(ctl + " --json fallback evaluate --cause NETWORK_ERROR"
                                 " --document MY_NUMBER_CARD --visit return --known past-visits"
                                 " --real-days 2 --date 2025-12-10");
    INFO(json.output);
    CHECK(json.exit_code == 0);
    auto j = nlohmann::json::parse(json.output);
    CHECK(j["input"]["actualDays"] == 3);
    CHECK(j["input"]["visit"] == "VISIT_KIND_REVISIT");
    CHECK(j["firstChoice"] == "FALLBACK_METHOD_PORTAL_SCREEN");

    auto refused = RunCommand(ctl + " fallback evaluate --cause ic-unreadable");
    INFO(refused.output);
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.output, Catch::Contains("INVALID_FALLBACK_CASE"));
    CHECK_THAT(refused.output, Catch::Contains("提示された書類"));

    auto usage = RunCommand(ctl + " fallback evaluate --cause nonsense");
    CHECK(usage.exit_code == 2);
  }
}
