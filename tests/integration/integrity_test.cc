// Issue 11 end to end — integrity under faults, with the real daemon binary, the terminal simulator
// as its own process and a real PostgreSQL (started by the test, shared by restarts and by two
// daemons):
//   - SIGKILL at every durable step (failpoints) under load, then a restart: no request file
//     written twice, every answered request stored once with one event, no slot left taken, no
//     leftovers in the terminal's folders, and a subscriber that followed throughout saw every
//     event exactly once, in order;
//   - the same after SIGKILLs at random moments;
//   - event cursors in commit order with concurrent writers and several subscribers (gRPC, SSE,
//     one reconnecting from its last cursor every few events);
//   - two daemons on one database, each with its own terminal folder;
//   - requests still queued at a restart are written after it; a request that is never answered
//     releases its slot and is named by /readyz; its late answer still arrives;
//   - a re-verification in flight across a restart is not sent again;
//   - the systemd watchdog is not fed while the database hangs.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "onshi/v1/checkin.grpc.pb.h"
#include "onshi/v1/eligibility.grpc.pb.h"
#include "onshi/v1/events.grpc.pb.h"
#include "onshi/v1/fallback.grpc.pb.h"
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/desk_client.h"
#include "support/http_client.h"
#include "support/pg_test_env.h"
#include "support/sim_terminal.h"
#include "support/stream_client.h"

using namespace onshid::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace v1 = onshi::v1;

namespace {

const std::string kDeskToken = "desk-token-for-integrity";

std::string Tokens() {
  return std::string(R"([{"name": "desk", "sha256": ")") + Sha256Hex(kDeskToken) +
         R"(", "scopes": ["read", "reception"]}, {"name": "ops", "sha256": ")" +
         Sha256Hex(kAdminToken) + R"(", "scopes": ["read", "admin"]}])";
}

// The statuses after which a client must not retry with the same id: the outcome is final.
bool Final(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return false;
    default:
      return true;
  }
}

// Direct reads of the shared database: what was committed, to compare with what clients saw.
class Db {
 public:
  explicit Db(std::string dsn) : dsn_(std::move(dsn)) {}

  std::vector<std::int64_t> Cursors() {
    pqxx::connection c(dsn_);
    pqxx::read_transaction t(c);
    std::vector<std::int64_t> out;
    for (const auto& row : t.exec("SELECT cursor FROM events WHERE cursor IS NOT NULL ORDER BY cursor")) {
      out.push_back(row[0].as<std::int64_t>());
    }
    return out;
  }
  std::int64_t Count(const std::string& sql) {
    pqxx::connection c(dsn_);
    pqxx::read_transaction t(c);
    return t.exec1(sql)[0].as<std::int64_t>();
  }
  std::int64_t Count(const std::string& sql, const std::string& param) {
    pqxx::connection c(dsn_);
    pqxx::read_transaction t(c);
    return t.exec_params1(sql, param)[0].as<std::int64_t>();
  }
  // journal file name → (client request id, state), for every eligibility query.
  std::map<std::string, std::pair<std::string, std::string>> Journal() {
    pqxx::connection c(dsn_);
    pqxx::read_transaction t(c);
    std::map<std::string, std::pair<std::string, std::string>> out;
    for (const auto& row :
         t.exec("SELECT file_name, client_request_id, state FROM upstream_journal")) {
      out[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    return out;
  }
  // Bounded wait for `sql` (a count) to reach `want`; the database is the observable here.
  bool WaitCount(const std::string& sql, std::int64_t want, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (Count(sql) >= want) return true;
      std::this_thread::sleep_for(50ms);  // polling a condition, bounded by `timeout`
    }
    return Count(sql) >= want;
  }

 private:
  std::string dsn_;
};

// One daemon with its own terminal (simulator) and state directory, on a given database.
struct Site {
  // `upstream_extra` and `checkin_extra` are more members of those sections (each starting with
  // a comma).
  Site(const std::string& dsn, const std::string& upstream_extra = "", int latency_ms = 0,
       const std::string& checkin_extra = "")
      : terminal(dir.path(), latency_ms) {
    const std::string storage = R"(, "dsn": ")" + dsn + R"(")";
    const std::string upstream =
        R"("upstream": {"folder": ")" + terminal.folder + R"(", "medical_institution_code": ")" +
        kSimInstitutionCode + R"(", "poll_interval_ms": 100)" + upstream_extra + R"(},
    "checkin": {"sweep_interval_ms": 200)" + (checkin_extra.empty() ? std::string(R"(, "query_timeout_s": 5)") : checkin_extra) + R"(},
    "fallback": {"reverify_interval_ms": 200},)";
    config = ConfigJson({dir.path() + "/state", ports, storage, Tokens(), "", upstream});
  }

  // Starts the daemon (again) on the same state dir; `env` for failpoints.
  bool Start(std::map<std::string, std::string> env = {}) {
    daemon.reset();  // the previous process (already exited) is reaped
    daemon = std::make_unique<DaemonProcess>(dir.path(), config, std::move(env));
    if (daemon->Start(60s)) return true;
    UNSCOPED_INFO("the daemon did not start:\n" << daemon->log());
    return false;
  }
  // The daemon's exit code once it exited (nullopt: still running after `timeout`).
  std::optional<int> Exited(std::chrono::milliseconds timeout) { return daemon->WaitExit(timeout); }
  std::string Log() const { return daemon ? daemon->log() : std::string(); }

  std::shared_ptr<grpc::Channel> Channel() {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(ports.grpc),
                               grpc::InsecureChannelCredentials());
  }
  std::map<std::string, int> RequestFiles() const {
    auto status = nlohmann::json::parse(terminal.Ctl("status").output);
    return status.value("request_files", std::map<std::string, int>{});
  }
  // Files left in one of the terminal's folders (other software's view of them).
  std::vector<std::string> FilesIn(const std::string& sub) const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(terminal.folder + "/" + sub, ec)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

  TempDir dir;
  Ports ports;
  SimTerminal terminal;
  std::string config;
  std::unique_ptr<DaemonProcess> daemon;
};

v1::QueryRequest Patient() {
  v1::QueryRequest r;
  r.mutable_identifiers()->set_insurer_number("06139992");
  r.mutable_identifiers()->set_insured_card_symbol("1234");
  r.mutable_identifiers()->set_insured_identification_number("5678");
  r.mutable_identifiers()->set_insured_branch_number("00");
  r.set_birth_date("1980-04-15");
  return r;
}

grpc::Status Query(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                   std::chrono::milliseconds deadline, v1::QueryResponse* out = nullptr) {
  auto stub = v1::EligibilityService::NewStub(channel);
  grpc::ClientContext ctx;
  Prepare(ctx, kDeskToken, id);
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::QueryResponse resp;
  auto s = stub->Query(&ctx, Patient(), &resp);
  if (out) *out = resp;
  return s;
}

// A check-in with no document: it needs the fallback path at once and its case opens.
grpc::Status StartWithoutDocument(const std::shared_ptr<grpc::Channel>& channel,
                                  const std::string& id, std::chrono::milliseconds deadline) {
  auto stub = v1::CheckInService::NewStub(channel);
  grpc::ClientContext ctx;
  Prepare(ctx, kDeskToken, id);
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::StartCheckInRequest req;
  req.set_desk_id("reception");
  req.set_channel(v1::CHANNEL_MANUAL);
  req.add_documents(v1::DOCUMENT_NONE);
  v1::CheckIn out;
  return stub->StartCheckIn(&ctx, req, &out);
}

// A client that follows the event stream throughout, across daemon restarts: it resumes from the
// last cursor it received, as a vendor's client does (DeskClient with `resume`), hanging up on
// purpose after every `hang_up_every` events when asked to. Every event it got stays in Received().
DeskOptions Following(int hang_up_every = 0) {
  DeskOptions o;
  o.resume = true;
  o.hang_up_every = hang_up_every;
  return o;
}

// The cursors of every event `follower` received, in the order received.
std::vector<std::int64_t> Cursors(const DeskClient& follower) {
  std::vector<std::int64_t> out;
  for (const auto& e : follower.Received()) out.push_back(e.cursor());
  return out;
}

// What every crash test checks once the daemon recovered and every client got its answer.
void CheckInvariants(Site& site, Db& db, DeskClient& follower,
                     const std::vector<std::string>& query_ids,
                     const std::vector<std::string>& checkin_ids, int faces) {
  INFO(site.Log());
  // Each request file was written once, and only for journalled requests.
  const auto journal = db.Journal();
  const auto files = site.RequestFiles();
  for (const auto& [name, times] : files) {
    INFO("request file " << name);
    CHECK(times == 1);
    CHECK(journal.count(name) == 1);
  }
  // Each client request id produced one journal entry (one request), answered, one result and one
  // event; nothing is left in flight.
  for (const auto& id : query_ids) {
    INFO("query " << id);
    int entries = 0;
    for (const auto& [name, entry] : journal) {
      if (entry.first != id) continue;
      ++entries;
      CHECK(entry.second == "ANSWERED");
      CHECK(files.count(name) == 1);
    }
    CHECK(entries == 1);
    CHECK(db.Count("SELECT count(*) FROM eligibility_results WHERE client_request_id = $1", id) == 1);
    CHECK(db.Count("SELECT count(*) FROM events WHERE type = 'eligibility.result'"
                   " AND request_id = $1",
                   id) == 1);
  }
  CHECK(db.Count("SELECT count(*) FROM upstream_journal WHERE state IN "
                 "('JOURNALLED', 'WRITING', 'WRITTEN', 'ABANDONED')") == 0);
  // Every check-in exists once, with its one case.
  for (const auto& id : checkin_ids) {
    INFO("check-in " << id);
    CHECK(db.Count("SELECT count(*) FROM check_ins WHERE client_key = $1", "desk/" + id) == 1);
    CHECK(db.Count("SELECT count(*) FROM fallback_cases f JOIN check_ins c ON c.id = f.check_in_id"
                   " WHERE c.client_key = $1",
                   "desk/" + id) == 1);
  }
  // Each face file stored once, with one event.
  CHECK(db.Count("SELECT count(*) FROM eligibility_results WHERE source = 'face'") == faces);
  CHECK(db.Count("SELECT count(*) FROM events WHERE type IN ('face.received', 'face.duplicate')") ==
        faces);
  // Nothing of ours is left in the terminal's folders.
  CHECK(site.FilesIn("res").empty());
  CHECK(site.FilesIn("face").empty());
  for (const auto& name : site.FilesIn("req")) {
    INFO(name);
    CHECK(name.rfind(".onshid-", 0) != 0);
  }
  // The subscriber that followed throughout saw every committed event exactly once, in order.
  const auto committed = db.Cursors();
  REQUIRE_FALSE(committed.empty());
  REQUIRE(follower.AwaitCursor(committed.back(), 20s));
  auto seen = Cursors(follower);
  seen.erase(std::remove_if(seen.begin(), seen.end(),
                            [&](std::int64_t c) { return c > committed.back(); }),
             seen.end());
  CHECK(seen == committed);
}

// Drives every query and check-in to a final answer, retrying each with its own id (as a client
// does after a time-out or a crash). All must succeed.
void Complete(Site& site, const std::vector<std::string>& query_ids,
              const std::vector<std::string>& checkin_ids) {
  auto channel = site.Channel();
  std::vector<std::thread> workers;
  std::mutex mu;
  std::map<std::string, grpc::Status> outcome;
  auto drive = [&](const std::string& id, bool query) {
    grpc::Status s;
    const auto until = std::chrono::steady_clock::now() + 60s;
    do {
      s = query ? Query(channel, id, 10s) : StartWithoutDocument(channel, id, 10s);
    } while (!Final(s) && std::chrono::steady_clock::now() < until);
    std::lock_guard lock(mu);
    outcome[id] = s;
  };
  for (const auto& id : query_ids) workers.emplace_back(drive, id, true);
  for (const auto& id : checkin_ids) workers.emplace_back(drive, id, false);
  for (auto& w : workers) w.join();
  for (const auto& [id, s] : outcome) {
    INFO(id << ": " << s.error_code() << " " << ReasonOf(s) << " " << s.error_message());
    CHECK(s.ok());
  }
}

// Sends a burst of work at once: queries, check-ins (each opening a fallback case) and face files.
void Burst(Site& site, const std::string& tag, int queries, int checkins, int faces,
           std::vector<std::string>& query_ids, std::vector<std::string>& checkin_ids,
           int& face_count, std::vector<std::thread>& workers) {
  auto channel = site.Channel();
  for (int i = 0; i < queries; ++i) {
    query_ids.push_back(tag + "-q" + std::to_string(i));
    workers.emplace_back([channel, id = query_ids.back()] { (void)Query(channel, id, 8s); });
  }
  for (int i = 0; i < checkins; ++i) {
    checkin_ids.push_back(tag + "-c" + std::to_string(i));
    workers.emplace_back(
        [channel, id = checkin_ids.back()] { (void)StartWithoutDocument(channel, id, 8s); });
  }
  for (int i = 0; i < faces; ++i) {
    REQUIRE(site.terminal.Face("shaho-honnin") == 0);
    ++face_count;
  }
}

}  // namespace

TEST_CASE("killed at every durable step, the daemon recovers: nothing lost, nothing sent twice",
          "[integrity]") {
  // Each failpoint kills the daemon (SIGKILL, like a power cut) the n-th time its step is
  // reached, in the middle of a burst of queries, check-ins (each opening a fallback case) and
  // face files; the daemon is started again without it and the clients retry with their ids.
  const std::vector<std::string> points = {
      "journal.after_record@2",  "request.after_temp@2",  "request.after_rename@2",
      "request.after_written@2", "result.after_store@2",  "face.after_store@1",
      "archive.after_move@2",    "event.before_commit@4", "checkin.after_write@2",
      "case.after_write@1",      "audit.after_attempt@3", "call.after_use_case@2"};
  auto& pg = SharedPgTestEnv();
  for (const auto& point : points) {
    DYNAMIC_SECTION("failpoint " << point) {
      const std::string dsn = pg.CreateDatabase();
      Db db(dsn);
      Site site(dsn);
      REQUIRE(site.terminal.ready);
      REQUIRE(site.Start({{"ONSHID_FAILPOINT", point}}));
      DeskClient follower(site.ports.grpc, kDeskToken, Following());
      std::vector<std::string> queries, checkins;
      int faces = 0;
      std::vector<std::thread> workers;
      Burst(site, "crash", 4, 2, 2, queries, checkins, faces, workers);
      // The failpoint must have been reached: the daemon killed itself.
      const auto exit = site.Exited(60s);
      for (auto& w : workers) w.join();
      INFO(site.Log());
      REQUIRE(exit == std::optional<int>(128 + SIGKILL));
      CHECK(site.Log().find("failpoint " + point.substr(0, point.find('@'))) != std::string::npos);

      REQUIRE(site.Start());
      Complete(site, queries, checkins);
      REQUIRE(db.WaitCount("SELECT count(*) FROM eligibility_results WHERE source = 'face'", faces,
                           30s));
      // Answer files still in res/ or face/ are archived by then (the store comes first).
      REQUIRE(db.WaitCount("SELECT count(*) FROM upstream_journal WHERE state = 'ANSWERED'",
                           static_cast<std::int64_t>(queries.size()), 30s));
      // Every check-in's case exists, also one whose opening the kill interrupted.
      CHECK(db.WaitCount("SELECT count(*) FROM fallback_cases",
                         static_cast<std::int64_t>(checkins.size()), 30s));
      site.daemon->Signal(SIGTERM);
      CHECK(site.Exited(20s) == std::optional<int>(0));
      CheckInvariants(site, db, follower, queries, checkins, faces);
    }
  }
}

TEST_CASE("killed at random moments under concurrent clients, the daemon loses nothing",
          "[integrity]") {
  auto& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  Db db(dsn);
  // A small answer latency keeps requests in flight when the kill comes.
  Site site(dsn, "", 150);
  REQUIRE(site.terminal.ready);
  std::mt19937 random(20261203);
  std::uniform_int_distribution<int> delay_ms(50, 1200);
  std::vector<std::string> queries, checkins;
  int faces = 0;
  REQUIRE(site.Start());
  DeskClient follower(site.ports.grpc, kDeskToken, Following(7));
  for (int round = 0; round < 8; ++round) {
    INFO("round " << round);
    std::vector<std::thread> workers;
    Burst(site, "r" + std::to_string(round), 4, 1, 1, queries, checkins, faces, workers);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));  // the random moment
    site.daemon->Signal(SIGKILL);
    REQUIRE(site.Exited(10s).has_value());
    for (auto& w : workers) w.join();
    REQUIRE(site.Start());
  }
  Complete(site, queries, checkins);
  REQUIRE(db.WaitCount("SELECT count(*) FROM eligibility_results WHERE source = 'face'", faces,
                       30s));
  CHECK(db.WaitCount("SELECT count(*) FROM fallback_cases",
                     static_cast<std::int64_t>(checkins.size()), 30s));
  site.daemon->Signal(SIGTERM);
  CHECK(site.Exited(20s) == std::optional<int>(0));
  CHECK(follower.Subscriptions() > 8);
  CheckInvariants(site, db, follower, queries, checkins, faces);
}

TEST_CASE("event cursors follow commit order: every subscriber sees the committed sequence",
          "[integrity]") {
  auto& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  Db db(dsn);
  Site site(dsn);
  REQUIRE(site.terminal.ready);
  // Every third transaction that writes events stays open 150 ms after inserting them, so that
  // transactions commit in another order than they inserted (which a bigserial cursor read with
  // "cursor > N" cannot survive).
  REQUIRE(site.Start({{"ONSHID_FAILPOINT", "event.before_commit%3=sleep:150"}}));
  INFO(site.Log());
  DeskClient steady(site.ports.grpc, kDeskToken, Following());
  // Hangs up every 3 events, resumes from its cursor.
  DeskClient reconnecting(site.ports.grpc, kDeskToken, Following(3));
  // An SSE subscriber over REST: its events wait in the socket until read at the end.
  namespace http = boost::beast::http;
  StreamClient sse(site.ports.rest);
  {
    http::request<http::string_body> req{http::verb::get, "/v1/events?afterCursor=0", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + kDeskToken);
    sse.Send(req);
    REQUIRE(sse.ReadHeader());
    REQUIRE(sse.response().result_int() == 200);
  }
  // Concurrent writers: check-ins (each with its case), queries and face files.
  std::vector<std::string> queries, checkins;
  int faces = 0;
  {
    std::vector<std::thread> workers;
    for (int wave = 0; wave < 3; ++wave) {
      Burst(site, "w" + std::to_string(wave), 4, 6, 2, queries, checkins, faces, workers);
    }
    for (auto& w : workers) w.join();
  }
  Complete(site, queries, checkins);
  REQUIRE(db.WaitCount("SELECT count(*) FROM eligibility_results WHERE source = 'face'", faces,
                       30s));
  const auto committed = db.Cursors();
  REQUIRE(committed.size() > 60);
  REQUIRE(steady.AwaitCursor(committed.back(), 20s));
  REQUIRE(reconnecting.AwaitCursor(committed.back(), 20s));
  REQUIRE(sse.ReadUntil("id: " + std::to_string(committed.back()) + "\n"));
  std::vector<std::int64_t> sse_cursors;
  for (std::size_t pos = sse.body().find("id: "); pos != std::string::npos;
       pos = sse.body().find("id: ", pos + 4)) {
    if (pos > 0 && sse.body()[pos - 1] != '\n') continue;
    sse_cursors.push_back(std::stoll(sse.body().substr(pos + 4, sse.body().find('\n', pos) - pos - 4)));
  }
  auto upto = [&](std::vector<std::int64_t> v) {
    v.erase(std::remove_if(v.begin(), v.end(), [&](std::int64_t c) { return c > committed.back(); }),
            v.end());
    return v;
  };
  CHECK(upto(Cursors(steady)) == committed);
  CHECK(upto(Cursors(reconnecting)) == committed);
  CHECK(upto(sse_cursors) == committed);
  CHECK(reconnecting.Subscriptions() > 10);
}

TEST_CASE("two daemons on one database: each keeps its own journal, both see every event",
          "[integrity]") {
  auto& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  Db db(dsn);
  Site a(dsn);
  Site b(dsn);
  REQUIRE(a.terminal.ready);
  REQUIRE(b.terminal.ready);
  REQUIRE(a.Start());
  REQUIRE(b.Start());
  DeskClient on_b(b.ports.grpc, kDeskToken, Following());

  // A's terminal hangs: three of A's queries are written and wait for their answers.
  a.terminal.process->Signal(SIGSTOP);
  std::vector<std::string> queries = {"a-q0", "a-q1", "a-q2"};
  for (const auto& id : queries) {
    CHECK(ReasonOf(Query(a.Channel(), id, 1500ms)) == "UPSTREAM_RESULT_PENDING");
  }
  REQUIRE(db.WaitCount("SELECT count(*) FROM upstream_journal WHERE state = 'WRITTEN'", 3, 10s));

  // B restarts next to A: it must not await (or touch) A's requests.
  b.daemon->Signal(SIGTERM);
  REQUIRE(b.Exited(20s) == std::optional<int>(0));
  REQUIRE(b.Start());
  {
    auto ready = nlohmann::json::parse(HttpCall(b.ports.health, "GET", "/readyz").body);
    INFO(ready.dump());
    for (const auto& d : ready["dependencies"]) {
      if (d["name"] == "upstream") CHECK(d.value("detail", "").find("in flight 0, queued 0") == 0);
    }
  }
  // B serves its own terminal at once.
  v1::QueryResponse on_b_result;
  REQUIRE(Query(b.Channel(), "b-q0", 10s, &on_b_result).ok());
  CHECK(b.RequestFiles().size() == 1);

  // A restarts too and gets its own answers once its terminal runs again.
  a.daemon->Signal(SIGTERM);
  REQUIRE(a.Exited(20s) == std::optional<int>(0));
  REQUIRE(a.Start());
  a.terminal.process->Signal(SIGCONT);
  for (const auto& id : queries) CHECK(Query(a.Channel(), id, 15s).ok());
  CHECK(a.RequestFiles().size() == 3);
  for (const auto& [name, times] : a.RequestFiles()) CHECK(times == 1);
  CHECK(db.Count("SELECT count(*) FROM upstream_journal WHERE state <> 'ANSWERED'") == 0);

  // A subscriber on B saw A's results too (one log, one order).
  const auto committed = db.Cursors();
  REQUIRE(on_b.AwaitCursor(committed.back(), 20s));
  std::set<std::string> results;
  for (const auto& e : on_b.Received()) {
    if (e.type() == "eligibility.result") results.insert(e.request_id());
  }
  CHECK(results == std::set<std::string>{"a-q0", "a-q1", "a-q2", "b-q0"});
}

TEST_CASE("requests queued at a restart are written after it, an unanswered one gives back its "
          "slot, is named by /readyz, and its late answer still arrives",
          "[integrity]") {
  auto& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  Db db(dsn);
  // One request in flight at a time; an unanswered request is abandoned after 2 s.
  Site site(dsn, R"(, "max_in_flight": 1, "answer_timeout_s": 2)");
  REQUIRE(site.terminal.ready);
  REQUIRE(site.Start());

  SECTION("queued requests are written after a restart, each once") {
    site.terminal.process->Signal(SIGSTOP);
    for (const auto* id : {"queued-0", "queued-1", "queued-2"}) {
      CHECK(ReasonOf(Query(site.Channel(), id, 600ms)) == "UPSTREAM_RESULT_PENDING");
    }
    // One written (the terminal does not take it), two journalled and queued.
    REQUIRE(db.WaitCount("SELECT count(*) FROM upstream_journal WHERE state = 'WRITTEN'", 1, 10s));
    CHECK(db.Count("SELECT count(*) FROM upstream_journal WHERE state = 'JOURNALLED'") == 2);
    site.daemon->Signal(SIGTERM);
    REQUIRE(site.Exited(20s) == std::optional<int>(0));
    REQUIRE(site.Start());
    site.terminal.process->Signal(SIGCONT);
    for (const auto* id : {"queued-0", "queued-1", "queued-2"}) {
      INFO(id);
      CHECK(Query(site.Channel(), id, 15s).ok());
    }
    const auto files = site.RequestFiles();
    CHECK(files.size() == 3);
    for (const auto& [name, times] : files) CHECK(times == 1);
  }

  SECTION("a request never answered releases its slot and is named; its late answer arrives") {
    // The terminal takes the first request and answers nothing for a while.
    REQUIRE(site.terminal.Ctl("fault --kind late --delay-ms 6000 --count 1").exit_code == 0);
    CHECK(ReasonOf(Query(site.Channel(), "slow-0", 1000ms)) == "UPSTREAM_RESULT_PENDING");
    // After answer_timeout_s it is abandoned: the next query is written and answered although
    // max_in_flight is 1.
    REQUIRE(db.WaitCount("SELECT count(*) FROM upstream_journal WHERE state = 'ABANDONED'", 1, 15s));
    CHECK(Query(site.Channel(), "after-0", 10s).ok());
    // /readyz names it (with the client's request id); readiness is not lost for it.
    bool named = false;
    std::string last_ready;
    for (int i = 0; i < 50 && !named; ++i) {
      auto r = HttpCall(site.ports.health, "GET", "/readyz");
      last_ready = r.body;
      const auto ready = nlohmann::json::parse(r.body);
      for (const auto& d : ready["dependencies"]) {
        if (d["name"] == "upstream_requests" && d.value("reason", "") == "UPSTREAM_REQUESTS_UNANSWERED" &&
            d.value("detail", "").find("slow-0") != std::string::npos) {
          named = true;
          CHECK(r.status == 200);
        }
      }
      if (!named) std::this_thread::sleep_for(100ms);  // the board is refreshed every 500 ms
    }
    INFO(last_ready);
    CHECK(named);
    // A retry before the late answer: the terminal never answered in time.
    CHECK(ReasonOf(Query(site.Channel(), "slow-0", 2000ms)) == "UPSTREAM_NO_ANSWER");
    // The late answer is stored; the retry now gets it, and nothing was sent twice.
    REQUIRE(db.WaitCount("SELECT count(*) FROM eligibility_results WHERE client_request_id = 'slow-0'",
                         1, 15s));
    v1::QueryResponse late;
    REQUIRE(Query(site.Channel(), "slow-0", 10s, &late).ok());
    CHECK(late.result().request_id() == "slow-0");
    CHECK(site.RequestFiles().size() == 2);
  }
}

TEST_CASE("the systemd watchdog is fed only while the daemon and its database answer",
          "[integrity]") {
  auto& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  Site site(dsn);
  REQUIRE(site.terminal.ready);
  site.daemon = std::make_unique<DaemonProcess>(site.dir.path(), site.config,
                                                std::map<std::string, std::string>{
                                                    {"WATCHDOG_USEC", "600000"}});
  REQUIRE(site.daemon->Start(60s));
  INFO(site.Log());
  REQUIRE(site.daemon->WaitNotify("WATCHDOG=1", 5s));
  // The database hangs: the test cluster's postmaster and every server process under it (the
  // daemon's connections included) are stopped, as a hung or partitioned server would be.
  std::string postmaster;
  std::getline(std::ifstream(pg.StateDir() / "pgdata" / "postmaster.pid"), postmaster);
  REQUIRE_FALSE(postmaster.empty());
  auto stop_all = [&](int sig) {
    RunCommand("pkill -" + std::to_string(sig) + " -P " + postmaster + "; kill -" +
               std::to_string(sig) + " " + postmaster);
  };
  stop_all(SIGSTOP);
  // A notification already sent may still be queued: drain, then none may come while hung.
  (void)site.daemon->WaitNotify("WATCHDOG=1", 400ms);
  const bool fed_while_hung = site.daemon->WaitNotify("WATCHDOG=1", 2000ms);
  stop_all(SIGCONT);
  CHECK_FALSE(fed_while_hung);
  CHECK(site.daemon->WaitNotify("WATCHDOG=1", 10s));
  CHECK(site.Log().find("liveness probe not answered") != std::string::npos);
  site.daemon->Signal(SIGTERM);
  CHECK(site.Exited(20s) == std::optional<int>(0));
}

TEST_CASE("a re-verification in flight when the daemon is killed is waited for after the restart, "
          "not sent again",
          "[integrity]") {
  auto& pg = SharedPgTestEnv();
  const std::string dsn = pg.CreateDatabase();
  Db db(dsn);
  // A quickly visible outage: queries time out after 2 s, an unconsumed req/ file after 1 s
  // marks the terminal as not answering.
  Site site(dsn, R"(, "stale_request_warn_s": 1)", 0, R"(, "query_timeout_s": 2)");
  REQUIRE(site.terminal.ready);
  REQUIRE(site.Start());
  DeskClient desk(site.ports.grpc, kDeskToken, Following());
  auto start = [&](const std::string& id, const std::string& branch, const std::string& birth) {
    v1::StartCheckInRequest r;
    r.set_desk_id("reception");
    r.set_channel(v1::CHANNEL_DOCUMENT_QUERY);
    r.add_documents(v1::DOCUMENT_QUALIFICATION_CERTIFICATE_CARD);
    r.mutable_visit()->set_kind(v1::VISIT_KIND_FIRST_VISIT);
    r.mutable_identifiers()->set_insurer_number("06139992");
    r.mutable_identifiers()->set_insured_card_symbol("1234");
    r.mutable_identifiers()->set_insured_identification_number("5678");
    r.mutable_identifiers()->set_insured_branch_number(branch);
    r.set_birth_date(birth);
    return desk.StartCheckIn(r, id).check_in_id();
  };
  // Both answers the terminal gives once it runs again come late (4 s).
  REQUIRE(site.terminal.Ctl("fault --kind late --delay-ms 4000 --count 2").exit_code == 0);
  // The terminal hangs: the first check-in's query is written and times out; then the terminal
  // counts as not answering and the second check-in is not sent at all (its case waits QUEUED).
  site.terminal.process->Signal(SIGSTOP);
  const std::string first = start("rv-ci-1", "01", "1982-09-20");
  desk.AwaitEvent("fallback.case_opened", "check_in_id", first, 20s);
  desk.AwaitEvent("upstream.state", "state", "DEGRADED", 20s);
  const std::string second = start("rv-ci-2", "02", "2022-06-10");
  desk.AwaitEvent("fallback.case_opened", "check_in_id", second, 20s);
  CHECK(db.Count("SELECT count(*) FROM upstream_journal WHERE request_id = $1",
                 "checkin:" + second) == 0);
  // The terminal runs again: the second check-in's re-verification is sent (attempt 1), and the
  // daemon is killed while the terminal still works on it.
  site.terminal.process->Signal(SIGCONT);
  desk.AwaitEvent("fallback.reverify_sent", "", 20s);
  REQUIRE(db.WaitCount("SELECT count(*) FROM upstream_journal WHERE request_id LIKE '%#r1'"
                       " AND state IN ('WRITTEN', 'ANSWERED')",
                       1, 10s));
  site.daemon->Signal(SIGKILL);
  REQUIRE(site.Exited(10s).has_value());
  // After the restart the case is still SENT: the daemon waits for attempt 1 instead of asking
  // the terminal about the same patient again.
  REQUIRE(site.Start());
  INFO(site.Log());
  desk.AwaitEvent("checkin.verified", "check_in_id", second, 30s);
  desk.AwaitEvent("checkin.verified", "check_in_id", first, 30s);
  CHECK(db.Count("SELECT count(*) FROM upstream_journal WHERE request_id LIKE 'checkin:%#r2'") == 0);
  const auto files = site.RequestFiles();
  CHECK(files.size() == 2);  // the first check-in's query and the one re-verification
  for (const auto& [name, times] : files) CHECK(times == 1);
}
