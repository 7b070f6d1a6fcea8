// UTF-8 ⇄ CP932 conversion and document decoding (OQS-INTERFACE.md §3, §9).

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "oqs_folder/encoding.h"
#include "oqs_folder/xml_codec.h"

namespace folder = onshid::oqs_folder;
namespace oqs = onshid::core::oqs;

namespace {

std::string Fixture(const std::string& name) {
  const std::string path = std::string(ONSHID_SOURCE_DIR) + "/tests/data/oqs/" + name;
  std::ifstream in(path, std::ios::binary);
  INFO("reading " << path);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Replaces the first occurrence of `from` with `to`.
std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("UTF-8 and CP932 round trip names with ●, half-width kana and 全角 space",
          "[oqs][encoding]") {
  const std::string text = "診療　太郎 ｼﾝﾘｮｳ ﾀﾛｳ ●子 髙橋 123-4567 ＡＢ";
  auto sjis = folder::Utf8ToCp932(text);
  REQUIRE(sjis);
  // Exact CP932 bytes of a few characters.
  CHECK(folder::Utf8ToCp932("●").value() == "\x81\x9C");
  CHECK(folder::Utf8ToCp932("　").value() == "\x81\x40");
  CHECK(folder::Utf8ToCp932("ｼﾝﾘｮｳ ﾀﾛｳ").value() == "\xBC\xDD\xD8\xAE\xB3\x20\xC0\xDB\xB3");
  CHECK(folder::Utf8ToCp932("髙").value() == "\xFB\xFC");  // IBM extension, CP932 only
  auto back = folder::Cp932ToUtf8(*sjis);
  REQUIRE(back);
  CHECK(*back == text);
  CHECK(folder::EncodeText(text, folder::Encoding::kUtf8).value() == text);
  CHECK(folder::EncodeText(text, folder::Encoding::kShiftJis).value() == *sjis);
}

TEST_CASE("conversion errors name the byte offset and never replace silently",
          "[oqs][encoding]") {
  auto emoji = folder::Utf8ToCp932("ab😀c");
  REQUIRE_FALSE(emoji);
  CHECK(emoji.error().reason == "UNENCODABLE_CHARACTER");
  CHECK(emoji.error().message.find("offset 2") != std::string::npos);

  auto bad_utf8 = folder::Utf8ToCp932("abc\xC3(");
  REQUIRE_FALSE(bad_utf8);
  CHECK(bad_utf8.error().reason == "INVALID_UTF8");
  CHECK(bad_utf8.error().message.find("offset 3") != std::string::npos);
  CHECK_FALSE(folder::ValidateUtf8("\xED\xA0\x80"));  // surrogate
  CHECK_FALSE(folder::ValidateUtf8("\xC0\xAF"));      // overlong

  auto bad_sjis = folder::Cp932ToUtf8("ab\x81\x20");
  REQUIRE_FALSE(bad_sjis);
  CHECK(bad_sjis.error().reason == "INVALID_CP932");
  CHECK(bad_sjis.error().message.find("offset 2") != std::string::npos);

  auto truncated = folder::Cp932ToUtf8("abcd\x82");
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().reason == "INVALID_CP932");
  CHECK(truncated.error().message.find("offset 4") != std::string::npos);
}

TEST_CASE("DeclaredEncoding reads single and double quotes", "[oqs][encoding]") {
  CHECK(folder::DeclaredEncoding(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><a/>") == "UTF-8");
  CHECK(folder::DeclaredEncoding("<?xml version='1.0' encoding='Shift_JIS'?><a/>") ==
        "Shift_JIS");
  CHECK(folder::DeclaredEncoding("\xEF\xBB\xBF<?xml version=\"1.0\" encoding = 'utf-8' ?>") ==
        "utf-8");
  CHECK_FALSE(folder::DeclaredEncoding("<?xml version=\"1.0\"?><a/>"));
  CHECK_FALSE(folder::DeclaredEncoding("<a/>"));
  CHECK_FALSE(folder::DeclaredEncoding("<?xml-stylesheet href='x'?><a/>"));
  CHECK(folder::EncodingFromName("shift_jis") == folder::Encoding::kShiftJis);
  CHECK(folder::EncodingFromName("Windows-31J") == folder::Encoding::kShiftJis);
  CHECK(folder::EncodingFromName("utf-8") == folder::Encoding::kUtf8);
  CHECK_FALSE(folder::EncodingFromName("EUC-JP"));
}

TEST_CASE("DecodeDocument follows the declaration and tolerates a UTF-8 BOM", "[oqs][encoding]") {
  const std::string utf8 = Fixture("result_full.xml");
  auto plain = folder::DecodeDocument(utf8);
  REQUIRE(plain);
  CHECK(*plain == utf8);

  auto with_bom = folder::DecodeDocument("\xEF\xBB\xBF" + utf8);
  REQUIRE(with_bom);
  CHECK(*with_bom == utf8);

  // The same document written by a terminal set to Shift_JIS (CharacterCodeIdentifier 1).
  std::string sjis_text = Replace(utf8, "encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"");
  sjis_text = Replace(sjis_text, "<CharacterCodeIdentifier>0<", "<CharacterCodeIdentifier>1<");
  auto sjis_bytes = folder::Utf8ToCp932(sjis_text);
  REQUIRE(sjis_bytes);
  CHECK(*sjis_bytes != sjis_text);
  auto decoded = folder::DecodeDocument(*sjis_bytes);
  REQUIRE(decoded);
  CHECK(*decoded == sjis_text);

  auto parsed = folder::ParseQualificationResultFile(*sjis_bytes);
  REQUIRE(parsed);
  REQUIRE(parsed->results.size() == 1);
  CHECK(*parsed->results[0].name == "試験　●子");
  CHECK(*parsed->results[0].name_kana == "ｼｹﾝ ﾊﾅｺ");
  CHECK(parsed->results[0].has_unconvertible_chars);
  CHECK(parsed->header.character_code_identifier->value == oqs::CharacterCode::kShiftJis);

  auto unsupported = folder::DecodeDocument("<?xml version=\"1.0\" encoding=\"EUC-JP\"?><a/>");
  REQUIRE_FALSE(unsupported);
  CHECK(unsupported.error().reason == "UNSUPPORTED_ENCODING");

  // Shift_JIS bytes declared as UTF-8 are not valid UTF-8.
  auto lying = folder::DecodeDocument(Replace(*sjis_bytes, "Shift_JIS", "UTF-8"));
  REQUIRE_FALSE(lying);
  CHECK(lying.error().reason == "INVALID_UTF8");
}

TEST_CASE("declaration and CharacterCodeIdentifier must agree", "[oqs][encoding]") {
  // Declared UTF-8, but the terminal says Shift_JIS.
  const std::string mismatch =
      Replace(Fixture("result_full.xml"), "<CharacterCodeIdentifier>0<",
              "<CharacterCodeIdentifier>1<");
  auto r = folder::ParseQualificationResultFile(mismatch);
  REQUIRE_FALSE(r);
  CHECK(r.error().reason == "ENCODING_MISMATCH");
}
