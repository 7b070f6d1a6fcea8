#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/checkin/correlation.h"

namespace {

using namespace onshid::core::checkin;
using namespace std::chrono_literals;
using onshid::core::SystemTime;
namespace oqs = onshid::core::oqs;

const SystemTime kT0 = SystemTime{} + std::chrono::hours{24 * 20000};
const DeskMap kDesks = {{"face-1", "desk-A"}, {"face-2", "desk-B"}, {"card-1", "desk-A"}};
const CorrelationWindow kWindow{10min, 0s};
constexpr std::chrono::year_month_day kBirth{std::chrono::year{1980}, std::chrono::month{4},
                                             std::chrono::day{1}};

OpenCheckIn Waiting(std::string id, std::string desk, SystemTime started, PatientKeys keys = {}) {
  OpenCheckIn c;
  c.check_in_id = std::move(id);
  c.desk_id = std::move(desk);
  c.started_at = started;
  c.expected = std::move(keys);
  return c;
}

OpenCheckIn WithState(OpenCheckIn c, CheckInState state, bool timed_out = false) {
  c.state = state;
  c.timed_out = timed_out;
  return c;
}

PatientKeys Ref(std::string r) {
  PatientKeys k;
  k.reference_number = std::move(r);
  return k;
}
PatientKeys Card(std::string r) {
  PatientKeys k;
  k.card_key = std::move(r);
  return k;
}
PatientKeys Kana(std::string name, std::chrono::year_month_day birth) {
  PatientKeys k;
  k.name_kana = std::move(name);
  k.birth_date = birth;
  return k;
}

std::vector<std::string> Ids(const std::vector<CorrelationCandidate>& cs) {
  std::vector<std::string> ids;
  for (const auto& c : cs) ids.push_back(c.check_in_id);
  return ids;
}

bool HasReason(const std::vector<CorrelationReason>& rs, const std::string& code) {
  return std::any_of(rs.begin(), rs.end(), [&](const auto& r) { return r.code == code; });
}

}  // namespace

TEST_CASE("checkin: correlation decisions", "[checkin]") {
  struct Row {
    std::string name;
    std::string device;
    SystemTime at;
    PatientKeys keys;
    std::vector<OpenCheckIn> check_ins;
    CorrelationOutcome outcome;
    std::optional<std::string> check_in_id;
    std::string reason;                   // must be among the decision's reasons
    std::vector<std::string> candidates;  // ids, in order
  };
  const std::vector<Row> rows = {
      {"one waiting", "face-1", kT0 + 1min, {}, {Waiting("c1", "desk-A", kT0)},
       CorrelationOutcome::kBound, "c1", "SINGLE_WAITING_CHECKIN", {}},
      {"one waiting, other desk ignored", "face-1", kT0 + 1min, {},
       {Waiting("c1", "desk-A", kT0), Waiting("c2", "desk-B", kT0)},
       CorrelationOutcome::kBound, "c1", "SINGLE_WAITING_CHECKIN", {}},
      {"none at all", "face-1", kT0, {}, {}, CorrelationOutcome::kUnmatched, std::nullopt,
       "NO_CHECKIN_FITS", {}},
      {"none at the desk", "face-1", kT0 + 1min, {}, {Waiting("c2", "desk-B", kT0)},
       CorrelationOutcome::kUnmatched, std::nullopt, "NO_CHECKIN_FITS", {}},
      {"unmapped device", "face-9", kT0 + 1min, {}, {Waiting("c1", "desk-A", kT0)},
       CorrelationOutcome::kUnmatched, std::nullopt, "DEVICE_NOT_MAPPED", {}},
      {"verified check-in is not bindable", "face-1", kT0 + 1min, {},
       {WithState(Waiting("c1", "desk-A", kT0), CheckInState::kVerified)},
       CorrelationOutcome::kUnmatched, std::nullopt, "NO_CHECKIN_FITS", {}},
      {"two at the same desk", "face-1", kT0 + 2min, {},
       {Waiting("c1", "desk-A", kT0), Waiting("c2", "desk-A", kT0 + 1min)},
       CorrelationOutcome::kAmbiguous, std::nullopt, "SEVERAL_CHECKINS_FIT", {"c1", "c2"}},
      {"two at the desk, 照会番号 picks one", "face-1", kT0 + 2min, Ref("P0001"),
       {Waiting("c1", "desk-A", kT0), Waiting("c2", "desk-A", kT0 + 1min, Ref("P0001"))},
       CorrelationOutcome::kBound, "c2", "KEY_MATCH_DISAMBIGUATED", {"c1"}},
      {"two at the desk, both match the 照会番号", "face-1", kT0 + 2min, Ref("P0001"),
       {Waiting("c1", "desk-A", kT0, Ref("P0001")),
        Waiting("c2", "desk-A", kT0 + 1min, Ref("P0001"))},
       CorrelationOutcome::kAmbiguous, std::nullopt, "SEVERAL_CHECKINS_FIT", {"c1", "c2"}},
      {"照会番号 match, full width on the check-in", "face-1", kT0 + 1min, Ref("P0001"),
       {Waiting("c1", "desk-A", kT0, Ref("Ｐ０００１ "))}, CorrelationOutcome::kBound, "c1",
       "REFERENCE_NUMBER_MATCH", {}},
      {"照会番号 disagrees", "face-1", kT0 + 1min, Ref("P0001"),
       {Waiting("c1", "desk-A", kT0, Ref("P0002"))}, CorrelationOutcome::kUnmatched,
       std::nullopt, "NO_CHECKIN_FITS", {"c1"}},
      {"照会番号 disagrees, the other fits", "face-1", kT0 + 2min, Ref("P0001"),
       {Waiting("c1", "desk-A", kT0, Ref("P0002")), Waiting("c2", "desk-A", kT0 + 1min)},
       CorrelationOutcome::kBound, "c2", "SINGLE_WAITING_CHECKIN", {"c1"}},
      {"照会番号 matches another desk only", "face-1", kT0 + 1min, Ref("P0001"),
       {Waiting("c2", "desk-B", kT0, Ref("P0001"))}, CorrelationOutcome::kUnmatched,
       std::nullopt, "NO_CHECKIN_FITS", {"c2"}},
      {"照会番号 matches a waiting check-in of another desk", "face-1", kT0 + 1min, Ref("P0001"),
       {Waiting("c1", "desk-A", kT0), Waiting("c2", "desk-B", kT0, Ref("P0001"))},
       CorrelationOutcome::kAmbiguous, std::nullopt, "KEY_MATCHES_OTHER_WAITING_CHECKIN",
       {"c1", "c2"}},
      {"照会番号 matches outside the window only", "face-1", kT0 + 30min, Ref("P0001"),
       {Waiting("c1", "desk-A", kT0, Ref("P0001"))}, CorrelationOutcome::kUnmatched,
       std::nullopt, "NO_CHECKIN_FITS", {"c1"}},
      {"card key match", "card-1", kT0 + 1min, Card("card-xyz"),
       {Waiting("c1", "desk-A", kT0, Card("card-xyz"))}, CorrelationOutcome::kBound, "c1",
       "CARD_KEY_MATCH", {}},
      {"card key picks one of two", "card-1", kT0 + 2min, Card("card-xyz"),
       {Waiting("c1", "desk-A", kT0, Card("card-abc")),
        Waiting("c2", "desk-A", kT0 + 1min, Card("card-xyz"))},
       CorrelationOutcome::kBound, "c2", "CARD_KEY_MATCH", {"c1"}},
      {"card key disagrees", "card-1", kT0 + 1min, Card("card-xyz"),
       {Waiting("c1", "desk-A", kT0, Card("card-abc"))}, CorrelationOutcome::kUnmatched,
       std::nullopt, "NO_CHECKIN_FITS", {"c1"}},
      {"kana + birth date match across widths and spaces", "face-1", kT0 + 1min,
       Kana("ﾔﾏﾀﾞ ﾀﾛｳ", kBirth), {Waiting("c1", "desk-A", kT0, Kana("ヤマダ　タロウ", kBirth))},
       CorrelationOutcome::kBound, "c1", "KANA_NAME_BIRTH_DATE_MATCH", {}},
      {"kana matches, birth date disagrees", "face-1", kT0 + 1min, Kana("ﾔﾏﾀﾞ ﾀﾛｳ", kBirth),
       {Waiting("c1", "desk-A", kT0,
                Kana("ヤマダ タロウ", std::chrono::year{1980} / 4 / 2))},
       CorrelationOutcome::kUnmatched, std::nullopt, "NO_CHECKIN_FITS", {"c1"}},
      {"kana disagrees", "face-1", kT0 + 1min, Kana("ﾔﾏﾀﾞ ﾀﾛｳ", kBirth),
       {Waiting("c1", "desk-A", kT0, Kana("ヤマダ ハナコ", kBirth))},
       CorrelationOutcome::kUnmatched, std::nullopt, "NO_CHECKIN_FITS", {"c1"}},
      {"one key agrees, another disagrees", "face-1", kT0 + 1min,
       PatientKeys{"P0001", std::nullopt, "ﾔﾏﾀﾞ ﾀﾛｳ", kBirth},
       {Waiting("c1", "desk-A", kT0, PatientKeys{"P0001", std::nullopt, "ヤマダ ハナコ", kBirth})},
       CorrelationOutcome::kUnmatched, std::nullopt, "NO_CHECKIN_FITS", {"c1"}},
      {"late: cancelled", "face-1", kT0 + 5min, {},
       {WithState(Waiting("c1", "desk-A", kT0), CheckInState::kCancelled)},
       CorrelationOutcome::kLinked, "c1", "LATE_RESULT_CANCELLED", {}},
      {"late: timed out, still waiting", "face-1", kT0 + 5min, {},
       {WithState(Waiting("c1", "desk-A", kT0), CheckInState::kWaiting, true)},
       CorrelationOutcome::kLinked, "c1", "LATE_RESULT_TIMED_OUT", {}},
      {"late: timed out into fallback", "face-1", kT0 + 5min, {},
       {WithState(Waiting("c1", "desk-A", kT0), CheckInState::kNeedsFallback, true)},
       CorrelationOutcome::kLinked, "c1", "LATE_RESULT_TIMED_OUT", {}},
      {"late but a waiting one fits: bound to the waiting", "face-1", kT0 + 5min, {},
       {WithState(Waiting("c1", "desk-A", kT0), CheckInState::kCancelled),
        Waiting("c2", "desk-A", kT0 + 1min)},
       CorrelationOutcome::kBound, "c2", "SINGLE_WAITING_CHECKIN", {}},
      {"two late", "face-1", kT0 + 5min, {},
       {WithState(Waiting("c1", "desk-A", kT0), CheckInState::kCancelled),
        WithState(Waiting("c2", "desk-A", kT0), CheckInState::kWaiting, true)},
       CorrelationOutcome::kAmbiguous, std::nullopt, "SEVERAL_LATE_CHECKINS_FIT", {"c1", "c2"}},
      {"late with a disagreeing key", "face-1", kT0 + 5min, Ref("P0001"),
       {WithState(Waiting("c1", "desk-A", kT0, Ref("P0002")), CheckInState::kCancelled)},
       CorrelationOutcome::kUnmatched, std::nullopt, "NO_CHECKIN_FITS", {"c1"}},
      {"window edge: at the start", "face-1", kT0, {}, {Waiting("c1", "desk-A", kT0)},
       CorrelationOutcome::kBound, "c1", "SINGLE_WAITING_CHECKIN", {}},
      {"window edge: exactly at the end", "face-1", kT0 + 10min, {},
       {Waiting("c1", "desk-A", kT0)}, CorrelationOutcome::kBound, "c1",
       "SINGLE_WAITING_CHECKIN", {}},
      {"window edge: one second after the end", "face-1", kT0 + 10min + 1s, {},
       {Waiting("c1", "desk-A", kT0)}, CorrelationOutcome::kUnmatched, std::nullopt,
       "NO_CHECKIN_FITS", {}},
      {"window edge: one second before the start", "face-1", kT0 - 1s, {},
       {Waiting("c1", "desk-A", kT0)}, CorrelationOutcome::kUnmatched, std::nullopt,
       "NO_CHECKIN_FITS", {}},
  };

  for (const Row& row : rows) {
    SECTION(row.name) {
      const ArrivingResult result{row.device, row.at, row.keys};
      const Correlation c = Correlate(result, row.check_ins, kDesks, kWindow);
      CHECK(ToString(c.outcome) == ToString(row.outcome));
      CHECK(c.check_in_id == row.check_in_id);
      CHECK(HasReason(c.reasons, row.reason));
      CHECK(Ids(c.candidates) == row.candidates);
    }
  }
}

TEST_CASE("checkin: correlation candidate reasons", "[checkin]") {
  const ArrivingResult result{"face-1", kT0 + 1min, Ref("P0001")};
  SECTION("another desk's match names the desk and the key") {
    const Correlation c =
        Correlate(result, {Waiting("c2", "desk-B", kT0 - 1h, Ref("P0001"))}, kDesks, kWindow);
    REQUIRE(c.candidates.size() == 1);
    CHECK_FALSE(c.candidates[0].fits);
    CHECK(HasReason(c.candidates[0].reasons, "OTHER_DESK"));
    CHECK(HasReason(c.candidates[0].reasons, "AFTER_WINDOW"));
    CHECK(HasReason(c.candidates[0].reasons, "REFERENCE_NUMBER_MATCH"));
  }
  SECTION("ambiguous candidates fit") {
    const Correlation c = Correlate(
        result, {Waiting("c1", "desk-A", kT0), Waiting("c2", "desk-A", kT0)}, kDesks, kWindow);
    REQUIRE(c.candidates.size() == 2);
    CHECK(c.candidates[0].fits);
    CHECK(c.candidates[1].fits);
  }
  SECTION("early tolerance widens the window before the start") {
    const Correlation c = Correlate(ArrivingResult{"face-1", kT0 - 30s, {}},
                                    {Waiting("c1", "desk-A", kT0)}, kDesks,
                                    CorrelationWindow{10min, 30s});
    CHECK(c.outcome == CorrelationOutcome::kBound);
  }
  SECTION("reasons carry no personal data") {
    const ArrivingResult r{"face-1", kT0 + 1min,
                           PatientKeys{"P0001", "card-xyz", "ﾔﾏﾀﾞ ﾀﾛｳ", kBirth}};
    const Correlation c = Correlate(
        r, {Waiting("c1", "desk-A", kT0, PatientKeys{"P0002", "card-abc", "ヤマダ", kBirth})},
        kDesks, kWindow);
    for (const auto& cand : c.candidates) {
      for (const auto& reason : cand.reasons) {
        for (const char* secret : {"P000", "card-", "ﾔﾏﾀﾞ", "ヤマダ", "1980"}) {
          CHECK(reason.message.find(secret) == std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("checkin: kana comparison key and result keys", "[checkin]") {
  CHECK(KanaComparisonKey("ﾔﾏﾀﾞ ﾀﾛｳ") == KanaComparisonKey("ヤマダ　タロウ"));
  CHECK(KanaComparisonKey("やまだ たろう") == KanaComparisonKey("ヤマダタロウ"));
  CHECK(KanaComparisonKey("ｼﾞｮｳ") == KanaComparisonKey("ジヨウ"));
  CHECK(KanaComparisonKey("ヤマダ") != KanaComparisonKey("ヤマタ"));

  oqs::EligibilityResult r;
  CHECK_FALSE(KeysOf(r).reference_number.has_value());
  oqs::Qualification q;
  q.reference_number = "P0001";
  q.name_kana = "ﾔﾏﾀﾞ ﾀﾛｳ";
  q.birthdate = oqs::DateValue{"19800401", oqs::OqsDate::Parse("19800401").value()};
  r.results.push_back(q);
  const PatientKeys k = KeysOf(r);
  CHECK(k.reference_number == std::optional<std::string>("P0001"));
  CHECK(k.name_kana == std::optional<std::string>("ﾔﾏﾀﾞ ﾀﾛｳ"));
  CHECK(k.birth_date == std::optional<std::chrono::year_month_day>(kBirth));
  CHECK_FALSE(k.card_key.has_value());
}

TEST_CASE("checkin: one terminal serving several desks: keys tell their check-ins apart",
          "[checkin]") {
  const DeskMap shared = {{"face", "desk-A"}, {"face", "desk-B"}};
  const std::vector<OpenCheckIn> waiting = {
      Waiting("a", "desk-A", kT0, Kana("ﾀﾅｶ ﾀﾛｳ", kBirth)),
      Waiting("b", "desk-B", kT0, Kana("ｽｽﾞｷ ﾊﾅｺ", kBirth)),
  };
  ArrivingResult r;
  r.device_id = "face";
  r.arrived_at = kT0 + 1min;
  r.keys = Kana("スズキ　ハナコ", kBirth);  // full-width with an ideographic space
  const Correlation c = Correlate(r, waiting, shared, kWindow);
  CHECK(c.outcome == CorrelationOutcome::kBound);
  CHECK(c.check_in_id == std::optional<std::string>("b"));

  // Without keys both desks' check-ins fit: staff decide.
  r.keys = {};
  const Correlation unsure = Correlate(r, waiting, shared, kWindow);
  CHECK(unsure.outcome == CorrelationOutcome::kAmbiguous);
  CHECK(Ids(unsure.candidates) == std::vector<std::string>{"a", "b"});
}
