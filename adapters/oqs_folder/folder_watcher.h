#pragma once
// FolderWatcher: one thread that wakes a callback when files may have changed in a set of
// directories: on inotify events (IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE), on Wake(), and at every
// poll interval regardless, because inotify does not fire on network shares (CIFS/SMB mounts of the
// 資格確認端末's folder) and a directory may not exist yet or disappear and come back.
//
// The callback does the actual scanning; the watcher only decides when. A callback that returns
// true asks for a quicker follow-up (after `settle_delay` instead of `poll_interval`), used while a
// file is still being written and a second observation is needed to call it stable.
//
// Threading: Start() and Stop() from one owning thread; Wake() from any thread. The callback runs
// on the watcher thread only, never concurrently with itself. Stop() interrupts the wait at once
// (eventfd) and joins; it does not interrupt a callback that is running.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

namespace onshid::oqs_folder {

class FolderWatcher {
 public:
  struct Options {
    std::vector<std::filesystem::path> dirs;        // watched (not recursively); may not exist yet
    std::chrono::milliseconds poll_interval{1000};  // wake at least this often
    std::chrono::milliseconds settle_delay{100};    // follow-up delay when the callback asks
  };

  explicit FolderWatcher(Options options);
  ~FolderWatcher();  // Stop()s

  FolderWatcher(const FolderWatcher&) = delete;
  FolderWatcher& operator=(const FolderWatcher&) = delete;

  // Starts the thread. The callback runs once right away, then as described above. Returns false
  // (and starts nothing) when the eventfd cannot be created; inotify failures only degrade to
  // polling. Calling Start() twice without Stop() is a no-op returning true.
  bool Start(std::function<bool()> on_wake);

  // Wakes the thread, which then runs the callback once more (coalesced). Thread-safe.
  void Wake();

  // Stops and joins the thread. Idempotent.
  void Stop();

  // Whether inotify watches are currently set on every directory (false: polling only).
  bool InotifyActive() const { return inotify_active_.load(); }

 private:
  void Run(std::function<bool()> on_wake);
  void AddMissingWatches();
  bool DrainInotify();  // true if any event arrived

  const Options options_;
  int inotify_fd_ = -1;
  int event_fd_ = -1;
  std::vector<int> watch_ids_;  // per directory; -1 when not watched
  std::atomic<bool> stopping_{false};
  std::atomic<bool> inotify_active_{false};
  std::thread thread_;
};

}  // namespace onshid::oqs_folder
