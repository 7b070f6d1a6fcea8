#include <catch2/catch.hpp>

#include "core/card/certificate_status.h"

namespace {

using namespace std::chrono;
using onshid::core::SystemTime;
using onshid::core::card::CertificateStatus;
using onshid::core::card::ClassifyCertificate;
using onshid::core::card::ComputeWindow;
using onshid::core::card::JstMidnight;

// y/m/d hh:mm:ss JST as a UTC instant.
SystemTime Jst(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return JstMidnight(year{y} / m / d) + hours(hh) + minutes(mm) + seconds(ss);
}

}  // namespace

TEST_CASE("card: certificate window boundaries in Japan time", "[card]") {
  // A typical JPKI certificate: notAfter 23:59:59 JST on the holder's birthday.
  const auto w = ComputeWindow(Jst(2021, 10, 20), Jst(2026, 5, 31, 23, 59, 59));
  CHECK(w.renewal_alert_from == Jst(2026, 2, 28, 23, 59, 59));  // day clamped (31 May -> 28 Feb)
  CHECK(w.grace_end == Jst(2026, 9, 1));  // end of the 3rd month after May

  const auto w2 = ComputeWindow(Jst(2015, 10, 20), Jst(2025, 10, 19, 23, 59, 59));
  CHECK(w2.grace_end == Jst(2026, 2, 1));  // crosses the year
  CHECK(w2.renewal_alert_from == Jst(2025, 7, 19, 23, 59, 59));
}

TEST_CASE("card: certificate classification per DOMAIN.md section 4", "[card]") {
  const auto w = ComputeWindow(Jst(2021, 10, 20), Jst(2026, 5, 31, 23, 59, 59));
  CHECK(ClassifyCertificate(w, true, Jst(2021, 10, 19, 23, 59, 59)) == CertificateStatus::kNotYetValid);
  CHECK(ClassifyCertificate(w, true, Jst(2021, 10, 20)) == CertificateStatus::kValid);
  CHECK(ClassifyCertificate(w, true, Jst(2026, 2, 28, 23, 59, 58)) == CertificateStatus::kValid);
  CHECK(ClassifyCertificate(w, true, Jst(2026, 2, 28, 23, 59, 59)) == CertificateStatus::kRenewalAlert);
  CHECK(ClassifyCertificate(w, true, Jst(2026, 5, 31, 23, 59, 59)) == CertificateStatus::kRenewalAlert);
  CHECK(ClassifyCertificate(w, true, Jst(2026, 6, 1)) == CertificateStatus::kExpiredInGrace);
  CHECK(ClassifyCertificate(w, true, Jst(2026, 8, 31, 23, 59, 59)) == CertificateStatus::kExpiredInGrace);
  CHECK(ClassifyCertificate(w, true, Jst(2026, 9, 1)) == CertificateStatus::kExpired);
  // Untrusted wins over every date.
  CHECK(ClassifyCertificate(w, false, Jst(2023, 1, 1)) == CertificateStatus::kUntrusted);
  CHECK(std::string(ToString(CertificateStatus::kExpiredInGrace)) == "EXPIRED_IN_GRACE");
}

TEST_CASE("card: JST date conversion at the day boundary", "[card]") {
  // 2026-01-31 15:00 UTC is 2026-02-01 00:00 JST.
  const SystemTime t = SystemTime(sys_days(year{2026} / 1 / 31).time_since_epoch()) + hours(15);
  CHECK(onshid::core::card::JstDate(t) == year{2026} / 2 / 1);
  CHECK(onshid::core::card::JstDate(t - seconds(1)) == year{2026} / 1 / 31);
}
