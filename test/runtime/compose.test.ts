// A Scheduler can front the pool: its admission limits how many tasks reach the workers,
// and its task signal reaches the handler inside the worker.
import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler } from '../../lib/index.js';
import { defineWorker } from '../../lib/runtime/worker.js';
import type { WorkerPool } from '../../lib/runtime/worker-pool.js';
import { Gate, keyFor, open } from './helpers.js';

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool with a Scheduler in front', () => {
  it('lets only the scheduler\'s concurrency into the pool', async () => {
    pool = await open({ threads: 2 });
    const scheduler = new Scheduler({ concurrency: 1 });
    const gate = new Gate();
    const first = scheduler.run(() => pool!.run({ op: 'gate', sab: gate.sab }));
    const rest = Array.from({ length: 5 }, (_, i) => scheduler.run(() => pool!.run(i)));
    await gate.reached(1);
    const stats = pool.stats();
    expect(stats.queued + stats.running).toBe(1);
    expect(scheduler.stats().queued).toBe(5);
    gate.open();
    await first;
    expect(await Promise.all(rest)).toEqual([0, 1, 2, 3, 4]);
  });

  it('passes the scheduler task\'s signal to the handler in the worker', async () => {
    pool = await open({ threads: 2 });
    const key = await keyFor(pool, 0);
    const scheduler = new Scheduler({ concurrency: 2 });
    const started = new Gate();
    const ac = new AbortController();
    const task = scheduler.run(({ signal }) => pool!.run({ op: 'hang', sab: started.sab }, { key, signal }), { signal: ac.signal });
    await started.reached(1);
    ac.abort(new Error('caller gone'));
    await expect(task).rejects.toThrow('caller gone');
    expect(await pool.run({ op: 'lastAbort' }, { key })).toMatchObject({ lastAbort: 'AbortError' });
  });
});

describe('defineWorker', () => {
  it('refuses to run outside a pool worker', () => {
    expect(() => defineWorker(() => 1)).toThrow('must run in a worker started by WorkerPool');
    expect(() => defineWorker('x' as never)).toThrow(TypeError);
  });
});
