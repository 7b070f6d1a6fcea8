#pragma once
// The card side of virtual-mynacard: JPKI AP and 券面事項入力補助AP of JPKI-CARD.md, with a command
// log in which every touch of a My Number location is marked FORBIDDEN.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's forward declaration

namespace virtual_mynacard {

struct CardConfig {
  std::vector<std::uint8_t> auth_certificate_der;  // JPKI EF 000A
  EVP_PKEY* auth_key = nullptr;                    // owned by the caller
  std::string token = "JPKIAPICCTOKEN2";           // JPKI EF 0006
  std::string auth_pin = "1234";                   // JPKI EF 0018
  std::string kenhojo_pin = "5678";                // 入力補助AP EF 0011
  std::uint16_t locked_sw = 0x6984;                // answer of a locked PIN (6984 or 63C0)
  std::filesystem::path state_file;                // PIN counters; persisted across restarts
  std::filesystem::path log_file;                  // command log (no PINs, no data)
  std::string name = "デジタル　花子";
  std::string address = "東京都千代田区霞が関一丁目１番１号";
  std::string birth_date = "19800401";
  std::string sex = "2";
};

class VirtualCard {
 public:
  explicit VirtualCard(CardConfig config);
  // Power on / reset / power off: clears the selection and every verified state.
  void Reset(const char* why);
  // Processes one command APDU and returns the response APDU (data + SW1 SW2).
  std::vector<std::uint8_t> Process(const std::vector<std::uint8_t>& apdu);
  void LogEvent(const std::string& line);

 private:
  enum class Ap { kNone, kJpki, kKenhojo, kKenmen, kOther };
  std::vector<std::uint8_t> Select(const std::vector<std::uint8_t>& apdu, std::string& note);
  std::vector<std::uint8_t> ReadBinary(const std::vector<std::uint8_t>& apdu, std::string& note);
  std::vector<std::uint8_t> Verify(const std::vector<std::uint8_t>& apdu, std::string& note);
  std::vector<std::uint8_t> Sign(const std::vector<std::uint8_t>& apdu, std::string& note);
  std::vector<std::uint8_t> BasicInfoEf() const;
  void LoadState();
  void SaveState() const;

  CardConfig config_;
  std::ofstream log_;
  int sequence_ = 0;
  int auth_tries_ = 3;
  int kenhojo_tries_ = 3;
  Ap ap_ = Ap::kNone;
  int ef_ = -1;
  bool auth_verified_ = false;
  bool kenhojo_verified_ = false;
};

}  // namespace virtual_mynacard
