#include "core/fallback/case_errors.h"

#include <array>
#include <utility>

namespace onshid::core::fallback {
namespace {

DomainError Make(ErrorKind kind, std::string reason, std::string message, std::string message_ja,
                 std::vector<FieldViolation> fields = {}) {
  DomainError e;
  e.kind = kind;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja = std::move(message_ja);
  e.field_violations = std::move(fields);
  return e;
}

// The items a clerk knows the evidence's fields by. A field takes the label of the first entry
// that is the field itself or one of its parents, so the specific entries come first.
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kEvidenceLabels = {{
    {"eligibility.insurer_number", "保険者番号"},
    {"kind", "記録の種類"},
    {"method", "実施した確認方法"},
    {"staff_id", "記録者"},
    {"eligibility", "確認した資格情報"},
    {"portal_pdf", "マイナポータル画面"},
    {"oral", "口頭確認の内容"},
    {"statement", "被保険者資格申立書"},
    {"amount_collected_yen", "徴収額"},
    {"card_face", "券面事項"},
    {"contacted_on", "患者へ連絡した日"},
}};

std::string_view EvidenceLabelJa(std::string_view field) {
  for (const auto& [name, label] : kEvidenceLabels) {
    if (field.substr(0, name.size()) != name) continue;
    if (field.size() == name.size() || field[name.size()] == '.' || field[name.size()] == '[') {
      return label;
    }
  }
  return {};
}

// 「次の項目を確認してください：記録者、保険者番号」 from the violations (relative names).
std::string ItemsJa(const std::vector<FieldViolation>& violations) {
  std::vector<std::string_view> found;
  for (const auto& v : violations) {
    const std::string_view label = EvidenceLabelJa(v.field);
    if (label.empty()) continue;
    bool seen = false;
    for (auto l : found) seen = seen || l == label;
    if (!seen) found.push_back(label);
  }
  if (found.empty()) return "入力内容を確認してください。";
  std::string out = "次の項目を確認してください：";
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (i > 0) out += "、";
    out += found[i];
  }
  return out;
}

}  // namespace

DomainError InvalidEvidence(std::vector<FieldViolation> violations, std::string_view prefix,
                            std::string detail_ja) {
  std::string ja = "記録する内容に不足または誤りがあります。" + ItemsJa(violations);
  if (!detail_ja.empty()) {
    if (!ja.ends_with("。")) ja += "。";
    ja += detail_ja;
  }
  for (auto& v : violations) v.field = std::string(prefix) + v.field;
  return Make(ErrorKind::kInvalidArgument, "INVALID_EVIDENCE",
              "the evidence has missing or invalid fields", std::move(ja), std::move(violations));
}

DomainError CaseClosed(const std::string& case_id) {
  auto e = Make(ErrorKind::kFailedPrecondition, "CASE_CLOSED",
                "the fallback case is closed; nothing more can be recorded",
                "このケースは完了済みのため、追加の記録はできません。");
  e.metadata = {{"case_id", case_id}};
  return e;
}

DomainError MethodNotAllowed(Method method, const Rule& rule) {
  auto e = Make(ErrorKind::kFailedPrecondition, "METHOD_NOT_ALLOWED",
                std::string(MethodName(method)) + " is not allowed here: " + rule.reason,
                std::string(MethodNameJa(method)) + "は使えません。" + rule.reason_ja);
  e.metadata = {{"rule", rule.id}, {"method", std::string(MethodName(method))}};
  return e;
}

DomainError CardFaceNotApplicable() {
  return Make(ErrorKind::kFailedPrecondition, "EVIDENCE_NOT_APPLICABLE",
              "card-face data is recorded only after terminal error 011",
              "券面情報の記録は、エラー011の場合のみ行います。",
              {{"evidence.kind", "CARD_FACE needs cause TERMINAL_ERROR_011"}});
}

DomainError NoMethodApplied() {
  return Make(ErrorKind::kFailedPrecondition, "NO_METHOD_APPLIED",
              "record the method applied (RecordEvidence) before choosing the claim route",
              "請求方法を決める前に、行った確認方法を記録してください。");
}

DomainError ClaimRouteMismatch(ClaimRoute route, const Rule& rule) {
  auto e = Make(
      ErrorKind::kFailedPrecondition, "CLAIM_ROUTE_MISMATCH",
      "the engine routes this claim to " + std::string(ClaimRouteName(route)) + ": " + rule.reason,
      "この内容では請求方法は「" + std::string(ClaimRouteNameJa(route)) + "」になります。" +
          rule.reason_ja);
  e.metadata = {{"route", std::string(ClaimRouteName(route))}, {"rule", rule.id}};
  return e;
}

DomainError NoClaimRoute() {
  return Make(ErrorKind::kFailedPrecondition, "NO_CLAIM_ROUTE",
              "choose the claim route before closing the case",
              "請求方法（現在の資格・旧資格・不詳など）を決めてから完了してください。");
}

DomainError ClaimRouteStale() {
  return Make(ErrorKind::kFailedPrecondition, "CLAIM_ROUTE_STALE",
              "the claim route no longer matches what is recorded; choose it again",
              "記録内容が変わったため、請求方法をもう一度決めてください。");
}

DomainError InvalidCloseReason() {
  return Make(ErrorKind::kInvalidArgument, "INVALID_CLOSE_REASON",
              "reason must be CLAIM_WORK_FINISHED or CANCELLED", "完了理由が正しくありません。",
              {{"reason", "CLAIM_WORK_FINISHED or CANCELLED"}});
}

DomainError CaseInputRequired() {
  return Make(ErrorKind::kInvalidArgument, "INVALID_FALLBACK_CASE",
              "a case opened without a check-in needs the fallback case inputs",
              "受付に紐付けない場合は、状況（原因・提示書類など）を入力してください。",
              {{"fallback_case", "required without check_in_id"}});
}

DomainError CheckInNotInFallback(const std::string& check_in_id, std::string_view state) {
  auto e = Make(ErrorKind::kFailedPrecondition, "CHECKIN_NOT_IN_FALLBACK",
                "the check-in does not need the fallback path (state " + std::string(state) + ")",
                "この受付は代替確認の対象ではありません（資格確認済み、または確認待ちです）。");
  e.metadata = {{"check_in_id", check_in_id}, {"state", std::string(state)}};
  return e;
}

DomainError TaskNotFound(const std::string& task_id) {
  return Make(ErrorKind::kNotFound, "TASK_NOT_FOUND", "no task " + task_id,
              "指定された作業が見つかりません。");
}

DomainError TaskNotOpen(std::string_view state) {
  return Make(ErrorKind::kFailedPrecondition, "TASK_NOT_OPEN", "the task is " + std::string(state),
              "この作業はすでに完了または取消済みです。");
}

DomainError InvalidTaskCompletion(std::vector<FieldViolation> violations) {
  return Make(ErrorKind::kInvalidArgument, "INVALID_TASK_COMPLETION",
              "the task completion is incomplete or wrong",
              "作業の完了記録に不足または誤りがあります。", std::move(violations));
}

DomainError ClaimReturnedNeedsReturnWatch() {
  auto e = InvalidTaskCompletion({{"outcome", "CLAIM_RETURNED needs a RETURN_WATCH task"}});
  e.message = "CLAIM_RETURNED completes only a RETURN_WATCH task";
  e.message_ja += "「返戻あり」は返戻確認の作業にのみ記録できます。";
  return e;
}

}  // namespace onshid::core::fallback
