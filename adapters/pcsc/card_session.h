#pragma once
// One card session (one exclusive transaction) and THE transmit choke point.
//
// Transmit() checks every command against core::card::CheckCommand (the APDU allow-list) before
// the channel sees it, rejects responses shorter than 2 bytes as a transport error, and tracks the
// selected AP/EF for the allow-list. Nothing in the adapter can reach a card other than through
// this method.

#include <cstdint>
#include <span>
#include <vector>

#include "core/card/apdu_allow_list.h"
#include "pcsc/card_channel.h"
#include "pcsc/card_failure.h"

namespace onshid::pcsc {

struct ApduResponse {
  std::vector<std::uint8_t> data;  // without SW1 SW2
  std::uint16_t sw = 0;
};

class CardSession {
 public:
  // `allow_kenhojo`: whether this session may select the 券面事項入力補助AP (basic info only).
  CardSession(CardChannel& channel, bool allow_kenhojo);
  ~CardSession();

  CardSession(const CardSession&) = delete;
  CardSession& operator=(const CardSession&) = delete;

  // Sends `command` if the allow-list permits it in the current state. Failures: kNotAllowed
  // (never sent), kTransport (PC/SC error or short response). Any SW is returned as a value.
  CardOutcome<ApduResponse> Transmit(std::span<const std::uint8_t> command, Step step);

  const core::card::ApduSessionState& state() const { return state_; }
  // Number of commands that reached the channel.
  int sent() const { return sent_; }

 private:
  CardChannel& channel_;
  core::card::ApduSessionState state_;
  int sent_ = 0;
};

}  // namespace onshid::pcsc
