#!/bin/sh
# The image's HEALTHCHECK: GET /readyz (200 only while this parleyd's Redis answers) with curl, which costs the image
# little since parleyd already needs libcurl. The URL is PARLEY_HEALTHCHECK_URL when set; otherwise the first
# cleartext listener of PARLEY_LISTEN ("8080", "0.0.0.0:8080", "[::]:8080"), and port 8080 without either, as in
# /etc/parley/parley.yaml. A wildcard address is probed on loopback.
set -eu
url=${PARLEY_HEALTHCHECK_URL:-}
if [ -z "$url" ]; then
    first=${PARLEY_LISTEN:-8080}
    first=${first%%,*}
    case $first in
    \[*\]:*) host=${first%:*} port=${first##*:} ;;
    *:*) host=${first%:*} port=${first##*:} ;;
    *) host=127.0.0.1 port=$first ;;
    esac
    case $host in
    "" | 0.0.0.0) host=127.0.0.1 ;;
    "[::]") host="[::1]" ;;
    esac
    url="http://$host:$port/readyz"
fi
exec curl --silent --show-error --fail --max-time 4 --output /dev/null "$url"
