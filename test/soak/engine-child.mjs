// One backend's engine soak in a process of its own (the test runner's own fds and heap
// would blur the count): ROUNDS engines opened and closed, every other one closed with a
// batch in flight. Prints one JSON line: fds and RSS after a warm-up and at the end, and
// any byte mismatch or unexpected rejection it saw.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClosedError, Engine } from '../../dist/index.js';

const [backend, roundsArg] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const WARMUP = 20;
const FILES = 2_000;
const dir = mkdtempSync(join(tmpdir(), 'ringleader-soak-'));
const paths = Array.from({ length: FILES }, (_, i) => join(dir, `f${i}`));
const contents = paths.map((_, i) => Buffer.alloc(1 + ((i * 997) % 9_000), i % 251));
paths.forEach((p, i) => writeFileSync(p, contents[i]));

const problems = [];
const fds = () => readdirSync('/proc/self/fd').length;
const settle = async () => {
  globalThis.gc();
  // Closed engines hand their wake-up handles back to libuv, which closes them on a later turn.
  await new Promise((resolve) => setTimeout(resolve, 50));
};

async function round(n) {
  const engine = await Engine.open({ backend });
  if (n % 2 === 0) {
    const out = await engine.readFiles(paths);
    out.forEach((b, i) => { if (!b.equals(contents[i])) problems.push(`round ${n}: file ${i} differs`); });
    await engine.close();
  } else {
    const pending = engine.readFiles(paths, { settle: true });
    await engine.close();
    const settled = await pending;
    if (settled.length !== FILES) problems.push(`round ${n}: ${settled.length} results`);
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled' ? !r.value.equals(contents[i]) : !(r.reason instanceof ClosedError)) {
        problems.push(`round ${n}: file ${i} ${r.status === 'fulfilled' ? 'differs' : `rejected with ${r.reason}`}`);
      }
    });
  }
  try {
    await engine.readFile(paths[0]);
    problems.push(`round ${n}: read after close resolved`);
  } catch (err) {
    if (!(err instanceof ClosedError)) problems.push(`round ${n}: read after close rejected with ${err}`);
  }
}

try {
  for (let n = 0; n < WARMUP; n++) await round(n);
  await settle();
  const base = { fds: fds(), rss: process.memoryUsage().rss };
  for (let n = 0; n < ROUNDS; n++) await round(n);
  await settle();
  const end = { fds: fds(), rss: process.memoryUsage().rss };
  const probe = await Engine.open({ backend });
  await probe.close();
  console.log(JSON.stringify({ backend: probe.backend, base, end, problems: problems.slice(0, 10) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
