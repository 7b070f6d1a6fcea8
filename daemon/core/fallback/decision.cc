#include "core/fallback/decision.h"

#include "core/names.h"

#include <algorithm>
#include <utility>

namespace onshid::core::fallback {
namespace {

using std::chrono::year_month_day;

// Where each rule comes from. Seed 003 is the MHLW deck; its own page references (P11, P14, P16,
// P18) are kept where it gives them.
constexpr const char* kSrcTree = "seed 003 p.11 資格確認方法 ①〜④ (DOMAIN.md §7)";
constexpr const char* kSrcSmartphone =
    "seed 003 p.11 「マイナ保険証（スマートフォン）を提示したが、受付が出来ない→①の方法で資格確認」"
    " (DOMAIN.md §7)";
constexpr const char* kSrcInvalidResult =
    "seed 003 「資格（無効）」や「資格情報なし」等の結果が返ってくる場合の対応方法 (DOMAIN.md §7)";
constexpr const char* kSrcFusho =
    "seed 003 p.16 被保険者番号不詳でのレセプト請求の対応可否の確認 (DOMAIN.md §8)";
constexpr const char* kSrcNewborn = "seed 003 p.16 新生児の場合 (DOMAIN.md §8)";
constexpr const char* kSrcNoCardFaq = "seed 004 質問と回答 被保険者申立書① (DOMAIN.md §7)";
constexpr const char* kSrcRatio70 =
    "seed 004 質問と回答 被保険者申立書②; seed 003 別紙様式 ※2 (DOMAIN.md §9)";
constexpr const char* kSrc011 = "seed 003 チャットボット エラーコード011 (DOMAIN.md §10)";
constexpr const char* kSrcDisaster =
    "seed 004 災害時の対応について; seed 000 システム障害時フロー (DOMAIN.md §10)";
constexpr const char* kSrcVisual = "seed 003 目視確認モードの利用 (DOMAIN.md §3)";
constexpr const char* kSrcNoOqs =
    "seed 003 オンライン資格確認未導入施設（義務化対象外等）における資格確認方法 (DOMAIN.md §10)";
constexpr const char* kSrcCertificate = "seed 003 資格確認書の種類等について (DOMAIN.md §2)";
constexpr const char* kSrc011Certificate =
    "seed 003 エラーコード011 「現物を用いて資格確認」; 資格確認書の種類等について (DOMAIN.md §2, "
    "§10)";
constexpr const char* kSrcHealthCard =
    "seed 003 健康保険証の有効期限満了（令和7年12月1日） (DOMAIN.md §2)";
constexpr const char* kSrcProvisional =
    "seed 003 有効期限切れの健康保険証等に関する暫定的な取扱い（令和8年3月末まで） (DOMAIN.md §2)";
constexpr const char* kSrcNotice =
    "seed 004 「資格情報のお知らせ」は単独で利用できない (DOMAIN.md §2)";
constexpr const char* kSrcGrace = "seed 003 マイナンバーカードに関する有効期限 (DOMAIN.md §4)";
constexpr const char* kSrcAfterExpiry =
    "seed 003 資格確認書 交付対象者; seed 004 「３か月前後に資格確認書が交付」 (DOMAIN.md §4)";
constexpr const char* kSrcKouki =
    "seed 002 後期高齢者（2026年7月末までの暫定措置）; seed 003 資格確認書 交付対象者 (DOMAIN.md "
    "§2)";
constexpr const char* kSrcMultipleDays = "seed 003 p.16 複数回受診 (DOMAIN.md §8)";
constexpr const char* kSrcNormalRatio =
    "seed 003 患者向けリーフレット 「自己負担10割でなく、これまで通りの自己負担額」 (DOMAIN.md §7)";
constexpr const char* kSrcSelfPay =
    "seed 000 一時的な「自費対応」→後日の返金処理; seed 004 質問と回答 (DOMAIN.md §7)";

Rule R(std::string id, std::string source, std::string reason, std::string reason_ja) {
  return Rule{std::move(id), std::move(source), std::move(reason), std::move(reason_ja)};
}

// The facts every rule reads, computed once.
struct Facts {
  const FallbackCase& c;
  year_month_day date;
  bool card = false;                 // the My Number card itself
  bool phone_only = false;           // a smartphone マイナ保険証 without the card
  bool certificate = false;          // 資格確認書
  bool health_card_valid = false;    // 健康保険証 on or before 2025-12-01
  bool health_card_expired = false;  // 健康保険証 from 2025-12-02
  bool stand_alone =
      false;  // a presented document that stands alone (資格確認書, valid 健康保険証)
  bool not_shown = false;  // 資格(無効) / 無効（新しい資格あり） / 資格情報なし
  bool multiple = false;   // 複数該当
  bool oqs_down = false;   // OQS cannot be queried now
  bool no_oqs = false;     // the facility has no OQS
  bool first = false;      // 初診
  bool held = false;       // eligibility from past visits
  bool knows_old = false;    // any 旧資格 (資格(無効) or past visits)
  bool card_usable = false;  // the card counts as マイナ保険証 (a newborn's may not yet)

  explicit Facts(const FallbackCase& fc) : c(fc) {}
};

Facts Gather(const FallbackCase& c) {
  Facts f(c);
  const DocumentSet& p = c.presented;
  f.date = c.date->ymd();
  f.card = p.HasMyNumberCard();
  f.phone_only = p.HasSmartphone() && !p.HasMyNumberCard();
  f.certificate = p.HasQualificationCertificate();
  f.health_card_valid = p.HasHealthInsuranceCard() && f.date <= kHealthInsuranceCardLastDay;
  f.health_card_expired = p.HasHealthInsuranceCard() && !f.health_card_valid;
  f.stand_alone = f.certificate || f.health_card_valid;
  f.not_shown = c.cause == FallbackCause::kResultInvalid ||
                c.cause == FallbackCause::kResultInvalidNewerExists ||
                c.cause == FallbackCause::kResultNoRecord;
  f.multiple = c.cause == FallbackCause::kResultMultiple;
  f.oqs_down =
      c.cause == FallbackCause::kNetworkError || c.cause == FallbackCause::kTerminalTrouble ||
      c.cause == FallbackCause::kTerminalError011 || c.cause == FallbackCause::kProcessingError;
  f.no_oqs = !c.facility.oqs_available;
  f.first = c.visit == VisitKind::kFirstVisit;
  for (const auto& k : c.known_eligibilities) {
    f.held = f.held || k.source == KnownEligibility::Source::kPastVisits;
    f.knows_old = true;
  }
  f.card_usable = f.card && c.newborn != Newborn::kCardNotRegistered;
  return f;
}

// One entry before ordering: its rank among allowed methods and whether, once allowed, it settles
// the case by itself (then 10割 is not needed).
struct Entry {
  MethodDecision d;
  int rank = 0;
  bool settles = false;
};

int BaseRank(Method m) {
  return 10 * static_cast<int>(std::find(kAllMethods.begin(), kAllMethods.end(), m) -
                               kAllMethods.begin());
}

Entry Allow(Method m, Rule rule, ClaimRoute leads_to, bool settles) {
  return Entry{MethodDecision{m, true, std::move(rule), leads_to}, BaseRank(m), settles};
}

Entry Block(Method m, Rule rule) {
  return Entry{MethodDecision{m, false, std::move(rule), ClaimRoute::kCurrent}, BaseRank(m), false};
}

// Shared rules -------------------------------------------------------------------------------

Rule WithoutOqsRule() {
  return R(
      "FACILITY_WITHOUT_OQS", kSrcNoOqs,
      "a facility without online verification confirms with the 資格確認書, or with the card "
      "and the マイナポータル screen or the お知らせ; this method does not apply",
      "オンライン資格確認を導入していない施設では、資格確認書、またはマイナンバーカードと"
      "マイナポータルの資格情報画面・資格情報のお知らせで資格を確認します。この方法は使えません。");
}

Rule SmartphoneOnlyRule() {
  return R("SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD", kSrcSmartphone,
           "smartphone only: the マイナポータル screen is the only method (the patient logs in on "
           "the spot)",
           "スマートフォンのみの提示のため、確認方法はマイナポータルの資格情報画面だけです。"
           "その場でマイナポータルにログインして、資格情報画面を見せていただいてください。");
}

Rule NewbornNotRegisteredRule() {
  return R("NEWBORN_CARD_NOT_REGISTERED", kSrcNewborn,
           "the newborn's card is not registered for insurance use yet: the マイナポータル screen "
           "and the お知らせ show no eligibility",
           "新生児のカードはまだ健康保険証として利用登録されていないため、マイナポータルの画面や"
           "資格情報のお知らせでは確認できません。");
}

// Methods ------------------------------------------------------------------------------------

Entry VisualCheck(const Facts& f) {
  const Method m = Method::kVisualCheckMode;
  if (f.no_oqs) return Block(m, WithoutOqsRule());
  if (f.c.cause == FallbackCause::kIdentificationFailed) {
    return Allow(
        m,
        R("VISUAL_CHECK_FOR_IDENTIFICATION", kSrcVisual,
          "face and PIN identification failed: switch the face reader to 目視確認モード "
          "(staff button, 4-digit passcode), compare the card photo with the patient by "
          "eye, then continue as usual",
          "顔認証・暗証番号で本人確認ができないため、顔認証付きカードリーダーの「職員用ボタン」"
          "から目視確認モードに切り替え、目視確認用パスコード（4桁）を入力してください。"
          "カードの顔写真とご本人を目で確認すれば、通常どおり同意画面に進みます。"
          "パスコードを忘れた場合は再発行が必要です。"),
        ClaimRoute::kCurrent, false);
  }
  if (f.oqs_down) {
    return Block(
        m, R("VISUAL_CHECK_NEEDS_SYSTEM", kSrcVisual,
             "目視確認モード replaces face/PIN identification only; with the network or "
             "the terminal down it cannot confirm eligibility",
             "目視確認モードは顔認証・暗証番号の代わりに本人確認をするだけなので、ネットワークや"
             "資格確認端末の障害中は資格を確認できません。"));
  }
  if (f.c.cause == FallbackCause::kFaceReaderWontStart) {
    return Block(m, R("VISUAL_CHECK_NEEDS_READER", kSrcVisual,
                      "目視確認モード is switched on at the face reader, which does not start",
                      "目視確認モードは顔認証付きカードリーダーで切り替えるため、カードリーダーが"
                      "起動しないときは使えません。"));
  }
  return Block(
      m, R("VISUAL_CHECK_NOT_APPLICABLE", kSrcVisual,
           "identification by face or PIN is not what failed: 目視確認モード does not help",
           "本人確認（顔認証・暗証番号）の問題ではないため、目視確認モードでは解決しません。"));
}

Entry Certificate(const Facts& f) {
  const Method m = Method::kQualificationCertificate;
  const FallbackCause cause = f.c.cause;
  if (f.stand_alone) {
    // A result with no マイナ保険証 presented came from the query with this document's numbers.
    const bool queried_itself = !f.card && !f.c.presented.HasSmartphone();
    if (queried_itself && f.not_shown) {
      return Block(m, R("CERTIFICATE_NOT_CONFIRMED_BY_OQS", kSrcCertificate,
                        "OQS answered 資格(無効) / 資格情報なし for the document's identifiers: it "
                        "does not prove current eligibility",
                        "資格確認書（健康保険証）の記号・番号で照会した結果が「資格（無効）」または"
                        "「資格情報なし」でした。まず入力した記号・番号・枝番に誤りがないか確認して"
                        "ください。誤りがなければ、この書類では現在の資格を確認できません。"));
    }
    if (f.health_card_valid && !f.certificate) {
      return Allow(
          m,
          R("HEALTH_INSURANCE_CARD_VALID_TO_2025_12_01", kSrcHealthCard,
            "through 2025-12-01 a 健康保険証 within its printed validity stands alone: "
            "query OQS with its numbers (check the card itself while OQS is down)",
            "2025年12月1日までは、有効期限内の健康保険証で資格を確認できます。券面の記号・番号"
            "で照会してください（照会できないときは現物で確認してください）。"),
          ClaimRoute::kCurrent, true);
    }
    if (f.no_oqs) {
      return Allow(
          m,
          R("CERTIFICATE_AT_FACILITY_WITHOUT_OQS", kSrcNoOqs,
            "a facility without online verification confirms with the 資格確認書 itself",
            "資格確認書の券面（氏名・生年月日・記号番号・負担割合・有効期限）で資格を確認して"
            "ください。"),
          ClaimRoute::kCurrent, true);
    }
    if (f.oqs_down) {
      return Allow(
          m,
          R("CERTIFICATE_FACE_WHILE_OQS_DOWN", kSrc011Certificate,
            "OQS cannot be queried now: confirm with the 資格確認書 itself and query with "
            "its identifiers once OQS is back",
            "いまはオンライン資格確認ができないため、資格確認書の券面（氏名・生年月日・記号番号・"
            "負担割合・有効期限）で確認してください。復旧したら券面の記号・番号で照会して"
            "ください。"),
          ClaimRoute::kCurrent, true);
    }
    if (queried_itself && f.multiple) {
      return Allow(
          m,
          R("CERTIFICATE_RECHECK_IDENTIFIERS", kSrcCertificate,
            "複数該当 for the 資格確認書's identifiers: check the 枝番 entered and query "
            "again; the document shows which eligibility is the patient's",
            "資格確認書の情報で照会した結果が「複数該当」でした。枝番まで正しく入力されているか"
            "確認して、もう一度照会してください。"),
          ClaimRoute::kCurrent, true);
    }
    return Allow(
        m,
        R("CERTIFICATE_QUERY_WITH_IDENTIFIERS", kSrcCertificate,
          "the 資格確認書 stands alone: query OQS with its identifiers (at every visit) and "
          "claim with the result",
          "資格確認書は単独で使えます。券面の記号・番号・枝番でオンライン資格確認を行って"
          "ください（受診のたびに照会します）。"),
        ClaimRoute::kCurrent, true);
  }
  // Not presented: say when the patient is likely to carry one (asking costs nothing).
  const bool brought_my_number = f.card || f.c.presented.HasSmartphone();
  Entry ask;
  if (brought_my_number && f.c.age == AgeBracket::kKouki && f.date <= kKoukiCertificateLastDay) {
    ask =
        Allow(m,
              R("CERTIFICATE_ASK_KOUKI", kSrcKouki,
                "every 後期高齢者 is sent a 資格確認書 until 2026-07-31: ask whether the patient "
                "carries it; it stands alone",
                "後期高齢者の方には2026年7月末まで資格確認書が送られています。お持ちでないか伺い、"
                "お持ちであれば資格確認書で確認してください（資格確認書は単独で使えます）。"),
              ClaimRoute::kCurrent, false);
  } else if (cause == FallbackCause::kCertificateExpired) {
    ask =
        Allow(m,
              R("CERTIFICATE_ASK_AFTER_CERTIFICATE_EXPIRY", kSrcAfterExpiry,
                "about 3 months after the certificate expired the insurer sends a 資格確認書: "
                "ask whether the patient carries it",
                "電子証明書の有効期限が切れて3か月ほど経つと、保険者から資格確認書が届きます。"
                "お持ちでないか伺い、お持ちであれば資格確認書で確認してください。電子証明書の更新は"
                "市区町村の窓口でできることもお伝えください。"),
              ClaimRoute::kCurrent, false);
  } else if (f.card && (f.c.newborn == Newborn::kCardNotRegistered ||
                        f.c.newborn == Newborn::kRegistrationUnchecked)) {
    ask = Allow(m,
                R("CERTIFICATE_ASK_NEWBORN", kSrcNewborn,
                  "newborn: until the card works as マイナ保険証, use the 資格確認書 issued at "
                  "enrolment; ask for it, or ask the family to request one",
                  "新生児はマイナ保険証が使えるようになるまで時間がかかります。加入時に交付された"
                  "資格確認書をお持ちであれば、それで確認してください。お持ちでなければ、保険者に"
                  "資格確認書の交付を申し出るようご案内ください。"),
                ClaimRoute::kCurrent, false);
  } else {
    return Block(m, R("CERTIFICATE_NOT_PRESENTED", kSrcCertificate, "no 資格確認書 was presented",
                      "資格確認書の提示はありません。"));
  }
  // Asking comes after the two documents shown with the card (①②), before ③④.
  ask.rank = BaseRank(Method::kEligibilityNotice) + 5;
  return ask;
}

Entry Provisional(const Facts& f) {
  const Method m = Method::kProvisionalQuery;
  const DocumentSet& p = f.c.presented;
  if (!f.health_card_expired && !p.HasQualificationNotice()) {
    return Block(m, R("PROVISIONAL_NO_DOCUMENT", kSrcProvisional,
                      "no expired 健康保険証 or お知らせ was presented",
                      "有効期限切れの健康保険証・資格情報のお知らせの提示はありません。"));
  }
  if (f.card || p.HasSmartphone() || f.stand_alone) {
    return Block(m, R("PROVISIONAL_NOT_NEEDED", kSrcProvisional,
                      "the patient presented マイナ保険証 or a document that stands alone: use it",
                      "マイナ保険証または資格確認書の提示があるため、そちらで確認してください"
                      "（暫定的な取扱いの対象外です）。"));
  }
  if (f.date < kProvisionalFirstDay) {
    return Block(
        m, R("PROVISIONAL_NOT_STARTED", kSrcProvisional,
             "the provisional path starts on 2025-12-02; the お知らせ does not stand alone",
             "暫定的な取扱いは2025年12月2日からです。資格情報のお知らせは単独では使えません。"));
  }
  if (f.date > kProvisionalLastDay) {
    return Block(
        m, R("PROVISIONAL_PERIOD_ENDED", kSrcProvisional,
             "the provisional use of an expired 健康保険証 or an お知らせ ended on 2026-03-31",
             "有効期限切れの健康保険証・資格情報のお知らせによる暫定的な取扱いは、2026年3月31日"
             "で終了しました。"));
  }
  if (f.no_oqs) return Block(m, WithoutOqsRule());
  if (f.oqs_down) {
    return Block(
        m, R("PROVISIONAL_QUERY_UNAVAILABLE", kSrcProvisional,
             "the provisional path needs an OQS query, which is not possible now; query "
             "once OQS is back",
             "暫定的な取扱いにはオンライン資格確認での照会が必要ですが、いまは照会できません。"
             "復旧してから照会してください。"));
  }
  if (f.not_shown || f.multiple) {
    return Block(m, R("PROVISIONAL_NOT_CONFIRMED_BY_OQS", kSrcProvisional,
                      "the query with the presented numbers did not confirm a single valid "
                      "eligibility",
                      "お持ちの書類の記号・番号で照会しましたが、有効な資格を確認できませんでした。"
                      "入力に誤りがないか確認してください。"));
  }
  return Allow(
      m,
      R("PROVISIONAL_QUERY_UNTIL_2026_03_31", kSrcProvisional,
        "until 2026-03-31 a patient with neither マイナ保険証 nor 資格確認書 may be served by "
        "querying OQS with the numbers on the expired 健康保険証 or the お知らせ; charge the "
        "normal ratio and ask them to bring マイナ保険証 or 資格確認書 next time",
        "2026年3月末までの暫定的な取扱いとして、有効期限切れの健康保険証または資格情報のお知らせ"
        "の記号・番号でオンライン資格確認を行い、通常の負担割合で受付できます。次回からは"
        "マイナ保険証か資格確認書を持参いただくよう、お声掛けください。"),
      ClaimRoute::kCurrent, true);
}

Entry Portal(const Facts& f) {
  const Method m = Method::kPortalScreen;
  if (!f.card && !f.c.presented.HasSmartphone()) {
    return Block(
        m, R("PORTAL_NEEDS_CARD", kSrcTree,
             "the マイナポータル screen counts only together with the My Number card (or on "
             "the patient's own smartphone マイナ保険証)",
             "マイナポータルの資格情報画面は、マイナンバーカードと一緒でなければ使えません。"));
  }
  if (f.card && f.c.newborn == Newborn::kCardNotRegistered)
    return Block(m, NewbornNotRegisteredRule());
  if (f.not_shown) {
    return Block(
        m, R("PORTAL_CANNOT_SHOW_INVALID_RESULT", kSrcInvalidResult,
             "資格(無効) / 資格情報なし returned: the マイナポータル screen cannot show it; "
             "start with the お知らせ",
             f.card ? "「資格（無効）」「資格情報なし」の場合、マイナポータルでは資格情報を表示"
                      "できません。資格情報のお知らせから確認してください。"
                    : "「資格（無効）」「資格情報なし」の場合、マイナポータルでは資格情報を表示"
                      "できません。"));
  }
  if (f.phone_only) return Allow(m, SmartphoneOnlyRule(), ClaimRoute::kCurrent, false);
  if (f.no_oqs) {
    return Allow(
        m,
        R("PORTAL_WITH_CARD_NO_OQS", kSrcNoOqs,
          "without online verification: the マイナポータル screen (or its PDF) shown with "
          "the card",
          "マイナンバーカードと一緒に、マイナポータルの資格情報画面（事前にダウンロードしたPDF"
          "でも可）を見せていただき、資格を確認してください。"),
        ClaimRoute::kCurrent, false);
  }
  if (f.c.cause == FallbackCause::kCertificateExpired) {
    return Allow(
        m,
        R("PORTAL_PDF_ONLY", kSrcTree,
          "the expired certificate cannot log in to マイナポータル: a PDF of the screen "
          "downloaded earlier, shown with the card, still counts",
          "電子証明書の有効期限が切れているため、このカードではマイナポータルにログインできま"
          "せん。事前にダウンロードした資格情報画面のPDFがあれば、カードと一緒に見せていただき"
          "確認してください。"),
        ClaimRoute::kCurrent, false);
  }
  if (f.multiple) {
    return Allow(
        m,
        R("PORTAL_AFTER_MULTIPLE_RESULT", kSrcTree,
          "複数該当 returned: the マイナポータル screen shown with the card tells which "
          "eligibility is current",
          "照会結果が「複数該当」でした。マイナンバーカードと一緒にマイナポータルの資格情報画面"
          "を見せていただき、現在の資格を確認してください。"),
        ClaimRoute::kCurrent, false);
  }
  return Allow(
      m,
      R("PORTAL_WITH_CARD", kSrcTree,
        "show the マイナポータル 資格情報画面 (or a PDF of it downloaded earlier) together "
        "with the card",
        "マイナンバーカードと一緒に、マイナポータルの資格情報画面（事前にダウンロードしたPDF"
        "でも可）を見せていただき、資格を確認してください。"),
      ClaimRoute::kCurrent, false);
}

Entry Notice(const Facts& f) {
  const Method m = Method::kEligibilityNotice;
  if (f.phone_only) return Block(m, SmartphoneOnlyRule());
  if (!f.card) {
    return Block(
        m, R("NOTICE_NEEDS_CARD", kSrcNotice,
             "the 資格情報のお知らせ never stands alone: it counts only with the My Number "
             "card (it looks almost like a 資格確認書)",
             "資格情報のお知らせは単独では使えません（マイナンバーカードと一緒の提示が必要です）。"
             "資格確認書とよく似ているので、書類の名前を確認してください。"));
  }
  if (f.c.newborn == Newborn::kCardNotRegistered) return Block(m, NewbornNotRegisteredRule());
  if (f.not_shown) {
    return Allow(
        m,
        R("NOTICE_FIRST_AFTER_INVALID_RESULT", kSrcInvalidResult,
          "資格(無効) / 資格情報なし returned: the マイナポータル screen cannot show it; "
          "start with the お知らせ shown with the card",
          "「資格（無効）」「資格情報なし」でも無保険とは限りません。マイナンバーカードと一緒に"
          "資格情報のお知らせを見せていただき、資格を確認してください。"),
        ClaimRoute::kCurrent, false);
  }
  if (f.no_oqs) {
    return Allow(
        m,
        R("NOTICE_WITH_CARD_NO_OQS", kSrcNoOqs,
          "without online verification: the お知らせ shown with the card",
          "マイナンバーカードと一緒に資格情報のお知らせを見せていただき、資格を確認してください。"),
        ClaimRoute::kCurrent, false);
  }
  return Allow(
      m,
      R("NOTICE_WITH_CARD", kSrcTree,
        "if the screen cannot be shown: the 資格情報のお知らせ together with the card",
        "マイナポータルの画面で確認できない場合は、マイナンバーカードと一緒に資格情報のお知らせ"
        "を見せていただき、資格を確認してください。"),
      ClaimRoute::kCurrent, false);
}

Entry Oral(const Facts& f) {
  const Method m = Method::kOralConfirmation;
  if (f.phone_only) return Block(m, SmartphoneOnlyRule());
  if (f.first) {
    return Block(m,
                 R("ORAL_NEEDS_REVISIT", kSrcTree,
                   "口頭確認 is for revisits: on a first visit the facility holds no eligibility "
                   "to confirm",
                   "口頭確認は再診の患者さんのための方法です。初診では使えません。"));
  }
  if (!f.held) {
    return Block(
        m, R("ORAL_NEEDS_HELD_ELIGIBILITY", kSrcFusho,
             "revisit, but the facility holds no eligibility from earlier visits to confirm",
             "再診ですが、過去の受診で把握している資格情報がないため、口頭確認はできません。"));
  }
  if (!f.c.has_valid_insurance_now) {
    return Block(
        m, R("ORAL_PATIENT_DECLARES_NO_INSURANCE", kSrcFusho,
             "the patient says they hold no valid insurance now: the held eligibility "
             "cannot be confirmed",
             "現在有効な保険に加入していないとのことなので、把握している資格情報で口頭確認する"
             "ことはできません。"));
  }
  if (!f.card && !f.c.presented.HasSmartphone() && !f.stand_alone) {
    return Allow(
        m,
        R("ORAL_ON_REVISIT_WITHOUT_CARD", kSrcNoCardFaq,
          "revisit without マイナ保険証 or 資格確認書 (e.g. a lost 資格確認書): confirm "
          "orally that nothing has changed and charge the usual ratio; ask the patient to "
          "apply for a reissue",
          "再診のため、当院で把握している資格情報から変更がないか口頭で確認し、これまでどおりの"
          "負担割合で受付してください。資格確認書をなくした場合は、すぐに保険者へ再発行を"
          "申し出るようご案内ください。"),
        ClaimRoute::kCurrent, true);
  }
  return Allow(m,
               R("ORAL_ON_REVISIT", kSrcTree,
                 "revisit: confirm orally that nothing has changed, using the eligibility the "
                 "facility holds",
                 "再診のため、当院で把握している資格情報（保険者・記号番号など）から変更がないか、"
                 "口頭で確認してください。"),
               ClaimRoute::kCurrent, true);
}

Entry ConfirmAfterwards(const Facts& f) {
  const Method m = Method::kConfirmAfterwards;
  if (f.no_oqs) return Block(m, WithoutOqsRule());
  if (f.phone_only) return Block(m, SmartphoneOnlyRule());
  if (!f.card_usable) {
    return Block(m,
                 R("CONFIRM_AFTERWARDS_NEEDS_CARD", kSrcFusho,
                   "confirming afterwards follows a failed reception with the My Number card, "
                   "which was not presented",
                   "事後確認は、マイナンバーカードを提示したのに受付できなかった場合の方法です。"));
  }
  if (f.c.actual_days < 2) {
    return Block(m, R("CONFIRM_AFTERWARDS_NEEDS_MULTIPLE_DAYS", kSrcMultipleDays,
                      "実日数 is 1: there is no further visit day this month to confirm at",
                      "今月の実日数が1日のため、事後確認の対象ではありません。"));
  }
  if (!f.c.has_valid_insurance_now) {
    return Block(m, R("CONFIRM_AFTERWARDS_PATIENT_DECLARES_NO_INSURANCE", kSrcFusho,
                      "the patient says they hold no valid insurance now: there is nothing to "
                      "confirm afterwards",
                      "現在有効な保険に加入していないとのことなので、事後確認はできません。"));
  }
  return Allow(
      m,
      R("CONFIRM_AFTERWARDS_MULTIPLE_DAYS", kSrcMultipleDays,
        "実日数 ≥ 2: there are several chances to confirm eligibility; confirm with the "
        "patient afterwards and claim with the eligibility found",
        "今月の実日数が2日以上なので、資格を確認する機会が複数あります。通常の負担割合で受付し、"
        "後日患者さんに資格を確認して、判明した資格で請求してください。"),
      f.knows_old ? ClaimRoute::kOldEligibility : ClaimRoute::kConfirmLater, true);
}

Entry EmergencyLookup(const Facts& f) {
  const Method m = Method::kEmergencyLookup;
  if (f.no_oqs) return Block(m, WithoutOqsRule());
  if (f.c.cause == FallbackCause::kTerminalError011) {
    if (f.stand_alone) {
      return Block(m, R("EMERGENCY_LOOKUP_NOT_NEEDED", kSrc011,
                        "error 011: a presented 資格確認書 is checked by the document itself",
                        "資格確認書（健康保険証）の提示があるため、現物で確認してください。"));
    }
    if (!f.card) {
      return Block(
          m, R("EMERGENCY_LOOKUP_NEEDS_CARD_FACE", kSrc011,
               "after error 011 the patient's details are noted from the card's face, and "
               "the card was not presented",
               "エラー011の対応ではマイナンバーカードの券面から情報を控えますが、カードの提示が"
               "ありません。"));
    }
    return Allow(
        m,
        R("EMERGENCY_LOOKUP_AFTER_ERROR_011", kSrc011,
          "error 011 (terminal failure): call the vendor; note from the card's face the "
          "name (kanji or kana), sex, birth date and address or insurer name, collect 3割, "
          "and verify once the 緊急時医療情報・資格確認機能 is available",
          "エラー011（資格確認端末の不良）です。端末の導入ベンダーに連絡してください。"
          "マイナンバーカードの券面から氏名（漢字またはカナ）・性別・生年月日・住所または"
          "保険者名を控え、3割分を受領してください。オンライン資格確認等コールセンターに"
          "問い合わせ、緊急時医療情報・資格確認機能が使えるようになったら資格を確認してください。"),
        f.knows_old ? ClaimRoute::kOldEligibility : ClaimRoute::kConfirmLater, true);
  }
  if (!f.c.facility.emergency_mode_active) {
    return Block(m, R("EMERGENCY_LOOKUP_NOT_ACTIVE", kSrcDisaster,
                      "災害時モード can be used only while it is enabled for a disaster or a long "
                      "outage",
                      "災害時モードは、災害時や長期の障害で有効になっているときだけ使えます。"));
  }
  if (f.c.cause == FallbackCause::kNetworkError) {
    return Block(m, R("EMERGENCY_LOOKUP_NEEDS_NETWORK", kSrcDisaster,
                      "災害時モード also needs the connection to OQS",
                      "災害時モードもネットワークにつながらないと使えません。"));
  }
  return Allow(m,
               R("EMERGENCY_LOOKUP_DISASTER_MODE", kSrcDisaster,
                 "災害時モード is active: with the patient's consent, look up by name, birth date, "
                 "sex and address (no card needed)",
                 "災害時モードが有効です。患者さんの同意を得て、氏名・生年月日・性別・住所を伺い、"
                 "照会してください（マイナンバーカードがなくても使えます）。"),
               ClaimRoute::kCurrent, true);
}

Entry Statement(const Facts& f) {
  const Method m = Method::kInsuranceStatement;
  // The checks in the order of seed 003 p.16: valid insurance, the card, a first visit.
  if (f.no_oqs) return Block(m, WithoutOqsRule());
  if (!f.c.has_valid_insurance_now) {
    return Block(
        m, R("STATEMENT_NEEDS_VALID_INSURANCE", kSrcFusho,
             "the patient does not hold valid insurance now: the 申立書 cannot be used",
             "現在有効な保険に加入していないとのことなので、被保険者資格申立書は使えません。"));
  }
  if (f.phone_only) {
    return Block(
        m, R("STATEMENT_NOT_FOR_SMARTPHONE_ONLY", kSrcFusho,
             "smartphone only: the 申立書 requires that the My Number card itself was "
             "presented",
             "スマートフォンのみの提示では被保険者資格申立書は使えません（マイナンバーカードの"
             "提示が前提です）。"));
  }
  if (!f.card) {
    return Block(
        m, R("STATEMENT_NEEDS_CARD", f.stand_alone ? kSrcFusho : kSrcNoCardFaq,
             "the 申立書 requires that the My Number card was presented",
             "被保険者資格申立書はマイナンバーカードを提示した方のための書類です。カードの提示が"
             "ないため使えません。"));
  }
  if (f.c.newborn == Newborn::kCardNotRegistered) {
    return Block(m, R("STATEMENT_NEWBORN_NOT_REGISTERED", kSrcNewborn,
                      "the newborn's card is not registered as マイナ保険証 yet: no 申立書",
                      "新生児のカードはまだマイナ保険証として使えないため、申立書は使えません。"));
  }
  if (f.c.newborn == Newborn::kRegistrationUnchecked) {
    return Block(
        m, R("STATEMENT_NEWBORN_CHECK_REGISTRATION", kSrcNewborn,
             "newborn: check that the card is registered for insurance use before using "
             "the 申立書",
             "新生児の場合は、まずカードが健康保険証として利用登録済みか確認してください"
             "（マイナポータルの「健康保険証」で「登録済み」と表示されます）。登録済みであれば"
             "申立書を使えます。"));
  }
  if (f.stand_alone) {
    return Block(m, R("STATEMENT_NOT_NEEDED_CERTIFICATE", kSrcFusho,
                      "a 資格確認書 was presented: it stands alone, no 申立書",
                      "資格確認書の提示があるため、申立書は不要です。"));
  }
  if (!f.first) {
    return Block(
        m, R("STATEMENT_REVISIT_USE_ORAL", kSrcFusho, "revisit: confirm orally instead of a 申立書",
             "再診のため申立書は使えません。把握している資格情報で口頭確認してください。"));
  }
  if (f.c.actual_days >= 2) {
    return Block(m,
                 R("STATEMENT_MULTIPLE_DAYS_CONFIRM_AFTERWARDS", kSrcMultipleDays,
                   "実日数 ≥ 2: confirm with the patient afterwards instead of a 申立書",
                   "今月の実日数が2日以上のため申立書は使えません。後日患者さんに資格を確認して、"
                   "判明した資格で請求してください。"));
  }
  return Allow(
      m,
      R("STATEMENT_FIRST_VISIT", kSrcTree,
        "if the methods above fail on a first visit: the patient fills in the "
        "被保険者資格申立書 (the last resort; the claim uses a 旧資格 if one is known, "
        "else 不詳)",
        "上の方法で確認できない場合、初診のため「被保険者資格申立書」に記入していただきます"
        "（最終手段です）。マイナンバーカードの券面どおりに、特に保険種別と連絡先電話番号"
        "は漏れなく記入いただくようご案内ください。"),
      f.knows_old ? ClaimRoute::kOldEligibility : ClaimRoute::kUnknown, true);
}

Entry FullSelfPay(const Facts& f, const std::vector<Entry>& others) {
  const Method m = Method::kFullSelfPay;
  const bool settled = std::any_of(others.begin(), others.end(),
                                   [](const Entry& e) { return e.d.allowed && e.settles; });
  const bool some_allowed =
      std::any_of(others.begin(), others.end(), [](const Entry& e) { return e.d.allowed; });
  Entry e;
  if (settled) {
    return Block(
        m, R("FULL_SELF_PAY_NOT_NEEDED", kSrcNormalRatio,
             "another method settles the case: the patient pays the normal ratio, not 10割",
             "他の確認方法があるため、10割ではなく通常の負担割合（3割など）で受付してください。"));
  }
  if (!f.c.has_valid_insurance_now) {
    e = Allow(
        m,
        R("FULL_SELF_PAY_NO_VALID_INSURANCE", kSrcFusho,
          "the patient holds no valid insurance now: collect 10割; refund if an eligibility "
          "is confirmed later",
          "現在有効な保険がないとのことなので、10割分をお支払いいただきます。後日資格が確認できた"
          "場合は差額を返金してください。"),
        ClaimRoute::kSelfPay, false);
  } else if (f.phone_only) {
    e = Allow(m,
              R("FULL_SELF_PAY_SMARTPHONE_ONLY", kSrcSmartphone,
                "smartphone only and the マイナポータル screen cannot confirm eligibility: collect "
                "10割 and refund once eligibility is confirmed",
                "スマートフォンのみの提示で、マイナポータルの資格情報画面でも確認できない場合は、"
                "いったん10割分をお支払いいただき、資格が確認できたら差額を返金してください。"),
              ClaimRoute::kSelfPay, false);
  } else if (!f.card && f.first) {
    e = Allow(
        m,
        R("FULL_SELF_PAY_NO_CARD_FIRST_VISIT", kSrcNoCardFaq,
          "no マイナ保険証 and no usable 資格確認書 on a first visit (e.g. a lost 資格確認書): "
          "there is no way to confirm; collect 10割 and refund once eligibility is confirmed",
          "初診で、マイナ保険証も使える資格確認書もないため、資格を確認する方法がありません。"
          "いったん10割分をお支払いいただき、資格が確認できたら差額を返金してください。資格確認書を"
          "なくした場合は、すぐに再発行を申し出るようご案内ください。"),
        ClaimRoute::kSelfPay, false);
  } else if (some_allowed) {
    e = Allow(
        m,
        R("FULL_SELF_PAY_IF_OTHERS_FAIL", kSrcSelfPay,
          "if the methods above fail: collect 10割 and refund once eligibility is confirmed",
          "上の方法で確認できない場合は、いったん10割分をお支払いいただき、資格が確認できたら差額を"
          "返金してください。"),
        ClaimRoute::kSelfPay, false);
  } else {
    e = Allow(
        m,
        R("FULL_SELF_PAY_NO_METHOD", kSrcSelfPay,
          "no method applies: collect 10割 and refund once eligibility is confirmed",
          "使える確認方法がないため、いったん10割分をお支払いいただき、資格が確認できたら差額を"
          "返金してください。"),
        ClaimRoute::kSelfPay, false);
  }
  e.rank = 1000;  // always the last resort
  return e;
}

// Validation ---------------------------------------------------------------------------------

bool NeedsOqs(FallbackCause c) {
  return c != FallbackCause::kNoDocument && c != FallbackCause::kNoOnlineVerification;
}

Status ValidateCase(const FallbackCase& c) {
  std::vector<FieldViolation> v;
  const DocumentSet& p = c.presented;
  const bool my_number = p.HasMyNumberCard() || p.HasSmartphone();
  const bool phone_only = p.HasSmartphone() && !p.HasMyNumberCard();
  const std::string cause_name(ToString(c.cause));
  if (!c.date) v.push_back({"date", "required: the Japan calendar date of the visit"});
  if (c.actual_days < 1 || c.actual_days > 31) {
    v.push_back({"actual_days", "must be 1–31 (実日数 this month, including today)"});
  }
  switch (c.cause) {
    case FallbackCause::kCertificateExpired:
    case FallbackCause::kIcUnreadable:
    case FallbackCause::kCertificateUntrusted:
    case FallbackCause::kIdentificationFailed:
      if (!p.HasMyNumberCard()) {
        v.push_back({"presented", cause_name + " needs the My Number card"});
      }
      break;
    case FallbackCause::kFaceReaderWontStart:
      if (!my_number) {
        v.push_back({"presented", cause_name + " needs マイナ保険証 (card or smartphone)"});
      }
      break;
    case FallbackCause::kSmartphoneNotSupported:
      if (!phone_only) {
        v.push_back({"presented", cause_name + " needs a smartphone without the card"});
      }
      if (c.facility.reads_smartphones) {
        v.push_back({"facility.reads_smartphones", "the facility reads smartphones"});
      }
      break;
    case FallbackCause::kGenericReaderBroken:
      if (!phone_only) {
        v.push_back({"presented", cause_name + " needs a smartphone without the card"});
      }
      if (!c.facility.reads_smartphones) {
        v.push_back({"facility.reads_smartphones",
                     "the facility reads no smartphones: the cause is SMARTPHONE_NOT_SUPPORTED"});
      }
      break;
    case FallbackCause::kNoDocument:
      if (my_number || p.HasQualificationCertificate()) {
        v.push_back(
            {"presented", "NO_DOCUMENT: neither マイナ保険証 nor 資格確認書 was presented"});
      }
      break;
    case FallbackCause::kNoOnlineVerification:
    case FallbackCause::kNetworkError:
    case FallbackCause::kTerminalTrouble:
    case FallbackCause::kTerminalError011:
    case FallbackCause::kResultInvalid:
    case FallbackCause::kResultInvalidNewerExists:
    case FallbackCause::kResultNoRecord:
    case FallbackCause::kResultMultiple:
    case FallbackCause::kProcessingError:
      if (p.Empty()) v.push_back({"presented", "nothing presented: the cause is NO_DOCUMENT"});
      break;
  }
  // A phone that is the only thing to verify with cannot have been read where phones are not read.
  const bool only_phone_to_query = phone_only && !p.HasQualificationCertificate() &&
                                   !p.HasHealthInsuranceCard() && !p.HasQualificationNotice();
  if (only_phone_to_query && !c.facility.reads_smartphones && NeedsOqs(c.cause) &&
      c.cause != FallbackCause::kSmartphoneNotSupported &&
      c.cause != FallbackCause::kGenericReaderBroken) {
    v.push_back({"facility.reads_smartphones",
                 "a smartphone-only patient where phones cannot be read: the cause is "
                 "SMARTPHONE_NOT_SUPPORTED"});
  }
  if (!c.facility.oqs_available && NeedsOqs(c.cause)) {
    v.push_back({"facility.oqs_available",
                 cause_name + " needs online verification, which the facility does not have"});
  }
  if (c.facility.oqs_available && c.cause == FallbackCause::kNoOnlineVerification) {
    v.push_back({"facility.oqs_available",
                 "NO_ONLINE_VERIFICATION is for facilities without online verification"});
  }
  if (c.certificate_expiry) {
    if (c.cause != FallbackCause::kCertificateExpired) {
      v.push_back({"certificate_expiry", "only for CERTIFICATE_EXPIRED"});
    } else if (c.date && !(*c.certificate_expiry < *c.date)) {
      v.push_back({"certificate_expiry", "the certificate had not expired on the visit date"});
    }
  }
  for (const auto& k : c.known_eligibilities) {
    if (k.source == KnownEligibility::Source::kInvalidResult &&
        c.cause != FallbackCause::kResultInvalid &&
        c.cause != FallbackCause::kResultInvalidNewerExists) {
      v.push_back({"known_eligibilities", "a 資格(無効) 旧資格 needs a 資格(無効) result"});
      break;
    }
    if (k.source == KnownEligibility::Source::kConfirmed) {
      v.push_back({"known_eligibilities", "CONFIRMED is for claim outcomes, not for a decision"});
      break;
    }
  }
  if (c.newborn != Newborn::kNo && c.age != AgeBracket::kUnder70) {
    v.push_back({"newborn", "a newborn is under 70"});
  }
  if (v.empty()) return OkStatus();
  return InvalidArgument("INVALID_FALLBACK_CASE", "the fallback case is inconsistent",
                         "代替確認の入力内容に矛盾があります。原因・提示書類・施設の設定を確認して"
                         "ください。",
                         std::move(v));
}

}  // namespace

oqs::OqsDate CertificateGraceLastDay(const oqs::OqsDate& expiry) {
  using namespace std::chrono;
  const year_month_day e = expiry.ymd();
  const year_month ym = year_month{e.year(), e.month()} + months{3};
  return oqs::OqsDate::FromSysDays(
      sys_days{year_month_day{year_month_day_last{ym.year(), month_day_last{ym.month()}}}});
}

namespace {
constexpr std::array<std::string_view, 3> kAgeNames = {"UNDER_70", "70_TO_74", "KOUKI"};
constexpr std::array<std::string_view, 4> kNewbornNames = {
    "NOT_NEWBORN", "CARD_REGISTERED", "CARD_NOT_REGISTERED", "REGISTRATION_UNCHECKED"};
constexpr std::array<std::string_view, 3> kSourceNames = {"INVALID_RESULT", "PAST_VISITS",
                                                          "CONFIRMED"};
}  // namespace

std::string_view ToString(AgeBracket age) { return NameOf(kAgeNames, age); }
std::optional<AgeBracket> AgeBracketFromString(std::string_view name) {
  return ValueNamed<AgeBracket>(kAgeNames, name);
}
std::string_view ToString(Newborn newborn) { return NameOf(kNewbornNames, newborn); }
std::optional<Newborn> NewbornFromString(std::string_view name) {
  return ValueNamed<Newborn>(kNewbornNames, name);
}
std::string_view ToString(KnownEligibility::Source source) { return NameOf(kSourceNames, source); }
std::optional<KnownEligibility::Source> KnownEligibilitySourceFromString(std::string_view name) {
  return ValueNamed<KnownEligibility::Source>(kSourceNames, name);
}

std::optional<Method> MethodFromString(std::string_view name) {
  for (Method m : kAllMethods) {
    if (MethodName(m) == name) return m;
  }
  return std::nullopt;
}

std::optional<Charge> ChargeFromString(std::string_view name) {
  for (Charge c : {Charge::kNormalRatio, Charge::kFullSelfPay}) {
    if (ChargeName(c) == name) return c;
  }
  return std::nullopt;
}

std::optional<ClaimRoute> ClaimRouteFromString(std::string_view name) {
  for (ClaimRoute r : {ClaimRoute::kCurrent, ClaimRoute::kOldEligibility, ClaimRoute::kUnknown,
                       ClaimRoute::kConfirmLater, ClaimRoute::kSelfPay}) {
    if (ClaimRouteName(r) == name) return r;
  }
  return std::nullopt;
}

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kVisualCheckMode: return "VISUAL_CHECK_MODE";
    case Method::kQualificationCertificate: return "QUALIFICATION_CERTIFICATE";
    case Method::kProvisionalQuery: return "PROVISIONAL_QUERY";
    case Method::kPortalScreen: return "PORTAL_SCREEN";
    case Method::kEligibilityNotice: return "ELIGIBILITY_NOTICE";
    case Method::kOralConfirmation: return "ORAL_CONFIRMATION";
    case Method::kConfirmAfterwards: return "CONFIRM_AFTERWARDS";
    case Method::kEmergencyLookup: return "EMERGENCY_LOOKUP";
    case Method::kInsuranceStatement: return "INSURANCE_STATEMENT";
    case Method::kFullSelfPay: return "FULL_SELF_PAY";
  }
  return "";
}

std::string_view MethodNameJa(Method m) {
  switch (m) {
    case Method::kVisualCheckMode: return "目視確認モード";
    case Method::kQualificationCertificate: return "資格確認書";
    case Method::kProvisionalQuery: return "有効期限切れの健康保険証等による照会（暫定）";
    case Method::kPortalScreen: return "マイナポータル資格情報画面";
    case Method::kEligibilityNotice: return "資格情報のお知らせ";
    case Method::kOralConfirmation: return "口頭確認";
    case Method::kConfirmAfterwards: return "事後確認";
    case Method::kEmergencyLookup: return "災害時モード（緊急時医療情報・資格確認機能）";
    case Method::kInsuranceStatement: return "被保険者資格申立書";
    case Method::kFullSelfPay: return "10割負担（資格確認後に返金）";
  }
  return "";
}

std::string_view ChargeName(Charge c) {
  switch (c) {
    case Charge::kNormalRatio: return "NORMAL_RATIO";
    case Charge::kFullSelfPay: return "FULL_SELF_PAY";
  }
  return "";
}

std::string_view ClaimRouteName(ClaimRoute r) {
  switch (r) {
    case ClaimRoute::kCurrent: return "CURRENT";
    case ClaimRoute::kOldEligibility: return "OLD_ELIGIBILITY";
    case ClaimRoute::kUnknown: return "UNKNOWN";
    case ClaimRoute::kConfirmLater: return "CONFIRM_LATER";
    case ClaimRoute::kSelfPay: return "SELF_PAY";
  }
  return "";
}

std::string_view ClaimRouteNameJa(ClaimRoute r) {
  switch (r) {
    case ClaimRoute::kCurrent: return "現在の資格";
    case ClaimRoute::kOldEligibility: return "旧資格";
    case ClaimRoute::kUnknown: return "不詳";
    case ClaimRoute::kConfirmLater: return "事後確認";
    case ClaimRoute::kSelfPay: return "10割（資格確認後に返金）";
  }
  return "";
}

const MethodDecision& Decision::Find(Method m) const {
  return *std::find_if(methods.begin(), methods.end(),
                       [m](const MethodDecision& d) { return d.method == m; });
}

std::vector<Method> Decision::AllowedInOrder() const {
  std::vector<Method> out;
  for (const auto& d : methods) {
    if (d.allowed) out.push_back(d.method);
  }
  return out;
}

Result<Decision> Decide(const FallbackCase& c) {
  if (auto st = ValidateCase(c); !st.ok()) return st.error();
  if (c.cause == FallbackCause::kCertificateExpired && c.certificate_expiry &&
      !(CertificateGraceLastDay(*c.certificate_expiry) < *c.date)) {
    DomainError e = InvalidArgument(
        "CERTIFICATE_IN_GRACE",
        "the certificate expired less than 3 months after the end of its month: the card still "
        "works for eligibility (insurance information only); no fallback is needed",
        "電子証明書の有効期限切れから3か月の猶予期間内のため、マイナ保険証はそのまま資格確認に"
        "使えます（診療・薬剤情報は閲覧できません）。通常どおりマイナ保険証で受付し、市区町村の"
        "窓口で電子証明書を更新するようご案内ください。",
        {{"certificate_expiry", "within the grace period on the visit date"}});
    e.kind = ErrorKind::kFailedPrecondition;
    e.metadata.emplace_back("source", kSrcGrace);
    return e;
  }

  const Facts f = Gather(c);
  std::vector<Entry> entries = {
      VisualCheck(f), Certificate(f),       Provisional(f),     Portal(f),   Notice(f),
      Oral(f),        ConfirmAfterwards(f), EmergencyLookup(f), Statement(f)};
  entries.push_back(FullSelfPay(f, entries));

  // Allowed first by rank (ties keep kAllMethods order), then blocked in kAllMethods order.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.d.allowed != b.d.allowed) return a.d.allowed;
    if (a.d.allowed) return a.rank < b.rank;
    return BaseRank(a.d.method) < BaseRank(b.d.method);
  });

  Decision d;
  d.engine_version = std::string(kEngineVersion);
  d.input = c;
  for (auto& e : entries) d.methods.push_back(std::move(e.d));
  d.first_choice = d.methods.front().method;  // 10割 is allowed whenever nothing settles the case
  if (d.first_choice == Method::kFullSelfPay) {
    d.charge = Charge::kFullSelfPay;
    d.charge_rule = d.methods.front().rule;
  } else {
    d.charge = Charge::kNormalRatio;
    d.charge_rule =
        R("NORMAL_RATIO", kSrcNormalRatio,
          "the patient pays the normal ratio (3割 etc.), not 10割, on every path of the "
          "tree",
          "10割ではなく、通常の負担割合（3割など）で受付してください。");
  }
  if (d.Allowed(Method::kInsuranceStatement) && c.age != AgeBracket::kUnder70) {
    d.charge_notes.push_back(
        R("SELF_DECLARED_RATIO_70_PLUS", kSrcRatio70,
          "70+ / 後期: if the 申立書 is used, charge the ratio the patient declares on it; a wrong "
          "ratio causes no return, the insurer settles the difference with the patient",
          "70歳以上・後期高齢者の方が申立書を使う場合は、申立書に記入された負担割合で受領してくださ"
          "い。"
          "実際の割合と違っていてもレセプトは返戻されず、差額は保険者と患者さんの間で精算されます"
          "。"));
  }
  if (d.Allowed(Method::kEmergencyLookup) && c.cause == FallbackCause::kTerminalError011) {
    d.charge_notes.push_back(R("THREE_WARI_UNTIL_VERIFIED", kSrc011,
                               "error 011: collect 3割 now and settle once eligibility is verified",
                               "エラー011の対応では、いったん3割分を受領し、資格が確認できてから"
                               "精算してください。"));
  }
  return d;
}

std::optional<FallbackCause> FallbackCauseOf(const oqs::EligibilityResult& result) {
  const auto& segment = result.header.segment_of_result;
  const auto& status = result.processing_result_status;
  if ((segment && segment->value == oqs::SegmentOfResult::kAbnormal) ||
      (status && status->value == oqs::ProcessingResultStatus::kError)) {
    return FallbackCause::kProcessingError;
  }
  if (!result.qualification_validity || !result.qualification_validity->value) return std::nullopt;
  switch (*result.qualification_validity->value) {
    case oqs::QualificationValidity::kInvalid: return FallbackCause::kResultInvalid;
    case oqs::QualificationValidity::kInvalidNewerExists:
      return FallbackCause::kResultInvalidNewerExists;
    case oqs::QualificationValidity::kNoRecord: return FallbackCause::kResultNoRecord;
    case oqs::QualificationValidity::kMultiple: return FallbackCause::kResultMultiple;
    case oqs::QualificationValidity::kValid:
    case oqs::QualificationValidity::kValidUnregistered: return std::nullopt;
  }
  return std::nullopt;
}

std::optional<KnownEligibility> OldEligibilityOf(const oqs::EligibilityResult& result) {
  const auto cause = FallbackCauseOf(result);
  if (cause != FallbackCause::kResultInvalid && cause != FallbackCause::kResultInvalidNewerExists) {
    return std::nullopt;
  }
  return EligibilityOf(result, KnownEligibility::Source::kInvalidResult);
}

std::optional<KnownEligibility> EligibilityOf(const oqs::EligibilityResult& result,
                                              KnownEligibility::Source source) {
  for (const auto& q : result.results) {
    if (!q.insurer_number) continue;
    KnownEligibility k;
    k.source = source;
    k.insurer_number =
        q.insurer_number->value ? q.insurer_number->value->digits() : q.insurer_number->raw;
    k.symbol = q.insured_card_symbol.value_or("");
    k.number = q.insured_identification_number.value_or("");
    k.branch = q.insured_branch_number.value_or("");
    k.insurer_name = q.insurer_name.value_or("");
    if (const auto ratio = q.PartialContributionRatio()) k.ratio_wari = ratio->Wari();
    return k;
  }
  return std::nullopt;
}

}  // namespace onshid::core::fallback
