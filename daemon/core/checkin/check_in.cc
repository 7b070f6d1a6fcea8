#include "core/checkin/check_in.h"

#include <utility>

namespace onshid::core::checkin {
namespace {

Outcome Fallback(FallbackCause cause, std::string reason, std::string message,
                 std::string message_ja) {
  Outcome o;
  o.target = CheckInState::kNeedsFallback;
  o.cause = cause;
  o.reason = std::move(reason);
  o.message = std::move(message);
  o.message_ja = std::move(message_ja);
  return o;
}

Outcome FromValidity(oqs::QualificationValidity validity) {
  using V = oqs::QualificationValidity;
  switch (validity) {
    case V::kInvalid:
      return Fallback(FallbackCause::kResultInvalid, "ELIGIBILITY_INVALID",
                      "Qualification validity 2 (invalid).",
                      "資格（無効）です。無保険とは限りません。旧資格を確認し、代替手段で受付してください。");
    case V::kInvalidNewerExists:
      return Fallback(FallbackCause::kResultInvalidNewerExists, "ELIGIBILITY_INVALID_NEWER_EXISTS",
                      "Qualification validity 3 (invalid, a newer qualification exists).",
                      "資格（無効・新しい資格あり）です。新しい保険の情報を確認してください。");
    case V::kNoRecord:
      return Fallback(FallbackCause::kResultNoRecord, "ELIGIBILITY_NO_RECORD",
                      "Qualification validity 4 (no record).",
                      "資格情報なしです。無保険とは限りません。代替手段で受付してください。");
    case V::kMultiple:
      return Fallback(FallbackCause::kResultMultiple, "ELIGIBILITY_MULTIPLE",
                      "Qualification validity 5 (several qualifications match).",
                      "複数の資格が該当しました。保険の情報を患者さんに確認してください。");
    case V::kValid:
    case V::kValidUnregistered:
      break;
  }
  return Outcome{};
}

Outcome ProcessingError(std::string message) {
  return Fallback(FallbackCause::kProcessingError, "ELIGIBILITY_PROCESSING_ERROR",
                  std::move(message),
                  "資格確認の処理でエラーが発生しました。再度確認するか、代替手段で受付してください。");
}

}  // namespace

std::string_view ToString(CheckInState state) {
  switch (state) {
    case CheckInState::kWaiting: return "WAITING";
    case CheckInState::kVerified: return "VERIFIED";
    case CheckInState::kNeedsFallback: return "NEEDS_FALLBACK";
    case CheckInState::kCancelled: return "CANCELLED";
  }
  return "UNKNOWN";
}

Outcome DecideCertificate(card::CertificateStatus status) {
  using S = card::CertificateStatus;
  Outcome o;
  switch (status) {
    case S::kValid:
      o.reason = "CERTIFICATE_VALID";
      o.message = "The certificate is valid.";
      o.message_ja = "電子証明書は有効です。";
      return o;
    case S::kRenewalAlert:
      o.reason = "CERTIFICATE_RENEWAL_ALERT";
      o.message = "The certificate expires within 3 months.";
      o.message_ja = "電子証明書の有効期限が近づいています。";
      o.notices.push_back({"CERTIFICATE_RENEWAL_DUE",
                           "Tell the patient to renew the electronic certificate at the "
                           "municipality counter.",
                           "電子証明書の有効期限が近づいています。市区町村窓口での更新を患者さんにご案内ください。"});
      return o;
    case S::kExpiredInGrace:
      o.reason = "CERTIFICATE_EXPIRED_IN_GRACE";
      o.message = "The certificate expired but is in its grace period: insurance information only.";
      o.message_ja = "電子証明書の有効期限切れ（猶予期間中）です。資格情報のみ確認できます。";
      o.scope = InformationScope::kInsuranceOnly;
      o.notices.push_back({"CERTIFICATE_EXPIRED_IN_GRACE",
                           "The certificate has expired; medication/clinical information cannot be "
                           "shown. Tell the patient to renew it at the municipality counter.",
                           "電子証明書の有効期限が切れています（資格確認のみ可。薬剤・診療情報は閲覧不可）。"
                           "市区町村窓口での更新を患者さんにご案内ください。"});
      return o;
    case S::kExpired:
      return Fallback(FallbackCause::kCertificateExpired, "CERTIFICATE_EXPIRED",
                      "The certificate expired beyond the grace period.",
                      "電子証明書の有効期限が切れ、猶予期間も過ぎています。資格確認書など代替手段で受付してください。");
    case S::kNotYetValid:
    case S::kUntrusted:
      return Fallback(FallbackCause::kCertificateUntrusted, "CERTIFICATE_UNTRUSTED",
                      std::string("The card's certificate cannot be used (") +
                          card::ToString(status) + ").",
                      "カードの電子証明書を確認できません。代替手段で受付してください。");
  }
  return o;
}

FallbackCause CauseOf(ReadFailure failure, const ArrivalContext& arrival) {
  switch (failure) {
    case ReadFailure::kIcUnreadable: return FallbackCause::kIcUnreadable;
    case ReadFailure::kNoDocument: return FallbackCause::kNoDocument;
    case ReadFailure::kUpstreamUnavailable: return FallbackCause::kNetworkError;
    case ReadFailure::kReaderTrouble: break;
  }
  if (arrival.channel == Channel::kFaceReader) return FallbackCause::kFaceReaderWontStart;
  const bool smartphone_only =
      arrival.presented.HasSmartphone() && !arrival.presented.HasMyNumberCard();
  return smartphone_only ? FallbackCause::kGenericReaderBroken : FallbackCause::kTerminalTrouble;
}

Outcome DecideReadFailure(ReadFailure failure, const ArrivalContext& arrival) {
  const FallbackCause cause = CauseOf(failure, arrival);
  switch (failure) {
    case ReadFailure::kIcUnreadable:
      return Fallback(cause, "IC_UNREADABLE", "The card's chip could not be read.",
                      "カードのICチップを読み取れません。代替手段で受付してください。");
    case ReadFailure::kReaderTrouble:
      return Fallback(cause, "READER_TROUBLE", "The card reader failed.",
                      "カードリーダーの不具合です。代替手段で受付してください。");
    case ReadFailure::kNoDocument:
      return Fallback(cause, "NO_DOCUMENT",
                      "The patient presented no document to verify the qualification with.",
                      "資格を確認できる書類の提示がありません。代替手段で受付してください。");
    case ReadFailure::kUpstreamUnavailable:
      break;
  }
  return Fallback(cause, "UPSTREAM_UNAVAILABLE",
                  "The qualification-confirmation terminal or OQS is unavailable.",
                  "オンライン資格確認が利用できません。代替手段で受付してください。");
}

Outcome DecideResult(const oqs::EligibilityResult& result,
                     std::optional<card::CertificateStatus> certificate) {
  Outcome cert;
  if (certificate) {
    cert = DecideCertificate(*certificate);
    if (cert.target == CheckInState::kNeedsFallback) return cert;
  }

  Outcome o;
  const auto& seg = result.header.segment_of_result;
  const auto& status = result.processing_result_status;
  const auto& validity = result.qualification_validity;
  if (!seg || seg->value != oqs::SegmentOfResult::kNormal) {
    o = ProcessingError("SegmentOfResult is not normal (1).");
  } else if (!status || status->value != oqs::ProcessingResultStatus::kNormal) {
    o = ProcessingError("ProcessingResultStatus is not normal (1).");
  } else if (!validity || !validity->value) {
    o = ProcessingError("QualificationValidity is missing or unknown.");
  } else {
    o = FromValidity(*validity->value);
    if (o.target == CheckInState::kWaiting) {
      if (result.results.size() != 1) {
        o = ProcessingError("A valid result must carry exactly one qualification.");
      } else {
        o.target = CheckInState::kVerified;
        o.reason = "ELIGIBILITY_VALID";
        o.message = "Eligibility confirmed.";
        o.message_ja = "資格を確認しました。";
      }
    }
  }
  if (o.target == CheckInState::kVerified && certificate) {
    o.scope = cert.scope;
    if (cert.scope == InformationScope::kInsuranceOnly) {
      o.reason = "ELIGIBILITY_VALID_INSURANCE_ONLY";
      o.message = "Eligibility confirmed; the certificate is in grace: insurance information only.";
      o.message_ja = "資格を確認しました（電子証明書の猶予期間中のため資格情報のみ）。";
    }
  }
  if (certificate) {
    o.notices.insert(o.notices.begin(), cert.notices.begin(), cert.notices.end());
  }
  return o;
}

bool IsAllowedTransition(CheckInState from, CheckInState to) {
  switch (from) {
    case CheckInState::kWaiting:
      return to == CheckInState::kVerified || to == CheckInState::kNeedsFallback ||
             to == CheckInState::kCancelled;
    case CheckInState::kNeedsFallback:
      return to == CheckInState::kVerified || to == CheckInState::kCancelled;
    case CheckInState::kVerified:
    case CheckInState::kCancelled:
      return false;
  }
  return false;
}

CheckInMachine CheckInMachine::Start(SystemTime at) {
  CheckInMachine m;
  CheckInEvent e;
  e.reason = "CHECKIN_STARTED";
  e.message = "Check-in started.";
  e.message_ja = "受付を開始しました。";
  e.at = at;
  m.events_.push_back(std::move(e));
  return m;
}

CheckInMachine CheckInMachine::Restore(CheckInState state, std::optional<FallbackCause> cause) {
  CheckInMachine m;
  m.state_ = state;
  m.cause_ = state == CheckInState::kNeedsFallback ? cause : std::nullopt;
  return m;
}

Result<CheckInEvent> CheckInMachine::Transition(CheckInState to, const Outcome& outcome,
                                                SystemTime at) {
  if (!IsAllowedTransition(state_, to)) {
    DomainError e;
    e.kind = ErrorKind::kFailedPrecondition;
    e.reason = "INVALID_CHECKIN_TRANSITION";
    e.message = std::string("A check-in cannot go from ") + std::string(ToString(state_)) +
                " to " + std::string(ToString(to)) + ".";
    e.message_ja = "この受付の状態では、その操作はできません。";
    e.metadata = {{"from", std::string(ToString(state_))}, {"to", std::string(ToString(to))}};
    return e;
  }
  CheckInEvent ev;
  ev.from = state_;
  ev.to = to;
  ev.reason = outcome.reason;
  ev.message = outcome.message;
  ev.message_ja = outcome.message_ja;
  ev.cause = to == CheckInState::kNeedsFallback ? outcome.cause : std::nullopt;
  ev.scope = outcome.scope;
  ev.notices = outcome.notices;
  ev.at = at;
  state_ = to;
  cause_ = ev.cause;
  if (to == CheckInState::kVerified) scope_ = outcome.scope;
  events_.push_back(ev);
  return ev;
}

Result<std::optional<CheckInEvent>> CheckInMachine::Apply(const Outcome& outcome, SystemTime at) {
  if (outcome.target == CheckInState::kWaiting) {
    return std::optional<CheckInEvent>{};
  }
  if (outcome.target == CheckInState::kNeedsFallback && !outcome.cause) {
    return Internal("A NEEDS_FALLBACK outcome without a cause.");
  }
  auto ev = Transition(outcome.target, outcome, at);
  if (!ev.ok()) return ev.error();
  return std::optional<CheckInEvent>(std::move(ev).value());
}

Result<CheckInEvent> CheckInMachine::Cancel(SystemTime at, std::string reason_code) {
  Outcome o;
  o.target = CheckInState::kCancelled;
  o.reason = std::move(reason_code);
  o.message = "Check-in cancelled.";
  o.message_ja = "受付を取り消しました。";
  return Transition(CheckInState::kCancelled, o, at);
}

}  // namespace onshid::core::checkin
