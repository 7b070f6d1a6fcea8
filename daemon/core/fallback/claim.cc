#include "core/fallback/claim.h"

#include <algorithm>
#include <utility>

namespace onshid::core::fallback {
namespace {

constexpr const char* kClaim = "DOMAIN.md §8 (seed 003)";

bool Blank(const std::string& s) {
  return s.find_first_not_of(" \t") == std::string::npos || s == "\u3000";
}

DomainError Precondition(std::string reason, std::string message, std::string message_ja,
                         std::vector<FieldViolation> v = {}) {
  DomainError e = InvalidArgument(std::move(reason), std::move(message), std::move(message_ja),
                                  std::move(v));
  e.kind = ErrorKind::kFailedPrecondition;
  return e;
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

Rule ProvidedLaterRule() {
  return {"CLAIM_WITH_ELIGIBILITY_PROVIDED_LATER", kClaim,
          "the patient provided eligibility afterwards: claim with it, not 不詳",
          "患者から資格情報の提供があったため、確認できた資格で請求してください。"};
}

}  // namespace

Result<std::string> BuildUnknownTekiyo(const InsuranceStatement& s,
                                       const std::optional<oqs::OqsDate>& contacted) {
  std::vector<FieldViolation> v;
  if (s.disposed()) {
    return Precondition("INSURANCE_STATEMENT_DISPOSED",
                        "the insurance statement was disposed of after the claim work finished",
                        "この申立書の内容は請求事務の終了に伴い廃棄済みです。");
  }
  if (Blank(s.furigana)) v.push_back({"statement.furigana", "摘要 item カナ氏名 is missing"});
  if (s.insurance_type == InsuranceType::kUnset) {
    v.push_back({"statement.insurance_type", "摘要 item 保険種別 is missing"});
  }
  if (Blank(s.insurer_name)) {
    v.push_back({"statement.insurer_name", "摘要 item 保険者等名称 is missing"});
  }
  if (EmployerNameRequired(s) && Blank(s.employer_name)) {
    v.push_back({"statement.employer_name", "摘要 item 事業所名 is missing"});
  }
  if (Blank(s.address)) v.push_back({"statement.address", "摘要 item 住所 is missing"});
  if (Blank(s.phone)) v.push_back({"statement.phone", "摘要 item 連絡先 is missing"});
  std::optional<std::string> contacted_text;
  if (!contacted) {
    v.push_back({"patient_contacted_on", "摘要 item 患者への連絡を行った日 is missing"});
  } else if (!(contacted_text = FormatWareki(*contacted))) {
    v.push_back({"patient_contacted_on", "not a valid date"});
  } else if (s.written_on && *contacted < *s.written_on) {
    v.push_back({"patient_contacted_on", "before the date the statement was written"});
  }
  if (!v.empty()) {
    return Precondition("FUSHO_TEKIYO_INCOMPLETE",
                        "the 不詳 claim remark (摘要) is missing mandatory items",
                        "不詳レセプトの摘要に必要な項目が不足しています。申立書と患者への連絡日を確認して"
                        "ください。",
                        std::move(v));
  }
  std::string employer = s.employer_name;
  if (Blank(employer)) employer = "なし";
  std::string address = s.address;
  if (!Blank(s.other_address)) address += "（他の住所：" + s.other_address + "）";
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
    if (o.method_applied == Method::kInsuranceStatement) {
      // Name every failed 不詳 / 申立書 condition, not just the first rule that blocked it.
      std::vector<FieldViolation> v;
      if (!c.has_valid_insurance_now) {
        v.push_back({"input.has_valid_insurance_now", "the patient must hold valid insurance now"});
      }
      if (c.presented != Presented::kMyNumberCard) {
        v.push_back({"input.presented",
                     "the My Number card must be presented (not only a 資格確認書 or a smartphone)"});
      }
      if (c.visit != VisitKind::kFirstVisit) {
        v.push_back({"input.visit", "first visits only; a revisit is confirmed orally (口頭確認)"});
      }
      DomainError e = Precondition("FUSHO_NOT_ALLOWED", applied.rule.reason, applied.rule.reason_ja,
                                   std::move(v));
      e.metadata.emplace_back("rule", applied.rule.id);
      return e;
    }
    DomainError e = Precondition("METHOD_NOT_ALLOWED", applied.rule.reason,
                                 applied.rule.reason_ja);
    e.metadata.emplace_back("rule", applied.rule.id);
    return e;
  }

  switch (o.method_applied) {
    case Method::kPortalScreen:
    case Method::kEligibilityNotice:
    case Method::kQualificationCertificate: {
      if (!o.confirmed) {
        return InvalidArgument("CLAIM_ELIGIBILITY_MISSING",
                               "record the eligibility that was seen before routing the claim",
                               "確認した資格情報（保険者番号等）を入力してください。",
                               {{"confirmed", "required for this method"}});
      }
      return Route(ClaimRoute::kCurrent,
                   {"CLAIM_WITH_SEEN_ELIGIBILITY", kClaim,
                    "methods 1 and 2 (and the 資格確認書): claim with the eligibility seen",
                    "確認した画面・書面の資格情報で請求してください。"},
                   o.confirmed);
    }
    case Method::kOralConfirmation: {
      auto with = o.confirmed ? o.confirmed : FindKnown(c, KnownEligibility::Source::kPastVisits);
      if (!with) {
        return InvalidArgument("CLAIM_ELIGIBILITY_MISSING",
                               "no held eligibility to claim with after oral confirmation",
                               "口頭確認した資格情報を入力してください。",
                               {{"confirmed", "required: no past-visit eligibility is held"}});
      }
      return Route(ClaimRoute::kCurrent,
                   {"CLAIM_WITH_HELD_ELIGIBILITY", kClaim,
                    "method 3: claim with the eligibility the facility holds, confirmed orally",
                    "口頭で変更がないことを確認した資格情報で請求してください。"},
                   std::move(with));
    }
    case Method::kFullSelfPay: {
      if (o.confirmed) {
        ClaimDecision d = Route(ClaimRoute::kCurrent, ProvidedLaterRule(), o.confirmed);
        d.notes.push_back({"REFUND_AFTER_FULL_SELF_PAY", "DOMAIN.md §7 (seed 000, 004)",
                           "eligibility confirmed after 10割: refund the difference to the patient",
                           "資格が確認できたため、10割との差額を患者に返金してください。"});
        return d;
      }
      return Route(ClaimRoute::kSelfPay,
                   {"SELF_PAY_UNTIL_CONFIRMED", "DOMAIN.md §7 (seed 004)",
                    "10割 collected: no insurance claim until eligibility is confirmed",
                    "10割を受領しました。資格が確認でき次第、保険請求し差額を返金してください。"});
    }
    case Method::kInsuranceStatement:
      break;
  }

  // Method 4: 被保険者資格申立書.
  if (!o.statement) {
    return InvalidArgument("INSURANCE_STATEMENT_MISSING", "method 4 needs the statement",
                           "被保険者資格申立書の内容を入力してください。",
                           {{"statement", "required for method 4"}});
  }
  const InsuranceStatement& s = *o.statement;
  if (s.disposed()) {
    if (auto st = Validate(s); !st.ok()) return st.error();
  }
  std::vector<Rule> notes;
  if (s.declared_ratio != DeclaredRatio::kUnset && DeclaredRatioRequired(s)) {
    notes.push_back({"SELF_DECLARED_RATIO_70_PLUS", "DOMAIN.md §9 (seed 004)",
                     "70+ / 後期: charge the self-declared ratio; a mismatch is not returned, the "
                     "insurer settles the difference with the patient",
                     "70歳以上・後期高齢者は申立ての負担割合で受領します。相違があっても返戻されず、"
                     "保険者と患者の間で精算されます。"});
  }
  const auto with_notes = [&notes](ClaimDecision d) {
    d.notes = notes;
    return d;
  };

  // (a) eligibility provided afterwards.
  if (o.confirmed) return with_notes(Route(ClaimRoute::kCurrent, ProvidedLaterRule(), o.confirmed));
  // (b) 旧資格: a 資格(無効) result first, then the facility's past visits.
  auto old = FindKnown(c, KnownEligibility::Source::kInvalidResult);
  if (!old) old = FindKnown(c, KnownEligibility::Source::kPastVisits);
  if (old) {
    return with_notes(Route(
        ClaimRoute::kOldEligibility,
        {"CLAIM_WITH_OLD_ELIGIBILITY", kClaim,
         "a past eligibility is known: claim with the 旧資格, not 不詳; 振替・分割 redirects it",
         "過去の資格情報が分かるため、不詳ではなく旧資格で請求してください（振替・分割で新しい保険者"
         "へ自動で振り替えられます）。"},
        std::move(old)));
  }
  // 実日数 ≥ 2: the facility confirms later and claims with what it finds.
  if (c.actual_days >= 2) {
    return with_notes(Route(ClaimRoute::kConfirmLater,
                            {"CONFIRM_LATER_MULTIPLE_DAYS", kClaim,
                             "実日数 ≥ 2: confirm with the patient later and claim with the "
                             "eligibility found, not 不詳",
                             "実日数が2日以上のため、事後に患者へ確認し、判明した資格で請求してください。"}));
  }
  // 不詳: the statement must be valid and the 摘要 complete.
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
  if (!v.empty()) {
    DomainError e = Precondition("FUSHO_TEKIYO_INCOMPLETE",
                                 "the 不詳 claim cannot be built: statement or 摘要 items missing",
                                 "不詳レセプトに必要な項目が不足しています。申立書の記入内容と患者への連絡日を"
                                 "確認してください。",
                                 std::move(v));
    e.metadata.emplace_back("route", "UNKNOWN");
    return e;
  }
  ClaimDecision d = with_notes(Route(
      ClaimRoute::kUnknown,
      {"CLAIM_UNKNOWN", kClaim,
       "first visit, My Number card presented, valid insurance now, no eligibility found: claim "
       "as 不詳 with the full 摘要",
       "初診・マイナンバーカード提示・現在有効な資格あり・資格情報不明のため、不詳として請求します。"
       "摘要欄に必要事項を記載済みです。"}));
  d.tekiyo = std::move(tekiyo).value();
  return d;
}

}  // namespace onshid::core::fallback
