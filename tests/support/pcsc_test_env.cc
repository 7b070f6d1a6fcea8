#include "support/pcsc_test_env.h"

#include <PCSC/pcsclite.h>
#include <PCSC/winscard.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace onshid::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kPcscd[] = "/usr/sbin/pcscd";
constexpr char kVpcdDriver[] = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so.0.8";

fs::path ProcessDir() {
  static const fs::path dir = [] {
    fs::path d = fs::path("/tmp") / ("onshid-pcsc-" + std::to_string(getpid()));
    fs::create_directories(d);
    // Before the first PC/SC call of this process: the client library caches it.
    setenv("PCSCLITE_CSOCK_NAME", (d / "pcscd.comm").c_str(), 1);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::path("/tmp") / ("onshid-pcsc-" + std::to_string(getpid())), ec);
    });
    return d;
  }();
  return dir;
}

bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);  // vpcd binds 0.0.0.0
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

int PickPortPair() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (port < 65000 && PortFree(port) && PortFree(port + 1)) return port;
  }
  throw std::runtime_error("no free vpcd port pair");
}

// ---- OpenSSL helpers for the test PKI ----
EVP_PKEY* NewRsaKey() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) throw std::runtime_error("RSA key generation failed");
  return key;
}

void WriteKey(EVP_PKEY* key, const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

EVP_PKEY* ReadKey(const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return key;
}

X509* ReadCert(const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return x;
}

void WriteCert(X509* x, const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  PEM_write_X509(f, x);
  std::fclose(f);
}

X509_NAME* JlisAuthCaName() {
  X509_NAME* n = X509_NAME_new();
  auto add = [n](const char* field, const char* value) {
    X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value), -1, -1, 0);
  };
  add("C", "JP");
  add("O", "JPKI");
  add("OU", "JPKI for user authentication");
  add("OU", "Japan Agency for Local Authority Information Systems");
  return n;
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error(std::string("extension failed: ") + OBJ_nid2sn(nid));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// issuer == nullptr: self-signed CA.
X509* MakeCert(X509_NAME* subject, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key,
               long serial, std::time_t not_before, std::time_t not_after) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_set_subject_name(x, subject);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : subject);
  ASN1_TIME_set(X509_getm_notBefore(x), not_before);
  ASN1_TIME_set(X509_getm_notAfter(x), not_after);
  X509_set_pubkey(x, subject_key);
  X509* ext_issuer = issuer != nullptr ? issuer : x;
  AddExt(x, ext_issuer, NID_subject_key_identifier, "hash");
  if (issuer == nullptr) {
    AddExt(x, ext_issuer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(x, ext_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(x, ext_issuer, NID_authority_key_identifier, "keyid:always");
    AddExt(x, ext_issuer, NID_key_usage, "critical,digitalSignature");
  }
  X509_sign(x, issuer_key, EVP_sha256());
  return x;
}

void MakeCa(const fs::path& cert_path, const fs::path& key_path, long serial) {
  EVP_PKEY* key = NewRsaKey();
  X509_NAME* name = JlisAuthCaName();
  const std::time_t now = std::time(nullptr);
  X509* ca = MakeCert(name, key, nullptr, key, serial, now - 20L * 365 * 86400,
                      now + 20L * 365 * 86400);
  WriteCert(ca, cert_path);
  WriteKey(key, key_path);
  X509_free(ca);
  X509_NAME_free(name);
  EVP_PKEY_free(key);
}

}  // namespace

// ---------------- TestPki ----------------

TestPki::TestPki() {
  dir_ = ProcessDir() / "pki";
  fs::create_directories(dir_);
  ca_cert_ = dir_ / "auth_ca.pem";
  ca_key_ = dir_ / "auth_ca.key";
  impostor_cert_ = dir_ / "impostor_ca.pem";
  impostor_key_ = dir_ / "impostor_ca.key";
  user_key_ = dir_ / "user.key";
  MakeCa(ca_cert_, ca_key_, 0x06D18006);
  MakeCa(impostor_cert_, impostor_key_, 0x01);
  EVP_PKEY* user = NewRsaKey();
  WriteKey(user, user_key_);
  EVP_PKEY_free(user);
}

std::vector<std::uint8_t> TestPki::CaDer() const {
  X509* x = ReadCert(ca_cert_);
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  X509_free(x);
  return out;
}

fs::path TestPki::Issue(const std::string& cn, std::chrono::system_clock::time_point not_before,
                        std::chrono::system_clock::time_point not_after, bool by_impostor_ca) {
  X509* issuer = ReadCert(by_impostor_ca ? impostor_cert_ : ca_cert_);
  EVP_PKEY* issuer_key = ReadKey(by_impostor_ca ? impostor_key_ : ca_key_);
  EVP_PKEY* user = ReadKey(user_key_);
  X509_NAME* subject = X509_NAME_new();
  X509_NAME_add_entry_by_txt(subject, "C", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("JP"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* x = MakeCert(subject, user, issuer, issuer_key, ++serial_,
                     std::chrono::system_clock::to_time_t(not_before),
                     std::chrono::system_clock::to_time_t(not_after));
  const fs::path path = dir_ / (cn + ".pem");
  WriteCert(x, path);
  X509_free(x);
  X509_NAME_free(subject);
  EVP_PKEY_free(user);
  EVP_PKEY_free(issuer_key);
  X509_free(issuer);
  return path;
}

TestPki& SharedTestPki() {
  static TestPki pki;
  return pki;
}

// ---------------- PcscTestEnv ----------------

PcscTestEnv::PcscTestEnv() {
  socket_path_ = ProcessDir() / "pcscd.comm";
  static int counter = 0;
  dir_ = ProcessDir() / ("env" + std::to_string(++counter));
  fs::remove_all(dir_);
  fs::create_directories(dir_ / "reader.conf.d");
  port_ = PickPortPair();
  std::ofstream conf(dir_ / "reader.conf.d" / "vpcd");
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%04X", port_);
  conf << "FRIENDLYNAME \"Virtual PCD\"\n"
       << "DEVICENAME   /dev/null:" << hex << "\n"
       << "LIBPATH      " << kVpcdDriver << "\n"
       << "CHANNELID    " << hex << "\n";
}

PcscTestEnv::~PcscTestEnv() {
  StopCard();
  StopPcscd();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PcscTestEnv::StartPcscd() {
  if (pcscd_) return;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
  unlink(socket_path_.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind " + socket_path_.string());
  }
  chmod(socket_path_.c_str(), 0666);
  ChildOptions pcscd;
  pcscd.argv = {kPcscd, "--foreground", "--config", (dir_ / "reader.conf.d").string()};
  pcscd.stdout_path = (dir_ / "pcscd.log").string();
  pcscd.stderr_to_stdout = true;
  pcscd.listen_fds = {fd};
  try {
    pcscd_ = std::make_unique<ChildProcess>(std::move(pcscd));
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
}

void PcscTestEnv::StopPcscd(int signal) {
  if (pcscd_) pcscd_->Stop(signal, std::chrono::seconds(5));
  pcscd_.reset();
}

pid_t PcscTestEnv::pcscd_pid() const { return pcscd_ ? pcscd_->pid() : -1; }

void PcscTestEnv::StartCard(const VirtualCardOptions& options) {
  StopCard();
  fs::path cert = options.certificate;
  if (cert.empty()) {
    const auto now = std::chrono::system_clock::now();
    cert = SharedTestPki().Issue("DEFAULTVALID", now - std::chrono::hours(24 * 365),
                                 now + std::chrono::hours(24 * 365 * 3));
  }
  if (!options.keep_state) ResetCardState();
  std::vector<std::string> args = {VIRTUAL_MYNACARD_BINARY,
                                   "--port", std::to_string(port_),
                                   "--auth-cert", cert.string(),
                                   "--auth-key", SharedTestPki().user_key().string(),
                                   "--token", options.token,
                                   "--locked-sw", options.locked_sw,
                                   "--state", (dir_ / "card.state").string(),
                                   "--log", (dir_ / "card.log").string()};
  if (options.remove_after > 0) {
    args.push_back("--remove-after");
    args.push_back(std::to_string(options.remove_after));
  }
  // Its command log is --log; what it prints goes next to it, not into the test's output.
  card_ = std::make_unique<ChildProcess>(std::move(args), (dir_ / "card.out").string());
}

void PcscTestEnv::StopCard() {
  if (card_) card_->Stop(SIGTERM, std::chrono::seconds(5));
  card_.reset();
}
void PcscTestEnv::RemoveCard() {
  if (card_) card_->Signal(SIGUSR1);
}
void PcscTestEnv::InsertCard() {
  if (card_) card_->Signal(SIGUSR2);
}
void PcscTestEnv::ResetCardState() {
  std::error_code ec;
  fs::remove(dir_ / "card.state", ec);
}

std::string PcscTestEnv::WaitForCard(bool present, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining = [&]() -> DWORD {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return left.count() > 0 ? static_cast<DWORD>(left.count()) : 0;
  };
  SCARDCONTEXT ctx = 0;
  while (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) {
    if (remaining() == 0) return "";
    usleep(20000);  // pcscd is starting; nothing to wait on yet
  }
  std::string reader;
  DWORD pnp_state = 0;
  while (reader.empty() && remaining() > 0) {
    DWORD size = SCARD_AUTOALLOCATE;
    char* list = nullptr;
    if (SCardListReaders(ctx, nullptr, reinterpret_cast<char*>(&list), &size) == SCARD_S_SUCCESS) {
      std::vector<std::string> names;
      for (const char* p = list; *p != '\0'; p += std::strlen(p) + 1) names.emplace_back(p);
      SCardFreeMemory(ctx, list);
      std::sort(names.begin(), names.end());
      if (!names.empty()) reader = names.front();  // slot 0 = port_
    }
    if (reader.empty()) {
      SCARD_READERSTATE pnp{};
      pnp.szReader = "\\\\?PnP?\\Notification";
      pnp.dwCurrentState = pnp_state;
      SCardGetStatusChange(ctx, std::min<DWORD>(remaining(), 500), &pnp, 1);
      pnp_state = pnp.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    }
  }
  bool reached = false;
  SCARD_READERSTATE state{};
  state.szReader = reader.c_str();
  state.dwCurrentState = SCARD_STATE_UNAWARE;
  while (!reader.empty()) {
    const LONG rv = SCardGetStatusChange(ctx, remaining(), &state, 1);
    if (rv != SCARD_S_SUCCESS) break;
    const bool now_present = (state.dwEventState & SCARD_STATE_PRESENT) != 0;
    if (now_present == present) {
      reached = true;
      break;
    }
    state.dwCurrentState = state.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    if (remaining() == 0) break;
  }
  SCardReleaseContext(ctx);
  return reached ? reader : "";
}

std::string PcscTestEnv::CardLog() const {
  std::ifstream in(dir_ / "card.log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace onshid::testing
