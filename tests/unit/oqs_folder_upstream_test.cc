// OqsFolderUpstream against real temporary directories; the test plays the 資格確認端末 by reading
// req/ and writing res/ and face/ files. Waits are on handler signals, scan counts or polled
// conditions with a deadline, never on fixed sleeps.

#include "oqs_folder/oqs_folder_upstream.h"

#include <openssl/evp.h>
#include <stdlib.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "oqs_folder/encoding.h"
#include "support/mem_upstream_journal.h"

namespace onshid::oqs_folder {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = 10s;

class FakeClock final : public core::Clock {
 public:
  core::SystemTime Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  void Set(core::SystemTime t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }
  void Advance(std::chrono::seconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  core::SystemTime now_{};
};

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

// A terminal folder and daemon state dirs under a fresh temporary directory.
struct Env {
  Env() {
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
  FakeClock clock;
  testing::MemUpstreamJournal journal;
  Recorder recorder;
  std::unique_ptr<OqsFolderUpstream> upstream;
};

}  // namespace

TEST_CASE("request is journalled before its file appears, and written atomically", "[oqs_folder]") {
  Env env;
  std::atomic<int> records{0};
  std::atomic<bool> file_existed_at_record{false};
  env.journal.SetOnRecord([&](const core::JournalEntry& e) {
    ++records;
    if (fs::exists(env.req() / e.file_name) || !Names(env.req()).empty()) {
      file_existed_at_record = true;
    }
  });
  auto& up = env.Started();
  auto entry = up.Submit(MakeRequest("req-1", "AFI-1"));
  REQUIRE(entry.ok());
  CHECK(entry->file_name == "OQSsiquc01req_202611210001.xml");  // Japan date + sequence
  CHECK(entry->journalled_at == TestEpoch());
  CHECK(records == 1);
  CHECK_FALSE(file_existed_at_record);

  REQUIRE(Eventually([&] { return fs::exists(env.req() / entry->file_name); }));
  std::string written = ReadFile(env.req() / entry->file_name);
  CHECK(written == MakeRequest("req-1", "AFI-1").xml_utf8);
  CHECK(entry->payload_sha256 == Sha256Hex(written));
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

  // Long after abandon_after it stops holding a slot, but a late result is still delivered.
  env.clock.Advance(std::chrono::hours(25));
  env.Scans(2);
  CHECK(second.Health().in_flight == 0);
  WriteAtomically(env.res(), ResultNameFor(entry->file_name), ResultXml("AFI-1"));
  REQUIRE(env.recorder.WaitResults(1));
  CHECK(env.recorder.Results().at(0).request_id == "req-1");
  REQUIRE(Eventually([&] {
    return fs::exists(env.options.archive_dir / "20261122" / ResultNameFor(entry->file_name));
  }));
  env.Scans(3);
  CHECK(env.recorder.Results().size() == 1);
  CHECK(env.journal.Entries().at(0).state == core::JournalState::kAnswered);
  CHECK(env.journal.CompleteCalls() == 1);
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
  env.clock.Advance(std::chrono::seconds(300));
  auto h1 = up.Health();
  REQUIRE(h1.oldest_request_age.has_value());
  CHECK(*h1.oldest_request_age == std::chrono::seconds(300));
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

}  // namespace onshid::oqs_folder
