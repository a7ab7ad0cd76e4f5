// `npm run bench:scheduler`: 1,000,000 trivial async tasks at concurrency 16 through each
// implementation, every cell in its own process, median of RUNS. Prints raw figures and
// ringleader's ratio to each peer; --json writes the same as one JSON document.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { markdownTable, median } from '../stats.mjs';

const cell = fileURLToPath(new URL('./cell.mjs', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IMPLS = ['minimal', 'ringleader.run', 'ringleader.limit', 'ringleader.PQueue', 'async-sema', 'p-limit', 'p-queue'];
const METRICS = ['throughput', 'heap', 'stall'];
const json = process.argv.includes('--json');
const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);

const field = { throughput: 'tasksPerSec', heap: 'bytesPerTask', stall: 'maxStallMs' };

// Rounds are interleaved (every cell once per round) so a busy neighbour hits every
// implementation alike instead of one implementation's whole sample.
const samples = Object.fromEntries(IMPLS.map((impl) => [impl, Object.fromEntries(METRICS.map((m) => [m, []]))]));
const load = [];
for (let r = 0; r < RUNS; r++) {
  load.push(loadavg()[0]);
  for (const impl of IMPLS) {
    for (const metric of METRICS) {
      const out = execFileSync(process.execPath, ['--expose-gc', cell, impl, metric], {
        encoding: 'utf8', env: process.env, maxBuffer: 1 << 20,
      });
      const value = JSON.parse(out.trim().split('\n').pop())[field[metric]];
      samples[impl][metric].push(value);
      log(`  round ${r + 1}  ${impl.padEnd(17)} ${metric.padEnd(10)} ${fmt(metric, value)}`);
    }
  }
}
const results = {};
for (const impl of IMPLS) {
  results[impl] = {};
  for (const metric of METRICS) results[impl][metric] = median(samples[impl][metric]);
}

function fmt(metric, v) {
  if (metric === 'throughput') return `${(v / 1000).toFixed(0)}k/s`;
  if (metric === 'heap') return `${v.toFixed(0)} B`;
  return `${(v / 1000).toFixed(2)} s`;
}

// Ratios oriented so that > 1 means ringleader is better.
function ratio(metric, ours, theirs) {
  return metric === 'throughput' ? ours / theirs : theirs / ours;
}

const rows = IMPLS.map((impl) => [impl, ...METRICS.map((m) => fmt(m, results[impl][m]))]);
log('');
log(`1,000,000 trivial async tasks, concurrency 16, median of ${RUNS} (fresh process per cell)`);
log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, 1-min load average at round starts: ${load.map((l) => l.toFixed(1)).join(', ')}`);
log(markdownTable(['', '1M trivial tasks', 'heap per queued task', 'stall while 1M are submitted'], rows));

const ours = ['ringleader.run', 'ringleader.limit', 'ringleader.PQueue'];
const ratioRows = [];
for (const o of ours) {
  for (const peer of IMPLS.filter((i) => !ours.includes(i))) {
    ratioRows.push([`${o} vs ${peer}`, ...METRICS.map((m) => `${ratio(m, results[o][m], results[peer][m]).toFixed(2)}×`)]);
  }
}
log('');
log('ratios (> 1 means ringleader is better: faster, fewer bytes, shorter stall)');
log(markdownTable(['', 'throughput', 'heap', 'stall'], ratioRows));

const run = results['ringleader.run'];
const min = results.minimal;
const targets = [
  ['Scheduler.run ≥ 2× async-sema throughput', run.throughput / results['async-sema'].throughput, 2, '≥'],
  ['Scheduler.run ≥ 70 % of minimal throughput', run.throughput / min.throughput, 0.7, '≥'],
  ['bytes per queued task ≤ 1.2× minimal', run.heap / min.heap, 1.2, '≤'],
  ['stall ≤ 1.25× minimal', run.stall / min.stall, 1.25, '≤'],
  ['PQueue.add ≥ 2× p-queue throughput', results['ringleader.PQueue'].throughput / results['p-queue'].throughput, 2, '≥'],
];
log('');
log('targets');
for (const [name, value, bound, op] of targets) {
  const ok = op === '≥' ? value >= bound : value <= bound;
  log(`  ${ok ? 'met ' : 'MISS'}  ${name}: ${value.toFixed(2)}`);
}
if (json) console.log(JSON.stringify({ runs: RUNS, node: process.version, results, targets: targets.map(([name, value, bound, op]) => ({ name, value, bound, op })) }));
