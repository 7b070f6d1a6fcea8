#pragma once
// The ONE place where card-layer failures (PC/SC transport errors, card status words, parse errors
// and allow-list refusals) become domain errors with staff (ja) and IT (en) messages.

#include <string>

#include "core/error.h"
#include "pcsc/card_failure.h"

namespace onshid::pcsc {

core::DomainError ToDomainError(const CardFailure& failure);

// A PC/SC call outside a session (connect, transaction, list) failed with `code`.
core::DomainError PcscCallError(long code, const char* call);

// True when `code` means the PC/SC service (pcscd) is gone and the context must be re-established.
bool IsServiceLost(long code);

// Errors produced by the adapter itself.
core::DomainError ReaderNotFound(const std::string& reader);
core::DomainError PinAttemptReserved(int tries_left);
core::DomainError PinLocked();
core::DomainError SignatureInvalid();
core::DomainError AdapterStopped();

// Readable PC/SC code name, e.g. "SCARD_W_REMOVED_CARD" (for logs and error metadata).
std::string PcscCodeName(long code);

}  // namespace onshid::pcsc
