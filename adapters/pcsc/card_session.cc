#include "pcsc/card_session.h"

namespace onshid::pcsc {

CardSession::CardSession(CardChannel& channel, bool allow_kenhojo) : channel_(channel) {
  state_.allow_kenhojo = allow_kenhojo;
}

CardSession::~CardSession() = default;

CardOutcome<ApduResponse> CardSession::Transmit(std::span<const std::uint8_t> command, Step step) {
  const core::card::AllowDecision decision = core::card::CheckCommand(state_, command);
  if (!decision.allowed) {
    return CardFailure{FailureKind::kNotAllowed, step, 0, 0, decision.reason};
  }
  ++sent_;
  ChannelResult result = channel_.Transmit(command);
  if (result.code != 0) {
    // The selection state is unknown after a transport failure: fail closed.
    state_.application = core::card::Application::kNone;
    state_.elementary_file = -1;
    return CardFailure{FailureKind::kTransport, step, result.code, 0, "PCSC_TRANSMIT_FAILED"};
  }
  if (result.data.size() < 2) {
    state_.application = core::card::Application::kNone;
    state_.elementary_file = -1;
    return CardFailure{FailureKind::kTransport, step, 0, 0, "SHORT_RESPONSE"};
  }
  ApduResponse response;
  const std::size_t n = result.data.size();
  response.sw = static_cast<std::uint16_t>((result.data[n - 2] << 8) | result.data[n - 1]);
  result.data.resize(n - 2);
  response.data = std::move(result.data);
  core::card::ApplyResponse(state_, command, response.sw);
  return response;
}

}  // namespace onshid::pcsc
