#pragma once
// Values exchanged through the CardReaders port: readers, reader/card events, inspection results,
// PIN status, signatures and basic information. No personal data except BasicInfo, which exists
// only to be handed to the caller that asked for it with the patient's PIN (never log it).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/card/certificate_status.h"
#include "core/clock.h"

namespace onshid::core::card {

struct ReaderInfo {
  std::string name;           // PC/SC reader name, e.g. "Virtual PCD 00 00"
  bool card_present = false;
  std::string last_error;     // stable reason of the last failed operation on it, empty if none
};

enum class ReaderEventKind {
  kReaderAdded,
  kReaderRemoved,
  kCardInserted,
  kCardRemoved,
  kServiceDegraded,  // the PC/SC service (pcscd) is missing or went away; retrying with backoff
  kServiceRecovered, // the PC/SC service is reachable again; readers are re-announced
};

const char* ToString(ReaderEventKind kind);

struct ReaderEvent {
  ReaderEventKind kind = ReaderEventKind::kReaderAdded;
  std::string reader;  // empty for kService*
  SystemTime at{};
  std::string reason;  // for kServiceDegraded: stable code, e.g. "PCSC_SERVICE_UNAVAILABLE"
};

// What the token EF (JPKI EF 0006) says the card is.
enum class TokenKind {
  kMyNumberCard,  // "JPKIAPICCTOKEN2"
  kJukiCard,      // "JPKIAPICCTOKEN" (old 住基カード)
  kSmartphone,    // "JPKIAPGPSETOKEN" (スマホ用電子証明書; the certificate needs the PIN first)
  kUnknown,
};

const char* ToString(TokenKind kind);

// Facts about the user-authentication certificate. No subject, no personal data.
struct CertificateSummary {
  CertificateStatus status = CertificateStatus::kUntrusted;
  bool chain_trusted = false;
  CertificateWindow window;
  std::string issuer;      // RFC 2253 DN of the issuer (a J-LIS CA; not personal)
  std::string card_key;    // pseudonymous card key: hex HMAC-SHA-256 (see PcscOptions)
  std::vector<std::uint8_t> der;  // the certificate, for callers that verify signatures
};

struct CardInspection {
  TokenKind token = TokenKind::kUnknown;
  // True for smartphones: the certificate could not be read without the PIN. `certificate` is
  // then empty; read it with SignChallenge (PIN -> certificate -> signature).
  bool pin_required_for_certificate = false;
  std::optional<CertificateSummary> certificate;
};

struct PinStatus {
  int tries_left = 0;  // 0 when locked
  bool locked = false;
};

struct SignedChallenge {
  std::vector<std::uint8_t> signature;  // RSA PKCS#1 v1.5 over SHA-256(challenge), verified
  CertificateSummary certificate;       // the certificate the signature verified against
};

// 基本4情報 from the 券面事項入力補助AP EF 0002. Personal data: never log, never persist without
// the use case's consent rules.
struct BasicInfo {
  std::string name;        // 氏名 (bytes of the card, assumed UTF-8)
  std::string address;     // 住所
  std::string birth_date;  // 生年月日 as on the card, "YYYYMMDD"
  std::string sex;         // 性別 code as on the card: "1" male, "2" female, "3"/"9" other
};

}  // namespace onshid::core::card
