#!/usr/bin/env bash
# readygate built with only some of its protocols (cargo features): the static x86-64 release
# binary that the images ship, one build per set of features, and a Markdown table of their sizes
# (docs/performance.md shows it).
#
#   bench/sizes.sh                 the CI sets: nothing optional, TLS only (TCP + HTTP(S)), all
#   bench/sizes.sh --each          also TLS plus each protocol alone (what each one costs)
#   bench/sizes.sh --build SET     builds one set and prints its binary's path (the tests use it);
#                                  SET is none, all, or features joined by + (tls+postgres)
#
# Binaries: target/features/SET/readygate. The builds share one target directory (the crates they
# have in common are compiled once) and a lock, so that two runs on one machine do not overwrite
# each other's binary between the build and the copy.
set -euo pipefail
cd "$(dirname "$0")/.."
triple=x86_64-unknown-linux-musl
dir=target/features
mkdir -p "$dir"

features_of() { # set name → cargo feature arguments
  case "$1" in
    none) echo "--no-default-features" ;;
    all) echo "" ;;
    *[!a-z+-]*|+*|*+) echo "bench/sizes.sh: a set is none, all, or features joined by + (tls+postgres), not '$1'" >&2; return 2 ;;
    *) echo "--no-default-features --features ${1//+/,}" ;;
  esac
}

build() { # set name → target/features/SET/readygate
  local set=$1 args
  args=$(features_of "$set") || return 2
  (
    flock 9
    # shellcheck disable=SC2086 # the feature arguments are words
    cargo build --locked --quiet --release --target "$triple" --target-dir "$dir" $args >&2
    mkdir -p "$dir/$set"
    cp "$dir/$triple/release/readygate" "$dir/$set/readygate.new"
    mv "$dir/$set/readygate.new" "$dir/$set/readygate"
  ) 9>"$dir/.lock"
  echo "$dir/$set/readygate"
}

if [ "${1:-}" = --build ]; then
  build "${2:?--build needs a set: none, all, or features joined by + (tls+postgres)}"
  exit
fi

sets=(none tls)
if [ "${1:-}" = --each ]; then
  for f in postgres mysql redis grpc amqp nats mqtt memcached exec-check; do sets+=("tls+$f"); done
fi
sets+=(all)
echo "| build (cargo features) | what it waits for | bytes | MiB |"
echo "|---|---|---:|---:|"
for set in "${sets[@]}"; do
  bin=$(build "$set")
  bytes=$(stat -c %s "$bin")
  case "$set" in
    none) what="TCP, HTTP, files, unix sockets" ;;
    tls) what="the same and HTTPS" ;;
    all) what="every kind of target (the default build)" ;;
    *) what="TCP, HTTP(S) and ${set#tls+}" ;;
  esac
  shown=$(features_of "$set")
  echo "| \`${shown:-default}\` | $what | $bytes | $(awk "BEGIN{printf \"%.2f\", $bytes/1048576}") |"
done
