#pragma once
// PINs of the My Number card: the 4-digit 利用者証明用電子証明書 PIN (JPKI EF 0018) and the
// 4-digit 券面事項入力補助用暗証番号 (入力補助AP EF 0011). Both are exactly 4 ASCII digits.
//
// A Pin is only ever built through Parse(), so a malformed PIN can never reach a card (a card
// would count it as a wrong try). The digits live in a fixed buffer that is zeroed on destruction
// and on move; Pin has no operator<< and no accessor that returns a std::string, so it is hard to
// log by accident.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/error.h"

namespace onshid::core::card {

class Pin {
 public:
  static constexpr std::size_t kLength = 4;

  // Checks the format (exactly 4 ASCII digits '0'..'9'). Errors: kInvalidArgument
  // PIN_FORMAT_INVALID naming `field`. The message never contains the input.
  static Result<Pin> Parse(std::string_view digits, std::string_view field = "pin");

  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  Pin(Pin&& other) noexcept;
  Pin& operator=(Pin&& other) noexcept;
  ~Pin();

  // The ASCII bytes to put in the VERIFY command data.
  std::span<const std::uint8_t, kLength> Bytes() const { return digits_; }

 private:
  Pin() = default;
  void Wipe();
  std::array<std::uint8_t, kLength> digits_{};
};

// True if `digits` has exactly 4 ASCII digits.
bool IsValidPinFormat(std::string_view digits);

// Overwrites a buffer in a way the compiler will not elide (for PIN copies in std::string etc.).
void SecureZero(void* data, std::size_t size);

}  // namespace onshid::core::card
