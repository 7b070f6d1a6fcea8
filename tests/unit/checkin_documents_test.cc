#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/checkin/documents.h"

namespace {

using namespace onshid::core::checkin;
using onshid::core::ErrorKind;
using onshid::core::oqs::OqsDate;

OqsDate D(int y, unsigned m, unsigned d) {
  return OqsDate::FromSysDays(std::chrono::sys_days{std::chrono::year{y} / m / d});
}

const PatientHoldings kHoldsNothing{false, false};

}  // namespace

TEST_CASE("checkin: document rules of DOMAIN.md section 2", "[checkin]") {
  using Doc = Document;
  struct Row {
    const char* name;
    Channel channel;
    std::vector<Document> docs;
    PatientHoldings holdings;
    OqsDate date;
    std::optional<VerificationPath> path;  // nullopt = refused
    std::string reason;                    // refusal reason
    bool identifier_query = false;
  };
  const OqsDate before = D(2026, 3, 31);
  const OqsDate after = D(2026, 4, 1);
  const std::vector<Row> rows = {
      {"card on face reader", Channel::kFaceReader, {Doc::kMyNumberCard}, {}, after,
       VerificationPath::kMyNumberCard, "", false},
      {"smartphone on generic reader", Channel::kGenericReader, {Doc::kMyNumberSmartphone}, {},
       after, VerificationPath::kMyNumberCard, "", false},
      {"card with notice", Channel::kFaceReader, {Doc::kQualificationNotice, Doc::kMyNumberCard},
       {}, after, VerificationPath::kMyNumberCard, "", false},
      {"card with portal screen", Channel::kFaceReader,
       {Doc::kMynaPortalScreen, Doc::kMyNumberCard}, {}, after, VerificationPath::kMyNumberCard,
       "", false},
      {"certificate card", Channel::kDocumentQuery, {Doc::kQualificationCertificateCard}, {}, after,
       VerificationPath::kQualificationCertificateQuery, "", true},
      {"certificate postcard", Channel::kDocumentQuery, {Doc::kQualificationCertificatePostcard}, {}, after,
       VerificationPath::kQualificationCertificateQuery, "", true},
      {"certificate A4", Channel::kManual, {Doc::kQualificationCertificateA4}, {}, after,
       VerificationPath::kQualificationCertificateQuery, "", true},
      {"certificate electronic", Channel::kDocumentQuery, {Doc::kQualificationCertificateElectronic}, {},
       before, VerificationPath::kQualificationCertificateQuery, "", true},
      {"notice alone", Channel::kDocumentQuery, {Doc::kQualificationNotice}, {}, before,
       std::nullopt, "QUALIFICATION_NOTICE_WITHOUT_CARD"},
      {"notice alone, manual", Channel::kManual, {Doc::kQualificationNotice}, kHoldsNothing,
       before, std::nullopt, "QUALIFICATION_NOTICE_WITHOUT_CARD"},
      {"portal alone", Channel::kManual, {Doc::kMynaPortalScreen}, {}, before, std::nullopt,
       "PORTAL_SCREEN_WITHOUT_CARD"},
      {"notice and portal", Channel::kManual, {Doc::kMynaPortalScreen, Doc::kQualificationNotice},
       {}, before, std::nullopt, "QUALIFICATION_NOTICE_WITHOUT_CARD"},
      {"expired card on 2026-03-31", Channel::kDocumentQuery, {Doc::kHealthInsuranceCard},
       kHoldsNothing, before, VerificationPath::kProvisionalQuery, "", true},
      {"expired card on 2026-04-01", Channel::kDocumentQuery, {Doc::kHealthInsuranceCard},
       kHoldsNothing, after, std::nullopt, "PROVISIONAL_PERIOD_ENDED"},
      {"expired card with notice on 2026-03-31", Channel::kDocumentQuery,
       {Doc::kHealthInsuranceCard, Doc::kQualificationNotice}, kHoldsNothing, before,
       VerificationPath::kProvisionalQuery, "", true},
      {"expired card with notice on 2026-04-01", Channel::kDocumentQuery,
       {Doc::kHealthInsuranceCard, Doc::kQualificationNotice}, kHoldsNothing, after,
       std::nullopt, "PROVISIONAL_PERIOD_ENDED"},
      {"expired card, holds My Number insurance", Channel::kDocumentQuery,
       {Doc::kHealthInsuranceCard}, {true, false}, before, std::nullopt,
       "PATIENT_HOLDS_MY_NUMBER_INSURANCE"},
      {"expired card, holds certificate", Channel::kDocumentQuery,
       {Doc::kHealthInsuranceCard}, {false, true}, before, std::nullopt,
       "PATIENT_HOLDS_QUALIFICATION_CERTIFICATE"},
      {"expired card, holdings not asked", Channel::kDocumentQuery,
       {Doc::kHealthInsuranceCard}, {}, before, std::nullopt, "HOLDINGS_NOT_CONFIRMED"},
      {"expired card with certificate uses the certificate", Channel::kDocumentQuery,
       {Doc::kHealthInsuranceCard, Doc::kQualificationCertificateCard}, {}, after,
       VerificationPath::kQualificationCertificateQuery, "", true},
      {"none, manual", Channel::kManual, {Doc::kNone}, {}, after, VerificationPath::kNoDocument,
       "", false},
      {"none, face reader", Channel::kFaceReader, {Doc::kNone}, {}, after, std::nullopt,
       "CHANNEL_NEEDS_MY_NUMBER_INSURANCE"},
      {"certificate on face reader", Channel::kFaceReader, {Doc::kQualificationCertificateCard}, {}, after,
       std::nullopt, "CHANNEL_NEEDS_MY_NUMBER_INSURANCE"},
      {"card on document query", Channel::kDocumentQuery, {Doc::kMyNumberCard}, {}, after,
       std::nullopt, "CHANNEL_NEEDS_DOCUMENT"},
      {"none on document query", Channel::kDocumentQuery, {Doc::kNone}, {}, after, std::nullopt,
       "CHANNEL_NEEDS_DOCUMENT"},
      {"empty", Channel::kManual, {}, {}, after, std::nullopt, "INVALID_DOCUMENTS"},
      {"repeated", Channel::kManual, {Doc::kQualificationCertificateA4, Doc::kQualificationCertificateA4}, {}, after,
       std::nullopt, "INVALID_DOCUMENTS"},
      {"none with others", Channel::kManual, {Doc::kNone, Doc::kQualificationCertificateA4}, {}, after,
       std::nullopt, "INVALID_DOCUMENTS"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const auto r = EvaluateDocuments(row.channel, row.docs, row.holdings, row.date);
    if (row.path) {
      REQUIRE(r.ok());
      CHECK(r->path == *row.path);
      CHECK(r->requires_identifier_query == row.identifier_query);
    } else {
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().reason == row.reason);
      CHECK_FALSE(r.error().message.empty());
      CHECK_FALSE(r.error().message_ja.empty());
      CHECK_FALSE(r.error().field_violations.empty());
    }
  }
}

TEST_CASE("checkin: refusals say why and name the field", "[checkin]") {
  const auto ended = EvaluateDocuments(Channel::kDocumentQuery,
                                       {Document::kHealthInsuranceCard}, kHoldsNothing,
                                       D(2026, 4, 1));
  REQUIRE_FALSE(ended.ok());
  CHECK(ended.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(ended.error().message.find("provisional period has ended") != std::string::npos);
  CHECK(ended.error().message_ja.find("2026年3月31日で終了") != std::string::npos);
  CHECK(ended.error().field_violations.front().field == "documents");

  const auto unasked = EvaluateDocuments(Channel::kDocumentQuery,
                                         {Document::kHealthInsuranceCard},
                                         PatientHoldings{std::nullopt, false}, D(2026, 3, 1));
  REQUIRE_FALSE(unasked.ok());
  CHECK(unasked.error().kind == ErrorKind::kInvalidArgument);
  REQUIRE(unasked.error().field_violations.size() == 1);
  CHECK(unasked.error().field_violations[0].field == "holdings.my_number_insurance");

  const auto channel = EvaluateDocuments(Channel::kGenericReader, {Document::kQualificationCertificateCard},
                                         {}, D(2026, 3, 1));
  REQUIRE_FALSE(channel.ok());
  CHECK(channel.error().field_violations.front().field == "channel");
}

TEST_CASE("checkin: extra documents beside the card are noted for staff", "[checkin]") {
  const auto r = EvaluateDocuments(Channel::kFaceReader,
                                   {Document::kMyNumberCard, Document::kQualificationNotice}, {},
                                   D(2026, 5, 1));
  REQUIRE(r.ok());
  CHECK(r->primary == Document::kMyNumberCard);
  CHECK(r->staff_notes_ja.size() == 1);
  const auto plain = EvaluateDocuments(Channel::kFaceReader, {Document::kMyNumberCard}, {},
                                       D(2026, 5, 1));
  REQUIRE(plain.ok());
  CHECK(plain->staff_notes_ja.empty());
  CHECK(ToString(Document::kHealthInsuranceCard) == "HEALTH_INSURANCE_CARD");
  CHECK(ToString(Channel::kFaceReader) == "FACE_READER");
}

TEST_CASE("checkin: visit facts validation", "[checkin]") {
  struct Row {
    VisitFacts facts;
    std::vector<std::string> fields;  // empty = valid
  };
  const std::vector<Row> rows = {
      {{VisitKind::kFirstVisit, 0, ""}, {}},
      {{VisitKind::kRevisit, 3, "P-0001"}, {}},
      {{VisitKind::kRevisit, 31, "P-0001"}, {}},
      {{VisitKind::kRevisit, 32, "P-0001"}, {"visit.real_days_this_month"}},
      {{VisitKind::kFirstVisit, -1, ""}, {"visit.real_days_this_month"}},
      {{VisitKind::kRevisit, 0, ""}, {"visit.kind"}},
      {{VisitKind::kFirstVisit, 0, std::string(65, 'x')}, {"visit.patient_id"}},
      {{VisitKind::kFirstVisit, 0, "a\nb"}, {"visit.patient_id"}},
      {{VisitKind::kRevisit, 40, ""}, {"visit.real_days_this_month", "visit.kind"}},
  };
  for (const auto& row : rows) {
    const auto s = ValidateVisitFacts(row.facts);
    if (row.fields.empty()) {
      CHECK(s.ok());
      continue;
    }
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().reason == "INVALID_VISIT_FACTS");
    REQUIRE(s.error().field_violations.size() == row.fields.size());
    for (size_t i = 0; i < row.fields.size(); ++i) {
      CHECK(s.error().field_violations[i].field == row.fields[i]);
    }
  }
}
