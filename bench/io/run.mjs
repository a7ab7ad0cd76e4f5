// File-read benchmark (`npm run bench:io`): engine.readFiles on each backend against
// Promise.all(fs.promises.readFile), a readFileSync loop and native/bench's C++ figures,
// page cache hot, each figure the median of several runs. `--json` prints one object.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const json = process.argv.includes('--json');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const { Engine } = await import(join(root, 'dist/engine/index.js'));

const sets = [
  { name: '10,000 x 4 KiB', files: 10_000, size: 4096 },
  { name: '1,000 x 64 KiB', files: 1_000, size: 64 * 1024 },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(fn, paths) {
  const times = [];
  await fn(paths); // warm-up: page cache, dentries, JIT
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const out = await fn(paths);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (out.length !== paths.length) throw new Error('short result');
  }
  return median(times);
}

// native/bench/file_bench, when a CMake build has it; it reads its own 10,000 x 4 KiB set.
function nativeFigures() {
  for (const dir of ['build-cmake/default', 'build/cmake-default']) {
    const bin = join(root, dir, 'native/bench/file_bench');
    if (!existsSync(bin)) continue;
    const out = execFileSync(bin, { encoding: 'utf8' });
    const pick = (re) => Number(out.match(re)?.[1] ?? NaN);
    return {
      source: bin,
      syncLoop: pick(/sync openat\/pread\/close, 1 thread\s+(\d+)/),
      ioUring2Shards: pick(/engine io_uring, 2 shards\s+(\d+)/),
      rawRing: pick(/raw ring OPENAT->READ->CLOSE, 1 thread\s+(\d+)/),
    };
  }
  return { source: null, note: 'native/bench/file_bench not built (cmake --preset default && cmake --build --preset default)' };
}

const engines = {};
for (const backend of ['io_uring', 'threads', 'js']) {
  try {
    engines[backend] = await Engine.open({ backend });
  } catch (err) {
    engines[backend] = { error: err.message };
  }
}

const results = { machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version }, runs, sets: [] };
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
    const contenders = {
      'Promise.all(fs.promises.readFile)': (ps) => Promise.all(ps.map((p) => readFile(p))),
      'readFileSync loop': async (ps) => ps.map((p) => readFileSync(p)),
    };
    for (const [backend, engine] of Object.entries(engines)) {
      if (engine.error === undefined) contenders[`engine.readFiles (${backend})`] = (ps) => engine.readFiles(ps);
    }
    const rows = {};
    for (const [name, fn] of Object.entries(contenders)) {
      const seconds = await measure(fn, paths);
      rows[name] = { seconds, filesPerSec: set.files / seconds, gbPerSec: (set.files * set.size) / seconds / 1e9 };
    }
    results.sets.push({ name: set.name, files: set.files, size: set.size, rows });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  for (const engine of Object.values(engines)) if (engine.error === undefined) await engine.close();
}
results.native = nativeFigures();
results.unavailable = Object.fromEntries(Object.entries(engines).filter(([, e]) => e.error !== undefined).map(([k, e]) => [k, e.error]));

const small = results.sets[0].rows;
const big = results.sets[1].rows;
const best = (rows) => rows['engine.readFiles (io_uring)'] ?? rows['engine.readFiles (threads)'] ?? rows['engine.readFiles (js)'];
results.targets = {
  'vs Promise.all(fs.promises.readFile), 4 KiB (>= 20x)': best(small).filesPerSec / small['Promise.all(fs.promises.readFile)'].filesPerSec,
  'vs readFileSync loop, 4 KiB (>= 2x)': best(small).filesPerSec / small['readFileSync loop'].filesPerSec,
  'vs native/bench 2-shard io_uring, 4 KiB (>= 0.5)': best(small).filesPerSec / (results.native.ioUring2Shards ?? NaN),
  'vs readFileSync loop, 64 KiB (>= 1x)': best(big).filesPerSec / big['readFileSync loop'].filesPerSec,
};

if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  console.log(`${results.machine.cpus} x ${results.machine.model}, Linux ${results.machine.kernel}, Node ${results.machine.node}; median of ${runs}`);
  for (const set of results.sets) {
    console.log(`\n${set.name}`);
    const peer = set.rows['Promise.all(fs.promises.readFile)'].filesPerSec;
    for (const [name, r] of Object.entries(set.rows)) {
      console.log(`  ${name.padEnd(36)} ${r.filesPerSec.toFixed(0).padStart(9)} files/s ${r.gbPerSec.toFixed(2).padStart(6)} GB/s ${(r.filesPerSec / peer).toFixed(1).padStart(6)}x Promise.all`);
    }
  }
  if (results.native.source) {
    console.log(`\nnative/bench (10,000 x 4 KiB, best of 3): sync loop ${results.native.syncLoop} files/s, raw ring ${results.native.rawRing}, engine io_uring 2 shards ${results.native.ioUring2Shards}`);
  } else {
    console.log(`\n${results.native.note}`);
  }
  for (const [k, v] of Object.entries(results.unavailable)) console.log(`backend ${k} unavailable: ${v}`);
  console.log('\ntargets:');
  for (const [k, v] of Object.entries(results.targets)) console.log(`  ${k.padEnd(50)} ${Number.isFinite(v) ? v.toFixed(2) : 'n/a'}`);
}
