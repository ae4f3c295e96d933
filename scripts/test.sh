#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (what .ci/run runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MOESCOPE_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$build"
# GUI tests open real windows, so the suite runs inside a virtual X server.
exec xvfb-run -a -s "-screen 0 1920x1200x24" ctest --output-on-failure "$@"
