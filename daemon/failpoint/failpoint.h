#pragma once
// Failpoints: named crash (or delay) points at the daemon's durable steps, for the integration
// tests that kill the daemon at each step and check what a restart recovers (issue 11).
//
// Compiled in only when the build sets ONSHID_FAILPOINTS=1 (deploy/build.sh does for development
// and test builds; release packages build without): otherwise ONSHID_FAILPOINT(name) is nothing.
// When compiled in, a failpoint costs one relaxed atomic load unless the environment variable
// ONSHID_FAILPOINT is set at start-up. Its value is a comma-separated list of
//   <name>[@<n>][%<k>][=<action>]
// where <name> is a failpoint name (see Names below), @n acts on the n-th hit only (default: the
// first), %k acts on every k-th hit instead, and <action> is "kill" (default: the process sends
// itself SIGKILL, like a power cut) or "sleep:<ms>" (the thread pauses, e.g. to hold a transaction
// open). Example: ONSHID_FAILPOINT=journal.after_rename@3,store.before_commit%4=sleep:200
//
// Names (each at a durable step; tests/integration/crash_test.cc kills the daemon at each):
//   journal.after_record     a request is journalled; nothing is written to req/ yet
//   request.after_temp       its temp file is written and synced in req/; not renamed
//   request.after_rename     renamed into req/ (journal: WRITING); WRITTEN not recorded yet
//   request.after_written    WRITTEN recorded
//   result.after_store       a result/rejection is stored with its journal completion and events;
//                            the file is still in res/
//   face.after_store         a face file is stored with its event; still in face/
//   archive.after_move       a file was moved into the archive
//   event.before_commit      a transaction holding events is about to commit (PgStore)
//   checkin.after_write      a check-in change is committed; nothing after it has run
//   case.after_write         a fallback case change is committed
//   audit.after_attempt      a write call's audit row (ATTEMPTED) is written; the use case has not run
//   call.after_use_case      a write call's use case finished; its outcome is not recorded yet
//
// Thread-safe.

#include <string_view>

namespace onshid::failpoint {

// Runs the action configured for `name`, if any (see above).
void Hit(std::string_view name);

// True when failpoints are compiled in and ONSHID_FAILPOINT names at least one.
bool Active();

}  // namespace onshid::failpoint

#if defined(ONSHID_FAILPOINTS) && ONSHID_FAILPOINTS
#define ONSHID_FAILPOINT(name) ::onshid::failpoint::Hit(name)
#else
#define ONSHID_FAILPOINT(name) ((void)0)
#endif
