#pragma once
// The APDU allow-list: the only commands the daemon may ever send to a My Number card.
//
// Pure function over the command bytes and the session's selection state. The PC/SC adapter calls
// CheckCommand() at its single transmit choke point, before SCardTransmit, for every command of
// every caller; a refused command never reaches the card. After each response it calls
// ApplyResponse() so the state tracks which AP / EF is selected.
//
// Allowed (JPKI-CARD.md §1-3; everything else is refused):
//   00 A4 04 0C 0A <JPKI AID>                     SELECT the JPKI AP by DF name
//   00 A4 04 0C 0A <入力補助AP AID>               only when the session allows basic information
//   00 A4 02 0C 02 <EF>                           JPKI AP: 0006 token, 000A auth cert, 0017 auth
//                                                 key, 0018 auth PIN; 入力補助AP: 0011 PIN,
//                                                 0002 basic information. Never 入力補助AP 0001
//                                                 (My Number) or any 券面AP file.
//   00 B0 P1 P2 Le                                READ BINARY of the selected readable EF
//                                                 (0006, 000A, 入力補助AP 0002), P1 bit 8 = 0
//   00 20 00 80 [04 <4 ASCII digits>]             VERIFY on the selected PIN EF (0018 / 0011)
//   80 2A 00 80 Lc <data> 00                      COMPUTE DIGITAL SIGNATURE, auth key 0017 selected
// Extended-length APDUs are refused.

#include <cstdint>
#include <span>
#include <string>

namespace onshid::core::card {

enum class Application { kNone, kJpki, kKenhojo /* 券面事項入力補助AP */ };

// Selection state of one card session (one exclusive transaction). Starts with nothing selected.
struct ApduSessionState {
  // Whether this session may select the 券面事項入力補助AP (basic-information reads only).
  bool allow_kenhojo = false;
  Application application = Application::kNone;
  // The selected EF inside `application`, or -1 when none / unknown.
  int elementary_file = -1;
};

struct AllowDecision {
  bool allowed = false;
  // Stable code when refused, e.g. "SELECT_AID_NOT_ALLOWED". Contains no command bytes.
  std::string reason;
};

// AIDs (JPKI-CARD.md §1).
inline constexpr std::uint8_t kJpkiAid[] = {0xD3, 0x92, 0xF0, 0x00, 0x26,
                                            0x01, 0x00, 0x00, 0x00, 0x01};
inline constexpr std::uint8_t kKenhojoAid[] = {0xD3, 0x92, 0x10, 0x00, 0x31,
                                               0x00, 0x01, 0x01, 0x04, 0x08};

// EF identifiers used by the daemon.
inline constexpr int kEfJpkiToken = 0x0006;
inline constexpr int kEfJpkiAuthCertificate = 0x000A;
inline constexpr int kEfJpkiAuthKey = 0x0017;
inline constexpr int kEfJpkiAuthPin = 0x0018;
inline constexpr int kEfKenhojoPin = 0x0011;
inline constexpr int kEfKenhojoBasicInfo = 0x0002;

// Decides whether `command` may be sent in a session in `state`.
AllowDecision CheckCommand(const ApduSessionState& state, std::span<const std::uint8_t> command);

// Updates `state` after `command` (which passed CheckCommand) got status word `sw`. A successful
// SELECT changes the selection; a failed SELECT leaves nothing selected (fail closed).
void ApplyResponse(ApduSessionState& state, std::span<const std::uint8_t> command,
                   std::uint16_t sw);

}  // namespace onshid::core::card
