// One benchmark cell in a fresh process: `node cell.mjs <ringleader|ringleader-pfile|piscina|single> <cpu|tiny>`
// (ringleader-pfile: WorkerPool on piscina's own worker file, a bare default export).
// A closed loop keeps WINDOW tasks outstanding until TASKS are done; prints one JSON line.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { WorkerPool } from '../../dist/runtime/worker-pool.js';
import { work } from './task.mjs';

const [impl, kind] = process.argv.slice(2);
const TASKS = Number(process.env.RUNTIME_BENCH_TASKS ?? 100_000);
const THREADS = Number(process.env.RUNTIME_BENCH_THREADS ?? 2);
const WINDOW = 32 * THREADS;

async function pool() {
  if (impl === 'ringleader') {
    const p = await WorkerPool.open({ filename: new URL('./ringleader-worker.mjs', import.meta.url), threads: THREADS });
    return { run: (d) => p.run(d), close: () => p.close() };
  }
  if (impl === 'ringleader-pfile') {
    const p = await WorkerPool.open({ filename: new URL('./piscina-worker.mjs', import.meta.url), threads: THREADS });
    return { run: (d) => p.run(d), close: () => p.close() };
  }
  const p = new Piscina({ filename: new URL('./piscina-worker.mjs', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS });
  return { run: (d) => p.run(d), close: () => p.destroy() };
}

async function closedLoop(run) {
  const latency = new Float64Array(TASKS);
  let issued = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const next = () => {
      if (issued === TASKS) return;
      const i = issued++;
      const start = performance.now();
      run({ kind, n: i }).then(() => {
        latency[i] = performance.now() - start;
        if (++done === TASKS) resolve();
        else next();
      }, reject);
    };
    for (let k = 0; k < WINDOW; k++) next();
  });
  const elapsed = performance.now() - t0;
  latency.sort();
  return { tasksPerSec: TASKS / elapsed * 1000, p99Ms: latency[Math.floor(TASKS * 0.99)] };
}

const loop = monitorEventLoopDelay({ resolution: 1 });
let result;
let cpu;
if (impl === 'single') {
  for (let i = 0; i < 200; i++) work({ kind, n: i });
  loop.enable();
  cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i++) work({ kind, n: i });
  result = { tasksPerSec: TASKS / (performance.now() - t0) * 1000, p99Ms: null };
  cpu = process.cpuUsage(cpu);
  loop.disable();
} else {
  const p = await pool();
  await Promise.all(Array.from({ length: 64 * THREADS }, (_, n) => p.run({ kind, n })));
  loop.enable();
  cpu = process.cpuUsage();
  result = await closedLoop(p.run);
  cpu = process.cpuUsage(cpu);
  loop.disable();
  await p.close();
}
// CPU time of every thread in the process per task: unlike tasks/s, a busy neighbour barely moves it.
const cpuUsPerTask = (cpu.user + cpu.system) / TASKS;
console.log(JSON.stringify({ ...result, cpuUsPerTask, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6 }));
