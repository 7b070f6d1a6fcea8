#pragma once
// Character encodings of OQS files (OQS-INTERFACE.md §3 "Result encoding", §9): UTF-8 and Shift_JIS
// as Windows uses it (CP932), converted with glibc iconv.
//
// Conversions are strict: an invalid byte sequence or a character the target cannot represent is
// an error naming the byte offset in the input; nothing is replaced or dropped silently. Error
// messages never contain the text itself (it may be a patient's name).
//
// Note: CP932 maps several Unicode characters to one byte pair (U+301C 〜 and U+FF5E ～ both to
// 0x8160; U+2212 − and U+FF0D － to 0x817C); decoding yields the Windows form (U+FF5E, U+FF0D).
//
// Thread-safe: every call opens its own iconv descriptor.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace onshid::oqs_folder {

enum class Encoding {
  kUtf8,
  kShiftJis,  // CP932 / Windows-31J; declared as "Shift_JIS" in files we write
};

// The name written in an XML declaration for `encoding`: "UTF-8" or "Shift_JIS".
std::string_view DeclarationName(Encoding encoding);

// Maps a declared encoding name (case-insensitive) to an Encoding: UTF-8/UTF8 → kUtf8;
// Shift_JIS, SJIS, Shift-JIS, x-sjis, CP932, MS932, Windows-31J → kShiftJis. nullopt otherwise.
std::optional<Encoding> EncodingFromName(std::string_view name);

// The `encoding` pseudo-attribute of the XML declaration at the start of `raw` (a UTF-8 BOM is
// skipped), with single or double quotes, exactly as written. nullopt when there is no
// declaration or it has no encoding attribute.
std::optional<std::string> DeclaredEncoding(std::string_view raw);

// Returns `utf8` unchanged when it is valid UTF-8. Error INVALID_UTF8 with the offset otherwise.
core::Result<std::string> ValidateUtf8(std::string_view utf8);

// UTF-8 → CP932. Errors: INVALID_UTF8 (offset of the bad byte), UNENCODABLE_CHARACTER (offset of
// the first byte of a character CP932 cannot represent, e.g. an emoji or U+20B9F 𠮟).
core::Result<std::string> Utf8ToCp932(std::string_view utf8);

// CP932 → UTF-8. Error INVALID_CP932 with the offset of the first invalid or truncated sequence.
core::Result<std::string> Cp932ToUtf8(std::string_view cp932);

// Converts UTF-8 text to `target` (identity for kUtf8 after validation).
core::Result<std::string> EncodeText(std::string_view utf8, Encoding target);

// A raw file as read from the terminal → UTF-8 text. A leading UTF-8 BOM is removed. The encoding
// is the one the XML declaration states (UTF-8 when there is none). The declaration text itself is
// left as it was (it may still say Shift_JIS); parse the result as UTF-8.
// Errors: UNSUPPORTED_ENCODING (declared encoding is neither UTF-8 nor Shift_JIS/CP932), and the
// conversion errors above.
core::Result<std::string> DecodeDocument(std::string_view raw);

}  // namespace onshid::oqs_folder
