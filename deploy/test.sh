#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (unit, integration against real
# PostgreSQL and the real daemon binary, deployment checks) through ctest.
# Exits non-zero when anything fails. Must run as root on a fresh machine (to install packages).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/build.sh
build_dir=${ONSHID_BUILD_DIR:-build}
# The benchmarks are not run here, only compiled, so that they keep up with the code they measure.
if ninja -C "$build_dir" -t targets all | grep -q '^benchmarks:'; then
  ./deploy/build.sh benchmarks
fi
# Unit tests may run in parallel; integration tests are marked RUN_SERIAL.
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j 2 "$@"
