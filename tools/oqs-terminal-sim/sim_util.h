// Small helpers for oqs-terminal-sim: logging, Japan-time formatting, check digits, CP932, atomic writes.
#ifndef ONSHID_TOOLS_OQS_TERMINAL_SIM_SIM_UTIL_H_
#define ONSHID_TOOLS_OQS_TERMINAL_SIM_SIM_UTIL_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace oqs_sim {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Logs go to stderr, one line each: JSON objects or plain "ts level event k=v" lines. Personal data
// (names, insurance numbers) may only be passed at kDebug.
void SetLogOptions(bool json, LogLevel min_level);
void Log(LogLevel level, std::string_view event, const nlohmann::json& fields = nlohmann::json::object());

// Formats a time point in Japan time (UTC+9, no DST) with strftime `fmt`.
std::string FormatJst(std::chrono::system_clock::time_point tp, const char* fmt);
inline std::string JstTimestamp(std::chrono::system_clock::time_point tp) {
  return FormatJst(tp, "%Y%m%d%H%M%S");
}
inline std::string JstDate(std::chrono::system_clock::time_point tp) { return FormatJst(tp, "%Y%m%d"); }
// Parses "yyyyMMddHHmmss" as Japan time.
std::optional<std::chrono::system_clock::time_point> ParseJstTimestamp(std::string_view s);

bool IsDigits(std::string_view s);
bool IsDate8(std::string_view s);  // yyyyMMdd with a plausible month/day
std::string TrimSpaces(std::string_view s);

// 検証番号 (OQS-INTERFACE §7.1): weights 2,1,2,… from the right over `body`, digit sums, (10 − sum%10)%10.
// Returns -1 when `body` is empty or has a non-digit.
int CheckDigit(std::string_view body);
// True when the last digit of `number` is the check digit of the digits before it.
bool HasValidCheckDigit(std::string_view number);

// UTF-8 → CP932. Characters CP932 cannot hold become "●", as the terminal shows them.
std::string Utf8ToCp932(std::string_view utf8);
std::optional<std::string> Cp932ToUtf8(std::string_view cp932);

// Writes `data` to a dot-prefixed temp file in the same directory, fsyncs, then renames it into place.
bool WriteFileAtomic(const std::filesystem::path& path, std::string_view data, std::string* error);
std::optional<std::string> ReadWholeFile(const std::filesystem::path& path);

}  // namespace oqs_sim

#endif  // ONSHID_TOOLS_OQS_TERMINAL_SIM_SIM_UTIL_H_
