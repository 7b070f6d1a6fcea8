#include "pcsc/jpki_protocol.h"

#include <algorithm>
#include <string>
#include <string_view>

namespace onshid::pcsc {
namespace {

using core::card::kEfJpkiAuthCertificate;
using core::card::kEfJpkiAuthKey;
using core::card::kEfJpkiAuthPin;
using core::card::kEfJpkiToken;
using core::card::kEfKenhojoBasicInfo;
using core::card::kEfKenhojoPin;

constexpr std::uint16_t kSwOk = 0x9000;

CardFailure SwFailure(Step step, std::uint16_t sw) {
  return CardFailure{FailureKind::kStatusWord, step, 0, sw, "UNEXPECTED_STATUS_WORD"};
}
CardFailure ParseFailure(Step step, const char* detail) {
  return CardFailure{FailureKind::kParse, step, 0, 0, detail};
}

CardOutcome<Done> SelectAid(CardSession& session, std::span<const std::uint8_t> aid, Step step) {
  std::vector<std::uint8_t> cmd = {0x00, 0xA4, 0x04, 0x0C, static_cast<std::uint8_t>(aid.size())};
  cmd.insert(cmd.end(), aid.begin(), aid.end());
  auto r = session.Transmit(cmd, step);
  if (!r.ok()) return r.failure();
  if (r.value().sw != kSwOk) return SwFailure(step, r.value().sw);
  return Done{};
}

CardOutcome<Done> SelectEf(CardSession& session, int ef, Step step) {
  const std::uint8_t cmd[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, static_cast<std::uint8_t>(ef >> 8),
                              static_cast<std::uint8_t>(ef & 0xFF)};
  auto r = session.Transmit(cmd, step);
  if (!r.ok()) return r.failure();
  if (r.value().sw != kSwOk) return SwFailure(step, r.value().sw);
  return Done{};
}

// Reads exactly `length` bytes from `offset` of the selected EF in chunks of at most 256 bytes.
CardOutcome<std::vector<std::uint8_t>> ReadExact(CardSession& session, std::size_t offset,
                                                 std::size_t length, Step step) {
  std::vector<std::uint8_t> out;
  out.reserve(length);
  while (out.size() < length) {
    const std::size_t pos = offset + out.size();
    if (pos > 0x7FFF) return ParseFailure(step, "OFFSET_OUT_OF_RANGE");
    const std::size_t chunk = std::min<std::size_t>(256, length - out.size());
    const std::uint8_t cmd[] = {0x00, 0xB0, static_cast<std::uint8_t>(pos >> 8),
                                static_cast<std::uint8_t>(pos & 0xFF),
                                static_cast<std::uint8_t>(chunk == 256 ? 0 : chunk)};
    auto r = session.Transmit(cmd, step);
    if (!r.ok()) return r.failure();
    if (r.value().sw != kSwOk) return SwFailure(step, r.value().sw);
    if (r.value().data.size() != chunk) return ParseFailure(step, "READ_LENGTH_MISMATCH");
    out.insert(out.end(), r.value().data.begin(), r.value().data.end());
  }
  return out;
}

bool IsLockedSw(std::uint16_t sw) { return sw == 0x63C0 || sw == 0x6983 || sw == 0x6984; }

CardOutcome<core::card::PinStatus> QuerySelectedPin(CardSession& session, Step step) {
  const std::uint8_t cmd[] = {0x00, 0x20, 0x00, 0x80};
  auto r = session.Transmit(cmd, step);
  if (!r.ok()) return r.failure();
  const std::uint16_t sw = r.value().sw;
  core::card::PinStatus status;
  if (IsLockedSw(sw)) {
    status.locked = true;
    return status;
  }
  if ((sw & 0xFFF0) == 0x63C0) {
    status.tries_left = sw & 0x0F;
    return status;
  }
  if (sw == kSwOk) {  // already verified in this session
    status.tries_left = kAuthPinMaxTries;
    return status;
  }
  return SwFailure(step, sw);
}

std::string TrimmedAscii(std::span<const std::uint8_t> bytes) {
  std::string s(bytes.begin(), bytes.end());
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ' || s.back() == '\xFF')) s.pop_back();
  return s;
}

}  // namespace

std::optional<std::size_t> ParseTlvTotalLength(std::span<const std::uint8_t> h) {
  std::size_t pos = 0;
  if (h.empty()) return std::nullopt;
  if ((h[0] & 0x1F) == 0x1F) {  // multi-byte tag: we accept exactly one subsequent byte
    if (h.size() < 2 || (h[1] & 0x80) != 0) return std::nullopt;
    pos = 2;
  } else {
    pos = 1;
  }
  if (h.size() <= pos) return std::nullopt;
  const std::uint8_t first = h[pos++];
  if (first < 0x80) return pos + first;
  const std::size_t n = first & 0x7F;
  if (n == 0 || n > 2) return std::nullopt;  // indefinite or absurdly long
  if (h.size() < pos + n) return std::nullopt;
  std::size_t len = 0;
  for (std::size_t i = 0; i < n; ++i) len = (len << 8) | h[pos + i];
  if (n == 2 && len < 0x100) return std::nullopt;  // not minimal DER
  if (n == 1 && len < 0x80) return std::nullopt;
  return pos + n + len;
}

CardOutcome<Done> SelectJpki(CardSession& session) {
  return SelectAid(session, core::card::kJpkiAid, Step::kSelectJpki);
}

CardOutcome<core::card::TokenKind> ReadToken(CardSession& session) {
  if (auto s = SelectEf(session, kEfJpkiToken, Step::kReadToken); !s.ok()) return s.failure();
  auto data = ReadExact(session, 0, 0x20, Step::kReadToken);
  if (!data.ok()) return data.failure();
  const std::string token = TrimmedAscii(data.value());
  if (token == "JPKIAPICCTOKEN2") return core::card::TokenKind::kMyNumberCard;
  if (token == "JPKIAPGPSETOKEN") return core::card::TokenKind::kSmartphone;
  if (token == "JPKIAPICCTOKEN") return core::card::TokenKind::kJukiCard;
  return core::card::TokenKind::kUnknown;
}

CardOutcome<std::vector<std::uint8_t>> ReadAuthCertificate(CardSession& session,
                                                           std::size_t max_bytes) {
  constexpr Step kStep = Step::kReadCertificate;
  if (auto s = SelectEf(session, kEfJpkiAuthCertificate, kStep); !s.ok()) return s.failure();
  auto head = ReadExact(session, 0, 4, kStep);
  if (!head.ok()) return head.failure();
  const std::vector<std::uint8_t>& h = head.value();
  if (h[0] != 0x30) return ParseFailure(kStep, "CERTIFICATE_NOT_DER_SEQUENCE");
  const std::optional<std::size_t> total = ParseTlvTotalLength(h);
  if (!total) return ParseFailure(kStep, "CERTIFICATE_LENGTH_INVALID");
  if (*total > max_bytes) return ParseFailure(kStep, "CERTIFICATE_TOO_LARGE");
  if (*total <= h.size()) return std::vector<std::uint8_t>(h.begin(), h.begin() + *total);
  auto rest = ReadExact(session, h.size(), *total - h.size(), kStep);
  if (!rest.ok()) return rest.failure();
  std::vector<std::uint8_t> der = h;
  der.insert(der.end(), rest.value().begin(), rest.value().end());
  return der;
}

CardOutcome<core::card::PinStatus> QueryAuthPin(CardSession& session) {
  if (auto s = SelectEf(session, kEfJpkiAuthPin, Step::kPinStatus); !s.ok()) return s.failure();
  return QuerySelectedPin(session, Step::kPinStatus);
}

CardOutcome<Done> VerifySelectedPin(CardSession& session, const core::card::Pin& pin, Step step) {
  std::uint8_t cmd[9] = {0x00, 0x20, 0x00, 0x80, 0x04};
  std::copy(pin.Bytes().begin(), pin.Bytes().end(), cmd + 5);
  auto r = session.Transmit(cmd, step);
  core::card::SecureZero(cmd, sizeof cmd);
  if (!r.ok()) return r.failure();
  if (r.value().sw != kSwOk) return SwFailure(step, r.value().sw);
  return Done{};
}

CardOutcome<std::vector<std::uint8_t>> SignDigestInfo(CardSession& session,
                                                     std::span<const std::uint8_t> digest_info) {
  if (auto s = SelectEf(session, kEfJpkiAuthKey, Step::kSign); !s.ok()) return s.failure();
  std::vector<std::uint8_t> cmd = {0x80, 0x2A, 0x00, 0x80,
                                   static_cast<std::uint8_t>(digest_info.size())};
  cmd.insert(cmd.end(), digest_info.begin(), digest_info.end());
  cmd.push_back(0x00);
  auto r = session.Transmit(cmd, Step::kSign);
  if (!r.ok()) return r.failure();
  if (r.value().sw != kSwOk) return SwFailure(Step::kSign, r.value().sw);
  if (r.value().data.empty()) return ParseFailure(Step::kSign, "SIGNATURE_EMPTY");
  return std::move(r.value().data);
}

std::optional<core::card::BasicInfo> ParseBasicInfo(std::span<const std::uint8_t> ef) {
  const auto total = ParseTlvTotalLength(ef);
  if (!total || *total > ef.size() || ef.size() < 2 || ef[0] != 0xFF || ef[1] != 0x20) {
    return std::nullopt;
  }
  // Header length = total - content length; recompute the content start.
  std::size_t pos = 2;
  pos += (ef[2] < 0x80) ? 1 : 1 + (ef[2] & 0x7F);
  const std::size_t end = *total;
  core::card::BasicInfo info;
  bool have_name = false, have_address = false, have_birth = false, have_sex = false;
  while (pos < end) {
    const auto item = ParseTlvTotalLength(ef.subspan(pos, end - pos));
    if (end - pos < 3 || (ef[pos] & 0x1F) != 0x1F) return std::nullopt;
    if (!item || pos + *item > end) return std::nullopt;
    const std::uint8_t tag0 = ef[pos];
    const std::uint8_t tag1 = ef[pos + 1];
    std::size_t value_pos = pos + 2;
    value_pos += (ef[value_pos] < 0x80) ? 1 : 1 + (ef[value_pos] & 0x7F);
    const std::string value(ef.begin() + static_cast<std::ptrdiff_t>(value_pos),
                            ef.begin() + static_cast<std::ptrdiff_t>(pos + *item));
    if (tag0 == 0xDF) {
      switch (tag1) {
        case 0x22: info.name = value; have_name = true; break;
        case 0x23: info.address = value; have_address = true; break;
        case 0x24: info.birth_date = value; have_birth = true; break;
        case 0x25: info.sex = value; have_sex = true; break;
        default: break;
      }
    }
    pos += *item;
  }
  if (!have_name || !have_address || !have_birth || !have_sex) return std::nullopt;
  return info;
}

CardOutcome<core::card::BasicInfo> ReadBasicInfo(CardSession& session,
                                                 const core::card::Pin& kenhojo_pin) {
  if (auto s = SelectAid(session, core::card::kKenhojoAid, Step::kSelectKenhojo); !s.ok()) {
    return s.failure();
  }
  if (auto s = SelectEf(session, kEfKenhojoPin, Step::kVerifyKenhojoPin); !s.ok()) {
    return s.failure();
  }
  auto status = QuerySelectedPin(session, Step::kKenhojoPinStatus);
  if (!status.ok()) return status.failure();
  if (status.value().locked) return SwFailure(Step::kVerifyKenhojoPin, 0x6984);
  if (auto v = VerifySelectedPin(session, kenhojo_pin, Step::kVerifyKenhojoPin); !v.ok()) {
    return v.failure();
  }
  if (auto s = SelectEf(session, kEfKenhojoBasicInfo, Step::kReadBasicInfo); !s.ok()) {
    return s.failure();
  }
  auto head = ReadExact(session, 0, 5, Step::kReadBasicInfo);
  if (!head.ok()) return head.failure();
  const auto total = ParseTlvTotalLength(head.value());
  if (!total) return ParseFailure(Step::kReadBasicInfo, "BASIC_INFO_LENGTH_INVALID");
  if (*total > kMaxBasicInfoBytes) return ParseFailure(Step::kReadBasicInfo, "BASIC_INFO_TOO_LARGE");
  std::vector<std::uint8_t> ef = head.value();
  if (*total <= ef.size()) {
    ef.resize(*total);
  } else {
    auto rest = ReadExact(session, ef.size(), *total - ef.size(), Step::kReadBasicInfo);
    if (!rest.ok()) return rest.failure();
    ef.insert(ef.end(), rest.value().begin(), rest.value().end());
    core::card::SecureZero(rest.value().data(), rest.value().size());
  }
  std::optional<core::card::BasicInfo> info = ParseBasicInfo(ef);
  core::card::SecureZero(ef.data(), ef.size());
  if (!info) return ParseFailure(Step::kReadBasicInfo, "BASIC_INFO_MALFORMED");
  return std::move(*info);
}

}  // namespace onshid::pcsc
