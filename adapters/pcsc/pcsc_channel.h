#pragma once
// CardChannel over a connected PC/SC card handle (SCardTransmit). Used only inside a
// PcscCardReaders worker, within SCardBeginTransaction / SCardEndTransaction.

#include <PCSC/winscard.h>

#include "pcsc/card_channel.h"

namespace onshid::pcsc {

class PcscChannel final : public CardChannel {
 public:
  // `protocol` as returned by SCardConnect (SCARD_PROTOCOL_T0 or T1).
  PcscChannel(SCARDHANDLE card, DWORD protocol) : card_(card), protocol_(protocol) {}
  ChannelResult Transmit(std::span<const std::uint8_t> command) override;

 private:
  SCARDHANDLE card_;
  DWORD protocol_;
};

}  // namespace onshid::pcsc
