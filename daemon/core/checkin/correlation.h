#pragma once
// Correlation: which check-in (受付) a face-reader or generic-reader result belongs to (issue 5 §2).
//
// A result arriving at instant T from a device is matched against the open check-ins of the desk
// the device is mapped to. It is BOUND only when exactly one WAITING check-in fits; otherwise it is
// LINKED (a late result for a timed-out, cancelled or fallback check-in), UNMATCHED or AMBIGUOUS,
// for staff to assign — never a silent guess. Every decision carries its reasons.
//
// Pure: the standard library only; the device → desk map, the window and every instant are passed
// in by the caller. Thread-safe: a free function over values.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/checkin/check_in.h"
#include "core/clock.h"
#include "core/oqs/eligibility.h"

namespace onshid::core::checkin {

// The identifying keys of a patient, as far as they are known. Contain personal data: never log.
struct PatientKeys {
  std::optional<std::string> reference_number;  // 照会番号 (the vendor's patient id registered in OQS)
  std::optional<std::string> card_key;          // opaque key of the card tapped on a generic reader
  std::optional<std::string> name_kana;         // 氏名カナ, any width, spaces allowed
  std::optional<std::chrono::year_month_day> birth_date;  // 生年月日
};

// The keys a face result carries: the 照会番号, 氏名カナ and 生年月日 of its single qualification
// (of the first when there are several; none when there is none). Empty texts count as unknown.
// A malformed 生年月日 is unknown. The card key is never in a face result.
PatientKeys KeysOf(const oqs::EligibilityResult& result);

// A result (face file or generic-reader tap) waiting to be correlated.
struct ArrivingResult {
  std::string device_id;   // the face reader / generic reader / kiosk it came from
  SystemTime arrived_at{};
  PatientKeys keys;
};

// One check-in that may receive a result (typically the day's non-final check-ins plus recently
// ended ones, so late results can be linked).
struct OpenCheckIn {
  std::string check_in_id;
  std::string desk_id;
  CheckInState state = CheckInState::kWaiting;
  // The wait for a result ran out (the check-in may still be WAITING or have moved on).
  bool timed_out = false;
  SystemTime started_at{};
  PatientKeys expected;  // what the vendor / a card tap told us about the patient
};

// A result fits a check-in in time when started_at − before_start ≤ T ≤ started_at + after_start
// (both edges included).
struct CorrelationWindow {
  std::chrono::seconds after_start{std::chrono::minutes{10}};
  std::chrono::seconds before_start{0};
};

enum class CorrelationOutcome {
  kBound,      // exactly one WAITING check-in fits: the result verifies it
  kLinked,     // late: kept and linked to a timed-out / cancelled / fallback check-in, no verification
  kUnmatched,  // nothing fits: the result gets its own check-in for staff to assign
  kAmbiguous,  // several fit (or a key points elsewhere): staff choose among the candidates
};
std::string_view ToString(CorrelationOutcome outcome);  // "BOUND", "LINKED", …

// A reason: stable UPPER_SNAKE_CASE code and an English message. Never contains personal data.
//  Decision codes: SINGLE_WAITING_CHECKIN, KEY_MATCH_DISAMBIGUATED, LATE_RESULT_CANCELLED,
//  LATE_RESULT_TIMED_OUT, LATE_RESULT_NEEDS_FALLBACK, DEVICE_NOT_MAPPED, NO_CHECKIN_FITS,
//  SEVERAL_CHECKINS_FIT, SEVERAL_LATE_CHECKINS_FIT, KEY_MATCHES_OTHER_WAITING_CHECKIN.
//  Per check-in codes: REFERENCE_NUMBER_MATCH / _DISAGREES, CARD_KEY_MATCH / _DISAGREES,
//  KANA_NAME_BIRTH_DATE_MATCH / _DISAGREES, OTHER_DESK, BEFORE_WINDOW, AFTER_WINDOW,
//  CHECKIN_VERIFIED, CHECKIN_CANCELLED, CHECKIN_TIMED_OUT, CHECKIN_NEEDS_FALLBACK, FITS.
struct CorrelationReason {
  std::string code;
  std::string message;
};

// A check-in staff should consider; `reasons` say why it is (or is not) a fit.
struct CorrelationCandidate {
  std::string check_in_id;
  bool fits = false;  // same desk, inside the window, no known key disagrees
  std::vector<CorrelationReason> reasons;
};

struct Correlation {
  CorrelationOutcome outcome = CorrelationOutcome::kUnmatched;
  std::optional<std::string> check_in_id;  // set for kBound and kLinked
  // The decision's reasons; for kBound/kLinked also the reasons of the chosen check-in.
  std::vector<CorrelationReason> reasons;
  // Every other check-in worth showing, in input order: the fitting ones (kAmbiguous), any whose
  // 照会番号 or card key matches (other desk, outside the window, final state), and those at the
  // desk inside the window that a known key rules out.
  std::vector<CorrelationCandidate> candidates;
};

// Maps a device id to the desks it serves (from config). A device may serve several desks: the
// terminal's face/ folder does not say which face reader a result came from, so one folder is one
// device, and a reception with several desks behind one terminal maps it to all of them (keys then
// tell their check-ins apart).
using DeskMap = std::multimap<std::string, std::string, std::less<>>;

// Decides where `result` belongs.
//
// Keys: a key is compared only when both sides know it; 照会番号 after width normalisation and
// trimming; the card key exactly; カナ name + birth date as a pair (both parts known on both sides),
// the name after width normalisation, hiragana → katakana, small kana → large and removing spaces.
// A check-in *fits* when it is at the device's desk, inside `window` and no known key disagrees.
//
// Rules, in order:
//  1. Unmapped device → kUnmatched (DEVICE_NOT_MAPPED).
//  2. Fitting WAITING, not timed-out check-ins: exactly one → kBound; several → kBound to the one
//     with a 照会番号 or card key match when it is the only one with such a match
//     (KEY_MATCH_DISAMBIGUATED), else kAmbiguous listing them. A bound result is instead kAmbiguous
//     (KEY_MATCHES_OTHER_WAITING_CHECKIN) when the bound check-in has no 照会番号/card key match but
//     another WAITING check-in inside the window at another desk has one.
//  3. Otherwise fitting late check-ins (CANCELLED, NEEDS_FALLBACK or timed out; never VERIFIED):
//     one → kLinked; several → kAmbiguous.
//  4. Otherwise kUnmatched (NO_CHECKIN_FITS).
// Never fails: every input yields a decision.
Correlation Correlate(const ArrivingResult& result, const std::vector<OpenCheckIn>& check_ins,
                      const DeskMap& desks, const CorrelationWindow& window);

// The comparison form of a カナ name used by Correlate (exposed for tests and look-ups).
std::string KanaComparisonKey(std::string_view name_kana);

}  // namespace onshid::core::checkin
