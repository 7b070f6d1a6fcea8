#include "core/fallback/claim.h"

#include <algorithm>
#include <utility>

#include "core/fallback/text.h"

namespace onshid::core::fallback {
namespace {

using internal::IsBlankText;

constexpr const char* kSrcClaim = "seed 003 p.12 レセプト請求方法 (DOMAIN.md §8)";
constexpr const char* kSrcOld =
    "seed 003 p.14 旧資格（過去の資格情報）でのレセプト請求 (DOMAIN.md §8)";
constexpr const char* kSrcAfter = "seed 003 p.18 事後での資格確認とレセプト請求 (DOMAIN.md §8)";
constexpr const char* kSrcMultipleDays = "seed 003 p.16 複数回受診 (DOMAIN.md §8)";
constexpr const char* kSrc011 = "seed 003 チャットボット エラーコード011 (DOMAIN.md §10)";
constexpr const char* kSrcRatio70 =
    "seed 004 質問と回答 被保険者申立書②; seed 003 別紙様式 ※2 (DOMAIN.md §9)";
constexpr const char* kSrcSelfPay =
    "seed 000 一時的な「自費対応」→後日の返金処理; seed 004 質問と回答 (DOMAIN.md §7)";

DomainError Precondition(std::string reason, std::string message, std::string message_ja,
                         std::vector<FieldViolation> v = {}) {
  DomainError e =
      InvalidArgument(std::move(reason), std::move(message), std::move(message_ja), std::move(v));
  e.kind = ErrorKind::kFailedPrecondition;
  return e;
}

DomainError Disposed() {
  return Precondition("INSURANCE_STATEMENT_DISPOSED",
                      "the insurance statement was disposed of after the claim work finished",
                      "この申立書の内容は請求事務の終了に伴い廃棄済みです。");
}

ClaimDecision Route(ClaimRoute route, Rule rule, std::optional<KnownEligibility> with = {}) {
  ClaimDecision d;
  d.engine_version = std::string(kEngineVersion);
  d.route = route;
  d.rule = std::move(rule);
  d.claim_with = std::move(with);
  return d;
}

std::optional<KnownEligibility> FindKnown(const FallbackCase& c, KnownEligibility::Source s) {
  for (const auto& k : c.known_eligibilities) {
    if (k.source == s) return k;
  }
  return std::nullopt;
}

// The 旧資格 to claim with: the one a 資格(無効) result showed, else the facility's past visits.
std::optional<KnownEligibility> OldEligibility(const FallbackCase& c) {
  auto old = FindKnown(c, KnownEligibility::Source::kInvalidResult);
  if (!old) old = FindKnown(c, KnownEligibility::Source::kPastVisits);
  return old;
}

Rule OldEligibilityRule() {
  return {
      "CLAIM_WITH_OLD_ELIGIBILITY", kSrcOld,
      "a past eligibility is known: claim with the 旧資格, not 不詳; 振替・分割 redirects it to "
      "the new insurer",
      "過去の資格情報が分かるため、不詳ではなく旧資格で請求してください（新しい保険者の登録が"
      "あれば、振替・分割で自動的に請求先が切り替わります）。"};
}

Rule ContactPatientNote() {
  return {"CONTACT_THE_PATIENT", kSrcAfter,
          "if the patient does not provide their eligibility, contact them and record the date",
          "患者さんから資格情報の提供がなければ、連絡先に電話して確認し、連絡した日を記録して"
          "ください。"};
}

Rule RatioNote() {
  return {
      "SELF_DECLARED_RATIO_70_PLUS", kSrcRatio70,
      "70+ / 後期: the ratio the patient declared on the 申立書 was charged; a mismatch causes no "
      "return, the insurer settles the difference with the patient",
      "70歳以上・後期高齢者の方は申立書に記入された負担割合で受領します。実際と違っていても"
      "レセプトは返戻されず、差額は保険者と患者さんの間で精算されます。"};
}

DomainError EligibilityMissing(std::string why) {
  return InvalidArgument("CLAIM_ELIGIBILITY_MISSING",
                         "record the eligibility that was confirmed before routing the claim",
                         "確認した資格情報（保険者番号・記号・番号など）を入力してください。",
                         {{"confirmed", std::move(why)}});
}

// A route that waits for an eligibility: 旧資格 whenever one is known, else confirm later.
ClaimDecision Pending(const FallbackCase& c, Rule pending_rule) {
  if (auto old = OldEligibility(c)) {
    return Route(ClaimRoute::kOldEligibility, OldEligibilityRule(), std::move(old));
  }
  ClaimDecision d = Route(ClaimRoute::kConfirmLater, std::move(pending_rule));
  d.notes.push_back(ContactPatientNote());
  return d;
}

// Every 不詳 condition (seed 003 p.16) the case fails, named by its input field.
std::vector<FieldViolation> FushoViolations(const FallbackCase& c) {
  std::vector<FieldViolation> v;
  const DocumentSet& p = c.presented;
  if (!c.facility.oqs_available) {
    v.push_back(
        {"input.facility.oqs_available",
         "不詳 follows a failed マイナ保険証 reception at a facility with online verification"});
  }
  if (!c.has_valid_insurance_now) {
    v.push_back({"input.has_valid_insurance_now", "the patient must hold valid insurance now"});
  }
  const bool health_card_valid =
      p.HasHealthInsuranceCard() && c.date && c.date->ymd() <= kHealthInsuranceCardLastDay;
  if (!p.HasMyNumberCard()) {
    v.push_back({"input.presented",
                 "the My Number card must be presented (not only a 資格確認書 or a smartphone)"});
  } else if (c.newborn == Newborn::kCardNotRegistered ||
             c.newborn == Newborn::kRegistrationUnchecked) {
    v.push_back({"input.newborn", "the newborn's card must be registered for insurance use"});
  } else if (p.HasQualificationCertificate() || health_card_valid) {
    v.push_back({"input.presented",
                 p.HasQualificationCertificate()
                     ? "a 資格確認書 was presented: it stands alone, no 申立書"
                     : "a 健康保険証 still valid on the visit date stands alone: no 申立書"});
  }
  if (c.visit != VisitKind::kFirstVisit) {
    v.push_back({"input.visit", "first visits only; a revisit is confirmed orally (口頭確認)"});
  }
  if (c.actual_days >= 2) {
    v.push_back(
        {"input.actual_days", "実日数 ≥ 2: confirm afterwards and claim with what is found"});
  }
  return v;
}

Result<ClaimDecision> RouteStatement(const ClaimOutcome& o, int claim_days) {
  const FallbackCase& c = o.input;
  if (!o.statement) {
    return InvalidArgument("INSURANCE_STATEMENT_MISSING", "method 4 needs the statement",
                           "被保険者資格申立書の内容を入力してください。",
                           {{"statement", "required for method 4"}});
  }
  const InsuranceStatement& s = *o.statement;
  if (s.disposed()) return Disposed();
  std::vector<Rule> notes;
  if (c.age != AgeBracket::kUnder70 || DeclaredRatioRequired(s)) notes.push_back(RatioNote());
  const auto with_notes = [&notes](ClaimDecision d) {
    d.notes.insert(d.notes.begin(), notes.begin(), notes.end());
    return d;
  };

  // (a) The patient provided their eligibility afterwards (p.18).
  if (o.confirmed) {
    return with_notes(Route(ClaimRoute::kCurrent,
                            {"CLAIM_WITH_ELIGIBILITY_PROVIDED_LATER", kSrcAfter,
                             "the patient provided their eligibility afterwards: claim with it, "
                             "not 不詳",
                             "患者さんから資格情報の提供があったため、不詳ではなく確認できた資格で"
                             "請求してください。"},
                            o.confirmed));
  }
  // (b) A 旧資格 is known: a 資格(無効) result first, then the facility's past visits (p.14, p.18).
  if (auto old = OldEligibility(c)) {
    return with_notes(Route(ClaimRoute::kOldEligibility, OldEligibilityRule(), std::move(old)));
  }
  // (c) More visit days followed: confirm afterwards (p.16 複数回受診).
  if (claim_days >= 2) {
    ClaimDecision d =
        Route(ClaimRoute::kConfirmLater,
              {"CONFIRM_LATER_MULTIPLE_DAYS", kSrcMultipleDays,
               "実日数 ≥ 2 in the claim month: confirm with the patient and claim with "
               "the eligibility found, not 不詳",
               "今月の実日数が2日以上になったため、不詳ではなく、患者さんに資格を確認して"
               "判明した資格で請求してください。"});
    d.notes.push_back(ContactPatientNote());
    return with_notes(std::move(d));
  }
  // (d) 不詳: the statement valid, the 摘要 complete, the patient contacted after the visit.
  std::vector<FieldViolation> v;
  if (auto st = Validate(s); !st.ok()) {
    for (const auto& fv : st.error().field_violations) {
      v.push_back({"statement." + fv.field, fv.description});
    }
  }
  auto tekiyo = BuildUnknownTekiyo(s, o.patient_contacted_on);
  if (!tekiyo.ok()) {
    for (const auto& fv : tekiyo.error().field_violations) {
      const bool dup = std::any_of(v.begin(), v.end(),
                                   [&](const FieldViolation& x) { return x.field == fv.field; });
      if (!dup) v.push_back(fv);
    }
  }
  if (o.patient_contacted_on && *o.patient_contacted_on < *c.date &&
      std::none_of(v.begin(), v.end(),
                   [](const FieldViolation& x) { return x.field == "patient_contacted_on"; })) {
    v.push_back({"patient_contacted_on", "before the visit"});
  }
  if (!v.empty()) {
    DomainError e =
        Precondition("FUSHO_TEKIYO_INCOMPLETE",
                     "the 不詳 claim cannot be built: statement or 摘要 items missing",
                     "不詳レセプトに必要な項目が不足しています。申立書の記入内容と、患者さんへ"
                     "連絡した日を確認してください。",
                     std::move(v));
    e.metadata.emplace_back("route", "UNKNOWN");
    return e;
  }
  ClaimDecision d = with_notes(Route(
      ClaimRoute::kUnknown,
      {"CLAIM_UNKNOWN", "seed 003 p.15–18 不詳レセプトの請求 (DOMAIN.md §8)",
       "first visit, My Number card presented, valid insurance now, nothing provided and no 旧資格 "
       "known: claim as 不詳 with the full 摘要",
       "初診・マイナンバーカード提示・現在有効な保険ありで、資格情報の提供も旧資格もないため、"
       "不詳として請求します。摘要欄に必要な項目をすべて記載しました。"}));
  d.tekiyo = std::move(tekiyo).value();
  return d;
}

}  // namespace

Result<std::string> BuildUnknownTekiyo(const InsuranceStatement& s,
                                       const std::optional<oqs::OqsDate>& contacted) {
  if (s.disposed()) return Disposed();
  std::vector<FieldViolation> v;
  if (IsBlankText(s.furigana)) v.push_back({"statement.furigana", "摘要 item カナ氏名 is missing"});
  if (s.insurance_type == InsuranceType::kUnset) {
    v.push_back({"statement.insurance_type", "摘要 item 保険種別 is missing"});
  }
  if (IsBlankText(s.insurer_name)) {
    v.push_back({"statement.insurer_name", "摘要 item 保険者等名称 is missing"});
  }
  if (EmployerNameRequired(s) && IsBlankText(s.employer_name)) {
    v.push_back({"statement.employer_name", "摘要 item 事業所名 is missing"});
  }
  if (IsBlankText(s.address)) v.push_back({"statement.address", "摘要 item 住所 is missing"});
  if (IsBlankText(s.phone)) v.push_back({"statement.phone", "摘要 item 連絡先 is missing"});
  std::optional<std::string> contacted_text;
  if (!contacted) {
    v.push_back({"patient_contacted_on", "摘要 item 患者への連絡を行った日 is missing"});
  } else if (!(contacted_text = FormatWareki(*contacted))) {
    v.push_back({"patient_contacted_on", "not a valid date"});
  } else if (s.written_on && *contacted < *s.written_on) {
    v.push_back({"patient_contacted_on", "before the date the statement was written"});
  }
  if (!v.empty()) {
    return Precondition(
        "FUSHO_TEKIYO_INCOMPLETE", "the 不詳 claim remark (摘要) is missing mandatory items",
        "不詳レセプトの摘要に必要な項目が不足しています。申立書と、患者さんへ連絡した日を"
        "確認してください。",
        std::move(v));
  }
  std::string employer = s.employer_name;
  if (IsBlankText(employer)) employer = "なし";
  std::string address = s.address;
  if (!IsBlankText(s.other_address)) address += "（他の住所：" + s.other_address + "）";
  std::string t = "不詳\n";
  t += "カナ氏名：" + s.furigana + "\n";
  t += "保険種別：" + std::string(InsuranceTypeNameJa(s.insurance_type));
  if (s.insurance_type == InsuranceType::kKokuho && s.kokuho_union) t += "（国保組合）";
  t += "\n";
  t += "保険者等名称：" + s.insurer_name + "\n";
  t += "事業所名：" + employer + "\n";
  t += "住所：" + address + "\n";
  t += "連絡先：" + s.phone + "\n";
  t += "患者への連絡を行った日：" + *contacted_text;
  return t;
}

Result<ClaimDecision> RouteClaim(const ClaimOutcome& o) {
  auto decided = Decide(o.input);
  if (!decided.ok()) return decided.error();
  const Decision& decision = decided.value();
  const FallbackCase& c = o.input;

  const MethodDecision& applied = decision.Find(o.method_applied);
  if (!applied.allowed) {
    std::vector<FieldViolation> v;
    std::string reason = "METHOD_NOT_ALLOWED";
    if (o.method_applied == Method::kInsuranceStatement) {
      reason = "FUSHO_NOT_ALLOWED";
      v = FushoViolations(c);
    }
    DomainError e =
        Precondition(std::move(reason), applied.rule.reason, applied.rule.reason_ja, std::move(v));
    e.metadata.emplace_back("rule", applied.rule.id);
    return e;
  }
  const int claim_days = o.actual_days_at_claim.value_or(c.actual_days);
  if (claim_days < c.actual_days || claim_days > 31) {
    return InvalidArgument("INVALID_ACTUAL_DAYS", "the claim month's 実日数 is out of range",
                           "請求月の実日数を確認してください。",
                           {{"actual_days_at_claim", "between the decision's 実日数 and 31"}});
  }

  const Rule seen = {"CLAIM_WITH_SEEN_ELIGIBILITY", kSrcClaim,
                     "claim with the eligibility the method showed",
                     "確認できた資格情報で請求してください。"};
  switch (o.method_applied) {
    case Method::kVisualCheckMode:
    case Method::kQualificationCertificate:
    case Method::kProvisionalQuery:
    case Method::kPortalScreen:
    case Method::kEligibilityNotice:
      if (!o.confirmed) return EligibilityMissing("required for this method");
      return Route(ClaimRoute::kCurrent, seen, o.confirmed);
    case Method::kEmergencyLookup:
      if (o.confirmed) return Route(ClaimRoute::kCurrent, seen, o.confirmed);
      if (c.cause != FallbackCause::kTerminalError011) {
        return EligibilityMissing("required: 災害時モード shows the eligibility at the desk");
      }
      return Pending(
          c, {"VERIFY_AFTER_ERROR_011", kSrc011,
              "error 011: verify the eligibility once the 緊急時医療情報・資格確認機能 is "
              "available, then claim with it",
              "緊急時医療情報・資格確認機能が使えるようになったら、控えた情報で資格を確認し、"
              "その資格で請求してください。"});
    case Method::kOralConfirmation: {
      auto with = o.confirmed ? o.confirmed : FindKnown(c, KnownEligibility::Source::kPastVisits);
      if (!with) return EligibilityMissing("required: no past-visit eligibility is held");
      return Route(ClaimRoute::kCurrent,
                   {"CLAIM_WITH_HELD_ELIGIBILITY", kSrcClaim,
                    "口頭確認: claim with the eligibility the facility holds, confirmed orally",
                    "口頭で変更がないことを確認した資格情報で請求してください。"},
                   std::move(with));
    }
    case Method::kConfirmAfterwards:
      if (o.confirmed) {
        return Route(ClaimRoute::kCurrent,
                     {"CLAIM_WITH_ELIGIBILITY_FOUND_LATER", kSrcMultipleDays,
                      "claim with the eligibility confirmed afterwards",
                      "後日確認できた資格で請求してください。"},
                     o.confirmed);
      }
      return Pending(c, {"CONFIRM_AFTERWARDS_PENDING", kSrcMultipleDays,
                         "実日数 ≥ 2: confirm the eligibility with the patient, then claim with it",
                         "患者さんに資格を確認し、判明した資格で請求してください。"});
    case Method::kFullSelfPay: {
      if (o.confirmed) {
        ClaimDecision d = Route(ClaimRoute::kCurrent,
                                {"CLAIM_WITH_ELIGIBILITY_PROVIDED_LATER", kSrcAfter,
                                 "the eligibility was confirmed after 10割: claim with it",
                                 "資格が確認できたため、その資格で請求してください。"},
                                o.confirmed);
        d.notes.push_back(
            {"REFUND_AFTER_FULL_SELF_PAY", kSrcSelfPay,
             "eligibility confirmed after 10割: refund the difference to the patient",
             "資格が確認できたため、受領した10割と通常の負担額との差額を患者さんに返金して"
             "ください。"});
        return d;
      }
      return Route(
          ClaimRoute::kSelfPay,
          {"SELF_PAY_UNTIL_CONFIRMED", kSrcSelfPay,
           "10割 collected: no insurance claim until eligibility is confirmed",
           "10割を受領しました。資格が確認でき次第、保険請求して差額を返金してください。"});
    }
    case Method::kInsuranceStatement: return RouteStatement(o, claim_days);
  }
  return Internal("unknown method");
}

}  // namespace onshid::core::fallback
