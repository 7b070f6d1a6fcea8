// onshi.v1.FallbackService messages ⇄ the fallback decision engine (api/fallback_mapping.h):
// every enum value both ways, the whole case both ways with its defaults, every bad input named by
// its proto field path, and the decision as the response; for the fallback cases, the 申立書 both
// ways, the evidence and the other requests with every unreadable field named by its request
// path, the case view as the record, and the routes and policies of the case methods.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "api/checkin_mapping.h"
#include "api/fallback_mapping.h"
#include "api/rest_routes.h"
#include "api/server.h"

namespace {

using namespace onshid;
namespace fb = core::fallback;
namespace v1 = onshi::v1;
using C = fb::FallbackCause;

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

const std::vector<C> kAllCauses(core::kAllFallbackCauses.begin(), core::kAllFallbackCauses.end());

const std::vector<fb::ClaimRoute> kAllRoutes = {fb::ClaimRoute::kCurrent,
                                                fb::ClaimRoute::kOldEligibility,
                                                fb::ClaimRoute::kUnknown,
                                                fb::ClaimRoute::kConfirmLater,
                                                fb::ClaimRoute::kSelfPay};

// A case with every field away from its default.
fb::FallbackCase FullCase() {
  fb::FallbackCase c;
  c.cause = C::kCertificateExpired;
  c.presented = {core::Document::kMyNumberCard, core::Document::kMyNumberSmartphone,
                 core::Document::kQualificationCertificateCard,
                 core::Document::kHealthInsuranceCard, core::Document::kQualificationNotice};
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
  c.set_visit(v1::VISIT_KIND_FIRST_VISIT);
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
  // The visit is the shared VisitKind (reception_mapping.h), the check-in's own.
  CheckRoundTrip<v1::VisitKind>(
      v1::VisitKind_descriptor(),
      std::vector<fb::VisitKind>{fb::VisitKind::kFirstVisit, fb::VisitKind::kRevisit},
      Plain<v1::VisitKind>());

  // UNSPECIFIED: refused, except NewbornStatus (not stated = not a newborn).
  CHECK_FALSE(api::FromProto(v1::FALLBACK_CAUSE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::AGE_BRACKET_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::KNOWN_ELIGIBILITY_SOURCE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::FALLBACK_METHOD_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::FALLBACK_CHARGE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::CLAIM_ROUTE_UNSPECIFIED).has_value());
  CHECK_FALSE(api::FromProto(v1::VISIT_KIND_UNSPECIFIED).has_value());
  CHECK(api::FromProto(v1::NEWBORN_STATUS_UNSPECIFIED) == std::optional(fb::Newborn::kNo));
}

TEST_CASE("fallback proto enum names are the engine's stable names with a prefix",
          "[fallback_mapping]") {
  for (C c : kAllCauses) {
    CHECK(v1::FallbackCause_Name(api::ToProto(c)) ==
          "FALLBACK_CAUSE_" + std::string(core::ToString(c)));
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
  CHECK(p.visit() == v1::VISIT_KIND_REVISIT);
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
  CHECK(c->presented.Empty());
  CHECK(c->known_eligibilities.empty());
  CHECK_FALSE(c->certificate_expiry.has_value());

  // From lowerCamelCase JSON, as the REST gateway parses it.
  v1::EvaluateOptionsRequest req;
  REQUIRE(google::protobuf::util::JsonStringToMessage(
              R"({"fallbackCase": {"cause": "FALLBACK_CAUSE_RESULT_INVALID",
                  "presented": ["DOCUMENT_MY_NUMBER_CARD"], "visit": "VISIT_KIND_REVISIT",
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
  CHECK(j->presented.HasMyNumberCard());
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
                                              "fallback_case.presented"});
  CHECK(e.message_ja.rfind("代替確認の入力内容に矛盾があります。", 0) == 0);
  CHECK(e.message_ja.find("実日数") != std::string::npos);
  CHECK(e.message_ja.find("提示された書類") != std::string::npos);

  // Within the certificate's grace: no fallback needed.
  auto g = MinimalProto(v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED);
  g.add_presented(v1::DOCUMENT_MY_NUMBER_CARD);
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
  p.add_presented(v1::DOCUMENT_MY_NUMBER_SMARTPHONE);
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

// --- Fallback cases ----------------------------------------------------------------------------

namespace {

// A 申立書 with every field away from its default.
fb::InsuranceStatement FullStatement() {
  fb::InsuranceStatement s;
  s.has_valid_insurance = true;
  s.insurance_type = fb::InsuranceType::kKokuho;
  s.kokuho_union = true;
  s.insurer_name = "テスト国民健康保険組合";
  s.employer_name = "テスト商事株式会社";
  s.issued_when = fb::IssuedWhen::kWithinOneMonth;
  s.declared_ratio = fb::DeclaredRatio::kTwo;
  s.name = "試験　花子";
  s.furigana = "シケン　ハナコ";
  s.birth_date = fb::WarekiDate{fb::Era::kShowa, 55, 1, 15};
  s.sex = fb::DeclaredSex::kFemale;
  s.address = "東京都千代田区霞が関1-2-2";
  s.other_address = "東京都港区芝公園1-1-1";
  s.written_on = D("20260210");
  s.signed_by_patient_or_guardian = true;
  s.signed_by_guardian = true;
  s.guardian_relationship = "母";
  s.phone = "03-1234-5678";
  return s;
}

void CheckEveryFieldSet(const google::protobuf::Message& m) {
  const auto* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    INFO(f->name());
    if (f->is_repeated()) {
      CHECK(m.GetReflection()->FieldSize(m, f) > 0);
    } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_BOOL) {
      CHECK(m.GetReflection()->GetBool(m, f));
    } else {
      CHECK(m.GetReflection()->HasField(m, f));
    }
  }
}

// Every value of a 申立書 enum, UNSPECIFIED included (= the core's kUnset), both ways; unknown
// numbers are refused.
template <typename Proto, typename Core>
void CheckFormEnum(const google::protobuf::EnumDescriptor* d, const std::vector<Core>& all) {
  CHECK(static_cast<int>(all.size()) == d->value_count());
  for (Core c : all) {
    const auto proto = api::ToProto(c);
    CHECK(api::FromProto(proto) == std::optional<Core>(c));
  }
  for (int i = 0; i < d->value_count(); ++i) {
    INFO(d->value(i)->name());
    const auto core_value = api::FromProto(static_cast<Proto>(d->value(i)->number()));
    REQUIRE(core_value.has_value());
    CHECK(static_cast<int>(api::ToProto(*core_value)) == d->value(i)->number());
  }
  CHECK(static_cast<int>(api::ToProto(all.front())) == 0);  // kUnset is UNSPECIFIED
  CHECK_FALSE(api::FromProto(static_cast<Proto>(999)).has_value());
}

v1::FallbackEvidence ValidEvidence() {
  v1::FallbackEvidence e;
  e.set_kind(v1::FALLBACK_EVIDENCE_KIND_METHOD_APPLIED);
  e.set_method(v1::FALLBACK_METHOD_PORTAL_SCREEN);
  e.set_staff_id("staff-7");
  return e;
}

}  // namespace

TEST_CASE("fallback case enums map to their proto values and back", "[fallback_mapping]") {
  CheckRoundTrip<v1::Era>(v1::Era_descriptor(),
                          std::vector<fb::Era>{fb::Era::kMeiji, fb::Era::kTaisho, fb::Era::kShowa,
                                               fb::Era::kHeisei, fb::Era::kReiwa},
                          Plain<v1::Era>());
  CHECK_FALSE(api::FromProto(v1::ERA_UNSPECIFIED).has_value());
  CheckRoundTrip<v1::FallbackEvidenceKind>(
      v1::FallbackEvidenceKind_descriptor(),
      std::vector<app::EvidenceKind>{app::EvidenceKind::kMethodApplied,
                                     app::EvidenceKind::kCardFace,
                                     app::EvidenceKind::kPatientContacted,
                                     app::EvidenceKind::kEligibilityFound},
      Plain<v1::FallbackEvidenceKind>());
  CHECK_FALSE(api::FromProto(v1::FALLBACK_EVIDENCE_KIND_UNSPECIFIED).has_value());
  CheckFormEnum<v1::InsuranceType>(
      v1::InsuranceType_descriptor(),
      std::vector<fb::InsuranceType>{fb::InsuranceType::kUnset, fb::InsuranceType::kShaho,
                                     fb::InsuranceType::kKokuho, fb::InsuranceType::kKouki,
                                     fb::InsuranceType::kOther, fb::InsuranceType::kUnknown});
  CheckFormEnum<v1::IssuedWhen>(
      v1::IssuedWhen_descriptor(),
      std::vector<fb::IssuedWhen>{fb::IssuedWhen::kUnset, fb::IssuedWhen::kWithinOneMonth,
                                  fb::IssuedWhen::kEarlier, fb::IssuedWhen::kUnknown});
  CheckFormEnum<v1::DeclaredRatio>(
      v1::DeclaredRatio_descriptor(),
      std::vector<fb::DeclaredRatio>{fb::DeclaredRatio::kUnset, fb::DeclaredRatio::kThree,
                                     fb::DeclaredRatio::kTwo, fb::DeclaredRatio::kOne,
                                     fb::DeclaredRatio::kUnknown});
  CheckFormEnum<v1::DeclaredSex>(
      v1::DeclaredSex_descriptor(),
      std::vector<fb::DeclaredSex>{fb::DeclaredSex::kUnset, fb::DeclaredSex::kMale,
                                   fb::DeclaredSex::kFemale});

  // Every reverify state has its own value; the app's strings map to the enums.
  for (auto s : {app::ReverifyState::kNone, app::ReverifyState::kQueued, app::ReverifyState::kSent,
                 app::ReverifyState::kDone, app::ReverifyState::kGaveUp}) {
    CHECK(api::ToProto(s) != v1::FALLBACK_REVERIFY_STATE_UNSPECIFIED);
  }
  CHECK(api::ToProto(app::ReverifyState::kGaveUp) == v1::FALLBACK_REVERIFY_STATE_GAVE_UP);
  CHECK(api::CaseStateFromString("OPEN") == v1::FALLBACK_CASE_STATE_OPEN);
  CHECK(api::CaseStateFromString("CLOSED") == v1::FALLBACK_CASE_STATE_CLOSED);
  CHECK(api::CaseStateFromString("") == v1::FALLBACK_CASE_STATE_UNSPECIFIED);
  CHECK(api::CaseStateFromString("SOMETHING_NEW") == v1::FALLBACK_CASE_STATE_UNSPECIFIED);
  CHECK(api::CloseReasonFromString("VERIFIED_ONLINE") == v1::FALLBACK_CLOSE_REASON_VERIFIED_ONLINE);
  CHECK(api::CloseReasonFromString("CLAIM_WORK_FINISHED") ==
        v1::FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED);
  CHECK(api::CloseReasonFromString("") == v1::FALLBACK_CLOSE_REASON_UNSPECIFIED);
  CHECK(api::TaskStateFromString("CANCELLED") == v1::FALLBACK_TASK_STATE_CANCELLED);
  CHECK(api::OralAnswererFromString("GUARDIAN") == v1::ORAL_ANSWERER_GUARDIAN);
  CHECK(api::OralAnswererFromString("") == v1::ORAL_ANSWERER_UNSPECIFIED);
}

TEST_CASE("a 申立書 maps to its proto and back with every field", "[fallback_mapping]") {
  const fb::InsuranceStatement s = FullStatement();
  const v1::InsuranceStatement p = api::ToProto(s);
  CheckEveryFieldSet(p);
  CHECK(p.insurance_type() == v1::INSURANCE_TYPE_KOKUHO);
  CHECK(p.issued_when() == v1::ISSUED_WHEN_WITHIN_ONE_MONTH);
  CHECK(p.declared_ratio() == v1::DECLARED_RATIO_TWO_WARI);
  CHECK(p.sex() == v1::DECLARED_SEX_FEMALE);
  CHECK(p.birth_date().era() == v1::ERA_SHOWA);
  CHECK(p.birth_date().year() == 55);
  CHECK(p.birth_date().month() == 1);
  CHECK(p.birth_date().day() == 15);
  CHECK(p.written_on() == "2026-02-10");

  auto back = api::FromProto(p, "evidence.statement.");
  if (!back) FAIL(back.error().message);
  const fb::InsuranceStatement& b = back.value();
  CHECK(b.has_valid_insurance == s.has_valid_insurance);
  CHECK(b.insurance_type == s.insurance_type);
  CHECK(b.kokuho_union == s.kokuho_union);
  CHECK(b.insurer_name == s.insurer_name);
  CHECK(b.employer_name == s.employer_name);
  CHECK(b.issued_when == s.issued_when);
  CHECK(b.declared_ratio == s.declared_ratio);
  CHECK(b.name == s.name);
  CHECK(b.furigana == s.furigana);
  REQUIRE(b.birth_date.has_value());
  CHECK(b.birth_date->era == fb::Era::kShowa);
  CHECK(b.birth_date->year == 55);
  CHECK(b.birth_date->month == 1);
  CHECK(b.birth_date->day == 15);
  CHECK(b.sex == s.sex);
  CHECK(b.address == s.address);
  CHECK(b.other_address == s.other_address);
  CHECK(b.written_on == s.written_on);
  CHECK(b.signed_by_patient_or_guardian == s.signed_by_patient_or_guardian);
  CHECK(b.signed_by_guardian == s.signed_by_guardian);
  CHECK(b.guardian_relationship == s.guardian_relationship);
  CHECK(b.phone == s.phone);
  CHECK_FALSE(b.disposed_on.has_value());
  // And once more to the proto: nothing lost on the way.
  CHECK(google::protobuf::util::MessageDifferencer::Equals(api::ToProto(b), p));
  // The mapped form is the one the core accepts.
  CHECK(fb::Validate(b).ok());

  // An empty form reads as nothing ticked (the 申立書 check names what is missing), not as an
  // error of the mapping.
  auto empty = api::FromProto(v1::InsuranceStatement{}, "evidence.statement.");
  REQUIRE(empty);
  CHECK(empty->insurance_type == fb::InsuranceType::kUnset);
  CHECK(empty->sex == fb::DeclaredSex::kUnset);
  CHECK_FALSE(empty->birth_date.has_value());
  CHECK_FALSE(empty->written_on.has_value());

  // From proto JSON, as onshictl --statement-json and the REST gateway read it.
  v1::InsuranceStatement j;
  REQUIRE(google::protobuf::util::JsonStringToMessage(
              R"({"hasValidInsurance": true, "insuranceType": "INSURANCE_TYPE_SHAHO",
                  "employerName": "テスト商事", "name": "試験　太郎", "furigana": "シケン　タロウ",
                  "birthDate": {"era": "ERA_HEISEI", "year": 1, "month": 1, "day": 8},
                  "sex": "DECLARED_SEX_MALE", "address": "東京都", "writtenOn": "2026-02-10",
                  "signedByPatientOrGuardian": true, "phone": "09012345678"})",
              &j)
              .ok());
  auto js = api::FromProto(j, "evidence.statement.");
  REQUIRE(js);
  CHECK(js->birth_date->era == fb::Era::kHeisei);
  CHECK(js->birth_date->year == 1);
  CHECK(fb::Validate(js.value()).ok());
}

TEST_CASE("every unreadable evidence field is named by its request path", "[fallback_mapping]") {
  v1::FallbackEvidence e;  // kind missing
  e.set_method(static_cast<v1::FallbackMethod>(99));
  e.mutable_eligibility()->set_ratio_wari(5);
  e.mutable_oral()->set_held_eligibility_index(-1);  // answered_by missing
  auto* s = e.mutable_statement();
  s->set_insurance_type(static_cast<v1::InsuranceType>(42));
  s->set_issued_when(static_cast<v1::IssuedWhen>(9));
  s->set_declared_ratio(static_cast<v1::DeclaredRatio>(9));
  s->mutable_birth_date()->set_year(55);  // era missing
  s->set_sex(static_cast<v1::DeclaredSex>(7));
  s->set_written_on("2026-13-01");
  e.set_amount_collected_yen(-1);
  e.mutable_card_face()->set_sex(static_cast<v1::DeclaredSex>(9));
  e.mutable_card_face()->set_birth_date("1980/01/01");
  e.set_contacted_on("2026-02-30");
  auto r = api::FromProto(e, "evidence.");
  REQUIRE_FALSE(r);
  const auto& err = r.error();
  CHECK(err.kind == core::ErrorKind::kInvalidArgument);
  CHECK(err.reason == "INVALID_EVIDENCE");
  CHECK(Fields(err) ==
        std::vector<std::string>{
            "evidence.kind", "evidence.method", "evidence.eligibility.ratio_wari",
            "evidence.oral.answered_by", "evidence.oral.held_eligibility_index",
            "evidence.statement.insurance_type", "evidence.statement.issued_when",
            "evidence.statement.declared_ratio", "evidence.statement.birth_date.era",
            "evidence.statement.sex", "evidence.statement.written_on",
            "evidence.amount_collected_yen", "evidence.card_face.sex",
            "evidence.card_face.birth_date", "evidence.contacted_on"});
  for (const auto& v : err.field_violations) CHECK_FALSE(v.description.empty());
  CHECK(err.message_ja.rfind("記録する内容に不足または誤りがあります。", 0) == 0);
  for (const char* label : {"記録の種類", "実施した確認方法", "確認した資格情報", "口頭確認の内容",
                            "被保険者資格申立書", "徴収額", "券面事項", "患者へ連絡した日"}) {
    INFO(label);
    CHECK(err.message_ja.find(label) != std::string::npos);
  }
  // No submitted value is repeated.
  CHECK(err.message.find("2026-02-30") == std::string::npos);
  CHECK(err.message.find("1980/01/01") == std::string::npos);
  for (const auto& v : err.field_violations) {
    CHECK(v.description.find("2026-13-01") == std::string::npos);
  }

  // Required enums left UNSPECIFIED, one at a time.
  {
    v1::FallbackEvidence m = ValidEvidence();
    m.clear_method();  // METHOD_APPLIED needs its method
    auto b = api::FromProto(m);
    REQUIRE_FALSE(b);
    CHECK(Fields(b.error()) == std::vector<std::string>{"evidence.method"});
  }
  {
    v1::FallbackEvidence m = ValidEvidence();
    m.set_kind(v1::FALLBACK_EVIDENCE_KIND_UNSPECIFIED);
    auto b = api::FromProto(m);
    REQUIRE_FALSE(b);
    CHECK(Fields(b.error()) == std::vector<std::string>{"evidence.kind"});
  }
  {
    v1::FallbackEvidence m = ValidEvidence();
    m.set_kind(static_cast<v1::FallbackEvidenceKind>(12));
    auto b = api::FromProto(m);
    REQUIRE_FALSE(b);
    CHECK(Fields(b.error()) == std::vector<std::string>{"evidence.kind"});
  }
  {
    v1::FallbackEvidence m = ValidEvidence();
    m.mutable_oral()->set_answered_by(static_cast<v1::OralAnswerer>(8));
    auto b = api::FromProto(m);
    REQUIRE_FALSE(b);
    CHECK(Fields(b.error()) == std::vector<std::string>{"evidence.oral.answered_by"});
  }
  {
    v1::FallbackEvidence m = ValidEvidence();
    *m.mutable_statement() = api::ToProto(FullStatement());
    m.mutable_statement()->mutable_birth_date()->set_era(v1::ERA_UNSPECIFIED);
    auto b = api::FromProto(m);
    REQUIRE_FALSE(b);
    CHECK(Fields(b.error()) == std::vector<std::string>{"evidence.statement.birth_date.era"});
    m.mutable_statement()->mutable_birth_date()->set_era(static_cast<v1::Era>(6));
    auto u = api::FromProto(m);
    REQUIRE_FALSE(u);
    CHECK(Fields(u.error()) == std::vector<std::string>{"evidence.statement.birth_date.era"});
    // The statement alone, under the caller's prefix.
    auto alone = api::FromProto(m.statement(), "statement.");
    REQUIRE_FALSE(alone);
    CHECK(alone.error().reason == "INVALID_EVIDENCE");
    CHECK(Fields(alone.error()) == std::vector<std::string>{"statement.birth_date.era"});
  }
  // Malformed dates.
  for (const char* bad : {"2026-2-10", "2026/02/10", "20260210", "2025-02-29", " 2026-02-10"}) {
    INFO(bad);
    v1::FallbackEvidence m = ValidEvidence();
    m.set_contacted_on(bad);
    auto b = api::FromProto(m);
    REQUIRE_FALSE(b);
    CHECK(Fields(b.error()) == std::vector<std::string>{"evidence.contacted_on"});
  }
}

TEST_CASE("evidence maps to the use case's input", "[fallback_mapping]") {
  v1::FallbackEvidence e = ValidEvidence();
  auto* k = e.mutable_eligibility();
  k->set_source(v1::KNOWN_ELIGIBILITY_SOURCE_PAST_VISITS);  // ignored: what staff saw is confirmed
  k->mutable_identifiers()->set_insurer_number("06139992");
  k->mutable_identifiers()->set_insured_card_symbol("AB");
  k->mutable_identifiers()->set_insured_identification_number("1234");
  k->mutable_identifiers()->set_insured_branch_number("01");
  k->set_insurer_name("テスト健康保険組合");
  k->set_ratio_wari(3);
  e.set_portal_pdf(true);
  e.mutable_oral()->set_answered_by(v1::ORAL_ANSWERER_FAMILY);
  e.mutable_oral()->set_no_change_confirmed(true);
  e.mutable_oral()->set_held_eligibility_index(1);
  *e.mutable_statement() = api::ToProto(FullStatement());
  e.set_amount_collected_yen(0);
  auto* f = e.mutable_card_face();
  f->set_name("試験　花子");
  f->set_sex(v1::DECLARED_SEX_FEMALE);
  f->set_birth_date("1980-01-15");
  f->set_address("東京都");
  f->set_insurer_name("協会けんぽ");
  e.set_contacted_on("2026-02-12");
  auto r = api::FromProto(e);
  if (!r) FAIL(r.error().message);
  const app::EvidenceInput& in = r.value();
  CHECK(in.kind == app::EvidenceKind::kMethodApplied);
  CHECK(in.method == std::optional(fb::Method::kPortalScreen));
  CHECK(in.staff_id == "staff-7");
  REQUIRE(in.eligibility.has_value());
  CHECK(in.eligibility->source == fb::KnownEligibility::Source::kConfirmed);
  CHECK(in.eligibility->insurer_number == "06139992");
  CHECK(in.eligibility->symbol == "AB");
  CHECK(in.eligibility->number == "1234");
  CHECK(in.eligibility->branch == "01");
  CHECK(in.eligibility->insurer_name == "テスト健康保険組合");
  CHECK(in.eligibility->ratio_wari == std::optional(3));
  CHECK(in.portal_pdf);
  REQUIRE(in.oral.has_value());
  CHECK(in.oral->answered_by == "FAMILY");
  CHECK(in.oral->no_change_confirmed);
  CHECK(in.oral->held_eligibility_index == 1);
  REQUIRE(in.statement.has_value());
  CHECK(in.statement->phone == "03-1234-5678");
  CHECK(in.amount_collected_yen == std::optional(0));  // 0 yen is a value, not "absent"
  REQUIRE(in.card_face.has_value());
  CHECK(in.card_face->name == "試験　花子");
  CHECK(in.card_face->sex == fb::DeclaredSex::kFemale);
  CHECK(in.card_face->birth_date == std::optional(D("19800115")));
  CHECK(in.card_face->address == "東京都");
  CHECK(in.card_face->insurer_name == "協会けんぽ");
  CHECK(in.contacted_on == std::optional(D("20260212")));

  // Absent sub-messages stay absent.
  auto bare = api::FromProto(ValidEvidence());
  REQUIRE(bare);
  CHECK_FALSE(bare->eligibility.has_value());
  CHECK_FALSE(bare->oral.has_value());
  CHECK_FALSE(bare->statement.has_value());
  CHECK_FALSE(bare->card_face.has_value());
  CHECK_FALSE(bare->amount_collected_yen.has_value());
  CHECK_FALSE(bare->contacted_on.has_value());
  // Kinds other than METHOD_APPLIED need no method.
  v1::FallbackEvidence contacted;
  contacted.set_kind(v1::FALLBACK_EVIDENCE_KIND_PATIENT_CONTACTED);
  contacted.set_contacted_on("2026-02-12");
  auto c = api::FromProto(contacted);
  REQUIRE(c);
  CHECK(c->kind == app::EvidenceKind::kPatientContacted);
  CHECK_FALSE(c->method.has_value());
}

TEST_CASE("case requests map to the use cases' inputs, bad fields named", "[fallback_mapping]") {
  // OpenCase: the inputs, or a check-in, or both.
  v1::OpenCaseRequest open;
  auto none = api::FromProto(open, "desk/req-1", kToday);
  REQUIRE_FALSE(none);
  CHECK(none.error().reason == "INVALID_FALLBACK_CASE");
  CHECK(Fields(none.error()) == std::vector<std::string>{"fallback_case"});
  open.set_check_in_id("ci_1");
  auto by_checkin = api::FromProto(open, "desk/req-1", kToday);
  REQUIRE(by_checkin);
  CHECK(by_checkin->client_key == "desk/req-1");
  CHECK(by_checkin->check_in_id == "ci_1");
  CHECK_FALSE(by_checkin->input.has_value());
  *open.mutable_fallback_case() = MinimalProto(v1::FALLBACK_CAUSE_NETWORK_ERROR);
  auto both = api::FromProto(open, "desk/req-1", kToday);
  REQUIRE(both);
  REQUIRE(both->input.has_value());
  CHECK(both->input->cause == C::kNetworkError);
  CHECK(both->input->date == std::optional(kToday));
  open.mutable_fallback_case()->clear_age();
  auto bad_case = api::FromProto(open, "desk/req-1", kToday);
  REQUIRE_FALSE(bad_case);
  CHECK(Fields(bad_case.error()) == std::vector<std::string>{"fallback_case.age"});
  open.set_check_in_id("bad id");
  auto bad_id = api::FromProto(open, "desk/req-1", kToday);
  REQUIRE_FALSE(bad_id);
  CHECK(Fields(bad_id.error()) == std::vector<std::string>{"check_in_id"});

  // ChooseClaimRoute: UNSPECIFIED is no expectation; unknown numbers are refused.
  v1::ChooseClaimRouteRequest route;
  auto any = api::FromProto(route);
  REQUIRE(any);
  CHECK_FALSE(any->expected.has_value());
  CHECK_FALSE(any->actual_days_at_claim.has_value());
  route.set_expected_route(v1::CLAIM_ROUTE_UNKNOWN);
  route.set_actual_days_at_claim(3);
  auto fusho = api::FromProto(route);
  REQUIRE(fusho);
  CHECK(fusho->expected == std::optional(fb::ClaimRoute::kUnknown));
  CHECK(fusho->actual_days_at_claim == std::optional(3));
  route.set_expected_route(static_cast<v1::ClaimRoute>(17));
  auto bad_route = api::FromProto(route);
  REQUIRE_FALSE(bad_route);
  CHECK(bad_route.error().kind == core::ErrorKind::kInvalidArgument);
  CHECK(Fields(bad_route.error()) == std::vector<std::string>{"expected_route"});

  // CloseCase: the reason is required, and the daemon's own reason is not the caller's.
  v1::CloseCaseRequest close;
  for (auto reason : {v1::FALLBACK_CLOSE_REASON_UNSPECIFIED,
                      v1::FALLBACK_CLOSE_REASON_VERIFIED_ONLINE,
                      static_cast<v1::FallbackCloseReason>(9)}) {
    close.set_reason(reason);
    auto c = api::FromProto(close);
    REQUIRE_FALSE(c);
    CHECK(c.error().reason == "INVALID_CLOSE_REASON");
    CHECK(Fields(c.error()) == std::vector<std::string>{"reason"});
    CHECK_FALSE(c.error().message_ja.empty());
  }
  close.set_reason(v1::FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED);
  close.set_keep_personal_data(true);
  auto finished = api::FromProto(close);
  REQUIRE(finished);
  CHECK(finished->reason == "CLAIM_WORK_FINISHED");
  CHECK(finished->keep_personal_data);
  close.set_reason(v1::FALLBACK_CLOSE_REASON_CANCELLED);
  CHECK(api::FromProto(close)->reason == "CANCELLED");

  // ListCases.
  v1::ListCasesRequest list;
  auto all = api::FromProto(list);
  REQUIRE(all);
  CHECK_FALSE(all->state.has_value());
  CHECK_FALSE(all->day.has_value());
  CHECK_FALSE(all->check_in_id.has_value());
  CHECK(all->limit == 200);
  list.set_state(v1::FALLBACK_CASE_STATE_OPEN);
  list.set_day("2026-02-10");
  list.set_check_in_id("ci_1");
  list.set_limit(5);
  auto some = api::FromProto(list);
  REQUIRE(some);
  CHECK(some->state == std::optional<std::string>("OPEN"));
  CHECK(some->day == std::optional<std::string>("2026-02-10"));
  CHECK(some->check_in_id == std::optional<std::string>("ci_1"));
  CHECK(some->limit == 5);
  auto bad_list = [](auto mutate) {
    v1::ListCasesRequest req;
    mutate(req);
    auto f = api::FromProto(req);
    REQUIRE_FALSE(f);
    CHECK(f.error().reason == "INVALID_FALLBACK_FILTER");
    return Fields(f.error());
  };
  CHECK(bad_list([](auto& q) { q.set_state(static_cast<v1::FallbackCaseState>(5)); }) ==
        std::vector<std::string>{"state"});
  CHECK(bad_list([](auto& q) { q.set_day("10/02/2026"); }) == std::vector<std::string>{"day"});
  CHECK(bad_list([](auto& q) { q.set_check_in_id("a b"); }) ==
        std::vector<std::string>{"check_in_id"});
  CHECK(bad_list([](auto& q) { q.set_limit(1001); }) == std::vector<std::string>{"limit"});
  CHECK(bad_list([](auto& q) { q.set_limit(-1); }) == std::vector<std::string>{"limit"});

  // ListTasks.
  v1::ListTasksRequest tasks;
  tasks.set_case_id("fb_1");
  tasks.set_state(v1::FALLBACK_TASK_STATE_OPEN);
  tasks.set_due_on_or_before("2026-03-01");
  auto q = api::FromProto(tasks);
  REQUIRE(q);
  CHECK(q->case_id == std::optional<std::string>("fb_1"));
  CHECK(q->state == std::optional<std::string>("OPEN"));
  CHECK(q->due_on_or_before == std::optional<std::string>("2026-03-01"));
  CHECK(q->limit == 200);
  tasks.set_due_on_or_before("2026-03-32");
  auto bad_due = api::FromProto(tasks);
  REQUIRE_FALSE(bad_due);
  CHECK(Fields(bad_due.error()) == std::vector<std::string>{"due_on_or_before"});
  v1::ListTasksRequest bad_state;
  bad_state.set_state(static_cast<v1::FallbackTaskState>(8));
  auto bs = api::FromProto(bad_state);
  REQUIRE_FALSE(bs);
  CHECK(Fields(bs.error()) == std::vector<std::string>{"state"});

  // CompleteTask's outcome: UNSPECIFIED is DONE.
  CHECK(api::TaskOutcomeFromProto(v1::FALLBACK_TASK_OUTCOME_UNSPECIFIED).value() == "DONE");
  CHECK(api::TaskOutcomeFromProto(v1::FALLBACK_TASK_OUTCOME_DONE).value() == "DONE");
  CHECK(api::TaskOutcomeFromProto(v1::FALLBACK_TASK_OUTCOME_CLAIM_RETURNED).value() ==
        "CLAIM_RETURNED");
  auto bad_outcome = api::TaskOutcomeFromProto(static_cast<v1::FallbackTaskOutcome>(3));
  REQUIRE_FALSE(bad_outcome);
  CHECK(Fields(bad_outcome.error()) == std::vector<std::string>{"outcome"});

  // Ids named by the caller.
  CHECK_FALSE(api::CheckCaseId("fb_01").has_value());
  for (const std::string& bad : {std::string(), std::string("fb 1"), std::string(129, 'a')}) {
    auto e = api::CheckCaseId(bad);
    REQUIRE(e.has_value());
    CHECK(e->reason == "INVALID_CASE_ID");
    CHECK(Fields(*e) == std::vector<std::string>{"case_id"});
  }
  REQUIRE(api::CheckTaskId("").has_value());
  CHECK(Fields(*api::CheckTaskId("")) == std::vector<std::string>{"task_id"});
  CHECK(api::CaseSubject("fb_1") == "fallback_case:fb_1");
  CHECK(api::TaskSubject("tk_1") == "fallback_task:tk_1");
  const auto unavailable = api::FallbackCasesUnavailable();
  CHECK(unavailable.kind == core::ErrorKind::kFailedPrecondition);
  CHECK(unavailable.reason == "FALLBACK_CASES_UNAVAILABLE");
  CHECK_FALSE(unavailable.message_ja.empty());
}

TEST_CASE("a case view maps to the record with every field", "[fallback_mapping]") {
  using namespace std::chrono_literals;
  const core::SystemTime t0 = core::SystemTime{} + 1770000000s;

  auto p = MinimalProto(v1::FALLBACK_CAUSE_RESULT_INVALID);
  p.add_presented(v1::DOCUMENT_MY_NUMBER_CARD);
  p.set_date("2026-02-10");
  auto* k = p.add_known_eligibilities();
  k->set_source(v1::KNOWN_ELIGIBILITY_SOURCE_INVALID_RESULT);
  k->mutable_identifiers()->set_insurer_number("06139992");
  auto input = api::FromProto(p, kToday);
  REQUIRE(input);
  auto decision = fb::Decide(input.value());
  REQUIRE(decision);

  app::FallbackCaseView v;
  v.id = "fb_1";
  v.version = 4;
  v.check_in_id = "ci_1";
  v.state = "CLOSED";
  v.day = "2026-02-10";
  v.opened_at = t0;
  v.updated_at = t0 + 60s;
  v.closed_at = t0 + 120s;
  v.opened_by = "onshid";
  v.close_reason = "CLAIM_WORK_FINISHED";
  v.input = input.value();
  v.unconfirmed_facts = {"age", "visit"};
  v.decision = decision.value();
  // As Decide reports it (paths relative to the case).
  v.decision_error = fb::Decide([] {
                       fb::FallbackCase c;
                       c.cause = C::kIcUnreadable;  // without the card: a contradiction
                       c.date = D("20260210");
                       return c;
                     }())
                         .error();
  app::CaseEvidence ev;
  ev.seq = 1;
  ev.kind = app::EvidenceKind::kMethodApplied;
  ev.method = fb::Method::kPortalScreen;
  ev.staff_id = "staff-7";
  ev.at = t0 + 30s;
  ev.rule_id = "PORTAL_SCREEN_WITH_CARD";
  ev.eligibility_recorded = true;
  ev.statement_recorded = true;
  ev.card_face_recorded = true;
  ev.amount_collected_yen = 1200;
  ev.contacted_on = "2026-02-11";
  ev.oral_answered_by = "PATIENT";
  v.evidence = {ev};
  app::ClaimSummary claim;
  claim.route = fb::ClaimRoute::kOldEligibility;
  claim.rule = {"OLD_ELIGIBILITY_KNOWN", "seed 003 p.14", "claim with the old one", "旧資格で請求"};
  claim.notes = {{"CONTACT_THE_PATIENT", "seed 003 p.18", "contact", "患者へ連絡"}};
  claim.engine_version = "fallback-engine/2";
  claim.chosen_at = t0 + 90s;
  claim.chosen_by = "desk";
  v.claim = claim;
  v.tekiyo = "不詳\nシケン　ハナコ";
  fb::KnownEligibility confirmed;
  confirmed.source = fb::KnownEligibility::Source::kConfirmed;
  confirmed.insurer_number = "01130012";
  confirmed.ratio_wari = 3;
  v.confirmed = confirmed;
  v.has_personal_data = true;
  v.purged_at = t0 + 150s;
  v.reverify = app::ReverifyState::kQueued;
  v.reverify_attempts = 2;
  fb::Task task;
  task.id = "tk_1";
  task.case_id = "fb_1";
  task.kind = "CONTACT_PATIENT";
  task.state = "DONE";
  task.due_day = "2026-02-17";
  task.created_at = t0 + 30s;
  task.done_at = t0 + 100s;
  task.done_by = "staff-7";
  v.tasks = {task};

  const v1::FallbackCaseRecord r = api::ToProto(v);
  CheckEveryFieldSet(r);  // a field added to the record but not mapped shows here
  CHECK(r.case_id() == "fb_1");
  CHECK(r.version() == 4);
  CHECK(r.state() == v1::FALLBACK_CASE_STATE_CLOSED);
  CHECK(r.close_reason() == v1::FALLBACK_CLOSE_REASON_CLAIM_WORK_FINISHED);
  CHECK(api::FromTimestamp(r.closed_at()) == t0 + 120s);
  CHECK(google::protobuf::util::MessageDifferencer::Equals(r.input(), api::ToProto(v.input)));
  CHECK(r.input().known_eligibilities(0).identifiers().insurer_number() == "06139992");
  CHECK(r.unconfirmed_facts_size() == 2);
  // The decision is filled by the same code as EvaluateOptions, and is wire-compatible with it.
  v1::EvaluateOptionsResponse evaluated = api::ToProto(decision.value());
  evaluated.clear_input();
  v1::FallbackDecision same;
  REQUIRE(same.ParseFromString(evaluated.SerializeAsString()));
  CHECK(google::protobuf::util::MessageDifferencer::Equals(r.decision(), same));
  CHECK(google::protobuf::util::MessageDifferencer::Equals(
      r.decision(), api::ToDecisionProto(decision.value())));
  CHECK(r.decision().first_choice() == api::ToProto(decision->first_choice));
  // The decision error with the record's paths.
  CHECK(r.decision_error().reason() == "INVALID_FALLBACK_CASE");
  REQUIRE(r.decision_error().field_violations_size() > 0);
  for (const auto& fv : r.decision_error().field_violations()) {
    CHECK(fv.field().rfind("input.", 0) == 0);
  }
  CHECK_FALSE(r.decision_error().message_ja().empty());
  // Evidence, claim, personal data, tasks.
  REQUIRE(r.evidence_size() == 1);
  CHECK(r.evidence(0).kind() == v1::FALLBACK_EVIDENCE_KIND_METHOD_APPLIED);
  CHECK(r.evidence(0).method() == v1::FALLBACK_METHOD_PORTAL_SCREEN);
  CHECK(r.evidence(0).amount_collected_yen() == 1200);
  CHECK(r.evidence(0).contacted_on() == "2026-02-11");
  CHECK(r.evidence(0).oral_answered_by() == v1::ORAL_ANSWERER_PATIENT);
  CHECK(api::FromTimestamp(r.evidence(0).at()) == t0 + 30s);
  CHECK(r.claim().route() == v1::CLAIM_ROUTE_OLD_ELIGIBILITY);
  CHECK(r.claim().route_name_ja() == fb::ClaimRouteNameJa(fb::ClaimRoute::kOldEligibility));
  CHECK(r.claim().rule().reason_ja() == "旧資格で請求");
  CHECK(r.claim().notes(0).id() == "CONTACT_THE_PATIENT");
  CHECK(r.tekiyo() == v.tekiyo);
  CHECK(r.confirmed().source() == v1::KNOWN_ELIGIBILITY_SOURCE_CONFIRMED);
  CHECK(r.confirmed().identifiers().insurer_number() == "01130012");
  CHECK(r.reverify() == v1::FALLBACK_REVERIFY_STATE_QUEUED);
  CHECK(r.reverify_attempts() == 2);
  REQUIRE(r.tasks_size() == 1);
  CHECK(r.tasks(0).task_id() == "tk_1");
  CHECK(r.tasks(0).state() == v1::FALLBACK_TASK_STATE_DONE);
  CHECK(api::FromTimestamp(r.tasks(0).done_at()) == t0 + 100s);
  CheckEveryFieldSet(r.tasks(0));

  // An open case: no closing, no claim, no decision error: those stay absent.
  app::FallbackCaseView open;
  open.id = "fb_2";
  open.state = "OPEN";
  open.input = input.value();
  open.decision = decision.value();
  const auto o = api::ToProto(open);
  CHECK(o.state() == v1::FALLBACK_CASE_STATE_OPEN);
  CHECK(o.close_reason() == v1::FALLBACK_CLOSE_REASON_UNSPECIFIED);
  CHECK_FALSE(o.has_closed_at());
  CHECK_FALSE(o.has_claim());
  CHECK_FALSE(o.has_decision_error());
  CHECK_FALSE(o.has_confirmed());
  CHECK_FALSE(o.has_purged_at());
  CHECK(o.reverify() == v1::FALLBACK_REVERIFY_STATE_NONE);
}

TEST_CASE("the case methods are routed and carry their policies", "[fallback_mapping]") {
  auto routes = api::RestRouteTable::Build(api::PublicServices());
  REQUIRE(routes);
  struct Expect {
    const char* http;
    const char* path;
    const char* method;
  };
  for (const Expect& e : std::vector<Expect>{
           {"POST", "/v1/fallback/cases", "OpenCase"},
           {"POST", "/v1/fallback/cases/fb_1:revise", "ReviseCase"},
           {"GET", "/v1/fallback/cases/fb_1", "GetCase"},
           {"GET", "/v1/fallback/cases", "ListCases"},
           {"POST", "/v1/fallback/cases/fb_1/evidence", "RecordEvidence"},
           {"POST", "/v1/fallback/cases/fb_1:chooseClaimRoute", "ChooseClaimRoute"},
           {"POST", "/v1/fallback/cases/fb_1:close", "CloseCase"},
           {"GET", "/v1/fallback/tasks", "ListTasks"},
           {"POST", "/v1/fallback/tasks/tk_1:complete", "CompleteTask"},
           {"GET", "/v1/fallback/cases/fb_1/proof", "ExportProof"},
           {"POST", "/v1/fallback:evaluate", "EvaluateOptions"},
       }) {
    INFO(e.http << " " << e.path);
    auto match = routes->Match(e.http, e.path);
    REQUIRE(std::holds_alternative<api::RouteMatch>(match));
    CHECK(std::get<api::RouteMatch>(match).route->grpc_path ==
          std::string("/onshi.v1.FallbackService/") + e.method);
  }

  // Path ids and query filters bind; the evidence body names its fields in lowerCamelCase.
  {
    auto m = std::get<api::RouteMatch>(routes->Match("POST", "/v1/fallback/cases/fb_1/evidence"));
    v1::RecordEvidenceRequest req;
    REQUIRE(api::BuildRequestMessage(
                m, "",
                R"({"evidence": {"kind": "FALLBACK_EVIDENCE_KIND_PATIENT_CONTACTED",
                    "staffId": "s1", "contactedOn": "2026-02-12",
                    "statement": {"birthDate": {"era": "ERA_REIWA", "year": 1}}}})",
                &req)
                .ok());
    CHECK(req.case_id() == "fb_1");
    CHECK(req.evidence().contacted_on() == "2026-02-12");
    CHECK(req.evidence().statement().birth_date().era() == v1::ERA_REIWA);
  }
  {
    auto m = std::get<api::RouteMatch>(routes->Match("GET", "/v1/fallback/cases"));
    v1::ListCasesRequest req;
    REQUIRE(api::BuildRequestMessage(m, "state=FALLBACK_CASE_STATE_OPEN&day=2026-02-10&limit=5",
                                     "", &req)
                .ok());
    CHECK(req.state() == v1::FALLBACK_CASE_STATE_OPEN);
    CHECK(req.day() == "2026-02-10");
    CHECK(req.limit() == 5);
  }
  {
    auto m = std::get<api::RouteMatch>(routes->Match("POST", "/v1/fallback/tasks/tk_1:complete"));
    v1::CompleteTaskRequest req;
    REQUIRE(api::BuildRequestMessage(
                m, "", R"({"outcome": "FALLBACK_TASK_OUTCOME_CLAIM_RETURNED", "staffId": "s1"})",
                &req)
                .ok());
    CHECK(req.task_id() == "tk_1");
    CHECK(req.outcome() == v1::FALLBACK_TASK_OUTCOME_CLAIM_RETURNED);
  }

  // Changes need the reception scope, reads the read scope; every case method is audited.
  const auto policies = api::ReadPolicies(
      v1::EvaluateOptionsRequest::descriptor()->file()->FindServiceByName("FallbackService"));
  for (const char* m : {"OpenCase", "ReviseCase", "RecordEvidence", "ChooseClaimRoute",
                        "CloseCase", "CompleteTask"}) {
    INFO(m);
    REQUIRE(policies.count(m) == 1);
    CHECK(policies.at(m).scope == app::Scope::kReception);
    CHECK(policies.at(m).audited);
  }
  for (const char* m : {"GetCase", "ListCases", "ListTasks", "ExportProof"}) {
    INFO(m);
    REQUIRE(policies.count(m) == 1);
    CHECK(policies.at(m).scope == app::Scope::kRead);
    CHECK(policies.at(m).audited);
  }
}
