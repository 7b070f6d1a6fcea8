#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "api/checkin_mapping.h"
#include "api/rest_routes.h"
#include "api/server.h"

namespace {

using namespace onshid;
namespace ci = core::checkin;
namespace v1 = onshi::v1;

const core::SystemTime kAt = core::SystemTime(std::chrono::seconds(1'775'000'000));

// Every field of `m` (recursively not needed: one level) is set: non-default scalars, present
// messages, non-empty repeated fields. Returns the names of those that are not.
std::vector<std::string> UnsetFields(const google::protobuf::Message& m) {
  std::vector<std::string> unset;
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    const bool set = f->is_repeated() ? r->FieldSize(m, f) > 0 : r->HasField(m, f);
    if (!set) unset.push_back(f->name());
  }
  return unset;
}

// Every value of a proto enum but UNSPECIFIED maps to a core value and back.
template <typename Proto, typename Core>
void CheckRoundTrip(const google::protobuf::EnumDescriptor* d, const std::vector<Core>& all) {
  for (int i = 0; i < d->value_count(); ++i) {
    const auto proto = static_cast<Proto>(d->value(i)->number());
    const auto core_value = api::FromProto(proto);
    if (d->value(i)->number() == 0) {
      CHECK_FALSE(core_value.has_value());
      continue;
    }
    INFO(d->value(i)->name());
    REQUIRE(core_value.has_value());
    CHECK(api::ToProto(*core_value) == proto);
  }
  for (Core c : all) {
    const auto proto = api::ToProto(c);
    CHECK(static_cast<int>(proto) != 0);
    CHECK(api::FromProto(proto) == c);
  }
  CHECK(static_cast<int>(all.size()) == d->value_count() - 1);
  CHECK_FALSE(api::FromProto(static_cast<Proto>(999)).has_value());
}

}  // namespace

TEST_CASE("check-in enums map to their proto values and back") {
  CheckRoundTrip<v1::Channel>(v1::Channel_descriptor(),
                              std::vector<ci::Channel>{ci::Channel::kFaceReader,
                                                       ci::Channel::kDocumentQuery,
                                                       ci::Channel::kGenericReader,
                                                       ci::Channel::kHomeOnline,
                                                       ci::Channel::kManual});
  CheckRoundTrip<v1::Document>(
      v1::Document_descriptor(),
      std::vector<ci::Document>{
          ci::Document::kMyNumberCard, ci::Document::kMyNumberSmartphone,
          ci::Document::kQualificationCertificateCard, ci::Document::kQualificationCertificatePostcard,
          ci::Document::kQualificationCertificateA4, ci::Document::kQualificationCertificateElectronic,
          ci::Document::kQualificationNotice, ci::Document::kMynaPortalScreen,
          ci::Document::kHealthInsuranceCard, ci::Document::kNone});
  CheckRoundTrip<v1::VisitKind>(
      v1::VisitKind_descriptor(),
      std::vector<ci::VisitKind>{ci::VisitKind::kFirstVisit, ci::VisitKind::kRevisit});
  CheckRoundTrip<v1::CheckInState>(
      v1::CheckInState_descriptor(),
      std::vector<ci::CheckInState>{ci::CheckInState::kWaiting, ci::CheckInState::kVerified,
                                    ci::CheckInState::kNeedsFallback,
                                    ci::CheckInState::kCancelled});
  const std::vector<ci::InformationKind> kinds{
      ci::InformationKind::kInsurance,       ci::InformationKind::kLimit,
      ci::InformationKind::kSpecificDiseases, ci::InformationKind::kMedication,
      ci::InformationKind::kHealthCheckups,  ci::InformationKind::kClinical,
      ci::InformationKind::kSurgery,         ci::InformationKind::kDiagnosisName,
      ci::InformationKind::kInfectious,      ci::InformationKind::kAllergy,
      ci::InformationKind::kContraindication, ci::InformationKind::kTest,
      ci::InformationKind::kPrescription,    ci::InformationKind::kCausativeDrugs};
  CheckRoundTrip<v1::InformationKind>(v1::InformationKind_descriptor(), kinds);

  // Every proto name is the enum's prefix + the core's stable name.
  CHECK(v1::Channel_Name(api::ToProto(ci::Channel::kGenericReader)) ==
        "CHANNEL_" + std::string(ci::ToString(ci::Channel::kGenericReader)));
  CHECK(v1::CheckInState_Name(api::ToProto(ci::CheckInState::kNeedsFallback)) ==
        "CHECK_IN_STATE_" + std::string(ci::ToString(ci::CheckInState::kNeedsFallback)));
  for (auto kind : kinds) {
    CHECK(v1::InformationKind_Name(api::ToProto(kind)) ==
          "INFORMATION_KIND_" + std::string(ci::ToString(kind)));
  }
  CHECK(api::ToProto(ci::Document::kQualificationCertificateCard) == v1::DOCUMENT_QUALIFICATION_CERTIFICATE_CARD);
  CHECK(api::ToProto(ci::Document::kNone) == v1::DOCUMENT_NONE);
}

TEST_CASE("a check-in view with every field set maps to a CheckIn with every field set") {
  app::CheckInView view;
  app::CheckInRecord& r = view.record;
  r.id = "ci_1";
  r.day = "2026-03-02";
  r.desk_id = "desk-1";
  r.channel = ci::Channel::kGenericReader;
  r.documents = {ci::Document::kMyNumberCard, ci::Document::kQualificationNotice};
  r.path = ci::VerificationPath::kMyNumberCard;
  r.visit = {ci::VisitKind::kRevisit, 3, "P-77"};
  r.staff_notes_ja = {"お知らせは不要です。"};
  r.certificate = core::card::CertificateStatus::kExpiredInGrace;
  r.keys.card_key = "ck-1";
  r.state = ci::CheckInState::kNeedsFallback;
  r.cause = ci::FallbackCause::kResultInvalid;
  r.scope = ci::InformationScope::kInsuranceOnly;
  r.reason = "VALIDITY_INVALID";
  r.message = "invalid";
  r.message_ja = "無効";
  r.notices = {{"CERTIFICATE_EXPIRED_IN_GRACE", "renew", "更新してください"}};
  r.correlation = "BOUND";
  r.correlation_reasons = {"SINGLE_WAITING_CHECKIN"};
  r.candidates = {{"ci_0", false, {"OTHER_DESK"}}};
  r.result_id = 42;
  r.timed_out = true;
  r.patient_id = "P-77";
  r.changes = {{ci::ChangedField::kAddress, "old", "new"}};
  r.baseline_check_in_id = "ci_0";
  r.created_at = kAt;
  r.updated_at = kAt + std::chrono::seconds(5);
  ci::ResultLink result;
  result.result_id = 42;
  result.check_in_id = "ci_1";
  result.link = "BOUND";
  result.at = kAt + std::chrono::seconds(4);
  view.results = {result};
  ci::PatientLink patient;
  patient.check_in_id = "ci_1";
  patient.patient_id = "P-77";
  patient.linked_by = "vendor";
  patient.at = kAt + std::chrono::seconds(5);
  view.patient_links = {patient};

  const v1::CheckIn c = api::ToProto(view);
  CHECK(UnsetFields(c).empty());
  CHECK(c.check_in_id() == "ci_1");
  CHECK(c.day() == "2026-03-02");
  CHECK(c.desk_id() == "desk-1");
  CHECK(c.channel() == v1::CHANNEL_GENERIC_READER);
  REQUIRE(c.documents_size() == 2);
  CHECK(c.documents(1) == v1::DOCUMENT_QUALIFICATION_NOTICE);
  CHECK(c.verification_path() == "MY_NUMBER_CARD");
  CHECK(c.visit().kind() == v1::VISIT_KIND_REVISIT);
  CHECK(c.visit().real_days_this_month() == 3);
  CHECK(c.visit().patient_id() == "P-77");
  CHECK(c.state() == v1::CHECK_IN_STATE_NEEDS_FALLBACK);
  CHECK(c.fallback_cause() == v1::FALLBACK_CAUSE_RESULT_INVALID);
  CHECK(c.information_scope() == "INSURANCE_ONLY");
  CHECK(c.reason() == "VALIDITY_INVALID");
  CHECK(c.message() == "invalid");
  CHECK(c.message_ja() == "無効");
  REQUIRE(c.notices_size() == 1);
  CHECK(c.notices(0).code() == "CERTIFICATE_EXPIRED_IN_GRACE");
  CHECK(c.notices(0).message_ja() == "更新してください");
  CHECK(c.staff_notes_ja(0) == "お知らせは不要です。");
  CHECK(c.certificate_status() == "EXPIRED_IN_GRACE");
  CHECK(c.card_key() == "ck-1");
  CHECK(c.result_id() == 42);
  REQUIRE(c.results_size() == 1);
  CHECK(c.results(0).link() == "BOUND");
  CHECK(api::FromTimestamp(c.results(0).at()) == kAt + std::chrono::seconds(4));
  CHECK(c.correlation().outcome() == "BOUND");
  CHECK(c.correlation().reasons(0) == "SINGLE_WAITING_CHECKIN");
  REQUIRE(c.correlation().candidates_size() == 1);
  CHECK(c.correlation().candidates(0).check_in_id() == "ci_0");
  CHECK_FALSE(c.correlation().candidates(0).fits());
  CHECK(c.correlation().candidates(0).reasons(0) == "OTHER_DESK");
  CHECK(c.timed_out());
  CHECK(c.patient_id() == "P-77");
  REQUIRE(c.patient_links_size() == 1);
  CHECK(c.patient_links(0).linked_by() == "vendor");
  REQUIRE(c.changes_size() == 1);
  CHECK(c.changes(0).field() == "address");
  CHECK(c.changes(0).old_value() == "old");
  CHECK(c.changes(0).new_value() == "new");
  CHECK(c.baseline_check_in_id() == "ci_0");
  CHECK(api::FromTimestamp(c.created_at()) == kAt);
  CHECK(api::FromTimestamp(c.updated_at()) == kAt + std::chrono::seconds(5));
}

TEST_CASE("consent status and access decisions map every field") {
  app::ConsentView view;
  view.check_in_id = "ci_1";
  view.result_id = 42;
  view.scope = ci::InformationScope::kFull;
  view.consents = {{ci::InformationKind::kMedication, ci::ConsentFlag::kGiven, kAt,
                    kAt + std::chrono::hours(24)},
                   {ci::InformationKind::kSurgery, ci::ConsentFlag::kAbsent, {}, {}}};
  view.oral_consents = {{"staff-9", kAt, kAt + std::chrono::hours(1)}};
  view.withdrawals = {{ci::InformationKind::kMedication, kAt + std::chrono::hours(2)}};
  const v1::ConsentStatus s = api::ToProto(view);
  CHECK(UnsetFields(s).empty());
  CHECK(s.information_scope() == "FULL");
  REQUIRE(s.consents_size() == 2);
  CHECK(s.consents(0).kind() == v1::INFORMATION_KIND_MEDICATION);
  CHECK(s.consents(0).flag() == "GIVEN");
  CHECK(api::FromTimestamp(s.consents(0).available_until()) == kAt + std::chrono::hours(24));
  CHECK_FALSE(s.consents(1).has_consent_time());
  CHECK(s.oral_consents(0).staff_id() == "staff-9");
  CHECK(api::FromTimestamp(s.oral_consents(0).withdrawn_at()) == kAt + std::chrono::hours(1));
  REQUIRE(s.withdrawals_size() == 1);
  CHECK(s.withdrawals(0).kind() == v1::INFORMATION_KIND_MEDICATION);
  CHECK(api::FromTimestamp(s.withdrawals(0).at()) == kAt + std::chrono::hours(2));

  app::AccessOutcome outcome;
  outcome.decision = {true, "CONSENT_GIVEN", "given", "同意あり", kAt + std::chrono::hours(24)};
  outcome.check_in_id = "ci_1";
  outcome.result_id = 42;
  const v1::AccessDecision d = api::ToProto(outcome);
  CHECK(UnsetFields(d).empty());
  CHECK(d.allowed());
  CHECK(d.reason() == "CONSENT_GIVEN");
  CHECK(d.message_ja() == "同意あり");
  CHECK(d.check_in_id() == "ci_1");
}

TEST_CASE("a StartCheckInRequest maps to the use case's input") {
  v1::StartCheckInRequest req;
  req.set_desk_id("desk-1");
  req.set_channel(v1::CHANNEL_DOCUMENT_QUERY);
  req.add_documents(v1::DOCUMENT_QUALIFICATION_CERTIFICATE_POSTCARD);
  req.mutable_visit()->set_kind(v1::VISIT_KIND_REVISIT);
  req.mutable_visit()->set_real_days_this_month(2);
  req.mutable_visit()->set_patient_id("P-1");
  req.mutable_holdings()->set_qualification_certificate(true);
  req.mutable_identifiers()->set_insurer_number("06139993");
  req.mutable_identifiers()->set_insured_identification_number("1234");
  req.set_birth_date("1980-04-01");
  req.set_limit_certificate_consent(true);
  req.set_name_kana("ヤマダ タロウ");

  auto in = api::FromProto(req, "vendor/req-1");
  REQUIRE(in);
  CHECK(in->client_key == "vendor/req-1");
  CHECK(in->desk_id == "desk-1");
  CHECK(in->channel == ci::Channel::kDocumentQuery);
  CHECK(in->documents == std::vector<ci::Document>{ci::Document::kQualificationCertificatePostcard});
  CHECK(in->visit.kind == ci::VisitKind::kRevisit);
  CHECK(in->visit.real_days_this_month == 2);
  CHECK(in->visit.patient_id == "P-1");
  CHECK_FALSE(in->holdings.my_number_insurance.has_value());
  CHECK(in->holdings.qualification_certificate == std::optional<bool>(true));
  REQUIRE(in->query.has_value());
  CHECK(in->query->insurer_number == "06139993");
  CHECK(in->query->insured_identification_number == "1234");
  CHECK(in->query->birth_date == "19800401");
  CHECK(in->query->limit_certificate_consent == "1");
  CHECK(in->birth_date == std::optional<std::string>("1980-04-01"));
  CHECK(in->name_kana == std::optional<std::string>("ヤマダ タロウ"));
  CHECK_FALSE(in->reference_number.has_value());

  SECTION("a face check-in's birth date is a key, not a query") {
    req.set_channel(v1::CHANNEL_FACE_READER);
    req.clear_identifiers();
    auto face = api::FromProto(req, "vendor/req-2");
    REQUIRE(face);
    CHECK_FALSE(face->query.has_value());
    CHECK(face->birth_date == std::optional<std::string>("1980-04-01"));
  }

  SECTION("missing desk, channel and an unspecified document are named at once") {
    req.clear_desk_id();
    req.set_channel(v1::CHANNEL_UNSPECIFIED);
    req.add_documents(v1::DOCUMENT_UNSPECIFIED);
    auto bad = api::FromProto(req, "vendor/req-3");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == core::ErrorKind::kInvalidArgument);
    std::vector<std::string> fields;
    for (const auto& v : bad.error().field_violations) fields.push_back(v.field);
    CHECK(fields == std::vector<std::string>{"desk_id", "channel", "documents"});
  }
}

TEST_CASE("a ListCheckInsRequest maps to a filter") {
  v1::ListCheckInsRequest req;
  auto all = api::FromProto(req);
  REQUIRE(all);
  CHECK_FALSE(all->state.has_value());
  CHECK_FALSE(all->day.has_value());
  CHECK(all->limit == 200);
  CHECK(api::LookupKinds(all->patient).empty());

  req.set_state(v1::CHECK_IN_STATE_WAITING);
  req.set_name_kana("ヤマダ");
  req.set_birth_date("1980-04-01");
  req.set_limit(5);
  auto some = api::FromProto(req);
  REQUIRE(some);
  CHECK(some->state == std::optional<ci::CheckInState>(ci::CheckInState::kWaiting));
  CHECK(some->limit == 5);
  CHECK(api::LookupKinds(some->patient) == "name_kana+birth_date");

  req.set_limit(1001);
  auto bad = api::FromProto(req);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field_violations.at(0).field == "limit");
}

TEST_CASE("the REST gateway can serve every public service's annotations") {
  auto routes = api::RestRouteTable::Build(api::PublicServices());
  INFO((routes ? std::string() : routes.error().message));
  CHECK(routes);
}
