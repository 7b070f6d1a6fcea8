#pragma once
// The lowest layer of a card session: one command APDU out, one response back. Implemented over
// SCardTransmit (PcscChannel) and by scripted fakes in tests. Callers never use a channel directly:
// every command goes through CardSession::Transmit, which enforces the APDU allow-list first.

#include <cstdint>
#include <span>
#include <vector>

namespace onshid::pcsc {

struct ChannelResult {
  long code = 0;                    // PC/SC return code (SCARD_S_SUCCESS = 0)
  std::vector<std::uint8_t> data;   // response APDU including SW1 SW2 when code == 0
};

class CardChannel {
 public:
  virtual ~CardChannel() = default;
  // Sends `command` as is. Not thread-safe: one session uses a channel at a time.
  virtual ChannelResult Transmit(std::span<const std::uint8_t> command) = 0;
};

}  // namespace onshid::pcsc
