#include "core/checkin/correlation.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/oqs/identifiers.h"

namespace onshid::core::checkin {
namespace {

using Reasons = std::vector<CorrelationReason>;

enum class KeyMatch { kUnknown, kAgree, kDisagree };

std::optional<std::string> NonEmpty(const oqs::Text& text) {
  if (!text || text->empty()) return std::nullopt;
  return *text;
}

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::string ReferenceKey(std::string_view raw) { return Trim(oqs::NormalizeWidth(raw)); }

// Decodes one UTF-8 code point at `i`; returns nullopt (and advances by one byte) when invalid.
std::optional<char32_t> Decode(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    ++i;
    return std::nullopt;
  }
  if (i + len > s.size()) {
    ++i;
    return std::nullopt;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  return cp;
}

void Encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

char32_t FoldKana(char32_t cp) {
  if (cp >= 0x3041 && cp <= 0x3096) cp += 0x60;  // hiragana → katakana
  switch (cp) {
    case 0x30A1: case 0x30A3: case 0x30A5: case 0x30A7: case 0x30A9:  // ァィゥェォ
    case 0x30C3: case 0x30E3: case 0x30E5: case 0x30E7: case 0x30EE:  // ッャュョヮ
      return cp + 1;
    case 0x30F5: return 0x30AB;  // ヵ → カ
    case 0x30F6: return 0x30B1;  // ヶ → ケ
    default: return cp;
  }
}

KeyMatch CompareText(const std::optional<std::string>& a, const std::optional<std::string>& b,
                     std::string (*key)(std::string_view)) {
  if (!a || !b) return KeyMatch::kUnknown;
  const std::string ka = key(*a);
  const std::string kb = key(*b);
  if (ka.empty() || kb.empty()) return KeyMatch::kUnknown;
  return ka == kb ? KeyMatch::kAgree : KeyMatch::kDisagree;
}

std::string Exact(std::string_view s) { return std::string(s); }

KeyMatch CompareNameBirth(const PatientKeys& a, const PatientKeys& b) {
  if (!a.birth_date || !b.birth_date) return KeyMatch::kUnknown;
  const KeyMatch name = CompareText(a.name_kana, b.name_kana, &KanaComparisonKey);
  if (name == KeyMatch::kUnknown) return KeyMatch::kUnknown;
  return name == KeyMatch::kAgree && *a.birth_date == *b.birth_date ? KeyMatch::kAgree
                                                                    : KeyMatch::kDisagree;
}

// Everything Correlate needs to know about one check-in.
struct Assessment {
  const OpenCheckIn* check_in = nullptr;
  bool same_desk = false;
  bool in_window = false;
  bool key_disagrees = false;
  bool strong_match = false;  // 照会番号 or card key agrees
  Reasons reasons;            // per check-in reasons (no personal data)

  bool Fits() const { return same_desk && in_window && !key_disagrees; }
  bool Waiting() const {
    return check_in->state == CheckInState::kWaiting && !check_in->timed_out;
  }
  bool Late() const {
    return check_in->state == CheckInState::kCancelled ||
           check_in->state == CheckInState::kNeedsFallback ||
           (check_in->timed_out && check_in->state != CheckInState::kVerified);
  }
};

void AddKeyReason(KeyMatch m, std::string_view what, std::string_view code, Assessment& a) {
  if (m == KeyMatch::kAgree) {
    a.reasons.push_back({std::string(code) + "_MATCH", std::string(what) + " matches"});
  } else if (m == KeyMatch::kDisagree) {
    a.key_disagrees = true;
    a.reasons.push_back({std::string(code) + "_DISAGREES", std::string(what) + " disagrees"});
  }
}

Assessment Assess(const ArrivingResult& result, const OpenCheckIn& c,
                  const std::vector<std::string>& desks, const CorrelationWindow& window) {
  Assessment a;
  a.check_in = &c;
  a.same_desk = std::find(desks.begin(), desks.end(), c.desk_id) != desks.end();
  if (!a.same_desk) {
    a.reasons.push_back({"OTHER_DESK", "the check-in is at another desk than the device"});
  }
  if (result.arrived_at < c.started_at - window.before_start) {
    a.reasons.push_back({"BEFORE_WINDOW", "the result arrived before the check-in's window"});
  } else if (result.arrived_at > c.started_at + window.after_start) {
    a.reasons.push_back({"AFTER_WINDOW", "the result arrived after the check-in's window"});
  } else {
    a.in_window = true;
  }
  switch (c.state) {
    case CheckInState::kVerified:
      a.reasons.push_back({"CHECKIN_VERIFIED", "the check-in is already verified"});
      break;
    case CheckInState::kCancelled:
      a.reasons.push_back({"CHECKIN_CANCELLED", "the check-in was cancelled"});
      break;
    case CheckInState::kNeedsFallback:
      a.reasons.push_back({"CHECKIN_NEEDS_FALLBACK", "the check-in already needs a fallback"});
      break;
    case CheckInState::kWaiting:
      break;
  }
  if (c.timed_out) {
    a.reasons.push_back({"CHECKIN_TIMED_OUT", "the check-in's wait for a result timed out"});
  }
  const KeyMatch ref =
      CompareText(result.keys.reference_number, c.expected.reference_number, &ReferenceKey);
  const KeyMatch card = CompareText(result.keys.card_key, c.expected.card_key, &Exact);
  AddKeyReason(ref, "the reference number", "REFERENCE_NUMBER", a);
  AddKeyReason(card, "the card key", "CARD_KEY", a);
  AddKeyReason(CompareNameBirth(result.keys, c.expected), "the kana name and birth date",
               "KANA_NAME_BIRTH_DATE", a);
  a.strong_match = ref == KeyMatch::kAgree || card == KeyMatch::kAgree;
  if (a.Fits()) a.reasons.push_back({"FITS", "same desk, inside the window, no key disagrees"});
  return a;
}

CorrelationCandidate ToCandidate(const Assessment& a) {
  return CorrelationCandidate{a.check_in->check_in_id, a.Fits(), a.reasons};
}

// Check-ins worth showing besides the chosen one: fitting alternatives, strong key matches
// anywhere, and check-ins of the desk inside the window ruled out by a key.
std::vector<CorrelationCandidate> Candidates(const std::vector<Assessment>& all,
                                             const std::vector<const Assessment*>& fitting,
                                             const OpenCheckIn* chosen) {
  std::vector<CorrelationCandidate> out;
  for (const Assessment& a : all) {
    if (a.check_in == chosen) continue;
    const bool listed_fit =
        std::find(fitting.begin(), fitting.end(), &a) != fitting.end();
    const bool ruled_out = a.same_desk && a.in_window && a.key_disagrees;
    if (listed_fit || a.strong_match || ruled_out) out.push_back(ToCandidate(a));
  }
  return out;
}

Correlation Choose(CorrelationOutcome outcome, const Assessment& a, CorrelationReason why,
                   const std::vector<Assessment>& all,
                   const std::vector<const Assessment*>& fitting) {
  Correlation c;
  c.outcome = outcome;
  c.check_in_id = a.check_in->check_in_id;
  c.reasons.push_back(std::move(why));
  c.reasons.insert(c.reasons.end(), a.reasons.begin(), a.reasons.end());
  c.candidates = Candidates(all, fitting, a.check_in);
  return c;
}

Correlation Ambiguous(CorrelationReason why, const std::vector<Assessment>& all,
                      const std::vector<const Assessment*>& fitting) {
  Correlation c;
  c.outcome = CorrelationOutcome::kAmbiguous;
  c.reasons.push_back(std::move(why));
  c.candidates = Candidates(all, fitting, nullptr);
  return c;
}

CorrelationReason LateReason(const OpenCheckIn& c) {
  if (c.state == CheckInState::kCancelled) {
    return {"LATE_RESULT_CANCELLED", "late result for a cancelled check-in: linked, not verified"};
  }
  if (c.timed_out) {
    return {"LATE_RESULT_TIMED_OUT", "late result for a timed-out check-in: linked, not verified"};
  }
  return {"LATE_RESULT_NEEDS_FALLBACK",
          "late result for a check-in in fallback: linked, not verified"};
}

}  // namespace

std::string_view ToString(CorrelationOutcome outcome) {
  switch (outcome) {
    case CorrelationOutcome::kBound: return "BOUND";
    case CorrelationOutcome::kLinked: return "LINKED";
    case CorrelationOutcome::kUnmatched: return "UNMATCHED";
    case CorrelationOutcome::kAmbiguous: return "AMBIGUOUS";
  }
  return "UNKNOWN";
}

std::string KanaComparisonKey(std::string_view name_kana) {
  const std::string wide = oqs::NormalizeWidth(name_kana);
  std::string out;
  out.reserve(wide.size());
  std::size_t i = 0;
  while (i < wide.size()) {
    const std::size_t start = i;
    const std::optional<char32_t> cp = Decode(wide, i);
    if (!cp) {
      out.append(wide, start, i - start);  // invalid bytes pass through
      continue;
    }
    if (*cp == U' ' || *cp == U'\t') continue;
    Encode(FoldKana(*cp), out);
  }
  return out;
}

PatientKeys KeysOf(const oqs::EligibilityResult& result) {
  PatientKeys keys;
  if (result.results.empty()) return keys;
  const oqs::Qualification& q = result.results.front();
  keys.reference_number = NonEmpty(q.reference_number);
  keys.name_kana = NonEmpty(q.name_kana);
  if (q.birthdate && q.birthdate->value) keys.birth_date = q.birthdate->value->ymd();
  return keys;
}

Correlation Correlate(const ArrivingResult& result, const std::vector<OpenCheckIn>& check_ins,
                      const DeskMap& desks, const CorrelationWindow& window) {
  std::vector<std::string> device_desks;
  for (auto [it, end] = desks.equal_range(result.device_id); it != end; ++it) {
    device_desks.push_back(it->second);
  }

  std::vector<Assessment> all;
  all.reserve(check_ins.size());
  for (const OpenCheckIn& c : check_ins) all.push_back(Assess(result, c, device_desks, window));

  if (device_desks.empty()) {
    Correlation c;
    c.outcome = CorrelationOutcome::kUnmatched;
    c.reasons.push_back({"DEVICE_NOT_MAPPED", "the device is not mapped to a desk"});
    c.candidates = Candidates(all, {}, nullptr);
    return c;
  }

  std::vector<const Assessment*> waiting;
  std::vector<const Assessment*> late;
  for (const Assessment& a : all) {
    if (!a.Fits()) continue;
    if (a.Waiting()) {
      waiting.push_back(&a);
    } else if (a.Late()) {
      late.push_back(&a);
    }
  }

  if (!waiting.empty()) {
    const Assessment* chosen = nullptr;
    CorrelationReason why;
    if (waiting.size() == 1) {
      chosen = waiting.front();
      why = {"SINGLE_WAITING_CHECKIN", "exactly one waiting check-in of the desk fits"};
    } else {
      const auto strong = std::count_if(waiting.begin(), waiting.end(),
                                        [](const Assessment* a) { return a->strong_match; });
      if (strong != 1) {
        return Ambiguous({"SEVERAL_CHECKINS_FIT", "several waiting check-ins of the desk fit"},
                         all, waiting);
      }
      chosen = *std::find_if(waiting.begin(), waiting.end(),
                             [](const Assessment* a) { return a->strong_match; });
      why = {"KEY_MATCH_DISAMBIGUATED",
             "several waiting check-ins fit; only one matches the reference number or card key"};
    }
    if (!chosen->strong_match) {
      const bool elsewhere = std::any_of(all.begin(), all.end(), [&](const Assessment& a) {
        return &a != chosen && a.strong_match && a.Waiting() && a.in_window;
      });
      if (elsewhere) {
        std::vector<const Assessment*> fitting = waiting;
        return Ambiguous({"KEY_MATCHES_OTHER_WAITING_CHECKIN",
                          "the desk's waiting check-in fits, but the reference number or card key "
                          "matches a waiting check-in elsewhere"},
                         all, fitting);
      }
    }
    return Choose(CorrelationOutcome::kBound, *chosen, std::move(why), all, waiting);
  }

  if (late.size() == 1) {
    return Choose(CorrelationOutcome::kLinked, *late.front(), LateReason(*late.front()->check_in),
                  all, late);
  }
  if (late.size() > 1) {
    return Ambiguous({"SEVERAL_LATE_CHECKINS_FIT", "several ended check-ins of the desk fit"}, all,
                     late);
  }

  Correlation c;
  c.outcome = CorrelationOutcome::kUnmatched;
  c.reasons.push_back({"NO_CHECKIN_FITS", "no check-in of the desk fits the result"});
  c.candidates = Candidates(all, {}, nullptr);
  return c;
}

}  // namespace onshid::core::checkin
