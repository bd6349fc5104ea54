#!/usr/bin/env bash
# Builds the readygate image and loads it into the local Docker Engine, under the name the examples
# use (readygate:latest, or the name given), with no registry: the static x86-64 binary is built
# here (Rust and its musl target) and copied into a FROM-scratch image.
#
#   docker/image.sh [NAME]
#
# The build context is a directory holding the binary alone (3 MB), not target/ (gigabytes).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-readygate:latest}
triple=x86_64-unknown-linux-musl
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$triple"; then
  echo "image: adding the Rust target $triple"
  rustup target add "$triple"
fi
echo "image: building the static binary (cargo build --release --target $triple; a few minutes the first time)"
cargo build --release --locked --target "$triple"
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "${CARGO_TARGET_DIR:-target}/$triple/release/readygate" "$context/"
docker build -q -f docker/prebuilt.Dockerfile -t "$name" "$context" >/dev/null
echo "image: $name ($(du -h "$context/readygate" | cut -f1) binary) is in the local Docker Engine; use it with COPY --from=$name /readygate /usr/local/bin/readygate"
