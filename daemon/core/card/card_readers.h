#pragma once
// CardReaders port: the site's generic PC/SC readers and the My Number card operations the daemon
// needs. Implemented by adapters/pcsc (PcscCardReaders) and by fakes in tests.
//
// Threading: every method may be called from any thread and never blocks on the card; results are
// delivered through the completion callback, on a thread owned by the implementation (the reader's
// worker). Completion callbacks must not block for long and must not call back into the port
// synchronously waiting for another completion.
//
// Errors (DomainError.reason), shared by all operations:
//   READER_NOT_FOUND (kNotFound), NO_CARD / CARD_REMOVED (kFailedPrecondition),
//   PCSC_SERVICE_UNAVAILABLE / READER_UNAVAILABLE (kUnavailable), CARD_NOT_JPKI (kFailedPrecondition),
//   CARD_COMMUNICATION_ERROR (kUnavailable), CARD_DATA_INVALID (kFailedPrecondition),
//   APDU_NOT_ALLOWED (kInternal: a bug, the command never reached the card).
// PIN operations add: PIN_FORMAT_INVALID (kInvalidArgument, nothing was sent), PIN_INCORRECT
// (kFailedPrecondition, metadata tries_left), PIN_LOCKED (kFailedPrecondition; staff guidance:
// 目視確認モード or the fallback paths), PIN_ATTEMPT_RESERVED (kFailedPrecondition, nothing sent).

#include <functional>
#include <string>
#include <vector>

#include "core/card/card_types.h"
#include "core/card/pin.h"
#include "core/error.h"

namespace onshid::core::card {

template <typename T>
using Completion = std::function<void(Result<T>)>;

using ReaderEventCallback = std::function<void(const ReaderEvent&)>;

class CardReaders {
 public:
  virtual ~CardReaders() = default;

  // True while the card-reader service (pcscd for PcscCardReaders) is reachable, so that readers
  // can be listed and cards used; false before it was first reached and while it is down or
  // restarting (a degraded dependency that recovers by itself: kServiceDegraded and
  // kServiceRecovered events report the changes). Never blocks; any thread.
  virtual bool ServiceAvailable() const = 0;

  // Readers known right now (may be empty while the PC/SC service is degraded).
  virtual std::vector<ReaderInfo> ListReaders() const = 0;

  // Registers `callback` for every later event; returns an id for Unwatch. The callback runs on the
  // monitor thread, in event order; it must return quickly.
  virtual int Watch(ReaderEventCallback callback) = 0;
  // After Unwatch returns, the callback is not running and will not be called again.
  virtual void Unwatch(int watch_id) = 0;

  // Token kind and the user-authentication certificate with its status. No PIN is sent.
  virtual void InspectCard(const std::string& reader, Completion<CardInspection> done) = 0;

  // Remaining tries of the user-authentication PIN (empty VERIFY). No PIN is sent.
  virtual void GetPinStatus(const std::string& reader, Completion<PinStatus> done) = 0;

  // Sends at most ONE VERIFY of `pin`. If the card has `reserve_tries` or fewer tries left,
  // nothing is sent (PIN_ATTEMPT_RESERVED), so a caller can keep e.g. the last try for the patient
  // at the face reader. Returns the status after the attempt.
  virtual void VerifyPin(const std::string& reader, Pin pin, int reserve_tries,
                         Completion<PinStatus> done) = 0;

  // In one exclusive card session: VERIFY `pin` (once), sign the SHA-256 DigestInfo of `challenge`
  // with the user-authentication key, and verify the signature against the card's certificate.
  virtual void SignChallenge(const std::string& reader, Pin pin,
                             std::vector<std::uint8_t> challenge,
                             Completion<SignedChallenge> done) = 0;

  // 基本4情報 with the 券面事項入力補助 PIN; reads EF 0002 of that AP and nothing else.
  virtual void ReadBasicInfo(const std::string& reader, Pin kenhojo_pin,
                             Completion<BasicInfo> done) = 0;
};

}  // namespace onshid::core::card
