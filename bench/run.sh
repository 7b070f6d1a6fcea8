#!/usr/bin/env bash
# Runs every benchmark with modest defaults (about 3–4 minutes on 2 cores) and prints their tables.
#
#   bench/run.sh [--no-build]        (as root; the daemon starts its managed PostgreSQL)
#
# Builds first with ./deploy/build.sh (incremental; the bench programs are not part of `all`).
# Sizes can be changed through the environment:
#   FACE_FILES (1000)  QUERIES (200)  CLIENTS (8)  LOAD_SECONDS (10)  CARD_READS (200)
#   CARD_INSERTS (20)  ONSHID_BUILD_DIR (build)
# Nothing is asserted: each program compares against a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ONSHID_BUILD_DIR:-build}
[[ $(id -u) -eq 0 ]] || { echo "run as root (managed PostgreSQL runs as an unprivileged user)" >&2; exit 1; }

if [[ ${1:-} != --no-build ]]; then
  ONSHID_BUILD_DIR=$build ./deploy/build.sh onshid onshictl oqs-terminal-sim face_latency query_overhead card_read
fi
for b in "$build/bench/face_latency" "$build/bench/query_overhead" "$build/bench/card_read" \
         "$build/daemon/onshid"; do
  [[ -x $b ]] || { echo "missing $b: run without --no-build" >&2; exit 1; }
done

status=0
echo "== startup.sh"
./bench/startup.sh "$build" || status=1
echo
echo "== face_latency"
"$build/bench/face_latency" --files "${FACE_FILES:-1000}" || status=1
echo
echo "== query_overhead"
"$build/bench/query_overhead" --queries "${QUERIES:-200}" --clients "${CLIENTS:-8}" \
  --seconds "${LOAD_SECONDS:-10}" || status=1
echo
echo "== card_read"
"$build/bench/card_read" --reads "${CARD_READS:-200}" --inserts "${CARD_INSERTS:-20}" || status=1
exit $status
