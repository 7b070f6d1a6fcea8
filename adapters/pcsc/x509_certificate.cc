#include "pcsc/x509_certificate.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace onshid::pcsc {
namespace {

core::DomainError CertificateInvalid(const char* detail) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "CARD_DATA_INVALID";
  e.message = std::string("the card's certificate could not be parsed: ") + detail;
  e.message_ja = "カードの電子証明書を読み取れませんでした。目視確認モードまたは他の確認方法を使用してください。";
  return e;
}

bool ToSystemTime(const ASN1_TIME* t, core::SystemTime& out) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  const std::chrono::year_month_day ymd{std::chrono::year{tm.tm_year + 1900},
                                        std::chrono::month{static_cast<unsigned>(tm.tm_mon + 1)},
                                        std::chrono::day{static_cast<unsigned>(tm.tm_mday)}};
  if (!ymd.ok()) return false;
  out = core::SystemTime(std::chrono::sys_days(ymd).time_since_epoch()) +
        std::chrono::hours(tm.tm_hour) + std::chrono::minutes(tm.tm_min) +
        std::chrono::seconds(tm.tm_sec);
  return true;
}

bool SameOctets(const ASN1_OCTET_STRING* a, const ASN1_OCTET_STRING* b) {
  return a != nullptr && b != nullptr && ASN1_OCTET_STRING_cmp(a, b) == 0;
}

}  // namespace

void X509Deleter::operator()(X509* x) const { X509_free(x); }

core::Result<ParsedCertificate> ParsedCertificate::FromDer(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  X509* raw = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) return CertificateInvalid("not a DER X.509 certificate");
  ParsedCertificate cert;
  cert.x509_.reset(raw);
  if (p != der.data() + der.size()) return CertificateInvalid("trailing bytes after certificate");
  if (!ToSystemTime(X509_get0_notBefore(raw), cert.not_before_) ||
      !ToSystemTime(X509_get0_notAfter(raw), cert.not_after_)) {
    return CertificateInvalid("validity dates unreadable");
  }
  cert.der_.assign(der.begin(), der.end());
  return cert;
}

std::string ParsedCertificate::IssuerRfc2253() const {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_issuer_name(x509_.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

bool ParsedCertificate::VerifySha256Signature(std::span<const std::uint8_t> message,
                                              std::span<const std::uint8_t> signature) const {
  EVP_PKEY* key = X509_get0_pubkey(x509_.get());
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(),
                             message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string ParsedCertificate::CardKey(std::span<const std::uint8_t> secret) const {
  std::vector<std::uint8_t> input;
  unsigned char* buf = nullptr;
  int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x509_.get()), &buf);
  if (n > 0) input.insert(input.end(), buf, buf + n);
  OPENSSL_free(buf);
  buf = nullptr;
  n = i2d_X509_NAME(X509_get_issuer_name(x509_.get()), &buf);
  if (n > 0) input.insert(input.end(), buf, buf + n);
  OPENSSL_free(buf);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), input.data(), input.size(),
       mac, &mac_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0x0F]);
  }
  return hex;
}

TrustAnchors::TrustAnchors() = default;
TrustAnchors::~TrustAnchors() = default;
TrustAnchors::TrustAnchors(TrustAnchors&&) noexcept = default;
TrustAnchors& TrustAnchors::operator=(TrustAnchors&&) noexcept = default;

bool TrustAnchors::AddDer(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) return false;
  anchors_.emplace_back(x);
  return true;
}

void TrustAnchors::AddFile(const std::filesystem::path& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open trust anchor file " + path.string());
  std::size_t added = 0;
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
    anchors_.emplace_back(x);
    ++added;
  }
  if (added == 0) {
    std::rewind(f);
    if (X509* x = d2i_X509_fp(f, nullptr)) {
      anchors_.emplace_back(x);
      ++added;
    }
  }
  std::fclose(f);
  if (added == 0) throw std::runtime_error("no certificate in trust anchor file " + path.string());
}

bool TrustAnchors::Verifies(const ParsedCertificate& cert) const {
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(cert.get());
  for (const X509Ptr& anchor : anchors_) {
    if (akid != nullptr && !SameOctets(akid, X509_get0_subject_key_id(anchor.get()))) continue;
    EVP_PKEY* key = X509_get0_pubkey(anchor.get());
    if (key != nullptr && X509_verify(cert.get(), key) == 1) return true;
  }
  return false;
}

std::vector<std::uint8_t> Sha256DigestInfo(std::span<const std::uint8_t> message) {
  std::vector<std::uint8_t> out = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                   0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  unsigned char hash[SHA256_DIGEST_LENGTH];
  SHA256(message.data(), message.size(), hash);
  out.insert(out.end(), hash, hash + sizeof hash);
  return out;
}

}  // namespace onshid::pcsc
