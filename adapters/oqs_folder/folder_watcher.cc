#include "oqs_folder/folder_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace onshid::oqs_folder {

namespace {

constexpr std::uint32_t kWatchMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

FolderWatcher::FolderWatcher(Options options) : options_(std::move(options)) {
  watch_ids_.assign(options_.dirs.size(), -1);
}

FolderWatcher::~FolderWatcher() { Stop(); }

bool FolderWatcher::Start(std::function<bool()> on_wake) {
  if (thread_.joinable()) return true;
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) return false;
  inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);  // -1: polling only
  std::fill(watch_ids_.begin(), watch_ids_.end(), -1);
  stopping_ = false;
  thread_ = std::thread([this, cb = std::move(on_wake)]() mutable { Run(std::move(cb)); });
  return true;
}

void FolderWatcher::Wake() {
  if (event_fd_ < 0) return;
  std::uint64_t one = 1;
  // A full counter (EAGAIN) already means "wake up"; nothing else can fail here.
  [[maybe_unused]] auto n = write(event_fd_, &one, sizeof one);
}

void FolderWatcher::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  Wake();
  thread_.join();
  if (inotify_fd_ >= 0) close(inotify_fd_);
  close(event_fd_);
  inotify_fd_ = -1;
  event_fd_ = -1;
  inotify_active_ = false;
}

void FolderWatcher::AddMissingWatches() {
  if (inotify_fd_ < 0) return;
  bool all = true;
  for (std::size_t i = 0; i < options_.dirs.size(); ++i) {
    if (watch_ids_[i] >= 0) continue;
    watch_ids_[i] = inotify_add_watch(inotify_fd_, options_.dirs[i].c_str(), kWatchMask);
    if (watch_ids_[i] < 0) all = false;
  }
  inotify_active_ = all;
}

bool FolderWatcher::DrainInotify() {
  if (inotify_fd_ < 0) return false;
  bool any = false;
  alignas(inotify_event) std::array<char, 4096> buf{};
  for (;;) {
    ssize_t n = read(inotify_fd_, buf.data(), buf.size());
    if (n <= 0) break;
    any = true;
    for (ssize_t off = 0; off < n;) {
      inotify_event ev{};
      std::memcpy(&ev, buf.data() + off, sizeof ev);
      if ((ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
        // The directory went away (share unmounted, folder recreated): watch it again later.
        for (int& wd : watch_ids_) {
          if (wd == ev.wd) {
            if ((ev.mask & IN_IGNORED) == 0) inotify_rm_watch(inotify_fd_, wd);
            wd = -1;
          }
        }
        inotify_active_ = false;
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev.len);
    }
  }
  return any;
}

void FolderWatcher::Run(std::function<bool()> on_wake) {
  using Clock = std::chrono::steady_clock;
  AddMissingWatches();
  bool soon = on_wake();
  auto next_poll = Clock::now() + (soon ? options_.settle_delay : options_.poll_interval);
  while (!stopping_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_poll - Clock::now());
    int timeout_ms = static_cast<int>(std::max<std::int64_t>(0, wait.count()));
    std::array<pollfd, 2> fds{};
    fds[0] = {event_fd_, POLLIN, 0};
    fds[1] = {inotify_fd_, POLLIN, 0};  // fd -1 is ignored by poll()
    int rc = poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) {
      // Cannot happen with valid fds; fall back to a plain timed wait rather than spinning.
      std::this_thread::sleep_for(options_.poll_interval);
    }
    if (stopping_) break;
    bool woken = false;
    if ((fds[0].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] auto n = read(event_fd_, &count, sizeof count);
      woken = true;
    }
    if ((fds[1].revents & POLLIN) != 0 && DrainInotify()) woken = true;
    if (!woken && Clock::now() < next_poll) continue;
    AddMissingWatches();
    soon = on_wake();
    next_poll = Clock::now() + (soon ? options_.settle_delay : options_.poll_interval);
  }
}

}  // namespace onshid::oqs_folder
