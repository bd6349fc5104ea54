#!/bin/sh
# The x86-64 static build's linker: the C compiler, as by default, but with ld.lld told to lay out
# first, side by side, the functions that one start-up runs (link/startup.order), so that the few
# hundred KiB of code a start touches share a few 64 KiB windows instead of being spread over the
# whole text (the kernel maps a 64 KiB window around every page fault of a file mapping, and those
# pages count in the process's RSS). Measured in bench/ (Start-up: peak RSS).
#
# link/startup.order names each function without the hashes that change from build to build (a
# crate's disambiguator `Cs…_`, a back-reference `B…_`, a legacy `17h…E`): the names are matched
# against the objects being linked, and the exact names go to ld.lld. Without ld.lld (Debian's lld),
# or with nothing matched, the link is the plain one: the order changes memory, never behaviour.
set -u
here=$(dirname "$0")
# `startup-first.sh --keys`: names on stdin, their hash-free keys on stdout (link/order.sh).
keys='
    function key(n) {
        if (n ~ /^_R/) { gsub(/Cs[0-9A-Za-z]*_/, "Cs*_", n); gsub(/B[0-9A-Za-z]*_/, "B*_", n) }
        else if (n ~ /^_ZN/) { sub(/17h[0-9a-f]+E$/, "17h*E", n) }
        return n
    }'
if [ "${1:-}" = --keys ]; then
    exec awk "$keys"' { print key($0) }'
fi
cc=cc
command -v ld.lld >/dev/null 2>&1 || exec "$cc" "$@"
[ -r "$here/startup.order" ] || exec "$cc" "$@"
objects=
for a in "$@"; do
    case $a in *.o) objects="$objects $a" ;; esac
done
order=$(mktemp "${TMPDIR:-/tmp}/readygate-order.XXXXXX") || exec "$cc" "$@"
trap 'rm -f "$order"' EXIT
# shellcheck disable=SC2086 # the object list is split on purpose (paths without spaces: cargo's)
nm --defined-only -P $objects 2>/dev/null | awk -v wanted="$here/startup.order" "$keys"'
    BEGIN { while ((getline line < wanted) > 0) if (line !~ /^(#|$)/ && !(line in rank)) rank[line] = ++n }
    $2 ~ /^[Tt]$/ { k = key($1); if (k in rank) print rank[k], $1 }
' | sort -n -k1,1 | cut -d' ' -f2 > "$order"
[ -s "$order" ] || { rm -f "$order"; exec "$cc" "$@"; }
"$cc" -fuse-ld=lld -Wl,--symbol-ordering-file="$order" -Wl,--no-warn-symbol-ordering "$@"
