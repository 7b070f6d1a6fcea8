// ReaderService end to end: a private pcscd + vpcd + virtual-mynacard, the real onshid binary with
// readers enabled, and calls over gRPC and REST.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/readers.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/desk_client.h"
#include "support/http_client.h"
#include "support/pcsc_test_env.h"

using namespace onshid::testing;

namespace {

// Percent-encodes one REST path segment (reader names contain spaces).
std::string EncodeSegment(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

std::string MetadataValue(const grpc::Status& s, const std::string& key) {
  google::rpc::Status st;
  if (!st.ParseFromString(s.error_details())) return "";
  for (const auto& any : st.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) {
      auto it = info.metadata().find(key);
      return it == info.metadata().end() ? "" : it->second;
    }
  }
  return "";
}

}  // namespace

TEST_CASE("ReaderService over the real daemon, pcscd and a virtual card", "[reader_api]") {
  PcscTestEnv env;  // sets PCSCLITE_CSOCK_NAME for this process
  env.StartPcscd();
  env.StartCard();
  const std::string reader = env.WaitForCard(true);
  REQUIRE_FALSE(reader.empty());
  const char* socket = std::getenv("PCSCLITE_CSOCK_NAME");
  REQUIRE(socket != nullptr);

  TempDir dir;
  const std::string secret = dir.path() + "/card-key.secret";
  {
    std::random_device rd;
    std::ofstream out(secret, std::ios::binary);
    for (int i = 0; i < 64; ++i) out.put("0123456789abcdef"[rd() % 16]);
  }
  Ports ports;
  ConfigOptions config;
  config.state_dir = dir.path() + "/state";
  config.ports = ports;
  config.extra = R"("readers": {"enabled": true, "trust_anchor_files": [")" +
                 SharedTestPki().ca_certificate().string() + R"("], "card_key_secret_file": ")" +
                 secret + R"("},)";
  DaemonProcess daemon(dir.path(), ConfigJson(config), {{"PCSCLITE_CSOCK_NAME", socket}});
  REQUIRE(daemon.Start());
  INFO(daemon.log());

  auto stub = onshi::v1::ReaderService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(ports.grpc), grpc::InsecureChannelCredentials()));

  // The daemon's monitor may need a moment to see the card: ask the stream for the current state
  // instead of polling ListReaders (initial_state events come after the monitor announced them).
  grpc::ClientContext watch_ctx;
  Prepare(watch_ctx, kReadToken);
  onshi::v1::WatchReadersRequest watch_req;
  watch_req.set_initial_state(true);
  auto watch = stub->WatchReaders(&watch_ctx, watch_req);
  onshi::v1::ReaderEvent ev;
  bool card_seen = false;
  while (!card_seen && watch->Read(&ev)) {
    card_seen = ev.kind() == onshi::v1::READER_EVENT_KIND_CARD_INSERTED && ev.reader() == reader;
  }
  REQUIRE(card_seen);

  // ListReaders shows the virtual reader with its card.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    onshi::v1::ListReadersResponse resp;
    auto s = stub->ListReaders(&ctx, {}, &resp);
    REQUIRE(s.ok());
    bool found = false;
    for (const auto& r : resp.readers()) {
      if (r.name() != reader) continue;
      found = true;
      CHECK(r.card_present());
      CHECK(r.kind() == onshi::v1::READER_KIND_GENERIC_PCSC);
      CHECK(r.last_error().empty());
    }
    CHECK(found);
  }

  // InspectCard: VALID, no personal data, and the same card key twice.
  std::string card_key;
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken, "inspect-" + std::to_string(i));
    onshi::v1::InspectCardRequest req;
    req.set_reader(reader);
    onshi::v1::InspectCardResponse resp;
    auto s = stub->InspectCard(&ctx, req, &resp);
    REQUIRE(s.ok());
    CHECK(resp.token() == onshi::v1::TOKEN_KIND_MY_NUMBER_CARD);
    CHECK_FALSE(resp.pin_required_for_certificate());
    REQUIRE(resp.has_certificate());
    CHECK(resp.certificate().status() == onshi::v1::CERTIFICATE_STATUS_VALID);
    CHECK(resp.certificate().chain_trusted());
    CHECK(resp.certificate().not_after().seconds() > resp.certificate().not_before().seconds());
    CHECK(resp.certificate().renewal_alert_from().seconds() <
          resp.certificate().not_after().seconds());
    CHECK(resp.certificate().grace_end().seconds() > resp.certificate().not_after().seconds());
    CHECK_FALSE(resp.certificate().status_message_ja().empty());
    CHECK(resp.certificate().card_key().size() == 64);
    // The subject's identifier never leaves the daemon through InspectCard.
    CHECK(resp.DebugString().find("DEFAULTVALID") == std::string::npos);
    if (i == 0) card_key = resp.certificate().card_key();
    CHECK(resp.certificate().card_key() == card_key);
  }

  // GetPinStatus: a fresh card has 3 tries.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    onshi::v1::GetPinStatusRequest req;
    req.set_reader(reader);
    onshi::v1::PinStatus resp;
    REQUIRE(stub->GetPinStatus(&ctx, req, &resp).ok());
    CHECK(resp.tries_left() == 3);
    CHECK_FALSE(resp.locked());
  }

  // VerifyPin needs the reception scope; a read token is refused before the card is touched.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    onshi::v1::VerifyPinRequest req;
    req.set_reader(reader);
    req.set_pin("8642");
    onshi::v1::PinStatus resp;
    auto s = stub->VerifyPin(&ctx, req, &resp);
    CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  // A malformed PIN is refused without reaching the card.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kReceptionToken);
    onshi::v1::VerifyPinRequest req;
    req.set_reader(reader);
    req.set_pin("12a4");
    onshi::v1::PinStatus resp;
    auto s = stub->VerifyPin(&ctx, req, &resp);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(ReasonOf(s) == "PIN_FORMAT_INVALID");
  }
  // A wrong PIN: PIN_INCORRECT, 2 tries left, exactly one VERIFY with data on the card.
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kReceptionToken, "verify-wrong");
    onshi::v1::VerifyPinRequest req;
    req.set_reader(reader);
    req.set_pin("8642");  // the card's PIN is 1234
    onshi::v1::PinStatus resp;
    auto s = stub->VerifyPin(&ctx, req, &resp);
    CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ReasonOf(s) == "PIN_INCORRECT");
    CHECK(MetadataValue(s, "tries_left") == "2");
    const std::string log = env.CardLog();
    CHECK(Count(log, "VERIFY AUTH_PIN wrong") == 1);
    CHECK(Count(log, "VERIFY") - Count(log, " query") == 1);
    CHECK(log.find("MALFORMED_PIN") == std::string::npos);
    CHECK(log.find("FORBIDDEN") == std::string::npos);
    CHECK(daemon.log().find("8642") == std::string::npos);
  }

  // REST: GET /v1/readers and InspectCard with the percent-encoded reader name.
  {
    auto r = HttpCall(ports.rest, "GET", "/v1/readers", {{"authorization", BearerHeader(kReadToken)}});
    REQUIRE(r.status == 200);
    auto j = nlohmann::json::parse(r.body);
    bool found = false;
    for (const auto& item : j["readers"]) {
      if (item["name"] == reader) found = item.value("cardPresent", false);
    }
    CHECK(found);

    auto inspect = HttpCall(ports.rest, "POST", "/v1/readers/" + EncodeSegment(reader) + ":inspect",
                            {{"authorization", BearerHeader(kReadToken)}}, "{}");
    REQUIRE(inspect.status == 200);
    auto ij = nlohmann::json::parse(inspect.body);
    CHECK(ij["certificate"]["status"] == "CERTIFICATE_STATUS_VALID");
    CHECK(ij["certificate"]["cardKey"] == card_key);

    auto pin = HttpCall(ports.rest, "GET", "/v1/readers/" + EncodeSegment(reader) + ":pinStatus",
                        {{"authorization", BearerHeader(kReadToken)}});
    REQUIRE(pin.status == 200);
    CHECK(nlohmann::json::parse(pin.body)["triesLeft"] == 2);

    auto missing = HttpCall(ports.rest, "POST", "/v1/readers/No%20Such%20Reader:inspect",
                            {{"authorization", BearerHeader(kReadToken)}}, "{}");
    CHECK(missing.status == 404);
    CHECK(missing.body.find("READER_NOT_FOUND") != std::string::npos);
  }

  // The audit log records InspectCard with the card key as subject, and VerifyPin by reader.
  {
    auto r = HttpCall(ports.rest, "POST", "/v1/audit:search",
                      {{"authorization", BearerHeader(kAdminToken)}}, R"({"limit": 100})");
    REQUIRE(r.status == 200);
    auto j = nlohmann::json::parse(r.body);
    int inspections = 0;
    bool verify_seen = false;
    for (const auto& e : j["entries"]) {
      const std::string method = e.value("method", "");
      const std::string subject = e.value("subject", "");
      CHECK(subject.find("8642") == std::string::npos);
      if (method == "/onshi.v1.ReaderService/InspectCard" && subject == "card:" + card_key) {
        ++inspections;
      }
      if (method == "/onshi.v1.ReaderService/VerifyPin" && e.value("requestId", "") == "verify-wrong") {
        verify_seen = true;
        CHECK(subject == "reader:" + reader);
        CHECK(e.value("outcome", "") == "PIN_INCORRECT");
      }
    }
    CHECK(inspections == 3);  // two over gRPC, one over REST (onshictl comes later)
    CHECK(verify_seen);
  }

  // onshictl readers / card inspect / card pin-status.
  {
    const std::string ctl = std::string(ONSHICTL_BINARY) + " --addr 127.0.0.1:" +
                            std::to_string(ports.grpc) + " --token " + kReadToken;
    auto list = RunCommand(ctl + " --json readers");
    REQUIRE(list.exit_code == 0);
    const auto listed_json = nlohmann::json::parse(list.output);
    bool listed = false;
    for (const auto& r : listed_json["readers"]) listed |= r["name"] == reader;
    CHECK(listed);
    auto human = RunCommand(ctl + " readers");
    CHECK(human.exit_code == 0);
    CHECK(human.output.find(reader + "\tcard") != std::string::npos);
    auto inspect = RunCommand(ctl + " card inspect '" + reader + "'");
    CHECK(inspect.exit_code == 0);
    CHECK(inspect.output.find("certificate: VALID") != std::string::npos);
    CHECK(inspect.output.find(card_key) != std::string::npos);
    auto pin = RunCommand(ctl + " --json card pin-status '" + reader + "'");
    CHECK(pin.exit_code == 0);
    CHECK(nlohmann::json::parse(pin.output)["triesLeft"] == 2);
    auto missing = RunCommand(ctl + " card inspect 'No Such Reader'");
    CHECK(missing.exit_code == 1);
    CHECK(missing.output.find("READER_NOT_FOUND") != std::string::npos);
  }

  // With the right PIN: a challenge signature (verified by the daemon against the certificate before
  // it answers), and the 基本4情報 behind the 券面事項入力補助 PIN.
  {
    auto writer = onshi::v1::ReaderService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(ports.grpc), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    Prepare(ctx, kReceptionToken);
    onshi::v1::SignChallengeRequest req;
    req.set_reader(reader);
    req.set_pin("1234");
    req.set_challenge(std::string(32, '\x5a'));
    onshi::v1::SignChallengeResponse resp;
    auto s = writer->SignChallenge(&ctx, req, &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    CHECK(resp.signature().size() == 256);
    CHECK_FALSE(resp.certificate_der().empty());

    grpc::ClientContext basic_ctx;
    Prepare(basic_ctx, kReceptionToken);
    onshi::v1::ReadBasicInfoRequest basic;
    basic.set_reader(reader);
    basic.set_kenhojo_pin("5678");
    onshi::v1::BasicInfo info;
    auto bs = writer->ReadBasicInfo(&basic_ctx, basic, &info);
    INFO(bs.error_message());
    REQUIRE(bs.ok());
    CHECK_FALSE(info.name().empty());
    CHECK_FALSE(info.birth_date().empty());
    // The daemon's log never carries the basic information.
    CHECK(daemon.log().find(info.name()) == std::string::npos);
  }

  // WatchReaders delivers CARD_REMOVED when the card is taken out.
  env.RemoveCard();
  bool removed = false;
  while (!removed && watch->Read(&ev)) {
    removed = ev.kind() == onshi::v1::READER_EVENT_KIND_CARD_REMOVED && ev.reader() == reader;
  }
  CHECK(removed);
  CHECK_FALSE(ev.snapshot());
  watch_ctx.TryCancel();
  (void)watch->Finish();

  {
    grpc::ClientContext ctx;
    Prepare(ctx, kReadToken);
    onshi::v1::InspectCardRequest req;
    req.set_reader(reader);
    onshi::v1::InspectCardResponse resp;
    auto s = stub->InspectCard(&ctx, req, &resp);
    CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK((ReasonOf(s) == "NO_CARD" || ReasonOf(s) == "CARD_REMOVED"));
  }

  // The removal is also on the daemon's event stream (replayed from the start), with the reader's
  // name and no personal data.
  {
    DeskClient desk(ports.grpc, kReadToken);
    const auto removed_event =
        desk.AwaitEvent("reader.card_removed", "reader", reader, std::chrono::seconds(10));
    const auto inserted =
        desk.AwaitEvent("reader.card_inserted", "reader", reader, std::chrono::seconds(10));
    CHECK(inserted.cursor() < removed_event.cursor());  // inserted before it was removed
  }
}
