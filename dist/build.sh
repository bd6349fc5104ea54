#!/usr/bin/env bash
# Release artifacts in one command:
#   dist/build.sh [OUT]        (default OUT: target/dist)
# builds the static binaries for x86-64, arm64 and armv7 (musl), each carrying its dependency list
# (cargo-auditable) and with an SBOM beside it (CycloneDX, dist/sbom.py), the man page and
# completions, a Debian package per architecture (cargo-deb), a multi-architecture OCI image
# archive (buildah) with each image's SBOM attached as an OCI referrer, and SHA256SUMS. Needs
# (Debian): gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross
# libc6-dev-armhf-cross buildah python3, the armhf musl-dev (fetched here with `apt-get download`),
# cargo-deb and cargo-auditable (`cargo install --locked cargo-deb cargo-auditable`), and the Rust
# targets below.
#
# Reproducible: two runs of one commit, in any directory, at any time, give byte-identical binaries,
# .deb files and SBOMs (paths are remapped, times come from the commit: SOURCE_DATE_EPOCH).
#
# Parts can be chosen with DIST_PARTS (default "bin deb oci sums"), architectures with DIST_TRIPLES
# (default: all three).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root/target/dist}
parts=${DIST_PARTS:-bin deb oci sums}
mkdir -p "$out"
has() { [[ " $parts " == *" $1 "* ]]; }

# The three targets, and the name each architecture has for Debian and for OCI.
read -r -a triples <<<"${DIST_TRIPLES:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf}"

# No trace of where or when it was built: the checkout, cargo's home and the toolchain are
# remapped to fixed names in the panic locations and file names the binary holds, and every time
# stamp (the .deb's files, the SBOM) is the commit's.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
sysroot=$(rustc --print sysroot)
remap=("--remap-path-prefix=$root=/readygate" "--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
       "--remap-path-prefix=$sysroot=/rustc-sysroot")
command -v cargo-auditable >/dev/null || {
  echo "dist: cargo-auditable is missing: cargo install --locked cargo-auditable" >&2
  exit 1
}
debarch() { case $1 in x86_64*) echo amd64;; aarch64*) echo arm64;; armv7*) echo armhf;; esac; }
ociarch() { case $1 in x86_64*) echo amd64;; aarch64*) echo arm64;; armv7*) echo armv7;; esac; }

# armv7 musl has no prebuilt std for this toolchain: std is built from source (rust-src) and
# linked against Debian's armhf musl, with gcc's unwinder standing in for libunwind.
armv7_sysroot() {
  local dir=$root/target/armhf-musl
  mkdir -p "$dir"
  # Two builds at once share it: one prepares it while the other waits.
  exec 7>"$dir.lock"
  flock 7
  if [ ! -e "$dir/usr/lib/arm-linux-musleabihf/libc.a" ]; then
    mkdir -p "$dir"
    local deb
    deb=$(cd "$dir" && apt-get download musl-dev:armhf musl:armhf >/dev/null 2>&1 && ls musl-dev_*armhf.deb) || {
      echo "dist: cannot download musl-dev:armhf (run as root: dpkg --add-architecture armhf && apt-get update)" >&2
      return 1
    }
    for d in "$dir"/*.deb; do dpkg-deb -x "$d" "$dir"; done
  fi
  local gcc_dir
  gcc_dir=$(dirname "$(arm-linux-gnueabihf-gcc -print-libgcc-file-name)")
  mkdir -p "$dir/unwind"
  cp "$gcc_dir/libgcc_eh.a" "$dir/unwind/libunwind.a"
  echo "-L $dir/usr/lib/arm-linux-musleabihf -L $gcc_dir -L $dir/unwind"
}

build() { # triple
  local t=$1
  case $t in
    armv7-*)
      rustup component add rust-src >/dev/null 2>&1 || true
      local flags
      flags=$(armv7_sysroot)
      RUSTC_BOOTSTRAP=1 RUSTFLAGS="$flags ${remap[*]}" cargo auditable build --release --locked \
        -Zbuild-std=std,panic_abort --target "$t" --target-dir "$root/target/cross"
      ;;
    *)
      rustup target add "$t" >/dev/null 2>&1 || true
      # Added to the target's rustflags of .cargo/config.toml (RUSTFLAGS would replace them).
      local list
      list=$(printf '"%s",' "${remap[@]}")
      cargo auditable build --release --locked --target "$t" --target-dir "$root/target/cross" \
        --config "target.$t.rustflags=[${list%,}]"
      ;;
  esac
  cp "$root/target/cross/$t/release/readygate" "$out/readygate-$t"
}

if has bin; then
  mkdir -p "$root/target"
  cargo metadata --locked --format-version 1 >"$root/target/dist-metadata.json"
  for t in "${triples[@]}"; do
    echo "dist: building $t"
    build "$t"
    python3 "$root/dist/sbom.py" "$out/readygate-$t" --metadata "$root/target/dist-metadata.json" \
      >"$out/readygate-$t.cdx.json"
  done
fi

if has deb; then
  echo "dist: man page and completions"
  cargo run -q --locked --example assets -- "$root/target/assets" >/dev/null
  for t in "${triples[@]}"; do
    echo "dist: Debian package for $t"
    mkdir -p "$root/target/cross/$t/release"
    cp "$out/readygate-$t" "$root/target/cross/$t/release/readygate"
    CARGO_TARGET_DIR=$root/target/cross cargo deb --no-build --no-strip --target "$t" \
      --output "$out/" >/dev/null
  done
fi

if has oci; then
  echo "dist: OCI image archive (three architectures)"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  for t in "${triples[@]}"; do
    a=$(ociarch "$t")
    case $a in armv7) dir=armv7;; *) dir=$a;; esac
    mkdir -p "$ctx/$dir"
    cp "$out/readygate-$t" "$ctx/$dir/readygate"
  done
  cp docker/multiarch.Containerfile "$ctx/Containerfile"
  # (buildah warns that TARGETVARIANT is unset for amd64 and arm64, which have none.)
  version=$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)
  list=readygate-dist-$$
  buildah manifest rm "$list" >/dev/null 2>&1 || true
  buildah build --quiet --platform linux/amd64,linux/arm64,linux/arm/v7 --manifest "$list" \
    -f "$ctx/Containerfile" "$ctx" >/dev/null 2>"$ctx/build.log" || { cat "$ctx/build.log" >&2; exit 1; }
  rm -f "$out/readygate-oci.tar"
  buildah manifest push --quiet --all "$list" "oci-archive:$out/readygate-oci.tar:readygate:$version" >/dev/null
  buildah manifest rm "$list" >/dev/null 2>&1 || true
  # Each image's SBOM, attached as an OCI referrer (an artifact manifest whose subject is it).
  python3 "$root/dist/oci_sbom.py" "$out/readygate-oci.tar" "$out"
fi

if has sums; then
  (cd "$out" && rm -f SHA256SUMS && sha256sum -- * > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
fi
ls -l "$out"
