#include "core/card/pin.h"

#include <string>

namespace onshid::core::card {

bool IsValidPinFormat(std::string_view digits) {
  if (digits.size() != Pin::kLength) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void SecureZero(void* data, std::size_t size) {
  volatile unsigned char* p = static_cast<volatile unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) p[i] = 0;
}

Result<Pin> Pin::Parse(std::string_view digits, std::string_view field) {
  if (!IsValidPinFormat(digits)) {
    return InvalidArgument("PIN_FORMAT_INVALID", "the PIN must be exactly 4 digits (0-9)",
                           "暗証番号は数字4桁で入力してください。",
                           {{std::string(field), "must be exactly 4 ASCII digits"}});
  }
  Pin pin;
  for (std::size_t i = 0; i < kLength; ++i) pin.digits_[i] = static_cast<std::uint8_t>(digits[i]);
  return pin;
}

Pin::Pin(Pin&& other) noexcept : digits_(other.digits_) { other.Wipe(); }

Pin& Pin::operator=(Pin&& other) noexcept {
  if (this != &other) {
    digits_ = other.digits_;
    other.Wipe();
  }
  return *this;
}

Pin::~Pin() { Wipe(); }

void Pin::Wipe() { SecureZero(digits_.data(), digits_.size()); }

}  // namespace onshid::core::card
