// Claim routing (DOMAIN.md §8), from seed 003 p.12 レセプト請求方法, p.14 旧資格でのレセプト請求,
// p.15–18 不詳レセプトの請求 and seed 004 質問と回答 被保険者申立書②.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/fallback/claim.h"

namespace fb = onshid::core::fallback;
namespace oqs = onshid::core::oqs;
using fb::ClaimRoute;
using fb::Method;
using C = fb::FallbackCause;

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

// A first-visit card case on 2025-12-10 where `cause` made reception fail.
fb::ClaimOutcome Outcome(Method m, C cause = C::kNetworkError) {
  fb::ClaimOutcome o;
  o.input.cause = cause;
  o.input.presented.Add(onshid::core::Document::kMyNumberCard);
  o.input.date = D("20251210");
  o.method_applied = m;
  return o;
}

// seed 003 p.17–18: a complete 申立書 and the day the facility contacted the patient.
fb::ClaimOutcome Fusho() {
  auto o = Outcome(Method::kInsuranceStatement);
  o.statement = Statement();
  o.patient_contacted_on = D("20251215");
  return o;
}

bool Names(const onshid::core::DomainError& e, const std::string& field) {
  return std::any_of(e.field_violations.begin(), e.field_violations.end(),
                     [&](const onshid::core::FieldViolation& v) { return v.field == field; });
}

std::vector<std::string> NoteIds(const fb::ClaimDecision& d) {
  std::vector<std::string> ids;
  for (const auto& n : d.notes) ids.push_back(n.id);
  return ids;
}

constexpr auto kPast = fb::KnownEligibility::Source::kPastVisits;
constexpr auto kOld = fb::KnownEligibility::Source::kInvalidResult;
constexpr auto kConfirmed = fb::KnownEligibility::Source::kConfirmed;

}  // namespace

// seed 003 p.12 レセプト請求方法 (「①～④の方法で、資格確認を行っていただいた場合、それぞれ以下の
// とおりレセプト請求」; DOMAIN.md §8 table: ①② claim with the eligibility seen); the 資格確認書 and
// the provisional query claim with what they show; 目視確認モード continues the normal reception.
TEST_CASE("methods that show an eligibility claim with it", "[fallback]") {
  struct Row {
    std::string name;
    fb::ClaimOutcome outcome;
  };
  auto cert = Outcome(Method::kQualificationCertificate);
  cert.input.presented = {};
  cert.input.presented.Add(onshid::core::Document::kQualificationCertificateCard);
  auto provisional = Outcome(Method::kProvisionalQuery, C::kNoDocument);
  provisional.input.presented = {};
  provisional.input.presented.Add(onshid::core::Document::kHealthInsuranceCard);
  const std::vector<Row> rows = {
      {"① portal", Outcome(Method::kPortalScreen)},
      {"② notice", Outcome(Method::kEligibilityNotice)},
      {"目視確認モード", Outcome(Method::kVisualCheckMode, C::kIdentificationFailed)},
      {"資格確認書", cert},
      {"provisional query", provisional},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      auto o = row.outcome;
      auto missing = fb::RouteClaim(o);
      REQUIRE_FALSE(missing.ok());
      CHECK(missing.error().reason == "CLAIM_ELIGIBILITY_MISSING");
      CHECK(Names(missing.error(), "confirmed"));
      o.confirmed = Known(kConfirmed, "06139992");
      auto r = fb::RouteClaim(o);
      REQUIRE(r.ok());
      CHECK(r->engine_version == "fallback-engine/2");
      CHECK(r->route == ClaimRoute::kCurrent);
      CHECK(r->rule.id == "CLAIM_WITH_SEEN_ELIGIBILITY");
      CHECK(r->claim_with->insurer_number == "06139992");
      CHECK(r->tekiyo.empty());
    }
  }
}

// seed 003 p.12 ③ (DOMAIN.md §8: the eligibility the facility holds); p.16 再診 「口頭で資格情報に
// 変更がないか等を確認…この場合、確認できた資格で請求してください」.
TEST_CASE("口頭確認 claims with the held eligibility; blocked methods cannot be routed",
          "[fallback]") {
  auto o = Outcome(Method::kOralConfirmation);
  o.input.visit = fb::VisitKind::kRevisit;
  o.input.known_eligibilities = {Known(kPast, "06139992")};
  auto r = fb::RouteClaim(o);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kCurrent);
  CHECK(r->rule.id == "CLAIM_WITH_HELD_ELIGIBILITY");
  CHECK(r->claim_with->insurer_number == "06139992");

  auto first = Outcome(Method::kOralConfirmation);
  auto blocked = fb::RouteClaim(first);
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().reason == "METHOD_NOT_ALLOWED");
  CHECK(blocked.error().metadata.at(0) ==
        std::pair<std::string, std::string>("rule", "ORAL_NEEDS_REVISIT"));

  // 資格(無効): 「マイナポータルで資格情報が表示できません」.
  auto portal = fb::RouteClaim(Outcome(Method::kPortalScreen, C::kResultInvalid));
  REQUIRE_FALSE(portal.ok());
  CHECK(portal.error().metadata.at(0).second == "PORTAL_CANNOT_SHOW_INVALID_RESULT");

  auto in_grace = Outcome(Method::kPortalScreen, C::kCertificateExpired);
  in_grace.input.certificate_expiry = D("20251019");
  auto grace = fb::RouteClaim(in_grace);
  REQUIRE_FALSE(grace.ok());
  CHECK(grace.error().reason == "CERTIFICATE_IN_GRACE");
}

// seed 003 p.18 事後での資格確認とレセプト請求: 「患者から資格情報の提供はありましたか？」→ 確認
// できた保険資格で; 「旧資格でレセプト請求が可能なケースではないですか？」→ 旧資格 (p.14: 「過去の
// 資格情報がわかる場合には、不詳ではなく過去の資格情報で」); p.16 複数回受診 → 事後的に確認;
// otherwise 不詳 with the 摘要 items.
TEST_CASE("申立書: provided later, then 旧資格, then 事後確認, then 不詳", "[fallback]") {
  SECTION("provided later → current") {
    auto o = Fusho();
    o.confirmed = Known(kConfirmed, "01130012");
    o.input.known_eligibilities = {Known(kPast, "11111111")};
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kCurrent);
    CHECK(r->rule.id == "CLAIM_WITH_ELIGIBILITY_PROVIDED_LATER");
    CHECK(r->claim_with->insurer_number == "01130012");
  }
  SECTION("資格(無効) showed a 旧資格 → 旧資格, preferred over past visits") {
    auto o = Fusho();
    o.input.cause = C::kResultInvalid;
    o.input.known_eligibilities = {Known(kPast, "11111111"), Known(kOld, "06139992")};
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kOldEligibility);
    CHECK(r->rule.id == "CLAIM_WITH_OLD_ELIGIBILITY");
    CHECK(r->claim_with->insurer_number == "06139992");
    CHECK(r->tekiyo.empty());
  }
  SECTION("past visits → 旧資格, even with an incomplete 摘要") {
    auto o = Fusho();
    o.input.known_eligibilities = {Known(kPast, "11111111")};
    o.patient_contacted_on.reset();
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kOldEligibility);
    CHECK(r->claim_with->insurer_number == "11111111");
  }
  SECTION("more visit days by the claim → confirm later, not 不詳") {
    auto o = Fusho();
    o.actual_days_at_claim = 2;
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kConfirmLater);
    CHECK(r->rule.id == "CONFIRM_LATER_MULTIPLE_DAYS");
    CHECK(NoteIds(*r) == std::vector<std::string>{"CONTACT_THE_PATIENT"});
    CHECK(r->tekiyo.empty());
  }
  SECTION("a known 旧資格 wins over the later visit days") {
    auto o = Fusho();
    o.input.known_eligibilities = {Known(kPast, "11111111")};
    o.actual_days_at_claim = 3;
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kOldEligibility);
  }
  SECTION("実日数 1, all conditions → 不詳 with the full 摘要") {
    auto r = fb::RouteClaim(Fusho());
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kUnknown);
    CHECK(r->rule.id == "CLAIM_UNKNOWN");
    CHECK(r->tekiyo ==
          "不詳\nカナ氏名：ヤマダ　タロウ\n保険種別：社保\n保険者等名称：全国健康保険協会\n"
          "事業所名：株式会社テスト\n住所：東京都千代田区1-1\n連絡先：090-1234-5678\n"
          "患者への連絡を行った日：令和7年12月15日");
    CHECK(r->notes.empty());
  }
  SECTION("実日数 at the claim below the decision's is rejected") {
    auto o = Fusho();
    o.input.actual_days = 1;
    o.actual_days_at_claim = 0;
    auto r = fb::RouteClaim(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "INVALID_ACTUAL_DAYS");
    CHECK(Names(r.error(), "actual_days_at_claim"));
  }
}

// seed 003 p.16: 「該当しない場合、被保険者資格申立書の使用及び被保険者番号不詳でのレセプト請求は
// できません」 — each condition on its own, each named.
TEST_CASE("不詳 only when its three conditions hold", "[fallback]") {
  struct Row {
    std::string name;
    void (*mutate)(fb::ClaimOutcome&);
    std::string field;
  };
  const std::vector<Row> rows = {
      {"現在有効な保険資格: no",
       [](fb::ClaimOutcome& o) { o.input.has_valid_insurance_now = false; },
       "input.has_valid_insurance_now"},
      {"資格確認書 only",
       [](fb::ClaimOutcome& o) {
         o.input.presented = {};
         o.input.presented.Add(onshid::core::Document::kQualificationCertificateCard);
       },
       "input.presented"},
      {"smartphone only",
       [](fb::ClaimOutcome& o) {
         o.input.presented = {};
         o.input.presented.Add(onshid::core::Document::kMyNumberSmartphone);
         o.input.facility.reads_smartphones = true;
       },
       "input.presented"},
      {"no card at all",
       [](fb::ClaimOutcome& o) {
         o.input.cause = C::kNoDocument;
         o.input.presented = {};
       },
       "input.presented"},
      {"newborn, registration unchecked",
       [](fb::ClaimOutcome& o) { o.input.newborn = fb::Newborn::kRegistrationUnchecked; },
       "input.newborn"},
      {"card and 資格確認書: the 資格確認書 stands alone",
       [](fb::ClaimOutcome& o) { o.input.presented.Add(onshid::core::Document::kQualificationCertificateCard); },
       "input.presented"},
      {"revisit → 口頭確認", [](fb::ClaimOutcome& o) { o.input.visit = fb::VisitKind::kRevisit; },
       "input.visit"},
      {"複数回受診 (実日数 2) → 事後確認", [](fb::ClaimOutcome& o) { o.input.actual_days = 2; },
       "input.actual_days"},
      {"facility without OQS",
       [](fb::ClaimOutcome& o) {
         o.input.cause = C::kNoOnlineVerification;
         o.input.facility.oqs_available = false;
       },
       "input.facility.oqs_available"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      auto o = Fusho();
      row.mutate(o);
      auto r = fb::RouteClaim(o);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().reason == "FUSHO_NOT_ALLOWED");
      CHECK(r.error().kind == onshid::core::ErrorKind::kFailedPrecondition);
      CHECK(Names(r.error(), row.field));
      CHECK(r.error().field_violations.size() == 1);
      CHECK(r.error().metadata.at(0).first == "rule");
    }
  }
  SECTION("several conditions fail: all are named") {
    auto o = Fusho();
    o.input.visit = fb::VisitKind::kRevisit;
    o.input.has_valid_insurance_now = false;
    auto r = fb::RouteClaim(o);
    REQUIRE_FALSE(r.ok());
    CHECK(Names(r.error(), "input.visit"));
    CHECK(Names(r.error(), "input.has_valid_insurance_now"));
  }
}

// seed 003 p.18 【必ず記載する項目】: 不詳, カナ氏名, 保険種別, 保険者等名称, 事業所名, 住所,
// 連絡先, 患者への連絡を行った日 (※特に「患者の連絡先の未記載」が多く…返戻).
TEST_CASE("不詳 摘要: every missing item is named, never silently omitted", "[fallback]") {
  struct Row {
    std::string name;
    void (*mutate)(fb::ClaimOutcome&);
    std::string field;
  };
  const std::vector<Row> rows = {
      {"カナ氏名", [](fb::ClaimOutcome& o) { o.statement->furigana.clear(); },
       "statement.furigana"},
      {"保険種別",
       [](fb::ClaimOutcome& o) { o.statement->insurance_type = fb::InsuranceType::kUnset; },
       "statement.insurance_type"},
      {"保険者等名称", [](fb::ClaimOutcome& o) { o.statement->insurer_name.clear(); },
       "statement.insurer_name"},
      {"保険者等名称 of full-width spaces only",
       [](fb::ClaimOutcome& o) { o.statement->insurer_name = "\u3000\u3000"; },
       "statement.insurer_name"},
      {"事業所名 (社保)", [](fb::ClaimOutcome& o) { o.statement->employer_name.clear(); },
       "statement.employer_name"},
      {"住所", [](fb::ClaimOutcome& o) { o.statement->address = " \u3000 "; }, "statement.address"},
      {"連絡先", [](fb::ClaimOutcome& o) { o.statement->phone.clear(); }, "statement.phone"},
      {"患者への連絡を行った日", [](fb::ClaimOutcome& o) { o.patient_contacted_on.reset(); },
       "patient_contacted_on"},
      {"contact before the form was written",
       [](fb::ClaimOutcome& o) {
         o.statement->written_on = D("20251212");
         o.patient_contacted_on = D("20251211");
       },
       "patient_contacted_on"},
      {"contact before the visit",
       [](fb::ClaimOutcome& o) {
         o.statement->written_on = D("20251201");
         o.patient_contacted_on = D("20251205");
       },
       "patient_contacted_on"},
      {"an invalid form (性別)",
       [](fb::ClaimOutcome& o) { o.statement->sex = fb::DeclaredSex::kUnset; }, "statement.sex"},
      {"the form's own checkbox unticked",
       [](fb::ClaimOutcome& o) { o.statement->has_valid_insurance = false; },
       "statement.has_valid_insurance"},
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
  SECTION("市町村国保 without 事業所名 writes なし; the other address is kept") {
    auto s = Statement();
    s.insurance_type = fb::InsuranceType::kKokuho;
    s.employer_name.clear();
    s.other_address = "大阪府";
    auto t = fb::BuildUnknownTekiyo(s, D("20251215"));
    REQUIRE(t.ok());
    CHECK(t.value() ==
          "不詳\nカナ氏名：ヤマダ　タロウ\n保険種別：国保\n保険者等名称：全国健康保険協会\n"
          "事業所名：なし\n住所：東京都千代田区1-1（他の住所：大阪府）\n連絡先：090-1234-5678\n"
          "患者への連絡を行った日：令和7年12月15日");
  }
  SECTION("国保組合 needs the 事業所名 and is noted") {
    auto s = Statement();
    s.insurance_type = fb::InsuranceType::kKokuho;
    s.kokuho_union = true;
    auto t = fb::BuildUnknownTekiyo(s, D("20251215"));
    REQUIRE(t.ok());
    CHECK(t->find("保険種別：国保（国保組合）\n") != std::string::npos);
    CHECK(t->find("事業所名：株式会社テスト\n") != std::string::npos);
    s.employer_name = "\u3000";
    auto missing = fb::BuildUnknownTekiyo(s, D("20251215"));
    REQUIRE_FALSE(missing.ok());
    CHECK(Names(missing.error(), "statement.employer_name"));
  }
  SECTION("every item missing at once") {
    auto t = fb::BuildUnknownTekiyo(fb::InsuranceStatement{}, std::nullopt);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().field_violations.size() == 6);  // 保険種別 unset: no 事業所名 requirement yet
  }
  SECTION("a disposed statement cannot be claimed") {
    auto o = Fusho();
    fb::Dispose(*o.statement, D("20260110"));
    auto r = fb::RouteClaim(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "INSURANCE_STATEMENT_DISPOSED");
    auto t = fb::BuildUnknownTekiyo(*o.statement, D("20251215"));
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().reason == "INSURANCE_STATEMENT_DISPOSED");
  }
}

// seed 004 質問と回答 被保険者申立書②: 70 歳以上等 … 「負担割合相違によるレセプト返戻は行わない
// ことを基本とする…保険者等から患者に対して返還請求等」; seed 003 別紙様式 ※2.
TEST_CASE("70+ / 後期: the self-declared ratio is noted, never a return", "[fallback]") {
  SECTION("age bracket 70–74 on the 旧資格 route") {
    auto o = Fusho();
    o.input.age = fb::AgeBracket::k70To74;
    o.input.known_eligibilities = {Known(kPast, "11111111")};
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kOldEligibility);
    CHECK(NoteIds(*r) == std::vector<std::string>{"SELF_DECLARED_RATIO_70_PLUS"});
  }
  SECTION("a 70+ birth date on the form, 不詳 route") {
    auto o = Fusho();
    o.statement->birth_date = fb::WarekiDate{fb::Era::kShowa, 20, 1, 1};
    o.statement->declared_ratio = fb::DeclaredRatio::kTwo;
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(r->route == ClaimRoute::kUnknown);
    CHECK(NoteIds(*r) == std::vector<std::string>{"SELF_DECLARED_RATIO_70_PLUS"});
  }
  SECTION("後期 ticked, 事後確認 route") {
    auto o = Fusho();
    o.statement->insurance_type = fb::InsuranceType::kKouki;
    o.actual_days_at_claim = 2;
    auto r = fb::RouteClaim(o);
    REQUIRE(r.ok());
    CHECK(NoteIds(*r) ==
          std::vector<std::string>{"SELF_DECLARED_RATIO_70_PLUS", "CONTACT_THE_PATIENT"});
  }
}

// seed 003 p.16 複数回受診 「医療機関等から患者へ事後的に確認し、判明した資格で請求」; p.14 旧資格.
TEST_CASE("事後確認: claim with what is found, or the 旧資格, or wait", "[fallback]") {
  auto o = Outcome(Method::kConfirmAfterwards);
  o.input.actual_days = 2;
  auto pending = fb::RouteClaim(o);
  REQUIRE(pending.ok());
  CHECK(pending->route == ClaimRoute::kConfirmLater);
  CHECK(pending->rule.id == "CONFIRM_AFTERWARDS_PENDING");
  CHECK(NoteIds(*pending) == std::vector<std::string>{"CONTACT_THE_PATIENT"});

  o.confirmed = Known(kConfirmed, "06139992");
  auto found = fb::RouteClaim(o);
  REQUIRE(found.ok());
  CHECK(found->route == ClaimRoute::kCurrent);
  CHECK(found->rule.id == "CLAIM_WITH_ELIGIBILITY_FOUND_LATER");

  auto invalid = Outcome(Method::kConfirmAfterwards, C::kResultInvalid);
  invalid.input.actual_days = 2;
  invalid.input.known_eligibilities = {Known(kOld, "06139992")};
  auto old = fb::RouteClaim(invalid);
  REQUIRE(old.ok());
  CHECK(old->route == ClaimRoute::kOldEligibility);
  CHECK(old->claim_with->insurer_number == "06139992");
}

// seed 003 エラーコード011: 「緊急時医療情報・資格確認機能が利用可能になった後に、保険資格の確認」;
// seed 004 災害時モード: the lookup happens at the desk.
TEST_CASE("災害時モード / error 011 lookups", "[fallback]") {
  auto o = Outcome(Method::kEmergencyLookup, C::kTerminalError011);
  auto pending = fb::RouteClaim(o);
  REQUIRE(pending.ok());
  CHECK(pending->route == ClaimRoute::kConfirmLater);
  CHECK(pending->rule.id == "VERIFY_AFTER_ERROR_011");
  o.confirmed = Known(kConfirmed, "06139992");
  auto verified = fb::RouteClaim(o);
  REQUIRE(verified.ok());
  CHECK(verified->route == ClaimRoute::kCurrent);

  auto disaster = Outcome(Method::kEmergencyLookup, C::kNoDocument);
  disaster.input.presented = {};
  disaster.input.facility.emergency_mode_active = true;
  auto missing = fb::RouteClaim(disaster);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().reason == "CLAIM_ELIGIBILITY_MISSING");
  disaster.confirmed = Known(kConfirmed, "06139992");
  auto r = fb::RouteClaim(disaster);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kCurrent);
}

// seed 004 質問と回答 被保険者申立書① (初診 … １０割徴収); seed 000 一時的な「自費対応」
// 「後日、保険資格が確認でき次第、差額返金の対応を実施」.
TEST_CASE("10割: self-pay until confirmed, then current with a refund", "[fallback]") {
  auto o = Outcome(Method::kFullSelfPay, C::kNoDocument);
  o.input.presented = {};
  auto r = fb::RouteClaim(o);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kSelfPay);
  CHECK(r->rule.id == "SELF_PAY_UNTIL_CONFIRMED");
  o.confirmed = Known(kConfirmed, "06139992");
  r = fb::RouteClaim(o);
  REQUIRE(r.ok());
  CHECK(r->route == ClaimRoute::kCurrent);
  CHECK(NoteIds(*r) == std::vector<std::string>{"REFUND_AFTER_FULL_SELF_PAY"});

  // A card on a first visit has ④: 「自己負担10割でなく、これまで通りの自己負担額」.
  auto blocked = fb::RouteClaim(Outcome(Method::kFullSelfPay));
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().reason == "METHOD_NOT_ALLOWED");
  CHECK(blocked.error().metadata.at(0).second == "FULL_SELF_PAY_NOT_NEEDED");
}
