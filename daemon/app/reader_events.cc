#include "app/reader_events.h"

#include <cctype>
#include <string>

#include "app/dependency_board.h"
#include "app/logging.h"

namespace onshid::app {

ReaderEventPublisher::ReaderEventPublisher(core::card::CardReaders& readers,
                                           core::EventStore& events, core::StatusBoard& board,
                                           Executor& executor)
    : readers_(readers), events_(events), board_(board), executor_(executor) {}

ReaderEventPublisher::~ReaderEventPublisher() { Stop(); }

void ReaderEventPublisher::Start() {
  // pcscd missing or restarting is a degraded dependency that recovers by itself.
  ReportReadersConnecting(board_);
  watch_ = readers_.Watch([this](const core::card::ReaderEvent& e) { OnEvent(e); });
  watching_ = true;
}

void ReaderEventPublisher::ReadersStarted() {
  if (readers_.ServiceAvailable()) ReportReaders(board_, true);
}

void ReaderEventPublisher::Stop() {
  if (!watching_) return;
  readers_.Unwatch(watch_);
  watching_ = false;
}

void ReaderEventPublisher::OnEvent(const core::card::ReaderEvent& e) {
  using K = core::card::ReaderEventKind;
  executor_.Post([&events = events_, e] {
    core::Event ev;
    ev.at = e.at;
    std::string kind = core::card::ToString(e.kind);
    for (auto& ch : kind) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ev.type = "reader." + kind;
    ev.detail = e.reason;
    if (!e.reader.empty()) ev.attributes.emplace_back("reader", e.reader);
    if (auto a = events.Append(ev); !a) {
      Logger("readers")->warn("reader event not appended: {}", a.error().message);
    }
  });
  if (e.kind == K::kServiceRecovered) {
    ReportReaders(board_, true);
  } else if (e.kind == K::kServiceDegraded) {
    ReportReaders(board_, false);
  }
}

}  // namespace onshid::app
