#!/usr/bin/env bash
# Fails if src/ calls a banned function (STYLE.md, after curl): sprintf strcpy strcat strtok atoi gets.
set -euo pipefail
cd "$1"
if grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)\s*\(' src --include='*.c' --include='*.h'; then
    echo "banned functions found (use snprintf, memcpy with lengths, strtol...)"
    exit 1
fi
echo "banned: none found"
