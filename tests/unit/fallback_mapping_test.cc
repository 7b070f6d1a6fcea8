// onshi.v1.FallbackService messages ⇄ the fallback decision engine (api/fallback_mapping.h):
// every enum value both ways, the whole case both ways with its defaults, every bad input named by
// its proto field path, and the decision as the response.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "api/fallback_mapping.h"
#include "api/rest_routes.h"
#include "api/server.h"

namespace {

using namespace onshid;
namespace fb = core::fallback;
namespace v1 = onshi::v1;
using C = fb::FailureCause;

core::oqs::OqsDate D(const char* yyyymmdd) { return core::oqs::OqsDate::Parse(yyyymmdd).value(); }

const core::oqs::OqsDate kToday = D("20260210");

// Every proto value but UNSPECIFIED maps to a core value and back; every core value maps to a
// proto value (never UNSPECIFIED) and back; numbers outside the enum are refused.
template <typename Proto, typename Core, typename From>
void CheckRoundTrip(const google::protobuf::EnumDescriptor* d, const std::vector<Core>& all,
                    From from) {
  for (int i = 0; i < d->value_count(); ++i) {
    const auto proto = static_cast<Proto>(d->value(i)->number());
    if (d->value(i)->number() == 0) continue;
    INFO(d->value(i)->name());
    const auto core_value = from(proto);
    REQUIRE(core_value.has_value());
    CHECK(api::ToProto(*core_value) == proto);
  }
  for (Core c : all) {
    const auto proto = api::ToProto(c);
    CHECK(static_cast<int>(proto) != 0);
    CHECK(from(proto) == std::optional<Core>(c));
  }
  CHECK(static_cast<int>(all.size()) == d->value_count() - 1);
  CHECK_FALSE(from(static_cast<Proto>(999)).has_value());
}

template <typename Proto>
auto Plain() {
  return [](Proto p) { return api::FromProto(p); };
}

const std::vector<C> kAllCauses = {
    C::kCertificateExpired,   C::kIcUnreadable,           C::kIdentificationFailed,
    C::kFaceReaderWontStart,  C::kNetworkError,           C::kTerminalTrouble,
    C::kTerminalError011,     C::kSmartphoneNotSupported, C::kGenericReaderBroken,
    C::kResultInvalid,        C::kResultInvalidNewerExists, C::kResultNoRecord,
    C::kResultMultiple,       C::kProcessingError,        C::kNoDocument,
    C::kNoOnlineVerification};

const std::vector<fb::ClaimRoute> kAllRoutes = {fb::ClaimRoute::kCurrent,
                                                fb::ClaimRoute::kOldEligibility,
                                                fb::ClaimRoute::kUnknown,
                                                fb::ClaimRoute::kConfirmLater,
                                                fb::ClaimRoute::kSelfPay};

// A case with every field away from its default.
fb::FallbackCase FullCase() {
  fb::FallbackCase c;
  c.cause = C::kCertificateExpired;
  c.presented = {true, true, true, true, true};
  c.visit = fb::VisitKind::kRevisit;
  c.actual_days = 3;
  fb::KnownEligibility k;
  k.source = fb::KnownEligibility::Source::kPastVisits;
  k.insurer_number = "06139992";
  k.symbol = "AB";
  k.number = "1234";
  k.branch = "01";
  k.insurer_name = "テスト健康保険組合";
  k.ratio_wari = 3;
  c.known_eligibilities = {k};
  k.source = fb::KnownEligibility::Source::kInvalidResult;
  k.ratio_wari.reset();
  c.known_eligibilities.push_back(k);
  c.has_valid_insurance_now = false;
  c.facility = {false, true, true};
  c.date = D("20260115");
  c.age = fb::AgeBracket::k70To74;
  c.newborn = fb::Newborn::kRegistrationUnchecked;
  c.certificate_expiry = D("20250930");
  return c;
}

// The smallest valid proto case: cause, visit, age.
v1::FallbackCase MinimalProto(v1::FallbackCause cause) {
  v1::FallbackCase c;
  c.set_cause(cause);
  c.set_visit(v1::FIRST_VISIT);
  c.set_age(v1::AGE_BRACKET_UNDER_70);
  return c;
}

std::vector<std::string> Fields(const core::DomainError& e) {
  std::vector<std::string> out;
  for (const auto& v : e.field_violations) out.push_back(v.field);
  return out;
}

}  // namespace

TEST_CASE("fallback enums map to their proto values and back", "[fallback_mapping]") {
  CheckRoundTrip<v1::FallbackCause>(v1::FallbackCause_descriptor(), kAllCauses,
                                    Plain<v1::FallbackCause>());
  CheckRoundTrip<v1::AgeBracket>(
      v1::AgeBracket_descriptor(),
      std::vector<fb::AgeBracket>{fb::AgeBracket::kUnder70, fb::AgeBracket::k70To74,
                                  fb::AgeBracket::kKouki},
      Plain<v1::AgeBracket>());
  CheckRoundTrip<v1::NewbornStatus>(
      v1::NewbornStatus_descriptor(),
      std::vector<fb::Newborn>{fb::Newborn::kNo, fb::Newborn::kCardRegistered,
                               fb::Newborn::kCardNotRegistered,
                               fb::Newborn::kRegistrationUnchecked},
      Plain<v1::NewbornStatus>());
  CheckRoundTrip<v1::KnownEligibilitySource>(
      v1::KnownEligibilitySource_descriptor(),
      std::vector<fb::KnownEligibility::Source>{fb::KnownEligibility::Source::kInvalidResult,
                                                fb::KnownEligibility::Source::kPastVisits,
                                                fb::KnownEligibility::Source::kConfirmed},
      Plain<v1::KnownEligibilitySource>());
  CheckRoundTrip<v1::FallbackMethod>(
      v1::FallbackMethod_descriptor(),
      std::vector<fb::Method>(fb::kAllMethods.begin(), fb::kAllMethods.end()),
      Plain<v1::FallbackMethod>());
  CheckRoundTrip<v1::FallbackCharge>(
      v1::FallbackCharge_descriptor(),
      std::vector<fb::Charge>{fb::Charge::kNormalRatio, fb::Charge::kFullSelfPay},
      Plain<v1::FallbackCharge>());
  CheckRoundTrip<v1::ClaimRoute>(v1::ClaimRoute_descriptor(), kAllRoutes, Plain<v1::ClaimRoute>());
  // The visit reuses the check-in VisitKind; its other mapping (checkin_mapping.h) is for the
  // check-in's own kind.
  CheckRoundTrip<v1::VisitKind>(
      v1::VisitKind_descriptor(),
      std::vector<fb::VisitKind>{fb::VisitKind::kFirstVisit, fb::VisitKind::kRevisit},
      [](v1::VisitKind k) { return api::FallbackVisitFromProto(k); });

  // UNSPECIFIED: refused, except NewbornStatus (not stated = not a newborn).
  CHECK_FALSE(api::FromProto(v1::FALLBACK_CAUSE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::AGE_BRACKET_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::KNOWN_ELIGIBILITY_SOURCE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::FALLBACK_METHOD_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::FALLBACK_CHARGE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::CLAIM_ROUTE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FallbackVisitFromProto(v1::VISIT_KIND_UNSPECIFIED).has_value());
  CHECK(api::FromProto(v1::NEWBORN_STATUS_UNSPECIFIED) == std::optional(fb::Newborn::kNo));
}

TEST_CASE("fallback proto enum names are the engine's stable names with a prefix",
          "[fallback_mapping]") {
  for (C c : kAllCauses) {
    CHECK(v1::FallbackCause_Name(api::ToProto(c)) ==
          "FALLBACK_CAUSE_" + std::string(fb::FailureCauseName(c)));
  }
  for (fb::Method m : fb::kAllMethods) {
    CHECK(v1::FallbackMethod_Name(api::ToProto(m)) ==
          "FALLBACK_METHOD_" + std::string(fb::MethodName(m)));
  }
  for (fb::Charge ch : {fb::Charge::kNormalRatio, fb::Charge::kFullSelfPay}) {
    CHECK(v1::FallbackCharge_Name(api::ToProto(ch)) ==
          "FALLBACK_CHARGE_" + std::string(fb::ChargeName(ch)));
  }
  for (fb::ClaimRoute r : kAllRoutes) {
    CHECK(v1::ClaimRoute_Name(api::ToProto(r)) == "CLAIM_ROUTE_" + std::string(fb::ClaimRouteName(r)));
  }
}

TEST_CASE("a fallback case maps to its proto and back with every field", "[fallback_mapping]") {
  const fb::FallbackCase c = FullCase();
  const v1::FallbackCase p = api::ToProto(c);
  CHECK(p.cause() == v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED);
  CHECK(p.visit() == v1::RETURN_VISIT);
  CHECK(p.actual_days() == 3);
  CHECK(p.date() == "2026-01-15");
  CHECK(p.certificate_expiry() == "2025-09-30");
  CHECK(p.age() == v1::AGE_BRACKET_70_TO_74);
  CHECK(p.newborn() == v1::NEWBORN_STATUS_REGISTRATION_UNCHECKED);
  CHECK(p.has_has_valid_insurance_now());
  CHECK_FALSE(p.has_valid_insurance_now());
  CHECK(p.facility().has_oqs_available());
  CHECK_FALSE(p.facility().oqs_available());
  REQUIRE(p.known_eligibilities_size() == 2);
  CHECK(p.known_eligibilities(0).identifiers().insurer_number() == "06139992");
  CHECK(p.known_eligibilities(0).identifiers().insured_card_symbol() == "AB");
  CHECK(p.known_eligibilities(0).identifiers().insured_identification_number() == "1234");
  CHECK(p.known_eligibilities(0).identifiers().insured_branch_number() == "01");
  CHECK(p.known_eligibilities(0).insurer_name() == "テスト健康保険組合");
  CHECK(p.known_eligibilities(0).ratio_wari() == 3);
  CHECK_FALSE(p.known_eligibilities(1).has_ratio_wari());
  // Every field of the case message is set (a field added to the proto but not mapped shows here).
  const auto* d = p.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    INFO(f->name());
    if (f->is_repeated()) {
      CHECK(p.GetReflection()->FieldSize(p, f) > 0);
    } else {
      CHECK(p.GetReflection()->HasField(p, f));
    }
  }

  auto back = api::FromProto(p, kToday, "fallback_case.");
  if (!back) FAIL(back.error().message);
  CHECK(back.value() == c);

  // The defaults are explicit on the way out, so they survive the trip too.
  fb::FallbackCase defaults;
  defaults.date = kToday;
  auto again = api::FromProto(api::ToProto(defaults), D("20990101"));
  REQUIRE(again);
  CHECK(again.value() == defaults);
}

TEST_CASE("absent optional fields take the engine's defaults, the date today",
          "[fallback_mapping]") {
  auto c = api::FromProto(MinimalProto(v1::FALLBACK_CAUSE_NO_DOCUMENT), kToday);
  REQUIRE(c);
  CHECK(c->cause == C::kNoDocument);
  CHECK(c->date == std::optional(kToday));
  CHECK(c->actual_days == 1);
  CHECK(c->has_valid_insurance_now);
  CHECK(c->facility.oqs_available);
  CHECK_FALSE(c->facility.reads_smartphones);
  CHECK_FALSE(c->facility.emergency_mode_active);
  CHECK(c->newborn == fb::Newborn::kNo);
  CHECK(c->presented.Nothing());
  CHECK(c->known_eligibilities.empty());
  CHECK_FALSE(c->certificate_expiry.has_value());

  // From lowerCamelCase JSON, as the REST gateway parses it.
  v1::EvaluateOptionsRequest req;
  REQUIRE(google::protobuf::util::JsonStringToMessage(
              R"({"fallbackCase": {"cause": "FALLBACK_CAUSE_RESULT_INVALID",
                  "presented": {"myNumberCard": true}, "visit": "RETURN_VISIT",
                  "actualDays": 2, "hasValidInsuranceNow": false,
                  "facility": {"oqsAvailable": true, "readsSmartphones": true},
                  "knownEligibilities": [{"source": "KNOWN_ELIGIBILITY_SOURCE_INVALID_RESULT",
                    "identifiers": {"insurerNumber": "06139992"}, "ratioWari": 2}],
                  "date": "2026-03-31", "age": "AGE_BRACKET_KOUKI"}})",
              &req)
              .ok());
  auto j = api::FromProto(req.fallback_case(), kToday);
  REQUIRE(j);
  CHECK(j->cause == C::kResultInvalid);
  CHECK(j->presented.my_number_card);
  CHECK(j->visit == fb::VisitKind::kRevisit);
  CHECK(j->actual_days == 2);
  CHECK_FALSE(j->has_valid_insurance_now);
  CHECK(j->facility.reads_smartphones);
  CHECK(j->date == std::optional(D("20260331")));
  CHECK(j->age == fb::AgeBracket::kKouki);
  REQUIRE(j->known_eligibilities.size() == 1);
  CHECK(j->known_eligibilities[0].source == fb::KnownEligibility::Source::kInvalidResult);
  CHECK(j->known_eligibilities[0].insurer_number == "06139992");
  CHECK(j->known_eligibilities[0].ratio_wari == std::optional(2));
}

TEST_CASE("every bad or missing field is named by its proto path", "[fallback_mapping]") {
  v1::FallbackCase p;  // cause, visit and age missing
  p.set_newborn(static_cast<v1::NewbornStatus>(77));
  auto* k0 = p.add_known_eligibilities();
  k0->set_source(v1::KNOWN_ELIGIBILITY_SOURCE_PAST_VISITS);
  k0->set_ratio_wari(4);
  p.add_known_eligibilities();  // source missing
  p.set_date("2026-02-30");
  p.set_certificate_expiry("20250930");
  auto r = api::FromProto(p, kToday, "fallback_case.");
  REQUIRE_FALSE(r);
  const auto& e = r.error();
  CHECK(e.kind == core::ErrorKind::kInvalidArgument);
  CHECK(e.reason == "INVALID_FALLBACK_CASE");
  CHECK(Fields(e) == std::vector<std::string>{"fallback_case.cause", "fallback_case.visit",
                                              "fallback_case.known_eligibilities[0].ratio_wari",
                                              "fallback_case.known_eligibilities[1].source",
                                              "fallback_case.date", "fallback_case.age",
                                              "fallback_case.newborn",
                                              "fallback_case.certificate_expiry"});
  for (const auto& v : e.field_violations) CHECK_FALSE(v.description.empty());
  // The clerk reads which items to look at, in Japanese.
  CHECK(e.message_ja.rfind("代替確認の入力に不足または誤りがあります。", 0) == 0);
  for (const char* label : {"確認できない理由", "初診・再診", "把握している資格情報", "受診日",
                            "年齢区分", "新生児", "電子証明書の有効期限"}) {
    INFO(label);
    CHECK(e.message_ja.find(label) != std::string::npos);
  }
  // No submitted value is repeated (known eligibilities are personal data).
  CHECK(e.message.find("2026-02-30") == std::string::npos);

  // Unknown enum numbers are named too.
  auto unknown = MinimalProto(static_cast<v1::FallbackCause>(99));
  unknown.set_visit(static_cast<v1::VisitKind>(9));
  unknown.set_age(static_cast<v1::AgeBracket>(9));
  auto u = api::FromProto(unknown, kToday);
  REQUIRE_FALSE(u);
  CHECK(Fields(u.error()) == std::vector<std::string>{"cause", "visit", "age"});

  // Malformed dates: not 4-2-2 digits, or not a calendar date.
  for (const char* bad : {"2026-2-10", "2026/02/10", "20260210", "2026-02-1x", "2025-02-29"}) {
    INFO(bad);
    auto q = MinimalProto(v1::FALLBACK_CAUSE_NO_DOCUMENT);
    q.set_date(bad);
    auto b = api::FromProto(q, kToday);
    REQUIRE_FALSE(b);
    CHECK(Fields(b.error()) == std::vector<std::string>{"date"});
  }
}

TEST_CASE("engine errors keep their reason and gain the proto path", "[fallback_mapping]") {
  // A card cause without the card, and 実日数 0: contradictions the engine finds.
  auto p = MinimalProto(v1::FALLBACK_CAUSE_IC_UNREADABLE);
  p.set_actual_days(0);
  auto c = api::FromProto(p, kToday);
  REQUIRE(c);
  auto d = fb::Decide(c.value());
  REQUIRE_FALSE(d);
  const auto e = api::ToApiError(d.error(), "fallback_case.");
  CHECK(e.reason == "INVALID_FALLBACK_CASE");
  CHECK(e.kind == core::ErrorKind::kInvalidArgument);
  CHECK(Fields(e) == std::vector<std::string>{"fallback_case.actual_days",
                                              "fallback_case.presented.my_number_card"});
  CHECK(e.message_ja.rfind("代替確認の入力内容に矛盾があります。", 0) == 0);
  CHECK(e.message_ja.find("実日数") != std::string::npos);
  CHECK(e.message_ja.find("提示された書類") != std::string::npos);

  // Within the certificate's grace: no fallback needed.
  auto g = MinimalProto(v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED);
  g.mutable_presented()->set_my_number_card(true);
  g.set_date("2025-12-10");
  g.set_certificate_expiry("2025-10-19");
  auto gc = api::FromProto(g, kToday);
  REQUIRE(gc);
  auto gd = fb::Decide(gc.value());
  REQUIRE_FALSE(gd);
  const auto ge = api::ToApiError(gd.error(), "fallback_case.");
  CHECK(ge.reason == "CERTIFICATE_IN_GRACE");
  CHECK(ge.kind == core::ErrorKind::kFailedPrecondition);
  CHECK(Fields(ge) == std::vector<std::string>{"fallback_case.certificate_expiry"});
  CHECK(ge.message_ja == gd.error().message_ja);

  // Anything else passes unchanged.
  core::DomainError other = core::Internal("boom");
  other.field_violations.push_back({"x", "y"});
  CHECK(Fields(api::ToApiError(other, "fallback_case.")) == std::vector<std::string>{"x"});
}

TEST_CASE("a decision maps to the response in the engine's order", "[fallback_mapping]") {
  // Smartphone only at a facility that cannot read phones: ① is the only method.
  auto p = MinimalProto(v1::FALLBACK_CAUSE_SMARTPHONE_NOT_SUPPORTED);
  p.mutable_presented()->set_smartphone(true);
  p.set_date("2026-02-10");
  p.set_age(v1::AGE_BRACKET_70_TO_74);
  auto c = api::FromProto(p, kToday);
  REQUIRE(c);
  auto d = fb::Decide(c.value());
  REQUIRE(d);
  const v1::EvaluateOptionsResponse r = api::ToProto(d.value());
  CHECK(r.engine_version() == "fallback-engine/2");
  REQUIRE(r.methods_size() == static_cast<int>(d->methods.size()));
  for (int i = 0; i < r.methods_size(); ++i) {
    const auto& m = r.methods(i);
    const auto& e = d->methods[static_cast<std::size_t>(i)];
    INFO(fb::MethodName(e.method));
    CHECK(m.method() == api::ToProto(e.method));
    CHECK(m.method_name_ja() == fb::MethodNameJa(e.method));
    CHECK(m.allowed() == e.allowed);
    CHECK(m.rule().id() == e.rule.id);
    CHECK(m.rule().source() == e.rule.source);
    CHECK(m.rule().reason() == e.rule.reason);
    CHECK(m.rule().reason_ja() == e.rule.reason_ja);
    if (e.allowed) {
      CHECK(m.leads_to() == api::ToProto(e.leads_to));
      CHECK(m.leads_to_name_ja() == fb::ClaimRouteNameJa(e.leads_to));
    } else {
      CHECK(m.leads_to() == v1::CLAIM_ROUTE_UNSPECIFIED);
      CHECK(m.leads_to_name_ja().empty());
    }
  }
  CHECK(r.methods(0).method() == v1::FALLBACK_METHOD_PORTAL_SCREEN);
  CHECK(r.methods(0).allowed());
  CHECK(r.methods(0).rule().id() == "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD");
  CHECK(r.methods(0).method_name_ja() == "マイナポータル資格情報画面");
  CHECK(r.first_choice() == v1::FALLBACK_METHOD_PORTAL_SCREEN);
  CHECK(r.charge() == v1::FALLBACK_CHARGE_NORMAL_RATIO);
  CHECK(r.charge_rule().id() == "NORMAL_RATIO");
  CHECK(r.charge_notes_size() == static_cast<int>(d->charge_notes.size()));
  // The echoed input is the case as decided.
  CHECK(google::protobuf::util::MessageDifferencer::Equals(r.input(), api::ToProto(c.value())));
  CHECK(r.input().date() == "2026-02-10");
}

TEST_CASE("POST /v1/fallback:evaluate is routed to FallbackService/EvaluateOptions",
          "[fallback_mapping]") {
  auto routes = api::RestRouteTable::Build(api::PublicServices());
  REQUIRE(routes);
  auto match = routes->Match("POST", "/v1/fallback:evaluate");
  REQUIRE(std::holds_alternative<api::RouteMatch>(match));
  const auto& m = std::get<api::RouteMatch>(match);
  CHECK(m.route->grpc_path == "/onshi.v1.FallbackService/EvaluateOptions");
  CHECK(m.route->body == "*");
  v1::EvaluateOptionsRequest req;
  REQUIRE(api::BuildRequestMessage(
              m, "", R"({"fallbackCase": {"cause": "FALLBACK_CAUSE_NO_DOCUMENT"}})", &req)
              .ok());
  CHECK(req.fallback_case().cause() == v1::FALLBACK_CAUSE_NO_DOCUMENT);
  // The policy: read scope, not audited (nothing is read from or stored in the daemon).
  const auto policies = api::ReadPolicies(
      v1::EvaluateOptionsRequest::descriptor()->file()->FindServiceByName("FallbackService"));
  REQUIRE(policies.count("EvaluateOptions") == 1);
  CHECK(policies.at("EvaluateOptions").scope == app::Scope::kRead);
  CHECK_FALSE(policies.at("EvaluateOptions").audited);
}
