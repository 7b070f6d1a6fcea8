// The MHLW decision tree of DOMAIN.md §7 (seeds 003, 004), table-driven: every branch, from the
// seeds' cases rather than from the code.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/fallback/decision.h"

namespace fb = onshid::core::fallback;
using fb::Method;

namespace {

fb::KnownEligibility PastVisit() {
  fb::KnownEligibility k;
  k.source = fb::KnownEligibility::Source::kPastVisits;
  k.insurer_number = "06139992";
  k.insurer_name = "協会けんぽ";
  k.ratio_wari = 3;
  return k;
}

fb::KnownEligibility OldFromResult() {
  fb::KnownEligibility k = PastVisit();
  k.source = fb::KnownEligibility::Source::kInvalidResult;
  return k;
}

struct Row {
  std::string name;
  fb::FallbackCase input;
  std::set<Method> allowed;
  Method first;
  fb::Charge charge;
  std::vector<std::pair<Method, std::string>> rules;  // method → expected rule id
};

fb::FallbackCase Case(std::optional<fb::FailureCause> cause, fb::ReceptionResult result,
                      fb::Presented presented, fb::VisitKind visit, int days = 1,
                      std::vector<fb::KnownEligibility> known = {}, bool valid_now = true) {
  fb::FallbackCase c;
  c.cause = cause;
  c.reception_result = result;
  c.presented = presented;
  c.visit = visit;
  c.actual_days = days;
  c.known_eligibilities = std::move(known);
  c.has_valid_insurance_now = valid_now;
  return c;
}

using C = fb::FailureCause;
using RR = fb::ReceptionResult;
using P = fb::Presented;
constexpr auto kFirst = fb::VisitKind::kFirstVisit;
constexpr auto kRevisit = fb::VisitKind::kRevisit;
constexpr auto kNormal = fb::Charge::kNormalRatio;
constexpr auto kFull = fb::Charge::kFullSelfPay;

}  // namespace

TEST_CASE("decision tree: every branch of DOMAIN.md §7", "[fallback]") {
  const std::vector<Row> rows = {
      {"certificate expired beyond grace, first visit: 1, 2, then 申立書",
       Case(C::kCertificateExpiredBeyondGrace, RR::kNone, P::kMyNumberCard, kFirst),
       {Method::kPortalScreen, Method::kEligibilityNotice, Method::kInsuranceStatement},
       Method::kPortalScreen, kNormal,
       {{Method::kPortalScreen, "PORTAL_WITH_CARD"},
        {Method::kEligibilityNotice, "NOTICE_WITH_CARD"},
        {Method::kOralConfirmation, "ORAL_NEEDS_REVISIT"},
        {Method::kInsuranceStatement, "STATEMENT_FIRST_VISIT"},
        {Method::kQualificationCertificate, "CERTIFICATE_NOT_PRESENTED"},
        {Method::kFullSelfPay, "FULL_SELF_PAY_NOT_NEEDED"}}},
      {"IC chip broken, revisit with held eligibility: 1, 2, then 口頭確認",
       Case(C::kIcChipBroken, RR::kNone, P::kMyNumberCard, kRevisit, 1, {PastVisit()}),
       {Method::kPortalScreen, Method::kEligibilityNotice, Method::kOralConfirmation},
       Method::kPortalScreen, kNormal,
       {{Method::kOralConfirmation, "ORAL_ON_REVISIT"},
        {Method::kInsuranceStatement, "STATEMENT_REVISIT_USE_ORAL"}}},
      {"network error, revisit but nothing held: 1, 2, else 10割",
       Case(C::kNetworkError, RR::kNone, P::kMyNumberCard, kRevisit),
       {Method::kPortalScreen, Method::kEligibilityNotice, Method::kFullSelfPay},
       Method::kPortalScreen, kNormal,
       {{Method::kOralConfirmation, "ORAL_NEEDS_HELD_ELIGIBILITY"},
        {Method::kInsuranceStatement, "STATEMENT_REVISIT_USE_ORAL"},
        {Method::kFullSelfPay, "FULL_SELF_PAY_IF_SCREEN_AND_NOTICE_FAIL"}}},
      {"face reader won't start, first visit, no valid insurance: no 申立書",
       Case(C::kFaceReaderWontStart, RR::kNone, P::kMyNumberCard, kFirst, 1, {}, false),
       {Method::kPortalScreen, Method::kEligibilityNotice, Method::kFullSelfPay},
       Method::kPortalScreen, kNormal,
       {{Method::kInsuranceStatement, "STATEMENT_NEEDS_VALID_INSURANCE"},
        {Method::kFullSelfPay, "FULL_SELF_PAY_NO_VALID_INSURANCE"}}},
      {"smartphone only at a facility that cannot read phones: portal is the only method",
       Case(C::kSmartphoneNotSupported, RR::kNone, P::kSmartphoneOnly, kFirst),
       {Method::kPortalScreen, Method::kFullSelfPay}, Method::kPortalScreen, kNormal,
       {{Method::kPortalScreen, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {Method::kEligibilityNotice, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {Method::kOralConfirmation, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {Method::kInsuranceStatement, "STATEMENT_NOT_FOR_SMARTPHONE_ONLY"},
        {Method::kFullSelfPay, "FULL_SELF_PAY_SMARTPHONE_ONLY"}}},
      {"generic reader broken, smartphone only, revisit with held eligibility: still portal only",
       Case(C::kGenericReaderBroken, RR::kNone, P::kSmartphoneOnly, kRevisit, 1, {PastVisit()}),
       {Method::kPortalScreen, Method::kFullSelfPay}, Method::kPortalScreen, kNormal,
       {{Method::kOralConfirmation, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"}}},
      {"資格(無効) returned, first visit: method 1 impossible, start at 2, 申立書 → 旧資格",
       Case(std::nullopt, RR::kInvalid, P::kMyNumberCard, kFirst, 1, {OldFromResult()}),
       {Method::kEligibilityNotice, Method::kInsuranceStatement}, Method::kEligibilityNotice,
       kNormal,
       {{Method::kPortalScreen, "PORTAL_BLOCKED_AFTER_INVALID_RESULT"},
        {Method::kEligibilityNotice, "NOTICE_FIRST_AFTER_INVALID_RESULT"}}},
      {"資格情報なし returned, first visit, 実日数 2: start at 2, 申立書 → confirm later",
       Case(std::nullopt, RR::kNoRecord, P::kMyNumberCard, kFirst, 2),
       {Method::kEligibilityNotice, Method::kInsuranceStatement}, Method::kEligibilityNotice,
       kNormal, {{Method::kPortalScreen, "PORTAL_BLOCKED_AFTER_INVALID_RESULT"}}},
      {"資格情報なし returned, revisit with held eligibility: 2, then 口頭確認",
       Case(std::nullopt, RR::kNoRecord, P::kMyNumberCard, kRevisit, 1, {PastVisit()}),
       {Method::kEligibilityNotice, Method::kOralConfirmation}, Method::kEligibilityNotice,
       kNormal, {{Method::kInsuranceStatement, "STATEMENT_REVISIT_USE_ORAL"}}},
      {"資格(無効) on a smartphone: nothing applies, 10割",
       Case(std::nullopt, RR::kInvalid, P::kSmartphoneOnly, kFirst), {Method::kFullSelfPay},
       Method::kFullSelfPay, kFull,
       {{Method::kPortalScreen, "PORTAL_BLOCKED_AFTER_INVALID_RESULT"},
        {Method::kFullSelfPay, "FULL_SELF_PAY_SMARTPHONE_ONLY"}}},
      {"lost 資格確認書, no card, first visit: 10割 (seed 004)",
       Case(C::kNoUsableDocument, RR::kNone, P::kNothing, kFirst), {Method::kFullSelfPay},
       Method::kFullSelfPay, kFull,
       {{Method::kPortalScreen, "PORTAL_NEEDS_CARD"},
        {Method::kEligibilityNotice, "NOTICE_NEEDS_CARD"},
        {Method::kInsuranceStatement, "STATEMENT_NEEDS_CARD"},
        {Method::kFullSelfPay, "FULL_SELF_PAY_NO_CARD_FIRST_VISIT"}}},
      {"lost 資格確認書, no card, revisit: 口頭確認 (seed 004)",
       Case(C::kNoUsableDocument, RR::kNone, P::kNothing, kRevisit, 1, {PastVisit()}),
       {Method::kOralConfirmation}, Method::kOralConfirmation, kNormal,
       {{Method::kOralConfirmation, "ORAL_ON_REVISIT_WITHOUT_CARD"},
        {Method::kInsuranceStatement, "STATEMENT_NEEDS_CARD"}}},
      {"no card, revisit, nothing held: 10割",
       Case(C::kNoUsableDocument, RR::kNone, P::kNothing, kRevisit), {Method::kFullSelfPay},
       Method::kFullSelfPay, kFull, {{Method::kFullSelfPay, "FULL_SELF_PAY_NO_METHOD"}}},
      {"資格確認書 only, network error, first visit: the 資格確認書 stands alone, no 申立書",
       Case(C::kNetworkError, RR::kNone, P::kQualificationCertificate, kFirst),
       {Method::kQualificationCertificate}, Method::kQualificationCertificate, kNormal,
       {{Method::kQualificationCertificate, "CERTIFICATE_STANDS_ALONE"},
        {Method::kInsuranceStatement, "STATEMENT_NEEDS_CARD"}}},
      {"資格確認書 only, 資格(無効) for its numbers, first visit: 10割",
       Case(std::nullopt, RR::kInvalid, P::kQualificationCertificate, kFirst),
       {Method::kFullSelfPay}, Method::kFullSelfPay, kFull,
       {{Method::kQualificationCertificate, "CERTIFICATE_CONTRADICTED_BY_RESULT"}}},
      {"資格確認書 only, 資格(無効), revisit with held eligibility: 口頭確認",
       Case(std::nullopt, RR::kInvalid, P::kQualificationCertificate, kRevisit, 1, {PastVisit()}),
       {Method::kOralConfirmation}, Method::kOralConfirmation, kNormal, {}},
  };

  for (const auto& row : rows) {
    SECTION(row.name) {
      auto d = fb::Decide(row.input);
      REQUIRE(d.ok());
      CHECK(d->engine_version == std::string(fb::kEngineVersion));
      REQUIRE(d->methods.size() == 6);
      const std::vector<Method> order = {Method::kPortalScreen,       Method::kEligibilityNotice,
                                         Method::kOralConfirmation,   Method::kInsuranceStatement,
                                         Method::kQualificationCertificate, Method::kFullSelfPay};
      for (std::size_t i = 0; i < order.size(); ++i) {
        CHECK(d->methods[i].method == order[i]);
        CHECK(d->methods[i].allowed == (row.allowed.count(order[i]) == 1));
        CHECK_FALSE(d->methods[i].rule.id.empty());
        CHECK_FALSE(d->methods[i].rule.reason.empty());
        CHECK_FALSE(d->methods[i].rule.reason_ja.empty());
        CHECK(d->methods[i].rule.source.rfind("DOMAIN.md §", 0) == 0);
      }
      CHECK(d->first_choice == row.first);
      CHECK(d->charge == row.charge);
      CHECK_FALSE(d->charge_rule.id.empty());
      for (const auto& [m, id] : row.rules) {
        INFO(fb::MethodName(m));
        CHECK(d->Find(m).rule.id == id);
      }
    }
  }
}

TEST_CASE("申立書 leads to 旧資格, 事後確認 or 不詳", "[fallback]") {
  const auto leads = [](fb::FallbackCase c) {
    auto d = fb::Decide(c);
    REQUIRE(d.ok());
    return d->Find(Method::kInsuranceStatement).leads_to;
  };
  CHECK(leads(Case(C::kIcChipBroken, RR::kNone, P::kMyNumberCard, kFirst, 1)) ==
        fb::ClaimRoute::kUnknown);
  CHECK(leads(Case(C::kIcChipBroken, RR::kNone, P::kMyNumberCard, kFirst, 2)) ==
        fb::ClaimRoute::kConfirmLater);
  CHECK(leads(Case(std::nullopt, RR::kInvalid, P::kMyNumberCard, kFirst, 2, {OldFromResult()})) ==
        fb::ClaimRoute::kOldEligibility);
}

TEST_CASE("charge: normal ratio on every path of the tree, 10割 only when none applies",
          "[fallback]") {
  auto d = fb::Decide(Case(C::kNetworkError, RR::kNone, P::kMyNumberCard, kFirst));
  REQUIRE(d.ok());
  CHECK(d->charge == kNormal);
  CHECK(d->charge_rule.id == "NORMAL_RATIO_ON_EVERY_PATH");
  auto none = fb::Decide(Case(C::kNoUsableDocument, RR::kNone, P::kNothing, kFirst));
  REQUIRE(none.ok());
  CHECK(none->charge == kFull);
  CHECK(none->charge_rule.id == "FULL_SELF_PAY_NO_CARD_FIRST_VISIT");
}

TEST_CASE("inconsistent cases are rejected with the field named", "[fallback]") {
  struct Bad {
    std::string name;
    fb::FallbackCase input;
    std::string field;
  };
  const std::vector<Bad> bad = {
      {"neither cause nor result", Case(std::nullopt, RR::kNone, P::kMyNumberCard, kFirst),
       "cause"},
      {"both cause and result", Case(C::kNetworkError, RR::kInvalid, P::kMyNumberCard, kFirst),
       "cause"},
      {"smartphone cause with a card",
       Case(C::kSmartphoneNotSupported, RR::kNone, P::kMyNumberCard, kFirst), "presented"},
      {"IC cause without card", Case(C::kIcChipBroken, RR::kNone, P::kSmartphoneOnly, kFirst),
       "presented"},
      {"certificate cause with 資格確認書",
       Case(C::kCertificateExpiredBeyondGrace, RR::kNone, P::kQualificationCertificate, kFirst),
       "presented"},
      {"no document but a card", Case(C::kNoUsableDocument, RR::kNone, P::kMyNumberCard, kFirst),
       "presented"},
      {"nothing presented with a network cause",
       Case(C::kNetworkError, RR::kNone, P::kNothing, kFirst), "presented"},
      {"実日数 0", Case(C::kNetworkError, RR::kNone, P::kMyNumberCard, kFirst, 0), "actual_days"},
  };
  for (const auto& b : bad) {
    SECTION(b.name) {
      auto d = fb::Decide(b.input);
      REQUIRE_FALSE(d.ok());
      CHECK(d.error().reason == "INVALID_FALLBACK_CASE");
      CHECK_FALSE(d.error().message_ja.empty());
      bool named = false;
      for (const auto& v : d.error().field_violations) named = named || v.field == b.field;
      CHECK(named);
    }
  }
}

TEST_CASE("reception result and 旧資格 from an eligibility result", "[fallback]") {
  namespace oqs = onshid::core::oqs;
  const auto with_validity = [](oqs::QualificationValidity v) {
    oqs::EligibilityResult r;
    r.qualification_validity = oqs::CodeValue<oqs::QualificationValidity>{"", v};
    return r;
  };
  CHECK(fb::ReceptionResultOf(with_validity(oqs::QualificationValidity::kInvalid)) == RR::kInvalid);
  CHECK(fb::ReceptionResultOf(with_validity(oqs::QualificationValidity::kInvalidNewerExists)) ==
        RR::kInvalid);
  CHECK(fb::ReceptionResultOf(with_validity(oqs::QualificationValidity::kNoRecord)) ==
        RR::kNoRecord);
  CHECK(fb::ReceptionResultOf(with_validity(oqs::QualificationValidity::kValid)) == RR::kNone);
  CHECK(fb::ReceptionResultOf(with_validity(oqs::QualificationValidity::kMultiple)) == RR::kNone);
  CHECK(fb::ReceptionResultOf(oqs::EligibilityResult{}) == RR::kNone);

  auto r = with_validity(oqs::QualificationValidity::kInvalidNewerExists);
  oqs::Qualification q;
  q.insurer_number = oqs::InsurerNumberValue{"06139992", std::nullopt};
  q.insured_card_symbol = "AB";
  q.insured_identification_number = "123";
  q.insured_branch_number = "01";
  q.insurer_name = "旧健保組合";
  q.insured_partial_contribution_ratio = "030";
  r.results.push_back(q);
  auto old = fb::OldEligibilityOf(r);
  REQUIRE(old);
  CHECK(old->source == fb::KnownEligibility::Source::kInvalidResult);
  CHECK(old->insurer_number == "06139992");
  CHECK(old->symbol == "AB");
  CHECK(old->number == "123");
  CHECK(old->branch == "01");
  CHECK(old->insurer_name == "旧健保組合");
  CHECK(old->ratio_wari == 3);

  CHECK_FALSE(fb::OldEligibilityOf(with_validity(oqs::QualificationValidity::kInvalid)));
  auto valid = r;
  valid.qualification_validity = oqs::CodeValue<oqs::QualificationValidity>{"", oqs::QualificationValidity::kValid};
  CHECK_FALSE(fb::OldEligibilityOf(valid));
}
