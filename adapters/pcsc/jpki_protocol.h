#pragma once
// APDU codecs for the JPKI AP and the 券面事項入力補助AP (JPKI-CARD.md §1-3), over a CardSession.
// Every function sends only allow-listed commands through CardSession::Transmit.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/card/card_types.h"
#include "core/card/pin.h"
#include "pcsc/card_session.h"

namespace onshid::pcsc {

inline constexpr int kAuthPinMaxTries = 3;
inline constexpr std::size_t kDefaultMaxCertificateBytes = 4096;
inline constexpr std::size_t kMaxBasicInfoBytes = 2048;

// Parses a BER/DER tag + definite length at the start of `header` (1- or 2-byte tag; short form,
// 81 xx, 82 xx xx). Returns header length + content length, or nullopt when malformed, indefinite,
// longer than 2 length bytes, or when `header` is too short to tell.
std::optional<std::size_t> ParseTlvTotalLength(std::span<const std::uint8_t> header);

CardOutcome<Done> SelectJpki(CardSession& session);
// Selects and reads EF 0006 (0x20 bytes, ASCII, NUL/space padded).
CardOutcome<core::card::TokenKind> ReadToken(CardSession& session);
// Selects EF 000A and reads exactly the DER-encoded certificate (tag 30, length bounded by
// `max_bytes`). SW 6982 means "PIN needed first" (smartphones).
CardOutcome<std::vector<std::uint8_t>> ReadAuthCertificate(CardSession& session,
                                                           std::size_t max_bytes);
// Selects the auth PIN EF 0018 and sends the empty VERIFY. 63Cx -> x tries; 63C0/6983/6984 ->
// locked; 9000 -> already verified in this session.
CardOutcome<core::card::PinStatus> QueryAuthPin(CardSession& session);
// VERIFY on the currently selected PIN EF. Failure kStatusWord carries the SW (63Cx, 6983, 6984).
CardOutcome<Done> VerifySelectedPin(CardSession& session, const core::card::Pin& pin, Step step);
// Selects the auth key EF 0017 and signs `digest_info` (COMPUTE DIGITAL SIGNATURE, CLA 80).
CardOutcome<std::vector<std::uint8_t>> SignDigestInfo(CardSession& session,
                                                     std::span<const std::uint8_t> digest_info);
// 基本4情報: selects the 入力補助AP, its PIN EF 0011, VERIFY (once), EF 0002, reads and parses it.
CardOutcome<core::card::BasicInfo> ReadBasicInfo(CardSession& session,
                                                 const core::card::Pin& kenhojo_pin);

// Parses the EF 0002 content. ASSUMPTION (JPKI-CARD.md does not document the layout; this is the
// layout used by the public readers of the card): a constructed TLV with tag FF 20 holding 2-byte
// tag TLVs DF 21 (header, ignored), DF 22 name, DF 23 address, DF 24 birth date (YYYYMMDD),
// DF 25 sex code; unknown tags are skipped; all lengths BER definite. Text is taken as UTF-8.
std::optional<core::card::BasicInfo> ParseBasicInfo(std::span<const std::uint8_t> ef);

}  // namespace onshid::pcsc
