#pragma once
// The status board's entries (core::StatusBoard): their names and, for every state the daemon
// reports, the reason code and the English / Japanese texts — defined once here, used by the
// dependency monitor, the reader-event publisher and the start-up in daemon/wiring.cc.
//
// Entries (names are stable: GetStatus, /readyz and the onshid_dependency_up metric show them):
//   database           required for readiness.
//   upstream           the 資格確認端末's folder; required for readiness unless not configured.
//   upstream_requests  requests the terminal never answered; never required for readiness.
//   readers            the generic card readers (pcscd); never required for readiness.
//
// Threading: the functions only call StatusBoard::Set / Snapshot, which are thread-safe.

#include <string>

#include "core/dependency.h"

namespace onshid::app {

inline constexpr const char* kDatabaseEntry = "database";
inline constexpr const char* kUpstreamEntry = "upstream";
inline constexpr const char* kUpstreamRequestsEntry = "upstream_requests";
inline constexpr const char* kReadersEntry = "readers";

// database: DOWN DATABASE_STARTING (before the first connection).
void ReportDatabaseStarting(core::StatusBoard& board);
// database: OK.
void ReportDatabaseOk(core::StatusBoard& board);
// database: DOWN DATABASE_UNREACHABLE; `error` (English, no personal data) is the detail.
void ReportDatabaseUnreachable(core::StatusBoard& board, const std::string& error);
// database: DOWN MANAGED_POSTGRES_RESTARTING (the managed server stopped and is being restarted);
// `detail` is the supervisor's English text.
void ReportManagedDatabaseRestarting(core::StatusBoard& board, const std::string& detail);

// upstream: DISABLED UPSTREAM_NOT_CONFIGURED (no upstream.folder), not required for readiness.
void ReportUpstreamNotConfigured(core::StatusBoard& board);

// True unless the terminal is known not to answer: the upstream entry exists and is not OK
// (folder unreachable, or req/ not consumed). No entry (not reported yet): true.
bool UpstreamAnswering(const core::StatusBoard& board);

// readers: DISABLED READERS_NOT_CONFIGURED (readers.enabled is false).
void ReportReadersDisabled(core::StatusBoard& board);
// readers: DEGRADED PCSC_SERVICE_UNAVAILABLE "waiting for pcscd" (started, not connected yet).
void ReportReadersConnecting(core::StatusBoard& board);
// readers: OK when `service_available`, else DEGRADED PCSC_SERVICE_UNAVAILABLE "pcscd is not
// reachable; retrying" (pcscd missing or restarting recovers by itself).
void ReportReaders(core::StatusBoard& board, bool service_available);

}  // namespace onshid::app
