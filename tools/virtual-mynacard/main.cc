// virtual-mynacard: a virtual My Number card (JPKI AP + 券面事項入力補助AP) for tests and the demo.
//
// It connects to vsmartcard-vpcd's TCP port and speaks its protocol directly: every message is a
// 2-byte big-endian length and a payload; a 1-byte payload is a control message (0 power off,
// 1 power on, 2 reset, 4 "send the ATR"), anything else is a command APDU answered with a response
// APDU. TCP_QUICKACK is re-armed after every recv (JPKI-CARD.md §7.2).
//
// Insertion and removal: the card is "inserted" while connected to vpcd.
//   SIGUSR1  remove the card (close the connection; stay removed)
//   SIGUSR2  insert the card (reconnect)
//   SIGTERM / SIGINT  exit
// If vpcd is not listening (pcscd not up yet or restarted) the card keeps retrying every 50 ms
// while inserted. --remove-after N drops the connection when the Nth APDU after an insertion
// arrives, without answering it (removal in the middle of a read); the card then stays removed.
//
// Usage:
//   virtual-mynacard --port P [--host 127.0.0.1] --auth-cert FILE --auth-key FILE
//       [--token card|phone|juki] [--pin 1234] [--kenhojo-pin 5678] [--locked-sw 63C0|6984]
//       [--state FILE] [--log FILE] [--remove-after N] [--removed]
//       [--name S] [--address S] [--birth-date YYYYMMDD] [--sex CODE]
// The command log (--log) has one line per APDU: sequence, header, what it did, SW. It never
// contains command data (PINs) or response data. Any touch of a My Number location (入力補助AP
// EF 0001 / 0014, anything in the 券面AP) is marked FORBIDDEN.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "virtual_card.h"

namespace {

using virtual_mynacard::CardConfig;
using virtual_mynacard::VirtualCard;

const std::vector<std::uint8_t> kAtr = {0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12,
                                        0x39, 0x2F, 0x31, 0xC1, 0x73, 0xC6, 0x01, 0xC0, 0x3B};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "virtual-mynacard: " << message << std::endl;
  std::exit(2);
}

std::vector<std::uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> LoadCertificateDer(const std::string& path) {
  std::vector<std::uint8_t> bytes = ReadFile(path);
  if (!bytes.empty() && bytes[0] == 0x30) return bytes;  // already DER
  BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (x == nullptr) Die("no certificate in " + path);
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  X509_free(x);
  return out;
}

EVP_PKEY* LoadKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) Die("cannot read " + path);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) Die("no private key in " + path);
  return key;
}

bool ReadExact(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = recv(fd, p, n, 0);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      return false;
    }
    int one = 1;  // delayed ACK would stall vpcd's next two-part send by ~40 ms
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool SendMessage(int fd, const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> msg = {static_cast<std::uint8_t>(payload.size() >> 8),
                                   static_cast<std::uint8_t>(payload.size() & 0xFF)};
  msg.insert(msg.end(), payload.begin(), payload.end());
  std::size_t off = 0;
  while (off < msg.size()) {
    const ssize_t w = send(fd, msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(w);
  }
  return true;
}

int Connect(const std::string& host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  CardConfig config;
  std::string host = "127.0.0.1";
  int port = 0;
  long remove_after = 0;
  bool want_inserted = true;
  std::string cert_path, key_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--port") port = std::stoi(next());
    else if (arg == "--host") host = next();
    else if (arg == "--auth-cert") cert_path = next();
    else if (arg == "--auth-key") key_path = next();
    else if (arg == "--pin") config.auth_pin = next();
    else if (arg == "--kenhojo-pin") config.kenhojo_pin = next();
    else if (arg == "--state") config.state_file = next();
    else if (arg == "--log") config.log_file = next();
    else if (arg == "--remove-after") remove_after = std::stol(next());
    else if (arg == "--removed") want_inserted = false;
    else if (arg == "--name") config.name = next();
    else if (arg == "--address") config.address = next();
    else if (arg == "--birth-date") config.birth_date = next();
    else if (arg == "--sex") config.sex = next();
    else if (arg == "--token") {
      const std::string t = next();
      if (t == "card") config.token = "JPKIAPICCTOKEN2";
      else if (t == "phone") config.token = "JPKIAPGPSETOKEN";
      else if (t == "juki") config.token = "JPKIAPICCTOKEN";
      else Die("--token must be card, phone or juki");
    } else if (arg == "--locked-sw") {
      const std::string sw = next();
      if (sw == "63C0") config.locked_sw = 0x63C0;
      else if (sw == "6984") config.locked_sw = 0x6984;
      else Die("--locked-sw must be 63C0 or 6984");
    } else {
      Die("unknown option " + arg);
    }
  }
  if (port <= 0 || cert_path.empty() || key_path.empty()) {
    Die("usage: virtual-mynacard --port P --auth-cert FILE --auth-key FILE [options]");
  }
  config.auth_certificate_der = LoadCertificateDer(cert_path);
  config.auth_key = LoadKey(key_path);
  VirtualCard card(config);

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int sig_fd = signalfd(-1, &signals, SFD_CLOEXEC);

  int fd = -1;
  long apdus_since_insert = 0;
  card.LogEvent("-- started");
  for (;;) {
    if (fd < 0 && want_inserted) {
      fd = Connect(host, port);
      if (fd >= 0) {
        apdus_since_insert = 0;
        card.Reset("inserted");
      }
    }
    pollfd fds[2] = {{sig_fd, POLLIN, 0}, {fd, POLLIN, 0}};
    const int timeout = (fd < 0 && want_inserted) ? 50 : -1;
    if (poll(fds, fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR) Die("poll failed");
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(sig_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGUSR1) {
          want_inserted = false;
          if (fd >= 0) close(fd), fd = -1;
          card.Reset("removed (SIGUSR1)");
        } else if (info.ssi_signo == SIGUSR2) {
          want_inserted = true;
        } else {
          if (fd >= 0) close(fd);
          card.LogEvent("-- exit");
          return 0;
        }
      }
      continue;
    }
    if (fd < 0 || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    std::uint8_t header[2];
    std::vector<std::uint8_t> payload;
    bool ok = ReadExact(fd, header, 2);
    if (ok) {
      payload.resize(static_cast<std::size_t>((header[0] << 8) | header[1]));
      ok = ReadExact(fd, payload.data(), payload.size());
    }
    if (!ok) {  // vpcd went away (pcscd stopped): reconnect while inserted
      close(fd);
      fd = -1;
      card.Reset("vpcd disconnected");
      continue;
    }
    if (payload.size() == 1) {
      switch (payload[0]) {
        case 0: card.Reset("power off"); break;
        case 1: card.Reset("power on"); break;
        case 2: card.Reset("reset"); break;
        case 4: ok = SendMessage(fd, kAtr); break;
        default: break;
      }
    } else if (!payload.empty()) {
      if (remove_after > 0 && ++apdus_since_insert >= remove_after) {
        card.LogEvent("-- removed mid-command (--remove-after)");
        close(fd);
        fd = -1;
        want_inserted = false;
        remove_after = 0;
        continue;
      }
      ok = SendMessage(fd, card.Process(payload));
    }
    if (!ok) {
      close(fd);
      fd = -1;
      card.Reset("vpcd disconnected");
    }
  }
}
