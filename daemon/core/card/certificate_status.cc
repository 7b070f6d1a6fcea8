#include "core/card/certificate_status.h"

namespace onshid::core::card {
namespace {

constexpr std::chrono::hours kJstOffset{9};

// Adds calendar months, clamping the day to the target month's length.
std::chrono::year_month_day AddMonthsClamped(std::chrono::year_month_day date,
                                             std::chrono::months months) {
  std::chrono::year_month_day shifted = date + months;
  if (!shifted.ok()) {
    shifted = std::chrono::year_month_day_last(shifted.year(),
                                               std::chrono::month_day_last(shifted.month()));
  }
  return shifted;
}

}  // namespace

const char* ToString(CertificateStatus status) {
  switch (status) {
    case CertificateStatus::kValid: return "VALID";
    case CertificateStatus::kRenewalAlert: return "RENEWAL_ALERT";
    case CertificateStatus::kExpiredInGrace: return "EXPIRED_IN_GRACE";
    case CertificateStatus::kExpired: return "EXPIRED";
    case CertificateStatus::kNotYetValid: return "NOT_YET_VALID";
    case CertificateStatus::kUntrusted: return "UNTRUSTED";
  }
  return "UNKNOWN";
}

std::chrono::year_month_day JstDate(SystemTime t) {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t + kJstOffset));
}

SystemTime JstMidnight(std::chrono::year_month_day date) {
  return SystemTime(std::chrono::sys_days(date).time_since_epoch()) - kJstOffset;
}

CertificateWindow ComputeWindow(SystemTime not_before, SystemTime not_after) {
  CertificateWindow w;
  w.not_before = not_before;
  w.not_after = not_after;
  const std::chrono::year_month_day expiry_day = JstDate(not_after);
  const auto time_of_day = (not_after + kJstOffset) -
                           std::chrono::floor<std::chrono::days>(not_after + kJstOffset);
  w.renewal_alert_from =
      JstMidnight(AddMonthsClamped(expiry_day, std::chrono::months{-3})) + time_of_day;
  const std::chrono::year_month first_of_expiry_month{expiry_day.year(), expiry_day.month()};
  const std::chrono::year_month grace_end_month = first_of_expiry_month + std::chrono::months{4};
  w.grace_end = JstMidnight(grace_end_month / std::chrono::day{1});
  return w;
}

CertificateStatus ClassifyCertificate(const CertificateWindow& window, bool chain_trusted,
                                      SystemTime now) {
  if (!chain_trusted) return CertificateStatus::kUntrusted;
  if (now < window.not_before) return CertificateStatus::kNotYetValid;
  if (now <= window.not_after) {
    return now >= window.renewal_alert_from ? CertificateStatus::kRenewalAlert
                                            : CertificateStatus::kValid;
  }
  return now < window.grace_end ? CertificateStatus::kExpiredInGrace : CertificateStatus::kExpired;
}

}  // namespace onshid::core::card
