#include "sim_util.h"

#include <fcntl.h>
#include <iconv.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

namespace oqs_sim {
namespace {

bool g_log_json = false;
LogLevel g_min_level = LogLevel::kInfo;
constexpr auto kJstOffset = std::chrono::hours(9);

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// Length of the UTF-8 sequence starting with `lead` (1 for stray bytes, so we always advance).
size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

}  // namespace

void SetLogOptions(bool json, LogLevel min_level) {
  g_log_json = json;
  g_min_level = min_level;
}

void Log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (level < g_min_level) return;
  const auto now = std::chrono::system_clock::now();
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03lld", static_cast<long long>(millis));
  const std::string ts = FormatJst(now, "%Y-%m-%dT%H:%M:%S") + ms + "+09:00";
  std::string line;
  if (g_log_json) {
    nlohmann::json j = {{"ts", ts}, {"level", LevelName(level)}, {"component", "oqs-terminal-sim"},
                        {"event", std::string(event)}};
    if (fields.is_object()) {
      for (const auto& [k, v] : fields.items()) j[k] = v;
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = ts + " " + LevelName(level) + " " + std::string(event);
    if (fields.is_object()) {
      for (const auto& [k, v] : fields.items()) {
        line += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
  }
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::cerr << line << '\n' << std::flush;
}

std::string FormatJst(std::chrono::system_clock::time_point tp, const char* fmt) {
  const std::time_t t = std::chrono::system_clock::to_time_t(tp + kJstOffset);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

std::optional<std::chrono::system_clock::time_point> ParseJstTimestamp(std::string_view s) {
  if (s.size() != 14 || !IsDigits(s) || !IsDate8(s.substr(0, 8))) return std::nullopt;
  auto num = [&](size_t pos, size_t len) { return std::stoi(std::string(s.substr(pos, len))); };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(8, 2);
  tm.tm_min = num(10, 2);
  tm.tm_sec = num(12, 2);
  if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59) return std::nullopt;
  const std::time_t utc_as_if = timegm(&tm);
  return std::chrono::system_clock::from_time_t(utc_as_if) - kJstOffset;
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsDate8(std::string_view s) {
  if (s.size() != 8 || !IsDigits(s)) return false;
  const int month = (s[4] - '0') * 10 + (s[5] - '0');
  const int day = (s[6] - '0') * 10 + (s[7] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

std::string TrimSpaces(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

int CheckDigit(std::string_view body) {
  if (!IsDigits(body)) return -1;
  int sum = 0;
  bool weight_two = true;  // the rightmost digit of the body is multiplied by 2
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int product = (*it - '0') * (weight_two ? 2 : 1);
    sum += product / 10 + product % 10;
    weight_two = !weight_two;
  }
  return (10 - sum % 10) % 10;
}

bool HasValidCheckDigit(std::string_view number) {
  if (number.size() < 2 || !IsDigits(number)) return false;
  return CheckDigit(number.substr(0, number.size() - 1)) == number.back() - '0';
}

std::string Utf8ToCp932(std::string_view utf8) {
  static constexpr char kBlackCircleCp932[] = "\x81\x9c";  // ●
  iconv_t cd = iconv_open("CP932", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::string(utf8);
  std::string out;
  out.reserve(utf8.size());
  std::string in_copy(utf8);
  char* in = in_copy.data();
  size_t in_left = in_copy.size();
  char buf[4096];
  while (in_left > 0) {
    char* out_ptr = buf;
    size_t out_left = sizeof buf;
    const size_t rc = iconv(cd, &in, &in_left, &out_ptr, &out_left);
    out.append(buf, static_cast<size_t>(out_ptr - buf));
    if (rc != static_cast<size_t>(-1)) continue;
    if (errno == E2BIG) continue;
    // EILSEQ / EINVAL: skip one character and show it as ●.
    const size_t skip = std::min(in_left, Utf8SequenceLength(static_cast<unsigned char>(*in)));
    in += skip;
    in_left -= skip;
    out += kBlackCircleCp932;
  }
  iconv_close(cd);
  return out;
}

std::optional<std::string> Cp932ToUtf8(std::string_view cp932) {
  iconv_t cd = iconv_open("UTF-8", "CP932");
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out;
  std::string in_copy(cp932);
  char* in = in_copy.data();
  size_t in_left = in_copy.size();
  char buf[4096];
  bool ok = true;
  while (in_left > 0) {
    char* out_ptr = buf;
    size_t out_left = sizeof buf;
    const size_t rc = iconv(cd, &in, &in_left, &out_ptr, &out_left);
    out.append(buf, static_cast<size_t>(out_ptr - buf));
    if (rc == static_cast<size_t>(-1) && errno != E2BIG) {
      ok = false;
      break;
    }
  }
  iconv_close(cd);
  if (!ok) return std::nullopt;
  return out;
}

bool WriteFileAtomic(const std::filesystem::path& path, std::string_view data, std::string* error) {
  const std::filesystem::path tmp =
      path.parent_path() / ("." + path.filename().string() + "." + std::to_string(getpid()) + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (error) *error = "open " + tmp.string() + ": " + std::strerror(errno);
    return false;
  }
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (error) *error = "write " + tmp.string() + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    written += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    if (error) *error = "rename to " + path.string() + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

}  // namespace oqs_sim
