#!/usr/bin/env bash
# Builds the base images the Django example needs, for machines with no registry: a Debian
# bookworm root filesystem (../bookworm-rootfs.sh), imported once, and one image per service
# derived from it with Debian's packages. Prints "NAME=IMAGE" lines for the Makefile's
# variables. Cached: the rootfs tarball in $CACHE, the images by tag (a hash of this folder, so a
# change to a recipe rebuilds), and Docker's layer cache. Two runs at once share the cache under a
# lock.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${READYGATE_E2E_CACHE:-/var/cache/readygate-e2e}
mkdir -p "$cache"
exec 9>"$cache/.django-bases.lock"
flock 9

# The machine's own certificate authorities (a TLS-inspecting proxy's, as here) go into the Python
# base, so that `pip install` in an image reaches PyPI as the host's pip does.
local_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${local_cas[0]}" ] || local_cas=()
tag=$(cat "$here"/* "$here/../bookworm-rootfs.sh" "${local_cas[@]}" | sha256sum | cut -c1-12)
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here"/* "$context/"
mkdir "$context/local-ca"
[ ${#local_cas[@]} -eq 0 ] || cp "${local_cas[@]}" "$context/local-ca/"
base=readygate-e2e-bookworm:$tag
if ! docker image inspect "$base" >/dev/null 2>&1; then
  tarball=$(bash "$here/../bookworm-rootfs.sh")
  docker import -c 'CMD ["/bin/bash"]' "$tarball" "$base" >/dev/null
fi

build() { # name dockerfile
  local image="readygate-e2e-$1:$tag"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    docker build -q --force-rm --build-arg BASE="$base" -f "$context/$2" -t "$image" "$context" >/dev/null
  fi
  echo "$image"
}
# In parallel: node (nodejs + webpack) is the longest.
for pair in PYTHON_IMAGE:python NGINX_IMAGE:nginx REDIS_IMAGE:redis NODE_IMAGE:node POSTGRES_IMAGE:postgres; do
  var=${pair%%:*} name=${pair#*:}
  build "$name" "$name.Dockerfile" > "$cache/.image-$name" &
done
wait
for pair in PYTHON_IMAGE:python NGINX_IMAGE:nginx REDIS_IMAGE:redis NODE_IMAGE:node POSTGRES_IMAGE:postgres; do
  var=${pair%%:*} name=${pair#*:}
  image=$(cat "$cache/.image-$name")
  [ -n "$image" ] || { echo "building the $name base failed" >&2; exit 1; }
  echo "$var=$image"
done
