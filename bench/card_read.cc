// Card reader benchmark (bench/README.md, issue 4 §4): reading the user-authentication certificate
// of a virtual マイナカード through the real pcscd + vsmartcard-vpcd stack.
//
//   (a) baseline: a minimal raw-APDU loop on libpcsclite in this process (one SCardConnect; per read
//       SELECT JPKI AP, SELECT EF 000A, READ BINARY header + chunks)
//   (a') the same loop with SCardConnect + exclusive transaction + SCardDisconnect per read (what
//       the adapter does around every operation), to split the adapter's cost
//   (b) PcscCardReaders::InspectCard (token EF, certificate read, OpenSSL parse, chain check,
//       classification), ratio against (a)
//   (c) OpenSC `pkcs15-tool --read-certificate 01` as a subprocess, when installed
//   (d) card insert (SIGUSR2 to the virtual card) -> CARD_INSERTED watcher callback, against a bare
//       SCardGetStatusChange waiter in this process seeing the same insert
//
// Numbers for people; nothing is asserted. Exits non-zero only when something did not work.

#include <PCSC/pcsclite.h>
#include <PCSC/winscard.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "core/clock.h"
#include "pcsc/pcsc_card_readers.h"
#include "pcsc/x509_certificate.h"
#include "support/child_process.h"
#include "support/pcsc_test_env.h"

namespace {

using namespace std::chrono_literals;
using onshid::bench::Ms;
using onshid::bench::SteadyClock;
using onshid::bench::Stats;
using onshid::core::card::ReaderEvent;
using onshid::core::card::ReaderEventKind;

constexpr char kUsage[] =
    "usage: card_read [--reads N] [--opensc-reads N] [--inserts N] [--warmup N]\n"
    "  Starts a private pcscd + virtual card and times certificate reads and insert events.\n"
    "  --reads        certificate reads per in-process measurement (default 200)\n"
    "  --opensc-reads pkcs15-tool runs, when OpenSC is installed (default 20)\n"
    "  --inserts      remove/insert cycles for the event latency (default 20)\n"
    "  --warmup       untimed reads before each read measurement (default 5)\n";

// ---- (a) the raw-APDU baseline -----------------------------------------------------------------

class RawCard {
 public:
  explicit RawCard(SCARDHANDLE card, DWORD protocol)
      : card_(card), pci_(protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0) {}

  // Sends one short APDU; returns the data with SW 9000 stripped, or nullopt (and `error_`).
  std::optional<std::vector<unsigned char>> Send(const std::vector<unsigned char>& apdu) {
    unsigned char buf[258];
    DWORD len = sizeof buf;
    const LONG rv = SCardTransmit(card_, pci_, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr,
                                  buf, &len);
    if (rv != SCARD_S_SUCCESS) {
      error_ = std::string("SCardTransmit: ") + pcsc_stringify_error(rv);
      return std::nullopt;
    }
    if (len < 2) {  // vpcd answers a removed card with an empty response (JPKI-CARD.md §7.7)
      error_ = "response shorter than a status word";
      return std::nullopt;
    }
    if (buf[len - 2] != 0x90 || buf[len - 1] != 0x00) {
      char sw[8];
      std::snprintf(sw, sizeof sw, "%02X%02X", buf[len - 2], buf[len - 1]);
      error_ = std::string("status word ") + sw;
      return std::nullopt;
    }
    return std::vector<unsigned char>(buf, buf + len - 2);
  }

  // SELECT AP, SELECT EF 000A, READ BINARY the DER certificate. Empty on error.
  std::vector<unsigned char> ReadCertificate() {
    static const std::vector<unsigned char> kSelectAp = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0,
                                                         0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
    static const std::vector<unsigned char> kSelectEf = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A};
    if (!Send(kSelectAp) || !Send(kSelectEf)) return {};
    auto head = Send({0x00, 0xB0, 0x00, 0x00, 0x04});
    if (!head) return {};
    if (head->size() != 4 || (*head)[0] != 0x30) {
      error_ = "not a DER SEQUENCE";
      return {};
    }
    // DER length: short form, 81 xx or 82 xx xx (a certificate never needs more).
    std::size_t total = 0;
    const unsigned char l0 = (*head)[1];
    if (l0 < 0x80) {
      total = 2 + l0;
    } else if (l0 == 0x81) {
      total = 3 + (*head)[2];
    } else if (l0 == 0x82) {
      total = 4 + ((static_cast<std::size_t>((*head)[2]) << 8) | (*head)[3]);
    } else {
      error_ = "unsupported DER length form";
      return {};
    }
    if (total > 4096) {
      error_ = "certificate length over 4096";
      return {};
    }
    std::vector<unsigned char> der;
    der.reserve(total);
    while (der.size() < total) {
      const std::size_t chunk = std::min<std::size_t>(256, total - der.size());
      const auto off = der.size();
      auto data = Send({0x00, 0xB0, static_cast<unsigned char>((off >> 8) & 0x7F),
                        static_cast<unsigned char>(off & 0xFF),
                        static_cast<unsigned char>(chunk == 256 ? 0x00 : chunk)});
      if (!data) return {};
      if (data->empty() || data->size() > chunk) {
        error_ = "READ BINARY returned " + std::to_string(data->size()) + " bytes";
        return {};
      }
      der.insert(der.end(), data->begin(), data->end());
    }
    return der;
  }

  const std::string& error() const { return error_; }

 private:
  SCARDHANDLE card_;
  const SCARD_IO_REQUEST* pci_;
  std::string error_;
};

std::vector<unsigned char> PemToDer(const std::filesystem::path& pem) {
  FILE* f = std::fopen(pem.c_str(), "rb");
  if (f == nullptr) return {};
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (x == nullptr) return {};
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  std::vector<unsigned char> out;
  if (n > 0) out.assign(der, der + n);
  OPENSSL_free(der);
  X509_free(x);
  return out;
}

// ---- (b)/(d) the adapter's watcher -------------------------------------------------------------

class EventLog {
 public:
  void Add(const ReaderEvent& e) {
    const auto at = SteadyClock::now();
    std::lock_guard lock(mu_);
    events_.push_back({e.kind, at});
    cv_.notify_all();
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  // Time of the first `kind` event at index >= from, or nullopt after `timeout`.
  std::optional<SteadyClock::time_point> WaitFor(ReaderEventKind kind, std::size_t from,
                                                 std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    std::optional<SteadyClock::time_point> found;
    cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = from; i < events_.size(); ++i) {
        if (events_[i].first == kind) {
          found = events_[i].second;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<ReaderEventKind, SteadyClock::time_point>> events_;
};

// (d) baseline: a bare SCardGetStatusChange loop on its own context, timestamping each card
// arrival and departure on `reader`.
class RawWatcher {
 public:
  explicit RawWatcher(std::string reader) : reader_(std::move(reader)) {
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx_) != SCARD_S_SUCCESS) return;
    ok_ = true;
    thread_ = std::thread([this] { Loop(); });
  }
  ~RawWatcher() {
    stop_ = true;
    if (ok_) SCardCancel(ctx_);
    if (thread_.joinable()) thread_.join();
    if (ok_) SCardReleaseContext(ctx_);
  }
  bool ok() const { return ok_; }
  EventLog& log() { return log_; }

 private:
  void Loop() {
    SCARD_READERSTATE state{};
    state.szReader = reader_.c_str();
    state.dwCurrentState = SCARD_STATE_UNAWARE;
    bool first = true;
    while (!stop_) {
      const LONG rv = SCardGetStatusChange(ctx_, 2000, &state, 1);
      if (rv == SCARD_E_TIMEOUT) continue;
      if (rv != SCARD_S_SUCCESS) break;
      const bool was = (state.dwCurrentState & SCARD_STATE_PRESENT) != 0;
      const bool now = (state.dwEventState & SCARD_STATE_PRESENT) != 0;
      if (!first && was != now) {
        ReaderEvent e;
        e.kind = now ? ReaderEventKind::kCardInserted : ReaderEventKind::kCardRemoved;
        log_.Add(e);
      }
      first = false;
      state.dwCurrentState = state.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    }
  }

  std::string reader_;
  SCARDCONTEXT ctx_ = 0;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  EventLog log_;
  std::thread thread_;
};

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = std::min(p.find(':', start), p.size());
    const std::string candidate = p.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

void PrintLine(const std::string& what, const std::string& text) {
  std::printf("%-58s %s\n", what.c_str(), text.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  onshid::bench::Flags flags(
      argc, argv, {{"reads", "200"}, {"opensc-reads", "20"}, {"inserts", "20"}, {"warmup", "5"}},
      kUsage);
  const long reads = flags.Int("reads", 1, 100000);
  const long opensc_reads = flags.Int("opensc-reads", 0, 10000);
  const long inserts = flags.Int("inserts", 0, 10000);
  const long warmup = flags.Int("warmup", 0, 1000);
  spdlog::set_level(spdlog::level::warn);

  // Sets PCSCLITE_CSOCK_NAME for this process (and inherited by pkcs15-tool) before any PC/SC call.
  onshid::testing::PcscTestEnv env;
  env.StartPcscd();
  const auto now = std::chrono::system_clock::now();
  const auto cert_pem = onshid::testing::SharedTestPki().Issue(
      "BENCHVALID", now - std::chrono::hours(24 * 365), now + std::chrono::hours(24 * 365 * 3));
  onshid::testing::VirtualCardOptions card;
  card.certificate = cert_pem;
  env.StartCard(card);
  const std::string reader = env.WaitForCard(true, 15s);
  if (reader.empty()) {
    std::cerr << "virtual card did not appear in the private pcscd\n";
    return 1;
  }
  const std::vector<unsigned char> expected_der = PemToDer(cert_pem);
  std::printf("reader \"%s\", certificate %zu bytes DER, pcscd pid %d\n\n", reader.c_str(),
              expected_der.size(), static_cast<int>(env.pcscd_pid()));

  int status = 0;
  Stats raw, raw_session, adapter, opensc, insert_raw, insert_adapter, remove_adapter;

  // ---- (a) raw-APDU loop, one connection ----
  SCARDCONTEXT ctx = 0;
  if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) {
    std::cerr << "SCardEstablishContext failed\n";
    return 1;
  }
  {
    SCARDHANDLE h = 0;
    DWORD protocol = 0;
    LONG rv = SCardConnect(ctx, reader.c_str(), SCARD_SHARE_SHARED,
                           SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &protocol);
    if (rv != SCARD_S_SUCCESS) {
      std::cerr << "SCardConnect: " << pcsc_stringify_error(rv) << "\n";
      return 1;
    }
    RawCard raw_card(h, protocol);
    for (long i = 0; i < warmup + reads; ++i) {
      const auto t0 = SteadyClock::now();
      const auto der = raw_card.ReadCertificate();
      const auto t1 = SteadyClock::now();
      if (der.empty() || der != expected_der) {
        std::cerr << "raw read " << i << " failed: "
                  << (der.empty() ? raw_card.error() : std::string("DER differs from the card's PEM"))
                  << "\n";
        status = 1;
        break;
      }
      if (i >= warmup) raw.Add(Ms(t0, t1));
    }
    SCardDisconnect(h, SCARD_LEAVE_CARD);
  }

  // ---- (a') raw-APDU loop, connect + exclusive transaction + disconnect per read ----
  for (long i = 0; status == 0 && i < warmup + reads; ++i) {
    const auto t0 = SteadyClock::now();
    SCARDHANDLE h = 0;
    DWORD protocol = 0;
    LONG rv = SCardConnect(ctx, reader.c_str(), SCARD_SHARE_SHARED,
                           SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &protocol);
    if (rv == SCARD_S_SUCCESS) rv = SCardBeginTransaction(h);
    std::vector<unsigned char> der;
    std::string error = rv == SCARD_S_SUCCESS ? "" : pcsc_stringify_error(rv);
    if (rv == SCARD_S_SUCCESS) {
      RawCard raw_card(h, protocol);
      der = raw_card.ReadCertificate();
      if (der.empty()) error = raw_card.error();
      SCardEndTransaction(h, SCARD_LEAVE_CARD);
    }
    if (h != 0) SCardDisconnect(h, SCARD_LEAVE_CARD);
    const auto t1 = SteadyClock::now();
    if (der != expected_der) {
      std::cerr << "raw session read " << i << " failed: " << (error.empty() ? "DER differs" : error)
                << "\n";
      status = 1;
      break;
    }
    if (i >= warmup) raw_session.Add(Ms(t0, t1));
  }

  // ---- (b) the adapter ----
  onshid::core::SystemClock clock;
  onshid::pcsc::PcscOptions options;
  auto anchors = std::make_shared<onshid::pcsc::TrustAnchors>();
  anchors->AddFile(onshid::testing::SharedTestPki().ca_certificate());
  options.card.trust_anchors = anchors;
  options.card.card_key_secret = {'b', 'e', 'n', 'c', 'h', '-', 'k', 'e', 'y'};
  onshid::pcsc::PcscCardReaders readers(options, clock);
  EventLog events;
  readers.Watch([&events](const ReaderEvent& e) { events.Add(e); });
  readers.Start();
  if (!events.WaitFor(ReaderEventKind::kCardInserted, 0, 15s)) {
    std::cerr << "the adapter did not report the card\n";
    return 1;
  }
  for (long i = 0; status == 0 && i < warmup + reads; ++i) {
    std::promise<onshid::core::Result<onshid::core::card::CardInspection>> done;
    auto result = done.get_future();
    const auto t0 = SteadyClock::now();
    readers.InspectCard(reader, [&done](onshid::core::Result<onshid::core::card::CardInspection> r) {
      done.set_value(std::move(r));
    });
    if (result.wait_for(20s) != std::future_status::ready) {
      std::cerr << "InspectCard " << i << " timed out\n";
      status = 1;
      break;
    }
    const auto t1 = SteadyClock::now();
    const auto r = result.get();
    if (!r.ok() || !r->certificate ||
        r->certificate->status != onshid::core::card::CertificateStatus::kValid ||
        r->certificate->der != expected_der) {
      std::cerr << "InspectCard " << i << " failed: "
                << (r.ok() ? "no VALID certificate with the card's DER" : r.error().reason) << "\n";
      status = 1;
      break;
    }
    if (i >= warmup) adapter.Add(Ms(t0, t1));
  }

  // ---- (c) OpenSC ----
  const std::string pkcs15_tool = FindOnPath("pkcs15-tool");
  std::string opensc_note;
  if (pkcs15_tool.empty()) {
    opensc_note = "OpenSC is not installed (pkcs15-tool not on PATH): skipped";
  } else {
    for (long i = 0; i < opensc_reads; ++i) {
      const auto t0 = SteadyClock::now();
      onshid::testing::ChildOptions read;
      read.argv = {pkcs15_tool, "--read-certificate", "01"};
      read.stderr_path = std::nullopt;  // its complaints go to the terminal
      const auto out = onshid::testing::RunToEnd(read, 30s);
      const auto t1 = SteadyClock::now();
      if (out.exit_code != 0 || out.output.find("BEGIN CERTIFICATE") == std::string::npos) {
        opensc_note = "pkcs15-tool --read-certificate 01 failed (run " + std::to_string(i) + ")";
        opensc = Stats{};
        break;
      }
      opensc.Add(Ms(t0, t1));
    }
  }

  // ---- (d) insert -> CARD_INSERTED ----
  std::string insert_note;
  if (inserts > 0) {
    RawWatcher watcher(reader);
    if (!watcher.ok()) {
      insert_note = "SCardEstablishContext for the raw watcher failed";
    }
    for (long i = 0; insert_note.empty() && i < inserts; ++i) {
      const std::size_t from = events.size();
      const std::size_t raw_from = watcher.log().size();
      const auto t_remove = SteadyClock::now();
      env.RemoveCard();
      const auto removed = events.WaitFor(ReaderEventKind::kCardRemoved, from, 10s);
      const auto raw_removed = watcher.log().WaitFor(ReaderEventKind::kCardRemoved, raw_from, 10s);
      if (!removed || !raw_removed) {
        insert_note = "no CARD_REMOVED after SIGUSR1 (cycle " + std::to_string(i) + ")";
        break;
      }
      remove_adapter.Add(Ms(t_remove, *removed));
      const std::size_t from2 = events.size();
      const std::size_t raw_from2 = watcher.log().size();
      const auto t_insert = SteadyClock::now();
      env.InsertCard();
      const auto inserted = events.WaitFor(ReaderEventKind::kCardInserted, from2, 10s);
      const auto raw_inserted = watcher.log().WaitFor(ReaderEventKind::kCardInserted, raw_from2, 10s);
      if (!inserted || !raw_inserted) {
        insert_note = "no CARD_INSERTED after SIGUSR2 (cycle " + std::to_string(i) + ")";
        break;
      }
      insert_adapter.Add(Ms(t_insert, *inserted));
      insert_raw.Add(Ms(t_insert, *raw_inserted));
    }
    if (!insert_note.empty()) status = 1;
  }
  readers.Stop();
  SCardReleaseContext(ctx);

  onshid::bench::PrintHeader();
  onshid::bench::PrintRow("(a) raw APDUs, one SCardConnect: cert read", raw, nullptr);
  onshid::bench::PrintRow("(a') raw APDUs, connect+transaction per read", raw_session, &raw);
  onshid::bench::PrintRow("(b) PcscCardReaders::InspectCard (read+parse+chain)", adapter, &raw);
  if (opensc.count() > 0) {
    onshid::bench::PrintRow("(c) pkcs15-tool --read-certificate 01 (process)", opensc, &raw);
  } else {
    PrintLine("(c) pkcs15-tool --read-certificate 01", opensc_note.empty() ? "not run" : opensc_note);
    if (!pkcs15_tool.empty()) status = 1;
  }
  if (inserts > 0) {
    onshid::bench::PrintRow("(d0) SIGUSR2 -> raw SCardGetStatusChange sees card", insert_raw, nullptr);
    onshid::bench::PrintRow("(d) SIGUSR2 -> Watch CARD_INSERTED callback", insert_adapter,
                            &insert_raw);
    onshid::bench::PrintRow("(d') SIGUSR1 -> Watch CARD_REMOVED callback", remove_adapter, &insert_raw);
    if (!insert_note.empty()) PrintLine("(d) insert/remove", insert_note);
  }
  std::printf("\nx p50 / x p99: ratio to (a) for reads, to (d0) for card events.\n");
  return status;
}
