#!/bin/sh
# Creates a self-signed certificate for local development over TLS, next to this script:
#   dev-cert.pem  the certificate (CN=localhost, SAN DNS:localhost and IP:127.0.0.1)
#   dev-key.pem   its EC P-256 private key, mode 0600
# Use them in a TLS listener (see the commented example in conf/parley.yaml). Browsers warn about
# a self-signed certificate; tests pass it as a trusted CA or ignore certificate errors.
#
# Usage: conf/make-dev-cert.sh [--force]
# Without --force it refuses to replace existing files.
set -eu

usage() {
    echo "usage: $0 [--force]" >&2
    exit 2
}

force=0
case $# in
0) ;;
1) [ "$1" = "--force" ] || usage; force=1 ;;
*) usage ;;
esac

dir=$(cd "$(dirname "$0")" && pwd)
cert="$dir/dev-cert.pem"
key="$dir/dev-key.pem"

if [ "$force" -eq 0 ] && { [ -e "$cert" ] || [ -e "$key" ]; }; then
    echo "$0: $cert or $key already exists; use --force to replace them" >&2
    exit 1
fi

command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found" >&2; exit 1; }

# Write to temporary files first and rename at the end, so a failure never leaves a half-made pair.
# umask 077 makes the key 0600 from the moment it exists.
umask 077
tmpkey=$(mktemp "$dir/.dev-key.XXXXXX")
tmpcert=$(mktemp "$dir/.dev-cert.XXXXXX")
trap 'rm -f "$tmpkey" "$tmpcert"' EXIT

# A leaf certificate (CA:FALSE, serverAuth), valid for 825 days: the most Apple platforms accept.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc \
    -keyout "$tmpkey" -out "$tmpcert" -days 825 -sha256 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth" ||
    { echo "$0: openssl failed" >&2; exit 1; }

chmod 0600 "$tmpkey"
chmod 0644 "$tmpcert"
mv -f "$tmpkey" "$key"
mv -f "$tmpcert" "$cert"
trap - EXIT
echo "wrote $cert and $key"
