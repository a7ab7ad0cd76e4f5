// `npm run bench:native`: the native core's microbenchmarks and the cost of crossing
// between JS and the addon.
// - native/bench queue_bench (SPSC and MPSC handoff between two threads, against a
//   mutex + deque) and ring_bench (io_uring NOP round trips, against a plain syscall),
//   built with the `default` CMake preset when they are missing;
// - from JS: one N-API call that does nothing but cross (engine.outstanding()), and one
//   readFiles batch round trip through a shard (1 missing file: the kernel answers ENOENT
//   at once), so what remains is crossing in, waking the shard, waking the JS thread and
//   crossing back. Medians of several runs.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../dist/index.js';
import { loadAddon } from '../../dist/engine/native.js';
import { median } from '../stats.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const binDir = join(root, 'build-cmake/default/native/bench');

function ensureBuilt() {
  if (['queue_bench', 'ring_bench'].every((b) => existsSync(join(binDir, b)))) return true;
  console.log('building native/bench with the default CMake preset…');
  for (const args of [['--preset', 'default'], ['--build', '--preset', 'default', '-j2', '--target', 'queue_bench', 'ring_bench']]) {
    const r = spawnSync('cmake', args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) return false;
  }
  return true;
}

if (process.platform !== 'linux') {
  console.log(`native benchmarks need Linux; this is ${process.platform}`);
} else if (!ensureBuilt()) {
  console.log('native/bench did not build (cmake and g++ are needed); skipping the C++ microbenchmarks');
} else {
  for (const bench of ['queue_bench', 'ring_bench']) {
    const r = spawnSync(join(binDir, bench), { stdio: 'inherit', timeout: 300_000 });
    if (r.status !== 0) process.exitCode = 1;
    console.log('');
  }
}

const loaded = loadAddon();
if ('error' in loaded) {
  console.log(`N-API crossing: skipped (${loaded.error})`);
} else {
  const CALLS = 2_000_000;
  const ROUND_TRIPS = 20_000;
  const RUNS = 5;
  const none = () => {};
  const native = new loaded.addon.Engine({ backend: 'threads', shards: 1, pin: false, queueDepth: 8, capacity: 64 }, none, none, none);
  const call = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    let sink = 0;
    for (let i = 0; i < CALLS; i++) sink += native.outstanding();
    call.push(Number(process.hrtime.bigint() - t0) / CALLS + sink * 0);
  }
  native.close();
  console.log(`N-API call that only crosses (engine.outstanding()): ${median(call).toFixed(0)} ns per call, median of ${RUNS}`);

  const missing = [join(tmpdir(), `ringleader-bench-missing-${process.pid}`)];
  for (const backend of ['io_uring', 'threads']) {
    let engine;
    try {
      engine = await Engine.open({ backend, shards: 1 });
    } catch (err) {
      console.log(`batch round trip on ${backend}: skipped (${err.message})`);
      continue;
    }
    const trips = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < ROUND_TRIPS; i++) await engine.readFiles(missing, { settle: true });
      trips.push(Number(process.hrtime.bigint() - t0) / ROUND_TRIPS / 1000);
    }
    await engine.close();
    console.log(`readFiles batch round trip on ${backend} (1 file, ENOENT, one shard): ${median(trips).toFixed(1)} µs, median of ${RUNS}`);
  }
}
