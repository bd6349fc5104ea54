#!/bin/bash
# What each protocol costs in the static binary: the release musl build of one commit, then the
# same build with one protocol's attempt cut out (the compiler then drops its code and every crate
# only it uses). Prints "NAME BYTES" lines; the first is the whole binary.
#   bench/protocol-sizes.sh [COMMIT]      (default HEAD; a few minutes: one build per row)
set -u
commit=${1:-HEAD}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$(cd "$(dirname "$0")/.." && pwd)
build() { # name, sed expressions...
  name=$1; shift
  rm -rf "$work/tree" && mkdir "$work/tree"
  (cd "$repo" && git archive "$commit") | tar -x -C "$work/tree"
  for e in "$@"; do
    cp "$work/tree/src/probe/mod.rs" "$work/before.rs"
    sed -i "$e" "$work/tree/src/probe/mod.rs"
    # A cut that matches nothing would report the whole binary as that protocol's: refuse.
    if cmp -s "$work/before.rs" "$work/tree/src/probe/mod.rs"; then
      echo "protocol-sizes: '$e' matched nothing in src/probe/mod.rs" >&2; exit 1
    fi
  done
  (cd "$work/tree" && cargo build -q --release --target x86_64-unknown-linux-musl \
     --target-dir "$repo/target/protocol-sizes" 2>"$work/log") || { cat "$work/log" >&2; exit 1; }
  echo "$name $(stat -c %s "$repo/target/protocol-sizes/x86_64-unknown-linux-musl/release/readygate")"
}
cut() { echo "s/Probe::$1($2) => $2.attempt().await/Probe::$1(_) => Verdict::cheap(\"\")/"; }
build all
build mysql "$(cut Mysql m)"
build amqp "$(cut Amqp a)"
build memcached "$(cut Memcached m)"
build nats "$(cut Nats n)"
build mqtt "$(cut Mqtt m)"
build grpc "$(cut Grpc g)"
build exec-check "$(cut Command c)"
build redis+sentinel "$(cut Redis r)" "$(cut Sentinel s)"
build postgres "$(cut Postgres p)"
