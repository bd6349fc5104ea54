#!/bin/sh
# Writes link/startup.order: the functions one start-up runs, in the order callgrind first lists
# them, as hash-free keys (see startup-first.sh). Rerun when the start-up path changes much (a new
# crate version, a new first step); a stale entry costs nothing but its place, a missing one a page.
#
#   link/order.sh            # needs valgrind and the x86_64-unknown-linux-musl target
#
# The three paths: a target that is up and the command exec'd (a file execve(2) refuses, so that
# callgrind sees the whole path and still writes its profile), --check, and a refused port until a
# short deadline.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/readygate-order.XXXXXX")
trap 'kill "$listener" 2>/dev/null; rm -rf "$work"' EXIT
# Symbols kept, everything else as in the release build (names must be the release build's).
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --locked --quiet \
    --target x86_64-unknown-linux-musl --target-dir "$root/target/order" --manifest-path "$root/Cargo.toml"
bin=$root/target/order/x86_64-unknown-linux-musl/release/readygate
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True); sys.stdout.close()
while True: s.accept()[0].close()
' > "$work/port" &
listener=$!
while [ ! -s "$work/port" ]; do sleep 0.05; done
port=$(cat "$work/port")
printf 'not a program\n' > "$work/refused"
chmod +x "$work/refused"
n=0
for args in "-q tcp://127.0.0.1:$port -- $work/refused" "-q --check tcp://127.0.0.1:$port" \
            "-q -t 300ms tcp://127.0.0.1:1 -- $work/refused"; do
    n=$((n + 1))
    # shellcheck disable=SC2086 # the arguments are split on purpose
    valgrind -q --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$work/$n.out" "$bin" $args 2>/dev/null || true
done
{
    echo "# The functions a start-up runs, as callgrind lists them (link/order.sh wrote this; link/startup-first.sh reads it)."
    cat "$work"/*.out | sed -n 's/^c\{0,1\}fn=//p' | grep -v '^0x\|^(' | "$root/link/startup-first.sh" --keys | awk '!seen[$0]++'
} > "$root/link/startup.order"
echo "link/startup.order: $(grep -vc '^#' "$root/link/startup.order") functions"
