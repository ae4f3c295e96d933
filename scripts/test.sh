#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (what .ci/run runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MOESCOPE_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$build"
# GUI tests open real windows, so the suite runs inside a virtual X server.
# libgomp's default wait policy spins at every barrier; when other work
# shares the cores, each parallel region then waits for a descheduled
# thread (a demo-model `record` ran 5-10x slower). libgomp reads this before
# main, so it is set here; a value already in the environment wins.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec xvfb-run -a -s "-screen 0 1920x1200x24" ctest --output-on-failure "$@"
