#pragma once
// Failures inside the card layer, kept apart by origin until pcsc_errors.cc maps them to domain
// errors (the only place that does).

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace onshid::pcsc {

enum class FailureKind {
  kTransport,   // PC/SC call failed, or response < 2 bytes (card removed mid-APDU)
  kStatusWord,  // the card answered with an unexpected SW1 SW2
  kParse,       // the card's data is malformed or over a bound
  kNotAllowed,  // the APDU allow-list refused the command; it was never sent
};

// The protocol step that failed; decides the domain error together with the SW.
enum class Step {
  kConnect,
  kSelectJpki,
  kReadToken,
  kReadCertificate,
  kPinStatus,
  kVerifyPin,
  kSign,
  kSelectKenhojo,
  kKenhojoPinStatus,
  kVerifyKenhojoPin,
  kReadBasicInfo,
  kOther,
};

struct CardFailure {
  FailureKind kind = FailureKind::kTransport;
  Step step = Step::kOther;
  long pcsc_code = 0;       // kTransport: PC/SC code, 0 for a short response
  std::uint16_t sw = 0;     // kStatusWord
  std::string detail;       // stable code, English; never command or response bytes
};

// Either a value or a CardFailure.
template <typename T>
class [[nodiscard]] CardOutcome {
 public:
  CardOutcome(T value) : v_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  CardOutcome(CardFailure failure) : v_(std::move(failure)) {}  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  T& value() { return std::get<T>(v_); }
  const CardFailure& failure() const { return std::get<CardFailure>(v_); }

 private:
  std::variant<T, CardFailure> v_;
};

struct Done {};

}  // namespace onshid::pcsc
