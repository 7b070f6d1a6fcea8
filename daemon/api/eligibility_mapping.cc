#include "api/eligibility_mapping.h"

#include <google/protobuf/util/time_util.h>

namespace onshid::api {
namespace {

namespace oqs = core::oqs;
using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToTimestamp(core::SystemTime t) {
  return TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::string Text(const oqs::Text& t) { return t ? *t : std::string(); }

// yyyyMMdd → YYYY-MM-DD; a malformed date is returned as received (and is flagged in issues).
std::string Date(const oqs::Date& d) {
  if (!d) return {};
  const std::string& raw = d->raw;
  if (d->value && raw.size() == 8) {
    return raw.substr(0, 4) + "-" + raw.substr(4, 2) + "-" + raw.substr(6, 2);
  }
  return raw;
}

void SetTime(const oqs::DateTime& dt, google::protobuf::Timestamp* out) {
  if (dt && dt->value) *out = ToTimestamp(dt->value->ToSystemTime());
}

template <typename E>
onshi::v1::Code CodeOf(const oqs::Code<E>& c) {
  onshi::v1::Code out;
  if (!c) return out;
  out.set_code(c->raw);
  if (c->value) {
    out.set_label(std::string(oqs::LabelJa(*c->value)));
  } else {
    out.set_unknown(true);
  }
  return out;
}

template <typename E>
void SetCode(const oqs::Code<E>& c, onshi::v1::Code* out) {
  if (c) *out = CodeOf(c);
}

void SetConsent(const oqs::Consent& c, onshi::v1::ConsentItem* out) {
  SetCode(c.flag, out->mutable_flag());
  SetTime(c.cons_time, out->mutable_consent_time());
  SetTime(c.available_time, out->mutable_available_until());
}

int Wari(const std::optional<oqs::BurdenRatio>& r) {
  if (!r) return 0;
  auto w = r->Wari();
  return w ? *w : 0;
}

void FillQualification(const oqs::Qualification& q, onshi::v1::Qualification* out) {
  SetCode(q.insured_card_classification, out->mutable_insured_card_classification());
  auto* ids = out->mutable_identifiers();
  if (q.insurer_number) ids->set_insurer_number(q.insurer_number->raw);
  ids->set_insured_card_symbol(Text(q.insured_card_symbol));
  ids->set_insured_identification_number(Text(q.insured_identification_number));
  ids->set_insured_branch_number(Text(q.insured_branch_number));
  SetCode(q.personal_family_classification, out->mutable_personal_family_classification());
  out->set_insured_name(Text(q.insured_name));
  out->set_name(Text(q.name));
  out->set_name_of_other(Text(q.name_of_other));
  out->set_name_kana(Text(q.name_kana));
  out->set_name_of_other_kana(Text(q.name_of_other_kana));
  SetCode(q.sex1, out->mutable_sex1());
  SetCode(q.sex2, out->mutable_sex2());
  out->set_birth_date(Date(q.birthdate));
  out->set_address(Text(q.address));
  out->set_post_number(Text(q.post_number));
  out->set_qualification_date(Date(q.qualification_date));
  out->set_disqualification_date(Date(q.disqualification_date));
  out->set_certificate_issuance_date(Date(q.insured_certificate_issuance_date));
  out->set_card_valid_date(Date(q.insured_card_valid_date));
  out->set_card_expiration_date(Date(q.insured_card_expiration_date));
  out->set_partial_contribution_ratio_raw(Text(q.insured_partial_contribution_ratio));
  out->set_partial_contribution_ratio_wari(Wari(q.PartialContributionRatio()));
  out->set_preschool(q.preschool_classification.has_value() &&
                     q.preschool_classification->value.has_value());
  SetCode(q.reason_of_loss, out->mutable_reason_of_loss());
  out->set_insurer_name(Text(q.insurer_name));
  out->set_public_expense_number(Text(q.public_expense_number));
  out->set_beneficiary_number(Text(q.beneficiary_number));
  out->set_welfare_office_name(Text(q.welfare_office_name));
  if (q.elderly_recipient_certificate) {
    const auto& e = *q.elderly_recipient_certificate;
    auto* o = out->mutable_elderly_recipient();
    o->set_issue_date(Date(e.certificate_date));
    o->set_valid_start_date(Date(e.valid_start_date));
    o->set_valid_end_date(Date(e.valid_end_date));
    o->set_contribution_ratio_raw(Text(e.contribution_ratio));
    o->set_contribution_ratio_wari(Wari(e.ContributionRatio()));
  }
  if (q.limit_application_certificate) {
    const auto& l = *q.limit_application_certificate;
    auto* o = out->add_limit_certificates();
    SetCode(l.classification, o->mutable_classification());
    SetCode(l.classification_flag, o->mutable_classification_flag());
    o->set_issue_date(Date(l.certificate_date));
    o->set_valid_start_date(Date(l.valid_start_date));
    o->set_valid_end_date(Date(l.valid_end_date));
    o->set_long_term_date(Date(l.long_term_date));
  }
  for (const auto& s : q.specific_diseases_certificates) {
    auto* o = out->add_specific_diseases();
    SetCode(s.disease_category, o->mutable_disease_category());
    o->set_issue_date(Date(s.certificate_date));
    o->set_valid_start_date(Date(s.valid_start_date));
    o->set_valid_end_date(Date(s.valid_end_date));
    o->set_self_pay_limit_yen(Text(s.self_pay));
  }
  for (const auto& t : q.medical_tickets) {
    auto* o = out->add_medical_tickets();
    SetCode(t.ticket_type, o->mutable_ticket_type());
    o->set_valid_date(Date(t.valid_date));
    o->set_expiration_date(Date(t.expiration_date));
    o->set_issue_number(Text(t.issue_number));
    o->set_medical_treatment_month(Text(t.medical_treatment_month));
    o->set_designated_institution_code(Text(t.designated_medical_institution_code));
    SetCode(t.designated_medical_institution_flag, o->mutable_designated_institution_flag());
    o->set_designated_institution_name(Text(t.designated_medical_institution_name));
    SetCode(t.medical_treatment_type, o->mutable_medical_treatment_type());
    o->set_self_pay_amount(Text(t.self_pay_amount));
    auto& other = *o->mutable_other();
    auto put = [&other](const char* key, const oqs::Text& v) {
      if (v) other[key] = *v;
    };
    put("PrescriptionIssuerMedicalInstitutionCode", t.prescription_issuer_medical_institution_code);
    put("PrescriptionIssuerMedicalInstitutionName", t.prescription_issuer_medical_institution_name);
    put("InjuryName1", t.injury_name1);
    put("InjuryName2", t.injury_name2);
    put("InjuryName3", t.injury_name3);
    put("DistrictContactName", t.district_contact_name);
    put("HandlingContactName", t.handling_contact_name);
    put("Remarks1", t.remarks1);
    put("Remarks2", t.remarks2);
    put("Remarks3", t.remarks3);
    auto put_code = [&other](const char* key, const auto& c) {
      if (c) other[key] = c->raw;
    };
    put_code("SingleOrCombinedUse", t.single_or_combined_use);
    put_code("StatusOfSocialInsurance", t.status_of_social_insurance);
    put_code("ConsistencyFlag", t.consistency_flag);
    put_code("StatusOfInfecton", t.status_of_infection);
    put_code("StatusOfElderlyMedicalCare", t.status_of_elderly_medical_care);
    put_code("StatusOfPrefecturalExpenses", t.status_of_prefectural_expenses);
  }
  auto* c = out->mutable_consents();
  SetConsent(q.pharmacists_info, c->mutable_pharmacists_info());
  SetConsent(q.specific_health_checkups_info, c->mutable_specific_health_checkups());
  SetConsent(q.diagnosis_info, c->mutable_diagnosis_info());
  SetConsent(q.operation_info, c->mutable_operation_info());
  SetConsent(q.diagnosis_name, c->mutable_diagnosis_name());
  SetConsent(q.infectious_info, c->mutable_infectious_info());
  SetConsent(q.allergy_info, c->mutable_allergy_info());
  SetConsent(q.contraindication_info, c->mutable_contraindication_info());
  SetConsent(q.test_info, c->mutable_test_info());
  SetConsent(q.prescription_info, c->mutable_prescription_info());
  SetCode(q.limit_application_certificate_related_cons_flg, c->mutable_limit_certificate()->mutable_flag());
  SetTime(q.limit_application_certificate_related_cons_time,
          c->mutable_limit_certificate()->mutable_consent_time());
  SetCode(q.specific_diseases_certificate_related_cons_flg,
          c->mutable_specific_diseases()->mutable_flag());
  SetTime(q.specific_diseases_certificate_related_cons_time,
          c->mutable_specific_diseases()->mutable_consent_time());
  out->set_reference_number(Text(q.reference_number));
  out->set_arbitrary_identifier(Text(q.arbitrary_identifier));
  SetCode(q.limit_application_certificate_changed, out->mutable_limit_certificate_changed());
  SetCode(q.prescription_issue_select, out->mutable_prescription_issue_select());
  out->set_has_unconvertible_chars(q.has_unconvertible_chars);
}

}  // namespace

onshi::v1::EligibilityResult ToProto(const app::ResultView& view) {
  onshi::v1::EligibilityResult out;
  const auto& s = view.stored;
  out.set_result_id(s.id);
  out.set_source(s.source == "face" ? onshi::v1::RESULT_SOURCE_FACE : onshi::v1::RESULT_SOURCE_QUERY);
  out.set_request_id(s.client_request_id);
  out.set_file_name(s.file_name);
  *out.mutable_received_at() = ToTimestamp(s.received_at);
  out.set_raw_sha256(s.raw_sha256);
  if (!view.parsed) {
    out.add_issues("STORED_XML_UNPARSABLE: " + view.parse_error);
    return out;
  }
  const oqs::EligibilityResult& r = *view.parsed;
  SetTime(r.header.process_execution_time, out.mutable_process_execution_time());
  out.set_confirmation_date(Date(r.header.qualification_confirmation_date));
  out.set_medical_institution_code(Text(r.header.medical_institution_code));
  out.set_arbitrary_file_identifier(Text(r.header.arbitrary_file_identifier));
  SetCode(r.header.reference_classification, out.mutable_reference_classification());
  SetCode(r.header.segment_of_result, out.mutable_segment_of_result());
  out.set_error_code(Text(r.header.error_code));
  out.set_error_message(Text(r.header.error_message));
  SetCode(r.header.character_code_identifier, out.mutable_character_code());
  SetCode(r.processing_result_status, out.mutable_processing_result_status());
  out.set_processing_result_code(Text(r.processing_result_code));
  out.set_processing_result_message(Text(r.processing_result_message));
  SetCode(r.qualification_validity, out.mutable_validity());
  for (const auto& q : r.results) FillQualification(q, out.add_qualifications());
  SetCode(r.prescription_issue_select, out.mutable_prescription_issue_select());
  if (!r.prescription_issue_select) {
    if (auto eff = r.EffectivePrescriptionIssueSelect()) {
      out.mutable_prescription_issue_select()->set_code(std::string(oqs::WireOf(*eff)));
      out.mutable_prescription_issue_select()->set_label(std::string(oqs::LabelJa(*eff)));
    }
  }
  for (const auto& issue : r.issues) {
    out.add_issues(std::string(oqs::IssueKindName(issue.kind)) + " " + issue.path +
                   (issue.detail.empty() ? "" : ": " + issue.detail));
  }
  return out;
}

onshi::v1::ReferenceNumberRegistration ToProto(const core::ReferenceNumberRecord& r) {
  onshi::v1::ReferenceNumberRegistration out;
  out.set_registration_id(r.id);
  out.set_reference_number(r.reference_number);
  auto* ids = out.mutable_identifiers();
  ids->set_insurer_number(r.insurer_number);
  ids->set_insured_card_symbol(r.insured_card_symbol);
  ids->set_insured_identification_number(r.insured_identification_number);
  ids->set_insured_branch_number(r.insured_branch_number);
  using S = onshi::v1::ReferenceNumberState;
  out.set_state(r.state == "PENDING"      ? S::REFERENCE_NUMBER_STATE_PENDING
                : r.state == "REGISTERED" ? S::REFERENCE_NUMBER_STATE_REGISTERED
                : r.state == "FAILED"     ? S::REFERENCE_NUMBER_STATE_FAILED
                : r.state == "REJECTED"   ? S::REFERENCE_NUMBER_STATE_REJECTED
                                          : S::REFERENCE_NUMBER_STATE_UNSPECIFIED);
  out.set_error_code(r.error_code);
  out.set_error_message(r.error_message);
  *out.mutable_requested_at() = ToTimestamp(r.requested_at);
  if (r.completed_at) *out.mutable_completed_at() = ToTimestamp(*r.completed_at);
  out.set_request_id(r.client_request_id);
  return out;
}

}  // namespace onshid::api
