// One measurement in a fresh process: `node --expose-gc cell.mjs <impl> <metric>`.
// Prints one JSON line. Run by run.mjs; each cell gets its own process so one
// implementation's garbage and JIT state never bleeds into another's figure.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { Sema } from 'async-sema';
import { PQueue as RingleaderPQueue, Scheduler, limit } from '../../dist/index.js';
import { minimalSemaphore } from './minimal.mjs';

const N = Number(process.env.BENCH_TASKS ?? 1_000_000);
const CONCURRENCY = 16;
const [impl, metric] = process.argv.slice(2);

// Each factory returns submit(fn) → Promise.
const impls = {
  minimal: () => minimalSemaphore(CONCURRENCY),
  'ringleader.run': () => {
    const s = new Scheduler({ concurrency: CONCURRENCY, maxQueued: N });
    return (fn) => s.run(fn);
  },
  'ringleader.limit': () => limit(CONCURRENCY, { maxQueued: N }),
  'ringleader.PQueue': () => {
    const q = new RingleaderPQueue({ concurrency: CONCURRENCY, maxQueued: N });
    return (fn) => q.add(fn);
  },
  'p-limit': () => pLimit(CONCURRENCY),
  'p-queue': () => {
    const q = new PQueue({ concurrency: CONCURRENCY });
    return (fn) => q.add(fn);
  },
  'async-sema': () => {
    const sema = new Sema(CONCURRENCY, { capacity: N });
    return async (fn) => {
      await sema.acquire();
      try {
        return await fn();
      } finally {
        sema.release();
      }
    };
  },
};

if (!impls[impl]) {
  console.error(`unknown impl ${impl}; one of ${Object.keys(impls).join(', ')}`);
  process.exit(2);
}

const trivial = async () => {};

async function throughput() {
  const submit = impls[impl]();
  const all = new Array(N);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) all[i] = submit(trivial);
  await Promise.all(all);
  const ms = performance.now() - t0;
  return { tasksPerSec: N / (ms / 1000), ms };
}

async function heap() {
  const submit = impls[impl]();
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const blocked = () => gate;
  const all = new Array(N);
  for (let i = 0; i < CONCURRENCY; i++) all[i] = submit(blocked);
  globalThis.gc();
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = CONCURRENCY; i < N; i++) all[i] = submit(trivial);
  globalThis.gc();
  globalThis.gc();
  const after = process.memoryUsage().heapUsed;
  open();
  await Promise.all(all);
  return { bytesPerTask: (after - before) / (N - CONCURRENCY) };
}

async function stall() {
  const submit = impls[impl]();
  const all = new Array(N);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // Let the monitor take a first sample before the burst.
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < N; i++) all[i] = submit(trivial);
  await Promise.all(all);
  await new Promise((resolve) => setTimeout(resolve, 5));
  h.disable();
  return { maxStallMs: h.max / 1e6 };
}

const metrics = { throughput, heap, stall };
if (!metrics[metric]) {
  console.error(`unknown metric ${metric}; one of ${Object.keys(metrics).join(', ')}`);
  process.exit(2);
}
const result = await metrics[metric]();
console.log(JSON.stringify({ impl, metric, ...result }));
