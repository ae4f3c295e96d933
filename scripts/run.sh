#!/usr/bin/env bash
# Sets up, builds and opens MoEScope on its bundled defaults.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MOESCOPE_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" --target moescope
exec "$build/moescope" "$@"
