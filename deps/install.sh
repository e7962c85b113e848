#!/usr/bin/env bash
# Installs the Debian packages listed in deps/packages.txt that are not installed yet: those of every section, or,
# given section names ("deps/install.sh build unit"), only those of the named sections ("# --- name ---" lines).
# Runs apt-get as root, or through sudo otherwise. Safe to run again: it does nothing when
# everything is present. Node.js counts as present when a `node` >= 18 is already on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

want=()
section=""
sections=" "
while read -r line; do
    if [[ $line =~ ^#\ ---\ ([a-z]+) ]]; then
        section=${BASH_REMATCH[1]}
        sections+="$section "
        continue
    fi
    if [ $# -gt 0 ] && [[ " $* " != *" $section "* ]]; then
        continue
    fi
    pkg=${line%%#*}
    pkg=$(echo "$pkg" | tr -d '[:space:]')
    [ -n "$pkg" ] || continue
    if [ "$pkg" = nodejs ] && command -v node >/dev/null 2>&1; then
        major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
        [ "$major" -ge 18 ] && continue
    fi
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        want+=("$pkg")
    fi
done <"$here/packages.txt"
for s in "$@"; do
    [[ $sections == *" $s "* ]] || { echo "deps: no section '$s' in packages.txt (have:$sections)" >&2; exit 2; }
done

[ ${#want[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install: ${want[*]}" >&2; exit 1; }
    sudo=sudo
fi
echo "deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
