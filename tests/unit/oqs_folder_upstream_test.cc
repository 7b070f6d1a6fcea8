// OqsFolderUpstream against real temporary directories; the test plays the 資格確認端末 by reading
// req/ and writing res/ and face/ files. Waits are on handler signals, scan counts or polled
// conditions with a deadline, never on fixed sleeps.

#include "oqs_folder/oqs_folder_upstream.h"

#include <openssl/evp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "oqs_folder/encoding.h"
#include "support/manual_clock.h"
#include "support/mem_upstream_journal.h"

namespace onshid::oqs_folder {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = 10s;

using testing::ManualClock;

// 2026-11-20T15:30:00Z = 2026-11-21 00:30 in Japan: file names and archive dirs use 20261121.
core::SystemTime TestEpoch() {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 20} + hours(15) + minutes(30);
}

std::string Sha256Hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0x0f]);
  }
  return out;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

// How the terminal (or OQSComApp) would put a finished file in place.
void WriteAtomically(const fs::path& dir, const std::string& name, const std::string& data) {
  fs::path tmp = dir / (".sim-" + name);
  WriteFile(tmp, data);
  fs::rename(tmp, dir / name);
}

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kDeadline) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

std::string ResultXml(const std::string& afi, const std::string& body = "<Segment>1</Segment>",
                      const std::string& encoding = "UTF-8") {
  return "<?xml version=\"1.0\" encoding=\"" + encoding +
         "\" standalone=\"no\"?>\n<XmlMsg><MessageHeader><ArbitraryFileIdentifier>" + afi +
         "</ArbitraryFileIdentifier></MessageHeader><MessageBody>" + body +
         "</MessageBody></XmlMsg>\n";
}

std::string ResultNameFor(const std::string& req_name) {
  std::string s = req_name;
  s.replace(s.find("req_"), 4, "res_");
  return s;
}

core::UpstreamRequest MakeRequest(const std::string& id, const std::string& afi = "") {
  core::UpstreamRequest r;
  r.request_id = id;
  r.client_request_id = "client-" + id;
  r.message_type = "OQSsiquc01";
  r.kind = "eligibility_query";
  r.arbitrary_file_identifier = afi;
  r.xml_utf8 =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<XmlMsg><MessageHeader>"
      "<ArbitraryFileIdentifier>" +
      afi +
      "</ArbitraryFileIdentifier></MessageHeader>"
      "<MessageBody><Id>" +
      id + "</Id></MessageBody></XmlMsg>\n";
  return r;
}

core::DomainError StoreDown() {
  return core::Unavailable("DATABASE_UNAVAILABLE", "store down (test)", "テスト");
}

// What the handlers saw, with waits signalled from the handler threads.
class Recorder {
 public:
  core::UpstreamHandlers Handlers() {
    core::UpstreamHandlers h;
    h.on_result = [this](const core::UpstreamFile& f) { return Push(results_, f, result_fail_); };
    h.on_face = [this](const core::UpstreamFile& f) { return Push(faces_, f, face_fail_); };
    h.on_quarantine = [this](const std::string& name, const std::string& request_id,
                             const std::string& reason) {
      std::lock_guard lock(mu_);
      quarantined_.emplace_back(name, reason);
      quarantined_keys_.push_back(request_id);
      cv_.notify_all();
    };
    return h;
  }
  // The next `n` face (result) handler calls fail with DATABASE_UNAVAILABLE.
  void FailFaces(int n) {
    std::lock_guard lock(mu_);
    face_fail_ = n;
  }
  void FailResults(int n) {
    std::lock_guard lock(mu_);
    result_fail_ = n;
  }
  bool WaitResults(std::size_t n) {
    return Wait([&] { return results_.size() >= n; });
  }
  bool WaitFaces(std::size_t n) {
    return Wait([&] { return faces_.size() >= n; });
  }
  bool WaitFaceCalls(int n) {
    return Wait([&] { return face_calls_ >= n; });
  }
  bool WaitResultCalls(int n) {
    return Wait([&] { return result_calls_ >= n; });
  }
  bool WaitQuarantined(std::size_t n) {
    return Wait([&] { return quarantined_.size() >= n; });
  }
  std::vector<core::UpstreamFile> Results() {
    std::lock_guard lock(mu_);
    return results_;
  }
  std::vector<core::UpstreamFile> Faces() {
    std::lock_guard lock(mu_);
    return faces_;
  }
  std::vector<std::pair<std::string, std::string>> Quarantined() {
    std::lock_guard lock(mu_);
    return quarantined_;
  }
  std::vector<std::string> QuarantinedKeys() {
    std::lock_guard lock(mu_);
    return quarantined_keys_;
  }
  int FaceCalls() {
    std::lock_guard lock(mu_);
    return face_calls_;
  }

 private:
  core::Status Push(std::vector<core::UpstreamFile>& into, const core::UpstreamFile& f, int& fail) {
    std::lock_guard lock(mu_);
    (&into == &faces_ ? face_calls_ : result_calls_)++;
    cv_.notify_all();
    if (fail > 0) {
      --fail;
      return StoreDown();
    }
    into.push_back(f);
    return core::OkStatus();
  }
  bool Wait(const std::function<bool()>& pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, pred);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<core::UpstreamFile> results_;
  std::vector<core::UpstreamFile> faces_;
  std::vector<std::pair<std::string, std::string>> quarantined_;
  std::vector<std::string> quarantined_keys_;  // request_id passed with each quarantine
  int face_fail_ = 0;
  int result_fail_ = 0;
  int face_calls_ = 0;
  int result_calls_ = 0;
};

// A terminal folder and daemon state dirs under a fresh temporary directory. `shared`: a journal
// shared with another Env (two daemons on one database, each with its own terminal folder).
struct Env {
  explicit Env(testing::MemUpstreamJournal* shared = nullptr)
      : journal(shared != nullptr ? *shared : own_journal) {
    std::string tmpl = (fs::temp_directory_path() / "oqs-folder-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
    folder = root / "oqs";
    for (const char* d : {"req", "res", "face"}) fs::create_directories(folder / d);
    options.folder = folder;
    options.instance_id = "site1-a";
    options.archive_dir = root / "state" / "archive";
    options.quarantine_dir = root / "state" / "quarantine";
    options.poll_interval = 20ms;
    options.settle_delay = 5ms;
    options.malformed_grace = 0ms;
    options.max_retry_backoff = 40ms;
    clock.Set(TestEpoch());
  }
  ~Env() {
    upstream.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  OqsFolderUpstream& Make() {
    upstream = std::make_unique<OqsFolderUpstream>(options, clock, journal);
    return *upstream;
  }
  OqsFolderUpstream& Started() {
    Make();
    auto st = upstream->Start(recorder.Handlers());
    REQUIRE(st.ok());
    return *upstream;
  }
  // Waits until at least `n` more scans completed (so a file was observed several times).
  void Scans(int n) {
    auto target = upstream->CompletedScans() + static_cast<std::uint64_t>(n);
    REQUIRE(upstream->WaitForScans(target, kDeadline));
  }
  fs::path req() const { return folder / "req"; }
  fs::path res() const { return folder / "res"; }
  fs::path face() const { return folder / "face"; }
  fs::path ArchiveDay() const { return options.archive_dir / "20261121"; }

  fs::path root;
  fs::path folder;
  OqsFolderOptions options;
  ManualClock clock;
  testing::MemUpstreamJournal own_journal;
  testing::MemUpstreamJournal& journal;
  Recorder recorder;
  std::unique_ptr<OqsFolderUpstream> upstream;
};

// Counts every appearance of a request file in req/ (a rename into it or a creation; hidden names
// such as our temp files are not requests): the terminal's view of what was written, so a test
// can assert that no request file is ever written twice. Events are read on a thread of its own.
class ReqWrites {
 public:
  explicit ReqWrites(const fs::path& dir) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    REQUIRE(fd_ >= 0);
    REQUIRE(inotify_add_watch(fd_, dir.c_str(), IN_MOVED_TO | IN_CREATE) >= 0);
    thread_ = std::thread([this] { Run(); });
  }
  ~ReqWrites() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  ReqWrites(const ReqWrites&) = delete;
  ReqWrites& operator=(const ReqWrites&) = delete;

  int Count(const std::string& name) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& s : seen_) n += s == name ? 1 : 0;
    return n;
  }
  std::vector<std::string> Order() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Until `name` was written at least once (events arrive in order: what was written before it
  // has been counted when this returns true).
  bool WaitFor(const std::string& name) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline,
                        [&] { return std::find(seen_.begin(), seen_.end(), name) != seen_.end(); });
  }

 private:
  void Run() {
    alignas(inotify_event) char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5) <= 0) continue;
      ssize_t n = read(fd_, buf, sizeof buf);
      for (ssize_t off = 0; n > 0 && off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        std::string name = ev->len > 0 ? std::string(ev->name) : std::string();
        if (name.empty() || name[0] == '.') continue;
        std::lock_guard lock(mu_);
        seen_.push_back(name);
        cv_.notify_all();
      }
    }
  }

  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> seen_;
  std::thread thread_;
};

std::string RequestName(int seq) {
  std::string digits = std::to_string(seq);
  digits.insert(0, 4 - std::min<std::size_t>(4, digits.size()), '0');
  return "OQSsiquc01req_20261121" + digits + ".xml";
}

std::string TempName(const std::string& req_name) { return ".onshid-" + req_name + ".tmp"; }

// A journal entry as a previous daemon left it: request `id` with sequence `seq`, in `state`,
// journalled ten minutes before TestEpoch(). The payload is MakeRequest(id, "AFI-" + id).
core::JournalEntry Seeded(const std::string& id, int seq, core::JournalState state,
                          const std::string& instance = "site1-a") {
  auto r = MakeRequest(id, "AFI-" + id);
  core::JournalEntry e;
  e.request_id = id;
  e.client_request_id = r.client_request_id;
  e.instance_id = instance;
  e.message_type = r.message_type;
  e.kind = r.kind;
  e.file_name = RequestName(seq);
  e.payload = r.xml_utf8;
  e.payload_sha256 = Sha256Hex(e.payload);
  e.arbitrary_file_identifier = r.arbitrary_file_identifier;
  e.state = state;
  e.journalled_at = TestEpoch() - std::chrono::minutes(10);
  if (state == core::JournalState::kWritten) {
    e.written_at = TestEpoch() - std::chrono::minutes(1);  // within the answer time-out
  }
  if (state == core::JournalState::kAbandoned || core::IsFinal(state)) {
    e.written_at = TestEpoch() - std::chrono::minutes(9);
    e.completed_at = TestEpoch() - std::chrono::minutes(1);
    if (core::IsFinal(state)) e.payload.clear();
  }
  return e;
}

// The answer the terminal writes for a seeded (or submitted) request.
void Answer(const fs::path& res, const core::JournalEntry& e) {
  WriteAtomically(res, ResultNameFor(e.file_name), ResultXml(e.arbitrary_file_identifier));
}

}  // namespace

TEST_CASE("request is journalled before its file appears, and written atomically", "[oqs_folder]") {
  Env env;
  std::atomic<int> records{0};
  std::atomic<bool> file_existed_at_record{false};
  std::atomic<bool> recorded_as_journalled{false};
  env.journal.SetOnRecord([&](const core::JournalEntry& e) {
    ++records;
    if (fs::exists(env.req() / e.file_name) || !Names(env.req()).empty()) {
      file_existed_at_record = true;
    }
    recorded_as_journalled = e.state == core::JournalState::kJournalled;
  });
  auto& up = env.Started();
  auto entry = up.Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  CHECK(entry->file_name == "OQSsiquc01req_202611210001.xml");  // Japan date + sequence
  CHECK(entry->journalled_at == TestEpoch());
  CHECK(records == 1);
  CHECK_FALSE(file_existed_at_record);
  CHECK(recorded_as_journalled);
  CHECK(entry->instance_id == "site1-a");
  CHECK(entry->client_request_id == "client-req-1");
  CHECK(entry->state == core::JournalState::kJournalled);

  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  std::string written = ReadFile(env.req() / entry->file_name);
  CHECK(written == MakeRequest("req-1", "AFI-1").xml_utf8);
  CHECK(entry->payload_sha256 == Sha256Hex(written));
  CHECK(entry->payload == written);  // the journal keeps exactly what is written
  REQUIRE(Eventually([&] { return env.journal.State("req-1") == core::JournalState::kWritten; }));
  CHECK(env.journal.Entry("req-1")->written_at == TestEpoch());
  CHECK(Names(env.req()) == std::vector<std::string>{entry->file_name});  // no temp left behind

  auto second = up.Submit(MakeRequest("req-2"));
  REQUIRE(second.ok());
  CHECK(second->file_name == "OQSsiquc01req_202611210002.xml");
}

TEST_CASE("Shift_JIS requests are CP932 bytes with a Shift_JIS declaration", "[oqs_folder]") {
  Env env;
  env.options.encoding = Encoding::kShiftJis;
  auto& up = env.Started();
  auto req = MakeRequest("req-sjis");
  req.xml_utf8 =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" "
      "standalone=\"no\"?>\n<XmlMsg><Name>診療　太郎</Name>"
      "<Kana>ｼﾝﾘｮｳ ﾀﾛｳ</Kana></XmlMsg>\n";
  auto entry = up.Submit(req);
  REQUIRE(entry.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  std::string bytes = ReadFile(env.req() / entry->file_name);
  CHECK(bytes.rfind("<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>", 0) == 0);
  CHECK(bytes.find("\x90\x66\x97\xc3\x81\x40\x91\xbe\x98\x59") != std::string::npos);  // 診療　太郎
  auto back = Cp932ToUtf8(bytes);
  REQUIRE(back.ok());
  CHECK(back->find("<Name>診療　太郎</Name><Kana>ｼﾝﾘｮｳ ﾀﾛｳ</Kana>") != std::string::npos);
  CHECK(entry->payload_sha256 == Sha256Hex(bytes));

  auto emoji = MakeRequest("req-emoji");
  emoji.xml_utf8 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><Name>😀</Name></XmlMsg>";
  auto rejected = up.Submit(emoji);
  REQUIRE_FALSE(rejected.ok());
  CHECK(rejected.error().reason == "REQUEST_NOT_ENCODABLE");
  CHECK(env.journal.Entries().size() == 1);  // nothing journalled for it
}

TEST_CASE("result is matched by name, delivered, completed and archived", "[oqs_folder]") {
  Env env;
  auto& up = env.Started();
  auto entry = up.Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  // The terminal consumes the request and answers in Shift_JIS.
  fs::remove(env.req() / entry->file_name);
  auto result_utf8 = ResultXml("AFI-1", "<Name>診療　太郎</Name>", "Shift_JIS");
  auto result_sjis = Utf8ToCp932(result_utf8);
  REQUIRE(result_sjis.ok());
  std::string result_name = ResultNameFor(entry->file_name);
  WriteAtomically(env.res(), result_name, *result_sjis);

  REQUIRE(env.recorder.WaitResults(1));
  auto f = env.recorder.Results().at(0);
  CHECK(f.kind == core::UpstreamFile::Kind::kResult);
  CHECK(f.file_name == result_name);
  CHECK(f.request_id == "req-1");
  CHECK(f.client_request_id == "client-req-1");
  CHECK(f.raw == *result_sjis);
  CHECK(f.sha256 == Sha256Hex(*result_sjis));
  CHECK(f.declared_encoding == "Shift_JIS");
  CHECK(f.xml_utf8.find("<Name>診療　太郎</Name>") != std::string::npos);
  CHECK(f.received_at == TestEpoch());

  REQUIRE(Eventually([&] { return fs::exists(env.ArchiveDay() / result_name); }));
  CHECK_FALSE(fs::exists(env.res() / result_name));
  auto entries = env.journal.Entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].state == core::JournalState::kAnswered);
  CHECK(entries[0].completed_at.has_value());
  CHECK(up.Health().in_flight == 0);
}

TEST_CASE("ArbitraryFileIdentifier mismatch is quarantined, not delivered", "[oqs_folder]") {
  Env env;
  auto& up = env.Started();
  auto entry = up.Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  std::string result_name = ResultNameFor(entry->file_name);
  WriteAtomically(env.res(), result_name, ResultXml("SOMEONE-ELSE"));

  REQUIRE(env.recorder.WaitQuarantined(1));
  auto q = env.recorder.Quarantined().at(0);
  CHECK(q.first == result_name);
  CHECK(q.second == "ArbitraryFileIdentifier mismatch");
  CHECK(fs::exists(env.options.quarantine_dir / result_name));
  CHECK(ReadFile(env.options.quarantine_dir / (result_name + ".reason.txt"))
            .find("ArbitraryFileIdentifier mismatch") != std::string::npos);
  CHECK_FALSE(fs::exists(env.res() / result_name));
  CHECK(env.recorder.Results().empty());
  CHECK(env.recorder.QuarantinedKeys() == std::vector<std::string>{"req-1"});
  CHECK_FALSE(env.journal.Entries().at(0).completed_at.has_value());
  CHECK(up.Health().in_flight == 0);  // the slot is released; a late result is still matched
}

TEST_CASE(".err rejection is delivered with its decoded text", "[oqs_folder]") {
  Env env;
  env.Started();
  auto entry = env.upstream->Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  // The terminal moves the unprocessable request into res/ and explains why in Shift_JIS.
  fs::rename(env.req() / entry->file_name, env.res() / entry->file_name);
  auto text = Utf8ToCp932("XMLの形式が不正です。");
  REQUIRE(text.ok());
  std::string err_name = "OQSsiquc01req_202611210001.err";
  WriteAtomically(env.res(), err_name, *text);

  REQUIRE(env.recorder.WaitResults(1));
  auto f = env.recorder.Results().at(0);
  CHECK(f.kind == core::UpstreamFile::Kind::kRejection);
  CHECK(f.file_name == err_name);
  CHECK(f.request_id == "req-1");
  CHECK(f.client_request_id == "client-req-1");
  CHECK(f.rejection_text == "XMLの形式が不正です。");
  CHECK(f.xml_utf8.empty());
  REQUIRE(Eventually([&] {
    return fs::exists(env.ArchiveDay() / err_name) &&
           fs::exists(env.ArchiveDay() / entry->file_name);
  }));
  CHECK(Names(env.res()).empty());
  CHECK(env.journal.Entries().at(0).state == core::JournalState::kRejected);
}

TEST_CASE("at most max_in_flight requests are written until results arrive", "[oqs_folder]") {
  Env env;
  env.options.max_in_flight = 2;
  auto& up = env.Started();
  std::vector<core::JournalEntry> entries;
  for (int i = 0; i < 5; ++i) {
    auto e = up.Submit(MakeRequest("req-" + std::to_string(i), "AFI-" + std::to_string(i)));
    REQUIRE(e.ok());
    entries.push_back(*e);
  }
  CHECK(env.journal.Entries().size() == 5);  // all journalled at once
  REQUIRE(Eventually([&] { return Names(env.req()).size() == 2; }));
  env.Scans(3);
  CHECK(Names(env.req()) ==
        std::vector<std::string>{entries[0].file_name, entries[1].file_name});  // FIFO
  auto health = up.Health();
  CHECK(health.in_flight == 2);
  CHECK(health.queued == 3);

  // Answering one frees one slot: exactly one more request is written.
  WriteAtomically(env.res(), ResultNameFor(entries[0].file_name), ResultXml("AFI-0"));
  REQUIRE(env.recorder.WaitResults(1));
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entries[2].file_name); }));
  env.Scans(3);
  CHECK(Names(env.req()).size() == 3);  // the terminal did not consume; 0 is answered
  CHECK(up.Health().in_flight == 2);

  for (int i = 1; i < 5; ++i) {
    REQUIRE(Eventually([&] { return fs::exists(env.req() / entries[i].file_name); }));
    WriteAtomically(env.res(), ResultNameFor(entries[i].file_name),
                    ResultXml("AFI-" + std::to_string(i)));
  }
  REQUIRE(env.recorder.WaitResults(5));
  CHECK(Eventually([&] { return up.Health().in_flight == 0 && up.Health().queued == 0; }));
}

TEST_CASE("queue bound and journal failures are errors", "[oqs_folder]") {
  Env env;
  env.options.max_queued = 2;
  auto& up = env.Make();  // not started: nothing leaves the queue
  REQUIRE(up.Submit(MakeRequest("a")).ok());
  REQUIRE(up.Submit(MakeRequest("b")).ok());
  auto full = up.Submit(MakeRequest("c"));
  REQUIRE_FALSE(full.ok());
  CHECK(full.error().reason == "UPSTREAM_QUEUE_FULL");
  CHECK(full.error().kind == core::ErrorKind::kResourceExhausted);
  CHECK_FALSE(full.error().message_ja.empty());

  Env env2;
  auto& up2 = env2.Started();
  env2.journal.FailNextRecord();
  auto down = up2.Submit(MakeRequest("x"));
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().reason == "DATABASE_UNAVAILABLE");
  env2.journal.FailNextSequence();
  CHECK(up2.Submit(MakeRequest("y")).error().reason == "DATABASE_UNAVAILABLE");
  env2.Scans(2);
  CHECK(Names(env2.req()).empty());
  CHECK(up2.Health().queued == 0);

  auto bad = up2.Submit([] {
    auto r = MakeRequest("z");
    r.message_type = "../evil";
    return r;
  }());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().reason == "INVALID_UPSTREAM_REQUEST");
  CHECK(bad.error().field_violations.at(0).field == "message_type");
}

TEST_CASE("a request submitted before Start() is written once after it", "[oqs_folder]") {
  Env env;
  auto& up = env.Make();
  auto entry = up.Submit(MakeRequest("early"));
  REQUIRE(entry.ok());
  CHECK(Names(env.req()).empty());
  REQUIRE(up.Start(env.recorder.Handlers()).ok());  // Recoverable() lists it too: not doubled
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  env.Scans(3);
  CHECK(Names(env.req()) == std::vector<std::string>{entry->file_name});
  CHECK(up.Health().in_flight == 1);
  CHECK(up.Health().queued == 0);
}

TEST_CASE("after a restart a pending request is awaited, never rewritten, and delivered once",
          "[oqs_folder]") {
  Env env;
  auto& first = env.Started();
  auto entry = first.Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  first.Stop();
  fs::remove(env.req() / entry->file_name);  // the terminal consumed it while we were down

  auto& second = env.Started();  // same journal
  env.Scans(5);
  CHECK(Names(env.req()).empty());  // not written again
  CHECK(second.Health().in_flight == 1);

  // After answer_timeout it stops holding a slot, but a late result is still delivered.
  env.clock.Advance(env.options.answer_timeout);
  env.Scans(2);
  CHECK(second.Health().in_flight == 0);
  WriteAtomically(env.res(), ResultNameFor(entry->file_name), ResultXml("AFI-1"));
  REQUIRE(env.recorder.WaitResults(1));
  CHECK(env.recorder.Results().at(0).request_id == "req-1");
  REQUIRE(
      Eventually([&] { return fs::exists(env.ArchiveDay() / ResultNameFor(entry->file_name)); }));
  env.Scans(3);
  CHECK(env.recorder.Results().size() == 1);
  CHECK(env.journal.State("req-1") == core::JournalState::kAnswered);
  std::vector<core::JournalState> states;
  for (const auto& [key, state] : env.journal.Transitions()) states.push_back(state);
  CHECK(states == std::vector<core::JournalState>{
                      core::JournalState::kWriting, core::JournalState::kWritten,
                      core::JournalState::kAbandoned, core::JournalState::kAnswered});
}

TEST_CASE("a result name already taken in res/ is never overwritten", "[oqs_folder]") {
  Env env;
  // A stale file from other software with the name our first request will get.
  const std::string taken = "OQSsiquc01res_202611210001.xml";
  WriteAtomically(env.res(), taken, ResultXml("OTHER"));
  auto& up = env.Started();
  auto entry = up.Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  REQUIRE(env.recorder.WaitResults(1));
  auto f = env.recorder.Results().at(0);
  CHECK(f.kind == core::UpstreamFile::Kind::kRejection);
  CHECK(f.request_id == "req-1");
  CHECK(f.client_request_id == "client-req-1");
  CHECK(f.rejection_text.rfind("onshid:", 0) == 0);
  env.Scans(3);
  CHECK(Names(env.req()).empty());
  CHECK(ReadFile(env.res() / taken) == ResultXml("OTHER"));  // untouched
  CHECK(env.recorder.Results().size() == 1);
  CHECK(env.journal.State("req-1") == core::JournalState::kRejected);
}

TEST_CASE("unknown files in res/ are left alone", "[oqs_folder]") {
  Env env;
  WriteAtomically(env.res(), "OQSsiimm01res_999900001111.xml", ResultXml("VENDOR-X"));
  WriteAtomically(env.res(), "notes.txt", "x");
  env.Started();
  env.Scans(5);
  CHECK(Names(env.res()) ==
        std::vector<std::string>{"OQSsiimm01res_999900001111.xml", "notes.txt"});
  CHECK(env.recorder.Results().empty());
  CHECK(env.recorder.Quarantined().empty());
}

TEST_CASE("face file is delivered, mirrored and archived", "[oqs_folder]") {
  Env env;
  env.options.face_mirror_dir = env.root / "mirror";
  auto& up = env.Started();
  const std::string name = "OQSsiquc01res_face_27142063864da5260a16de5a3d3ad7_20261121003000.xml";
  auto sjis = Utf8ToCp932(ResultXml("FACE-1", "<Name>診療　太郎</Name>", "Shift_JIS"));
  REQUIRE(sjis.ok());
  WriteAtomically(env.face(), name, *sjis);

  REQUIRE(env.recorder.WaitFaces(1));
  auto f = env.recorder.Faces().at(0);
  CHECK(f.kind == core::UpstreamFile::Kind::kFace);
  CHECK(f.file_name == name);
  CHECK(f.request_id.empty());
  CHECK(f.raw == *sjis);
  CHECK(f.sha256 == Sha256Hex(*sjis));
  CHECK(f.declared_encoding == "Shift_JIS");
  CHECK(f.xml_utf8.find("<Name>診療　太郎</Name>") != std::string::npos);
  CHECK(f.received_at == TestEpoch());
  REQUIRE(Eventually([&] { return fs::exists(env.ArchiveDay() / name); }));
  CHECK(Names(env.face()).empty());
  CHECK(ReadFile(env.root / "mirror" / name) == *sjis);
  CHECK(Names(env.root / "mirror") == std::vector<std::string>{name});
  auto health = up.Health();
  REQUIRE(health.last_face_at.has_value());
  CHECK(*health.last_face_at == TestEpoch());
}

TEST_CASE("a failing face handler leaves the file, which is retried", "[oqs_folder]") {
  Env env;
  env.recorder.FailFaces(2);
  env.Started();
  const std::string name = "OQSsiquc01res_face_x_20261121003000.xml";
  WriteAtomically(env.face(), name, ResultXml("FACE-1"));
  REQUIRE(env.recorder.WaitFaceCalls(1));
  CHECK(fs::exists(env.face() / name));
  REQUIRE(env.recorder.WaitFaces(1));
  CHECK(env.recorder.FaceCalls() == 3);
  REQUIRE(Eventually([&] { return fs::exists(env.ArchiveDay() / name); }));
  env.Scans(3);
  CHECK(env.recorder.Faces().size() == 1);
}

TEST_CASE("a failing result handler leaves the result, which is retried", "[oqs_folder]") {
  Env env;
  env.recorder.FailResults(1);
  auto& up = env.Started();
  auto entry = up.Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  WriteAtomically(env.res(), ResultNameFor(entry->file_name), ResultXml("AFI-1"));
  REQUIRE(env.recorder.WaitResults(1));
  REQUIRE(Eventually([&] { return Names(env.res()).empty(); }));
  CHECK(env.journal.CompleteCalls() == 1);
}

TEST_CASE("malformed or undecodable face files are quarantined with a reason", "[oqs_folder]") {
  Env env;
  env.Started();
  WriteAtomically(env.face(), "broken.xml", "<?xml version=\"1.0\"?><XmlMsg><a></b></XmlMsg>");
  REQUIRE(env.recorder.WaitQuarantined(1));
  WriteAtomically(env.face(), "badsjis.xml",
                  "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg>\x81</XmlMsg>");
  REQUIRE(env.recorder.WaitQuarantined(2));
  auto q = env.recorder.Quarantined();
  CHECK(q[0].first == "broken.xml");
  CHECK(q[0].second.find("not well-formed XML") != std::string::npos);
  CHECK(q[1].first == "badsjis.xml");
  CHECK(q[1].second.find("not decodable") != std::string::npos);
  for (const char* n : {"broken.xml", "badsjis.xml"}) {
    CHECK(fs::exists(env.options.quarantine_dir / n));
    CHECK(fs::exists(env.options.quarantine_dir / (std::string(n) + ".reason.txt")));
  }
  CHECK(Names(env.face()).empty());
  CHECK(env.recorder.Faces().empty());
}

TEST_CASE("a half-written file is not read until it is complete", "[oqs_folder]") {
  Env env;
  env.options.malformed_grace = std::chrono::hours(1);  // a paused writer is not "malformed"
  env.Started();
  const std::string name = "OQSsiquc01res_face_x_20261121003000.xml";
  std::string full = ResultXml("FACE-1");
  std::string half = full.substr(0, full.size() / 2);
  WriteFile(env.face() / name, half);  // in place, as a slow writer on the share would
  env.Scans(6);
  CHECK(env.recorder.FaceCalls() == 0);
  CHECK(env.recorder.Quarantined().empty());
  CHECK(ReadFile(env.face() / name) == half);

  {
    std::ofstream out(env.face() / name, std::ios::binary | std::ios::app);
    out << full.substr(half.size());
  }
  REQUIRE(env.recorder.WaitFaces(1));
  CHECK(env.recorder.Faces().at(0).raw == full);
}

TEST_CASE("Health reports the age of an unconsumed request and a missing folder", "[oqs_folder]") {
  Env env;
  auto& up = env.Started();
  auto h0 = up.Health();
  CHECK(h0.folder_reachable);
  CHECK_FALSE(h0.folder_error.has_value());
  CHECK_FALSE(h0.oldest_request_age.has_value());

  auto entry = up.Submit(MakeRequest("req-1"));
  REQUIRE(entry.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  env.clock.Advance(std::chrono::seconds(120));  // within answer_timeout: still in flight
  auto h1 = up.Health();
  REQUIRE(h1.oldest_request_age.has_value());
  CHECK(*h1.oldest_request_age == std::chrono::seconds(120));
  CHECK(h1.in_flight == 1);

  fs::remove_all(env.face());  // e.g. share unmounted
  auto h2 = up.Health();
  CHECK_FALSE(h2.folder_reachable);
  REQUIRE(h2.folder_error.has_value());
  CHECK(h2.folder_error->reason == "UPSTREAM_FOLDER_UNAVAILABLE");
  CHECK(h2.folder_error->kind == core::ErrorKind::kUnavailable);
  CHECK(h2.folder_error->message_ja.find("資格確認端末") != std::string::npos);

  Env missing;
  missing.options.folder = missing.root / "not-mounted";
  auto& up2 = missing.Started();  // starting without the terminal is allowed
  CHECK_FALSE(up2.Health().folder_reachable);
  auto submit = up2.Submit(MakeRequest("req-x"));
  REQUIRE_FALSE(submit.ok());
  CHECK(submit.error().reason == "UPSTREAM_FOLDER_UNAVAILABLE");
  CHECK(missing.journal.Entries().empty());
}

TEST_CASE("Stop wakes the threads at once", "[oqs_folder]") {
  Env env;
  env.options.poll_interval = std::chrono::seconds(30);
  auto& up = env.Started();
  auto t0 = std::chrono::steady_clock::now();
  up.Stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  up.Stop();  // idempotent
}

// --- issue 11: restarts, ownership, abandonment, leftovers ---------------------------------------

TEST_CASE("a restart writes requests that were still queued, before new ones, each once",
          "[oqs_folder][restart]") {
  Env env;
  env.options.max_in_flight = 2;
  auto& first = env.Started();
  std::vector<core::JournalEntry> e;
  for (const char* id : {"a", "b", "c"}) {
    auto entry = first.Submit(MakeRequest(id, std::string("AFI-") + id));
    REQUIRE(entry.ok());
    e.push_back(*entry);
  }
  REQUIRE(Eventually([&] { return Names(env.req()).size() == 2; }));
  CHECK(first.Health().queued == 1);
  first.Stop();  // SIGTERM: "c" was journalled but never written

  ReqWrites writes(env.req());
  auto& second = env.Started();
  auto d = second.Submit(MakeRequest("d", "AFI-d"));
  REQUIRE(d.ok());
  env.Scans(3);
  auto h = second.Health();
  CHECK(h.in_flight == 2);  // a and b: written before the restart, awaited
  CHECK(h.queued == 2);     // c (from the journal), then d
  CHECK(writes.Count(e[2].file_name) == 0);

  // Each answer frees a slot: c is written first, then d.
  fs::remove(env.req() / e[0].file_name);
  Answer(env.res(), e[0]);
  REQUIRE(writes.WaitFor(e[2].file_name));
  env.Scans(3);
  CHECK(writes.Count(d->file_name) == 0);
  CHECK(second.Health().in_flight == 2);
  fs::remove(env.req() / e[1].file_name);
  Answer(env.res(), e[1]);
  REQUIRE(writes.WaitFor(d->file_name));
  CHECK(ReadFile(env.req() / e[2].file_name) == MakeRequest("c", "AFI-c").xml_utf8);
  Answer(env.res(), e[2]);
  Answer(env.res(), *d);
  REQUIRE(env.recorder.WaitResults(4));
  CHECK(writes.Order() == std::vector<std::string>{e[2].file_name, d->file_name});
  CHECK(Eventually([&] {
    for (const char* id : {"a", "b", "c", "d"}) {
      if (env.journal.State(id) != core::JournalState::kAnswered) return false;
    }
    return second.Health().in_flight == 0;
  }));
  CHECK(writes.Order() == std::vector<std::string>{e[2].file_name, d->file_name});
}

TEST_CASE("after a restart, requests never made visible are written once from the journal",
          "[oqs_folder][restart]") {
  Env env;
  auto j1 = Seeded("j1", 1, core::JournalState::kJournalled);  // died before its temp file
  auto j2 = Seeded("j2", 2, core::JournalState::kJournalled);  // died while writing its temp
  auto w1 = Seeded("w1", 3, core::JournalState::kWriting);     // died before the rename
  auto w5 = Seeded("w5", 4, core::JournalState::kWriting);     // ... with a damaged temp file
  for (const auto& e : {j1, j2, w1, w5}) env.journal.Put(e);
  env.journal.SetSequence(4);
  WriteFile(env.req() / TempName(j2.file_name), j2.payload.substr(0, 20));
  WriteFile(env.req() / TempName(w1.file_name), w1.payload);
  WriteFile(env.req() / TempName(w5.file_name), w5.payload.substr(0, 20));

  ReqWrites writes(env.req());
  auto& up = env.Started();
  auto marker = up.Submit(MakeRequest("marker", "AFI-marker"));
  REQUIRE(marker.ok());
  REQUIRE(writes.WaitFor(marker->file_name));
  CHECK(writes.Order() == std::vector<std::string>{j1.file_name, j2.file_name, w1.file_name,
                                                   w5.file_name, marker->file_name});
  for (const auto& e : {j1, j2, w1, w5}) {
    CHECK(ReadFile(env.req() / e.file_name) == e.payload);  // exactly the journalled bytes
    CHECK(env.journal.State(e.request_id) == core::JournalState::kWritten);
    CHECK(env.journal.Entry(e.request_id)->written_at == TestEpoch());
  }
  CHECK(Names(env.req()) == std::vector<std::string>{j1.file_name, j2.file_name, w1.file_name,
                                                     w5.file_name, marker->file_name});  // no temp
  CHECK(up.Health().in_flight == 5);

  Answer(env.res(), j2);
  REQUIRE(env.recorder.WaitResults(1));
  CHECK(env.recorder.Results().at(0).request_id == "j2");
  CHECK(env.recorder.Results().at(0).client_request_id == "client-j2");
}

TEST_CASE("after a restart, requests that may be in req/ are awaited and never written again",
          "[oqs_folder][restart]") {
  Env env;
  auto w2 = Seeded("w2", 1, core::JournalState::kWriting);     // renamed; still in req/
  auto w3 = Seeded("w3", 2, core::JournalState::kWriting);     // renamed and consumed
  auto w4 = Seeded("w4", 3, core::JournalState::kWriting);     // renamed, consumed, answered
  auto j3 = Seeded("j3", 4, core::JournalState::kJournalled);  // its result exists already
  auto t1 = Seeded("t1", 5, core::JournalState::kWritten);
  for (const auto& e : {w2, w3, w4, j3, t1}) env.journal.Put(e);
  env.journal.SetSequence(5);
  WriteFile(env.req() / w2.file_name, w2.payload);
  Answer(env.res(), w4);
  Answer(env.res(), j3);

  ReqWrites writes(env.req());
  auto& up = env.Started();
  auto marker = up.Submit(MakeRequest("marker", "AFI-marker"));
  REQUIRE(marker.ok());
  REQUIRE(writes.WaitFor(marker->file_name));
  REQUIRE(env.recorder.WaitResults(2));
  CHECK(writes.Order() == std::vector<std::string>{marker->file_name});  // nothing rewritten
  CHECK(ReadFile(env.req() / w2.file_name) == w2.payload);
  CHECK(env.journal.State("w2") == core::JournalState::kWritten);
  CHECK(env.journal.State("w3") == core::JournalState::kWritten);
  CHECK(env.journal.State("t1") == core::JournalState::kWritten);
  CHECK(Eventually([&] {
    return env.journal.State("w4") == core::JournalState::kAnswered &&
           env.journal.State("j3") == core::JournalState::kAnswered;
  }));
  std::vector<std::string> delivered;
  for (const auto& f : env.recorder.Results()) delivered.push_back(f.request_id);
  std::sort(delivered.begin(), delivered.end());
  CHECK(delivered == std::vector<std::string>{"j3", "w4"});
  CHECK(Eventually([&] { return up.Health().in_flight == 4; }));  // w2, w3, t1, marker

  Answer(env.res(), w3);
  Answer(env.res(), t1);
  REQUIRE(env.recorder.WaitResults(4));
  env.Scans(3);
  CHECK(writes.Order() == std::vector<std::string>{marker->file_name});
  CHECK(env.recorder.Results().size() == 4);
  CHECK(up.Health().in_flight == 2);  // w2 (the terminal has not consumed it) and marker
}

TEST_CASE("an unowned entry from before payloads were kept is adopted and awaited, never written",
          "[oqs_folder][restart]") {
  Env env;
  auto legacy = Seeded("legacy", 1, core::JournalState::kJournalled, "");
  legacy.payload.clear();  // the old journal kept only the hash; the old daemon may have written it
  env.journal.Put(legacy);
  env.journal.SetSequence(1);
  ReqWrites writes(env.req());
  auto& up = env.Started();
  auto marker = up.Submit(MakeRequest("marker", "AFI-marker"));
  REQUIRE(marker.ok());
  REQUIRE(writes.WaitFor(marker->file_name));
  CHECK(writes.Order() == std::vector<std::string>{marker->file_name});
  CHECK(env.journal.Entry("legacy")->instance_id == "site1-a");  // adopted by the first to ask
  CHECK(env.journal.State("legacy") == core::JournalState::kWritten);
  CHECK(up.Health().in_flight == 2);
  Answer(env.res(), legacy);
  REQUIRE(env.recorder.WaitResults(1));
  CHECK(env.recorder.Results().at(0).request_id == "legacy");
}

TEST_CASE("the adapter's completion after on_result is a safety net, never a second delivery",
          "[oqs_folder]") {
  Env env;
  auto& up = env.Started();
  SECTION("the handler completed the entry in its own transaction: nothing changes") {
    auto handlers = env.recorder.Handlers();
    auto record = handlers.on_result;
    handlers.on_result = [&](const core::UpstreamFile& f) {
      auto st = record(f);
      if (!st.ok()) return st;
      core::Event ev;
      ev.type = "eligibility.result";
      ev.request_id = f.client_request_id;
      return env.journal.Complete(f.request_id, core::JournalState::kAnswered, f.received_at, {ev});
    };
    up.Stop();
    REQUIRE(up.Start(handlers).ok());
    auto e = up.Submit(MakeRequest("x", "AFI-x"));
    REQUIRE(e.ok());
    REQUIRE(Eventually([&] { return fs::exists(env.req() / e->file_name); }));
    Answer(env.res(), *e);
    REQUIRE(Eventually([&] { return fs::exists(env.ArchiveDay() / ResultNameFor(e->file_name)); }));
    CHECK(env.journal.CompleteCalls() == 2);  // the handler's, then the adapter's no-op
    CHECK(env.journal.Events().size() == 1);
    CHECK(env.journal.Transitions().back() ==
          std::pair<std::string, core::JournalState>{"x", core::JournalState::kAnswered});
  }
  SECTION("the completion fails: only the completion is retried") {
    env.journal.FailComplete(2);
    auto e = up.Submit(MakeRequest("x", "AFI-x"));
    REQUIRE(e.ok());
    REQUIRE(Eventually([&] { return fs::exists(env.req() / e->file_name); }));
    Answer(env.res(), *e);
    REQUIRE(Eventually([&] { return fs::exists(env.ArchiveDay() / ResultNameFor(e->file_name)); }));
    env.Scans(3);
    CHECK(env.recorder.Results().size() == 1);
    CHECK(env.journal.CompleteCalls() == 3);
    CHECK(env.journal.State("x") == core::JournalState::kAnswered);
    CHECK(up.Health().in_flight == 0);
  }
}

TEST_CASE("after a restart, an abandoned request holds no slot and its late answer is delivered",
          "[oqs_folder][restart]") {
  Env env;
  env.options.max_in_flight = 1;
  auto a1 = Seeded("a1", 1, core::JournalState::kAbandoned);
  a1.completed_at = TestEpoch() - std::chrono::hours(2);
  a1.written_at = *a1.completed_at - env.options.answer_timeout;
  auto a2 = Seeded("a2", 2, core::JournalState::kAbandoned);  // its late-answer window is over
  a2.completed_at = TestEpoch() - env.options.late_answer_window - std::chrono::seconds(1);
  a2.written_at = *a2.completed_at - env.options.answer_timeout;
  auto t2 = Seeded("t2", 3, core::JournalState::kWritten);  // its answer time ran out while down
  t2.written_at = TestEpoch() - env.options.answer_timeout;
  for (const auto& e : {a1, a2, t2}) env.journal.Put(e);
  env.journal.SetSequence(3);

  auto& up = env.Started();
  auto fresh = up.Submit(MakeRequest("fresh", "AFI-fresh"));
  REQUIRE(fresh.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / fresh->file_name); }));  // slot free
  REQUIRE(Eventually([&] { return env.journal.State("t2") == core::JournalState::kAbandoned; }));
  auto events = env.journal.Events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "upstream.request_abandoned");
  CHECK(events[0].request_id == "client-t2");
  auto h = up.Health();
  CHECK(h.in_flight == 1);
  REQUIRE(h.unanswered.size() == 2);
  CHECK(h.unanswered[0].request_id == "a1");
  CHECK(h.unanswered[0].client_request_id == "client-a1");
  CHECK(h.unanswered[0].file_name == a1.file_name);
  CHECK(h.unanswered[0].written_at == *a1.written_at);
  CHECK(h.unanswered[0].abandoned_at == *a1.completed_at);
  CHECK(h.unanswered[1].request_id == "t2");
  CHECK(h.unanswered[1].abandoned_at == TestEpoch());

  Answer(env.res(), a2);  // too late: no longer ours, left alone
  Answer(env.res(), a1);
  Answer(env.res(), t2);
  REQUIRE(env.recorder.WaitResults(2));
  REQUIRE(Eventually([&] {
    return env.journal.State("a1") == core::JournalState::kAnswered &&
           env.journal.State("t2") == core::JournalState::kAnswered;
  }));
  env.Scans(3);
  CHECK(env.recorder.Results().size() == 2);
  CHECK(env.journal.State("a2") == core::JournalState::kAbandoned);
  CHECK(Names(env.res()) == std::vector<std::string>{ResultNameFor(a2.file_name)});
  CHECK(up.Health().unanswered.empty());
  CHECK(env.journal.Events().size() == 1);
}

TEST_CASE("after a restart, answer files left behind are archived, not delivered, others stay",
          "[oqs_folder][restart]") {
  Env env;
  auto n1 = Seeded("n1", 1, core::JournalState::kAnswered);  // stored, crash before archiving
  auto r1 = Seeded("r1", 2, core::JournalState::kRejected);  // .err stored, crash before archiving
  auto c1 = Seeded("c1", 3, core::JournalState::kRejected);  // never written: its name was taken
  c1.written_at.reset();
  auto other = Seeded("other", 4, core::JournalState::kAnswered, "site1-b");  // another daemon's
  for (const auto& e : {n1, r1, c1, other}) env.journal.Put(e);
  env.journal.SetSequence(4);
  Answer(env.res(), n1);
  WriteFile(env.res() / r1.file_name, r1.file_name);  // the request the terminal moved into res/
  std::string r1_err = r1.file_name.substr(0, r1.file_name.size() - 4) + ".err";
  WriteFile(env.res() / r1_err, "rejected");
  WriteAtomically(env.res(), ResultNameFor(c1.file_name), ResultXml("NOT-OURS"));
  Answer(env.res(), other);
  const std::string foreign_res = "OQSsiquc01res_202611210099.xml";
  const std::string foreign_tmp = TempName("OQSsiquc01req_202611210098.xml");
  WriteAtomically(env.res(), foreign_res, ResultXml("VENDOR"));
  WriteFile(env.req() / foreign_tmp, "vendor temp");

  auto& up = env.Started();
  REQUIRE(Eventually([&] {
    return fs::exists(env.ArchiveDay() / ResultNameFor(n1.file_name)) &&
           fs::exists(env.ArchiveDay() / r1_err) && fs::exists(env.ArchiveDay() / r1.file_name);
  }));
  env.Scans(3);
  CHECK(env.recorder.Results().empty());
  CHECK(Names(env.res()) == std::vector<std::string>{ResultNameFor(c1.file_name),
                                                     ResultNameFor(other.file_name), foreign_res});
  CHECK(Names(env.req()) == std::vector<std::string>{foreign_tmp});
  CHECK(ReadFile(env.req() / foreign_tmp) == "vendor temp");
  CHECK(up.Health().in_flight == 0);
  CHECK(env.journal.CompleteCalls() == 0);
}

TEST_CASE("an answer whose archive move failed is archived later, not delivered again",
          "[oqs_folder]") {
  Env env;
  fs::create_directories(env.options.archive_dir);
  WriteFile(env.ArchiveDay(), "in the way");  // archive/20261121 is a file: every move fails
  auto& up = env.Started();
  auto e = up.Submit(MakeRequest("x", "AFI-x"));
  REQUIRE(e.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / e->file_name); }));
  fs::remove(env.req() / e->file_name);
  Answer(env.res(), *e);
  REQUIRE(env.recorder.WaitResults(1));
  env.Scans(5);
  CHECK(fs::exists(env.res() / ResultNameFor(e->file_name)));  // stored, not moved yet

  fs::remove(env.ArchiveDay());
  REQUIRE(Eventually([&] { return fs::exists(env.ArchiveDay() / ResultNameFor(e->file_name)); }));
  env.Scans(3);
  CHECK(env.recorder.Results().size() == 1);
  CHECK(Names(env.res()).empty());
  CHECK(env.journal.State("x") == core::JournalState::kAnswered);
  CHECK(up.Health().in_flight == 0);
}

TEST_CASE("an unanswered request releases its slot after answer_timeout, a late answer counts",
          "[oqs_folder][abandon]") {
  Env env;
  env.options.max_in_flight = 1;
  auto& up = env.Started();
  auto a = up.Submit(MakeRequest("a", "AFI-a"));
  auto b = up.Submit(MakeRequest("b", "AFI-b"));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(Eventually([&] { return fs::exists(env.req() / a->file_name); }));
  fs::remove(env.req() / a->file_name);  // consumed; no answer comes

  env.clock.Advance(env.options.answer_timeout - std::chrono::seconds(1));
  env.Scans(3);
  CHECK_FALSE(fs::exists(env.req() / b->file_name));
  CHECK(env.journal.State("a") == core::JournalState::kWritten);
  CHECK(env.journal.State("b") == core::JournalState::kJournalled);  // queued: never abandoned

  env.clock.Advance(std::chrono::seconds(1));
  REQUIRE(Eventually([&] { return fs::exists(env.req() / b->file_name); }));
  CHECK(env.journal.State("a") == core::JournalState::kAbandoned);
  auto events = env.journal.Events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "upstream.request_abandoned");
  CHECK(events[0].request_id == "client-a");
  CHECK(events[0].file_name == a->file_name);
  CHECK(events[0].at == TestEpoch() + env.options.answer_timeout);
  CHECK_FALSE(events[0].detail.empty());
  CHECK(events[0].detail.find("AFI-a") == std::string::npos);  // no request content
  CHECK(std::find(events[0].attributes.begin(), events[0].attributes.end(),
                  std::pair<std::string, std::string>{"journal_state", "ABANDONED"}) !=
        events[0].attributes.end());
  auto h = up.Health();
  CHECK(h.in_flight == 1);  // b
  REQUIRE(h.unanswered.size() == 1);
  CHECK(h.unanswered[0].request_id == "a");
  CHECK(h.unanswered[0].written_at == TestEpoch());
  CHECK(h.unanswered[0].abandoned_at == TestEpoch() + env.options.answer_timeout);
  env.Scans(3);
  // b waited in the queue for the whole answer_timeout, but its own time starts when written.
  CHECK(env.journal.State("b") == core::JournalState::kWritten);
  CHECK(env.journal.Events().size() == 1);

  Answer(env.res(), *a);  // late
  REQUIRE(env.recorder.WaitResults(1));
  CHECK(env.recorder.Results().at(0).request_id == "a");
  CHECK(Eventually([&] { return env.journal.State("a") == core::JournalState::kAnswered; }));
  CHECK(up.Health().unanswered.empty());
  CHECK(up.Health().in_flight == 1);

  // b is abandoned too; once its late-answer window is over, its answer is no longer ours.
  env.clock.Advance(env.options.answer_timeout);
  REQUIRE(Eventually([&] { return env.journal.State("b") == core::JournalState::kAbandoned; }));
  CHECK(up.Health().unanswered.size() == 1);
  env.clock.Advance(env.options.late_answer_window);
  env.Scans(3);
  CHECK(up.Health().unanswered.empty());
  Answer(env.res(), *b);
  env.Scans(5);
  CHECK(env.recorder.Results().size() == 1);
  CHECK(fs::exists(env.res() / ResultNameFor(b->file_name)));
  CHECK(env.journal.State("b") == core::JournalState::kAbandoned);
}

TEST_CASE("two daemons on one journal never write, await or archive each other's requests",
          "[oqs_folder][instances]") {
  testing::MemUpstreamJournal journal;
  Env a(&journal);
  Env b(&journal);
  a.options.max_in_flight = 1;
  b.options.instance_id = "site1-b";
  auto& up_a = a.Started();
  auto a1 = up_a.Submit(MakeRequest("a1", "AFI-a1"));
  auto a2 = up_a.Submit(MakeRequest("a2", "AFI-a2"));
  REQUIRE(a1.ok());
  REQUIRE(a2.ok());
  REQUIRE(Eventually([&] { return fs::exists(a.req() / a1->file_name); }));
  up_a.Stop();  // a2 journalled, not written

  ReqWrites writes_b(b.req());
  auto& up_b = b.Started();
  auto b1 = up_b.Submit(MakeRequest("b1", "AFI-b1"));
  REQUIRE(b1.ok());
  REQUIRE(writes_b.WaitFor(b1->file_name));
  // b's terminal happens to hold files named like a's answers: they are not b's.
  Answer(b.res(), *a1);
  WriteFile(b.res() / (a2->file_name.substr(0, a2->file_name.size() - 4) + ".err"), "x");
  b.Scans(5);
  CHECK(writes_b.Order() == std::vector<std::string>{b1->file_name});
  CHECK(up_b.Health().in_flight == 1);
  CHECK(up_b.Health().queued == 0);
  CHECK(b.recorder.Results().empty());
  CHECK(Names(b.res()).size() == 2);
  CHECK(journal.Entry("a1")->instance_id == "site1-a");
  CHECK(journal.Entry("b1")->instance_id == "site1-b");

  // a restarts: it writes a2 once a1 is answered, and never touches b1.
  ReqWrites writes_a(a.req());
  auto& up_a2 = a.Started();
  fs::remove(a.req() / a1->file_name);
  Answer(a.res(), *a1);
  REQUIRE(writes_a.WaitFor(a2->file_name));
  REQUIRE(a.recorder.WaitResults(1));
  CHECK(a.recorder.Results().at(0).request_id == "a1");
  Answer(a.res(), *b1);  // a file named like b's answer in a's folder
  a.Scans(5);
  CHECK(a.recorder.Results().size() == 1);
  CHECK(fs::exists(a.res() / ResultNameFor(b1->file_name)));
  CHECK(writes_a.Order() == std::vector<std::string>{a2->file_name});
  CHECK(up_a2.Health().in_flight == 1);  // a2
  CHECK(journal.State("b1") == core::JournalState::kWritten);
  CHECK(journal.State("a2") == core::JournalState::kWritten);
  CHECK(b.recorder.Results().empty());
}

TEST_CASE("a failed WRITING record leaves no visible request, it is written later, once",
          "[oqs_folder][writer]") {
  Env env;
  std::atomic<int> visible_at_writing{0};
  std::atomic<int> temp_missing_at_writing{0};
  env.journal.SetOnAdvance([&](const std::string& id, core::JournalState state) {
    if (state != core::JournalState::kWriting) return;
    auto e = env.journal.Entry(id);
    if (fs::exists(env.req() / e->file_name)) ++visible_at_writing;
    if (!fs::exists(env.req() / TempName(e->file_name))) ++temp_missing_at_writing;
  });
  ReqWrites writes(env.req());

  SECTION("retried by the same daemon") {
    env.journal.FailAdvance(core::JournalState::kWriting, 2);
    auto& up = env.Started();
    auto e = up.Submit(MakeRequest("x", "AFI-x"));
    REQUIRE(e.ok());
    REQUIRE(writes.WaitFor(e->file_name));
    CHECK(env.journal.AdvanceCalls(core::JournalState::kWriting) == 3);
    REQUIRE(Eventually([&] { return env.journal.State("x") == core::JournalState::kWritten; }));
    CHECK(writes.Order() == std::vector<std::string>{e->file_name});
    CHECK(Names(env.req()) == std::vector<std::string>{e->file_name});
  }
  SECTION("written by the next daemon after a stop") {
    // The writer's retry backoff starts at twice the poll interval: no retry within this test.
    env.options.poll_interval = std::chrono::hours(1);
    env.options.max_retry_backoff = std::chrono::hours(1);
    env.journal.FailAdvance(core::JournalState::kWriting, 1);
    auto& up = env.Started();
    auto e = up.Submit(MakeRequest("x", "AFI-x"));
    REQUIRE(e.ok());
    REQUIRE(
        Eventually([&] { return env.journal.AdvanceCalls(core::JournalState::kWriting) == 1; }));
    REQUIRE(Eventually([&] {  // back in the queue, temp file removed
      auto h = up.Health();
      return h.queued == 1 && h.in_flight == 0 && Names(env.req()).empty();
    }));
    CHECK(env.journal.State("x") == core::JournalState::kJournalled);
    CHECK(writes.Order().empty());
    up.Stop();
    env.Started();
    REQUIRE(writes.WaitFor(e->file_name));
    REQUIRE(Eventually([&] { return env.journal.State("x") == core::JournalState::kWritten; }));
    CHECK(writes.Order() == std::vector<std::string>{e->file_name});
  }
  CHECK(visible_at_writing == 0);
  CHECK(temp_missing_at_writing == 0);
}

TEST_CASE("a failed WRITTEN record: the request is awaited, recorded later, never rewritten",
          "[oqs_folder][writer]") {
  Env env;
  env.journal.FailAdvance(core::JournalState::kWritten, 3);
  ReqWrites writes(env.req());
  auto& up = env.Started();
  auto e = up.Submit(MakeRequest("x", "AFI-x"));
  REQUIRE(e.ok());
  REQUIRE(writes.WaitFor(e->file_name));
  REQUIRE(Eventually([&] { return env.journal.State("x") == core::JournalState::kWritten; }));
  CHECK(env.journal.AdvanceCalls(core::JournalState::kWritten) >= 4);
  CHECK(up.Health().in_flight == 1);
  fs::remove(env.req() / e->file_name);
  Answer(env.res(), *e);
  REQUIRE(env.recorder.WaitResults(1));
  REQUIRE(Eventually([&] { return env.journal.State("x") == core::JournalState::kAnswered; }));
  env.Scans(3);
  CHECK(writes.Order() == std::vector<std::string>{e->file_name});
  CHECK(up.Health().in_flight == 0);
}

TEST_CASE("an instance id is required", "[oqs_folder]") {
  Env env;
  env.options.instance_id = "";
  auto& up = env.Make();
  auto submitted = up.Submit(MakeRequest("x"));
  REQUIRE_FALSE(submitted.ok());
  CHECK(submitted.error().message.find("instance_id") != std::string::npos);
  CHECK(env.journal.Entries().empty());
  auto started = up.Start(env.recorder.Handlers());
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().kind == core::ErrorKind::kFailedPrecondition);
  CHECK(started.error().message.find("instance_id") != std::string::npos);
  CHECK(env.journal.RecoverableCalls() == 0);
}

}  // namespace onshid::oqs_folder
