// Integration tests of the PC/SC adapter on a private pcscd + vsmartcard-vpcd + virtual-mynacard.
#include <PCSC/pcsclite.h>
#include <PCSC/winscard.h>

#include <catch2/catch.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "core/card/pin.h"
#include "pcsc/card_session.h"
#include "pcsc/pcsc_card_readers.h"
#include "pcsc/pcsc_channel.h"
#include "support/manual_clock.h"
#include "support/pcsc_test_env.h"

namespace {

using namespace std::chrono_literals;
using onshid::core::card::CertificateStatus;
using onshid::core::card::Pin;
using onshid::core::card::ReaderEvent;
using onshid::core::card::ReaderEventKind;
using onshid::testing::PcscTestEnv;
using onshid::testing::SharedTestPki;
using onshid::testing::VirtualCardOptions;

using onshid::testing::ManualClock;

// 2026-06-15 12:00 JST.
const onshid::core::SystemTime kNow =
    onshid::core::SystemTime(std::chrono::sys_days(std::chrono::year{2026} / 6 / 15).time_since_epoch()) +
    3h;
constexpr auto kDay = std::chrono::hours(24);

// Records events; waits on a condition variable (never sleeps).
class EventLog {
 public:
  void Add(const ReaderEvent& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // Waits for an event of `kind` after position `from`; returns its index or -1.
  int WaitFor(ReaderEventKind kind, std::size_t from = 0, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    int found = -1;
    cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = from; i < events_.size(); ++i) {
        if (events_[i].kind == kind) {
          found = static_cast<int>(i);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReaderEvent> events_;
};

template <typename T>
struct Waiter {
  std::promise<onshid::core::Result<T>> promise;
  onshid::core::card::Completion<T> Callback() {
    return [this](onshid::core::Result<T> r) { promise.set_value(std::move(r)); };
  }
  onshid::core::Result<T> Get() {
    auto f = promise.get_future();
    if (f.wait_for(20s) != std::future_status::ready) FAIL("operation timed out");
    return f.get();
  }
};

Pin MakePin(const char* digits) { return std::move(Pin::Parse(digits).value()); }

struct Stack {
  PcscTestEnv env;
  ManualClock clock{kNow};
  std::unique_ptr<onshid::pcsc::PcscCardReaders> readers;
  EventLog events;
  std::string reader;

  explicit Stack(const VirtualCardOptions& card = {}, bool start_card = true) {
    env.StartPcscd();
    if (start_card) {
      env.StartCard(card);
      reader = env.WaitForCard(true);
      REQUIRE_FALSE(reader.empty());
    }
    onshid::pcsc::PcscOptions options;
    auto anchors = std::make_shared<onshid::pcsc::TrustAnchors>();
    anchors->AddFile(SharedTestPki().ca_certificate());
    options.card.trust_anchors = anchors;
    options.card.card_key_secret = {1, 2, 3, 4, 5, 6, 7, 8};
    options.initial_backoff = 50ms;
    options.max_backoff = 400ms;
    readers = std::make_unique<onshid::pcsc::PcscCardReaders>(options, clock);
    readers->Watch([this](const ReaderEvent& e) { events.Add(e); });
    readers->Start();
    if (start_card) REQUIRE(events.WaitFor(ReaderEventKind::kCardInserted) >= 0);
  }
  ~Stack() { readers->Stop(); }

  onshid::core::Result<onshid::core::card::CardInspection> Inspect() {
    Waiter<onshid::core::card::CardInspection> w;
    readers->InspectCard(reader, w.Callback());
    return w.Get();
  }
  onshid::core::Result<onshid::core::card::PinStatus> PinStatus() {
    Waiter<onshid::core::card::PinStatus> w;
    readers->GetPinStatus(reader, w.Callback());
    return w.Get();
  }
  onshid::core::Result<onshid::core::card::PinStatus> Verify(const char* pin, int reserve = 0) {
    Waiter<onshid::core::card::PinStatus> w;
    readers->VerifyPin(reader, MakePin(pin), reserve, w.Callback());
    return w.Get();
  }
};

std::filesystem::path Cert(const std::string& cn, onshid::core::SystemTime nb,
                           onshid::core::SystemTime na, bool impostor = false) {
  return SharedTestPki().Issue(cn, nb, na, impostor);
}

}  // namespace

TEST_CASE("pcsc: monitor reports readers and card insert/remove", "[card][pcsc]") {
  Stack s;
  auto list = s.readers->ListReaders();
  REQUIRE(list.size() == 2);  // one vpcd entry = 2 slots
  REQUIRE(s.events.WaitFor(ReaderEventKind::kReaderAdded) >= 0);
  const std::size_t mark = s.events.size();
  s.env.RemoveCard();
  const int removed = s.events.WaitFor(ReaderEventKind::kCardRemoved, mark);
  REQUIRE(removed >= 0);
  s.env.InsertCard();
  REQUIRE(s.events.WaitFor(ReaderEventKind::kCardInserted, static_cast<std::size_t>(removed)) >= 0);
  auto inspection = s.Inspect();
  REQUIRE(inspection.ok());
}

TEST_CASE("pcsc: inspect classifies each certificate state", "[card][pcsc]") {
  struct Case {
    const char* cn;
    onshid::core::SystemTime not_before, not_after;
    bool impostor;
    CertificateStatus expected;
  };
  const Case cases[] = {
      {"VALID0001", kNow - 400 * kDay, kNow + 700 * kDay, false, CertificateStatus::kValid},
      {"RENEW0001", kNow - 1000 * kDay, kNow + 40 * kDay, false, CertificateStatus::kRenewalAlert},
      {"GRACE0001", kNow - 1800 * kDay, kNow - 30 * kDay, false, CertificateStatus::kExpiredInGrace},
      {"EXPIRED01", kNow - 1800 * kDay, kNow - 200 * kDay, false, CertificateStatus::kExpired},
      {"FUTURE001", kNow + 2 * kDay, kNow + 900 * kDay, false, CertificateStatus::kNotYetValid},
      {"IMPOSTOR1", kNow - 400 * kDay, kNow + 700 * kDay, true, CertificateStatus::kUntrusted},
  };
  Stack s({}, /*start_card=*/false);
  for (const Case& c : cases) {
    SECTION(c.cn) {
      VirtualCardOptions card;
      card.certificate = Cert(c.cn, c.not_before, c.not_after, c.impostor);
      s.env.StartCard(card);
      s.reader = s.env.WaitForCard(true);
      REQUIRE_FALSE(s.reader.empty());
      auto r = s.Inspect();
      REQUIRE(r.ok());
      REQUIRE(r->token == onshid::core::card::TokenKind::kMyNumberCard);
      REQUIRE(r->certificate.has_value());
      CHECK(r->certificate->status == c.expected);
      CHECK(r->certificate->card_key.size() == 64);
      CHECK(s.env.CardLog().find("FORBIDDEN") == std::string::npos);
    }
  }
}

TEST_CASE("pcsc: PIN countdown to lock, and locked after a card restart", "[card][pcsc]") {
  const std::string locked_sw = GENERATE(std::string("6984"), std::string("63C0"));
  VirtualCardOptions card;
  card.locked_sw = locked_sw;
  card.keep_state = false;
  Stack s(card);
  auto status = s.PinStatus();
  REQUIRE(status.ok());
  CHECK(status->tries_left == 3);

  // A malformed PIN never reaches the card: it cannot even be built.
  CHECK_FALSE(Pin::Parse("12a4").ok());

  // The caller reserves the last try: the third wrong attempt is not sent.
  auto first = s.Verify("0000");
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().reason == "PIN_INCORRECT");
  auto second = s.Verify("0000");
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().reason == "PIN_INCORRECT");
  auto reserved = s.Verify("0000", /*reserve=*/1);
  REQUIRE_FALSE(reserved.ok());
  CHECK(reserved.error().reason == "PIN_ATTEMPT_RESERVED");
  auto third = s.Verify("0000");
  REQUIRE_FALSE(third.ok());
  CHECK(third.error().reason == "PIN_LOCKED");

  // Restart the card: the counter is persisted, so it is still locked.
  s.env.StopCard();
  REQUIRE_FALSE(s.env.WaitForCard(false).empty());
  VirtualCardOptions restart = card;
  restart.keep_state = true;
  s.env.StartCard(restart);
  REQUIRE_FALSE(s.env.WaitForCard(true).empty());
  auto after = s.PinStatus();
  REQUIRE(after.ok());
  CHECK(after->locked);
  auto blocked = s.Verify("1234");  // even the right PIN: nothing is sent to a locked card
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().reason == "PIN_LOCKED");

  const std::string log = s.env.CardLog();
  std::size_t verifies = 0;
  for (std::size_t p = log.find("VERIFY AUTH_PIN wrong"); p != std::string::npos;
       p = log.find("VERIFY AUTH_PIN wrong", p + 1)) {
    ++verifies;
  }
  CHECK(verifies == 3);  // exactly the attempts the caller asked for
  CHECK(log.find("MALFORMED_PIN") == std::string::npos);
  CHECK(log.find("FORBIDDEN") == std::string::npos);
}

TEST_CASE("pcsc: right PIN and challenge signature", "[card][pcsc]") {
  VirtualCardOptions card;
  card.keep_state = false;
  Stack s(card);
  auto ok = s.Verify("1234");
  REQUIRE(ok.ok());
  CHECK(ok->tries_left == 3);
  Waiter<onshid::core::card::SignedChallenge> w;
  s.readers->SignChallenge(s.reader, MakePin("1234"), {1, 2, 3, 4, 5}, w.Callback());
  auto signed_challenge = w.Get();
  REQUIRE(signed_challenge.ok());
  CHECK(signed_challenge->signature.size() == 256);
  CHECK(signed_challenge->certificate.chain_trusted);
  CHECK(s.env.CardLog().find("SIGN ok") != std::string::npos);
}

TEST_CASE("pcsc: smartphone token needs the PIN before the certificate", "[card][pcsc]") {
  VirtualCardOptions card;
  card.token = "phone";
  card.keep_state = false;
  Stack s(card);
  auto r = s.Inspect();
  REQUIRE(r.ok());
  CHECK(r->token == onshid::core::card::TokenKind::kSmartphone);
  CHECK(r->pin_required_for_certificate);
  CHECK_FALSE(r->certificate.has_value());
  Waiter<onshid::core::card::SignedChallenge> w;
  s.readers->SignChallenge(s.reader, MakePin("1234"), {9, 8, 7}, w.Callback());
  auto signed_challenge = w.Get();
  REQUIRE(signed_challenge.ok());
  CHECK(signed_challenge->certificate.status == CertificateStatus::kValid);
}

TEST_CASE("pcsc: card removed in the middle of the certificate read", "[card][pcsc]") {
  VirtualCardOptions card;
  card.remove_after = 6;  // SELECT AP, SELECT 0006, READ, SELECT 000A, READ header, READ chunk
  Stack s(card);
  auto r = s.Inspect();
  REQUIRE_FALSE(r.ok());
  CHECK((r.error().reason == "CARD_REMOVED" || r.error().reason == "NO_CARD"));
  CHECK(s.env.CardLog().find("removed mid-command") != std::string::npos);
  // The reader reports the failure and then no card.
  REQUIRE(s.events.WaitFor(ReaderEventKind::kCardRemoved) >= 0);
}

TEST_CASE("pcsc: basic information with and without the PIN", "[card][pcsc]") {
  VirtualCardOptions card;
  card.keep_state = false;
  Stack s(card);
  {
    Waiter<onshid::core::card::BasicInfo> w;
    s.readers->ReadBasicInfo(s.reader, MakePin("0000"), w.Callback());
    auto r = w.Get();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == "PIN_INCORRECT");
  }
  {
    Waiter<onshid::core::card::BasicInfo> w;
    s.readers->ReadBasicInfo(s.reader, MakePin("5678"), w.Callback());
    auto r = w.Get();
    REQUIRE(r.ok());
    CHECK(r->birth_date == "19800401");
    CHECK(r->sex == "2");
    CHECK_FALSE(r->name.empty());
    CHECK_FALSE(r->address.empty());
  }
  const std::string log = s.env.CardLog();
  CHECK(log.find("FORBIDDEN") == std::string::npos);
  CHECK(log.find("READ BINARY EF 0002") != std::string::npos);
  CHECK(log.find("SELECT EF 0001") == std::string::npos);
  // Exactly one read of EF 0002 before the PIN was right: none.
  CHECK(log.find("READ BINARY EF 0002") > log.find("VERIFY KENHOJO_PIN ok"));
}

TEST_CASE("pcsc: the allow-list stops My Number selects before the card", "[card][pcsc]") {
  Stack s;
  SCARDCONTEXT ctx = 0;
  REQUIRE(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) == SCARD_S_SUCCESS);
  SCARDHANDLE card = 0;
  DWORD protocol = 0;
  REQUIRE(SCardConnect(ctx, s.reader.c_str(), SCARD_SHARE_SHARED,
                       SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol) == SCARD_S_SUCCESS);
  onshid::pcsc::PcscChannel channel(card, protocol);
  const std::vector<std::uint8_t> kenmen = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10,
                                            0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02};
  const std::vector<std::uint8_t> kenhojo = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10,
                                             0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08};
  const std::vector<std::uint8_t> ef0001 = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01};
  {
    onshid::pcsc::CardSession session(channel, /*allow_kenhojo=*/true);
    auto r = session.Transmit(kenmen, onshid::pcsc::Step::kOther);
    REQUIRE_FALSE(r.ok());
    CHECK(r.failure().kind == onshid::pcsc::FailureKind::kNotAllowed);
    REQUIRE(session.Transmit(kenhojo, onshid::pcsc::Step::kOther).ok());
    auto my_number = session.Transmit(ef0001, onshid::pcsc::Step::kOther);
    REQUIRE_FALSE(my_number.ok());
    CHECK(my_number.failure().kind == onshid::pcsc::FailureKind::kNotAllowed);
  }
  CHECK(s.env.CardLog().find("FORBIDDEN") == std::string::npos);
  CHECK(s.env.CardLog().find("KENHOJO") != std::string::npos);  // the allowed select arrived
  // Control: the same bytes sent around the adapter do reach the card and are marked.
  std::uint8_t rbuf[258];
  DWORD rlen = sizeof rbuf;
  REQUIRE(SCardTransmit(card, protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0,
                        kenmen.data(), static_cast<DWORD>(kenmen.size()), nullptr, rbuf,
                        &rlen) == SCARD_S_SUCCESS);
  CHECK(s.env.CardLog().find("FORBIDDEN") != std::string::npos);
  SCardDisconnect(card, SCARD_RESET_CARD);
  SCardReleaseContext(ctx);
}

TEST_CASE("pcsc: pcscd killed and restarted while the monitor runs", "[card][pcsc]") {
  Stack s;
  const std::size_t mark = s.events.size();
  s.env.StopPcscd(SIGKILL);
  const int degraded = s.events.WaitFor(ReaderEventKind::kServiceDegraded, mark);
  REQUIRE(degraded >= 0);
  CHECK_FALSE(s.readers->ServiceAvailable());
  CHECK(s.readers->ListReaders().empty());
  auto down = s.Inspect();
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().reason == "READER_NOT_FOUND");

  s.env.StartPcscd();
  const int recovered =
      s.events.WaitFor(ReaderEventKind::kServiceRecovered, static_cast<std::size_t>(degraded));
  REQUIRE(recovered >= 0);
  REQUIRE(s.events.WaitFor(ReaderEventKind::kCardInserted, static_cast<std::size_t>(recovered), 15s) >= 0);
  auto r = s.Inspect();
  REQUIRE(r.ok());
  CHECK(r->certificate.has_value());
}
