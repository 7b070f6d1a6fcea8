// Claim routing of DOMAIN.md §8 (seed 003): 現在 / 旧資格 / 不詳 / 事後確認 / 10割 and the 不詳 摘要.

#include <catch2/catch.hpp>

#include <string>

#include "core/fallback/claim.h"

namespace fb = onshid::core::fallback;
namespace oqs = onshid::core::oqs;
using fb::ClaimRoute;
using fb::Method;

namespace {

oqs::OqsDate D(const char* s) { return oqs::OqsDate::Parse(s).value(); }

fb::KnownEligibility Known(fb::KnownEligibility::Source src, const char* insurer) {
  fb::KnownEligibility k;
  k.source = src;
  k.insurer_number = insurer;
  return k;
}

fb::InsuranceStatement Statement() {
  fb::InsuranceStatement s;
  s.has_valid_insurance = true;
  s.insurance_type = fb::InsuranceType::kShaho;
  s.insurer_name = "全国健康保険協会";
  s.employer_name = "株式会社テスト";
  s.name = "山田　太郎";
  s.furigana = "ヤマダ　タロウ";
  s.birth_date = fb::WarekiDate{fb::Era::kShowa, 55, 1, 15};
  s.sex = fb::DeclaredSex::kMale;
  s.address = "東京都千代田区1-1";
  s.written_on = D("20251210");
  s.signed_by_patient_or_guardian = true;
  s.phone = "090-1234-5678";
  return s;
}

fb::ClaimOutcome Outcome(Method m, fb::Presented p, fb::VisitKind v, int days = 1) {
  fb::ClaimOutcome o;
  o.input.cause = p == fb::Presented::kNothing ? fb::FailureCause::kNoUsableDocument
                                               : fb::FailureCause::kNetworkError;
  o.input.presented = p;
  o.input.visit = v;
  o.input.actual_days = days;
  o.method_applied = m;
  return o;
}

fb::ClaimOutcome Fusho() {
  auto o = Outcome(Method::kInsuranceStatement, fb::Presented::kMyNumberCard,
                   fb::VisitKind::kFirstVisit);
  o.statement = Statement();
  o.patient_contacted_on = D("20251215");
  return o;
}

bool Names(const onshid::core::DomainError& e, const std::string& field) {
  for (const auto& v : e.field_violations) {
    if (v.field == field) return true;
  }
  return false;
}

constexpr auto kCard = fb::Presented::kMyNumberCard;
constexpr auto kFirst = fb::VisitKind::kFirstVisit;
constexpr auto kRevisit = fb::VisitKind::kRevisit;
constexpr auto kPast = fb::KnownEligibility::Source::kPastVisits;
constexpr auto kOld = fb::KnownEligibility::Source::kInvalidResult;
constexpr auto kConfirmed = fb::KnownEligibility::Source::kConfirmed;

}  // namespace

TEST_CASE("methods 1, 2 and 資格確認書 claim with what was seen", "[fallback]") {
  for (Method m : {Method::kPortalScreen, Method::kEligibilityNotice}) {
    auto o = Outcome(m, kCard, kFirst);
    auto missing = fb::RouteClaim(o);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().reason == "CLAIM_ELIGIBILITY_MISSING");
    o.confirmed = Known(kConfirmed, "06139992");
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kCurrent);
    CHECK(r->claim_with->insurer_number == "06139992");
    CHECK(r->tekiyo.empty());
  }
  auto cert = Outcome(Method::kQualificationCertificate, fb::Presented::kQualificationCertificate,
                      kFirst);
  cert.confirmed = Known(kConfirmed, "138057");
  auto r = fb::RouteClaim(cert);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kCurrent);
}

TEST_CASE("method 3 claims with the held eligibility; blocked methods cannot be routed",
          "[fallback]") {
  auto o = Outcome(Method::kOralConfirmation, kCard, kRevisit);
  o.input.known_eligibilities = {Known(kPast, "06139992")};
  auto r = fb::RouteClaim(o);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kCurrent);
  CHECK(r->rule.id == "CLAIM_WITH_HELD_ELIGIBILITY");
  CHECK(r->claim_with->insurer_number == "06139992");

  auto first = Outcome(Method::kOralConfirmation, kCard, kFirst);
  auto blocked = fb::RouteClaim(first);
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().reason == "METHOD_NOT_ALLOWED");
  CHECK(blocked.error().metadata.at(0).second == "ORAL_NEEDS_REVISIT");

  auto invalid = Outcome(Method::kPortalScreen, kCard, kFirst);
  invalid.input.cause.reset();
  invalid.input.reception_result = fb::ReceptionResult::kInvalid;
  auto portal = fb::RouteClaim(invalid);
  REQUIRE_FALSE(portal.ok());
  CHECK(portal.error().metadata.at(0).second == "PORTAL_BLOCKED_AFTER_INVALID_RESULT");
}

TEST_CASE("申立書: eligibility provided later, then 旧資格, then 事後確認, then 不詳", "[fallback]") {
  SECTION("provided later → current") {
    auto o = Fusho();
    o.confirmed = Known(kConfirmed, "01130012");
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kCurrent);
    CHECK(r->rule.id == "CLAIM_WITH_ELIGIBILITY_PROVIDED_LATER");
  }
  SECTION("資格(無効) showed a 旧資格 → 旧資格, preferred over past visits") {
    auto o = Fusho();
    o.input.cause.reset();
    o.input.reception_result = fb::ReceptionResult::kInvalid;
    o.input.known_eligibilities = {Known(kPast, "11111111"), Known(kOld, "06139992")};
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kOldEligibility);
    CHECK(r->claim_with->insurer_number == "06139992");
  }
  SECTION("past visits → 旧資格") {
    auto o = Fusho();
    o.input.known_eligibilities = {Known(kPast, "11111111")};
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kOldEligibility);
  }
  SECTION("実日数 ≥ 2 → confirm later, not 不詳") {
    auto o = Fusho();
    o.input.actual_days = 2;
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kConfirmLater);
    CHECK(r->tekiyo.empty());
  }
  SECTION("実日数 1, all conditions → 不詳 with the full 摘要") {
    auto r = fb::RouteClaim(Fusho());
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kUnknown);
    CHECK(r->tekiyo ==
          "不詳\nカナ氏名：ヤマダ　タロウ\n保険種別：社保\n保険者等名称：全国健康保険協会\n"
          "事業所名：株式会社テスト\n住所：東京都千代田区1-1\n連絡先：090-1234-5678\n"
          "患者への連絡を行った日：令和7年12月15日");
  }
}

TEST_CASE("不詳 conditions: valid insurance now, My Number card, first visit", "[fallback]") {
  struct Row {
    std::string name;
    void (*mutate)(fb::ClaimOutcome&);
    std::string field;
  };
  const std::vector<Row> rows = {
      {"no valid insurance now",
       [](fb::ClaimOutcome& o) { o.input.has_valid_insurance_now = false; },
       "input.has_valid_insurance_now"},
      {"資格確認書 only",
       [](fb::ClaimOutcome& o) { o.input.presented = fb::Presented::kQualificationCertificate; },
       "input.presented"},
      {"smartphone only",
       [](fb::ClaimOutcome& o) { o.input.presented = fb::Presented::kSmartphoneOnly; },
       "input.presented"},
      {"revisit → 口頭確認", [](fb::ClaimOutcome& o) { o.input.visit = fb::VisitKind::kRevisit; },
       "input.visit"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      auto o = Fusho();
      row.mutate(o);
      auto r = fb::RouteClaim(o);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().reason == "FUSHO_NOT_ALLOWED");
      CHECK(Names(r.error(), row.field));
    }
  }
}

TEST_CASE("不詳 摘要: every missing item is reported, never silently omitted", "[fallback]") {
  struct Row {
    std::string name;
    void (*mutate)(fb::ClaimOutcome&);
    std::string field;
  };
  const std::vector<Row> rows = {
      {"カナ氏名", [](fb::ClaimOutcome& o) { o.statement->furigana.clear(); }, "statement.furigana"},
      {"保険種別",
       [](fb::ClaimOutcome& o) { o.statement->insurance_type = fb::InsuranceType::kUnset; },
       "statement.insurance_type"},
      {"保険者等名称", [](fb::ClaimOutcome& o) { o.statement->insurer_name.clear(); },
       "statement.insurer_name"},
      {"事業所名", [](fb::ClaimOutcome& o) { o.statement->employer_name.clear(); },
       "statement.employer_name"},
      {"住所", [](fb::ClaimOutcome& o) { o.statement->address.clear(); }, "statement.address"},
      {"連絡先", [](fb::ClaimOutcome& o) { o.statement->phone.clear(); }, "statement.phone"},
      {"患者への連絡を行った日", [](fb::ClaimOutcome& o) { o.patient_contacted_on.reset(); },
       "patient_contacted_on"},
      {"contact before the form",
       [](fb::ClaimOutcome& o) { o.patient_contacted_on = D("20251201"); },
       "patient_contacted_on"},
      {"invalid form (sex)",
       [](fb::ClaimOutcome& o) { o.statement->sex = fb::DeclaredSex::kUnset; }, "statement.sex"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      auto o = Fusho();
      row.mutate(o);
      auto r = fb::RouteClaim(o);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().reason == "FUSHO_TEKIYO_INCOMPLETE");
      CHECK(Names(r.error(), row.field));
    }
  }
  SECTION("no statement at all") {
    auto o = Fusho();
    o.statement.reset();
    auto r = fb::RouteClaim(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "INSURANCE_STATEMENT_MISSING");
  }
  SECTION("国保 without 事業所名 writes なし; other address is kept") {
    auto s = Statement();
    s.insurance_type = fb::InsuranceType::kKokuho;
    s.employer_name.clear();
    s.other_address = "大阪府";
    auto t = fb::BuildUnknownTekiyo(s, D("20251215"));
    REQUIRE(t.ok());
    CHECK(t->find("事業所名：なし") != std::string::npos);
    CHECK(t->find("（他の住所：大阪府）") != std::string::npos);
  }
  SECTION("disposed statement cannot be claimed") {
    auto o = Fusho();
    fb::Dispose(*o.statement, D("20260110"));
    auto r = fb::RouteClaim(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "INSURANCE_STATEMENT_DISPOSED");
  }
}

TEST_CASE("10割: self-pay until confirmed, then current with a refund; 70+ ratio note",
          "[fallback]") {
  auto o = Outcome(Method::kFullSelfPay, fb::Presented::kNothing, kFirst);
  auto r = fb::RouteClaim(o);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kSelfPay);
  o.confirmed = Known(kConfirmed, "06139992");
  r = fb::RouteClaim(o);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kCurrent);
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].id == "REFUND_AFTER_FULL_SELF_PAY");

  auto card = Outcome(Method::kFullSelfPay, kCard, kFirst);
  auto blocked = fb::RouteClaim(card);
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().reason == "METHOD_NOT_ALLOWED");

  auto elderly = Fusho();
  elderly.statement->birth_date = fb::WarekiDate{fb::Era::kShowa, 20, 1, 1};
  elderly.statement->declared_ratio = fb::DeclaredRatio::kTwo;
  auto e = fb::RouteClaim(elderly);
  REQUIRE(e.ok());
  CHECK(e->route == ClaimRoute::kUnknown);
  REQUIRE(e->notes.size() == 1);
  CHECK(e->notes[0].id == "SELF_DECLARED_RATIO_70_PLUS");
}
