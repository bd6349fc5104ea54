#!/usr/bin/env bash
# Makes the base image `readygate-e2e-pgbase:15`: a minimal Debian root filesystem with PostgreSQL
# 15 (debootstrap from Debian's package archive), slimmed and imported into Docker. Cached: an
# existing image is kept, and the tarball in $CACHE is reused, so only the first run pays.
# Two test runs at once share the cache: a lock makes the second wait for the first's base image.
set -euo pipefail
image=readygate-e2e-pgbase:15
cache=${READYGATE_E2E_CACHE:-/var/cache/readygate-e2e}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
tarball="$cache/postgres15-rootfs.tar"
if [ ! -s "$tarball" ]; then
  mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=postgresql-15 bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # The package's own cluster is not used (the entrypoint runs initdb).
  rm -rf "$rootfs"/var/lib/postgresql/15 "$rootfs"/etc/postgresql/15 \
         "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale \
         "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi
docker import "$tarball" "$image" >/dev/null
