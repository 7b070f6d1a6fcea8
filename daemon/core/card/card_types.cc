#include "core/card/card_types.h"

namespace onshid::core::card {

const char* ToString(ReaderEventKind kind) {
  switch (kind) {
    case ReaderEventKind::kReaderAdded: return "READER_ADDED";
    case ReaderEventKind::kReaderRemoved: return "READER_REMOVED";
    case ReaderEventKind::kCardInserted: return "CARD_INSERTED";
    case ReaderEventKind::kCardRemoved: return "CARD_REMOVED";
    case ReaderEventKind::kServiceDegraded: return "SERVICE_DEGRADED";
    case ReaderEventKind::kServiceRecovered: return "SERVICE_RECOVERED";
  }
  return "UNKNOWN";
}

const char* ToString(TokenKind kind) {
  switch (kind) {
    case TokenKind::kMyNumberCard: return "MY_NUMBER_CARD";
    case TokenKind::kJukiCard: return "JUKI_CARD";
    case TokenKind::kSmartphone: return "SMARTPHONE";
    case TokenKind::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

}  // namespace onshid::core::card
