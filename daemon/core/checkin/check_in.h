#pragma once
// The check-in (受付) state machine and the rules that move it.
//
//   WAITING ──▶ VERIFIED
//      │  ╲
//      │   ▶ NEEDS_FALLBACK(cause) ──▶ VERIFIED (a later query or document succeeded)
//      │            │
//      ▼            ▼
//   CANCELLED ◀─────┘
//
// VERIFIED and CANCELLED are final. Every transition (and the start) yields a CheckInEvent with a
// stable reason, an English and a Japanese message; an invalid transition is refused with
// INVALID_CHECKIN_TRANSITION (kFailedPrecondition) and leaves the machine unchanged.
//
// Pure: the standard library only; every time is passed in by the caller (from the Clock).
// Not thread-safe: one owner per check-in.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/card/certificate_status.h"
#include "core/checkin/documents.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/oqs/eligibility.h"
#include "core/reception.h"

namespace onshid::core::checkin {

enum class CheckInState { kWaiting, kVerified, kNeedsFallback, kCancelled };
std::string_view ToString(CheckInState state);  // "WAITING", …

// Why reception cannot proceed on the normal path: the shared cause (core/reception.h).
using ::onshid::core::FallbackCause;

// Which information a verified check-in may show.
enum class InformationScope {
  kFull,           // insurance plus whatever the patient consented to
  kInsuranceOnly,  // certificate in grace: clinical/medication consent not usable
};

// A message reception should pass on to the patient (e.g. renew the certificate).
struct StaffNotice {
  std::string code;        // stable, e.g. "CERTIFICATE_RENEWAL_DUE"
  std::string message;     // English
  std::string message_ja;  // for reception staff
};

// One state change (or the start) of a check-in.
struct CheckInEvent {
  CheckInState from = CheckInState::kWaiting;
  CheckInState to = CheckInState::kWaiting;
  std::string reason;      // stable UPPER_SNAKE_CASE, e.g. "ELIGIBILITY_VALID"
  std::string message;     // English, no personal data
  std::string message_ja;  // for reception staff
  std::optional<FallbackCause> cause;  // set for transitions to NEEDS_FALLBACK
  InformationScope scope = InformationScope::kFull;  // meaningful for transitions to VERIFIED
  std::vector<StaffNotice> notices;
  SystemTime at{};
};

// What a tap / reader report or a result says should happen next.
struct Outcome {
  CheckInState target = CheckInState::kWaiting;  // kWaiting: nothing decided yet (keep waiting)
  std::optional<FallbackCause> cause;
  InformationScope scope = InformationScope::kFull;
  std::vector<StaffNotice> notices;
  std::string reason;
  std::string message;
  std::string message_ja;
};

// The certificate state of a generic-reader tap (DOMAIN.md §4):
//  kValid          → kWaiting (proceed to the query), full scope;
//  kRenewalAlert   → kWaiting, full scope, notice CERTIFICATE_RENEWAL_DUE;
//  kExpiredInGrace → kWaiting, kInsuranceOnly, notice CERTIFICATE_EXPIRED_IN_GRACE;
//  kExpired        → kNeedsFallback(kCertificateExpired) immediately;
//  kNotYetValid / kUntrusted → kNeedsFallback(kCertificateUntrusted).
Outcome DecideCertificate(card::CertificateStatus status);

// Failures reported before any result (reader or upstream side).
enum class ReadFailure { kIcUnreadable, kReaderTrouble, kUpstreamUnavailable, kNoDocument };

// What the check-in knew about the arrival when a read failure happened.
struct ArrivalContext {
  Channel channel = Channel::kManual;
  DocumentSet presented;
};

// The cause a read failure stands for: kIcUnreadable, kNetworkError (the terminal or OQS is
// unreachable), kNoDocument, and for a failing reader kFaceReaderWontStart on the face-reader
// channel, kGenericReaderBroken when only a smartphone was presented (the reader that reads phones),
// else kTerminalTrouble.
FallbackCause CauseOf(ReadFailure failure, const ArrivalContext& arrival);
// kNeedsFallback with CauseOf(failure, arrival); the reason is IC_UNREADABLE, READER_TROUBLE,
// UPSTREAM_UNAVAILABLE or NO_DOCUMENT.
Outcome DecideReadFailure(ReadFailure failure, const ArrivalContext& arrival);

// The outcome of an eligibility result (§9 of OQS-INTERFACE.md):
//  SegmentOfResult ≠ 1, ProcessingResultStatus ≠ 1, or an unknown/missing 資格有効性 →
//    kNeedsFallback(kProcessingError);
//  資格有効性 2/3/4/5 → kNeedsFallback(kResultInvalid/…InvalidNewerExists/…NoRecord/…Multiple);
//  資格有効性 1 or 6 with exactly one result → kVerified;
//  1 or 6 with zero or several results → kNeedsFallback(kProcessingError).
// When `certificate` is given (a card tap), its DecideCertificate outcome is applied first:
// expired/untrusted wins; in-grace narrows the scope to kInsuranceOnly; notices are carried over.
Outcome DecideResult(const oqs::EligibilityResult& result,
                     std::optional<card::CertificateStatus> certificate = std::nullopt);

class CheckInMachine {
 public:
  // A new check-in in WAITING; its first event (reason CHECKIN_STARTED, from = to = WAITING) is
  // events().front().
  static CheckInMachine Start(SystemTime at);
  // Rebuilds a machine from a stored state (no events are produced).
  static CheckInMachine Restore(CheckInState state, std::optional<FallbackCause> cause);

  CheckInState state() const { return state_; }
  std::optional<FallbackCause> fallback_cause() const { return cause_; }
  InformationScope scope() const { return scope_; }
  // Events produced by this instance, oldest first.
  const std::vector<CheckInEvent>& events() const { return events_; }

  // Applies an Outcome. A kWaiting outcome changes nothing and yields no event: the returned
  // optional is empty. Errors: INVALID_CHECKIN_TRANSITION (from a final state, or VERIFIED →
  // anything, or NEEDS_FALLBACK → NEEDS_FALLBACK).
  Result<std::optional<CheckInEvent>> Apply(const Outcome& outcome, SystemTime at);

  // Staff or the vendor cancelled. `reason_code` is stored as the event's reason
  // (default CHECKIN_CANCELLED). Errors: INVALID_CHECKIN_TRANSITION from VERIFIED or CANCELLED.
  Result<CheckInEvent> Cancel(SystemTime at, std::string reason_code = "CHECKIN_CANCELLED");

 private:
  CheckInMachine() = default;
  Result<CheckInEvent> Transition(CheckInState to, const Outcome& outcome, SystemTime at);

  CheckInState state_ = CheckInState::kWaiting;
  std::optional<FallbackCause> cause_;
  InformationScope scope_ = InformationScope::kFull;
  std::vector<CheckInEvent> events_;
};

// True when `from` → `to` is allowed (see the diagram above).
bool IsAllowedTransition(CheckInState from, CheckInState to);

}  // namespace onshid::core::checkin
