#!/usr/bin/env bash
# clang-format (the repository's .clang-format) over every C/C++ file git tracks.
#   scripts/format.sh          rewrite the files in place
#   scripts/format.sh --check  change nothing; list the files that differ and exit 1 (scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG_FORMAT="${CLANG_FORMAT:-clang-format-14}"
mapfile -t files < <(git ls-files '*.c' '*.cpp' '*.h' '*.hpp')

if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    "$CLANG_FORMAT" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    printf 'format: %s differs from .clang-format\n' "${bad[@]}" >&2
    echo "format: run scripts/format.sh to fix ${#bad[@]} file(s)" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files match .clang-format"
else
  "$CLANG_FORMAT" -i "${files[@]}"
fi
