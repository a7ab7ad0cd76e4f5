// `npm run bench:native`: the native core's microbenchmarks and JS-side micro timings.
// - native/bench queue_bench (SPSC and MPSC handoff between two threads, against a
//   mutex + deque) and ring_bench (io_uring NOP round trips, against a plain syscall),
//   built with the `default` CMake preset when they are missing;
// - from JS, timed by benchmark.js (ops/s with its relative margin of error, each against
//   a peer in the same run where one exists): one N-API call that does nothing but cross
//   (engine.outstanding()); a one-file readFiles round trip through one shard against
//   fs.promises.readFile of the same file; an uncontended Semaphore acquire + release
//   against async-sema; a limit() call against p-limit; PQueue.add against p-queue (when
//   dist/index.js exports PQueue). Async cases run kInner operations per benchmark.js call
//   so its per-call bookkeeping does not swamp them; ops/s counts operations.

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { Sema } from 'async-sema';
import pLimit from 'p-limit';
import PQueuePeer from 'p-queue';
import * as ringleader from '../../dist/index.js';
import { loadAddon } from '../../dist/engine/native.js';
import { markdownTable } from '../stats.mjs';

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

const kInner = 100;
const { Engine, Semaphore, limit } = ringleader;

/** Runs one benchmark.js case; `inner` operations per call. Resolves to { hz, rme }. */
function measure(name, fn, { async = false, inner = 1 } = {}) {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark(name, {
      defer: async,
      maxTime: 3,
      fn: async ? (deferred) => fn().then(() => deferred.resolve(), reject) : fn,
      onComplete: () => resolve({ hz: bench.hz * inner, rme: bench.stats.rme, samples: bench.stats.sample.length }),
      onError: (event) => reject(event.target.error),
    });
    bench.run({ async: true });
  });
}

/** An async case: `inner` awaited operations in a row per benchmark.js call. */
function repeated(op) {
  return async () => {
    for (let i = 0; i < kInner; i++) await op();
  };
}

const rows = [];
function report(name, ours, peerName, peer) {
  const ops = (r) => (r.hz >= 1e6 ? `${(r.hz / 1e6).toFixed(2)} M` : r.hz >= 1e3 ? `${(r.hz / 1e3).toFixed(1)} k` : r.hz.toFixed(0));
  const row = [name, `${ops(ours)} ops/s`, `±${ours.rme.toFixed(1)}%`,
    peer ? peerName : '', peer ? `${ops(peer)} ops/s` : '', peer ? `±${peer.rme.toFixed(1)}%` : '',
    peer ? `${(ours.hz / peer.hz).toFixed(2)}×` : ''];
  rows.push(row);
  console.log(row.filter((c) => c !== '').join('  '));
}

const loaded = loadAddon();
if ('error' in loaded) {
  console.log(`N-API crossing and native round trips: skipped (${loaded.error})`);
} else {
  const none = () => {};
  const native = new loaded.addon.Engine({ backend: 'threads', shards: 1, pin: false, queueDepth: 8, capacity: 64 }, none, none, none);
  let sink = 0;
  report('N-API call that only crosses (engine.outstanding())', await measure('crossing', () => { sink += native.outstanding(); }));
  native.close();
  if (sink !== 0) console.log('(engine had work outstanding)');

  // A real file of 100 bytes: open, read, probe EOF, close - the whole engine path.
  const file = join(tmpdir(), `ringleader-bench-${process.pid}`);
  writeFileSync(file, Buffer.alloc(100, 1));
  const paths = [file];
  const peer = await measure('fs.promises.readFile', repeated(() => readFile(file)), { async: true, inner: kInner });
  for (const backend of ['io_uring', 'threads']) {
    let engine;
    try {
      engine = await Engine.open({ backend, shards: 1 });
    } catch (err) {
      console.log(`readFiles round trip on ${backend}: skipped (${err.message})`);
      continue;
    }
    const ours = await measure(backend, repeated(() => engine.readFiles(paths)), { async: true, inner: kInner });
    await engine.close();
    report(`readFiles round trip, 1 file of 100 B, one ${backend} shard`, ours, 'fs.promises.readFile', peer);
  }
  rmSync(file, { force: true });
}

{
  const sem = new Semaphore(4);
  const sema = new Sema(4);
  const ours = await measure('Semaphore', repeated(async () => (await sem.acquire()).release()), { async: true, inner: kInner });
  const peer = await measure('async-sema', repeated(async () => {
    await sema.acquire();
    sema.release();
  }), { async: true, inner: kInner });
  report('Semaphore acquire + release, uncontended', ours, 'async-sema', peer);
}

{
  const run = limit(4);
  const peerLimit = pLimit(4);
  const task = () => 1;
  const ours = await measure('limit', repeated(() => run(task)), { async: true, inner: kInner });
  const peer = await measure('p-limit', repeated(() => peerLimit(task)), { async: true, inner: kInner });
  report('limit(4) call, awaited', ours, 'p-limit', peer);
}

// PQueue arrives with its own issue; until dist/index.js exports it there is nothing to time.
if (typeof ringleader.PQueue === 'function') {
  const queue = new ringleader.PQueue({ concurrency: 4 });
  const peerQueue = new PQueuePeer({ concurrency: 4 });
  const task = () => 1;
  const ours = await measure('PQueue', repeated(() => queue.add(task)), { async: true, inner: kInner });
  const peer = await measure('p-queue', repeated(() => peerQueue.add(task)), { async: true, inner: kInner });
  report('PQueue.add, awaited', ours, 'p-queue', peer);
} else {
  console.log('PQueue.add: skipped (dist/index.js does not export PQueue)');
}

console.log('');
console.log(markdownTable(['JS-side micro timing (benchmark.js)', 'ringleader', '± rme', 'peer', 'peer', '± rme', 'ratio'], rows));
