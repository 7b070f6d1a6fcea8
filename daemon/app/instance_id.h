#pragma once
// The daemon instance's stable identity (issue 11): the owner recorded on every upstream journal
// entry, so that several daemons sharing one database — each with its own terminal folder — each
// recover only their own requests after a restart.
//
// It is "<random>-<folder hash>": a random part created once and kept in
// `state_dir`/instance_id (so it survives restarts and upgrades), and the first 8 hex digits of the
// SHA-256 of the terminal folder's path. Pointing the same state_dir at another terminal folder
// therefore makes another instance: requests written into the old folder are never awaited in the
// new one.

#include <string>

#include "core/error.h"

namespace onshid::app {

// Reads (or, on first start, creates with mode 0600) `state_dir`/instance_id and combines it with
// `upstream_folder`. Errors: STATE_DIR_UNUSABLE naming the file when it cannot be read or written.
core::Result<std::string> LoadInstanceId(const std::string& state_dir,
                                         const std::string& upstream_folder);

}  // namespace onshid::app
