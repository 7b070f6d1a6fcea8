#include "core/card/apdu_allow_list.h"

#include <algorithm>

namespace onshid::core::card {
namespace {

constexpr std::uint8_t kInsSelect = 0xA4;
constexpr std::uint8_t kInsReadBinary = 0xB0;
constexpr std::uint8_t kInsVerify = 0x20;
constexpr std::uint8_t kInsSign = 0x2A;

AllowDecision Allow() { return {true, {}}; }
AllowDecision Refuse(const char* reason) { return {false, reason}; }

bool Equals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// EFs that may be selected inside each AP.
bool SelectableEf(Application app, int ef) {
  switch (app) {
    case Application::kJpki:
      return ef == kEfJpkiToken || ef == kEfJpkiAuthCertificate || ef == kEfJpkiAuthKey ||
             ef == kEfJpkiAuthPin;
    case Application::kKenhojo:
      return ef == kEfKenhojoPin || ef == kEfKenhojoBasicInfo;
    case Application::kNone:
      return false;
  }
  return false;
}

bool ReadableEf(Application app, int ef) {
  return (app == Application::kJpki && (ef == kEfJpkiToken || ef == kEfJpkiAuthCertificate)) ||
         (app == Application::kKenhojo && ef == kEfKenhojoBasicInfo);
}

bool PinEf(Application app, int ef) {
  return (app == Application::kJpki && ef == kEfJpkiAuthPin) ||
         (app == Application::kKenhojo && ef == kEfKenhojoPin);
}

AllowDecision CheckSelect(const ApduSessionState& state, std::span<const std::uint8_t> c) {
  // Case 3 only (no Le): header + Lc + data.
  if (c.size() < 5 || c[4] == 0 || c.size() != 5u + c[4]) return Refuse("SELECT_MALFORMED");
  const std::span<const std::uint8_t> data = c.subspan(5);
  if (c[2] == 0x04 && c[3] == 0x0C) {
    if (Equals(data, kJpkiAid)) return Allow();
    if (Equals(data, kKenhojoAid)) {
      return state.allow_kenhojo ? Allow() : Refuse("SELECT_AP_NOT_ALLOWED_IN_SESSION");
    }
    return Refuse("SELECT_AID_NOT_ALLOWED");
  }
  if (c[2] == 0x02 && c[3] == 0x0C) {
    if (data.size() != 2) return Refuse("SELECT_MALFORMED");
    const int ef = (data[0] << 8) | data[1];
    return SelectableEf(state.application, ef) ? Allow() : Refuse("SELECT_EF_NOT_ALLOWED");
  }
  return Refuse("SELECT_MODE_NOT_ALLOWED");
}

}  // namespace

AllowDecision CheckCommand(const ApduSessionState& state, std::span<const std::uint8_t> c) {
  if (c.size() < 4) return Refuse("APDU_TOO_SHORT");
  if (c.size() > 5 && c[4] == 0x00) return Refuse("EXTENDED_LENGTH_NOT_ALLOWED");
  const std::uint8_t cla = c[0];
  const std::uint8_t ins = c[1];
  const std::uint8_t p1 = c[2];
  const std::uint8_t p2 = c[3];
  if (ins == kInsSign) {
    if (cla != 0x80) return Refuse("CLA_NOT_ALLOWED");
    if (p1 != 0x00 || p2 != 0x80) return Refuse("SIGN_PARAMETERS_NOT_ALLOWED");
    // Case 4: header + Lc + data + Le.
    if (c.size() < 7 || c[4] == 0 || c.size() != 6u + c[4]) return Refuse("SIGN_MALFORMED");
    if (state.application != Application::kJpki || state.elementary_file != kEfJpkiAuthKey) {
      return Refuse("SIGN_KEY_NOT_SELECTED");
    }
    return Allow();
  }
  if (cla != 0x00) return Refuse("CLA_NOT_ALLOWED");
  switch (ins) {
    case kInsSelect:
      return CheckSelect(state, c);
    case kInsReadBinary:
      if (c.size() != 5) return Refuse("READ_BINARY_MALFORMED");
      if ((p1 & 0x80) != 0) return Refuse("READ_BINARY_SFI_NOT_ALLOWED");
      if (!ReadableEf(state.application, state.elementary_file)) {
        return Refuse("READ_BINARY_EF_NOT_ALLOWED");
      }
      return Allow();
    case kInsVerify: {
      if (p1 != 0x00 || p2 != 0x80) return Refuse("VERIFY_PARAMETERS_NOT_ALLOWED");
      if (!PinEf(state.application, state.elementary_file)) return Refuse("VERIFY_EF_NOT_ALLOWED");
      if (c.size() == 4) return Allow();  // retry-counter query
      if (c.size() != 9 || c[4] != 4) return Refuse("VERIFY_MALFORMED");
      for (std::size_t i = 5; i < 9; ++i) {
        if (c[i] < '0' || c[i] > '9') return Refuse("VERIFY_PIN_FORMAT");
      }
      return Allow();
    }
    default:
      return Refuse("INS_NOT_ALLOWED");
  }
}

void ApplyResponse(ApduSessionState& state, std::span<const std::uint8_t> c, std::uint16_t sw) {
  if (c.size() < 5 || c[0] != 0x00 || c[1] != kInsSelect) return;
  const bool ok = sw == 0x9000;
  const std::span<const std::uint8_t> data = c.subspan(5);
  if (c[2] == 0x04) {
    state.elementary_file = -1;
    state.application = Application::kNone;
    if (ok && Equals(data, kJpkiAid)) state.application = Application::kJpki;
    if (ok && Equals(data, kKenhojoAid)) state.application = Application::kKenhojo;
  } else if (c[2] == 0x02) {
    state.elementary_file = (ok && data.size() == 2) ? ((data[0] << 8) | data[1]) : -1;
  }
}

}  // namespace onshid::core::card
