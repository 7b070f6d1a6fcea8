#include "pcsc/card_operations.h"

#include "pcsc/card_session.h"
#include "pcsc/jpki_protocol.h"
#include "pcsc/pcsc_errors.h"

namespace onshid::pcsc {

using core::card::CardInspection;
using core::card::PinStatus;
using core::card::TokenKind;

CardOperations::CardOperations(CardOperationsConfig config, const core::Clock& clock)
    : config_(std::move(config)), clock_(clock) {
  if (!config_.trust_anchors) config_.trust_anchors = std::make_shared<TrustAnchors>();
}

core::Result<core::card::CertificateSummary> CardOperations::Summarize(
    std::span<const std::uint8_t> der) const {
  auto parsed = ParsedCertificate::FromDer(der);
  if (!parsed.ok()) return parsed.error();
  core::card::CertificateSummary s;
  s.chain_trusted = config_.trust_anchors->Verifies(parsed.value());
  s.window = core::card::ComputeWindow(parsed->not_before(), parsed->not_after());
  s.status = core::card::ClassifyCertificate(s.window, s.chain_trusted, clock_.Now());
  s.issuer = parsed->IssuerRfc2253();
  s.card_key = parsed->CardKey(config_.card_key_secret);
  s.der = parsed->der();
  return s;
}

core::Result<CardInspection> CardOperations::Inspect(CardChannel& channel) const {
  CardSession session(channel, /*allow_kenhojo=*/false);
  if (auto s = SelectJpki(session); !s.ok()) return ToDomainError(s.failure());
  auto token = ReadToken(session);
  if (!token.ok()) return ToDomainError(token.failure());
  CardInspection out;
  out.token = token.value();
  if (out.token == TokenKind::kSmartphone) {
    // The auth certificate of a smartphone needs the PIN first (JPKI-CARD.md §6): report it.
    out.pin_required_for_certificate = true;
    return out;
  }
  auto der = ReadAuthCertificate(session, config_.max_certificate_bytes);
  if (!der.ok()) {
    if (der.failure().kind == FailureKind::kStatusWord && der.failure().sw == 0x6982) {
      out.pin_required_for_certificate = true;
      return out;
    }
    return ToDomainError(der.failure());
  }
  auto summary = Summarize(der.value());
  if (!summary.ok()) return summary.error();
  out.certificate = std::move(summary.value());
  return out;
}

core::Result<PinStatus> CardOperations::GetPinStatus(CardChannel& channel) const {
  CardSession session(channel, false);
  if (auto s = SelectJpki(session); !s.ok()) return ToDomainError(s.failure());
  auto status = QueryAuthPin(session);
  if (!status.ok()) return ToDomainError(status.failure());
  return status.value();
}

core::Result<PinStatus> CardOperations::VerifyPin(CardChannel& channel, const core::card::Pin& pin,
                                                  int reserve_tries) const {
  CardSession session(channel, false);
  if (auto s = SelectJpki(session); !s.ok()) return ToDomainError(s.failure());
  auto status = QueryAuthPin(session);
  if (!status.ok()) return ToDomainError(status.failure());
  if (status.value().locked) return PinLocked();
  if (status.value().tries_left <= reserve_tries) {
    return PinAttemptReserved(status.value().tries_left);
  }
  if (auto v = VerifySelectedPin(session, pin, Step::kVerifyPin); !v.ok()) {
    return ToDomainError(v.failure());
  }
  return PinStatus{kAuthPinMaxTries, false};
}

core::Result<core::card::SignedChallenge> CardOperations::SignChallenge(
    CardChannel& channel, const core::card::Pin& pin,
    std::span<const std::uint8_t> challenge) const {
  CardSession session(channel, false);
  if (auto s = SelectJpki(session); !s.ok()) return ToDomainError(s.failure());
  auto status = QueryAuthPin(session);
  if (!status.ok()) return ToDomainError(status.failure());
  if (status.value().locked) return PinLocked();
  if (auto v = VerifySelectedPin(session, pin, Step::kVerifyPin); !v.ok()) {
    return ToDomainError(v.failure());
  }
  // After VERIFY the certificate is readable on cards and smartphones alike.
  auto der = ReadAuthCertificate(session, config_.max_certificate_bytes);
  if (!der.ok()) return ToDomainError(der.failure());
  auto parsed = ParsedCertificate::FromDer(der.value());
  if (!parsed.ok()) return parsed.error();
  auto signature = SignDigestInfo(session, Sha256DigestInfo(challenge));
  if (!signature.ok()) return ToDomainError(signature.failure());
  if (!parsed->VerifySha256Signature(challenge, signature.value())) return SignatureInvalid();
  auto summary = Summarize(der.value());
  if (!summary.ok()) return summary.error();
  return core::card::SignedChallenge{std::move(signature.value()), std::move(summary.value())};
}

core::Result<core::card::BasicInfo> CardOperations::ReadBasicInfo(
    CardChannel& channel, const core::card::Pin& kenhojo_pin) const {
  CardSession session(channel, /*allow_kenhojo=*/true);
  auto info = pcsc::ReadBasicInfo(session, kenhojo_pin);
  if (!info.ok()) return ToDomainError(info.failure());
  return std::move(info.value());
}

}  // namespace onshid::pcsc
