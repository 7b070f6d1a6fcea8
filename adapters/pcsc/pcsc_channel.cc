#include "pcsc/pcsc_channel.h"

#include <array>

#include "core/card/pin.h"

namespace onshid::pcsc {

ChannelResult PcscChannel::Transmit(std::span<const std::uint8_t> command) {
  std::array<std::uint8_t, 258 + 16> buffer{};
  DWORD length = buffer.size();
  const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
  ChannelResult result;
  result.code = SCardTransmit(card_, pci, command.data(), static_cast<DWORD>(command.size()),
                              nullptr, buffer.data(), &length);
  if (result.code == SCARD_S_SUCCESS) {
    result.data.assign(buffer.begin(), buffer.begin() + std::min<DWORD>(length, buffer.size()));
  }
  core::card::SecureZero(buffer.data(), buffer.size());
  return result;
}

}  // namespace onshid::pcsc
