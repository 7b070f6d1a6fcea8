#include "oqs_folder/encoding.h"

#include <iconv.h>

#include <cerrno>
#include <vector>

namespace onshid::oqs_folder {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

core::DomainError EncodingError(std::string reason, std::string message) {
  core::DomainError e;
  e.kind = core::ErrorKind::kInvalidArgument;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja = "文字コードを変換できませんでした。使用できない文字が含まれている可能性があります。";
  return e;
}

// Offset of the first byte that does not start a valid UTF-8 sequence, or nullopt.
std::optional<std::size_t> FirstInvalidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::nullopt;
}

// Runs iconv over the whole input. `from_utf8` selects the error reasons.
core::Result<std::string> Convert(const char* to, const char* from, std::string_view input,
                                  bool from_utf8) {
  iconv_t cd = iconv_open(to, from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return core::Internal(std::string("iconv_open(") + to + ", " + from + ") failed");
  }
  std::string out;
  std::vector<char> buffer(input.size() * 2 + 16);
  // iconv's signature takes char**; the input is not modified.
  char* in_ptr = const_cast<char*>(input.data());
  std::size_t in_left = input.size();
  std::optional<core::DomainError> error;
  while (in_left > 0) {
    char* out_ptr = buffer.data();
    std::size_t out_left = buffer.size();
    const std::size_t rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
    const int err = errno;
    out.append(buffer.data(), buffer.size() - out_left);
    if (rc != static_cast<std::size_t>(-1)) break;
    if (err == E2BIG) continue;
    const std::size_t offset = input.size() - in_left;
    if (from_utf8) {
      error = EncodingError("UNENCODABLE_CHARACTER",
                            "character at byte offset " + std::to_string(offset) +
                                " cannot be represented in Shift_JIS (CP932)");
    } else {
      error = EncodingError("INVALID_CP932",
                            std::string(err == EINVAL ? "truncated" : "invalid") +
                                " Shift_JIS (CP932) sequence at byte offset " +
                                std::to_string(offset));
    }
    break;
  }
  iconv_close(cd);
  if (error) return *std::move(error);
  return out;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string_view DeclarationName(Encoding encoding) {
  return encoding == Encoding::kUtf8 ? "UTF-8" : "Shift_JIS";
}

std::optional<Encoding> EncodingFromName(std::string_view name) {
  for (std::string_view utf8 : {"UTF-8", "UTF8"}) {
    if (EqualsIgnoreCase(name, utf8)) return Encoding::kUtf8;
  }
  for (std::string_view sjis :
       {"Shift_JIS", "Shift-JIS", "SJIS", "x-sjis", "CP932", "MS932", "Windows-31J"}) {
    if (EqualsIgnoreCase(name, sjis)) return Encoding::kShiftJis;
  }
  return std::nullopt;
}

std::optional<std::string> DeclaredEncoding(std::string_view raw) {
  if (raw.starts_with(kUtf8Bom)) raw.remove_prefix(kUtf8Bom.size());
  if (!raw.starts_with("<?xml") || raw.size() < 6 || !IsXmlSpace(raw[5])) return std::nullopt;
  const std::size_t end = raw.find("?>");
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view decl = raw.substr(5, end - 5);
  // Walk name="value" / name='value' pairs.
  while (true) {
    while (!decl.empty() && IsXmlSpace(decl.front())) decl.remove_prefix(1);
    const std::size_t eq = decl.find('=');
    if (decl.empty() || eq == std::string_view::npos) return std::nullopt;
    std::string_view name = decl.substr(0, eq);
    while (!name.empty() && IsXmlSpace(name.back())) name.remove_suffix(1);
    decl.remove_prefix(eq + 1);
    while (!decl.empty() && IsXmlSpace(decl.front())) decl.remove_prefix(1);
    if (decl.empty() || (decl.front() != '"' && decl.front() != '\'')) return std::nullopt;
    const char quote = decl.front();
    decl.remove_prefix(1);
    const std::size_t close = decl.find(quote);
    if (close == std::string_view::npos) return std::nullopt;
    if (name == "encoding") return std::string(decl.substr(0, close));
    decl.remove_prefix(close + 1);
  }
}

core::Result<std::string> ValidateUtf8(std::string_view utf8) {
  if (const auto bad = FirstInvalidUtf8(utf8)) {
    return EncodingError("INVALID_UTF8",
                         "invalid UTF-8 sequence at byte offset " + std::to_string(*bad));
  }
  return std::string(utf8);
}

core::Result<std::string> Utf8ToCp932(std::string_view utf8) {
  if (const auto bad = FirstInvalidUtf8(utf8)) {
    return EncodingError("INVALID_UTF8",
                         "invalid UTF-8 sequence at byte offset " + std::to_string(*bad));
  }
  return Convert("CP932", "UTF-8", utf8, /*from_utf8=*/true);
}

core::Result<std::string> Cp932ToUtf8(std::string_view cp932) {
  return Convert("UTF-8", "CP932", cp932, /*from_utf8=*/false);
}

core::Result<std::string> EncodeText(std::string_view utf8, Encoding target) {
  if (target == Encoding::kUtf8) return ValidateUtf8(utf8);
  return Utf8ToCp932(utf8);
}

core::Result<std::string> DecodeDocument(std::string_view raw) {
  if (raw.starts_with(kUtf8Bom)) raw.remove_prefix(kUtf8Bom.size());
  const auto declared = DeclaredEncoding(raw);
  Encoding encoding = Encoding::kUtf8;
  if (declared) {
    const auto known = EncodingFromName(*declared);
    if (!known) {
      return EncodingError("UNSUPPORTED_ENCODING",
                           "XML declaration names an unsupported encoding \"" + *declared +
                               "\"; expected UTF-8 or Shift_JIS");
    }
    encoding = *known;
  }
  if (encoding == Encoding::kUtf8) return ValidateUtf8(raw);
  return Cp932ToUtf8(raw);
}

}  // namespace onshid::oqs_folder
