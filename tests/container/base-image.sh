#!/usr/bin/env bash
# Makes the base image docker/Dockerfile starts FROM, debian:bookworm-slim, without a registry: debootstrap
# (minbase variant) from the Debian mirror this machine uses, trimmed like the official slim image (no docs, man
# pages, locales or apt lists), imported into podman's store as localhost/debian:bookworm-slim, which the short
# name in FROM resolves to with --pull=never. Does nothing when podman already has debian:bookworm-slim, so only
# the first run pays for debootstrap. A lock keeps two test runs from building it at once.
# Environment: PARLEY_DEBIAN_MIRROR overrides the mirror; CONTAINERS_CONF is passed through to podman.
set -euo pipefail
tag=localhost/debian:bookworm-slim

exec 9>/var/tmp/parley-base-image.lock
flock 9
if podman image exists debian:bookworm-slim; then
    exit 0
fi

mirror=${PARLEY_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/parley-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
start=$SECONDS
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
}
echo "base-image: debootstrap from $mirror took $((SECONDS - start)) s" >&2

# What the official slim image leaves out, and the same apt sources as this machine (updates and security too).
rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
if [ -f /etc/apt/sources.list.d/debian.sources ] && [ -z "${PARLEY_DEBIAN_MIRROR:-}" ]; then
    rm -f "$rootfs/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
fi

start=$SECONDS
tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "base-image: imported $tag in $((SECONDS - start)) s" >&2
