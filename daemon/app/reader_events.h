#pragma once
// ReaderEventPublisher: the generic card readers' events on the event stream and on the status
// board.
//
// Every core::card::ReaderEvent becomes one event of type "reader.<kind in lower case>"
// (reader.reader_added, reader.card_inserted, reader.service_degraded, ...) dated by the reader
// event, with the event's reason as detail and attribute "reader" when it names one — reader
// names and kinds only, no personal data. It is appended on the executor (the readers' monitor
// thread must not wait for the database); an append that fails is logged and dropped.
// kServiceDegraded and kServiceRecovered also set the board's readers entry
// (app/dependency_board.h: DEGRADED PCSC_SERVICE_UNAVAILABLE / OK) at once.
//
// Use: Start() before CardReaders' own start (the entry reads "waiting for pcscd" until the
// service is reached), ReadersStarted() after it, Stop() before the readers stop.
//
// Threading: Start(), ReadersStarted() and Stop() from the owning thread. The watch callback runs
// on the readers' monitor thread and only posts to the executor and sets the board.

#include "app/executor.h"
#include "core/card/card_readers.h"
#include "core/dependency.h"
#include "core/event.h"

namespace onshid::app {

class ReaderEventPublisher {
 public:
  // `readers` and `board` must outlive the publisher; `events` must outlive the tasks it posted
  // to `executor` (Executor::Join), not the publisher.
  ReaderEventPublisher(core::card::CardReaders& readers, core::EventStore& events,
                       core::StatusBoard& board, Executor& executor);
  ~ReaderEventPublisher();  // Stop()s

  ReaderEventPublisher(const ReaderEventPublisher&) = delete;
  ReaderEventPublisher& operator=(const ReaderEventPublisher&) = delete;

  // Sets the readers entry to "waiting for pcscd" (DEGRADED) and starts watching the readers.
  void Start();
  // The readers were started: the entry is OK at once when the service is reachable already
  // (otherwise an event or the dependency monitor says so later).
  void ReadersStarted();
  // Stops watching: after it returns the callback does not run any more (events already posted
  // are still appended by the executor). Idempotent.
  void Stop();

 private:
  void OnEvent(const core::card::ReaderEvent& e);

  core::card::CardReaders& readers_;
  core::EventStore& events_;
  core::StatusBoard& board_;
  Executor& executor_;
  int watch_ = 0;
  bool watching_ = false;
};

}  // namespace onshid::app
