// Pinning through the native addon: each worker reports its own core. Where the addon is
// not built the core tests are skipped with the reason; a child process without the addon
// shows the pool still runs and says why.
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { allowedCores, pinningUnavailable } from '../../lib/runtime/pin.js';
import type { WorkerPool } from '../../lib/runtime/worker-pool.js';
import { keyFor, open } from './helpers.js';

const run = promisify(execFile);
const unavailable = pinningUnavailable();
if (unavailable !== undefined) console.warn(`pinning tests skipped: ${unavailable}`);

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool pinning', () => {
  it.skipIf(unavailable !== undefined)(`pins each worker to a distinct core${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, async () => {
    const threads = Math.min(allowedCores().length, 4);
    pool = await open({ threads, pin: true });
    const cores = pool.stats().workers.map((w) => w.pin);
    for (const pin of cores) expect(pin).toHaveProperty('core');
    const distinct = new Set(cores.map((p) => (p as { core: number }).core));
    expect(distinct.size).toBe(threads);
    for (const core of distinct) expect(allowedCores()).toContain(core);
  });

  it.skipIf(unavailable !== undefined)(`confines each pinned worker thread to its reported core${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, async () => {
    const threads = Math.min(allowedCores().length, 4);
    pool = await open({ threads, pin: true });
    for (const w of pool.stats().workers) {
      const key = await keyFor(pool!, w.index);
      expect(await pool.run({ op: 'affinity' }, { key })).toBe(String((w.pin as { core: number }).core));
    }
  });

  it('runs unpinned and reports why when the addon cannot load', async () => {
    // A process of its own, so the addon this one loaded does not answer for it.
    const fixture = fileURLToPath(new URL('./fixtures/unpinned.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [fixture], {
      env: { ...process.env, RINGLEADER_ADDON_PATH: join(tmpdir(), 'ringleader-no-addon-here') },
    });
    const report = JSON.parse(stdout) as { out: unknown; pins: unknown[] };
    expect(report.out).toBe('still runs');
    expect(report.pins).toHaveLength(2);
    for (const pin of report.pins) expect(pin).toEqual({ refused: expect.stringMatching(/^native addon not loaded/) });
  });

  it('reports no pinning when the pool was opened without pin', async () => {
    pool = await open();
    for (const w of pool.stats().workers) expect(w.pin).toBeNull();
  });
});
