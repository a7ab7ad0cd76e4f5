// `npm run bench:observability`: what watching the scheduler costs. Scheduler.run throughput
// with no subscriber on ringleader's diagnostics channels, with a no-op subscriber on every
// channel (each task then carries its message), and with ringleader/otel on the real SDK
// (a span per queue and attempt, metrics). Fresh process per cell, rounds interleaved,
// median of RUNS; prints the raw figures and each mode's ratio to "off".

import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { markdownTable, median } from '../stats.mjs';

const cell = fileURLToPath(new URL('./cell.mjs', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MODES = ['off', 'noop', 'otel'];
const samples = Object.fromEntries(MODES.map((m) => [m, { plain: [], keyed: [] }]));
const load = [];
for (let r = 0; r < RUNS; r++) {
  load.push(loadavg()[0]);
  for (const mode of MODES) {
    const out = execFileSync(process.execPath, ['--expose-gc', cell, mode], { encoding: 'utf8', env: process.env });
    const v = JSON.parse(out.trim().split('\n').pop());
    samples[mode].plain.push(v.plain);
    samples[mode].keyed.push(v.keyed);
    console.log(`  round ${r + 1}  ${mode.padEnd(5)} plain ${(v.plain / 1000).toFixed(0)}k/s  keyed ${(v.keyed / 1000).toFixed(0)}k/s`);
  }
}
const k = (v) => `${(v / 1000).toFixed(0)}k/s`;
const off = { plain: median(samples.off.plain), keyed: median(samples.off.keyed) };
const rows = MODES.map((mode) => {
  const plain = median(samples[mode].plain);
  const keyed = median(samples[mode].keyed);
  return [mode, k(plain), `${(plain / off.plain).toFixed(2)}×`, k(keyed), `${(keyed / off.keyed).toFixed(2)}×`];
});
console.log('');
console.log(`${process.env.BENCH_TASKS ?? '300,000'} trivial tasks per cell, concurrency 16, median of ${RUNS} (fresh process per cell)`);
console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, 1-min load average at round starts: ${load.map((l) => l.toFixed(1)).join(', ')}`);
console.log(markdownTable(['subscribers', 'run()', 'vs off', 'run() with key and tokens', 'vs off'], rows));
