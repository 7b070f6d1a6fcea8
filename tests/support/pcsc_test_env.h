#pragma once
// A private PC/SC stack per test: pcscd (socket-activated on a private Unix socket, private
// reader.conf.d pointing at libifdvpcd with a free private port pair, no --auto-exit) plus the
// virtual-mynacard process, and a test PKI generated with OpenSSL at run time.
//
// pcsc-lite's client library reads PCSCLITE_CSOCK_NAME once per process and caches it, so every
// PcscTestEnv of one test process uses the same socket path (/tmp/onshid-pcsc-<pid>/pcscd.comm);
// only one PcscTestEnv may exist at a time. Test processes never share a socket or a port.

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace onshid::testing {

// A CA whose DN looks like J-LIS's user-authentication CA, a second CA with the same DN and a
// different key (for UNTRUSTED), and one RSA-2048 user key. Generated once per process.
class TestPki {
 public:
  TestPki();
  const std::filesystem::path& ca_certificate() const { return ca_cert_; }
  const std::filesystem::path& user_key() const { return user_key_; }
  std::vector<std::uint8_t> CaDer() const;
  // Issues an auth certificate "C=JP, CN=<cn>" with the user key; returns the PEM path.
  std::filesystem::path Issue(const std::string& cn, std::chrono::system_clock::time_point not_before,
                              std::chrono::system_clock::time_point not_after,
                              bool by_impostor_ca = false);

 private:
  std::filesystem::path dir_;
  std::filesystem::path ca_cert_, ca_key_, impostor_cert_, impostor_key_, user_key_;
  int serial_ = 100;
};

TestPki& SharedTestPki();

struct VirtualCardOptions {
  std::filesystem::path certificate;  // PEM; default: a VALID one from SharedTestPki
  std::string token = "card";         // card | phone | juki
  std::string locked_sw = "6984";
  int remove_after = 0;
  bool keep_state = true;             // keep the PIN-counter file across StartCard calls
};

class PcscTestEnv {
 public:
  PcscTestEnv();
  ~PcscTestEnv();
  PcscTestEnv(const PcscTestEnv&) = delete;
  PcscTestEnv& operator=(const PcscTestEnv&) = delete;

  // Binds the private socket, execs `pcscd --foreground --config <dir>` with LISTEN_FDS=1.
  void StartPcscd();
  // Sends `signal` to pcscd by PID and reaps it (SIGKILL after 5 s).
  void StopPcscd(int signal = SIGTERM);
  pid_t pcscd_pid() const;

  // Starts virtual-mynacard on slot 0's port; it connects (inserts) by itself.
  void StartCard(const VirtualCardOptions& options = {});
  void StopCard();
  void RemoveCard();  // SIGUSR1
  void InsertCard();  // SIGUSR2
  // Clears the card's PIN counters (next StartCard begins with 3 tries).
  void ResetCardState();

  // Waits with SCardGetStatusChange (no sleeps) until slot 0 has a card (or none). Returns the
  // reader name, or "" on timeout.
  std::string WaitForCard(bool present, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::string CardLog() const;  // the card's command log so far
  const std::filesystem::path& dir() const { return dir_; }
  int port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path socket_path_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> pcscd_;
  std::unique_ptr<ChildProcess> card_;
};

}  // namespace onshid::testing
