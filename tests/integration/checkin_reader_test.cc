// The GENERIC_READER check-in channel end to end: a reception desk with a generic PC/SC reader next
// to the face reader. The real daemon (readers enabled, managed PostgreSQL), a private pcscd +
// vpcd + virtual マイナカード whose certificate the test issues with any validity, the terminal
// simulator as a separate process delivering face results, and calls over gRPC and REST.
//
// What the code defines for a tap (daemon/app/checkin.cc, kGenericReader): the card is inspected
// at once; the check-in records the certificate state and the pseudonymous card key, then waits for
// the face result of its desk (face results carry no card key, so keys the vendor gives — カナ name
// and birth date — are what tells two waiting patients apart); a certificate expired beyond grace
// needs the fallback path at once; one in grace limits the check-in to insurance information.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "onshi/v1/checkin.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/readers.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/desk_client.h"
#include "support/http_client.h"
#include "support/pcsc_test_env.h"
#include "support/sim_terminal.h"

using namespace onshid::testing;
using onshi::v1::CheckIn;

namespace {

constexpr const char* kInstitution = kSimInstitutionCode;
const std::string kDeskToken = "desk-token-for-reader-checkins";
constexpr auto kDay = std::chrono::hours(24);

std::string Config(const std::string& dir, const Ports& ports, const std::string& folder,
                   const std::string& reader, const std::string& secret_file) {
  const std::string tokens = std::string(R"([{"name": "desk", "sha256": ")") +
                             Sha256Hex(kDeskToken) +
                             R"(", "scopes": ["read", "reception"]}, {"name": "ops", "sha256": ")" +
                             Sha256Hex(kAdminToken) + R"(", "scopes": ["read", "admin"]}])";
  // One desk: the generic reader sits beside the terminal's face reader, so both feed the desk.
  const std::string extra =
      R"("upstream": {"folder": ")" + folder + R"(", "medical_institution_code": ")" +
      kInstitution + R"(", "poll_interval_ms": 200},
    "readers": {"enabled": true, "trust_anchor_files": [")" +
      SharedTestPki().ca_certificate().string() + R"("], "card_key_secret_file": ")" +
      secret_file + R"("},
    "checkin": {"desks": [{"id": "desk-R", "devices": ["face", "reader:)" + reader + R"("]}],
                "sweep_interval_ms": 200},)";
  return ConfigJson({dir + "/state", ports, "", tokens, "", extra});
}

// The reception PC's check-in events (its DeskClient subscribes to these).
DeskOptions CheckInEvents() {
  DeskOptions o;
  o.event_types = {"checkin.started",   "checkin.verified",        "checkin.needs_fallback",
                   "checkin.cancelled", "checkin.result_bound",    "checkin.unmatched",
                   "checkin.ambiguous", "checkin.result_assigned", "checkin.result_linked"};
  return o;
}

// A tap at desk R's generic reader.
onshi::v1::StartCheckInRequest Tap(const std::string& reader, const std::string& kana = "",
                                   const std::string& birth = "") {
  onshi::v1::StartCheckInRequest r;
  r.set_desk_id("desk-R");
  r.set_channel(onshi::v1::CHANNEL_GENERIC_READER);
  r.set_reader(reader);
  r.add_documents(onshi::v1::DOCUMENT_MY_NUMBER_CARD);
  r.mutable_visit()->set_kind(onshi::v1::VISIT_KIND_FIRST_VISIT);
  if (!kana.empty()) {
    r.set_name_kana(kana);
    r.set_birth_date(birth);
  }
  return r;
}

// The card key the ReaderService gives for the card on `reader`.
std::string InspectedCardKey(DeskClient& desk, const std::string& reader) {
  grpc::ClientContext ctx;
  desk.Prepare(ctx);
  onshi::v1::InspectCardRequest req;
  req.set_reader(reader);
  onshi::v1::InspectCardResponse resp;
  auto s = desk.readers().InspectCard(&ctx, req, &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return resp.certificate().card_key();
}

// The desk's readers as the daemon's monitor sees them: its WatchReaders stream (with the initial
// state), read in order. The monitor may announce a change twice, so an await looks only at what
// comes after the previous one.
struct ReaderWatch {
  explicit ReaderWatch(DeskClient& desk) {
    ctx.AddMetadata("authorization", "Bearer " + kDeskToken);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    onshi::v1::WatchReadersRequest req;
    req.set_initial_state(true);
    watch = desk.readers().WatchReaders(&ctx, req);
  }
  ~ReaderWatch() {
    ctx.TryCancel();
    (void)watch->Finish();
  }
  // Waits until the daemon itself reports `kind` for `reader` (its monitor, not our PC/SC view).
  bool Await(onshi::v1::ReaderEventKind kind, const std::string& reader) {
    onshi::v1::ReaderEvent ev;
    while (watch->Read(&ev)) {
      if (ev.kind() == kind && ev.reader() == reader) return true;
    }
    return false;
  }

  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<onshi::v1::ReaderEvent>> watch;
};

// The next patient puts their card on the reader: the previous card leaves, this one arrives, both
// as the daemon sees them.
void PutCard(PcscTestEnv& env, ReaderWatch& watch, const std::string& reader,
             const std::filesystem::path& certificate) {
  env.StopCard();
  REQUIRE(watch.Await(onshi::v1::READER_EVENT_KIND_CARD_REMOVED, reader));
  VirtualCardOptions card;
  card.certificate = certificate;
  env.StartCard(card);
  REQUIRE(watch.Await(onshi::v1::READER_EVENT_KIND_CARD_INSERTED, reader));
}

std::map<std::string, std::string> RestHeaders(const std::string& request_id = "") {
  std::map<std::string, std::string> h = {{"authorization", "Bearer " + kDeskToken},
                                          {"content-type", "application/json"}};
  if (!request_id.empty()) h["x-request-id"] = request_id;
  return h;
}

std::string RestTap(const std::string& reader) {
  return nlohmann::json{{"deskId", "desk-R"},
                        {"channel", "CHANNEL_GENERIC_READER"},
                        {"documents", nlohmann::json::array({"DOCUMENT_MY_NUMBER_CARD"})},
                        {"visit", {{"kind", "VISIT_KIND_FIRST_VISIT"}}},
                        {"reader", reader}}
      .dump();
}

// From a REST error body (google.rpc.Status as JSON): the ErrorInfo reason, the fields named by
// BadRequest, and the ja-JP message.
struct RestError {
  std::string reason;
  std::set<std::string> fields;
  std::string message_ja;
};
RestError ParseRestError(const std::string& body) {
  RestError out;
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("details")) return out;
  for (const auto& d : j["details"]) {
    const std::string type = d.value("@type", "");
    if (type.find("google.rpc.ErrorInfo") != std::string::npos) out.reason = d.value("reason", "");
    if (type.find("google.rpc.LocalizedMessage") != std::string::npos &&
        d.value("locale", "") == "ja-JP") {
      out.message_ja = d.value("message", "");
    }
    if (type.find("google.rpc.BadRequest") != std::string::npos && d.contains("fieldViolations")) {
      for (const auto& v : d["fieldViolations"]) out.fields.insert(v.value("field", ""));
    }
  }
  return out;
}

bool HasNotice(const CheckIn& c, const std::string& code) {
  for (const auto& n : c.notices()) {
    if (n.code() == code) return !n.message_ja().empty();
  }
  return false;
}

bool HasReason(const google::protobuf::RepeatedPtrField<std::string>& reasons,
               const std::string& code) {
  for (const auto& r : reasons) {
    if (r == code) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("generic-reader check-ins: a card tap at the desk, its face result, certificate expiry "
          "and grace, REST errors, no personal data in the log",
          "[checkin_reader]") {
  const auto now = std::chrono::system_clock::now();
  // Four cards of four patients (the CN stands for the subject's identifier: it must never be
  // logged). Each certificate has its own serial, so each card its own key.
  const auto valid_cert = SharedTestPki().Issue("CKRVALIDSUBJ01", now - 400 * kDay, now + 700 * kDay);
  const auto renew_cert = SharedTestPki().Issue("CKRRENEWSUBJ01", now - 1000 * kDay, now + 40 * kDay);
  const auto expired_cert =
      SharedTestPki().Issue("CKREXPIREDSUBJ1", now - 1800 * kDay, now - 200 * kDay);
  const auto grace_cert = SharedTestPki().Issue("CKRGRACESUBJ01", now - 1800 * kDay, now - 30 * kDay);

  PcscTestEnv env;  // sets PCSCLITE_CSOCK_NAME for this process; the only one alive
  env.StartPcscd();
  {
    VirtualCardOptions card;
    card.certificate = valid_cert;
    env.StartCard(card);
  }
  const std::string reader = env.WaitForCard(true);
  REQUIRE_FALSE(reader.empty());
  const char* pcsc_socket = std::getenv("PCSCLITE_CSOCK_NAME");
  REQUIRE(pcsc_socket != nullptr);

  TempDir dir;
  SimTerminal terminal(dir.path());
  REQUIRE(terminal.ready);
  const std::string secret = dir.path() + "/card-key.secret";
  {
    std::random_device rd;
    std::ofstream out(secret, std::ios::binary);
    for (int i = 0; i < 64; ++i) out.put("0123456789abcdef"[rd() % 16]);
  }
  Ports ports;
  DaemonProcess daemon(dir.path(), Config(dir.path(), ports, terminal.folder, reader, secret),
                       {{"PCSCLITE_CSOCK_NAME", pcsc_socket}});
  REQUIRE(daemon.Start());
  INFO(daemon.log());
  DeskClient desk(ports.grpc, kDeskToken, CheckInEvents());
  ReaderWatch watch(desk);
  // The daemon's monitor has the reader and its card before the first tap.
  REQUIRE(watch.Await(onshi::v1::READER_EVENT_KIND_CARD_INSERTED, reader));

  std::vector<std::string> card_keys;  // every card key seen: none may reach the log

  // ---------------------------------------------------------------------------------------------
  // 1. A valid card on the reader. The tap records the certificate state and the card key, then
  //    the check-in waits for the desk's face result, which binds to it and verifies it.
  CheckIn a;
  {
    auto s = desk.StartCheckIn(Tap(reader), &a, "tap-valid-1");
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  CHECK(a.state() == onshi::v1::CHECK_IN_STATE_WAITING);
  CHECK(a.channel() == onshi::v1::CHANNEL_GENERIC_READER);
  CHECK(a.verification_path() == "MY_NUMBER_CARD");
  CHECK(a.certificate_status() == "VALID");
  CHECK(a.information_scope() == "FULL");
  CHECK(a.fallback_cause() == onshi::v1::FALLBACK_CAUSE_UNSPECIFIED);
  CHECK(a.notices_size() == 0);
  CHECK(a.result_id() == 0);
  REQUIRE(a.card_key().size() == 64);
  // The same key the ReaderService gives for the card (same secret, same certificate).
  const std::string valid_key = a.card_key();
  CHECK(InspectedCardKey(desk, reader) == valid_key);
  card_keys.push_back(valid_key);
  desk.AwaitEvent("checkin.started", a.check_in_id());

  REQUIRE(terminal.Face("shaho-honnin") == 0);
  const auto bound = desk.AwaitEvent("checkin.result_bound", a.check_in_id());
  CHECK(bound.result_id() > 0);
  desk.AwaitEvent("checkin.verified", a.check_in_id());
  a = desk.GetCheckIn(a.check_in_id());
  CHECK(a.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  CHECK(a.reason() == "ELIGIBILITY_VALID");
  CHECK(a.correlation().outcome() == "BOUND");
  CHECK(HasReason(a.correlation().reasons(), "SINGLE_WAITING_CHECKIN"));
  CHECK(a.result_id() == bound.result_id());
  REQUIRE(a.results_size() == 1);
  CHECK(a.results(0).link() == "BOUND");
  CHECK(a.results(0).result_id() == bound.result_id());
  // What the tap recorded survives the result and the database round trip.
  CHECK(a.card_key() == valid_key);
  CHECK(a.certificate_status() == "VALID");
  CHECK(a.information_scope() == "FULL");
  // A valid certificate and consent on the face reader: medication information may be shown.
  {
    const auto d =
        desk.CheckAccess(a.check_in_id(), onshi::v1::INFORMATION_KIND_MEDICATION, "access-valid");
    CHECK(d.allowed());
    CHECK(d.reason() == "CONSENT_GIVEN");
  }

  // ---------------------------------------------------------------------------------------------
  // 1b. Two patients wait at the same desk, each tapped their card. The face result carries no
  //     card key; the カナ name + birth date the vendor sent tell them apart.
  PutCard(env, watch, reader, renew_cert);
  CheckIn b;
  REQUIRE(desk.StartCheckIn(Tap(reader, "ｺｸﾎ ｼﾞﾛｳ", "1975-03-03"), &b).ok());
  CHECK(b.state() == onshi::v1::CHECK_IN_STATE_WAITING);
  CHECK(b.certificate_status() == "RENEWAL_ALERT");
  CHECK(b.information_scope() == "FULL");
  CHECK(HasNotice(b, "CERTIFICATE_RENEWAL_DUE"));  // renewal window: tell the patient to renew
  REQUIRE(b.card_key().size() == 64);
  CHECK(b.card_key() != valid_key);
  const std::string renew_key = b.card_key();
  card_keys.push_back(renew_key);

  PutCard(env, watch, reader, valid_cert);  // the first patient comes back with the same card
  CheckIn c;
  REQUIRE(desk.StartCheckIn(Tap(reader, "ｼﾝﾘｮｳ ﾀﾛｳ", "1980-04-15"), &c).ok());
  CHECK(c.state() == onshi::v1::CHECK_IN_STATE_WAITING);
  CHECK(c.card_key() == valid_key);  // the same card, the same key: visits correlate by it
  CHECK(c.notices_size() == 0);

  REQUIRE(terminal.Face("shaho-honnin") == 0);
  desk.AwaitEvent("checkin.verified", c.check_in_id());
  c = desk.GetCheckIn(c.check_in_id());
  CHECK(c.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  CHECK(c.correlation().outcome() == "BOUND");
  CHECK(HasReason(c.correlation().reasons(), "KANA_NAME_BIRTH_DATE_MATCH"));
  CHECK_FALSE(HasReason(c.correlation().reasons(), "CARD_KEY_MATCH"));
  // The bound check-in keeps what the binding considered: B, ruled out by its カナ name.
  {
    bool b_ruled_out = false;
    for (const auto& cand : c.correlation().candidates()) {
      if (cand.check_in_id() != b.check_in_id()) continue;
      b_ruled_out = !cand.fits() && HasReason(cand.reasons(), "KANA_NAME_BIRTH_DATE_DISAGREES");
    }
    CHECK(b_ruled_out);
  }
  CHECK(desk.GetCheckIn(b.check_in_id()).state() == onshi::v1::CHECK_IN_STATE_WAITING);
  REQUIRE(terminal.Face("kokuho") == 0);
  desk.AwaitEvent("checkin.verified", b.check_in_id());
  b = desk.GetCheckIn(b.check_in_id());
  CHECK(b.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  CHECK(b.correlation().outcome() == "BOUND");
  CHECK(b.certificate_status() == "RENEWAL_ALERT");
  CHECK(HasNotice(b, "CERTIFICATE_RENEWAL_DUE"));  // still there for staff after the result
  CHECK(b.card_key() == renew_key);

  // The patient's past check-ins by card key (REST), newest first: the key works as a look-up.
  {
    auto r = HttpCall(ports.rest, "GET", "/v1/checkins?cardKey=" + valid_key, RestHeaders());
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto list = nlohmann::json::parse(r.body)["checkIns"];
    std::vector<std::string> ids;
    for (const auto& item : list) ids.push_back(item["checkInId"]);
    CHECK(ids == std::vector<std::string>{c.check_in_id(), a.check_in_id()});
  }

  // 1c. Two taps at the same desk with no key from the vendor: the card keys cannot tell whose
  //     face result it is (a face result never carries one), so it is AMBIGUOUS and staff assign.
  PutCard(env, watch, reader, renew_cert);
  CheckIn e;
  REQUIRE(desk.StartCheckIn(Tap(reader), &e).ok());
  PutCard(env, watch, reader, valid_cert);
  CheckIn d;
  REQUIRE(desk.StartCheckIn(Tap(reader), &d).ok());
  CHECK(d.card_key() == valid_key);
  CHECK(e.card_key() == renew_key);
  REQUIRE(terminal.Face("gaiji-maru") == 0);
  const auto amb = desk.AwaitEvent("checkin.ambiguous");
  const std::string own_id = amb.attributes().at("check_in_id");
  CheckIn own = desk.GetCheckIn(own_id);
  CHECK(own.correlation().outcome() == "AMBIGUOUS");
  {
    std::set<std::string> fitting;
    for (const auto& cand : own.correlation().candidates()) {
      if (cand.fits()) fitting.insert(cand.check_in_id());
      CHECK_FALSE(HasReason(cand.reasons(), "CARD_KEY_MATCH"));
      CHECK_FALSE(HasReason(cand.reasons(), "CARD_KEY_DISAGREES"));
    }
    CHECK(fitting == std::set<std::string>{d.check_in_id(), e.check_in_id()});
  }
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "assign-to-d");
    onshi::v1::AssignResultRequest req;
    req.set_check_in_id(d.check_in_id());
    req.set_result_id(own.result_id());
    CheckIn assigned;
    auto s = desk.checkins().AssignResult(&ctx, req, &assigned);
    INFO(s.error_message());
    REQUIRE(s.ok());
    CHECK(assigned.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
    CHECK(assigned.correlation().outcome() == "ASSIGNED");
    CHECK(assigned.certificate_status() == "VALID");
    CHECK(assigned.card_key() == valid_key);
  }
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken, "cancel-e");
    onshi::v1::CancelCheckInRequest req;
    req.set_check_in_id(e.check_in_id());
    req.set_reason("PATIENT_LEFT");
    CheckIn cancelled;
    REQUIRE(desk.checkins().CancelCheckIn(&ctx, req, &cancelled).ok());
    CHECK(cancelled.state() == onshi::v1::CHECK_IN_STATE_CANCELLED);
  }

  // ---------------------------------------------------------------------------------------------
  // 2. A card whose certificate expired beyond grace: NEEDS_FALLBACK at once, with the cause.
  PutCard(env, watch, reader, expired_cert);
  CheckIn f;
  REQUIRE(desk.StartCheckIn(Tap(reader), &f, "tap-expired").ok());
  CHECK(f.state() == onshi::v1::CHECK_IN_STATE_NEEDS_FALLBACK);  // in the answer itself, no result awaited
  CHECK(f.fallback_cause() == onshi::v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED);
  CHECK(f.reason() == "CERTIFICATE_EXPIRED");
  CHECK_FALSE(f.message_ja().empty());
  CHECK(f.certificate_status() == "EXPIRED");
  REQUIRE(f.card_key().size() == 64);
  CHECK(f.card_key() != valid_key);
  card_keys.push_back(f.card_key());
  {
    desk.AwaitEvent("checkin.started", f.check_in_id());
    const auto ev = desk.AwaitEvent("checkin.needs_fallback", f.check_in_id());
    CHECK(ev.attributes().at("reason") == "CERTIFICATE_EXPIRED");
    CHECK(ev.attributes().at("cause") == "CERTIFICATE_EXPIRED");
    CHECK(ev.attributes().at("state") == "NEEDS_FALLBACK");
    CHECK(ev.attributes().at("desk_id") == "desk-R");
    // The event names the reason, never the card.
    CHECK(ev.DebugString().find(f.card_key()) == std::string::npos);
    const CheckIn got = desk.GetCheckIn(f.check_in_id());
    CHECK(got.state() == onshi::v1::CHECK_IN_STATE_NEEDS_FALLBACK);
    CHECK(got.fallback_cause() == onshi::v1::FALLBACK_CAUSE_CERTIFICATE_EXPIRED);
    CHECK(got.reason() == "CERTIFICATE_EXPIRED");
    CHECK(got.message_ja() == f.message_ja());
    // Nothing verified: no information at all, not even by consent.
    const auto access = desk.CheckAccess(f.check_in_id(), onshi::v1::INFORMATION_KIND_MEDICATION);
    CHECK_FALSE(access.allowed());
  }

  // ---------------------------------------------------------------------------------------------
  // 3. A card in grace (expired a month ago): the check-in proceeds with insurance information
  //    only; medication information is refused even though the patient consented.
  PutCard(env, watch, reader, grace_cert);
  CheckIn g;
  REQUIRE(desk.StartCheckIn(Tap(reader), &g, "tap-grace").ok());
  CHECK(g.state() == onshi::v1::CHECK_IN_STATE_WAITING);
  CHECK(g.certificate_status() == "EXPIRED_IN_GRACE");
  CHECK(g.information_scope() == "INSURANCE_ONLY");
  CHECK(HasNotice(g, "CERTIFICATE_EXPIRED_IN_GRACE"));
  REQUIRE(g.card_key().size() == 64);
  card_keys.push_back(g.card_key());
  REQUIRE(terminal.Face("shaho-honnin") == 0);  // consent to everything on the face reader
  desk.AwaitEvent("checkin.verified", g.check_in_id());
  g = desk.GetCheckIn(g.check_in_id());
  CHECK(g.state() == onshi::v1::CHECK_IN_STATE_VERIFIED);
  CHECK(g.correlation().outcome() == "BOUND");
  CHECK(g.reason() == "ELIGIBILITY_VALID_INSURANCE_ONLY");
  CHECK(g.information_scope() == "INSURANCE_ONLY");
  CHECK(g.notices_size() == 1);  // the grace notice once, not repeated by the result
  CHECK(HasNotice(g, "CERTIFICATE_EXPIRED_IN_GRACE"));
  {
    grpc::ClientContext ctx;
    Prepare(ctx, kDeskToken);
    onshi::v1::GetConsentRequest req;
    req.set_check_in_id(g.check_in_id());
    onshi::v1::ConsentStatus st;
    REQUIRE(desk.consent().GetConsent(&ctx, req, &st).ok());
    CHECK(st.information_scope() == "INSURANCE_ONLY");
  }
  {
    const auto medication =
        desk.CheckAccess(g.check_in_id(), onshi::v1::INFORMATION_KIND_MEDICATION, "access-grace");
    CHECK_FALSE(medication.allowed());
    CHECK(medication.reason() == "CERTIFICATE_IN_GRACE_INSURANCE_ONLY");
    CHECK_FALSE(medication.message_ja().empty());
    CHECK(medication.check_in_id() == g.check_in_id());
    const auto clinical = desk.CheckAccess(g.check_in_id(), onshi::v1::INFORMATION_KIND_CLINICAL);
    CHECK_FALSE(clinical.allowed());
    CHECK(clinical.reason() == "CERTIFICATE_IN_GRACE_INSURANCE_ONLY");
    const auto insurance = desk.CheckAccess(g.check_in_id(), onshi::v1::INFORMATION_KIND_INSURANCE);
    CHECK(insurance.allowed());
    CHECK(insurance.reason() == "INSURANCE_INFORMATION");
  }
  // The refusal is audited with its reason.
  {
    auto system = SystemStub(ports.grpc);
    grpc::ClientContext ctx;
    Prepare(ctx, kAdminToken);
    onshi::v1::SearchAuditLogRequest req;
    req.set_request_id("access-grace");
    onshi::v1::SearchAuditLogResponse resp;
    REQUIRE(system->SearchAuditLog(&ctx, req, &resp).ok());
    REQUIRE(resp.entries_size() == 1);
    CHECK_THAT(resp.entries(0).subject(),
               Catch::Contains("DENIED:CERTIFICATE_IN_GRACE_INSURANCE_ONLY"));
  }

  // ---------------------------------------------------------------------------------------------
  // 4. Over REST: a reader name that does not exist, no reader, and no card on the reader.
  {
    auto r = HttpCall(ports.rest, "POST", "/v1/checkins", RestHeaders(), RestTap("No Such Reader"));
    INFO(r.body);
    CHECK(r.status == 404);
    const RestError err = ParseRestError(r.body);
    CHECK(err.reason == "READER_NOT_FOUND");
    CHECK(err.fields.count("reader") == 1);
    CHECK_FALSE(err.message_ja.empty());
  }
  {
    auto r = HttpCall(ports.rest, "POST", "/v1/checkins", RestHeaders(), RestTap(""));
    INFO(r.body);
    CHECK(r.status == 400);
    const RestError err = ParseRestError(r.body);
    CHECK(err.reason == "INVALID_CHECKIN");
    CHECK(err.fields == std::set<std::string>{"reader"});
  }
  env.RemoveCard();
  REQUIRE(watch.Await(onshi::v1::READER_EVENT_KIND_CARD_REMOVED, reader));
  {
    auto r = HttpCall(ports.rest, "POST", "/v1/checkins", RestHeaders(), RestTap(reader));
    INFO(r.body);
    CHECK(r.status == 400);
    const RestError err = ParseRestError(r.body);
    CHECK(err.reason == "NO_CARD");
    CHECK_THAT(err.message_ja, Catch::Contains("カード"));
  }
  // No check-in was created by the refused taps: today's list holds only the ones above.
  {
    auto r = HttpCall(ports.rest, "GET", "/v1/checkins", RestHeaders());
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto list = nlohmann::json::parse(r.body)["checkIns"];
    std::vector<std::string> ids;
    for (const auto& item : list) ids.push_back(item["checkInId"]);
    CHECK(ids == std::vector<std::string>{a.check_in_id(), b.check_in_id(), c.check_in_id(),
                                          e.check_in_id(), d.check_in_id(), own_id,
                                          f.check_in_id(), g.check_in_id()});
  }
  // A retry of the first tap (same request id) needs no card: it is the first answer again (the
  // same check-in, as it was started).
  {
    CheckIn retried;
    auto s = desk.StartCheckIn(Tap(reader), &retried, "tap-valid-1");
    INFO(s.error_message());
    REQUIRE(s.ok());
    CHECK(retried.check_in_id() == a.check_in_id());
    CHECK(retried.state() == onshi::v1::CHECK_IN_STATE_WAITING);
  }
  // The card back on the reader: the same tap over REST starts a waiting check-in.
  env.InsertCard();
  REQUIRE(watch.Await(onshi::v1::READER_EVENT_KIND_CARD_INSERTED, reader));
  {
    auto r = HttpCall(ports.rest, "POST", "/v1/checkins", RestHeaders("rest-tap-1"), RestTap(reader));
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto j = nlohmann::json::parse(r.body);
    CHECK(j["state"] == "CHECK_IN_STATE_WAITING");
    CHECK(j["channel"] == "CHANNEL_GENERIC_READER");
    CHECK(j["certificateStatus"] == "EXPIRED_IN_GRACE");
    CHECK(j["cardKey"] == g.card_key());
    const std::string id = j["checkInId"];
    auto cancel = HttpCall(ports.rest, "POST", "/v1/checkins/" + id + ":cancel", RestHeaders(),
                           R"({"reason": "PATIENT_LEFT"})");
    INFO(cancel.body);
    CHECK(cancel.status == 200);
  }

  // ---------------------------------------------------------------------------------------------
  // 5. The daemon's log carries ids and codes, never a card key, a certificate subject or the
  //    patients' names and birth dates.
  const std::string log = daemon.log();
  INFO("daemon log at the end:\n" << log);
  CHECK(log.find("check-in " + g.check_in_id()) != std::string::npos);  // the scan sees the log
  for (const auto& key : card_keys) {
    CHECK(log.find(key.substr(0, 16)) == std::string::npos);
  }
  for (const char* personal :
       {"CKRVALIDSUBJ01", "CKRRENEWSUBJ01", "CKREXPIREDSUBJ1", "CKRGRACESUBJ01", "ｼﾝﾘｮｳ", "ｺｸﾎ",
        "診療", "国保", "1980-04-15", "19800415", "1975-03-03", "19750303"}) {
    INFO(personal);
    CHECK(log.find(personal) == std::string::npos);
  }
}
