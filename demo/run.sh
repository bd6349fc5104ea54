#!/usr/bin/env bash
# A one-command demonstration: builds readygate, starts a throwaway HTTP server on loopback after a
# delay, and lets readygate wait for it and then exec a command in its own place.
set -euo pipefail
cd "$(dirname "$0")/.."
# The first build compiles every dependency (2-4 minutes on two cores): say so, and let cargo show
# its progress, so that the wait does not look like a hang.
if [ ! -x target/release/readygate ]; then
  echo "demo: building readygate (cargo build --release: 2-4 minutes the first time)"
fi
cargo build --release
echo "demo: built target/release/readygate"
gate=target/release/readygate
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
echo "demo: an HTTP server will start on 127.0.0.1:$port in 2 seconds"
(sleep 2; exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1) &
server=$!
# The command after `--` replaces readygate (same PID) once the server answers 200.
"$gate" --timeout 15s "http://127.0.0.1:$port/" -- sh -c 'echo "demo: the command runs as PID $$ (readygate exec'"'"'d into it)"'
