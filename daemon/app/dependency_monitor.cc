#include "app/dependency_monitor.h"

#include <utility>

#include "app/dependency_board.h"
#include "app/logging.h"

namespace onshid::app {

DependencyMonitor::DependencyMonitor(core::Store& database, const core::Upstream* upstream,
                                     const core::card::CardReaders* readers,
                                     core::StatusBoard& board, core::EventStore& events,
                                     const core::Clock& clock, DependencyMonitorOptions options)
    : database_(database),
      upstream_(upstream),
      readers_(readers),
      board_(board),
      events_(events),
      clock_(clock),
      options_(std::move(options)) {}

DependencyMonitor::~DependencyMonitor() { Stop(); }

void DependencyMonitor::Refresh() {
  {
    std::lock_guard lock(refresh_mu_);
    RefreshDatabase();
    if (upstream_) {
      RefreshUpstreamBoard(upstream_->Status());
      PublishUpstreamState();
    }
    if (readers_) ReportReaders(board_, readers_->ServiceAvailable());
  }
  // Outside the lock: the callback may read the board (and take its time).
  if (after_refresh_) after_refresh_();
}

void DependencyMonitor::RefreshUpstream() {
  if (!upstream_) return;
  std::lock_guard lock(refresh_mu_);
  RefreshUpstreamBoard(upstream_->Status());
  PublishUpstreamState();
}

void DependencyMonitor::RefreshDatabase() {
  auto log = Logger("postgres");
  auto ping = database_.Ping();
  if (ping.ok()) {
    if (!database_was_ok_) log->info("database reachable again");
    const bool restarting = options_.database_restarting && options_.database_restarting();
    if (!restarting) ReportDatabaseOk(board_);
  } else {
    if (database_was_ok_) log->error("database unreachable: {}", ping.error().message);
    ReportDatabaseUnreachable(board_, ping.error().message);
  }
  database_was_ok_ = ping.ok();
}

void DependencyMonitor::RefreshUpstreamBoard(const core::UpstreamStatus& h) {
  using core::DependencyState;
  if (!h.folder_reachable) {
    const auto& e = h.folder_error;
    board_.Set(kUpstreamEntry, DependencyState::kDown, "UPSTREAM_FOLDER_UNAVAILABLE",
               e ? e->message : "the terminal folder is not reachable",
               e ? e->message_ja : "資格確認端末の共有フォルダに接続できません。");
  } else if (h.oldest_request_age && *h.oldest_request_age >= options_.stale_request_warn) {
    board_.Set(kUpstreamEntry, DependencyState::kDegraded, "UPSTREAM_NOT_CONSUMING",
               "a request file has waited " + std::to_string(h.oldest_request_age->count()) +
                   " s in req/: the terminal's 連携アプリ is probably not running",
               "資格確認端末の連携アプリケーションが応答していません。端末を確認してください。");
  } else {
    std::string detail = "in flight " + std::to_string(h.in_flight) + ", queued " +
                         std::to_string(h.queued) +
                         (h.inotify_active ? "" : ", polling only (no inotify)");
    if (h.last_face_at) {
      const auto age =
          std::chrono::duration_cast<std::chrono::seconds>(clock_.Now() - *h.last_face_at);
      detail += ", last face file " + std::to_string(age.count()) + " s ago";
    }
    board_.Set(kUpstreamEntry, DependencyState::kOk, "", detail);
  }
  // Requests the terminal never answered (abandoned after upstream.answer_timeout_s) are named
  // until they are answered late or the late window ends. They do not stop new requests.
  if (h.unanswered.empty()) {
    board_.Set(kUpstreamRequestsEntry, DependencyState::kOk, "", "", "", false);
  } else {
    std::string names;
    for (const auto& u : h.unanswered) {
      if (!names.empty()) names += ", ";
      names += u.file_name;
      if (!u.client_request_id.empty()) names += " (x-request-id " + u.client_request_id + ")";
    }
    board_.Set(kUpstreamRequestsEntry, DependencyState::kDegraded, "UPSTREAM_REQUESTS_UNANSWERED",
               std::to_string(h.unanswered.size()) +
                   " request(s) written to req/ were never answered: " + names,
               "資格確認端末から応答のない照会があります。端末の状態を確認し、必要なら照会をやり直してください。",
               /*required_for_ready=*/false);
  }
}

void DependencyMonitor::PublishUpstreamState() {
  for (const auto& d : board_.Snapshot()) {
    if (d.name != kUpstreamEntry) continue;
    const std::string state = core::ToString(d.state);
    if (state == last_upstream_state_) return;
    core::Event ev;
    ev.at = clock_.Now();
    ev.type = "upstream.state";
    ev.detail = d.detail;
    ev.attributes = {{"state", state}};
    if (!d.reason.empty()) ev.attributes.emplace_back("reason", d.reason);
    if (auto a = events_.Append(ev); !a) {
      Logger("main")->warn("upstream state event not appended: {}", a.error().message);
      last_upstream_state_.clear();  // try again at the next step
      return;
    }
    last_upstream_state_ = state;
    return;
  }
}

void DependencyMonitor::Start(std::function<void()> after_refresh) {
  after_refresh_ = std::move(after_refresh);
  thread_ = std::thread([this] { Loop(); });
}

void DependencyMonitor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DependencyMonitor::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Refresh();
    lock.lock();
  }
}

}  // namespace onshid::app
