#!/bin/sh
# Bundles the assets with webpack: the image's own webpack when it has one (Debian's package), else
# the project's, installed with npm from package.json (the official node image).
set -eu
cd "$(dirname "$0")/.."
if command -v webpack >/dev/null 2>&1; then
  exec webpack --config webpack.config.js "$@"
fi
[ -d node_modules ] || npm install --no-audit --no-fund
exec npx webpack --config webpack.config.js "$@"
