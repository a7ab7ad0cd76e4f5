// `npm install` hook: load a prebuild from prebuilds/ or build/Release if one works, else
// compile with the node-gyp that ships with npm. Any failure prints one line, leaves it in
// build/install-reason.txt (engine.fallbackReason quotes it) and exits 0: installing must
// always succeed, and the js backend then runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const reasonFile = join(root, 'build', 'install-reason.txt');

// `--rebuild` (npm run build:native) always compiles and fails loudly: it is for developers.
const rebuild = process.argv.includes('--rebuild');

rmSync(reasonFile, { force: true });

function skip(reason) {
  console.log(`ringleader: native addon not built (${reason}); the js backend will run`);
  if (!rebuild) {
    try {
      mkdirSync(dirname(reasonFile), { recursive: true });
      writeFileSync(reasonFile, `${reason}\n`);
    } catch {
      // A read-only install folder loses only this note, never the install.
    }
  }
  process.exit(rebuild ? 1 : 0);
}

if (process.platform !== 'linux') skip(`${process.platform} is not Linux`);

function loads() {
  const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(root)})`], { stdio: 'ignore' });
  return result.status === 0;
}

if (!rebuild && process.env.npm_config_build_from_source !== 'true' && loads()) process.exit(0);

// npm exports the path of its bundled node-gyp to scripts; outside npm, look next to node.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].filter((p) => p && existsSync(p));
if (candidates.length === 0) skip('no prebuild for this platform, and node-gyp not found');

// node-gyp needs all three; naming the missing ones beats quoting its first error line.
function onPath(name) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, name)));
}
const missing = [
  onPath('python3') || onPath('python') || process.env.PYTHON ? undefined : 'python3',
  onPath('make') ? undefined : 'make',
  onPath('g++') || onPath('c++') || onPath('clang++') || process.env.CXX ? undefined : 'a C++ compiler (g++)',
].filter(Boolean);
if (missing.length > 0) skip(`no prebuild for this platform, and no toolchain to compile one: ${missing.join(', ')} not found`);

// Headers installed with node (distro packages, official tarballs) make the build offline;
// without them node-gyp downloads them, as it always has.
const args = [candidates[0], 'rebuild'];
const localHeaders = join(dirname(process.execPath), '../include/node/node_api.h');
if (!process.env.npm_config_nodedir && existsSync(localHeaders)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
const build = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', rebuild ? 'inherit' : 'ignore', 'pipe'], encoding: 'utf8' });
if (build.status !== 0) {
  const last = (build.stderr ?? '').trim().split('\n').filter((l) => /error/i.test(l))[0] ?? `exit ${build.status}`;
  skip(`node-gyp failed: ${last.trim()}`);
}
if (!loads()) skip('the built addon does not load');
