#!/usr/bin/env bash
# Fails if any C source or header under src/ or tests/ is not clang-formatted per .clang-format.
set -euo pipefail
cd "$1"
files=$(git ls-files -co --exclude-standard -- 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 2>/dev/null ||
    find src tests -name '*.[ch]')
bad=0
for f in $files; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
[ $bad -eq 0 ] && echo "format: all files clean"
exit $bad
