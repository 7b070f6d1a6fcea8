#pragma once
// OpenSSL side of the user-authentication certificate: parsing, chain check against configured
// trust anchors by key identifier, signature verification and the pseudonymous card key.
//
// Chain building goes by AuthorityKeyIdentifier -> SubjectKeyIdentifier and signature, never by DN:
// several J-LIS CA generations share one DN (JPKI-CARD.md §4). Anchors are configuration (the real
// J-LIS CA certificates in production, a generated test CA in tests), never code.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

typedef struct x509_st X509;  // NOLINT: OpenSSL's forward declaration

namespace onshid::pcsc {

struct X509Deleter {
  void operator()(X509* x) const;
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

class ParsedCertificate {
 public:
  // Parses DER; the whole input must be one certificate. Errors: CARD_DATA_INVALID.
  static core::Result<ParsedCertificate> FromDer(std::span<const std::uint8_t> der);

  core::SystemTime not_before() const { return not_before_; }
  core::SystemTime not_after() const { return not_after_; }
  std::string IssuerRfc2253() const;
  const std::vector<std::uint8_t>& der() const { return der_; }
  X509* get() const { return x509_.get(); }

  // Verifies an RSA PKCS#1 v1.5 / SHA-256 signature of `message` with the certificate's key.
  bool VerifySha256Signature(std::span<const std::uint8_t> message,
                             std::span<const std::uint8_t> signature) const;

  // Pseudonymous card key: lower-case hex HMAC-SHA-256(secret, DER(serialNumber) || DER(issuer)).
  // Stable for one certificate, changes when the certificate is reissued; not reversible without
  // the secret.
  std::string CardKey(std::span<const std::uint8_t> secret) const;

 private:
  X509Ptr x509_;
  std::vector<std::uint8_t> der_;
  core::SystemTime not_before_{};
  core::SystemTime not_after_{};
};

class TrustAnchors {
 public:
  TrustAnchors();
  ~TrustAnchors();
  TrustAnchors(TrustAnchors&&) noexcept;
  TrustAnchors& operator=(TrustAnchors&&) noexcept;

  // Adds every certificate in a PEM file, or one DER certificate. Throws std::runtime_error
  // (start-up configuration error) naming the file when it cannot be read or parsed.
  void AddFile(const std::filesystem::path& path);
  // Adds one DER certificate; false if it does not parse.
  bool AddDer(std::span<const std::uint8_t> der);
  std::size_t size() const { return anchors_.size(); }

  // True when `cert` names an anchor by AuthorityKeyIdentifier (or, without AKI, any anchor) and
  // that anchor's key verifies the certificate's signature.
  bool Verifies(const ParsedCertificate& cert) const;

 private:
  std::vector<X509Ptr> anchors_;
};

// The SHA-256 DigestInfo (DER) of `message`: the input of COMPUTE DIGITAL SIGNATURE.
std::vector<std::uint8_t> Sha256DigestInfo(std::span<const std::uint8_t> message);

}  // namespace onshid::pcsc
