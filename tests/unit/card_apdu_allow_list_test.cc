#include <catch2/catch.hpp>

#include <vector>

#include "core/card/apdu_allow_list.h"

namespace {

using onshid::core::card::AllowDecision;
using onshid::core::card::ApduSessionState;
using onshid::core::card::Application;
using onshid::core::card::ApplyResponse;
using Bytes = std::vector<std::uint8_t>;

const Bytes kSelectJpki = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00,
                           0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
const Bytes kSelectKenhojo = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00,
                              0x31, 0x00, 0x01, 0x01, 0x04, 0x08};
const Bytes kSelectKenmen = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00,
                             0x31, 0x00, 0x01, 0x01, 0x04, 0x02};

Bytes SelectEf(int ef) {
  return {0x00, 0xA4, 0x02, 0x0C, 0x02, static_cast<std::uint8_t>(ef >> 8),
          static_cast<std::uint8_t>(ef)};
}

// Lets the tests write commands as braced lists.
AllowDecision CheckCommand(const ApduSessionState& s, const Bytes& c) {
  return onshid::core::card::CheckCommand(s, c);
}

// Checks and, if allowed, applies a 9000 response.
AllowDecision Send(ApduSessionState& s, const Bytes& c) {
  AllowDecision d = CheckCommand(s, c);
  if (d.allowed) ApplyResponse(s, c, 0x9000);
  return d;
}

}  // namespace

TEST_CASE("card: allow-list permits the JPKI flows", "[card]") {
  ApduSessionState s;
  REQUIRE(Send(s, kSelectJpki).allowed);
  CHECK(s.application == Application::kJpki);
  REQUIRE(Send(s, SelectEf(0x0006)).allowed);
  CHECK(Send(s, {0x00, 0xB0, 0x00, 0x00, 0x20}).allowed);
  REQUIRE(Send(s, SelectEf(0x000A)).allowed);
  CHECK(Send(s, {0x00, 0xB0, 0x01, 0x00, 0x00}).allowed);
  REQUIRE(Send(s, SelectEf(0x0018)).allowed);
  CHECK(Send(s, {0x00, 0x20, 0x00, 0x80}).allowed);
  CHECK(Send(s, {0x00, 0x20, 0x00, 0x80, 0x04, '1', '2', '3', '4'}).allowed);
  REQUIRE(Send(s, SelectEf(0x0017)).allowed);
  Bytes sign = {0x80, 0x2A, 0x00, 0x80, 0x03, 1, 2, 3, 0x00};
  CHECK(Send(s, sign).allowed);
}

TEST_CASE("card: allow-list refuses My Number locations and foreign commands", "[card]") {
  ApduSessionState s;
  CHECK(CheckCommand(s, kSelectKenmen).reason == "SELECT_AID_NOT_ALLOWED");
  CHECK(CheckCommand(s, kSelectKenhojo).reason == "SELECT_AP_NOT_ALLOWED_IN_SESSION");
  CHECK(CheckCommand(s, SelectEf(0x000A)).reason == "SELECT_EF_NOT_ALLOWED");  // no AP selected
  CHECK(CheckCommand(s, {0x00, 0xCA, 0xDF, 0x30, 0x00}).reason == "INS_NOT_ALLOWED");
  CHECK(CheckCommand(s, {0x00, 0x24, 0x01, 0x80}).reason == "INS_NOT_ALLOWED");  // change PIN
  CHECK(CheckCommand(s, {0x00, 0xA4}).reason == "APDU_TOO_SHORT");

  REQUIRE(Send(s, kSelectJpki).allowed);
  CHECK(CheckCommand(s, SelectEf(0x0001)).reason == "SELECT_EF_NOT_ALLOWED");  // signing cert
  CHECK(CheckCommand(s, SelectEf(0x001B)).reason == "SELECT_EF_NOT_ALLOWED");  // signing password
  CHECK(CheckCommand(s, {0x00, 0xB0, 0x00, 0x00, 0x04}).reason == "READ_BINARY_EF_NOT_ALLOWED");
  REQUIRE(Send(s, SelectEf(0x000A)).allowed);
  CHECK(CheckCommand(s, {0x00, 0xB0, 0x81, 0x00, 0x04}).reason == "READ_BINARY_SFI_NOT_ALLOWED");
  CHECK(CheckCommand(s, {0x00, 0x20, 0x00, 0x80}).reason == "VERIFY_EF_NOT_ALLOWED");
  CHECK(CheckCommand(s, {0x80, 0x2A, 0x00, 0x80, 0x01, 0x00, 0x00}).reason ==
        "SIGN_KEY_NOT_SELECTED");
  CHECK(CheckCommand(s, {0x00, 0x2A, 0x00, 0x80, 0x01, 0x00, 0x00}).reason == "CLA_NOT_ALLOWED");
  CHECK(CheckCommand(s, {0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00}).reason ==
        "SELECT_MODE_NOT_ALLOWED");
  CHECK(CheckCommand(s, {0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00}).reason ==
        "EXTENDED_LENGTH_NOT_ALLOWED");
  REQUIRE(Send(s, SelectEf(0x0018)).allowed);
  CHECK(CheckCommand(s, {0x00, 0x20, 0x00, 0x80, 0x04, '1', '2', 'x', '4'}).reason ==
        "VERIFY_PIN_FORMAT");
  CHECK(CheckCommand(s, {0x00, 0x20, 0x00, 0x80, 0x05, '1', '2', '3', '4', '5'}).reason ==
        "VERIFY_MALFORMED");
  CHECK(CheckCommand(s, {0x00, 0x20, 0x00, 0x81}).reason == "VERIFY_PARAMETERS_NOT_ALLOWED");
}

TEST_CASE("card: allow-list in a basic-information session", "[card]") {
  ApduSessionState s;
  s.allow_kenhojo = true;
  CHECK(CheckCommand(s, kSelectKenmen).reason == "SELECT_AID_NOT_ALLOWED");
  REQUIRE(Send(s, kSelectKenhojo).allowed);
  CHECK(s.application == Application::kKenhojo);
  CHECK(CheckCommand(s, SelectEf(0x0001)).reason == "SELECT_EF_NOT_ALLOWED");  // My Number
  CHECK(CheckCommand(s, SelectEf(0x0014)).reason == "SELECT_EF_NOT_ALLOWED");  // 照合番号A
  CHECK(CheckCommand(s, SelectEf(0x0005)).reason == "SELECT_EF_NOT_ALLOWED");
  CHECK(CheckCommand(s, SelectEf(0x000A)).reason == "SELECT_EF_NOT_ALLOWED");  // JPKI EF here
  REQUIRE(Send(s, SelectEf(0x0011)).allowed);
  CHECK(Send(s, {0x00, 0x20, 0x00, 0x80, 0x04, '5', '6', '7', '8'}).allowed);
  REQUIRE(Send(s, SelectEf(0x0002)).allowed);
  CHECK(Send(s, {0x00, 0xB0, 0x00, 0x00, 0x05}).allowed);
  CHECK(CheckCommand(s, SelectEf(0x0017)).reason == "SELECT_EF_NOT_ALLOWED");
}

TEST_CASE("card: failed selects leave nothing selected", "[card]") {
  ApduSessionState s;
  REQUIRE(Send(s, kSelectJpki).allowed);
  REQUIRE(Send(s, SelectEf(0x000A)).allowed);
  ApplyResponse(s, SelectEf(0x0006), 0x6A82);
  CHECK(s.elementary_file == -1);
  CHECK(CheckCommand(s, {0x00, 0xB0, 0x00, 0x00, 0x04}).reason == "READ_BINARY_EF_NOT_ALLOWED");
  ApplyResponse(s, kSelectJpki, 0x6A82);
  CHECK(s.application == Application::kNone);
}
