#!/usr/bin/env bash
# Configures and builds MoEScope into build/ (Release, Ninja, ccache).
# Extra arguments are passed to the build step, e.g. `--target moescope`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MOESCOPE_BUILD_DIR:-$root/build}
# Paths under the checkout are hashed relative to it, so a fresh clone in
# another folder (as CI makes) reuses the compiler cache of earlier builds.
export CCACHE_BASEDIR="$root"
export CCACHE_NOHASHDIR=1
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
# libtorch translation units need 1-1.6 GB each; two jobs fit every machine we use.
cmake --build "$build" -j "${MOESCOPE_JOBS:-2}" "$@"
