// query_overhead: what the daemon adds to an individual eligibility query (issue 3, §4).
//
// One terminal simulator process at zero latency serves every phase, one phase at a time:
//   (a) baseline: OqsFolderUpstream called directly in this process (in-memory journal), M queries
//       one after another; round trip = building the request XML + Submit() until on_result runs;
//   (b) the daemon's gRPC EligibilityService.Query round trip for M queries with distinct
//       x-request-id (journal in PostgreSQL, request file, result parsed and stored, answer);
//   (c) sustained: K concurrent gRPC clients (one channel each) querying for T seconds, every
//       result persisted before it is answered; completed queries per second.
// The adapter and the daemon use the same polling interval (inotify does the work in both).
// Numbers are printed for people; nothing is asserted.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "bench_util.h"
#include "core/clock.h"
#include "core/oqs/identifiers.h"
#include "core/oqs/query.h"
#include "onshi/v1/eligibility.grpc.pb.h"
#include "oqs_folder/oqs_folder_upstream.h"
#include "oqs_folder/xml_codec.h"
#include "support/child_process.h"
#include "support/daemon_process.h"
#include "support/mem_upstream_journal.h"

namespace fs = std::filesystem;
using namespace onshid;
using namespace onshid::bench;
using testing::ChildOptions;
using testing::ChildProcess;
using testing::DaemonOptions;
using testing::DaemonProcess;
using testing::FreePort;
using testing::RunToEnd;
using testing::TempDir;
using testing::WaitForUnixSocket;

namespace {

constexpr const char kUsage[] = R"(query_overhead: daemon gRPC Query round trip vs the folder adapter called in-process
  query_overhead [--queries M] [--warmup W] [--clients K] [--seconds T] [--poll-ms MS]
                 [--onshid PATH] [--sim PATH] [--registry PATH]
Defaults: --queries 300 --warmup 10 --clients 8 --seconds 10 --poll-ms 1000 (the daemon's default
upstream.poll_interval_ms, used by both the adapter and the daemon); binaries from the build tree.
Run as root (the daemon starts its managed PostgreSQL as an unprivileged user).
)";

constexpr const char kInstitution[] = "1312345678";
constexpr const char kToken[] = "bench-query-overhead-token";
// A registry person (社保 本人) the simulator answers with validity 1.
constexpr const char kInsurer[] = "06139992";
constexpr const char kSymbol[] = "1234";
constexpr const char kNumber[] = "5678";
constexpr const char kBranch[] = "00";
constexpr const char kBirthDate[] = "1980-04-15";

// (a) The adapter in-process: Submit, then wait until on_result delivers the request's result.
class DirectAdapter {
 public:
  DirectAdapter(const std::string& folder, const std::string& state, std::chrono::milliseconds poll) {
    oqs_folder::OqsFolderOptions o;
    o.folder = folder;
    o.archive_dir = state + "/archive";
    o.quarantine_dir = state + "/quarantine";
    o.poll_interval = poll;
    o.instance_id = "bench-direct";  // the in-memory journal's only owner
    // The same settle time as the daemon's default (upstream.settle_ms), so both sides wait alike.
    o.settle_delay = std::chrono::milliseconds(25);
    upstream_ = std::make_unique<oqs_folder::OqsFolderUpstream>(o, clock_, journal_);
    core::UpstreamHandlers h;
    h.on_result = [this](const core::UpstreamFile& file) {
      const auto now = SteadyClock::now();
      {
        std::lock_guard lock(mu_);
        done_[file.request_id] = {now, file.kind == core::UpstreamFile::Kind::kResult};
      }
      cv_.notify_all();
      return core::OkStatus();
    };
    h.on_face = [](const core::UpstreamFile&) { return core::OkStatus(); };
    h.on_quarantine = [](const std::string& name, const std::string& /*request_id*/,
                         const std::string& reason) {
      std::fprintf(stderr, "adapter quarantined %s: %s\n", name.c_str(), reason.c_str());
    };
    auto started = upstream_->Start(std::move(h));
    if (!started) throw std::runtime_error("adapter Start: " + started.error().message);
  }
  ~DirectAdapter() { upstream_->Stop(); }

  // One query round trip in milliseconds; nullopt on an error or after `timeout`.
  std::optional<double> Query(const std::string& request_id, std::chrono::milliseconds timeout) {
    const auto t0 = SteadyClock::now();
    core::oqs::EligibilityQueryInput in;
    in.insurer_number = kInsurer;
    in.insured_card_symbol = kSymbol;
    in.insured_identification_number = kNumber;
    in.insured_branch_number = kBranch;
    in.birth_date = "19800415";
    auto query = core::oqs::ValidateQueryInput(in);
    if (!query) throw std::runtime_error("query input: " + query.error().message);
    oqs_folder::RequestHeader header;
    header.medical_institution_code = kInstitution;
    header.qualification_confirmation_date = core::oqs::OqsDate::JapanDateOf(clock_.Now());
    char afi[32];
    std::snprintf(afi, sizeof afi, "BQ%014zu", ++afi_counter_);
    header.arbitrary_file_identifier = afi;
    auto xml = oqs_folder::BuildQualificationRequest(query.value(), header, oqs_folder::Encoding::kUtf8);
    if (!xml) throw std::runtime_error("build request: " + xml.error().message);
    core::UpstreamRequest req;
    req.request_id = request_id;
    req.message_type = "OQSsiquc01";
    req.kind = "eligibility_query";
    req.xml_utf8 = std::move(xml).value();
    req.arbitrary_file_identifier = afi;
    auto submitted = upstream_->Submit(req);
    if (!submitted) {
      std::fprintf(stderr, "Submit: %s\n", submitted.error().message.c_str());
      return std::nullopt;
    }
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return done_.count(request_id) != 0; })) return std::nullopt;
    auto [at, ok] = done_.at(request_id);
    if (!ok) return std::nullopt;
    return Ms(t0, at);
  }

 private:
  core::SystemClock clock_;
  testing::MemUpstreamJournal journal_;
  std::unique_ptr<oqs_folder::OqsFolderUpstream> upstream_;
  std::size_t afi_counter_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::pair<SteadyClock::time_point, bool>> done_;
};

onshi::v1::QueryRequest GrpcRequest() {
  onshi::v1::QueryRequest r;
  r.mutable_identifiers()->set_insurer_number(kInsurer);
  r.mutable_identifiers()->set_insured_card_symbol(kSymbol);
  r.mutable_identifiers()->set_insured_identification_number(kNumber);
  r.mutable_identifiers()->set_insured_branch_number(kBranch);
  r.set_birth_date(kBirthDate);
  return r;
}

// One gRPC Query round trip in milliseconds; nullopt on error (printed once per code).
std::optional<double> GrpcQuery(onshi::v1::EligibilityService::Stub& stub, const std::string& request_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  ctx.AddMetadata("x-request-id", request_id);
  onshi::v1::QueryResponse resp;
  const auto t0 = SteadyClock::now();
  grpc::Status s = stub.Query(&ctx, GrpcRequest(), &resp);
  const auto t1 = SteadyClock::now();
  if (!s.ok() || resp.result().validity().code() != "1") {
    static std::atomic<int> reported{0};
    if (reported++ < 3) {
      std::fprintf(stderr, "Query %s: %d %s (validity %s)\n", request_id.c_str(),
                   static_cast<int>(s.error_code()), s.error_message().c_str(),
                   resp.result().validity().code().c_str());
    }
    return std::nullopt;
  }
  return Ms(t0, t1);
}

std::unique_ptr<onshi::v1::EligibilityService::Stub> NewStub(int port) {
  // A channel argument that differs per stub gives each client its own connection.
  static std::atomic<int> n{0};
  grpc::ChannelArguments args;
  args.SetInt("onshid.bench.channel", n++);
  return onshi::v1::EligibilityService::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
}

std::string DaemonConfig(const std::string& dir, const std::string& folder, long poll_ms, int grpc_port,
                         int rest_port, int health_port) {
  return R"({
    "site_id": "bench", "state_dir": ")" + dir + R"(/state", "log": {"level": "info"},
    "grpc": {"listen": "127.0.0.1:)" + std::to_string(grpc_port) + R"("},
    "rest": {"listen": "127.0.0.1:)" + std::to_string(rest_port) + R"("},
    "health": {"listen": "127.0.0.1:)" + std::to_string(health_port) + R"("},
    "auth": {"tokens": [{"name": "bench", "sha256": ")" + Sha256Hex(kToken) + R"(", "scopes": ["read", "reception"]}]},
    "upstream": {"folder": ")" + folder + R"(", "medical_institution_code": ")" + kInstitution + R"(",
                 "poll_interval_ms": )" + std::to_string(poll_ms) + R"(}
  })";
}

std::string JsonNumberField(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return "?";
  at += key.size() + 3;
  auto end = json.find_first_of(",}", at);
  return json.substr(at, end - at);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags(argc, argv,
              {{"queries", "300"}, {"warmup", "10"}, {"clients", "8"}, {"seconds", "10"}, {"poll-ms", "1000"},
               {"onshid", ONSHID_BINARY}, {"sim", OQS_TERMINAL_SIM_BINARY},
               {"registry", std::string(ONSHID_SOURCE_DIR) + "/tools/oqs-terminal-sim/registry.json"}},
              kUsage);
  const int m = static_cast<int>(flags.Int("queries", 1, 100000));
  const int warmup = static_cast<int>(flags.Int("warmup", 0, 1000));
  const int clients = static_cast<int>(flags.Int("clients", 1, 64));
  const long seconds = flags.Int("seconds", 0, 300);
  const long poll_ms = flags.Int("poll-ms", 50, 600000);
  const std::chrono::seconds timeout(15);
  signal(SIGPIPE, SIG_IGN);
  // The in-process adapter logs through spdlog's default logger: only problems, not every file.
  spdlog::default_logger()->set_level(spdlog::level::warn);

  try {
    TempDir work("onshid-bench-query");
    const std::string folder = work.path() + "/oqs";
    const std::string socket = work.path() + "/sim.sock";
    fs::create_directories(folder);
    for (const char* sub : {"req", "res", "face"}) fs::create_directories(folder + "/" + sub);
    const std::string sim = flags.Get("sim");
    ChildProcess terminal({sim, "serve", "--folder", folder, "--control-socket", socket, "--latency-ms",
                           "0", "--institution-code", kInstitution, "--registry", flags.Get("registry")},
                          work.path() + "/sim.log");
    if (!WaitForUnixSocket(socket, std::chrono::seconds(20))) {
      std::cerr << "simulator did not start:\n" << Tail(terminal.log()) << "\n";
      return 1;
    }
    std::printf("query_overhead: terminal simulator (separate process) at --latency-ms 0; %d sequential queries\n"
                "per phase after %d warm-up queries; adapter and daemon both poll every %ld ms besides inotify.\n\n",
                m, warmup, poll_ms);

    // (a) Baseline: the adapter in this process.
    Stats baseline;
    int baseline_failed = 0;
    {
      DirectAdapter adapter(folder, work.path() + "/direct", std::chrono::milliseconds(poll_ms));
      for (int i = 0; i < warmup + m; ++i) {
        auto ms = adapter.Query("direct-" + std::to_string(i), timeout);
        if (!ms) {
          if (++baseline_failed >= 3) break;
          continue;
        }
        if (i >= warmup) baseline.Add(*ms);
      }
    }

    // (b) The daemon's gRPC Query, sequential.
    const int grpc_port = FreePort();
    DaemonOptions stopped_by_sigterm;
    stopped_by_sigterm.binary = flags.Get("onshid");
    stopped_by_sigterm.stop_signal = SIGTERM;
    stopped_by_sigterm.stop_grace = std::chrono::seconds(15);
    DaemonProcess daemon(work.path(),
                         DaemonConfig(work.path(), folder, poll_ms, grpc_port, FreePort(), FreePort()), {},
                         stopped_by_sigterm);
    if (!daemon.Start(std::chrono::seconds(90))) {
      std::cerr << "daemon did not become ready:\n" << Tail(daemon.log()) << "\n";
      return 1;
    }
    auto stub = NewStub(grpc_port);
    Stats sequential;
    int sequential_failed = 0;
    for (int i = 0; i < warmup + m; ++i) {
      auto ms = GrpcQuery(*stub, "bench-seq-" + std::to_string(i));
      if (!ms) {
        if (++sequential_failed >= 3) break;
        continue;
      }
      if (i >= warmup) sequential.Add(*ms);
    }

    // (c) Sustained: K clients for T seconds (each call bounded by its 10 s deadline).
    Stats loaded;
    std::mutex loaded_mu;
    std::atomic<int> ok{0}, failed{0};
    const auto t0 = SteadyClock::now();
    const auto end = t0 + std::chrono::seconds(seconds);
    {
      std::vector<std::thread> threads;
      for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
          auto own = NewStub(grpc_port);
          for (int i = 0; SteadyClock::now() < end && failed < 20; ++i) {
            auto ms = GrpcQuery(*own, "bench-load-" + std::to_string(c) + "-" + std::to_string(i));
            if (!ms) {
              ++failed;
              continue;
            }
            ++ok;
            std::lock_guard lock(loaded_mu);
            loaded.Add(*ms);
          }
        });
      }
      for (auto& t : threads) t.join();
    }
    const double elapsed_s = Ms(t0, SteadyClock::now()) / 1000.0;
    ChildOptions status_command;
    status_command.argv = {sim, "status", "--control-socket", socket};
    status_command.stderr_path = std::nullopt;  // its complaints go to the terminal
    const auto status = RunToEnd(status_command, std::chrono::seconds(10));

    PrintHeader();
    PrintRow("baseline: OqsFolderUpstream in-process, Submit -> on_result", baseline, nullptr);
    PrintRow("onshid: gRPC Query round trip, sequential", sequential, &baseline);
    PrintRow("onshid: gRPC Query round trip, " + std::to_string(clients) + " concurrent clients", loaded,
             &baseline);
    const double goal = 1.1 * baseline.Percentile(99) + 2.0;
    std::printf("p99 overhead: %+.3f ms absolute, %.2fx; goal (issue 3 §4) <= 1.1x + 2 ms = %.3f ms -> "
                "measured %.3f ms (%s)\n",
                sequential.Percentile(99) - baseline.Percentile(99),
                sequential.Percentile(99) / std::max(baseline.Percentile(99), 1e-3), goal,
                sequential.Percentile(99), sequential.Percentile(99) <= goal ? "within the goal" : "over the goal");
    std::printf("sustained: %d queries completed (results persisted before each answer) in %.1f s by %d clients "
                "= %.1f queries/s; %d failed\n",
                ok.load(), elapsed_s, clients, ok.load() / std::max(elapsed_s, 1e-3), failed.load());
    if (status.exit_code == 0) {
      std::printf("simulator: requests_seen %s, requests_answered %s\n",
                  JsonNumberField(status.output, "requests_seen").c_str(),
                  JsonNumberField(status.output, "requests_answered").c_str());
    }
    const bool any_failed = baseline_failed + sequential_failed + failed.load() > 0;
    if (any_failed) {
      std::printf("failed: baseline %d, sequential %d, sustained %d\n", baseline_failed, sequential_failed,
                  failed.load());
      std::cerr << "daemon log tail:\n" << Tail(daemon.log()) << "\nsimulator log tail:\n" << Tail(terminal.log())
                << "\n";
    }
    return any_failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "query_overhead: " << e.what() << "\n";
    return 1;
  }
}
