#!/usr/bin/env bash
# Prints the path of a minimal Debian bookworm root filesystem as a tarball (debootstrap from
# Debian's archive, no docs, no daemons started by package scripts), made once and cached in
# $READYGATE_E2E_CACHE (default /var/cache/readygate-e2e) under a lock. Used for the Django
# example's base images and as a clean root to install the Debian package into.
set -euo pipefail
cache=${READYGATE_E2E_CACHE:-/var/cache/readygate-e2e}
mkdir -p "$cache"
tarball="$cache/bookworm-minbase.tar"
exec 8>"$cache/.bookworm-rootfs.lock"
flock 8
if [ ! -s "$tarball" ]; then
  mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap-bookworm.log" 2>&1 ||
    { tail -20 "$cache/debootstrap-bookworm.log" >&2; exit 1; }
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    > "$rootfs/etc/dpkg/dpkg.cfg.d/01-nodoc"
  rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi
echo "$tarball"
