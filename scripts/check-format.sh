#!/usr/bin/env bash
# Checks C++ formatting against the repository's .clang-format with
# Debian's clang-format: the files given, or else those changed since BASE
# (MOESCOPE_FORMAT_BASE, default HEAD~1). Prints the offending files and
# exits non-zero when any would change. `--fix` formats them instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  base=${MOESCOPE_FORMAT_BASE:-HEAD~1}
  mapfile -t files < <(git diff --name-only --diff-filter=AM "$base" -- '*.cpp' '*.h')
fi
[ ${#files[@]} -eq 0 ] && exit 0
if [ $fix = 1 ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
status=0
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (scripts/check-format.sh --fix $f)"
    status=1
  fi
done
exit $status
