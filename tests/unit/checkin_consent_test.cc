#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/checkin/consent.h"

namespace {

using namespace onshid::core::checkin;
using onshid::core::SystemTime;
using onshid::core::card::CertificateStatus;
namespace oqs = onshid::core::oqs;
using std::chrono::hours;
using std::chrono::seconds;

// 2026-03-31 10:00:00 JST, as OQS writes it and as an instant.
const char* kConsRaw = "20260331100000";
const SystemTime kConsAt = onshid::core::card::JstMidnight(std::chrono::year{2026} / 3 / 31) +
                           hours(10);

oqs::DateTime Dt(const std::string& raw) {
  return oqs::DateTimeValue{raw, oqs::OqsDateTime::Parse(raw).value()};
}

oqs::Consent Given(bool with_available_time) {
  oqs::Consent c;
  c.flag = oqs::CodeValue<oqs::ConsentStatus>{"1", oqs::ParseCode<oqs::ConsentStatus>("1")};
  c.cons_time = Dt(kConsRaw);
  if (with_available_time) c.available_time = Dt("20260401100000");
  return c;
}

oqs::Consent Flag(const std::string& raw) {
  oqs::Consent c;
  c.flag = oqs::CodeValue<oqs::ConsentStatus>{raw, oqs::ParseCode<oqs::ConsentStatus>(raw)};
  return c;
}

oqs::Qualification WithMedication(oqs::Consent c) {
  oqs::Qualification q;
  q.pharmacists_info = c;
  return q;
}

AccessRequest Req(InformationKind kind, SystemTime at,
                  std::optional<CertificateStatus> cert = CertificateStatus::kValid) {
  AccessRequest r;
  r.kind = kind;
  r.at = at;
  r.certificate = cert;
  return r;
}

}  // namespace

TEST_CASE("checkin: consent decisions at the 24 h boundary", "[checkin]") {
  struct Row {
    const char* name;
    oqs::Consent consent;
    SystemTime at;
    bool allowed;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {"at consent time", Given(true), kConsAt, true, "CONSENT_GIVEN"},
      {"24 h exactly (available time sent)", Given(true), kConsAt + hours(24), true,
       "CONSENT_GIVEN"},
      {"24 h + 1 s (available time sent)", Given(true), kConsAt + hours(24) + seconds(1), false,
       "CONSENT_EXPIRED"},
      {"24 h exactly (computed)", Given(false), kConsAt + hours(24), true, "CONSENT_GIVEN"},
      {"24 h + 1 s (computed)", Given(false), kConsAt + hours(24) + seconds(1), false,
       "CONSENT_EXPIRED"},
      {"before consent time", Given(true), kConsAt - seconds(1), false, "CONSENT_NOT_YET_VALID"},
      {"flag 0", Flag("0"), kConsAt, false, "NO_CONSENT"},
      {"flag absent", oqs::Consent{}, kConsAt, false, "NO_CONSENT"},
      {"flag 2 expired", Flag("2"), kConsAt, false, "CONSENT_EXPIRED"},
      {"flag 3 hard to obtain", Flag("3"), kConsAt, false, "CONSENT_HARD_TO_OBTAIN"},
      {"flag 1 without times", Flag("1"), kConsAt, false, "CONSENT_TIME_UNKNOWN"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const auto d = CheckAccess(WithMedication(row.consent), Req(InformationKind::kMedication, row.at));
    CHECK(d.allowed == row.allowed);
    CHECK(d.reason == row.reason);
    CHECK_FALSE(d.message_ja.empty());
  }
}

TEST_CASE("checkin: consent and certificate state", "[checkin]") {
  const auto q = WithMedication(Given(true));
  struct Row {
    std::optional<CertificateStatus> cert;
    InformationKind kind;
    bool allowed;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {CertificateStatus::kValid, InformationKind::kMedication, true, "CONSENT_GIVEN"},
      {CertificateStatus::kRenewalAlert, InformationKind::kMedication, true, "CONSENT_GIVEN"},
      {CertificateStatus::kExpiredInGrace, InformationKind::kMedication, false,
       "CERTIFICATE_IN_GRACE_INSURANCE_ONLY"},
      {CertificateStatus::kExpiredInGrace, InformationKind::kInsurance, true,
       "INSURANCE_INFORMATION"},
      {CertificateStatus::kExpiredInGrace, InformationKind::kLimit, true, "NO_CONSENT_NEEDED"},
      {CertificateStatus::kExpired, InformationKind::kMedication, false, "CERTIFICATE_NOT_USABLE"},
      {CertificateStatus::kUntrusted, InformationKind::kMedication, false,
       "CERTIFICATE_NOT_USABLE"},
      {std::nullopt, InformationKind::kMedication, true, "CONSENT_GIVEN"},
      {CertificateStatus::kValid, InformationKind::kClinical, false, "NO_CONSENT"},
      {CertificateStatus::kValid, InformationKind::kSpecificDiseases, false, "NO_CONSENT"},
  };
  for (const auto& row : rows) {
    INFO(ToString(row.kind));
    const auto d = CheckAccess(q, Req(row.kind, kConsAt + hours(1), row.cert));
    CHECK(d.allowed == row.allowed);
    CHECK(d.reason == row.reason);
  }
  const auto denied = CheckAccess(q, Req(InformationKind::kMedication, kConsAt,
                                         CertificateStatus::kExpiredInGrace));
  const auto err = AccessDeniedError(denied, InformationKind::kMedication);
  CHECK(err.kind == onshid::core::ErrorKind::kPermissionDenied);
  CHECK(err.reason == "CERTIFICATE_IN_GRACE_INSURANCE_ONLY");
  CHECK(err.metadata.at(0).second == "MEDICATION");
}

TEST_CASE("checkin: consent withdrawn", "[checkin]") {
  const auto q = WithMedication(Given(true));
  auto r = Req(InformationKind::kMedication, kConsAt + hours(2));
  r.withdrawals.push_back({InformationKind::kMedication, kConsAt + hours(1)});
  CHECK(CheckAccess(q, r).reason == "CONSENT_WITHDRAWN");
  // Withdrawal of another kind, or after the access: no effect.
  r.withdrawals = {{InformationKind::kClinical, kConsAt + hours(1)}};
  CHECK(CheckAccess(q, r).allowed);
  r.withdrawals = {{InformationKind::kMedication, kConsAt + hours(3)}};
  CHECK(CheckAccess(q, r).allowed);
  // A withdrawal before a fresh consent does not block it.
  r.withdrawals = {{InformationKind::kMedication, kConsAt - hours(1)}};
  CHECK(CheckAccess(q, r).allowed);
}

TEST_CASE("checkin: oral consent for causative drugs only", "[checkin]") {
  const oqs::Qualification no_consent;
  const SystemTime oral_at = kConsAt;
  auto r = Req(InformationKind::kCausativeDrugs, oral_at + hours(1));
  CHECK(CheckAccess(no_consent, r).reason == "NO_CONSENT");

  r.oral_consents.push_back({"staff-7", oral_at, std::nullopt});
  auto d = CheckAccess(no_consent, r);
  CHECK(d.allowed);
  CHECK(d.reason == "ORAL_CONSENT");
  CHECK(d.available_until == oral_at + hours(24));
  // Oral consent never opens full medication information.
  auto med = r;
  med.kind = InformationKind::kMedication;
  CHECK(CheckAccess(no_consent, med).reason == "NO_CONSENT");
  // Boundary of the oral window.
  r.at = oral_at + hours(24);
  CHECK(CheckAccess(no_consent, r).allowed);
  r.at = oral_at + hours(24) + seconds(1);
  CHECK_FALSE(CheckAccess(no_consent, r).allowed);
  // Withdrawn.
  r.at = oral_at + hours(2);
  r.oral_consents[0].withdrawn_at = oral_at + hours(1);
  CHECK(CheckAccess(no_consent, r).reason == "CONSENT_WITHDRAWN");
  // Certificate in grace does not matter for the oral path.
  r.oral_consents[0].withdrawn_at.reset();
  r.certificate = CertificateStatus::kExpiredInGrace;
  CHECK(CheckAccess(no_consent, r).reason == "ORAL_CONSENT");
  // A valid medication consent covers the causative drugs.
  r.certificate = CertificateStatus::kValid;
  r.oral_consents.clear();
  CHECK(CheckAccess(WithMedication(Given(true)), r).reason == "CONSENT_GIVEN");
}

TEST_CASE("checkin: consent normalisation", "[checkin]") {
  auto q = WithMedication(Given(false));
  q.limit_application_certificate_related_cons_flg =
      oqs::CodeValue<oqs::LimitConsentFlag>{"1", oqs::ParseCode<oqs::LimitConsentFlag>("1")};
  const auto items = NormalizeConsents(q);
  REQUIRE(items.size() == 12);
  CHECK(items[0].kind == InformationKind::kLimit);
  CHECK(items[0].flag == ConsentFlag::kGiven);
  CHECK(items[1].flag == ConsentFlag::kAbsent);
  CHECK(items[2].kind == InformationKind::kMedication);
  CHECK(items[2].flag == ConsentFlag::kGiven);
  CHECK(items[2].consent_time == kConsAt);
  CHECK(items[2].available_until == kConsAt + hours(24));
  CHECK(items[11].kind == InformationKind::kPrescription);
}
