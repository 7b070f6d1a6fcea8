#pragma once
// Timestamps between C++ and PostgreSQL. Internal to adapters/postgres.
//
// Timestamps cross the wire as microseconds since the Unix epoch (bigint), which is exactly
// PostgreSQL's resolution, so nothing is rounded either way.

#include <chrono>
#include <cstdint>
#include <string>

#include "core/clock.h"

namespace onshid::postgres {

// SQL that turns parameter $N (bigint microseconds) into a timestamptz.
inline std::string TimestampFromMicros(int n) {
  const std::string p = "$" + std::to_string(n) + "::bigint";
  return "(to_timestamp(" + p + " / 1000000) + (" + p + " % 1000000) * interval '1 microsecond')";
}

// SQL that reads a timestamptz column as bigint microseconds.
inline std::string MicrosOf(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000000)::bigint";
}

inline std::int64_t ToMicros(core::SystemTime t) {
  return std::chrono::floor<std::chrono::microseconds>(t).time_since_epoch().count();
}

inline core::SystemTime FromMicros(std::int64_t micros) {
  return core::SystemTime(
      std::chrono::duration_cast<core::SystemTime::duration>(std::chrono::microseconds(micros)));
}

}  // namespace onshid::postgres
