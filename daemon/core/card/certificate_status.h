#pragma once
// Status of the user-authentication certificate (利用者証明用電子証明書) per DOMAIN.md §4.
//
// All calendar rules work in Japan time (UTC+9, no DST). Pure: a function of the certificate's
// validity, whether its chain verified, and "now" from the injected Clock.

#include <chrono>

#include "core/clock.h"

namespace onshid::core::card {

enum class CertificateStatus {
  kValid,           // within validity, more than 3 months before notAfter
  kRenewalAlert,    // within validity, at most 3 calendar months before notAfter (更新案内)
  kExpiredInGrace,  // expired, but before the end of the 3rd month after the month of expiry:
                    // eligibility (insurance information only) still works
  kExpired,         // after the grace period: use the fallback methods
  kNotYetValid,     // now < notBefore (clock or card problem)
  kUntrusted,       // the chain did not verify against the configured trust anchors
};

// Stable upper-case name, e.g. "RENEWAL_ALERT".
const char* ToString(CertificateStatus status);

// The time-derived boundaries of one certificate, computed in Japan time.
struct CertificateWindow {
  SystemTime not_before{};
  SystemTime not_after{};
  // First instant of the renewal alert: notAfter minus 3 calendar months in JST, same time of
  // day, the day clamped to the month's length (31 May -> 28/29 Feb).
  SystemTime renewal_alert_from{};
  // First instant after the grace period: 00:00 JST on the 1st of the 4th month after the month
  // (JST) in which notAfter falls. E.g. notAfter 2025-10-19 23:59:59 JST -> 2026-02-01 00:00 JST.
  SystemTime grace_end{};
};

// Computes the window for a certificate's notBefore / notAfter (both UTC instants).
CertificateWindow ComputeWindow(SystemTime not_before, SystemTime not_after);

// Classifies per DOMAIN.md §4. `chain_trusted` false always yields kUntrusted (checked first).
// notAfter itself is still valid (X.509 validity is inclusive).
CertificateStatus ClassifyCertificate(const CertificateWindow& window, bool chain_trusted,
                                      SystemTime now);

// Japan time helpers (UTC+9, no DST).
std::chrono::year_month_day JstDate(SystemTime t);
// 00:00:00 JST on the given date as a UTC instant.
SystemTime JstMidnight(std::chrono::year_month_day date);

}  // namespace onshid::core::card
