#!/usr/bin/env bash
# The package as a user without a C++ toolchain gets it. `npm pack` (prepack makes the
# linux-x64 prebuild), then the tarball installed into fresh folders by npm running under a
# PATH that holds node and nothing else (no g++, cc, make, python3) and with
# npm_config_build_from_source unset: once with the install script (it must load the
# prebuild, not compile), once with --ignore-scripts (node-gyp-build loads the prebuild at
# first use), and once with the prebuild removed (install still succeeds, the js backend
# runs and engine.fallbackReason says why). Runs on whatever `node` is first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

npm_cli=$(readlink -f "$(command -v npm)")
work=$(mktemp -d "${TMPDIR:-/tmp}/ringleader-install-XXXXXX")
trap 'rm -rf "$work"' EXIT

# A bin folder with node and sh (npm runs lifecycle scripts through it) and nothing else.
mkdir "$work/bin"
ln -s "$(readlink -f "$(command -v node)")" "$work/bin/node"
ln -s "$(readlink -f /bin/sh)" "$work/bin/sh"
for tool in g++ c++ cc gcc clang make python3; do
  if PATH="$work/bin" command -v "$tool" >/dev/null; then echo "install-test: $tool is reachable" >&2; exit 1; fi
done
echo "install-test: Node $(node --version), PATH=$work/bin: node and sh only (no compiler, make or python)"

tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
prebuild=$(tar -tzf "$tarball" | grep '^package/prebuilds/linux-x64/.*\.node$' || true)
[ -n "$prebuild" ] || { echo "install-test: no prebuild in $tarball" >&2; exit 1; }
echo "install-test: packed $(basename "$tarball") with $prebuild"

# npm and node as a user's shell would start them, minus the toolchain: this environment
# (HOME and its .npmrc, certificate settings) but PATH, and none of the npm_* variables a
# parent npm script exports (npm_config_build_from_source among them).
mapfile -t npm_vars < <(compgen -e | grep -i '^npm_' || true)
unset_npm=()
for v in "${npm_vars[@]}"; do unset_npm+=(-u "$v"); done
bare() { env "${unset_npm[@]}" PATH="$work/bin" "$@"; }

install_into() {  # folder, extra npm flags...
  local dir=$1
  shift
  mkdir "$dir"
  echo '{ "private": true, "type": "module" }' > "$dir/package.json"
  (cd "$dir" && bare node "$npm_cli" install --no-audit --no-fund --loglevel=warn --foreground-scripts "$@" "$tarball")
}

# Prints what Engine.open() gave, as JSON, from inside the installed app.
engine_of() {
  (cd "$1" && bare node --input-type=module -e "
    import { existsSync } from 'node:fs';
    import { Engine } from 'ringleader';
    const engine = await Engine.open();
    const bytes = await engine.readFile('package.json');
    console.log(JSON.stringify({ backend: engine.backend, fallbackReason: engine.fallbackReason ?? null,
      compiled: existsSync('node_modules/ringleader/build/Release/ringleader.node'), read: bytes.length > 0 }));
    await engine.close();")
}

expect() {  # label, json, node expression over r
  if ! node -e "const r = JSON.parse(process.argv[1]); process.exit(($3) ? 0 : 1)" "$2"; then
    echo "install-test: $1: FAILED, got $2" >&2
    exit 1
  fi
  echo "install-test: $1: ok $2"
}

install_into "$work/with-scripts"
expect 'install script, no compiler' "$(engine_of "$work/with-scripts")" \
  "r.backend === 'io_uring' && !r.compiled && r.read && r.fallbackReason === null"

install_into "$work/ignore-scripts" --ignore-scripts
expect '--ignore-scripts, no compiler' "$(engine_of "$work/ignore-scripts")" \
  "r.backend === 'io_uring' && !r.compiled && r.read && r.fallbackReason === null"

# As on a platform without a prebuild (musl, arm64): the install script finds none, tries
# to compile, cannot, and still exits 0.
rm -rf "$work/with-scripts/node_modules/ringleader/prebuilds"
(cd "$work/with-scripts" && bare node "$npm_cli" rebuild --foreground-scripts ringleader) | tee "$work/rebuild.log"
grep -q 'ringleader: native addon not built' "$work/rebuild.log" || { echo "install-test: the install script did not say why it built nothing" >&2; exit 1; }
expect 'no prebuild, no compiler' "$(engine_of "$work/with-scripts")" \
  "r.backend === 'js' && r.read && /No native build was found/.test(r.fallbackReason) && /at install: .*not found/.test(r.fallbackReason)"
