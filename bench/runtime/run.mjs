// `npm run bench:runtime`: sha256-of-64-KiB and tiny tasks through WorkerPool and piscina at the
// same thread count, plus a single-thread baseline; each cell in a fresh process, rounds interleaved
// so a busy neighbour hits every implementation alike, medians of RUNS. --json: one JSON document.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { markdownTable, median } from '../stats.mjs';

const cell = fileURLToPath(new URL('./cell.mjs', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TASKS = Number(process.env.RUNTIME_BENCH_TASKS ?? 100_000);
const THREADS = Number(process.env.RUNTIME_BENCH_THREADS ?? 2);
const CELLS = [['ringleader', 'cpu'], ['ringleader-pfile', 'cpu'], ['piscina', 'cpu'], ['single', 'cpu'], ['ringleader', 'tiny'],
  ['ringleader-pfile', 'tiny'], ['piscina', 'tiny']];
const json = process.argv.includes('--json');
const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);

const samples = Object.fromEntries(CELLS.map(([impl, kind]) => [`${impl}/${kind}`, []]));
const load = [];
for (let r = 0; r < RUNS; r++) {
  load.push(loadavg()[0]);
  for (const [impl, kind] of CELLS) {
    const out = execFileSync(process.execPath, [cell, impl, kind], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 });
    const s = JSON.parse(out.trim().split('\n').pop());
    samples[`${impl}/${kind}`].push(s);
    log(`  round ${r + 1}  ${`${impl}/${kind}`.padEnd(16)} ${fmtRate(s.tasksPerSec)}  p99 ${fmtMs(s.p99Ms)}  loop p99 ${fmtMs(s.loopP99Ms)}`);
  }
}

const results = {};
for (const [name, list] of Object.entries(samples)) {
  results[name] = {};
  for (const field of ['tasksPerSec', 'p99Ms', 'cpuUsPerTask', 'loopP99Ms', 'loopMaxMs']) {
    results[name][field] = list[0][field] === null ? null : median(list.map((s) => s[field]));
  }
}

function fmtRate(v) {
  return `${(v / 1000).toFixed(1)}k/s`;
}
function fmtMs(v) {
  return v === null ? '—' : `${v.toFixed(2)} ms`;
}

log('');
log(`${TASKS.toLocaleString('en-US')} tasks per cell, ${THREADS} threads, ${32 * THREADS} outstanding, median of ${RUNS}`);
log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, 1-min load average at round starts: ${load.map((l) => l.toFixed(1)).join(', ')}`);
log(markdownTable(['', 'tasks/s', 'p99 latency', 'CPU per task (all threads)', 'event loop p99', 'event loop max'],
  Object.entries(results).map(([name, r]) => [name, fmtRate(r.tasksPerSec), fmtMs(r.p99Ms), `${r.cpuUsPerTask.toFixed(1)} µs`,
    fmtMs(r.loopP99Ms), fmtMs(r.loopMaxMs)])));

const rl = (k) => results[`ringleader/${k}`];
const pi = (k) => results[`piscina/${k}`];
log('');
log('ratios (> 1 means WorkerPool is better: more tasks/s, lower p99, less event-loop delay)');
const pf = (k) => results[`ringleader-pfile/${k}`];
log(markdownTable(['', 'tasks/s', 'p99 latency', 'event loop p99'], [['defineWorker file', rl], ["piscina's own file", pf]].flatMap(([label, ours]) =>
  ['cpu', 'tiny'].map((k) => [
    `WorkerPool (${label}) vs piscina, ${k}`, `${(ours(k).tasksPerSec / pi(k).tasksPerSec).toFixed(2)}×`,
    `${(pi(k).p99Ms / ours(k).p99Ms).toFixed(2)}×`, `${(pi(k).loopP99Ms / ours(k).loopP99Ms).toFixed(2)}×`,
  ]))));

const targets = [
  ['CPU-bound: WorkerPool ≥ piscina tasks/s', rl('cpu').tasksPerSec / pi('cpu').tasksPerSec, 1],
  ['tiny: WorkerPool ≥ piscina tasks/s', rl('tiny').tasksPerSec / pi('tiny').tasksPerSec, 1],
  ["tiny, piscina's own worker file: WorkerPool ≥ piscina tasks/s", pf('tiny').tasksPerSec / pi('tiny').tasksPerSec, 1],
  [`CPU-bound: WorkerPool (${THREADS} threads) ≥ 1.7× single thread`, rl('cpu').tasksPerSec / results['single/cpu'].tasksPerSec, 1.7],
];
log('');
log('targets');
for (const [name, value, bound] of targets) log(`  ${value >= bound ? 'met ' : 'MISS'}  ${name}: ${value.toFixed(2)}`);
if (json) {
  console.log(JSON.stringify({
    runs: RUNS, tasks: TASKS, threads: THREADS, node: process.version, loadAverage: load, results, samples,
    targets: targets.map(([name, value, bound]) => ({ name, value, bound, op: '≥' })),
  }));
}
