#include "virtual_card.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace virtual_mynacard {
namespace {

const std::vector<std::uint8_t> kJpkiAid = {0xD3, 0x92, 0xF0, 0x00, 0x26,
                                            0x01, 0x00, 0x00, 0x00, 0x01};
const std::vector<std::uint8_t> kKenhojoAid = {0xD3, 0x92, 0x10, 0x00, 0x31,
                                               0x00, 0x01, 0x01, 0x04, 0x08};
const std::vector<std::uint8_t> kKenmenAid = {0xD3, 0x92, 0x10, 0x00, 0x31,
                                              0x00, 0x01, 0x01, 0x04, 0x02};
const std::vector<std::uint8_t> kUnknownAid = {0xD3, 0x92, 0x10, 0x00, 0x31,
                                               0x00, 0x01, 0x01, 0x01, 0x00};

std::vector<std::uint8_t> Sw(std::uint16_t sw) {
  return {static_cast<std::uint8_t>(sw >> 8), static_cast<std::uint8_t>(sw & 0xFF)};
}

std::string Hex(const std::uint8_t* p, std::size_t n) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02X", p[i]);
    out += buf;
  }
  return out;
}

void AppendTlv(std::vector<std::uint8_t>& out, std::uint8_t t0, std::uint8_t t1,
               const std::string& value) {
  out.push_back(t0);
  out.push_back(t1);
  if (value.size() < 0x80) {
    out.push_back(static_cast<std::uint8_t>(value.size()));
  } else {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(value.size()));
  }
  out.insert(out.end(), value.begin(), value.end());
}

}  // namespace

VirtualCard::VirtualCard(CardConfig config) : config_(std::move(config)) {
  if (!config_.log_file.empty()) log_.open(config_.log_file, std::ios::app);
  LoadState();
}

void VirtualCard::LogEvent(const std::string& line) {
  if (log_.is_open()) {
    log_ << line << '\n';
    log_.flush();
  }
}

void VirtualCard::LoadState() {
  if (config_.state_file.empty()) return;
  std::ifstream in(config_.state_file);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const int value = std::clamp(std::atoi(line.c_str() + eq + 1), 0, 3);
    if (line.compare(0, eq, "auth_tries") == 0) auth_tries_ = value;
    if (line.compare(0, eq, "kenhojo_tries") == 0) kenhojo_tries_ = value;
  }
}

void VirtualCard::SaveState() const {
  if (config_.state_file.empty()) return;
  const std::filesystem::path tmp = config_.state_file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "auth_tries=" << auth_tries_ << "\nkenhojo_tries=" << kenhojo_tries_ << "\n";
  }
  std::filesystem::rename(tmp, config_.state_file);
}

void VirtualCard::Reset(const char* why) {
  ap_ = Ap::kNone;
  ef_ = -1;
  auth_verified_ = false;
  kenhojo_verified_ = false;
  LogEvent(std::string("-- ") + why);
}

std::vector<std::uint8_t> VirtualCard::Process(const std::vector<std::uint8_t>& apdu) {
  std::string note;
  std::vector<std::uint8_t> response;
  if (apdu.size() < 4) {
    response = Sw(0x6700);
    note = "SHORT";
  } else if (apdu[0] != 0x00 && apdu[0] != 0x80) {
    response = Sw(0x6E00);
    note = "CLA?";
  } else if (apdu[0] == 0x80) {
    response = apdu[1] == 0x2A ? Sign(apdu, note) : Sw(0x6D00);
    if (apdu[1] != 0x2A) note = "INS?";
  } else {
    switch (apdu[1]) {
      case 0xA4: response = Select(apdu, note); break;
      case 0xB0: response = ReadBinary(apdu, note); break;
      case 0x20: response = Verify(apdu, note); break;
      case 0x2A: response = Sw(0x6E00); note = "SIGN with CLA 00"; break;
      default: response = Sw(0x6D00); note = "INS?"; break;
    }
  }
  // Header only (never data: it may carry a PIN); the note says what the command did.
  const std::size_t n = response.size();
  std::ostringstream line;
  line << ++sequence_ << " " << Hex(apdu.data(), std::min<std::size_t>(apdu.size(), 4)) << " "
       << note << " -> " << Hex(response.data() + n - 2, 2);
  LogEvent(line.str());
  return response;
}

std::vector<std::uint8_t> VirtualCard::Select(const std::vector<std::uint8_t>& apdu,
                                              std::string& note) {
  if (apdu.size() < 5 || apdu.size() < 5u + apdu[4]) return note = "SELECT malformed", Sw(0x6700);
  const std::vector<std::uint8_t> data(apdu.begin() + 5, apdu.begin() + 5 + apdu[4]);
  if (apdu[2] == 0x04) {
    note = "SELECT DF " + Hex(data.data(), data.size());
    auth_verified_ = false;
    kenhojo_verified_ = false;
    ef_ = -1;
    if (data == kJpkiAid) return note += " JPKI", ap_ = Ap::kJpki, Sw(0x9000);
    if (data == kKenhojoAid) return note += " KENHOJO", ap_ = Ap::kKenhojo, Sw(0x9000);
    if (data == kKenmenAid) {
      // A real card answers 9000 (the AP exists); the card-surface AP holds the My Number.
      return note += " KENMEN FORBIDDEN", ap_ = Ap::kKenmen, Sw(0x9000);
    }
    if (data == kUnknownAid) return note += " OTHER", ap_ = Ap::kOther, Sw(0x9000);
    ap_ = Ap::kNone;
    return Sw(0x6A82);
  }
  if (apdu[2] == 0x02 && data.size() == 2) {
    const int ef = (data[0] << 8) | data[1];
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04X", ef);
    note = std::string("SELECT EF ") + buf;
    switch (ap_) {
      case Ap::kJpki:
        for (int known : {0x0001, 0x0002, 0x0006, 0x000A, 0x000B, 0x0017, 0x0018, 0x001A, 0x001B}) {
          if (ef == known) return ef_ = ef, Sw(0x9000);
        }
        break;
      case Ap::kKenhojo:
        if (ef == 0x0001 || ef == 0x0014) note += " MYNUMBER FORBIDDEN";  // My Number / 照合番号A
        for (int known : {0x0001, 0x0002, 0x0005, 0x0011, 0x0014, 0x0015}) {
          if (ef == known) return ef_ = ef, Sw(0x9000);
        }
        break;
      case Ap::kKenmen:
        note += " KENMEN FORBIDDEN";
        return ef_ = ef, Sw(0x9000);
      default:
        break;
    }
    ef_ = -1;
    return Sw(0x6A82);
  }
  note = "SELECT unsupported P1";
  return Sw(0x6A86);
}

std::vector<std::uint8_t> VirtualCard::BasicInfoEf() const {
  std::vector<std::uint8_t> inner;
  AppendTlv(inner, 0xDF, 0x21, std::string("\x00\x01\x02", 3));
  AppendTlv(inner, 0xDF, 0x22, config_.name);
  AppendTlv(inner, 0xDF, 0x23, config_.address);
  AppendTlv(inner, 0xDF, 0x24, config_.birth_date);
  AppendTlv(inner, 0xDF, 0x25, config_.sex);
  std::vector<std::uint8_t> out = {0xFF, 0x20};
  if (inner.size() < 0x80) {
    out.push_back(static_cast<std::uint8_t>(inner.size()));
  } else if (inner.size() < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(inner.size()));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(inner.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(inner.size() & 0xFF));
  }
  out.insert(out.end(), inner.begin(), inner.end());
  return out;
}

std::vector<std::uint8_t> VirtualCard::ReadBinary(const std::vector<std::uint8_t>& apdu,
                                                  std::string& note) {
  if (apdu[2] & 0x80) return note = "READ BINARY SFI", Sw(0x6A81);
  const std::size_t offset = static_cast<std::size_t>((apdu[2] << 8) | apdu[3]);
  std::size_t le = apdu.size() >= 5 ? apdu[4] : 0;
  if (le == 0) le = 256;
  char buf[48];
  std::snprintf(buf, sizeof buf, "READ BINARY EF %04X off=%zu le=%zu", ef_ < 0 ? 0 : ef_, offset,
                le);
  note = buf;
  std::vector<std::uint8_t> ef;
  if (ap_ == Ap::kJpki && ef_ == 0x0006) {
    ef.assign(0x20, 0x00);
    std::copy(config_.token.begin(), config_.token.begin() +
              static_cast<std::ptrdiff_t>(std::min<std::size_t>(config_.token.size(), 0x20)),
              ef.begin());
  } else if (ap_ == Ap::kJpki && ef_ == 0x000A) {
    if (config_.token == "JPKIAPGPSETOKEN" && !auth_verified_) return Sw(0x6982);
    ef = config_.auth_certificate_der;
  } else if (ap_ == Ap::kKenhojo && ef_ == 0x0002) {
    if (!kenhojo_verified_) return Sw(0x6982);
    ef = BasicInfoEf();
  } else if (ap_ == Ap::kKenhojo && ef_ == 0x0001) {
    note += " MYNUMBER FORBIDDEN";
    return Sw(0x6982);  // never serve a number, even a fake one
  } else if (ap_ == Ap::kKenmen) {
    note += " KENMEN FORBIDDEN";
    return Sw(0x6982);
  } else if (ef_ < 0) {
    return Sw(0x6986);
  } else {
    return Sw(0x6982);
  }
  if (offset >= ef.size()) return Sw(0x6B00);
  const std::size_t n = std::min(le, ef.size() - offset);
  std::vector<std::uint8_t> out(ef.begin() + static_cast<std::ptrdiff_t>(offset),
                                ef.begin() + static_cast<std::ptrdiff_t>(offset + n));
  const auto sw = Sw(n < le ? 0x6282 : 0x9000);
  out.insert(out.end(), sw.begin(), sw.end());
  return out;
}

std::vector<std::uint8_t> VirtualCard::Verify(const std::vector<std::uint8_t>& apdu,
                                              std::string& note) {
  if (apdu[2] != 0x00 || apdu[3] != 0x80) return note = "VERIFY bad P1P2", Sw(0x6A86);
  int* tries = nullptr;
  bool* verified = nullptr;
  const std::string* pin = nullptr;
  if (ap_ == Ap::kJpki && ef_ == 0x0018) {
    tries = &auth_tries_, verified = &auth_verified_, pin = &config_.auth_pin;
    note = "VERIFY AUTH_PIN";
  } else if (ap_ == Ap::kKenhojo && ef_ == 0x0011) {
    tries = &kenhojo_tries_, verified = &kenhojo_verified_, pin = &config_.kenhojo_pin;
    note = "VERIFY KENHOJO_PIN";
  } else {
    note = "VERIFY no PIN EF";
    return Sw(0x6986);
  }
  if (apdu.size() <= 5) {  // retry-counter query
    note += " query";
    if (*tries == 0) return Sw(config_.locked_sw);
    if (*verified) return Sw(0x9000);
    return Sw(static_cast<std::uint16_t>(0x63C0 | *tries));
  }
  const std::size_t lc = apdu[4];
  if (apdu.size() < 5 + lc) return note += " malformed", Sw(0x6700);
  const std::string given(apdu.begin() + 5, apdu.begin() + 5 + static_cast<std::ptrdiff_t>(lc));
  const bool well_formed =
      given.size() == 4 && std::all_of(given.begin(), given.end(), [](char c) {
        return c >= '0' && c <= '9';
      });
  if (!well_formed) note += " MALFORMED_PIN";
  if (*tries == 0) return note += " locked", Sw(config_.locked_sw);
  if (well_formed && given == *pin) {
    *tries = 3;
    *verified = true;
    SaveState();
    return note += " ok", Sw(0x9000);
  }
  --*tries;
  *verified = false;
  SaveState();
  note += " wrong";
  return Sw(static_cast<std::uint16_t>(0x63C0 | *tries));
}

std::vector<std::uint8_t> VirtualCard::Sign(const std::vector<std::uint8_t>& apdu,
                                            std::string& note) {
  note = "SIGN";
  if (apdu[2] != 0x00 || apdu[3] != 0x80) return Sw(0x6A86);
  if (ap_ != Ap::kJpki || ef_ != 0x0017) return note += " no key", Sw(0x6986);
  if (!auth_verified_) return note += " not verified", Sw(0x6982);
  if (apdu.size() < 6 || apdu.size() < 5u + apdu[4]) return Sw(0x6700);
  const std::vector<std::uint8_t> data(apdu.begin() + 5, apdu.begin() + 5 + apdu[4]);
  if (config_.auth_key == nullptr) return Sw(0x6A88);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(config_.auth_key, nullptr);
  std::vector<std::uint8_t> sig(static_cast<std::size_t>(EVP_PKEY_get_size(config_.auth_key)));
  std::size_t sig_len = sig.size();
  // DigestInfo in; the card adds EMSA-PKCS1-v1_5 padding (JPKI-CARD.md §3.4).
  const bool ok = ctx != nullptr && EVP_PKEY_sign_init(ctx) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
                  EVP_PKEY_sign(ctx, sig.data(), &sig_len, data.data(), data.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return note += " failed", Sw(0x6F00);
  sig.resize(sig_len);
  const auto sw = Sw(0x9000);
  sig.insert(sig.end(), sw.begin(), sw.end());
  note += " ok";
  return sig;
}

}  // namespace virtual_mynacard
