#pragma once
// The card use cases on one CardChannel that the caller has already opened in an exclusive
// transaction: inspect, PIN status, verify PIN, sign a challenge, read basic information.
// Pure of PC/SC (testable with a scripted channel). Every card failure is mapped to a domain error
// by pcsc_errors.cc. Never logs PINs, certificates, APDUs or personal data.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/card/card_types.h"
#include "core/card/pin.h"
#include "core/clock.h"
#include "core/error.h"
#include "pcsc/card_channel.h"
#include "pcsc/x509_certificate.h"

namespace onshid::pcsc {

struct CardOperationsConfig {
  // Configured trust anchors (J-LIS user-authentication CAs in production).
  std::shared_ptr<const TrustAnchors> trust_anchors;
  // Secret for the pseudonymous card key (HMAC-SHA-256). Must be non-empty in production.
  std::vector<std::uint8_t> card_key_secret;
  // Upper bound on the certificate's DER length (a longer length header is CARD_DATA_INVALID).
  std::size_t max_certificate_bytes = 4096;
};

class CardOperations {
 public:
  // `clock` must outlive this object.
  CardOperations(CardOperationsConfig config, const core::Clock& clock);

  // Token + certificate + status. Smartphone: pin_required_for_certificate, no certificate.
  core::Result<core::card::CardInspection> Inspect(CardChannel& channel) const;
  core::Result<core::card::PinStatus> GetPinStatus(CardChannel& channel) const;
  // At most one VERIFY; none if the PIN is locked or tries_left <= reserve_tries.
  core::Result<core::card::PinStatus> VerifyPin(CardChannel& channel, const core::card::Pin& pin,
                                                int reserve_tries) const;
  core::Result<core::card::SignedChallenge> SignChallenge(
      CardChannel& channel, const core::card::Pin& pin,
      std::span<const std::uint8_t> challenge) const;
  core::Result<core::card::BasicInfo> ReadBasicInfo(CardChannel& channel,
                                                    const core::card::Pin& kenhojo_pin) const;

  // Summary (status, card key, ...) of a certificate in DER. Errors: CARD_DATA_INVALID.
  core::Result<core::card::CertificateSummary> Summarize(
      std::span<const std::uint8_t> der) const;

 private:
  CardOperationsConfig config_;
  const core::Clock& clock_;
};

}  // namespace onshid::pcsc
