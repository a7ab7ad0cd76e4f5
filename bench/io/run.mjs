// File-read benchmark (`npm run bench:io`): engine.readFiles on each backend against
// Promise.all(fs.promises.readFile), a readFileSync loop and native/bench's C++ figures
// (a plain openat/pread/close loop and the core engine on 2 io_uring shards), page cache
// hot. Contenders take turns run by run, so load from elsewhere falls on all of them;
// each figure is the median of BENCH_RUNS runs (default 7). CPU µs/file is the process's
// CPU time (every thread, user + system) per file: on a shared machine it says what a
// contender costs even when the wall clock says mostly how busy the neighbours were.
// `--json` prints one object.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { median } from '../stats.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const json = process.argv.includes('--json');
const runs = Number(process.env.BENCH_RUNS ?? 7);
const { Engine } = await import(join(root, 'dist/engine/index.js'));

const sets = [
  { name: '10,000 x 4 KiB', files: 10_000, size: 4096 },
  { name: '1,000 x 64 KiB', files: 1_000, size: 64 * 1024 },
];

const kPeer = 'Promise.all(fs.promises.readFile)';
const kSync = 'readFileSync loop';
const kJs = 'engine.readFiles (js)';
const kThreads = 'engine.readFiles (threads)';
const kUring = 'engine.readFiles (io_uring)';
const kCLoop = 'C++ openat/pread/close loop, 1 thread';
const kCUring = 'C++ core engine, io_uring, 2 shards';

// native/bench/file_bench from a CMake build, on its own copy of the same file set.
function nativeFigures(set) {
  for (const dir of ['build-cmake/default', 'build/cmake-default']) {
    const bin = join(root, dir, 'native/bench/file_bench');
    if (!existsSync(bin)) continue;
    const out = execFileSync(bin, [String(set.files), String(set.size)], {
      encoding: 'utf8',
      env: { ...process.env, BENCH_RUNS: String(Math.max(3, Math.min(runs, 5))) },
    });
    const pick = (re) => Number(out.match(re)?.[1] ?? NaN);
    return {
      source: bin,
      [kCLoop]: pick(/sync openat\/pread\/close, 1 thread\s+(\d+)/),
      [kCUring]: pick(/engine io_uring, 2 shards\s+(\d+)/),
    };
  }
  return { source: null };
}

// Each timed run starts from a collected heap, and after V8's background sweeping of it,
// so no contender pays for the garbage the one before it left (the engines and the
// readFileSync loop alike).
v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? runInNewContext('gc');
async function settleHeap() {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
}

// Dirty pages of the files just written would be written back mid-measurement.
function flushWrites() {
  try {
    execFileSync('sync');
  } catch {
    // No sync(1): the runs are still correct, only noisier.
  }
}

const engines = {};
for (const backend of ['io_uring', 'threads', 'js']) {
  try {
    engines[backend] = await Engine.open({ backend });
  } catch (err) {
    engines[backend] = { error: err.message };
  }
}

const results = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version },
  runs,
  loadBefore: loadavg(),
  sets: [],
};
const dir = mkdtempSync(join(tmpdir(), 'ringleader-bench-io-'));
try {
  for (const set of sets) {
    const sub = join(dir, `${set.files}x${set.size}`);
    mkdirSync(sub);
    const data = Buffer.alloc(set.size, 'r');
    const paths = [];
    for (let i = 0; i < set.files; i++) {
      const p = join(sub, `f${i}`);
      writeFileSync(p, data);
      paths.push(p);
    }
    flushWrites();
    const contenders = {
      [kPeer]: (ps) => Promise.all(ps.map((p) => readFile(p))),
      [kSync]: async (ps) => ps.map((p) => readFileSync(p)),
    };
    for (const [backend, engine] of Object.entries(engines)) {
      if (engine.error === undefined) contenders[`engine.readFiles (${backend})`] = (ps) => engine.readFiles(ps);
    }
    const names = Object.keys(contenders);
    const times = Object.fromEntries(names.map((n) => [n, []]));
    const cpu = Object.fromEntries(names.map((n) => [n, []]));
    for (const name of names) await contenders[name](paths); // warm-up: page cache, dentries, JIT, pools
    for (let r = 0; r < runs; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length];
        await settleHeap();
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const out = await contenders[name](paths);
        times[name].push(Number(process.hrtime.bigint() - t0) / 1e9);
        const c = process.cpuUsage(c0);
        cpu[name].push((c.user + c.system) / set.files);
        if (out.length !== paths.length || out[out.length - 1].length !== set.size) throw new Error(`${name}: short result`);
      }
    }
    const rows = {};
    const cpuPerFile = {};
    for (const name of names) {
      rows[name] = set.files / median(times[name]);
      cpuPerFile[name] = median(cpu[name]);
    }
    const native = nativeFigures(set);
    for (const name of [kCLoop, kCUring]) if (Number.isFinite(native[name])) rows[name] = native[name];
    results.sets.push({ name: set.name, files: set.files, size: set.size, filesPerSec: rows, cpuMicrosPerFile: cpuPerFile, nativeSource: native.source });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  for (const engine of Object.values(engines)) if (engine.error === undefined) await engine.close();
}
results.loadAfter = loadavg();
results.unavailable = Object.fromEntries(Object.entries(engines).filter(([, e]) => e.error !== undefined).map(([k, e]) => [k, e.error]));

const [small, big] = results.sets.map((s) => s.filesPerSec);
const best = (rows) => rows[kUring] ?? rows[kThreads] ?? rows[kJs];
results.targets = [
  { name: `engine vs ${kPeer}, 4 KiB`, goal: 20, value: best(small) / small[kPeer] },
  { name: `engine vs ${kSync}, 4 KiB`, goal: 2, value: best(small) / small[kSync] },
  { name: `engine vs ${kCUring}, 4 KiB`, goal: 0.5, value: best(small) / (small[kCUring] ?? NaN) },
  { name: `engine vs ${kSync}, 64 KiB`, goal: 1, value: best(big) / big[kSync] },
];

function table(set) {
  const rows = set.filesPerSec;
  const peers = [kPeer, kSync, kJs, kThreads, kCLoop, kCUring].filter((p) => rows[p] !== undefined);
  const short = { [kPeer]: 'Promise.all', [kSync]: 'readFileSync', [kJs]: 'js', [kThreads]: 'threads', [kCLoop]: 'C++ loop', [kCUring]: 'C++ 2 shards' };
  const lines = [
    `| ${set.name} | files/s | GB/s | CPU µs/file | ${peers.map((p) => `x ${short[p]}`).join(' | ')} |`,
    `|---|--:|--:|--:|${peers.map(() => '--:').join('|')}|`,
  ];
  for (const [name, rate] of Object.entries(rows)) {
    const gb = (rate * set.size) / 1e9;
    const ratios = peers.map((p) => (rows[p] ? (rate / rows[p]).toFixed(2) : 'n/a'));
    const cpuMicros = set.cpuMicrosPerFile[name];
    const cpuText = cpuMicros === undefined ? '' : cpuMicros.toFixed(1);
    lines.push(`| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${gb.toFixed(2)} | ${cpuText} | ${ratios.join(' | ')} |`);
  }
  return lines.join('\n');
}

if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`${results.machine.cpus} x ${results.machine.model}, Linux ${results.machine.kernel}, Node ${results.machine.node}`);
  console.log(`median of ${runs} runs, contenders interleaved; load average ${load(results.loadBefore)} before, ${load(results.loadAfter)} after\n`);
  for (const set of results.sets) console.log(`${table(set)}\n`);
  if (results.sets.some((s) => s.nativeSource === null)) {
    console.log('native/bench/file_bench not built (cmake --preset default && cmake --build --preset default): C++ columns missing\n');
  }
  for (const [k, v] of Object.entries(results.unavailable)) console.log(`backend ${k} unavailable: ${v}`);
  console.log('targets (engine = the best native backend, io_uring where it runs):');
  for (const t of results.targets) {
    const ok = Number.isFinite(t.value) ? (t.value >= t.goal ? 'met' : 'NOT met') : 'n/a';
    console.log(`  ${t.name.padEnd(58)} ${Number.isFinite(t.value) ? t.value.toFixed(2).padStart(6) : '   n/a'}  (goal >= ${t.goal})  ${ok}`);
  }
}
