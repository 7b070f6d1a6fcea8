#include "core/checkin/changes.h"

#include <optional>

namespace onshid::core::checkin {
namespace {

using oqs::QualificationValidity;

// Trims ASCII spaces and U+3000 (全角 space, E3 80 80 in UTF-8) at both ends.
std::string Trim(std::string_view s) {
  constexpr std::string_view kWide = "\xE3\x80\x80";
  bool changed = true;
  while (changed) {
    changed = false;
    if (!s.empty() && s.front() == ' ') { s.remove_prefix(1); changed = true; }
    if (!s.empty() && s.back() == ' ') { s.remove_suffix(1); changed = true; }
    if (s.substr(0, kWide.size()) == kWide) { s.remove_prefix(kWide.size()); changed = true; }
    if (s.size() >= kWide.size() && s.substr(s.size() - kWide.size()) == kWide) {
      s.remove_suffix(kWide.size());
      changed = true;
    }
  }
  return std::string(s);
}

std::string Text(const oqs::Text& t) { return t ? Trim(*t) : std::string(); }

template <typename E>
std::string CodeText(const oqs::Code<E>& c) {
  return c ? Trim(c->raw) : std::string();
}

std::string InsurerText(const oqs::InsurerNumberField& f) { return f ? Trim(f->raw) : std::string(); }

std::string RatioText(const oqs::Text& t) {
  if (!t) return {};
  if (auto r = oqs::ParseBurdenRatio(Trim(*t))) return std::to_string(r->percent);
  return Trim(*t);  // unparsable: compare as written
}

std::optional<QualificationValidity> Validity(const oqs::EligibilityResult& r) {
  if (!r.qualification_validity) return std::nullopt;
  return r.qualification_validity->value;
}

bool IsAbnormal(const oqs::EligibilityResult& r) {
  const auto& seg = r.header.segment_of_result;
  const auto& st = r.processing_result_status;
  return !seg || seg->value != oqs::SegmentOfResult::kNormal || !st ||
         st->value != oqs::ProcessingResultStatus::kNormal;
}

bool IsSingleValid(const oqs::EligibilityResult& r) {
  const auto v = Validity(r);
  return !IsAbnormal(r) && v &&
         (*v == QualificationValidity::kValid || *v == QualificationValidity::kValidUnregistered) &&
         r.results.size() == 1;
}

std::string ValidityName(QualificationValidity v) {
  switch (v) {
    case QualificationValidity::kValid: return "VALID";
    case QualificationValidity::kInvalid: return "INVALID";
    case QualificationValidity::kInvalidNewerExists: return "INVALID_NEWER_EXISTS";
    case QualificationValidity::kNoRecord: return "NO_RECORD";
    case QualificationValidity::kMultiple: return "MULTIPLE";
    case QualificationValidity::kValidUnregistered: return "VALID_UNREGISTERED";
  }
  return "UNKNOWN";
}

void Compare(std::vector<FieldChange>& out, ChangedField field, std::string old_value,
             std::string new_value) {
  if (old_value != new_value) out.push_back({field, std::move(old_value), std::move(new_value)});
}

}  // namespace

std::string_view FieldName(ChangedField field) {
  switch (field) {
    case ChangedField::kInsurer: return "insurer_number";
    case ChangedField::kInsuredSymbol: return "insured_card_symbol";
    case ChangedField::kInsuredNumber: return "insured_identification_number";
    case ChangedField::kInsuredBranch: return "insured_branch_number";
    case ChangedField::kPersonalFamily: return "personal_family_classification";
    case ChangedField::kBurdenRatio: return "burden_ratio";
    case ChangedField::kElderlyCategory: return "elderly_recipient_ratio";
    case ChangedField::kLimitCategory: return "limit_classification";
    case ChangedField::kAddress: return "address";
    case ChangedField::kPostNumber: return "post_number";
    case ChangedField::kName: return "name";
    case ChangedField::kNameKana: return "name_kana";
    case ChangedField::kEligibilityLost: return "eligibility";
  }
  return "unknown";
}

std::vector<FieldChange> DetectChanges(const oqs::EligibilityResult& last_verified,
                                       const oqs::EligibilityResult& now) {
  std::vector<FieldChange> out;
  if (!IsSingleValid(last_verified) || IsAbnormal(now)) return out;
  const auto now_validity = Validity(now);
  if (!now_validity || *now_validity == QualificationValidity::kMultiple) return out;

  const oqs::Qualification& a = last_verified.results.front();
  const oqs::Qualification* b = now.results.size() == 1 ? &now.results.front() : nullptr;

  if (b) {
    Compare(out, ChangedField::kInsurer, InsurerText(a.insurer_number),
            InsurerText(b->insurer_number));
    Compare(out, ChangedField::kInsuredSymbol, Text(a.insured_card_symbol),
            Text(b->insured_card_symbol));
    Compare(out, ChangedField::kInsuredNumber, Text(a.insured_identification_number),
            Text(b->insured_identification_number));
    Compare(out, ChangedField::kInsuredBranch, Text(a.insured_branch_number),
            Text(b->insured_branch_number));
    Compare(out, ChangedField::kPersonalFamily, CodeText(a.personal_family_classification),
            CodeText(b->personal_family_classification));
    Compare(out, ChangedField::kBurdenRatio, RatioText(a.insured_partial_contribution_ratio),
            RatioText(b->insured_partial_contribution_ratio));
    Compare(out, ChangedField::kElderlyCategory,
            a.elderly_recipient_certificate
                ? RatioText(a.elderly_recipient_certificate->contribution_ratio)
                : std::string(),
            b->elderly_recipient_certificate
                ? RatioText(b->elderly_recipient_certificate->contribution_ratio)
                : std::string());
    Compare(out, ChangedField::kLimitCategory,
            a.limit_application_certificate
                ? CodeText(a.limit_application_certificate->classification_flag)
                : std::string(),
            b->limit_application_certificate
                ? CodeText(b->limit_application_certificate->classification_flag)
                : std::string());
    Compare(out, ChangedField::kAddress, Text(a.address), Text(b->address));
    Compare(out, ChangedField::kPostNumber, Text(a.post_number), Text(b->post_number));
    Compare(out, ChangedField::kName, Text(a.name), Text(b->name));
    Compare(out, ChangedField::kNameKana, Text(a.name_kana), Text(b->name_kana));
  }

  const bool lost_by_validity = *now_validity == QualificationValidity::kInvalid ||
                                *now_validity == QualificationValidity::kInvalidNewerExists ||
                                *now_validity == QualificationValidity::kNoRecord;
  const bool lost_by_date = b && b->disqualification_date && !a.disqualification_date;
  if (lost_by_validity || lost_by_date) {
    out.push_back({ChangedField::kEligibilityLost, ValidityName(*Validity(last_verified)),
                   lost_by_validity ? ValidityName(*now_validity)
                                    : "DISQUALIFIED " + Trim(b->disqualification_date->raw)});
  }
  return out;
}

}  // namespace onshid::core::checkin
