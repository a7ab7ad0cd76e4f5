// Pinning through the native addon: each worker reports its own core. While the addon is
// not built the core test is skipped with the reason, and the pool still runs and says why.
import { afterEach, describe, expect, it } from 'vitest';
import { allowedCores, pinningUnavailable } from '../../lib/runtime/pin.js';
import type { WorkerPool } from '../../lib/runtime/worker-pool.js';
import { keyFor, open } from './helpers.js';

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

  it.runIf(unavailable !== undefined)('runs unpinned and reports why when the addon cannot pin', async () => {
    pool = await open({ pin: true });
    expect(await pool.run('still runs')).toBe('still runs');
    for (const w of pool.stats().workers) expect(w.pin).toEqual({ refused: unavailable });
  });

  it('reports no pinning when the pool was opened without pin', async () => {
    pool = await open();
    for (const w of pool.stats().workers) expect(w.pin).toBeNull();
  });
});
