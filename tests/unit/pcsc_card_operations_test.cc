// Card use cases over a scripted APDU transcript (no PC/SC): every status-word path, truncated
// responses, malformed DER, lengths over the bound and allow-list refusals.
#include <PCSC/pcsclite.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include "pcsc/card_operations.h"
#include "pcsc/card_session.h"
#include "pcsc/jpki_protocol.h"
#include "support/manual_clock.h"

namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;
using onshid::core::card::CertificateStatus;
using onshid::core::card::Pin;
using onshid::core::card::TokenKind;
using onshid::pcsc::CardOperations;
using onshid::pcsc::ChannelResult;

Bytes H(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size();) {
    if (hex[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    i += 2;
  }
  return out;
}

Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// One expected command and the scripted answer.
struct Exchange {
  Bytes command;
  ChannelResult answer;
};

class ScriptedChannel final : public onshid::pcsc::CardChannel {
 public:
  void Expect(Bytes command, Bytes response) {
    script_.push_back({std::move(command), {0, std::move(response)}});
  }
  void ExpectTransportError(Bytes command, long code) {
    script_.push_back({std::move(command), {code, {}}});
  }
  ChannelResult Transmit(std::span<const std::uint8_t> command) override {
    Bytes got(command.begin(), command.end());
    sent_.push_back(got);
    if (script_.empty()) {
      unexpected_.push_back(got);
      return {0, H("6F00")};
    }
    Exchange e = std::move(script_.front());
    script_.pop_front();
    if (e.command != got) unexpected_.push_back(got);
    return e.answer;
  }
  bool Done() const { return script_.empty() && unexpected_.empty(); }
  const std::vector<Bytes>& sent() const { return sent_; }

 private:
  std::deque<Exchange> script_;
  std::vector<Bytes> sent_;
  std::vector<Bytes> unexpected_;
};

using onshid::testing::ManualClock;

// The tests' "now" (2026-06-15 00:00 UTC); the unit PKI's certificates are valid around it.
const onshid::core::SystemTime kNow = onshid::core::SystemTime(
    std::chrono::sys_days(std::chrono::year{2026} / 6 / 15).time_since_epoch());

// A small self-issued PKI: one CA key, one user key, created once.
struct UnitPki {
  EVP_PKEY* ca_key = EVP_RSA_gen(2048);
  EVP_PKEY* user_key = EVP_RSA_gen(2048);
  X509* ca = nullptr;

  UnitPki() { ca = Make(ca_key, nullptr, -3650 * 86400L, 3650 * 86400L); }

  X509* Make(EVP_PKEY* subject_key, X509* issuer, long from, long to) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 77 : 1);
    X509_NAME* n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("JP"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, issuer ? "CN" : "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(issuer ? "XYZ" : "JPKI"), -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_NAME_free(n);
    const time_t base = std::chrono::system_clock::to_time_t(kNow);
    ASN1_TIME_set(X509_getm_notBefore(x), base + from);
    ASN1_TIME_set(X509_getm_notAfter(x), base + to);
    X509_set_pubkey(x, subject_key);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (issuer) {
      ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(x, issuer ? ca_key : subject_key, EVP_sha256());
    return x;
  }

  Bytes UserCertDer(long from = -100 * 86400L, long to = 700 * 86400L) {
    X509* x = Make(user_key, ca, from, to);
    unsigned char* der = nullptr;
    const int n = i2d_X509(x, &der);
    Bytes out(der, der + n);
    OPENSSL_free(der);
    X509_free(x);
    return out;
  }
  Bytes CaDer() {
    unsigned char* der = nullptr;
    const int n = i2d_X509(ca, &der);
    Bytes out(der, der + n);
    OPENSSL_free(der);
    return out;
  }
  Bytes Sign(const Bytes& digest_info) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(user_key, nullptr);
    EVP_PKEY_sign_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
    Bytes sig(256);
    std::size_t len = sig.size();
    EVP_PKEY_sign(ctx, sig.data(), &len, digest_info.data(), digest_info.size());
    EVP_PKEY_CTX_free(ctx);
    sig.resize(len);
    return sig;
  }
};

UnitPki& Pki() {
  static UnitPki pki;
  return pki;
}

const Bytes kSelectJpki = H("00A4040C0AD392F000260100000001");
const Bytes kOk = H("9000");

Bytes SelectEf(const char* ef) { return H(std::string("00A4020C02") + ef); }
Bytes Token(const std::string& t) {
  Bytes b(0x20, 0);
  std::copy(t.begin(), t.end(), b.begin());
  return Cat(b, kOk);
}
Bytes ReadCmd(std::size_t off, std::size_t le) {
  return {0x00, 0xB0, static_cast<std::uint8_t>(off >> 8), static_cast<std::uint8_t>(off),
          static_cast<std::uint8_t>(le == 256 ? 0 : le)};
}

// Scripts the full certificate read of `der` in the adapter's chunking.
void ScriptCertificateRead(ScriptedChannel& ch, const Bytes& der) {
  ch.Expect(SelectEf("000A"), kOk);
  ch.Expect(ReadCmd(0, 4), Cat(Bytes(der.begin(), der.begin() + 4), kOk));
  for (std::size_t off = 4; off < der.size(); off += 256) {
    const std::size_t n = std::min<std::size_t>(256, der.size() - off);
    ch.Expect(ReadCmd(off, n), Cat(Bytes(der.begin() + static_cast<long>(off),
                                         der.begin() + static_cast<long>(off + n)), kOk));
  }
}

CardOperations MakeOps(const ManualClock& clock, std::size_t max_cert = 4096) {
  onshid::pcsc::CardOperationsConfig config;
  auto anchors = std::make_shared<onshid::pcsc::TrustAnchors>();
  const Bytes ca = Pki().CaDer();
  REQUIRE(anchors->AddDer(ca));
  config.trust_anchors = anchors;
  config.card_key_secret = {9, 9, 9};
  config.max_certificate_bytes = max_cert;
  return CardOperations(config, clock);
}

Pin MakePin(const char* d) { return std::move(Pin::Parse(d).value()); }

}  // namespace

TEST_CASE("pcsc: inspect a card reads token and certificate and classifies it", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock);
  const Bytes der = Pki().UserCertDer();
  ScriptedChannel ch;
  ch.Expect(kSelectJpki, kOk);
  ch.Expect(SelectEf("0006"), kOk);
  ch.Expect(ReadCmd(0, 0x20), Token("JPKIAPICCTOKEN2"));
  ScriptCertificateRead(ch, der);
  auto r = ops.Inspect(ch);
  REQUIRE(r.ok());
  CHECK(ch.Done());
  CHECK(r->token == TokenKind::kMyNumberCard);
  REQUIRE(r->certificate);
  CHECK(r->certificate->status == CertificateStatus::kValid);
  CHECK(r->certificate->chain_trusted);
  CHECK(r->certificate->card_key.size() == 64);
  CHECK(r->certificate->der == der);
  // The same certificate always gives the same key; another secret gives another.
  auto again = ops.Summarize(der);
  CHECK(again->card_key == r->certificate->card_key);
}

TEST_CASE("pcsc: inspect of a smartphone reports that the PIN is needed", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock);
  ScriptedChannel ch;
  ch.Expect(kSelectJpki, kOk);
  ch.Expect(SelectEf("0006"), kOk);
  ch.Expect(ReadCmd(0, 0x20), Token("JPKIAPGPSETOKEN"));
  auto r = ops.Inspect(ch);
  REQUIRE(r.ok());
  CHECK(ch.Done());
  CHECK(r->token == TokenKind::kSmartphone);
  CHECK(r->pin_required_for_certificate);
  CHECK_FALSE(r->certificate);
}

TEST_CASE("pcsc: inspect maps 6982 on the certificate to PIN-needed", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock);
  ScriptedChannel ch;
  ch.Expect(kSelectJpki, kOk);
  ch.Expect(SelectEf("0006"), kOk);
  ch.Expect(ReadCmd(0, 0x20), Token("JPKIAPICCTOKEN2"));
  ch.Expect(SelectEf("000A"), kOk);
  ch.Expect(ReadCmd(0, 4), H("6982"));
  auto r = ops.Inspect(ch);
  REQUIRE(r.ok());
  CHECK(r->pin_required_for_certificate);
}

TEST_CASE("pcsc: inspect failure paths", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock, 2048);
  ScriptedChannel ch;
  std::string reason;
  SECTION("not a JPKI card") {
    ch.Expect(kSelectJpki, H("6A82"));
    reason = "CARD_NOT_JPKI";
  }
  SECTION("card removed: empty response") {
    ch.Expect(kSelectJpki, {});
    reason = "CARD_REMOVED";
  }
  SECTION("card removed: 1-byte response") {
    ch.Expect(kSelectJpki, H("90"));
    reason = "CARD_REMOVED";
  }
  SECTION("PC/SC removed-card code") {
    ch.ExpectTransportError(kSelectJpki, SCARD_W_REMOVED_CARD);
    reason = "CARD_REMOVED";
  }
  SECTION("pcscd gone") {
    ch.ExpectTransportError(kSelectJpki, SCARD_E_NO_SERVICE);
    reason = "PCSC_SERVICE_UNAVAILABLE";
  }
  SECTION("unexpected SW on read") {
    ch.Expect(kSelectJpki, kOk);
    ch.Expect(SelectEf("0006"), kOk);
    ch.Expect(ReadCmd(0, 0x20), H("6B00"));
    reason = "CARD_STATUS_UNEXPECTED";
  }
  SECTION("short read with 9000") {
    ch.Expect(kSelectJpki, kOk);
    ch.Expect(SelectEf("0006"), kOk);
    ch.Expect(ReadCmd(0, 0x20), H("4A 50 90 00"));
    reason = "CARD_DATA_INVALID";
  }
  auto r = ops.Inspect(ch);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().reason == reason);
  CHECK_FALSE(r.error().message_ja.empty());
}

TEST_CASE("pcsc: certificate DER length handling", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock, 2048);
  ScriptedChannel ch;
  ch.Expect(kSelectJpki, kOk);
  ch.Expect(SelectEf("0006"), kOk);
  ch.Expect(ReadCmd(0, 0x20), Token("JPKIAPICCTOKEN2"));
  ch.Expect(SelectEf("000A"), kOk);
  std::string detail;
  SECTION("length over the bound") {
    ch.Expect(ReadCmd(0, 4), H("3082 0801 9000"));  // 2049 + 4 bytes
    detail = "CERTIFICATE_TOO_LARGE";
  }
  SECTION("not a SEQUENCE") {
    ch.Expect(ReadCmd(0, 4), H("0482 0100 9000"));
    detail = "CERTIFICATE_NOT_DER_SEQUENCE";
  }
  SECTION("indefinite length") {
    ch.Expect(ReadCmd(0, 4), H("3080 0000 9000"));
    detail = "CERTIFICATE_LENGTH_INVALID";
  }
  SECTION("3-byte length") {
    ch.Expect(ReadCmd(0, 4), H("3083 0100 9000"));
    detail = "CERTIFICATE_LENGTH_INVALID";
  }
  SECTION("malformed DER content") {
    ch.Expect(ReadCmd(0, 4), H("3082 0100 9000"));
    ch.Expect(ReadCmd(4, 256), Cat(Bytes(256, 0x41), kOk));
    detail = "parse";
  }
  SECTION("truncated certificate chunk") {
    ch.Expect(ReadCmd(0, 4), H("3082 0100 9000"));
    ch.Expect(ReadCmd(4, 256), Cat(Bytes(100, 0x41), kOk));
    detail = "READ_LENGTH_MISMATCH";
  }
  auto r = ops.Inspect(ch);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().reason == "CARD_DATA_INVALID");
  if (detail != "parse") {
    REQUIRE_FALSE(r.error().metadata.empty());
    CHECK(r.error().metadata[0].second == detail);
  }
}

TEST_CASE("pcsc: TLV length parser", "[card][pcsc]") {
  using onshid::pcsc::ParseTlvTotalLength;
  CHECK(ParseTlvTotalLength(H("3005")) == 7u);
  CHECK(ParseTlvTotalLength(H("308180")) == 0x83u);
  CHECK(ParseTlvTotalLength(H("30820429")) == 0x42Du);
  CHECK(ParseTlvTotalLength(H("FF2081A0")) == 0xA4u);
  CHECK_FALSE(ParseTlvTotalLength(H("308105")));  // non-minimal
  CHECK_FALSE(ParseTlvTotalLength(H("30820005")));
  CHECK_FALSE(ParseTlvTotalLength(H("3082")));    // too short to tell
  CHECK_FALSE(ParseTlvTotalLength(H("30")));
  CHECK_FALSE(ParseTlvTotalLength({}));
}

TEST_CASE("pcsc: PIN status and verify status words", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock);
  ScriptedChannel ch;
  ch.Expect(kSelectJpki, kOk);
  ch.Expect(SelectEf("0018"), kOk);
  SECTION("tries left") {
    ch.Expect(H("00200080"), H("63C2"));
    auto r = ops.GetPinStatus(ch);
    REQUIRE(r.ok());
    CHECK(r->tries_left == 2);
    CHECK_FALSE(r->locked);
  }
  for (const char* locked_sw : {"63C0", "6983", "6984"}) {
    SECTION(std::string("locked query ") + locked_sw) {
      ch.Expect(H("00200080"), H(locked_sw));
      auto r = ops.GetPinStatus(ch);
      REQUIRE(r.ok());
      CHECK(r->locked);
      CHECK(r->tries_left == 0);
    }
    SECTION(std::string("verify on a locked PIN sends nothing: ") + locked_sw) {
      ch.Expect(H("00200080"), H(locked_sw));
      auto r = ops.VerifyPin(ch, MakePin("1234"), 0);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().reason == "PIN_LOCKED");
      CHECK(r.error().message_ja.find("目視確認モード") != std::string::npos);
    }
    SECTION(std::string("verify answer locks: ") + locked_sw) {
      ch.Expect(H("00200080"), H("63C1"));
      ch.Expect(H("002000800431313131"), H(locked_sw));
      auto r = ops.VerifyPin(ch, MakePin("1111"), 0);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().reason == "PIN_LOCKED");
    }
  }
  SECTION("wrong PIN") {
    ch.Expect(H("00200080"), H("63C3"));
    ch.Expect(H("002000800439393939"), H("63C2"));
    auto r = ops.VerifyPin(ch, MakePin("9999"), 0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "PIN_INCORRECT");
    CHECK(r.error().metadata[0] == std::pair<std::string, std::string>("tries_left", "2"));
  }
  SECTION("right PIN") {
    ch.Expect(H("00200080"), H("63C3"));
    ch.Expect(H("002000800431323334"), kOk);
    auto r = ops.VerifyPin(ch, MakePin("1234"), 0);
    REQUIRE(r.ok());
    CHECK(r->tries_left == 3);
  }
  SECTION("reserved last try: nothing sent") {
    ch.Expect(H("00200080"), H("63C1"));
    auto r = ops.VerifyPin(ch, MakePin("1234"), 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "PIN_ATTEMPT_RESERVED");
  }
  SECTION("odd status on the query") {
    ch.Expect(H("00200080"), H("6A82"));
    auto r = ops.GetPinStatus(ch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "CARD_STATUS_UNEXPECTED");
  }
  CHECK(ch.Done());
  // Exactly one VERIFY with data, at most.
  int verifies_with_pin = 0;
  for (const Bytes& c : ch.sent()) verifies_with_pin += (c.size() == 9 && c[1] == 0x20);
  CHECK(verifies_with_pin <= 1);
}

TEST_CASE("pcsc: sign a challenge and verify the signature", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock);
  const Bytes der = Pki().UserCertDer();
  const Bytes challenge = {'n', 'o', 'n', 'c', 'e'};
  const Bytes digest_info = onshid::pcsc::Sha256DigestInfo(challenge);
  ScriptedChannel ch;
  ch.Expect(kSelectJpki, kOk);
  ch.Expect(SelectEf("0018"), kOk);
  ch.Expect(H("00200080"), H("63C3"));
  ch.Expect(H("002000800431323334"), kOk);
  ScriptCertificateRead(ch, der);
  ch.Expect(SelectEf("0017"), kOk);
  const Bytes sign_cmd = Cat(Cat(H("802A008033"), digest_info), H("00"));
  SECTION("good signature") {
    ch.Expect(sign_cmd, Cat(Pki().Sign(digest_info), kOk));
    auto r = ops.SignChallenge(ch, MakePin("1234"), challenge);
    REQUIRE(r.ok());
    CHECK(r->signature.size() == 256);
    CHECK(r->certificate.status == CertificateStatus::kValid);
  }
  SECTION("signature that does not verify") {
    Bytes bad = Pki().Sign(digest_info);
    bad[10] ^= 1;
    ch.Expect(sign_cmd, Cat(bad, kOk));
    auto r = ops.SignChallenge(ch, MakePin("1234"), challenge);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "SIGNATURE_INVALID");
  }
  SECTION("security status not satisfied") {
    ch.Expect(sign_cmd, H("6982"));
    auto r = ops.SignChallenge(ch, MakePin("1234"), challenge);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "CARD_STATUS_UNEXPECTED");
  }
  CHECK(ch.Done());
}

TEST_CASE("pcsc: basic information", "[card][pcsc]") {
  ManualClock clock{kNow};
  auto ops = MakeOps(clock);
  ScriptedChannel ch;
  ch.Expect(H("00A4040C0AD3921000310001010408"), kOk);
  ch.Expect(SelectEf("0011"), kOk);
  ch.Expect(H("00200080"), H("63C3"));
  const std::string name = "山田太郎";
  const std::string addr = "東京都";
  Bytes inner = Cat(H("DF2103000102"), Cat(H("DF22"), Cat({static_cast<std::uint8_t>(name.size())},
                                                          Bytes(name.begin(), name.end()))));
  inner = Cat(inner, Cat(H("DF23"), Cat({static_cast<std::uint8_t>(addr.size())},
                                         Bytes(addr.begin(), addr.end()))));
  inner = Cat(inner, H("DF2408"));
  inner = Cat(inner, Bytes{'1', '9', '8', '0', '0', '4', '0', '1'});
  inner = Cat(inner, H("DF250131"));
  const Bytes ef = Cat({0xFF, 0x20, static_cast<std::uint8_t>(inner.size())}, inner);
  SECTION("right PIN") {
    ch.Expect(H("002000800435363738"), kOk);
    ch.Expect(SelectEf("0002"), kOk);
    ch.Expect(ReadCmd(0, 5), Cat(Bytes(ef.begin(), ef.begin() + 5), kOk));
    ch.Expect(ReadCmd(5, ef.size() - 5), Cat(Bytes(ef.begin() + 5, ef.end()), kOk));
    auto r = ops.ReadBasicInfo(ch, MakePin("5678"));
    REQUIRE(r.ok());
    CHECK(r->name == name);
    CHECK(r->address == addr);
    CHECK(r->birth_date == "19800401");
    CHECK(r->sex == "1");
  }
  SECTION("wrong PIN: nothing read") {
    ch.Expect(H("002000800435363730"), H("63C2"));
    auto r = ops.ReadBasicInfo(ch, MakePin("5670"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "PIN_INCORRECT");
  }
  SECTION("malformed EF") {
    ch.Expect(H("002000800435363738"), kOk);
    ch.Expect(SelectEf("0002"), kOk);
    ch.Expect(ReadCmd(0, 5), H("FF2003DF21 9000"));
    ch.Expect(ReadCmd(5, 1), H("00 9000"));  // DF21 with no value, then nothing: no name etc.
    auto r = ops.ReadBasicInfo(ch, MakePin("5678"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "CARD_DATA_INVALID");
  }
  CHECK(ch.Done());
}

TEST_CASE("pcsc: the session refuses non-allow-listed commands before the channel", "[card][pcsc]") {
  ScriptedChannel ch;
  onshid::pcsc::CardSession session(ch, /*allow_kenhojo=*/false);
  auto r = session.Transmit(H("00A4040C0AD3921000310001010402"), onshid::pcsc::Step::kOther);
  REQUIRE_FALSE(r.ok());
  CHECK(r.failure().kind == onshid::pcsc::FailureKind::kNotAllowed);
  auto r2 = session.Transmit(H("00A4040C0AD3921000310001010408"), onshid::pcsc::Step::kOther);
  REQUIRE_FALSE(r2.ok());
  CHECK(session.sent() == 0);
  CHECK(ch.sent().empty());

  onshid::pcsc::CardSession kenhojo(ch, /*allow_kenhojo=*/true);
  ch.Expect(H("00A4040C0AD3921000310001010408"), kOk);
  REQUIRE(kenhojo.Transmit(H("00A4040C0AD3921000310001010408"), onshid::pcsc::Step::kOther).ok());
  auto my_number = kenhojo.Transmit(H("00A4020C020001"), onshid::pcsc::Step::kOther);
  REQUIRE_FALSE(my_number.ok());
  CHECK(my_number.failure().detail == "SELECT_EF_NOT_ALLOWED");
  CHECK(ch.sent().size() == 1);
}
