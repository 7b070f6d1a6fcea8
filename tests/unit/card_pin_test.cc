#include <catch2/catch.hpp>

#include "core/card/pin.h"

using onshid::core::card::IsValidPinFormat;
using onshid::core::card::Pin;

TEST_CASE("card: PIN format is exactly 4 ASCII digits", "[card]") {
  CHECK(IsValidPinFormat("0000"));
  CHECK(IsValidPinFormat("1234"));
  CHECK_FALSE(IsValidPinFormat(""));
  CHECK_FALSE(IsValidPinFormat("123"));
  CHECK_FALSE(IsValidPinFormat("12345"));
  CHECK_FALSE(IsValidPinFormat("12a4"));
  CHECK_FALSE(IsValidPinFormat("１２３４"));  // full-width digits
  CHECK_FALSE(IsValidPinFormat("12 4"));
  CHECK_FALSE(IsValidPinFormat(std::string("12\0" "4", 4)));

  auto bad = Pin::Parse("12x4", "pin");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().reason == "PIN_FORMAT_INVALID");
  CHECK(bad.error().message.find("12x4") == std::string::npos);  // never echo the PIN
  REQUIRE(bad.error().field_violations.size() == 1);
  CHECK(bad.error().field_violations[0].field == "pin");

  auto good = Pin::Parse("0429");
  REQUIRE(good.ok());
  CHECK(good->Bytes()[0] == '0');
  CHECK(good->Bytes()[3] == '9');
  Pin moved = std::move(good.value());
  CHECK(moved.Bytes()[1] == '4');
  CHECK(good->Bytes()[1] == 0);  // the moved-from buffer is wiped
}
