#!/usr/bin/env bash
# Shared by demo.sh and test.sh: installs dependencies and builds into ./build with Ninja (and
# ccache when present). Extra arguments are passed to ninja as targets.
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh

build_dir=${ONSHID_BUILD_DIR:-build}
# Failpoints (daemon/failpoint) are compiled into development and test builds; release packages
# set ONSHID_FAILPOINTS=OFF.
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=${ONSHID_BUILD_TYPE:-RelWithDebInfo} -DONSHID_WERROR=ON
            -DONSHID_FAILPOINTS=${ONSHID_FAILPOINTS:-ON})
if [[ ${ONSHID_SANITIZE:-0} == 1 ]]; then cmake_args+=(-DONSHID_SANITIZE=ON); fi
cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
# 2 cores, ~1.5 GB per compiler process at most: two jobs.
ninja -C "$build_dir" -j "${ONSHID_JOBS:-2}" "$@"
