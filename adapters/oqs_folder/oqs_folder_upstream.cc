#include "oqs_folder/oqs_folder_upstream.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <pugixml.hpp>
#include <sstream>
#include <string_view>
#include <utility>

#include "failpoint/failpoint.h"
#include "oqs_folder/encoding.h"

namespace onshid::oqs_folder {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr char kFolderUnavailableJa[] =
    "資格確認端末の共有フォルダに接続できません。端末の電源とネットワークを確認してください。";

std::shared_ptr<spdlog::logger> Log() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get("oqs_folder")) return existing;
  auto base = spdlog::default_logger();
  auto logger =
      std::make_shared<spdlog::logger>("oqs_folder", base->sinks().begin(), base->sinks().end());
  logger->set_level(base->level());
  try {
    spdlog::register_logger(logger);
  } catch (const spdlog::spdlog_ex&) {
    // Registered concurrently by another file of this adapter: use that one.
    if (auto existing = spdlog::get("oqs_folder")) return existing;
  }
  return logger;
}

std::string Sha256Hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0x0f]);
  }
  return out;
}

// yyyyMMdd in Japan time (UTC+9, no DST).
std::string JapanDate(core::SystemTime t) {
  auto day = std::chrono::floor<std::chrono::days>(t + std::chrono::hours(9));
  std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string Stem(const std::string& file_name) {
  auto dot = file_name.rfind('.');
  return dot == std::string::npos ? file_name : file_name.substr(0, dot);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "<type>req_<suffix>" → "<type>res_<suffix>" (first occurrence; message types have no '_').
std::string SwapKind(const std::string& name, const char* from, const char* to) {
  auto pos = name.find(from);
  if (pos == std::string::npos) return {};
  return name.substr(0, pos) + to + name.substr(pos + std::strlen(from));
}

std::string ErrnoText(int err) { return std::strerror(err); }

core::DomainError FolderUnavailable(const std::string& message) {
  return core::Unavailable("UPSTREAM_FOLDER_UNAVAILABLE", message, kFolderUnavailableJa);
}

core::DomainError StateDirUnavailable(const std::string& message) {
  return core::Unavailable(
      "UPSTREAM_STATE_DIR_UNAVAILABLE", message,
      "データ保存用フォルダを作成できません。システム管理者に連絡してください。");
}

bool WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Writes `data` to `path` (opened with `flags`, truncated) and fsyncs it; errno text on failure.
std::optional<std::string> WriteSyncedWith(const fs::path& path, const std::string& data,
                                           int flags) {
  int fd = open(path.c_str(), flags | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "open: " + ErrnoText(errno);
  bool ok = WriteAll(fd, data);
  int err = errno;
  if (ok && fsync(fd) != 0 && errno != EINVAL) {
    ok = false;
    err = errno;
  }
  if (close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) return "write: " + ErrnoText(err);
  return std::nullopt;
}

// Writes `data` to `path` and fsyncs it. On failure the file is removed and errno text returned.
std::optional<std::string> WriteFileSynced(const fs::path& path, const std::string& data) {
  auto err = WriteSyncedWith(path, data, O_CREAT);
  if (err) unlink(path.c_str());
  return err;
}

// Best effort: makes a rename durable on local file systems (shares may not support it).
void SyncDir(const fs::path& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// Renames, or copies + fsyncs + unlinks across file systems (share → local archive).
std::optional<std::string> MoveFile(const fs::path& from, const fs::path& to) {
  if (std::rename(from.c_str(), to.c_str()) == 0) {
    SyncDir(to.parent_path());
    return std::nullopt;
  }
  if (errno != EXDEV) return "rename: " + ErrnoText(errno);
  std::ifstream in(from, std::ios::binary);
  if (!in) return "open for copy: " + ErrnoText(errno);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return "read for copy failed";
  fs::path tmp = to.parent_path() / ("." + to.filename().string() + ".tmp");
  if (auto err = WriteFileSynced(tmp, data)) return err;
  if (std::rename(tmp.c_str(), to.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return "rename copy: " + ErrnoText(err);
  }
  SyncDir(to.parent_path());
  if (unlink(from.c_str()) != 0) return "unlink after copy: " + ErrnoText(errno);
  return std::nullopt;
}

// `dir/name`, or `dir/<stem>~<n><ext>` when taken (archives never overwrite).
fs::path UniqueDest(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  fs::path candidate = dir / name;
  fs::path p(name);
  for (int n = 1; fs::exists(candidate, ec) && n < 10000; ++n) {
    candidate = dir / (p.stem().string() + "~" + std::to_string(n) + p.extension().string());
  }
  return candidate;
}

std::optional<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return data;
}

// Text of the first <ArbitraryFileIdentifier> (trimmed), or nullopt.
std::optional<std::string> FindArbitraryFileIdentifier(const pugi::xml_document& doc) {
  pugi::xml_node node = doc.find_node(
      [](pugi::xml_node n) { return std::strcmp(n.name(), "ArbitraryFileIdentifier") == 0; });
  if (!node) return std::nullopt;
  std::string text = node.child_value();
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Sets the XML declaration's encoding to `name` (adding the attribute or a declaration if missing).
std::string WithDeclaredEncoding(std::string xml, std::string_view name) {
  if (xml.rfind("\xEF\xBB\xBF", 0) == 0) xml.erase(0, 3);  // no BOM in a Shift_JIS file
  std::string attr = "encoding=\"" + std::string(name) + "\"";
  if (xml.rfind("<?xml", 0) != 0) return "<?xml version=\"1.0\" " + attr + "?>\n" + xml;
  auto end = xml.find("?>");
  if (end == std::string::npos) return xml;  // not a declaration we understand; leave it
  auto pos = xml.find("encoding", 5);
  if (pos != std::string::npos && pos < end) {
    auto quote = xml.find_first_of("\"'", pos);
    if (quote != std::string::npos && quote < end) {
      auto close = xml.find(xml[quote], quote + 1);
      if (close != std::string::npos && close < end) {
        return xml.replace(pos, close + 1 - pos, attr);
      }
    }
    return xml;
  }
  auto standalone = xml.find("standalone", 5);
  auto at = standalone != std::string::npos && standalone < end ? standalone : end;
  std::string insert = attr + (at == end ? "" : " ");
  if (at == end && at > 0 && xml[at - 1] != ' ') insert = " " + insert;
  return xml.insert(at, insert);
}

struct Decoded {
  std::string utf8;
  std::string declared;  // as written in the declaration; "UTF-8" when none
};

// A received XML document decoded per its declaration (encoding.h).
std::optional<Decoded> DecodeReceived(const std::string& raw, std::string* problem) {
  auto utf8 = DecodeDocument(raw);
  if (!utf8.ok()) {
    *problem = "not decodable: " + utf8.error().reason + " (" + utf8.error().message + ")";
    return std::nullopt;
  }
  return Decoded{std::move(*utf8), DeclaredEncoding(raw).value_or("UTF-8")};
}

// .err text: UTF-8 when valid, else CP932 (what a Windows terminal writes).
std::optional<std::string> DecodeErrText(std::string raw) {
  if (raw.rfind("\xEF\xBB\xBF", 0) == 0) raw.erase(0, 3);
  if (auto utf8 = ValidateUtf8(raw); utf8.ok()) return std::move(*utf8);
  if (auto converted = Cp932ToUtf8(raw); converted.ok()) return std::move(*converted);
  return std::nullopt;
}

// Regular, non-hidden files of `dir`, sorted by name; nullopt when the directory cannot be read.
std::optional<std::vector<fs::path>> ListFiles(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, ec);
  if (ec) return std::nullopt;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    files.push_back(it->path());
  }
  if (ec) return std::nullopt;
  std::sort(files.begin(), files.end());
  return files;
}

// Renames `from` to `to` without ever replacing a file of that name (plain rename where
// RENAME_NOREPLACE is not supported). Returns 0 or errno.
int RenameNoReplace(const fs::path& from, const fs::path& to) {
  int rc = renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
    rc = std::rename(from.c_str(), to.c_str());
  }
  return rc == 0 ? 0 : errno;
}

// Overwrites `path` with `data` and fsyncs it; unlike WriteFileSynced it leaves a partial file in
// place on failure (for a temp file that must keep existing: see WriteRequest).
std::optional<std::string> OverwriteSynced(const fs::path& path, const std::string& data) {
  return WriteSyncedWith(path, data, 0);
}

core::DomainError InstanceIdMissing() {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "UPSTREAM_INSTANCE_ID_MISSING";
  e.message =
      "OqsFolderOptions.instance_id is empty: every daemon needs its own, stable instance id (it "
      "owns the daemon's upstream journal entries)";
  e.message_ja = "システムの設定に誤りがあります。システム管理者に連絡してください。";
  return e;
}

}  // namespace

OqsFolderUpstream::OqsFolderUpstream(Options options, core::Clock& clock,
                                     core::UpstreamJournal& journal)
    : options_(std::move(options)),
      req_dir_(options_.folder / "req"),
      res_dir_(options_.folder / "res"),
      face_dir_(options_.folder / "face"),
      clock_(clock),
      journal_(journal) {}

OqsFolderUpstream::~OqsFolderUpstream() { Stop(); }

fs::path OqsFolderUpstream::TempPath(const std::string& req_name) const {
  return req_dir_ / (".onshid-" + req_name + ".tmp");
}

std::optional<bool> OqsFolderUpstream::RequestOrAnswerPresent(const std::string& req_name,
                                                              std::string* error) const {
  std::string stem = Stem(req_name);
  std::string res_stem = SwapKind(stem, "req_", "res_");
  std::vector<fs::path> candidates = {req_dir_ / req_name, res_dir_ / req_name,
                                      res_dir_ / (stem + ".err")};
  for (const char* ext : {".xml", ".zip", ".pdf"})
    candidates.push_back(res_dir_ / (res_stem + ext));
  for (const fs::path& p : candidates) {
    std::error_code ec;
    bool exists = fs::exists(p, ec);
    if (ec) {
      *error = "cannot check " + p.string() + ": " + ec.message();
      return std::nullopt;
    }
    if (exists) return true;
  }
  return false;
}

bool OqsFolderUpstream::Known(const std::string& key) const {
  if (outstanding_.count(key) != 0) return true;
  auto same = [&](const core::JournalEntry& e) { return Stem(e.file_name) == key; };
  return std::any_of(queue_.begin(), queue_.end(),
                     [&](const Queued& q) { return same(q.entry); }) ||
         std::any_of(conflicts_.begin(), conflicts_.end(), same);
}

OqsFolderUpstream::Recovery OqsFolderUpstream::Decide(const core::JournalEntry& e) {
  const fs::path tmp = TempPath(e.file_name);
  std::string error;
  bool unfinished =
      e.state == core::JournalState::kJournalled || e.state == core::JournalState::kWriting;
  bool payload_usable =
      !e.payload.empty() && (e.payload_sha256.empty() || Sha256Hex(e.payload) == e.payload_sha256);
  if (unfinished && !payload_usable) {
    // Journalled before payloads were kept (adopted from a daemon without journal states, which
    // may well have written it), or damaged: nothing to write from. Awaited as possibly written;
    // abandoned after answer_timeout if no answer comes. Never written with other bytes.
    std::error_code ec;
    fs::remove(tmp, ec);
    Log()->warn("request {} ({}): no usable payload in the journal; awaited, not written",
                e.request_id, e.file_name);
    return Recovery::kAwaitFound;
  }
  switch (e.state) {
    case core::JournalState::kJournalled: {
      // The journal says kWriting before every rename, so this request never reached req/ under
      // its real name: a temp file of ours is a half-done write the terminal never saw as a
      // request (it ignores hidden names). Remove it and write the request from the journal.
      std::error_code ec;
      fs::remove(tmp, ec);  // on failure (share away) the writer overwrites it later
      auto present = RequestOrAnswerPresent(e.file_name, &error);
      // Present anyway (the journal lost the kWriting record?): taken as written, never rewritten.
      if (present && *present) return Recovery::kAwaitFound;
      return Recovery::kWrite;  // not readable now: the writer checks again before writing
    }
    case core::JournalState::kWriting: {
      // The rename may or may not have happened. Our temp file still there means it did not.
      std::error_code ec;
      bool temp = fs::exists(tmp, ec);
      if (ec) return Recovery::kFinishWriting;  // cannot tell now: the writer decides later
      auto present = RequestOrAnswerPresent(e.file_name, &error);
      if (!present) return Recovery::kFinishWriting;
      if (temp && !*present) return Recovery::kFinishWriting;
      // Renamed: in req/, answered in res/, or neither (consumed by the terminal). Never again.
      if (temp) fs::remove(tmp, ec);
      return Recovery::kAwaitFound;
    }
    case core::JournalState::kWritten:
      return Recovery::kAwait;
    case core::JournalState::kAbandoned:
      return Recovery::kAwaitAbandoned;
    case core::JournalState::kAnswered:
    case core::JournalState::kRejected:
      return Recovery::kCleanUp;
  }
  return Recovery::kAwait;
}

core::Status OqsFolderUpstream::Start(core::UpstreamHandlers handlers) {
  if (options_.instance_id.empty()) return InstanceIdMissing();
  {
    std::lock_guard lock(mu_);
    if (started_) {
      core::DomainError e;
      e.kind = core::ErrorKind::kFailedPrecondition;
      e.reason = "UPSTREAM_ALREADY_STARTED";
      e.message = "OqsFolderUpstream::Start called twice";
      e.message_ja = "システム内部エラーが発生しました。システム管理者に連絡してください。";
      return e;
    }
  }
  for (const fs::path& dir :
       {options_.archive_dir, options_.quarantine_dir, options_.face_mirror_dir}) {
    if (dir.empty()) continue;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return StateDirUnavailable("cannot create " + dir.string() + ": " + ec.message());
  }
  if (options_.archive_dir.empty() || options_.quarantine_dir.empty()) {
    return core::Internal("OqsFolderUpstream needs archive_dir and quarantine_dir");
  }
  auto now = clock_.Now();
  auto recoverable = journal_.Recoverable(options_.instance_id, now - options_.late_answer_window);
  if (!recoverable.ok()) return recoverable.error();

  // Decide from the folders first (no lock: the threads are not running; a concurrent Submit only
  // adds to the queue, and what it queued is skipped below).
  std::vector<std::pair<core::JournalEntry, Recovery>> plan;
  {
    std::set<std::string> known;
    {
      std::lock_guard lock(mu_);
      for (const core::JournalEntry& e : *recoverable) {
        if (Known(Stem(e.file_name))) known.insert(Stem(e.file_name));
      }
    }
    for (const core::JournalEntry& e : *recoverable) {
      if (e.instance_id != options_.instance_id && !e.instance_id.empty()) continue;  // not ours
      if (known.count(Stem(e.file_name)) != 0) continue;  // this object has it (Stop → Start)
      plan.emplace_back(e, Decide(e));
    }
  }
  // Entries found written (or possibly written) are recorded as kWritten now: they are awaited and
  // never written again. A failed record is retried by the scans.
  std::map<std::string, bool> recorded;
  for (const auto& [e, how] : plan) {
    if (how != Recovery::kAwaitFound) continue;
    auto st = journal_.Advance(e.request_id, core::JournalState::kWritten, now);
    recorded[e.request_id] = st.ok();
    if (!st.ok()) {
      Log()->warn("request {} ({}): recording it as written failed, will retry: {}", e.request_id,
                  e.file_name, st.error().reason);
    }
  }

  int to_write = 0, awaited = 0, abandoned = 0, cleanups = 0;
  {
    std::lock_guard lock(mu_);
    handlers_ = std::move(handlers);
    std::deque<Queued> recovered;
    for (auto& [e, how] : plan) {
      std::string key = Stem(e.file_name);
      if (Known(key)) continue;  // queued by a Submit() meanwhile
      switch (how) {
        case Recovery::kWrite:
        case Recovery::kFinishWriting: {
          Queued q;
          q.entry = e;
          q.writing = how == Recovery::kFinishWriting;
          q.may_be_visible = true;
          recovered.push_back(std::move(q));
          ++to_write;
          break;
        }
        case Recovery::kAwait:
        case Recovery::kAwaitFound:
        case Recovery::kAwaitAbandoned: {
          Outstanding o;
          o.entry = e;
          o.entry.payload.clear();
          o.awaiting = true;
          if (how == Recovery::kAwaitFound) {
            o.written_at = now;  // when it was renamed is unknown: its answer time starts now
            o.written_recorded = recorded[e.request_id];
          } else {
            o.written_at = e.written_at.value_or(e.journalled_at);
          }
          if (how == Recovery::kAwaitAbandoned) {
            o.abandoned = true;
            o.abandoned_at = e.completed_at.value_or(now);
            o.counts = false;
            ++abandoned;
          } else {
            // An answer time already over releases the slot now; the first scan abandons it.
            o.counts = now - o.written_at < options_.answer_timeout;
            ++awaited;
          }
          if (o.counts) ++in_flight_;
          outstanding_.emplace(key, std::move(o));
          break;
        }
        case Recovery::kCleanUp:
          // Only when it was in req/ for sure: a request rejected before it was ever written
          // (its result name was taken) has no answer of ours — that file belongs to others.
          if (e.written_at) {
            leftovers_.insert(key);
            ++cleanups;
          }
          break;
      }
    }
    // Journal order, before anything submitted to this object since.
    queue_.insert(queue_.begin(), std::make_move_iterator(recovered.begin()),
                  std::make_move_iterator(recovered.end()));
    started_ = true;
    stopping_ = false;
    stop_scan_ = false;
  }
  FolderWatcher::Options wo;
  wo.dirs = {res_dir_, face_dir_};
  wo.poll_interval = options_.poll_interval;
  wo.settle_delay = std::min(options_.settle_delay, options_.poll_interval);
  auto watcher = std::make_unique<FolderWatcher>(std::move(wo));
  if (!watcher->Start([this] { return Scan(); })) {
    std::lock_guard lock(mu_);
    started_ = false;
    outstanding_.clear();
    leftovers_.clear();
    in_flight_ = 0;
    return core::Internal("cannot create eventfd for the folder watcher: " + ErrnoText(errno));
  }
  std::size_t queued = 0;
  {
    std::lock_guard lock(mu_);
    watcher_ = std::move(watcher);
    queued = queue_.size();
  }
  writer_ = std::thread([this] { WriterLoop(); });
  Log()->info(
      "started on {} as instance {}: recovered {} to write, {} awaited, {} abandoned (late answer "
      "still accepted), {} with answer files to archive; {} queued",
      options_.folder.string(), options_.instance_id, to_write, awaited, abandoned, cleanups,
      queued);
  if (auto err = CheckFolder()) Log()->warn("{}", err->message);
  return core::OkStatus();
}

void OqsFolderUpstream::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
    stop_scan_ = true;
  }
  writer_cv_.notify_all();
  scan_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::unique_ptr<FolderWatcher> watcher;
  {
    std::lock_guard lock(mu_);
    watcher = std::move(watcher_);
  }
  if (watcher) watcher->Stop();
  std::lock_guard lock(mu_);
  started_ = false;
  // Reloaded from the journal by the next Start() (of this object or of a new one).
  outstanding_.clear();
  leftovers_.clear();
  in_flight_ = 0;
  // queue_ and conflicts_ stay: this object continues with them after its next Start(); a new
  // object recovers the same entries from the journal instead.
  observations_.clear();
  unknown_logged_.clear();
  delivered_faces_.clear();
}

core::Result<core::JournalEntry> OqsFolderUpstream::Submit(const core::UpstreamRequest& request) {
  if (options_.instance_id.empty()) return InstanceIdMissing();
  std::vector<core::FieldViolation> violations;
  if (request.request_id.empty()) violations.push_back({"request_id", "must not be empty"});
  if (request.message_type.empty() ||
      !std::all_of(request.message_type.begin(), request.message_type.end(),
                   [](unsigned char c) { return std::isalnum(c) != 0; })) {
    violations.push_back({"message_type", "must be ASCII letters and digits, e.g. OQSsiquc01"});
  }
  if (request.xml_utf8.empty()) violations.push_back({"xml_utf8", "must not be empty"});
  if (!violations.empty()) {
    return core::InvalidArgument("INVALID_UPSTREAM_REQUEST", "invalid upstream request",
                                 "要求の内容が不正です。", std::move(violations));
  }

  {
    std::lock_guard lock(mu_);
    if (static_cast<int>(queue_.size()) + reserved_ >= options_.max_queued) {
      core::DomainError e;
      e.kind = core::ErrorKind::kResourceExhausted;
      e.reason = "UPSTREAM_QUEUE_FULL";
      e.message = "upstream request queue is full (" + std::to_string(options_.max_queued) + ")";
      e.message_ja =
          "資格確認端末への要求が混み合っています。しばらく待ってから再度お試しください。";
      return e;
    }
    ++reserved_;
  }
  struct Release {
    OqsFolderUpstream* self;
    bool armed = true;
    ~Release() {
      if (!armed) return;
      std::lock_guard lock(self->mu_);
      --self->reserved_;
    }
  } release{this};

  std::string bytes;
  if (options_.encoding == Encoding::kShiftJis) {
    auto encoded =
        Utf8ToCp932(WithDeclaredEncoding(request.xml_utf8, DeclarationName(Encoding::kShiftJis)));
    if (!encoded.ok()) {
      return core::InvalidArgument(
          "REQUEST_NOT_ENCODABLE",
          "request is not representable in Shift_JIS: " + encoded.error().reason + " (" +
              encoded.error().message + ")",
          "資格確認端末に送れない文字が含まれています。入力内容を確認してください。",
          {{"xml_utf8", "not representable in Shift_JIS (CP932)"}});
    }
    bytes = std::move(*encoded);
  } else {
    auto valid = ValidateUtf8(request.xml_utf8);
    if (!valid.ok()) {
      return core::InvalidArgument("INVALID_UPSTREAM_REQUEST", "request is not valid UTF-8",
                                   "要求の内容が不正です。", {{"xml_utf8", valid.error().message}});
    }
    bytes = request.xml_utf8;
  }

  if (access(req_dir_.c_str(), W_OK | X_OK) != 0) {
    return FolderUnavailable("request folder " + req_dir_.string() +
                             " is not writable: " + ErrnoText(errno));
  }

  auto seq = journal_.NextSequence();
  if (!seq.ok()) return seq.error();
  auto now = clock_.Now();
  std::string digits = std::to_string(*seq);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');

  core::JournalEntry entry;
  entry.request_id = request.request_id;
  entry.client_request_id = request.client_request_id;
  entry.instance_id = options_.instance_id;
  entry.message_type = request.message_type;
  entry.kind = request.kind;
  entry.file_name = request.message_type + "req_" + JapanDate(now) + digits + ".xml";
  entry.payload_sha256 = Sha256Hex(bytes);
  entry.payload = std::move(bytes);
  entry.arbitrary_file_identifier = request.arbitrary_file_identifier;
  entry.state = core::JournalState::kJournalled;
  entry.journalled_at = now;
  auto recorded = journal_.Record(entry);
  if (!recorded.ok()) return recorded.error();
  ONSHID_FAILPOINT("journal.after_record");

  {
    std::lock_guard lock(mu_);
    --reserved_;
    release.armed = false;
    // A Start() running concurrently may have recovered it from the journal already.
    if (!Known(Stem(entry.file_name))) queue_.push_back(Queued{entry, false, false});
  }
  writer_cv_.notify_all();
  Log()->debug("request {} journalled as {}", entry.request_id, entry.file_name);
  return entry;
}

void OqsFolderUpstream::WriterLoop() {
  std::unique_lock lock(mu_);
  auto retry_at = SteadyClock::time_point::min();
  int failures = 0;
  while (!stopping_) {
    if (queue_.empty() || in_flight_ >= options_.max_in_flight) {
      writer_cv_.wait(lock);
      continue;
    }
    if (SteadyClock::now() < retry_at) {
      writer_cv_.wait_until(lock, retry_at);
      continue;
    }
    Queued item = std::move(queue_.front());
    queue_.pop_front();
    std::string key = Stem(item.entry.file_name);
    Outstanding o;
    o.entry = item.entry;
    o.entry.payload.clear();
    outstanding_[key] = o;  // holds the slot; not matched to results until written
    ++in_flight_;
    lock.unlock();
    std::string error;
    core::SystemTime written_at{};
    bool recorded = false;
    WriteOutcome outcome = WriteRequest(item, &written_at, &recorded, &error);
    lock.lock();
    switch (outcome) {
      case WriteOutcome::kWritten:
      case WriteOutcome::kAlreadyThere: {
        auto& w = outstanding_[key];
        w.awaiting = true;
        w.written_at = written_at;
        w.written_recorded = recorded;
        if (failures > 0) Log()->info("writing requests to {} works again", req_dir_.string());
        failures = 0;
        if (watcher_) watcher_->Wake();  // its answer may be there already
        break;
      }
      case WriteOutcome::kConflict:
        outstanding_.erase(key);
        --in_flight_;
        conflicts_.push_back(item.entry);
        if (watcher_) watcher_->Wake();
        break;
      case WriteOutcome::kFailed: {
        outstanding_.erase(key);
        --in_flight_;
        if (failures == 0) {
          Log()->warn("request {} ({}) not written, will retry: {}", item.entry.request_id,
                      item.entry.file_name, error);
        }
        ++failures;
        queue_.push_front(std::move(item));
        auto delay = std::min<SteadyClock::duration>(
            options_.poll_interval * (1 << std::min(failures, 10)), options_.max_retry_backoff);
        retry_at = SteadyClock::now() + delay;
        break;
      }
    }
  }
}

OqsFolderUpstream::WriteOutcome OqsFolderUpstream::WriteRequest(Queued& item,
                                                                core::SystemTime* written_at,
                                                                bool* recorded,
                                                                std::string* error) {
  const std::string& name = item.entry.file_name;
  const std::string& id = item.entry.request_id;
  const fs::path final_path = req_dir_ / name;
  const fs::path tmp = TempPath(name);
  const bool may_be_visible = item.may_be_visible;
  auto record_written = [&](core::SystemTime at) {
    auto st = journal_.Advance(id, core::JournalState::kWritten, at);
    *recorded = st.ok();
    if (!st.ok()) {
      Log()->warn("request {} ({}) is in req/ but recording it as written failed, will retry: {}",
                  id, name, st.error().reason);
    }
  };
  auto taken_as_written = [&]() {
    std::error_code ec;
    fs::remove(tmp, ec);
    *written_at = clock_.Now();
    Log()->info("request {} ({}) may have been written before; awaited, not written again", id,
                name);
    record_written(*written_at);
    return WriteOutcome::kAlreadyThere;
  };

  if (!item.writing) {
    // Journal: kJournalled. Nothing of ours is visible under the request's name.
    auto present = RequestOrAnswerPresent(name, error);
    if (!present) return WriteOutcome::kFailed;
    if (*present) {
      if (may_be_visible) return taken_as_written();
      Log()->error("request {} not written: {} or its answer already exists (never overwritten)",
                   id, name);
      return WriteOutcome::kConflict;
    }
    if (auto err = WriteFileSynced(tmp, item.entry.payload)) {
      *error = *err;
      return WriteOutcome::kFailed;
    }
    ONSHID_FAILPOINT("request.after_temp");
    auto writing = journal_.Advance(id, core::JournalState::kWriting, clock_.Now());
    if (!writing.ok()) {
      // Nothing visible was written: drop the temp file and try again later.
      unlink(tmp.c_str());
      *error = "journal: " + writing.error().reason;
      return WriteOutcome::kFailed;
    }
    item.writing = true;
    item.may_be_visible = true;
  } else {
    // Journal: kWriting (recovered, or an earlier attempt of ours whose rename failed). Without
    // our temp file the rename happened: the request is in req/ or was consumed. Never again.
    std::error_code ec;
    bool temp = fs::exists(tmp, ec);
    if (ec) {
      *error = "cannot check " + tmp.string() + ": " + ec.message();
      return WriteOutcome::kFailed;
    }
    if (!temp) return taken_as_written();
    auto present = RequestOrAnswerPresent(name, error);
    if (!present) return WriteOutcome::kFailed;
    if (*present) return taken_as_written();
    // The temp file was synced before kWriting was recorded; rewrite it only if it differs, and in
    // place (removing it would turn "not renamed" into "renamed" for the next attempt).
    auto current = ReadWhole(tmp);
    if (!current || *current != item.entry.payload) {
      if (auto err = OverwriteSynced(tmp, item.entry.payload)) {
        *error = *err;
        return WriteOutcome::kFailed;
      }
    }
  }

  *written_at = clock_.Now();
  {
    // Recorded before the file becomes visible, so Status() never ages it by its mtime.
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(Stem(name));
    if (it != outstanding_.end()) it->second.written_at = *written_at;
  }
  if (int err = RenameNoReplace(tmp, final_path); err != 0) {
    if (err == EEXIST) {
      // A file of the request's name appeared since the check above.
      unlink(tmp.c_str());
      if (may_be_visible) return taken_as_written();
      Log()->error("request {} not written: {} already exists (never overwritten)", id, name);
      return WriteOutcome::kConflict;
    }
    // The temp file stays: it tells the next attempt (or a restart) that the rename did not
    // happen.
    *error = "rename: " + ErrnoText(err);
    return WriteOutcome::kFailed;
  }
  SyncDir(req_dir_);
  ONSHID_FAILPOINT("request.after_rename");
  Log()->info("request {} written as {}", id, name);
  record_written(*written_at);
  ONSHID_FAILPOINT("request.after_written");
  return WriteOutcome::kWritten;
}

bool OqsFolderUpstream::Scan() {
  bool soon = false;
  RecordWritten();
  TimeOutRequests();
  DeliverConflicts();
  for (auto& [path, obs] : observations_) obs.seen = false;
  ScanResults(&soon);
  ScanFaces(&soon);
  for (auto it = observations_.begin(); it != observations_.end();) {
    it = it->second.seen ? std::next(it) : observations_.erase(it);
  }
  {
    std::lock_guard lock(mu_);
    ++scans_;
  }
  scan_cv_.notify_all();
  return soon;
}

void OqsFolderUpstream::RecordWritten() {
  std::vector<std::pair<std::string, core::SystemTime>> todo;  // key, written_at
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, o] : outstanding_) {
      if (o.awaiting && !o.written_recorded) todo.emplace_back(key, o.written_at);
    }
  }
  for (const auto& [key, at] : todo) {
    std::string id;
    {
      std::lock_guard lock(mu_);
      auto it = outstanding_.find(key);
      if (it == outstanding_.end()) continue;
      id = it->second.entry.request_id;
    }
    if (!journal_.Advance(id, core::JournalState::kWritten, at).ok()) continue;
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(key);
    if (it != outstanding_.end()) it->second.written_recorded = true;
    Log()->info("request {} recorded as written", id);
  }
}

void OqsFolderUpstream::TimeOutRequests() {
  auto now = clock_.Now();
  bool released = false;
  std::vector<core::JournalEntry> to_abandon;
  {
    std::lock_guard lock(mu_);
    for (auto it = outstanding_.begin(); it != outstanding_.end();) {
      Outstanding& o = it->second;
      if (o.abandoned) {
        if (now - o.abandoned_at >= options_.late_answer_window) {
          Log()->info(
              "request {} ({}): no late answer within {} s; its answer is no longer awaited",
              o.entry.request_id, o.entry.file_name, options_.late_answer_window.count());
          it = outstanding_.erase(it);
          continue;
        }
      } else if (o.awaiting && now - o.written_at >= options_.answer_timeout) {
        if (o.counts) {
          o.counts = false;
          --in_flight_;
          released = true;
        }
        // Abandoned in the journal only once it is recorded as written (retried until then).
        if (o.written_recorded && !o.answer_stored) to_abandon.push_back(o.entry);
      }
      ++it;
    }
  }
  if (released) writer_cv_.notify_all();
  for (const core::JournalEntry& e : to_abandon) {
    core::Event ev;
    ev.at = now;
    ev.type = "upstream.request_abandoned";
    ev.request_id = e.client_request_id;
    ev.file_name = e.file_name;
    ev.detail = "no answer from the terminal within " +
                std::to_string(options_.answer_timeout.count()) +
                " s; its in-flight slot is released and a late answer is still accepted for " +
                std::to_string(options_.late_answer_window.count()) + " s";
    ev.attributes = {{"journal_state", core::ToString(core::JournalState::kAbandoned)},
                     {"kind", e.kind},
                     {"message_type", e.message_type}};
    auto st = journal_.Complete(e.request_id, core::JournalState::kAbandoned, now, {ev});
    if (!st.ok()) {
      Log()->warn("request {} ({}): recording it as abandoned failed, will retry: {}", e.request_id,
                  e.file_name, st.error().reason);
      continue;
    }
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(Stem(e.file_name));
    if (it == outstanding_.end()) continue;
    it->second.abandoned = true;
    it->second.abandoned_at = now;
    Log()->warn(
        "request {} ({}) abandoned: no answer within {} s; slot released, a late answer is still "
        "accepted",
        e.request_id, e.file_name, options_.answer_timeout.count());
  }
}

void OqsFolderUpstream::DeliverConflicts() {
  std::vector<core::JournalEntry> conflicts;
  {
    std::lock_guard lock(mu_);
    conflicts.swap(conflicts_);
  }
  std::vector<core::JournalEntry> retry;
  for (const auto& entry : conflicts) {
    core::UpstreamFile f;
    f.kind = core::UpstreamFile::Kind::kRejection;
    f.file_name = entry.file_name;
    f.request_id = entry.request_id;
    f.client_request_id = entry.client_request_id;
    f.rejection_text =
        "onshid: request not sent because a result file of the same name already exists in res/";
    f.received_at = clock_.Now();
    auto delivered = handlers_.on_result ? handlers_.on_result(f) : core::OkStatus();
    if (delivered.ok()) {
      delivered =
          journal_.Complete(entry.request_id, core::JournalState::kRejected, f.received_at, {});
    }
    if (!delivered.ok()) {
      retry.push_back(entry);
      continue;
    }
  }
  if (!retry.empty()) {
    std::lock_guard lock(mu_);
    conflicts_.insert(conflicts_.end(), retry.begin(), retry.end());
  }
}

void OqsFolderUpstream::ScanResults(bool* soon) {
  auto files = ListFiles(res_dir_);
  if (!files) return;
  std::set<std::string> awaiting;
  std::set<std::string> leftovers;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, o] : outstanding_) {
      if (o.awaiting) awaiting.insert(key);
    }
    leftovers = leftovers_;
  }
  std::set<std::string> present;
  std::set<std::string> leftovers_seen;
  for (const fs::path& path : *files) {
    if (stop_scan_) return;
    std::string name = path.filename().string();
    std::string stem = Stem(name);
    std::string ext = Lower(path.extension().string());
    present.insert(name);
    if (ext == ".err" && awaiting.count(stem) != 0) {
      HandleRejection(path, stem, soon);
      continue;
    }
    std::string key = SwapKind(stem, "res_", "req_");
    if (!key.empty() && awaiting.count(key) != 0) {
      HandleResult(path, key, soon);
      continue;
    }
    if (awaiting.count(stem) != 0) continue;  // our request moved into res/ beside its .err
    // An answer (result, .err, or the request moved beside it) of one of our completed requests.
    std::string done = !key.empty() && leftovers.count(key) != 0 ? key
                       : leftovers.count(stem) != 0              ? stem
                                                                 : std::string();
    if (!done.empty()) {
      leftovers_seen.insert(done);
      CleanUpLeftover(path, done);
      continue;
    }
    if (unknown_logged_.insert(name).second) {
      Log()->debug("res/{} matches no journalled request; left alone", name);
    }
  }
  for (auto it = unknown_logged_.begin(); it != unknown_logged_.end();) {
    it = present.count(*it) != 0 ? std::next(it) : unknown_logged_.erase(it);
  }
  // A complete listing without any file of a completed request: nothing left to archive for it.
  std::lock_guard lock(mu_);
  for (const std::string& key : leftovers) {
    if (leftovers_seen.count(key) == 0) leftovers_.erase(key);
  }
}

void OqsFolderUpstream::ScanFaces(bool* soon) {
  auto files = ListFiles(face_dir_);
  if (!files) return;
  std::set<std::string> present;
  for (const fs::path& path : *files) {
    if (stop_scan_) return;
    present.insert(path.filename().string());
    HandleFace(path, soon);
  }
  for (auto it = delivered_faces_.begin(); it != delivered_faces_.end();) {
    it = present.count(it->first) != 0 ? std::next(it) : delivered_faces_.erase(it);
  }
}

bool OqsFolderUpstream::Observe(const fs::path& path, bool* soon) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return false;
  auto mtime = fs::last_write_time(path, ec);
  if (ec) return false;
  Observation& o = observations_[path];
  o.seen = true;
  if (o.checks == 0 || o.size != size || o.mtime != mtime) {
    o.size = size;
    o.mtime = mtime;
    o.checks = 1;
    o.unchanged_since = SteadyClock::now();
  } else if (o.checks < 1000000) {
    ++o.checks;
  }
  if (o.checks < std::max(2, options_.stable_checks)) {
    *soon = true;
    return false;
  }
  return true;
}

bool OqsFolderUpstream::ReadyForAttempt(const fs::path& path) {
  return SteadyClock::now() >= observations_[path].next_attempt;
}

void OqsFolderUpstream::AttemptFailed(const fs::path& path, const std::string& what,
                                      const std::string& why) {
  Observation& o = observations_[path];
  ++o.failures;
  auto delay = std::min<SteadyClock::duration>(
      options_.poll_interval * (1 << std::min(o.failures - 1, 10)), options_.max_retry_backoff);
  o.next_attempt = SteadyClock::now() + delay;
  if (!o.failure_logged) {
    o.failure_logged = true;
    Log()->warn("{} failed for {}; will retry with backoff: {}", what, path.filename().string(),
                why);
  }
}

void OqsFolderUpstream::AttemptSucceeded(const fs::path& path) {
  auto it = observations_.find(path);
  if (it == observations_.end()) return;
  if (it->second.failure_logged) {
    Log()->info("{} processed after {} retries", path.filename().string(), it->second.failures);
  }
  it->second.failures = 0;
  it->second.failure_logged = false;
  it->second.next_attempt = {};
}

OqsFolderUpstream::ReadOutcome OqsFolderUpstream::ReadStable(const fs::path& path, bool xml,
                                                             ReadFile* out,
                                                             const std::string& release_key) {
  Observation& o = observations_[path];
  auto raw = ReadWhole(path);
  if (!raw) {
    AttemptFailed(path, "reading", ErrnoText(errno));
    return ReadOutcome::kNotReady;
  }
  if (raw->size() != o.size) {  // changed between stat and read: observe again
    o.checks = 0;
    return ReadOutcome::kNotReady;
  }
  out->raw = std::move(*raw);
  if (!xml) return ReadOutcome::kReady;

  std::string problem;
  auto decoded = DecodeReceived(out->raw, &problem);
  if (decoded) {
    pugi::xml_document doc;
    auto parsed = doc.load_buffer(decoded->utf8.data(), decoded->utf8.size(), pugi::parse_default,
                                  pugi::encoding_utf8);
    if (!parsed || !doc.document_element()) {
      problem = std::string("not well-formed XML: ") + parsed.description() + " at offset " +
                std::to_string(parsed.offset);
    } else {
      out->xml_utf8 = std::move(decoded->utf8);
      out->declared_encoding = std::move(decoded->declared);
      return ReadOutcome::kReady;
    }
  }
  // Possibly still being written (a writer that paused): quarantine only when it stays broken.
  if (o.checks >= options_.malformed_checks &&
      SteadyClock::now() - o.unchanged_since >= options_.malformed_grace) {
    Quarantine(path, problem, release_key);
    return ReadOutcome::kQuarantined;
  }
  return ReadOutcome::kNotReady;
}

void OqsFolderUpstream::Quarantine(const fs::path& path, const std::string& reason,
                                   const std::string& release_key) {
  std::string name = path.filename().string();
  fs::path dest = UniqueDest(options_.quarantine_dir, name);
  if (auto err = MoveFile(path, dest)) {
    AttemptFailed(path, "quarantining", *err);
    return;
  }
  std::ostringstream text;
  auto t = std::chrono::system_clock::to_time_t(clock_.Now());
  text << "file: " << name << "\nreason: " << reason << "\nquarantined_at_unix: " << t << "\n";
  fs::path reason_path = dest;
  reason_path += ".reason.txt";
  if (auto err = WriteFileSynced(reason_path, text.str())) {
    Log()->error("cannot write {}: {}", reason_path.string(), *err);
  }
  observations_.erase(path);
  std::string request_id;
  if (!release_key.empty()) {
    {
      std::lock_guard lock(mu_);
      auto it = outstanding_.find(release_key);
      if (it != outstanding_.end()) request_id = it->second.entry.request_id;
    }
    ReleaseSlot(release_key);
  }
  Log()->warn("{} quarantined to {}: {}", name, dest.string(), reason);
  if (handlers_.on_quarantine) handlers_.on_quarantine(name, request_id, reason);
}

bool OqsFolderUpstream::Archive(const fs::path& path) {
  fs::path dir = options_.archive_dir / JapanDate(clock_.Now());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    AttemptFailed(path, "archiving", "cannot create " + dir.string() + ": " + ec.message());
    return false;
  }
  if (auto err = MoveFile(path, UniqueDest(dir, path.filename().string()))) {
    AttemptFailed(path, "archiving", *err);
    return false;
  }
  ONSHID_FAILPOINT("archive.after_move");
  AttemptSucceeded(path);
  observations_.erase(path);
  return true;
}

void OqsFolderUpstream::ReleaseSlot(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(key);
    if (it == outstanding_.end() || !it->second.counts) return;
    it->second.counts = false;
    --in_flight_;
  }
  writer_cv_.notify_all();
}

void OqsFolderUpstream::FinishRequest(const std::string& key, bool leftovers) {
  {
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(key);
    if (it == outstanding_.end()) return;
    if (it->second.counts) --in_flight_;
    outstanding_.erase(it);
    if (leftovers) leftovers_.insert(key);
  }
  writer_cv_.notify_all();
}

core::UpstreamFile OqsFolderUpstream::AnswerFile(core::UpstreamFile::Kind kind,
                                                 const fs::path& path,
                                                 const core::JournalEntry& entry, std::string raw,
                                                 core::SystemTime at) {
  core::UpstreamFile f;
  f.kind = kind;
  f.file_name = path.filename().string();
  f.request_id = entry.request_id;
  f.client_request_id = entry.client_request_id;
  f.sha256 = Sha256Hex(raw);
  f.raw = std::move(raw);
  f.received_at = at;
  return f;
}

bool OqsFolderUpstream::DeliverAnswer(const fs::path& path, const std::string& key,
                                      const core::UpstreamFile& f, const char* what) {
  auto handled = handlers_.on_result ? handlers_.on_result(f) : core::OkStatus();
  if (!handled.ok()) {
    AttemptFailed(path, what, handled.error().reason);
    return false;
  }
  ONSHID_FAILPOINT("result.after_store");
  // Stored: a failed completion or archive move is retried without delivering it again.
  std::lock_guard lock(mu_);
  auto it = outstanding_.find(key);
  if (it != outstanding_.end()) it->second.answer_stored = true;
  return true;
}

void OqsFolderUpstream::HandleResult(const fs::path& path, const std::string& key, bool* soon) {
  if (!Observe(path, soon) || !ReadyForAttempt(path)) return;
  core::JournalEntry entry;
  bool stored = false;
  {
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(key);
    if (it == outstanding_.end()) return;
    entry = it->second.entry;
    stored = it->second.answer_stored;
  }
  core::SystemTime at = clock_.Now();
  if (!stored) {
    bool xml = Lower(path.extension().string()) == ".xml";
    ReadFile rf;
    // A broken or foreign answer: the real result may never come. Keep matching a late one, but
    // stop holding an in-flight slot.
    if (ReadStable(path, xml, &rf, key) != ReadOutcome::kReady) return;
    if (xml && !entry.arbitrary_file_identifier.empty()) {
      pugi::xml_document doc;
      doc.load_buffer(rf.xml_utf8.data(), rf.xml_utf8.size(), pugi::parse_default,
                      pugi::encoding_utf8);
      auto afi = FindArbitraryFileIdentifier(doc);
      if (!afi || *afi != entry.arbitrary_file_identifier) {
        Log()->warn("result {} for request {}: ArbitraryFileIdentifier mismatch",
                    path.filename().string(), entry.request_id);
        Quarantine(path, "ArbitraryFileIdentifier mismatch", key);
        return;
      }
    }
    core::UpstreamFile f =
        AnswerFile(core::UpstreamFile::Kind::kResult, path, entry, std::move(rf.raw), at);
    f.xml_utf8 = std::move(rf.xml_utf8);
    f.declared_encoding = std::move(rf.declared_encoding);
    if (!DeliverAnswer(path, key, f, "result handler")) return;
    Log()->info("result {} delivered for request {}", f.file_name, entry.request_id);
  }
  // The handler completed the entry in its own transaction; this is a no-op then, and a safety
  // net otherwise. On failure the completion alone is retried (the file is not delivered again).
  auto completed = journal_.Complete(entry.request_id, core::JournalState::kAnswered, at, {});
  if (!completed.ok()) {
    AttemptFailed(path, "journal completion", completed.error().reason);
    return;
  }
  FinishRequest(key, false);
  if (!Archive(path)) {
    std::lock_guard lock(mu_);
    leftovers_.insert(key);  // archived by a later scan, without delivering it again
  }
}

void OqsFolderUpstream::HandleRejection(const fs::path& path, const std::string& key, bool* soon) {
  if (!Observe(path, soon) || !ReadyForAttempt(path)) return;
  core::JournalEntry entry;
  bool stored = false;
  {
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(key);
    if (it == outstanding_.end()) return;
    entry = it->second.entry;
    stored = it->second.answer_stored;
  }
  core::SystemTime at = clock_.Now();
  if (!stored) {
    ReadFile rf;
    if (ReadStable(path, false, &rf) != ReadOutcome::kReady) return;
    auto text = DecodeErrText(rf.raw);
    if (!text) {
      Quarantine(path, "rejection text not decodable as UTF-8 or Shift_JIS", key);
      return;
    }
    core::UpstreamFile f =
        AnswerFile(core::UpstreamFile::Kind::kRejection, path, entry, std::move(rf.raw), at);
    f.rejection_text = std::move(*text);
    if (!DeliverAnswer(path, key, f, "rejection handler")) return;
    Log()->warn("request {} rejected by the terminal ({})", entry.request_id, f.file_name);
  }
  auto completed = journal_.Complete(entry.request_id, core::JournalState::kRejected, at, {});
  if (!completed.ok()) {
    AttemptFailed(path, "journal completion", completed.error().reason);
    return;
  }
  // The terminal may have moved the rejected request itself into res/: archived alongside, now or
  // (if it is still arriving or the move fails) by later scans.
  FinishRequest(key, true);
  Archive(path);
  fs::path copy = res_dir_ / entry.file_name;
  std::error_code ec;
  if (fs::exists(copy, ec)) Archive(copy);
}

void OqsFolderUpstream::CleanUpLeftover(const fs::path& path, const std::string& key) {
  if (!ReadyForAttempt(path)) return;
  Observation& o = observations_[path];
  o.seen = true;
  if (Archive(path)) {
    Log()->info("{}: answer to {} (stored before) archived without delivering it again",
                path.filename().string(), key);
  }
}

void OqsFolderUpstream::HandleFace(const fs::path& path, bool* soon) {
  std::string name = path.filename().string();
  if (!Observe(path, soon) || !ReadyForAttempt(path)) return;
  if (delivered_faces_.count(name) != 0) {  // stored already; only the move failed
    if (Archive(path)) delivered_faces_.erase(name);
    return;
  }
  ReadFile rf;
  if (ReadStable(path, true, &rf) != ReadOutcome::kReady) return;
  core::UpstreamFile f;
  f.kind = core::UpstreamFile::Kind::kFace;
  f.file_name = name;
  f.sha256 = Sha256Hex(rf.raw);
  f.raw = std::move(rf.raw);
  f.xml_utf8 = std::move(rf.xml_utf8);
  f.declared_encoding = std::move(rf.declared_encoding);
  f.received_at = clock_.Now();
  auto stored = handlers_.on_face ? handlers_.on_face(f) : core::OkStatus();
  if (!stored.ok()) {
    AttemptFailed(path, "face handler", stored.error().reason);
    return;
  }
  ONSHID_FAILPOINT("face.after_store");
  {
    std::lock_guard lock(mu_);
    last_face_at_ = f.received_at;
  }
  if (!options_.face_mirror_dir.empty()) {
    fs::path tmp = options_.face_mirror_dir / (".onshid-" + name + ".tmp");
    auto err = WriteFileSynced(tmp, f.raw);
    if (!err && std::rename(tmp.c_str(), (options_.face_mirror_dir / name).c_str()) != 0) {
      err = "rename: " + ErrnoText(errno);
      unlink(tmp.c_str());
    }
    if (err) Log()->error("face file {} not mirrored: {}", name, *err);
  }
  Log()->debug("face file {} delivered", name);
  if (!Archive(path)) delivered_faces_[name] = f.sha256;
}

std::optional<core::DomainError> OqsFolderUpstream::CheckFolder() const {
  for (const fs::path& dir : {req_dir_, res_dir_, face_dir_}) {
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) {
      return FolderUnavailable("terminal folder " + dir.string() +
                               " is not reachable: " + ErrnoText(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      return FolderUnavailable("terminal folder " + dir.string() + " is not a directory");
    }
    if (access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
      return FolderUnavailable("terminal folder " + dir.string() +
                               " is not readable and writable: " + ErrnoText(errno));
    }
  }
  return std::nullopt;
}

core::UpstreamStatus OqsFolderUpstream::Status() const {
  core::UpstreamStatus h;
  h.folder_error = CheckFolder();
  h.folder_reachable = !h.folder_error.has_value();
  std::map<std::string, core::SystemTime> ours;
  {
    std::lock_guard lock(mu_);
    h.in_flight = in_flight_;
    h.queued = static_cast<int>(queue_.size());
    h.last_face_at = last_face_at_;
    h.inotify_active = watcher_ != nullptr && watcher_->InotifyActive();
    for (const auto& [key, o] : outstanding_) {
      if (o.awaiting || o.written_at != core::SystemTime{}) ours[o.entry.file_name] = o.written_at;
      if (o.abandoned) {
        h.unanswered.push_back(core::UnansweredRequest{o.entry.file_name, o.entry.request_id,
                                                       o.entry.client_request_id, o.written_at,
                                                       o.abandoned_at});
      }
    }
  }
  std::stable_sort(h.unanswered.begin(), h.unanswered.end(),
                   [](const auto& a, const auto& b) { return a.written_at < b.written_at; });
  auto now = clock_.Now();
  if (auto files = ListFiles(req_dir_)) {
    for (const fs::path& path : *files) {
      core::SystemTime since;
      auto it = ours.find(path.filename().string());
      if (it != ours.end()) {
        since = it->second;
      } else {
        std::error_code ec;
        auto mtime = fs::last_write_time(path, ec);
        if (ec) continue;
        since = std::chrono::time_point_cast<core::SystemTime::duration>(
            std::chrono::file_clock::to_sys(mtime));
      }
      auto age = std::chrono::duration_cast<std::chrono::seconds>(now - since);
      if (age < std::chrono::seconds(0)) age = std::chrono::seconds(0);
      if (!h.oldest_request_age || age > *h.oldest_request_age) h.oldest_request_age = age;
    }
  }
  return h;
}

std::uint64_t OqsFolderUpstream::CompletedScans() const {
  std::lock_guard lock(mu_);
  return scans_;
}

bool OqsFolderUpstream::WaitForScans(std::uint64_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  scan_cv_.wait_for(lock, timeout, [&] { return scans_ >= count || stopping_; });
  return scans_ >= count;
}

}  // namespace onshid::oqs_folder
