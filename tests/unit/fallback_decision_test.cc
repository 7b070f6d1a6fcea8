// The fallback decision engine (DOMAIN.md §6–10), table-tested from the seeds.
//
// Every row is written from the seed passage named in its comment, not from the engine: it lists
// the methods staff may use, in the order to try them (every method not listed must be blocked),
// the rule ids that decide the row, the charge and the first choice. Seed 003 is the MHLW deck
// (its page references P10–P18 are used where it gives them), seed 004 the 保団連 slides.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/fallback/decision.h"

namespace fb = onshid::core::fallback;
namespace oqs = onshid::core::oqs;
using fb::ClaimRoute;
using fb::Method;
using C = fb::FallbackCause;

namespace {

oqs::OqsDate D(const char* s) { return oqs::OqsDate::Parse(s).value(); }

// Personal data the reasons must never repeat.
constexpr const char* kInsurerNumber = "06139992";
constexpr const char* kInsurerName = "テスト健康保険組合";

fb::KnownEligibility Known(fb::KnownEligibility::Source source) {
  fb::KnownEligibility k;
  k.source = source;
  k.insurer_number = kInsurerNumber;
  k.symbol = "AB";
  k.number = "1234";
  k.branch = "01";
  k.insurer_name = kInsurerName;
  k.ratio_wari = 3;
  return k;
}

// A fallback case in words. Defaults: first visit, 実日数 1, nothing presented, 2025-12-10,
// a facility with OQS that reads no smartphones, under 70, not a newborn.
class Given {
 public:
  explicit Given(C cause) {
    c_.cause = cause;
    c_.date = D("20251210");
  }
  Given& Card() { return Present(onshid::core::Document::kMyNumberCard); }
  Given& Phone() { return Present(onshid::core::Document::kMyNumberSmartphone); }
  Given& Certificate() { return Present(onshid::core::Document::kQualificationCertificateCard); }
  Given& HealthCard() { return Present(onshid::core::Document::kHealthInsuranceCard); }
  Given& Notice() { return Present(onshid::core::Document::kQualificationNotice); }
  Given& Revisit() {
    c_.visit = fb::VisitKind::kRevisit;
    return *this;
  }
  Given& Days(int days) {
    c_.actual_days = days;
    return *this;
  }
  Given& Held() {  // the facility holds the eligibility of earlier visits
    c_.known_eligibilities.push_back(Known(fb::KnownEligibility::Source::kPastVisits));
    return *this;
  }
  Given& OldFromResult() {  // the 旧資格 a 資格(無効) result showed
    c_.known_eligibilities.push_back(Known(fb::KnownEligibility::Source::kInvalidResult));
    return *this;
  }
  Given& NoInsuranceNow() {
    c_.has_valid_insurance_now = false;
    return *this;
  }
  Given& On(const char* date) {
    c_.date = D(date);
    return *this;
  }
  Given& Age(fb::AgeBracket age) {
    c_.age = age;
    return *this;
  }
  Given& Newborn(fb::Newborn n) {
    c_.newborn = n;
    return *this;
  }
  Given& CertificateExpiry(const char* date) {
    c_.certificate_expiry = D(date);
    return *this;
  }
  Given& WithoutOqs() {
    c_.facility.oqs_available = false;
    return *this;
  }
  Given& ReadsPhones() { return Set(c_.facility.reads_smartphones); }
  Given& EmergencyMode() { return Set(c_.facility.emergency_mode_active); }
  operator fb::FallbackCase() const { return c_; }  // NOLINT(google-explicit-constructor)

 private:
  Given& Present(onshid::core::Document document) {
    c_.presented.Add(document);
    return *this;
  }
  Given& Set(bool& flag) {
    flag = true;
    return *this;
  }
  fb::FallbackCase c_;
};

struct Row {
  std::string name;
  fb::FallbackCase input;
  std::vector<Method> allowed;  // in order; every other method must be blocked
  Method first;
  fb::Charge charge;
  std::vector<std::pair<Method, std::string>> rules;  // the decisive rule of each method named
  std::vector<std::string> charge_notes = {};
  std::vector<std::pair<Method, ClaimRoute>> leads_to = {};
};

constexpr auto kNormal = fb::Charge::kNormalRatio;
constexpr auto kFull = fb::Charge::kFullSelfPay;
constexpr auto kVisual = Method::kVisualCheckMode;
constexpr auto kCert = Method::kQualificationCertificate;
constexpr auto kProvisional = Method::kProvisionalQuery;
constexpr auto kPortal = Method::kPortalScreen;
constexpr auto kNotice = Method::kEligibilityNotice;
constexpr auto kOral = Method::kOralConfirmation;
constexpr auto kAfter = Method::kConfirmAfterwards;
constexpr auto kLookup = Method::kEmergencyLookup;
constexpr auto kStatement = Method::kInsuranceStatement;
constexpr auto kTenWari = Method::kFullSelfPay;

std::string Names(const std::vector<Method>& methods) {
  std::string out;
  for (Method m : methods) out += std::string(fb::MethodName(m)) + " ";
  return out;
}

void CheckRow(const Row& row) {
  auto d = fb::Decide(row.input);
  if (!d.ok()) FAIL(d.error().reason << ": " << d.error().message);
  CHECK(d->engine_version == "fallback-engine/2");
  CHECK(d->input == row.input);
  REQUIRE(d->methods.size() == fb::kAllMethods.size());
  for (Method m : fb::kAllMethods) {
    INFO(fb::MethodName(m));
    CHECK(std::count_if(d->methods.begin(), d->methods.end(),
                        [m](const fb::MethodDecision& x) { return x.method == m; }) == 1);
  }
  CHECK(Names(d->AllowedInOrder()) == Names(row.allowed));
  CHECK(d->first_choice == row.first);
  CHECK(d->charge == row.charge);
  for (const auto& [m, id] : row.rules) {
    INFO(fb::MethodName(m));
    CHECK(d->Find(m).rule.id == id);
  }
  if (row.charge == kFull) {
    CHECK(d->charge_rule.id == d->Find(kTenWari).rule.id);
  } else {
    CHECK(d->charge_rule.id == "NORMAL_RATIO");
  }
  std::vector<std::string> notes;
  for (const auto& n : d->charge_notes) notes.push_back(n.id);
  CHECK(notes == row.charge_notes);
  for (const auto& [m, route] : row.leads_to) {
    INFO(fb::MethodName(m));
    CHECK(d->Find(m).leads_to == route);
  }
  // Every entry explains itself to both readers, cites a seed, and names no personal data.
  std::vector<fb::Rule> all = {d->charge_rule};
  for (const auto& m : d->methods) all.push_back(m.rule);
  all.insert(all.end(), d->charge_notes.begin(), d->charge_notes.end());
  for (const auto& r : all) {
    INFO(r.id);
    CHECK_FALSE(r.id.empty());
    CHECK_FALSE(r.reason.empty());
    CHECK_FALSE(r.reason_ja.empty());
    CHECK(r.source.rfind("seed ", 0) == 0);
    for (const auto* text : {&r.reason, &r.reason_ja}) {
      CHECK(text->find(kInsurerNumber) == std::string::npos);
      CHECK(text->find(kInsurerName) == std::string::npos);
    }
  }
}

void CheckRows(const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    SECTION(row.name) { CheckRow(row); }
  }
}

}  // namespace

// seed 003 p.10 「マイナ保険証で受付が出来ない例」 (マイナンバーカード利用時:
//   1. 電子証明書の有効期限切れ・ICチップ破損, 2. ネットワークエラー・カードリーダーが起動しない)
// and p.11 「資格確認方法」: ① マイナポータル画面 (PDF可) → ② お知らせ → ①②で確認できない場合
//   再診 ③口頭確認 / 初診 ④申立書; the patient pays 3割分等 (p.10), 「自己負担10割でなく」 (leaflet).
TEST_CASE("card reception fails: ① ② then ③ on a revisit, ④ on a first visit", "[fallback]") {
  CheckRows({
      // p.10 例1 + p.24/「マイナンバーカードに関する有効期限」: beyond the 3 months the fallback
      // applies; the expired certificate cannot log in, the PDF still counts (p.11 「事前に
      // ダウンロードしたPDFファイルの利用も可能」); a 資格確認書 is sent after expiry (seed 003
      // 交付対象者 「電子証明書の有効期限切れの方」, seed 004 「３か月前後に資格確認書が交付」).
      {"certificate expired beyond grace, first visit",
       Given(C::kCertificateExpired).Card().CertificateExpiry("20250820"),
       {kPortal, kNotice, kCert, kStatement},
       kPortal,
       kNormal,
       {{kVisual, "VISUAL_CHECK_NOT_APPLICABLE"},
        {kCert, "CERTIFICATE_ASK_AFTER_CERTIFICATE_EXPIRY"},
        {kProvisional, "PROVISIONAL_NO_DOCUMENT"},
        {kPortal, "PORTAL_PDF_ONLY"},
        {kNotice, "NOTICE_WITH_CARD"},
        {kOral, "ORAL_NEEDS_REVISIT"},
        {kAfter, "CONFIRM_AFTERWARDS_NEEDS_MULTIPLE_DAYS"},
        {kLookup, "EMERGENCY_LOOKUP_NOT_ACTIVE"},
        {kStatement, "STATEMENT_FIRST_VISIT"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}},
       {},
       {{kStatement, ClaimRoute::kUnknown}, {kPortal, ClaimRoute::kCurrent}}},
      // p.10 例1 (ICチップが破損し、読み取れない), p.11 再診 → ③.
      {"IC chip unreadable, revisit, the facility holds the eligibility",
       Given(C::kIcUnreadable).Card().Revisit().Held(),
       {kPortal, kNotice, kOral},
       kPortal,
       kNormal,
       {{kPortal, "PORTAL_WITH_CARD"},
        {kOral, "ORAL_ON_REVISIT"},
        {kStatement, "STATEMENT_REVISIT_USE_ORAL"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}},
       {},
       {{kOral, ClaimRoute::kCurrent}}},
      // p.10 例2 (ネットワークエラー), p.11 初診 → ④; 目視確認モード cannot reach OQS either
      // (seed 003 目視確認モードの使用場面 are identification problems only).
      {"network error, first visit",
       Given(C::kNetworkError).Card(),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kVisual, "VISUAL_CHECK_NEEDS_SYSTEM"},
        {kCert, "CERTIFICATE_NOT_PRESENTED"},
        {kOral, "ORAL_NEEDS_REVISIT"},
        {kAfter, "CONFIRM_AFTERWARDS_NEEDS_MULTIPLE_DAYS"},
        {kStatement, "STATEMENT_FIRST_VISIT"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}}},
      // p.10 例2 (顔認証付きカードリーダーが起動しない), p.11 再診 → ③.
      {"face reader does not start, revisit",
       Given(C::kFaceReaderWontStart).Card().Revisit().Held(),
       {kPortal, kNotice, kOral},
       kPortal,
       kNormal,
       {{kVisual, "VISUAL_CHECK_NEEDS_READER"}, {kOral, "ORAL_ON_REVISIT"}}},
      // p.11 ③ needs 「施設側で資格確認に必要な情報を把握していれば」; with nothing held and no
      // ④ on a revisit, only 10割 (seed 000 一時的な「自費対応」) is left if ①② fail.
      {"terminal trouble, revisit, nothing held",
       Given(C::kTerminalTrouble).Card().Revisit(),
       {kPortal, kNotice, kTenWari},
       kPortal,
       kNormal,
       {{kOral, "ORAL_NEEDS_HELD_ELIGIBILITY"},
        {kStatement, "STATEMENT_REVISIT_USE_ORAL"},
        {kTenWari, "FULL_SELF_PAY_IF_OTHERS_FAIL"}}},
      // p.11 ※マイナンバーカードを持参している場合は、マイナンバーカードでの資格確認も可能.
      {"card and smartphone presented: the card's methods apply",
       Given(C::kNetworkError).Card().Phone().ReadsPhones(),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kPortal, "PORTAL_WITH_CARD"}, {kStatement, "STATEMENT_FIRST_VISIT"}}},
  });
}

// seed 003 目視確認モードの利用: 「顔認証がうまくいかず、かつ…暗証番号を忘れてしまった」,
// 認知症・障害, 体調, 機械のトラブルで顔認証や暗証番号の入力操作ができない → staff button and the
// 4-digit passcode; then the normal consent screen follows.
TEST_CASE("identification fails: 目視確認モード first, then the tree", "[fallback]") {
  CheckRows({
      {"face fails and PIN forgotten, first visit",
       Given(C::kIdentificationFailed).Card(),
       {kVisual, kPortal, kNotice, kStatement},
       kVisual,
       kNormal,
       {{kVisual, "VISUAL_CHECK_FOR_IDENTIFICATION"}, {kStatement, "STATEMENT_FIRST_VISIT"}},
       {},
       {{kVisual, ClaimRoute::kCurrent}}},
      {"face fails and PIN locked, revisit",
       Given(C::kIdentificationFailed).Card().Revisit().Held(),
       {kVisual, kPortal, kNotice, kOral},
       kVisual,
       kNormal,
       {{kOral, "ORAL_ON_REVISIT"}}},
  });
}

// seed 003 p.10 マイナ保険証（スマートフォン）利用時: 1. 環境を整備していない, 2. ネットワーク
// エラー・汎用カードリーダーの故障; p.11 「マイナ保険証（スマートフォン）を提示したが、受付が
// 出来ない →①の方法で資格確認」 (DOMAIN.md §7: the only method); p.16 ※スマートフォンのみでは不詳
// 不可. If ① fails, 10割 with a refund (seed 000).
TEST_CASE("smartphone only: the マイナポータル screen is the only method", "[fallback]") {
  CheckRows({
      {"facility cannot read phones, first visit",
       Given(C::kSmartphoneNotSupported).Phone(),
       {kPortal, kTenWari},
       kPortal,
       kNormal,
       {{kPortal, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {kNotice, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {kOral, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {kAfter, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {kStatement, "STATEMENT_NOT_FOR_SMARTPHONE_ONLY"},
        {kCert, "CERTIFICATE_NOT_PRESENTED"},
        {kTenWari, "FULL_SELF_PAY_SMARTPHONE_ONLY"}}},
      {"generic reader broken, revisit with held eligibility: still ① only",
       Given(C::kGenericReaderBroken).Phone().ReadsPhones().Revisit().Held(),
       {kPortal, kTenWari},
       kPortal,
       kNormal,
       {{kOral, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"},
        {kTenWari, "FULL_SELF_PAY_SMARTPHONE_ONLY"}}},
      {"network error at a facility reading phones, 実日数 2: still ① only",
       Given(C::kNetworkError).Phone().ReadsPhones().Days(2),
       {kPortal, kTenWari},
       kPortal,
       kNormal,
       {{kAfter, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"}}},
      // 資格(無効) page: 「マイナポータルで資格情報が表示できません」 — and with only a phone
      // nothing else applies.
      {"資格(無効) read from the phone: ① cannot show it, 10割",
       Given(C::kResultInvalid).Phone().ReadsPhones(),
       {kTenWari},
       kTenWari,
       kFull,
       {{kPortal, "PORTAL_CANNOT_SHOW_INVALID_RESULT"},
        {kTenWari, "FULL_SELF_PAY_SMARTPHONE_ONLY"}}},
      // seed 002 後期高齢者 資格確認書 (2026年7月末までの暫定措置): it stands alone, so ask for it.
      {"後期高齢者 with only a phone, 2026-07-31: ask for the 資格確認書 after ①",
       Given(C::kSmartphoneNotSupported).Phone().Age(fb::AgeBracket::kKouki).On("20260731"),
       {kPortal, kCert, kTenWari},
       kPortal,
       kNormal,
       {{kCert, "CERTIFICATE_ASK_KOUKI"}, {kTenWari, "FULL_SELF_PAY_SMARTPHONE_ONLY"}}},
  });
}

// seed 003 「資格（無効）」や「資格情報なし」等の結果が返ってくる場合の対応方法: 資格（無効）
// (転居・転職で登録遅れ), 資格情報なし (削除, DV 等で表示停止); 「マイナポータルで資格情報が表示
// できません」 → ② → 再診 ③ / 初診 ④; p.14 旧資格 from the 「資格（無効）」画面.
TEST_CASE("資格(無効) / 資格情報なし: ① impossible, start with ②", "[fallback]") {
  CheckRows({
      {"資格(無効), first visit, 旧資格 shown",
       Given(C::kResultInvalid).Card().OldFromResult(),
       {kNotice, kStatement},
       kNotice,
       kNormal,
       {{kPortal, "PORTAL_CANNOT_SHOW_INVALID_RESULT"},
        {kNotice, "NOTICE_FIRST_AFTER_INVALID_RESULT"},
        {kStatement, "STATEMENT_FIRST_VISIT"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}},
       {},
       {{kStatement, ClaimRoute::kOldEligibility}}},
      {"無効（新しい資格あり）, revisit",
       Given(C::kResultInvalidNewerExists).Card().Revisit().Held(),
       {kNotice, kOral},
       kNotice,
       kNormal,
       {{kPortal, "PORTAL_CANNOT_SHOW_INVALID_RESULT"}, {kOral, "ORAL_ON_REVISIT"}}},
      {"資格情報なし, first visit: ④ leads to 不詳",
       Given(C::kResultNoRecord).Card(),
       {kNotice, kStatement},
       kNotice,
       kNormal,
       {{kPortal, "PORTAL_CANNOT_SHOW_INVALID_RESULT"}, {kStatement, "STATEMENT_FIRST_VISIT"}},
       {},
       {{kStatement, ClaimRoute::kUnknown}}},
      {"資格情報なし, revisit",
       Given(C::kResultNoRecord).Card().Revisit().Held(),
       {kNotice, kOral},
       kNotice,
       kNormal,
       {{kNotice, "NOTICE_FIRST_AFTER_INVALID_RESULT"}}},
      // 複数該当 is not in the seeds; only 資格（無効）/資格情報なし are said to hide ①.
      {"複数該当 with the card, first visit",
       Given(C::kResultMultiple).Card(),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kPortal, "PORTAL_AFTER_MULTIPLE_RESULT"}, {kNotice, "NOTICE_WITH_CARD"}}},
      // A processing error is a system failure (p.10 例2 機器トラブル等).
      {"processing error, first visit",
       Given(C::kProcessingError).Card(),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kVisual, "VISUAL_CHECK_NEEDS_SYSTEM"}, {kPortal, "PORTAL_WITH_CARD"}}},
  });
}

// seed 003 p.16 被保険者番号不詳でのレセプト請求の対応可否の確認:
//   「該当しない場合、被保険者資格申立書の使用及び被保険者番号不詳でのレセプト請求はできません」
//   — 現在有効な保険資格; マイナ保険証（マイナンバーカード）を持参 (※資格確認書や、スマートフォン
//   のみは不可; 新生児は利用登録済みか確認, ※出生直後は資格確認書); 初診（初回） — 再診 → 口頭,
//   複数回受診（実日数が2日以上）→ 事後的に確認.
TEST_CASE("申立書 conditions: valid insurance, the card, a first visit on the first day",
          "[fallback]") {
  CheckRows({
      {"patient has no valid insurance now",
       Given(C::kNetworkError).Card().NoInsuranceNow(),
       {kPortal, kNotice, kTenWari},
       kPortal,
       kNormal,
       {{kStatement, "STATEMENT_NEEDS_VALID_INSURANCE"},
        {kTenWari, "FULL_SELF_PAY_NO_VALID_INSURANCE"}}},
      // 資格確認書 stands alone (seed 003 資格確認書の種類等; 011 「現物を用いて資格確認」).
      {"資格確認書 only, network error",
       Given(C::kNetworkError).Certificate(),
       {kCert},
       kCert,
       kNormal,
       {{kCert, "CERTIFICATE_FACE_WHILE_OQS_DOWN"},
        {kPortal, "PORTAL_NEEDS_CARD"},
        {kNotice, "NOTICE_NEEDS_CARD"},
        {kStatement, "STATEMENT_NEEDS_CARD"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}}},
      // p.16 ※資格確認書のみ → no 申立書; with no way to confirm on a first visit, 10割 (seed 004).
      {"資格確認書 only, OQS says 資格(無効), first visit",
       Given(C::kResultInvalid).Certificate(),
       {kTenWari},
       kTenWari,
       kFull,
       {{kCert, "CERTIFICATE_NOT_CONFIRMED_BY_OQS"},
        {kStatement, "STATEMENT_NEEDS_CARD"},
        {kTenWari, "FULL_SELF_PAY_NO_CARD_FIRST_VISIT"}}},
      {"資格確認書 only, OQS says 資格(無効), revisit",
       Given(C::kResultInvalid).Certificate().Revisit().Held(),
       {kOral},
       kOral,
       kNormal,
       {{kCert, "CERTIFICATE_NOT_CONFIRMED_BY_OQS"}, {kOral, "ORAL_ON_REVISIT"}}},
      {"資格確認書 only, 複数該当: check the 枝番",
       Given(C::kResultMultiple).Certificate(),
       {kCert},
       kCert,
       kNormal,
       {{kCert, "CERTIFICATE_RECHECK_IDENTIFIERS"}}},
      {"card and 資格確認書, IC unreadable: query with the 資格確認書",
       Given(C::kIcUnreadable).Card().Certificate(),
       {kCert, kPortal, kNotice},
       kCert,
       kNormal,
       {{kCert, "CERTIFICATE_QUERY_WITH_IDENTIFIERS"},
        {kStatement, "STATEMENT_NOT_NEEDED_CERTIFICATE"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}}},
      {"newborn, registration not checked",
       Given(C::kNetworkError).Card().Newborn(fb::Newborn::kRegistrationUnchecked),
       {kPortal, kNotice, kCert, kTenWari},
       kPortal,
       kNormal,
       {{kCert, "CERTIFICATE_ASK_NEWBORN"},
        {kStatement, "STATEMENT_NEWBORN_CHECK_REGISTRATION"},
        {kTenWari, "FULL_SELF_PAY_IF_OTHERS_FAIL"}}},
      {"newborn, card not registered: ① ② ④ impossible, ask for the 資格確認書",
       Given(C::kResultNoRecord).Card().Newborn(fb::Newborn::kCardNotRegistered),
       {kCert, kTenWari},
       kCert,
       kNormal,
       {{kPortal, "NEWBORN_CARD_NOT_REGISTERED"},
        {kNotice, "NEWBORN_CARD_NOT_REGISTERED"},
        {kCert, "CERTIFICATE_ASK_NEWBORN"},
        {kAfter, "CONFIRM_AFTERWARDS_NEEDS_CARD"},
        {kStatement, "STATEMENT_NEWBORN_NOT_REGISTERED"},
        {kTenWari, "FULL_SELF_PAY_IF_OTHERS_FAIL"}}},
      {"newborn, card registered: as any card",
       Given(C::kNetworkError).Card().Newborn(fb::Newborn::kCardRegistered),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kCert, "CERTIFICATE_NOT_PRESENTED"}, {kStatement, "STATEMENT_FIRST_VISIT"}}},
      // 実日数 ≥ 2 (複数回受診): the other side of 実日数 1 in "network error, first visit".
      {"first visit, 実日数 2: confirm afterwards, no 申立書",
       Given(C::kNetworkError).Card().Days(2),
       {kPortal, kNotice, kAfter},
       kPortal,
       kNormal,
       {{kAfter, "CONFIRM_AFTERWARDS_MULTIPLE_DAYS"},
        {kStatement, "STATEMENT_MULTIPLE_DAYS_CONFIRM_AFTERWARDS"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}},
       {},
       {{kAfter, ClaimRoute::kConfirmLater}}},
      {"資格(無効), first visit, 実日数 2, 旧資格 known",
       Given(C::kResultInvalid).Card().Days(2).OldFromResult(),
       {kNotice, kAfter},
       kNotice,
       kNormal,
       {{kStatement, "STATEMENT_MULTIPLE_DAYS_CONFIRM_AFTERWARDS"}},
       {},
       {{kAfter, ClaimRoute::kOldEligibility}}},
      {"資格情報なし, revisit, 実日数 3",
       Given(C::kResultNoRecord).Card().Revisit().Held().Days(3),
       {kNotice, kOral, kAfter},
       kNotice,
       kNormal,
       {{kStatement, "STATEMENT_REVISIT_USE_ORAL"}, {kAfter, "CONFIRM_AFTERWARDS_MULTIPLE_DAYS"}}},
  });
}

// seed 004 質問と回答 被保険者申立書①: 資格確認書を紛失 / 転職したばかりでマイナ保険証もない →
// 「再診患者さんは口頭で変更ないか確認し従来の割合で診療し、初診の場合は確認のしようがないので
// １０割徴収する。資格申立書はマイナカードを持っている前提で使う運用となっているため、利用できない。」
TEST_CASE("no マイナ保険証 and no 資格確認書: revisit 口頭確認, first visit 10割", "[fallback]") {
  CheckRows({
      {"lost 資格確認書, first visit",
       Given(C::kNoDocument),
       {kTenWari},
       kTenWari,
       kFull,
       {{kPortal, "PORTAL_NEEDS_CARD"},
        {kNotice, "NOTICE_NEEDS_CARD"},
        {kOral, "ORAL_NEEDS_REVISIT"},
        {kStatement, "STATEMENT_NEEDS_CARD"},
        {kTenWari, "FULL_SELF_PAY_NO_CARD_FIRST_VISIT"}},
       {},
       {{kTenWari, ClaimRoute::kSelfPay}}},
      {"lost 資格確認書, revisit",
       Given(C::kNoDocument).Revisit().Held(),
       {kOral},
       kOral,
       kNormal,
       {{kOral, "ORAL_ON_REVISIT_WITHOUT_CARD"},
        {kStatement, "STATEMENT_NEEDS_CARD"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}}},
      {"job change without card, revisit but nothing held",
       Given(C::kNoDocument).Revisit(),
       {kTenWari},
       kTenWari,
       kFull,
       {{kOral, "ORAL_NEEDS_HELD_ELIGIBILITY"}, {kTenWari, "FULL_SELF_PAY_NO_METHOD"}}},
  });
}

// seed 004 質問と回答 被保険者申立書② (「70 歳以上等の患者について、患者の申立てに基づく割合で
// 一部負担金を受領した場合…負担割合相違によるレセプト返戻は行わない」); seed 003 別紙様式 ※2
// (70歳以上の方、または後期高齢者は一部負担金の割合も記入); seed 002 後期高齢者 資格確認書
// 「2026年7月末までの暫定措置」.
TEST_CASE("70+ and 後期: the self-declared ratio and the 後期 資格確認書", "[fallback]") {
  CheckRows({
      {"70–74, first visit: ④ with the self-declared ratio",
       Given(C::kNetworkError).Card().Age(fb::AgeBracket::k70To74),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kStatement, "STATEMENT_FIRST_VISIT"}},
       {"SELF_DECLARED_RATIO_70_PLUS"}},
      {"70–74, revisit: no 申立書, no ratio note",
       Given(C::kNetworkError).Card().Age(fb::AgeBracket::k70To74).Revisit().Held(),
       {kPortal, kNotice, kOral},
       kPortal,
       kNormal,
       {{kOral, "ORAL_ON_REVISIT"}}},
      {"後期, 2026-07-31: ask for the 資格確認書 before ④",
       Given(C::kNetworkError).Card().Age(fb::AgeBracket::kKouki).On("20260731"),
       {kPortal, kNotice, kCert, kStatement},
       kPortal,
       kNormal,
       {{kCert, "CERTIFICATE_ASK_KOUKI"}},
       {"SELF_DECLARED_RATIO_70_PLUS"}},
      {"後期, 2026-08-01: the automatic 資格確認書 has ended",
       Given(C::kNetworkError).Card().Age(fb::AgeBracket::kKouki).On("20260801"),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kCert, "CERTIFICATE_NOT_PRESENTED"}},
       {"SELF_DECLARED_RATIO_70_PLUS"}},
  });
}

// seed 003 チャットボット エラーコード011: 「資格確認端末不良のため、端末導入設定ベンダに連絡…
// 不具合が解消するまでは…現物を用いて資格確認」; 「患者が初回の来院/来局で、かつ健康保険証を所持
// していない場合は、マイナンバーカードの券面から…氏名（漢字）又は氏名（カナ）・性別・生年月日・
// 住所又は保険者名を控え…3割分を受領」; 「緊急時医療情報・資格確認機能が利用可能になった後に、
// 保険資格の確認」.
TEST_CASE("error 011: note the card face, collect 3割, verify later", "[fallback]") {
  CheckRows({
      {"011, card, first visit",
       Given(C::kTerminalError011).Card(),
       {kPortal, kNotice, kLookup, kStatement},
       kPortal,
       kNormal,
       {{kVisual, "VISUAL_CHECK_NEEDS_SYSTEM"},
        {kLookup, "EMERGENCY_LOOKUP_AFTER_ERROR_011"},
        {kStatement, "STATEMENT_FIRST_VISIT"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}},
       {"THREE_WARI_UNTIL_VERIFIED"},
       {{kLookup, ClaimRoute::kConfirmLater}}},
      {"011, 資格確認書 presented: check the document itself",
       Given(C::kTerminalError011).Certificate(),
       {kCert},
       kCert,
       kNormal,
       {{kCert, "CERTIFICATE_FACE_WHILE_OQS_DOWN"}, {kLookup, "EMERGENCY_LOOKUP_NOT_NEEDED"}}},
      {"011, card, revisit",
       Given(C::kTerminalError011).Card().Revisit().Held(),
       {kPortal, kNotice, kOral, kLookup},
       kPortal,
       kNormal,
       {{kOral, "ORAL_ON_REVISIT"}, {kLookup, "EMERGENCY_LOOKUP_AFTER_ERROR_011"}},
       {"THREE_WARI_UNTIL_VERIFIED"}},
      {"011, smartphone only: no card face to note",
       Given(C::kTerminalError011).Phone().ReadsPhones(),
       {kPortal, kTenWari},
       kPortal,
       kNormal,
       {{kLookup, "EMERGENCY_LOOKUP_NEEDS_CARD_FACE"},
        {kTenWari, "FULL_SELF_PAY_SMARTPHONE_ONLY"}}},
  });
}

// seed 004 災害時の対応について:
//   「マイナンバーカードを持参しなくても、氏名、生年月日、性別、住所等を…お伝えすることで、
//   患者ご本人の同意の下…閲覧が可能な機能（災害時モードの適用）」;
//   ［２］④ 「なおネットがつながる場合、災害時モードで医療情報が閲覧できる」.
// seed 000 システム障害時フロー: 障害が長期化する場合 → 災害時モード.
TEST_CASE("災害時モード: a lookup without the card while it is enabled", "[fallback]") {
  CheckRows({
      {"enabled, nothing presented, first visit",
       Given(C::kNoDocument).EmergencyMode(),
       {kLookup},
       kLookup,
       kNormal,
       {{kLookup, "EMERGENCY_LOOKUP_DISASTER_MODE"}, {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}},
       {},
       {{kLookup, ClaimRoute::kCurrent}}},
      {"enabled, but the network is down",
       Given(C::kNetworkError).Card().EmergencyMode(),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kLookup, "EMERGENCY_LOOKUP_NEEDS_NETWORK"}}},
  });
}

// seed 003 オンライン資格確認未導入施設（義務化対象外等）における資格確認方法: 「資格確認書で資格
// 確認いただくか…マイナンバーカードと併せて、マイナポータルの資格情報の画面または資格情報のお知らせ
// の提示により資格確認」.
TEST_CASE("facility without OQS: 資格確認書, or the card with ① or ②", "[fallback]") {
  CheckRows({
      {"card, first visit",
       Given(C::kNoOnlineVerification).Card().WithoutOqs(),
       {kPortal, kNotice, kTenWari},
       kPortal,
       kNormal,
       {{kVisual, "FACILITY_WITHOUT_OQS"},
        {kPortal, "PORTAL_WITH_CARD_NO_OQS"},
        {kNotice, "NOTICE_WITH_CARD_NO_OQS"},
        {kLookup, "FACILITY_WITHOUT_OQS"},
        {kStatement, "FACILITY_WITHOUT_OQS"},
        {kTenWari, "FULL_SELF_PAY_IF_OTHERS_FAIL"}}},
      {"資格確認書",
       Given(C::kNoOnlineVerification).Certificate().WithoutOqs(),
       {kCert},
       kCert,
       kNormal,
       {{kCert, "CERTIFICATE_AT_FACILITY_WITHOUT_OQS"}}},
      {"card, revisit: 口頭確認 still applies (seed 004)",
       Given(C::kNoOnlineVerification).Card().WithoutOqs().Revisit().Held(),
       {kPortal, kNotice, kOral},
       kPortal,
       kNormal,
       {{kOral, "ORAL_ON_REVISIT"}}},
      {"smartphone only",
       Given(C::kNoOnlineVerification).Phone().WithoutOqs(),
       {kPortal, kTenWari},
       kPortal,
       kNormal,
       {{kPortal, "SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD"}}},
  });
}

// The date rules, each from both sides.
// seed 003 健康保険証: 「令和7年12月1日をもって…有効期限が満了」.
// seed 003 有効期限切れの健康保険証等に関する暫定的な取扱い:
//   「令和7年12月2日以降…持っていない場合…令和8年3月末までに限り…被保険者番号等により
//   オンライン資格確認システムに資格情報を照会するなどした上で…3割等の一定の負担額を求めて
//   レセプト請求を行うことも可」; 次回以降はマイナ保険証又は資格確認書を持参いただくようお声掛け.
TEST_CASE("date rules: 健康保険証 to 2025-12-01, the provisional path to 2026-03-31",
          "[fallback]") {
  CheckRows({
      {"健康保険証 on 2025-12-01 stands alone",
       Given(C::kNetworkError).HealthCard().On("20251201"),
       {kCert},
       kCert,
       kNormal,
       {{kCert, "HEALTH_INSURANCE_CARD_VALID_TO_2025_12_01"},
        {kProvisional, "PROVISIONAL_NO_DOCUMENT"},
        {kStatement, "STATEMENT_NEEDS_CARD"}}},
      {"健康保険証 on 2025-12-02 is expired, and the provisional query needs OQS",
       Given(C::kNetworkError).HealthCard().On("20251202"),
       {kTenWari},
       kTenWari,
       kFull,
       {{kCert, "CERTIFICATE_NOT_PRESENTED"},
        {kProvisional, "PROVISIONAL_QUERY_UNAVAILABLE"},
        {kTenWari, "FULL_SELF_PAY_NO_CARD_FIRST_VISIT"}}},
      {"expired 健康保険証 on 2026-03-31: query with its numbers",
       Given(C::kNoDocument).HealthCard().On("20260331"),
       {kProvisional},
       kProvisional,
       kNormal,
       {{kProvisional, "PROVISIONAL_QUERY_UNTIL_2026_03_31"},
        {kTenWari, "FULL_SELF_PAY_NOT_NEEDED"}},
       {},
       {{kProvisional, ClaimRoute::kCurrent}}},
      {"expired 健康保険証 on 2026-04-01: the provisional path has ended",
       Given(C::kNoDocument).HealthCard().On("20260401"),
       {kTenWari},
       kTenWari,
       kFull,
       {{kProvisional, "PROVISIONAL_PERIOD_ENDED"},
        {kTenWari, "FULL_SELF_PAY_NO_CARD_FIRST_VISIT"}}},
      {"お知らせ alone on 2025-12-01: not yet provisional",
       Given(C::kNoDocument).Notice().On("20251201"),
       {kTenWari},
       kTenWari,
       kFull,
       {{kProvisional, "PROVISIONAL_NOT_STARTED"}, {kNotice, "NOTICE_NEEDS_CARD"}}},
      {"お知らせ alone on 2025-12-02: query with its numbers",
       Given(C::kNoDocument).Notice().On("20251202"),
       {kProvisional},
       kProvisional,
       kNormal,
       {{kProvisional, "PROVISIONAL_QUERY_UNTIL_2026_03_31"}, {kNotice, "NOTICE_NEEDS_CARD"}}},
      {"お知らせ alone on 2026-04-01, revisit: 口頭確認 (seed 004)",
       Given(C::kNoDocument).Notice().On("20260401").Revisit().Held(),
       {kOral},
       kOral,
       kNormal,
       {{kProvisional, "PROVISIONAL_PERIOD_ENDED"}, {kOral, "ORAL_ON_REVISIT_WITHOUT_CARD"}}},
      {"the query said 資格情報なし for the expired card's numbers",
       Given(C::kResultNoRecord).HealthCard().On("20260110"),
       {kTenWari},
       kTenWari,
       kFull,
       {{kProvisional, "PROVISIONAL_NOT_CONFIRMED_BY_OQS"}}},
      {"a マイナ保険証 holder with an old card: use the card",
       Given(C::kNetworkError).Card().HealthCard().On("20260110"),
       {kPortal, kNotice, kStatement},
       kPortal,
       kNormal,
       {{kProvisional, "PROVISIONAL_NOT_NEEDED"}}},
  });
}

// seed 003 マイナンバーカードに関する有効期限:
//   「有効期限満了日が属する月の末日から3ヶ月間は資格情報の閲覧が可能…通常どおりマイナ保険証
//   での受付…それ以降は、P11の資格確認方法で資格確認」.
TEST_CASE("date rule: the certificate's 3-month grace", "[fallback]") {
  CHECK(fb::CertificateGraceLastDay(D("20251019")) == D("20260131"));
  CHECK(fb::CertificateGraceLastDay(D("20251031")) == D("20260131"));
  CHECK(fb::CertificateGraceLastDay(D("20251101")) == D("20260228"));
  CHECK(fb::CertificateGraceLastDay(D("20271130")) == D("20280229"));

  fb::FallbackCase in_grace =
      Given(C::kCertificateExpired).Card().CertificateExpiry("20251019").On("20260131");
  auto d = fb::Decide(in_grace);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().reason == "CERTIFICATE_IN_GRACE");
  CHECK(d.error().kind == onshid::core::ErrorKind::kFailedPrecondition);
  CHECK(d.error().message_ja.find("マイナ保険証") != std::string::npos);

  CheckRow({"the day after the grace period",
            Given(C::kCertificateExpired).Card().CertificateExpiry("20251019").On("20260201"),
            {kPortal, kNotice, kCert, kStatement},
            kPortal,
            kNormal,
            {{kPortal, "PORTAL_PDF_ONLY"}, {kCert, "CERTIFICATE_ASK_AFTER_CERTIFICATE_EXPIRY"}}});
  CheckRow({"expiry date unknown: the reader's refusal is taken as beyond grace",
            Given(C::kCertificateExpired).Card(),
            {kPortal, kNotice, kCert, kStatement},
            kPortal,
            kNormal,
            {{kPortal, "PORTAL_PDF_ONLY"}}});
}

TEST_CASE("inconsistent cases are rejected with every field named", "[fallback]") {
  struct Bad {
    std::string name;
    fb::FallbackCase input;
    std::vector<std::string> fields;
  };
  fb::FallbackCase no_date = Given(C::kNetworkError).Card();
  no_date.date.reset();
  fb::FallbackCase confirmed_known = Given(C::kNetworkError).Card();
  confirmed_known.known_eligibilities.push_back(Known(fb::KnownEligibility::Source::kConfirmed));
  const std::vector<Bad> bad = {
      {"no date", no_date, {"date"}},
      {"実日数 0", Given(C::kNetworkError).Card().Days(0), {"actual_days"}},
      {"実日数 32", Given(C::kNetworkError).Card().Days(32), {"actual_days"}},
      {"IC cause without the card",
       Given(C::kIcUnreadable).Phone().ReadsPhones(),
       {"presented"}},
      {"identification cause with a 資格確認書 only",
       Given(C::kIdentificationFailed).Certificate(),
       {"presented"}},
      {"face reader cause with a 資格確認書 only",
       Given(C::kFaceReaderWontStart).Certificate(),
       {"presented"}},
      {"smartphone cause with the card",
       Given(C::kSmartphoneNotSupported).Card(),
       {"presented"}},
      {"smartphone not supported where phones are read",
       Given(C::kSmartphoneNotSupported).Phone().ReadsPhones(),
       {"facility.reads_smartphones"}},
      {"generic reader broken where phones are not read",
       Given(C::kGenericReaderBroken).Phone(),
       {"facility.reads_smartphones"}},
      {"a phone-only result where phones are not read",
       Given(C::kResultInvalid).Phone(),
       {"facility.reads_smartphones"}},
      {"network error with nothing presented", Given(C::kNetworkError), {"presented"}},
      {"NO_DOCUMENT with a card", Given(C::kNoDocument).Card(), {"presented"}},
      {"NO_DOCUMENT with a 資格確認書", Given(C::kNoDocument).Certificate(), {"presented"}},
      {"a result at a facility without OQS",
       Given(C::kResultInvalid).Card().WithoutOqs(),
       {"facility.oqs_available"}},
      {"NO_ONLINE_VERIFICATION where OQS exists",
       Given(C::kNoOnlineVerification).Card(),
       {"facility.oqs_available"}},
      {"certificate expiry on the visit day",
       Given(C::kCertificateExpired).Card().CertificateExpiry("20251210"),
       {"certificate_expiry"}},
      {"certificate expiry with another cause",
       Given(C::kNetworkError).Card().CertificateExpiry("20250101"),
       {"certificate_expiry"}},
      {"a 資格(無効) 旧資格 without the result",
       Given(C::kNetworkError).Card().OldFromResult(),
       {"known_eligibilities"}},
      {"a confirmed eligibility in a decision", confirmed_known, {"known_eligibilities"}},
      {"a newborn aged 70+",
       Given(C::kNetworkError)
           .Card()
           .Newborn(fb::Newborn::kCardRegistered)
           .Age(fb::AgeBracket::k70To74),
       {"newborn"}},
      {"several problems at once",
       Given(C::kIcUnreadable).Days(0).WithoutOqs(),
       {"actual_days", "presented", "facility.oqs_available"}},
  };
  for (const auto& b : bad) {
    SECTION(b.name) {
      auto d = fb::Decide(b.input);
      REQUIRE_FALSE(d.ok());
      CHECK(d.error().reason == "INVALID_FALLBACK_CASE");
      CHECK(d.error().kind == onshid::core::ErrorKind::kInvalidArgument);
      CHECK_FALSE(d.error().message_ja.empty());
      for (const auto& field : b.fields) {
        INFO(field);
        CHECK(std::any_of(d.error().field_violations.begin(), d.error().field_violations.end(),
                          [&](const onshid::core::FieldViolation& v) { return v.field == field; }));
      }
    }
  }
}

TEST_CASE("names are stable and every enum value has one", "[fallback]") {
  for (Method m : fb::kAllMethods) {
    CHECK_FALSE(fb::MethodName(m).empty());
    CHECK_FALSE(fb::MethodNameJa(m).empty());
  }
  CHECK(fb::MethodName(Method::kPortalScreen) == "PORTAL_SCREEN");
  CHECK(fb::MethodNameJa(Method::kInsuranceStatement) == "被保険者資格申立書");
  CHECK(onshid::core::ToString(C::kTerminalError011) == "TERMINAL_ERROR_011");
  CHECK(onshid::core::ToString(C::kResultInvalidNewerExists) == "RESULT_INVALID_NEWER_EXISTS");
  CHECK(fb::ChargeName(fb::Charge::kFullSelfPay) == "FULL_SELF_PAY");
  CHECK(fb::ClaimRouteName(ClaimRoute::kOldEligibility) == "OLD_ELIGIBILITY");
  CHECK(fb::ClaimRouteNameJa(ClaimRoute::kUnknown) == "不詳");
  CHECK(fb::kEngineVersion == "fallback-engine/2");
}

TEST_CASE("the cause and the 旧資格 of an eligibility result", "[fallback]") {
  const auto with_validity = [](oqs::QualificationValidity v) {
    oqs::EligibilityResult r;
    r.qualification_validity = oqs::CodeValue<oqs::QualificationValidity>{"", v};
    return r;
  };
  using V = oqs::QualificationValidity;
  CHECK(fb::FallbackCauseOf(with_validity(V::kInvalid)) == C::kResultInvalid);
  CHECK(fb::FallbackCauseOf(with_validity(V::kInvalidNewerExists)) == C::kResultInvalidNewerExists);
  CHECK(fb::FallbackCauseOf(with_validity(V::kNoRecord)) == C::kResultNoRecord);
  CHECK(fb::FallbackCauseOf(with_validity(V::kMultiple)) == C::kResultMultiple);
  CHECK_FALSE(fb::FallbackCauseOf(with_validity(V::kValid)));
  CHECK_FALSE(fb::FallbackCauseOf(with_validity(V::kValidUnregistered)));
  CHECK_FALSE(fb::FallbackCauseOf(oqs::EligibilityResult{}));
  auto error = with_validity(V::kValid);
  error.processing_result_status =
      oqs::CodeValue<oqs::ProcessingResultStatus>{"2", oqs::ProcessingResultStatus::kError};
  CHECK(fb::FallbackCauseOf(error) == C::kProcessingError);
  auto abnormal = oqs::EligibilityResult{};
  abnormal.header.segment_of_result =
      oqs::CodeValue<oqs::SegmentOfResult>{"3", oqs::SegmentOfResult::kAbnormal};
  CHECK(fb::FallbackCauseOf(abnormal) == C::kProcessingError);

  auto r = with_validity(V::kInvalidNewerExists);
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
  CHECK_FALSE(fb::OldEligibilityOf(with_validity(V::kInvalid)));  // no entry
  auto no_record = r;
  no_record.qualification_validity = oqs::CodeValue<V>{"4", V::kNoRecord};
  CHECK_FALSE(fb::OldEligibilityOf(no_record));
}
