// Soak (npm run test:soak, not npm test): on every backend, hundreds of engines opened and
// closed, half of them with a batch in flight. Every promise settles (whole files or
// ClosedError), the bytes match, and after a warm-up the process gains no fds and no
// memory beyond allocator noise. Each backend runs in a child process of its own.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../engine/helpers.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env['SOAK_ROUNDS'] ?? 200);
const child = fileURLToPath(new URL('./engine-child.mjs', import.meta.url));

interface Report {
  backend: string;
  base: { fds: number; rss: number };
  end: { fds: number; rss: number };
  problems: string[];
}

describe.each(availableBackends())('engine soak on %s', (backend) => {
  it(`${ROUNDS} engines, half closed mid-batch: every read settles, no fd or memory growth`, async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', child, backend, String(ROUNDS)], { maxBuffer: 1 << 20 });
    const report = JSON.parse(stdout) as Report;
    expect(report.backend).toBe(backend);
    expect(report.problems).toEqual([]);
    expect(report.end.fds).toBeLessThanOrEqual(report.base.fds);
    // RSS moves with the allocator's arenas by tens of MiB; a leak of a batch (~9 MiB) per
    // round would add gigabytes.
    expect(report.end.rss - report.base.rss).toBeLessThan(96 * 1024 * 1024);
  });
});
