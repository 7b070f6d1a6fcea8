#include "core/fallback/decision.h"

#include <algorithm>
#include <utility>

namespace onshid::core::fallback {
namespace {

constexpr const char* kTree = "DOMAIN.md §7 (seed 003)";
constexpr const char* kNoCard = "DOMAIN.md §7 (seed 004)";
constexpr const char* kClaim = "DOMAIN.md §8 (seed 003)";
constexpr const char* kDocs = "DOMAIN.md §2 (seed 003, 004)";

Rule R(std::string id, std::string source, std::string reason, std::string reason_ja) {
  return Rule{std::move(id), std::move(source), std::move(reason), std::move(reason_ja)};
}

Rule SmartphoneOnlyRule() {
  return R("SMARTPHONE_ONLY_PORTAL_IS_ONLY_METHOD", kTree,
           "smartphone only: the マイナポータル screen is the only method",
           "スマートフォンのみの提示のため、マイナポータルの資格情報画面が唯一の確認方法です。");
}

Status ValidateCase(const FallbackCase& c) {
  std::vector<FieldViolation> v;
  const bool has_result = c.reception_result != ReceptionResult::kNone;
  if (c.cause.has_value() == has_result) {
    v.push_back({"cause", "set exactly one of cause and reception_result"});
  }
  if (c.cause) {
    switch (*c.cause) {
      case FailureCause::kSmartphoneNotSupported:
        if (c.presented != Presented::kSmartphoneOnly) {
          v.push_back({"presented", "SMARTPHONE_NOT_SUPPORTED needs a smartphone-only patient"});
        }
        break;
      case FailureCause::kCertificateExpiredBeyondGrace:
      case FailureCause::kIcChipBroken:
        if (c.presented != Presented::kMyNumberCard) {
          v.push_back({"presented", "a certificate or IC chip cause needs the My Number card"});
        }
        break;
      case FailureCause::kNoUsableDocument:
        if (c.presented != Presented::kNothing) {
          v.push_back({"presented", "NO_USABLE_DOCUMENT means nothing was presented"});
        }
        break;
      case FailureCause::kNetworkError:
      case FailureCause::kFaceReaderWontStart:
      case FailureCause::kGenericReaderBroken:
        break;
    }
  }
  if (c.presented == Presented::kNothing &&
      c.cause != std::optional<FailureCause>(FailureCause::kNoUsableDocument)) {
    v.push_back({"presented", "nothing presented: the cause is NO_USABLE_DOCUMENT"});
  }
  if (c.actual_days < 1) v.push_back({"actual_days", "must be 1 or more (実日数)"});
  if (v.empty()) return OkStatus();
  return InvalidArgument("INVALID_FALLBACK_CASE", "the fallback case is inconsistent",
                         "代替確認の入力内容に矛盾があります。提示書類と原因を確認してください。",
                         std::move(v));
}

}  // namespace

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kPortalScreen: return "PORTAL_SCREEN";
    case Method::kEligibilityNotice: return "ELIGIBILITY_NOTICE";
    case Method::kOralConfirmation: return "ORAL_CONFIRMATION";
    case Method::kInsuranceStatement: return "INSURANCE_STATEMENT";
    case Method::kQualificationCertificate: return "QUALIFICATION_CERTIFICATE";
    case Method::kFullSelfPay: return "FULL_SELF_PAY";
  }
  return "";
}

std::string_view MethodNameJa(Method m) {
  switch (m) {
    case Method::kPortalScreen: return "マイナポータル資格情報画面";
    case Method::kEligibilityNotice: return "資格情報のお知らせ";
    case Method::kOralConfirmation: return "口頭確認";
    case Method::kInsuranceStatement: return "被保険者資格申立書";
    case Method::kQualificationCertificate: return "資格確認書";
    case Method::kFullSelfPay: return "10割負担";
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

Result<Decision> Decide(const FallbackCase& c) {
  if (auto st = ValidateCase(c); !st.ok()) return st.error();

  const bool card = c.presented == Presented::kMyNumberCard;
  const bool phone = c.presented == Presented::kSmartphoneOnly;
  const bool result_returned = c.reception_result != ReceptionResult::kNone;
  const bool first = c.visit == VisitKind::kFirstVisit;
  const bool holds = std::any_of(c.known_eligibilities.begin(), c.known_eligibilities.end(),
                                 [](const KnownEligibility& k) {
                                   return k.source == KnownEligibility::Source::kPastVisits;
                                 });
  const bool knows_old = !c.known_eligibilities.empty();

  Decision d;
  d.engine_version = std::string(kEngineVersion);
  d.input = c;

  // 1 マイナポータル 資格情報画面.
  {
    MethodDecision m{Method::kPortalScreen, false, {}, ClaimRoute::kCurrent};
    if (!card && !phone) {
      m.rule = R("PORTAL_NEEDS_CARD", kDocs,
                 "the マイナポータル screen counts only together with the My Number card",
                 "マイナポータルの画面はマイナンバーカードと併せた提示が必要です。");
    } else if (result_returned) {
      m.rule = R("PORTAL_BLOCKED_AFTER_INVALID_RESULT", kTree,
                 "method 1 impossible after 資格(無効)/資格情報なし: マイナポータル cannot show it; "
                 "start at 2",
                 "「資格（無効）」「資格情報なし」の場合、マイナポータルでは資格情報を表示できません。"
                 "資格情報のお知らせから確認してください。");
    } else if (phone) {
      m.allowed = true;
      m.rule = SmartphoneOnlyRule();
    } else {
      m.allowed = true;
      m.rule = R("PORTAL_WITH_CARD", kTree,
                 "show the マイナポータル 資格情報画面 (or its PDF) together with the card",
                 "マイナンバーカードと併せてマイナポータルの資格情報画面（PDF可）を確認してください。");
    }
    d.methods.push_back(std::move(m));
  }

  // 2 資格情報のお知らせ.
  {
    MethodDecision m{Method::kEligibilityNotice, false, {}, ClaimRoute::kCurrent};
    if (phone) {
      m.rule = SmartphoneOnlyRule();
    } else if (!card) {
      m.rule = R("NOTICE_NEEDS_CARD", kDocs,
                 "資格情報のお知らせ does not stand alone: it counts only with the My Number card",
                 "資格情報のお知らせはマイナンバーカードと併せた提示が必要です。単独では使えません。");
    } else {
      m.allowed = true;
      m.rule = result_returned
                   ? R("NOTICE_FIRST_AFTER_INVALID_RESULT", kTree,
                       "資格(無効)/資格情報なし returned: start with the お知らせ shown with the card",
                       "マイナンバーカードと併せて資格情報のお知らせを確認してください。")
                   : R("NOTICE_WITH_CARD", kTree,
                       "if 1 fails: 資格情報のお知らせ shown with the card",
                       "マイナンバーカードと併せて資格情報のお知らせを確認してください。");
    }
    d.methods.push_back(std::move(m));
  }

  // 3 口頭確認.
  {
    MethodDecision m{Method::kOralConfirmation, false, {}, ClaimRoute::kCurrent};
    if (phone) {
      m.rule = SmartphoneOnlyRule();
    } else if (first) {
      m.rule = R("ORAL_NEEDS_REVISIT", kTree,
                 "first visit: the facility holds no eligibility to confirm orally",
                 "初診のため口頭確認はできません（施設側で資格情報を把握していません）。");
    } else if (!holds) {
      m.rule = R("ORAL_NEEDS_HELD_ELIGIBILITY", kClaim,
                 "revisit, but the facility holds no eligibility from past visits to confirm",
                 "再診ですが、過去の受診で把握している資格情報がないため口頭確認できません。");
    } else {
      m.allowed = true;
      m.rule = card ? R("ORAL_ON_REVISIT", kTree,
                        "if 1 and 2 fail on a revisit: confirm orally that nothing changed, using "
                        "the eligibility the facility holds",
                        "①②で確認できない場合、再診のため、把握している資格情報から変更がないか口頭で"
                        "確認してください。")
                    : R("ORAL_ON_REVISIT_WITHOUT_CARD", kNoCard,
                        "revisit without a My Number card (e.g. lost 資格確認書): confirm orally that "
                        "nothing changed, using the eligibility the facility holds",
                        "再診のため、把握している資格情報から変更がないか口頭で確認してください。"
                        "資格確認書を紛失した場合は再発行の手続きをご案内ください。");
    }
    d.methods.push_back(std::move(m));
  }

  // 4 被保険者資格申立書.
  {
    MethodDecision m{Method::kInsuranceStatement, false, {}, ClaimRoute::kUnknown};
    if (phone) {
      m.rule = R("STATEMENT_NOT_FOR_SMARTPHONE_ONLY", kClaim,
                 "smartphone only: the マイナポータル screen is the only method; the 申立書 needs "
                 "the My Number card itself",
                 "スマートフォンのみの提示では申立書は使えません（マイナンバーカードの提示が前提です）。");
    } else if (!card) {
      m.rule = R("STATEMENT_NEEDS_CARD", kNoCard,
                 "no My Number card → no 申立書: the form presumes the card was presented",
                 "マイナンバーカードの提示がないため、被保険者資格申立書は使えません。");
    } else if (!first) {
      m.rule = R("STATEMENT_REVISIT_USE_ORAL", kClaim,
                 "revisit: confirm orally instead of a 申立書",
                 "再診のため申立書ではなく口頭確認で対応してください。");
    } else if (!c.has_valid_insurance_now) {
      m.rule = R("STATEMENT_NEEDS_VALID_INSURANCE", kClaim,
                 "the patient does not hold valid insurance now: the 申立書 cannot be used",
                 "現在有効な保険資格がないため、申立書は使えません。");
    } else {
      m.allowed = true;
      m.rule = R("STATEMENT_FIRST_VISIT", kTree,
                 "if 1 and 2 fail on a first visit: the patient fills in the 被保険者資格申立書",
                 "①②で確認できない場合、初診のため被保険者資格申立書に記入いただいてください。");
      m.leads_to = knows_old ? ClaimRoute::kOldEligibility
                   : c.actual_days >= 2 ? ClaimRoute::kConfirmLater
                                        : ClaimRoute::kUnknown;
    }
    d.methods.push_back(std::move(m));
  }

  // 資格確認書 presented on its own.
  {
    MethodDecision m{Method::kQualificationCertificate, false, {}, ClaimRoute::kCurrent};
    if (c.presented != Presented::kQualificationCertificate) {
      m.rule = R("CERTIFICATE_NOT_PRESENTED", kDocs, "no 資格確認書 was presented",
                 "資格確認書の提示はありません。");
    } else if (result_returned) {
      m.rule = R("CERTIFICATE_CONTRADICTED_BY_RESULT", kDocs,
                 "OQS answered 資格(無効)/資格情報なし for the 資格確認書: it does not prove "
                 "current eligibility",
                 "資格確認書の情報で照会した結果が「資格（無効）」「資格情報なし」のため、資格確認書では"
                 "確認できません。");
    } else {
      m.allowed = true;
      m.rule = R("CERTIFICATE_STANDS_ALONE", kDocs,
                 "the 資格確認書 stands alone; query OQS with its identifiers once it is reachable",
                 "資格確認書で受付し、オンライン資格確認が復旧したら券面の情報で照会してください。");
    }
    d.methods.push_back(std::move(m));
  }

  // Computed before 10割 is appended (push_back would invalidate an iterator).
  const auto first_allowed_it =
      std::find_if(d.methods.begin(), d.methods.end(), [](const MethodDecision& m) {
        return m.allowed;
      });
  const bool any_allowed = first_allowed_it != d.methods.end();
  const Method first_method = any_allowed ? first_allowed_it->method : Method::kFullSelfPay;
  // 10割 is the last resort: it applies whenever no method that does not depend on a document the
  // patient may not have (口頭確認, 申立書, the presented 資格確認書) is left if 1 and 2 fail.
  const bool later_method = d.Allowed(Method::kOralConfirmation) ||
                            d.Allowed(Method::kInsuranceStatement) ||
                            d.Allowed(Method::kQualificationCertificate);
  const bool screen_or_notice =
      d.Allowed(Method::kPortalScreen) || d.Allowed(Method::kEligibilityNotice);

  // 10割.
  {
    MethodDecision m{Method::kFullSelfPay, false, {}, ClaimRoute::kSelfPay};
    if (later_method) {
      m.rule = R("FULL_SELF_PAY_NOT_NEEDED", kTree,
                 "another method applies: the patient pays the normal ratio, not 10割",
                 "他の確認方法があるため10割ではなく通常の負担割合で受領してください。");
    } else {
      m.allowed = true;
      if (c.presented == Presented::kNothing && first) {
        m.rule = R("FULL_SELF_PAY_NO_CARD_FIRST_VISIT", kNoCard,
                   "no My Number card and no 資格確認書 on a first visit: collect 10割, refund once "
                   "eligibility is confirmed",
                   "初診でマイナ保険証も資格確認書もないため10割を受領し、資格確認後に差額を返金して"
                   "ください。資格確認書の再発行手続きをご案内ください。");
      } else if (phone) {
        m.rule = R("FULL_SELF_PAY_SMARTPHONE_ONLY", kTree,
                   "smartphone only: if the マイナポータル screen cannot be shown, collect 10割, "
                   "refund once eligibility is confirmed",
                   "スマートフォンのみの提示でマイナポータル画面で確認できない場合は10割を受領し、"
                   "資格確認後に返金してください。");
      } else if (card && first && !c.has_valid_insurance_now) {
        m.rule = R("FULL_SELF_PAY_NO_VALID_INSURANCE", kClaim,
                   "if 1 and 2 fail: the patient holds no valid insurance now, so no 申立書; "
                   "collect 10割",
                   "①②で確認できない場合、現在有効な保険資格がないため申立書は使えません。10割を"
                   "受領してください。");
      } else if (screen_or_notice) {
        m.rule = R("FULL_SELF_PAY_IF_SCREEN_AND_NOTICE_FAIL", kTree,
                   "if 1 and 2 fail, neither 口頭確認 nor the 申立書 applies: collect 10割, refund "
                   "once eligibility is confirmed",
                   "①②で確認できない場合は10割を受領し、資格確認後に差額を返金してください。");
      } else {
        m.rule = R("FULL_SELF_PAY_NO_METHOD", kTree,
                   "no method applies: collect 10割, refund once eligibility is confirmed",
                   "確認方法がないため10割を受領し、資格確認後に差額を返金してください。");
      }
    }
    d.methods.push_back(std::move(m));
  }

  if (any_allowed) {
    d.first_choice = first_method;
    d.charge = Charge::kNormalRatio;
    d.charge_rule = R("NORMAL_RATIO_ON_EVERY_PATH", kTree,
                      "patients are charged their normal ratio (3割 etc.), not 10割, on every "
                      "method of the tree",
                      "通常の負担割合（3割等）で受領してください。10割ではありません。");
  } else {
    d.first_choice = Method::kFullSelfPay;
    d.charge = Charge::kFullSelfPay;
    d.charge_rule = d.methods.back().rule;
  }
  return d;
}

ReceptionResult ReceptionResultOf(const oqs::EligibilityResult& result) {
  if (!result.qualification_validity || !result.qualification_validity->value) {
    return ReceptionResult::kNone;
  }
  switch (*result.qualification_validity->value) {
    case oqs::QualificationValidity::kInvalid:
    case oqs::QualificationValidity::kInvalidNewerExists:
      return ReceptionResult::kInvalid;
    case oqs::QualificationValidity::kNoRecord:
      return ReceptionResult::kNoRecord;
    case oqs::QualificationValidity::kValid:
    case oqs::QualificationValidity::kMultiple:
    case oqs::QualificationValidity::kValidUnregistered:
      return ReceptionResult::kNone;
  }
  return ReceptionResult::kNone;
}

std::optional<KnownEligibility> OldEligibilityOf(const oqs::EligibilityResult& result) {
  if (ReceptionResultOf(result) != ReceptionResult::kInvalid) return std::nullopt;
  for (const auto& q : result.results) {
    if (!q.insurer_number) continue;
    KnownEligibility k;
    k.source = KnownEligibility::Source::kInvalidResult;
    k.insurer_number = q.insurer_number->value ? q.insurer_number->value->digits()
                                               : q.insurer_number->raw;
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
