#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/checkin/check_in.h"

namespace {

using namespace onshid::core::checkin;
using onshid::core::SystemTime;
using onshid::core::card::CertificateStatus;
namespace oqs = onshid::core::oqs;

const SystemTime kT0 = onshid::core::card::JstMidnight(std::chrono::year{2026} / 3 / 31) +
                       std::chrono::hours(9);

oqs::EligibilityResult Result(std::string validity, size_t results = 1, std::string segment = "1",
                              std::string status = "1") {
  oqs::EligibilityResult r;
  r.header.segment_of_result =
      oqs::CodeValue<oqs::SegmentOfResult>{segment, oqs::ParseCode<oqs::SegmentOfResult>(segment)};
  r.processing_result_status = oqs::CodeValue<oqs::ProcessingResultStatus>{
      status, oqs::ParseCode<oqs::ProcessingResultStatus>(status)};
  r.qualification_validity = oqs::CodeValue<oqs::QualificationValidity>{
      validity, oqs::ParseCode<oqs::QualificationValidity>(validity)};
  r.results.resize(results);
  return r;
}

}  // namespace

TEST_CASE("checkin: result outcomes", "[checkin]") {
  struct Row {
    const char* name;
    oqs::EligibilityResult result;
    CheckInState target;
    std::optional<FallbackCause> cause;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {"valid", Result("1"), CheckInState::kVerified, std::nullopt, "ELIGIBILITY_VALID"},
      {"valid unregistered", Result("6"), CheckInState::kVerified, std::nullopt,
       "ELIGIBILITY_VALID"},
      {"validity 2", Result("2"), CheckInState::kNeedsFallback, FallbackCause::kResultInvalid,
       "ELIGIBILITY_INVALID"},
      {"validity 3", Result("3"), CheckInState::kNeedsFallback,
       FallbackCause::kResultInvalidNewerExists, "ELIGIBILITY_INVALID_NEWER_EXISTS"},
      {"validity 4", Result("4", 0), CheckInState::kNeedsFallback,
       FallbackCause::kResultNoRecord, "ELIGIBILITY_NO_RECORD"},
      {"validity 5", Result("5", 2), CheckInState::kNeedsFallback,
       FallbackCause::kResultMultiple, "ELIGIBILITY_MULTIPLE"},
      {"unknown validity", Result("9"), CheckInState::kNeedsFallback,
       FallbackCause::kProcessingError, "ELIGIBILITY_PROCESSING_ERROR"},
      {"abnormal segment", Result("1", 1, "2"), CheckInState::kNeedsFallback,
       FallbackCause::kProcessingError, "ELIGIBILITY_PROCESSING_ERROR"},
      {"processing error status", Result("1", 1, "1", "2"), CheckInState::kNeedsFallback,
       FallbackCause::kProcessingError, "ELIGIBILITY_PROCESSING_ERROR"},
      {"valid with no result", Result("1", 0), CheckInState::kNeedsFallback,
       FallbackCause::kProcessingError, "ELIGIBILITY_PROCESSING_ERROR"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const Outcome o = DecideResult(row.result);
    CHECK(o.target == row.target);
    CHECK(o.cause == row.cause);
    CHECK(o.reason == row.reason);
    CHECK_FALSE(o.message_ja.empty());
  }
}

TEST_CASE("checkin: certificate state from a generic-reader tap", "[checkin]") {
  struct Row {
    CertificateStatus status;
    CheckInState target;       // DecideCertificate alone
    CheckInState with_result;  // DecideResult(valid, status)
    InformationScope scope;
    std::vector<std::string> notices;
  };
  const std::vector<Row> rows = {
      {CertificateStatus::kValid, CheckInState::kWaiting, CheckInState::kVerified,
       InformationScope::kFull, {}},
      {CertificateStatus::kRenewalAlert, CheckInState::kWaiting, CheckInState::kVerified,
       InformationScope::kFull, {"CERTIFICATE_RENEWAL_DUE"}},
      {CertificateStatus::kExpiredInGrace, CheckInState::kWaiting, CheckInState::kVerified,
       InformationScope::kInsuranceOnly, {"CERTIFICATE_EXPIRED_IN_GRACE"}},
      {CertificateStatus::kExpired, CheckInState::kNeedsFallback, CheckInState::kNeedsFallback,
       InformationScope::kFull, {}},
      {CertificateStatus::kUntrusted, CheckInState::kNeedsFallback, CheckInState::kNeedsFallback,
       InformationScope::kFull, {}},
      {CertificateStatus::kNotYetValid, CheckInState::kNeedsFallback,
       CheckInState::kNeedsFallback, InformationScope::kFull, {}},
  };
  for (const auto& row : rows) {
    INFO(onshid::core::card::ToString(row.status));
    const Outcome tap = DecideCertificate(row.status);
    CHECK(tap.target == row.target);
    const Outcome o = DecideResult(Result("1"), row.status);
    CHECK(o.target == row.with_result);
    CHECK(o.scope == row.scope);
    std::vector<std::string> codes;
    for (const auto& n : o.notices) codes.push_back(n.code);
    CHECK(codes == row.notices);
  }
  CHECK(DecideCertificate(CertificateStatus::kExpired).cause == FallbackCause::kCertificateExpired);
  // Expired beyond grace wins over a valid result; the result is not even needed.
  const Outcome expired = DecideResult(Result("1"), CertificateStatus::kExpired);
  CHECK(expired.cause == FallbackCause::kCertificateExpired);
  CHECK(expired.reason == "CERTIFICATE_EXPIRED");
  // In grace with an invalid result: fallback for the validity, grace notice kept.
  const Outcome grace_invalid = DecideResult(Result("2"), CertificateStatus::kExpiredInGrace);
  CHECK(grace_invalid.cause == FallbackCause::kResultInvalid);
  REQUIRE(grace_invalid.notices.size() == 1);
  CHECK(DecideResult(Result("1"), CertificateStatus::kExpiredInGrace).reason ==
        "ELIGIBILITY_VALID_INSURANCE_ONLY");
}

TEST_CASE("checkin: read failures", "[checkin]") {
  const ArrivalContext card_tap{Channel::kGenericReader, {Document::kMyNumberCard}};
  CHECK(DecideReadFailure(ReadFailure::kIcUnreadable, card_tap).cause ==
        FallbackCause::kIcUnreadable);
  CHECK(DecideReadFailure(ReadFailure::kUpstreamUnavailable, card_tap).cause ==
        FallbackCause::kNetworkError);
  CHECK(DecideReadFailure(ReadFailure::kNoDocument, {Channel::kManual, {}}).cause ==
        FallbackCause::kNoDocument);
  CHECK(ToString(FallbackCause::kResultInvalidNewerExists) == "RESULT_INVALID_NEWER_EXISTS");
}

// The shared cause names the reader that failed: the face reader, the generic reader that reads
// smartphones (a smartphone without the card), or else the terminal side.
TEST_CASE("checkin: a failing reader is named by the arrival", "[checkin]") {
  const auto cause = [](Channel channel, DocumentSet presented) {
    const auto o = DecideReadFailure(ReadFailure::kReaderTrouble, {channel, presented});
    CHECK(o.reason == "READER_TROUBLE");
    CHECK(o.target == CheckInState::kNeedsFallback);
    return o.cause;
  };
  CHECK(cause(Channel::kFaceReader, {Document::kMyNumberCard}) ==
        FallbackCause::kFaceReaderWontStart);
  CHECK(cause(Channel::kGenericReader, {Document::kMyNumberSmartphone}) ==
        FallbackCause::kGenericReaderBroken);
  CHECK(cause(Channel::kGenericReader, {Document::kMyNumberCard, Document::kMyNumberSmartphone}) ==
        FallbackCause::kTerminalTrouble);
  CHECK(cause(Channel::kGenericReader, {Document::kMyNumberCard}) ==
        FallbackCause::kTerminalTrouble);
}

TEST_CASE("checkin: state machine transitions produce events", "[checkin]") {
  auto m = CheckInMachine::Start(kT0);
  REQUIRE(m.events().size() == 1);
  CHECK(m.events()[0].reason == "CHECKIN_STARTED");
  CHECK(m.state() == CheckInState::kWaiting);

  // A waiting outcome (tap with a valid certificate) changes nothing.
  auto none = m.Apply(DecideCertificate(CertificateStatus::kValid), kT0);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  CHECK(m.events().size() == 1);

  auto ev = m.Apply(DecideResult(Result("1"), CertificateStatus::kExpiredInGrace),
                    kT0 + std::chrono::seconds(5));
  REQUIRE(ev.ok());
  REQUIRE(ev->has_value());
  const CheckInEvent& e = **ev;
  CHECK(e.from == CheckInState::kWaiting);
  CHECK(e.to == CheckInState::kVerified);
  CHECK(e.reason == "ELIGIBILITY_VALID_INSURANCE_ONLY");
  CHECK(e.scope == InformationScope::kInsuranceOnly);
  CHECK(e.at == kT0 + std::chrono::seconds(5));
  CHECK(m.scope() == InformationScope::kInsuranceOnly);
  CHECK(m.events().size() == 2);

  // Final: no cancel, no second verification.
  auto cancel = m.Cancel(kT0);
  REQUIRE_FALSE(cancel.ok());
  CHECK(cancel.error().reason == "INVALID_CHECKIN_TRANSITION");
  CHECK_FALSE(cancel.error().message_ja.empty());
  CHECK_FALSE(m.Apply(DecideResult(Result("1")), kT0).ok());
  CHECK(m.state() == CheckInState::kVerified);
  CHECK(m.events().size() == 2);
}

TEST_CASE("checkin: transition table", "[checkin]") {
  using S = CheckInState;
  struct Row {
    S from;
    S to;
    bool allowed;
  };
  const std::vector<Row> rows = {
      {S::kWaiting, S::kVerified, true},         {S::kWaiting, S::kNeedsFallback, true},
      {S::kWaiting, S::kCancelled, true},        {S::kWaiting, S::kWaiting, false},
      {S::kNeedsFallback, S::kVerified, true},   {S::kNeedsFallback, S::kCancelled, true},
      {S::kNeedsFallback, S::kNeedsFallback, false}, {S::kNeedsFallback, S::kWaiting, false},
      {S::kVerified, S::kCancelled, false},      {S::kVerified, S::kNeedsFallback, false},
      {S::kCancelled, S::kVerified, false},      {S::kCancelled, S::kNeedsFallback, false},
  };
  for (const auto& row : rows) {
    INFO(ToString(row.from) << " -> " << ToString(row.to));
    CHECK(IsAllowedTransition(row.from, row.to) == row.allowed);
  }
}

TEST_CASE("checkin: fallback, then verified or cancelled", "[checkin]") {
  auto m = CheckInMachine::Start(kT0);
  auto fb = m.Apply(DecideReadFailure(ReadFailure::kUpstreamUnavailable, {}), kT0);
  REQUIRE(fb.ok());
  CHECK((*fb)->cause == FallbackCause::kNetworkError);
  CHECK(m.fallback_cause() == FallbackCause::kNetworkError);
  // A second fallback is refused; the cause stays.
  auto again = m.Apply(DecideReadFailure(ReadFailure::kIcUnreadable, {}), kT0);
  REQUIRE_FALSE(again.ok());
  CHECK(m.fallback_cause() == FallbackCause::kNetworkError);
  // Upstream came back: verified.
  auto ok = m.Apply(DecideResult(Result("1")), kT0 + std::chrono::minutes(3));
  REQUIRE(ok.ok());
  CHECK(m.state() == CheckInState::kVerified);
  CHECK_FALSE(m.fallback_cause().has_value());

  auto c = CheckInMachine::Restore(CheckInState::kNeedsFallback, FallbackCause::kResultNoRecord);
  CHECK(c.events().empty());
  auto cancelled = c.Cancel(kT0, "PATIENT_LEFT");
  REQUIRE(cancelled.ok());
  CHECK(cancelled->reason == "PATIENT_LEFT");
  CHECK(cancelled->from == CheckInState::kNeedsFallback);
  CHECK(c.state() == CheckInState::kCancelled);
  CHECK_FALSE(c.Cancel(kT0).ok());

  // A fallback outcome without a cause is a bug, not a transition.
  auto w = CheckInMachine::Start(kT0);
  Outcome broken;
  broken.target = CheckInState::kNeedsFallback;
  CHECK_FALSE(w.Apply(broken, kT0).ok());
  CHECK(w.state() == CheckInState::kWaiting);
}
