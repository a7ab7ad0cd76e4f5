// Cancelling a task removes it if it has not begun, or aborts the handler's signal if it
// runs; either way the worker stays up and the other tasks are untouched.
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerPool } from '../../lib/runtime/worker-pool.js';
import { Gate, keyFor, open, type ThreadReply } from './helpers.js';

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool cancellation', () => {
  it('rejects an aborted task that waits behind a running one at once, and never runs it', async () => {
    pool = await open({ threads: 1 });
    const gate = new Gate();
    const blocker = pool.run({ op: 'gate', sab: gate.sab });
    await gate.reached(1);
    const ac = new AbortController();
    const victim = pool.run({ tag: 'victim' }, { signal: ac.signal });
    const bystander = pool.run({ tag: 'bystander' });
    ac.abort(new Error('not needed'));
    await expect(victim).rejects.toThrow('not needed');
    gate.open();
    await blocker;
    expect(await bystander).toEqual({ tag: 'bystander' });
    expect(await pool.run({ op: 'log' })).toEqual(['bystander']);
    expect(pool.stats().cancelled).toBe(1);
  });

  it('removes an aborted task from a long queue without running it', async () => {
    pool = await open({ threads: 1 });
    const gate = new Gate();
    const blocker = pool.run({ op: 'gate', sab: gate.sab });
    await gate.reached(1);
    const queued = Array.from({ length: 200 }, (_, i) => pool!.run({ tag: i }));
    const ac = new AbortController();
    const victim = pool.run({ tag: 'victim' }, { signal: ac.signal });
    expect(pool.stats().queued).toBe(201);
    ac.abort();
    await expect(victim).rejects.toMatchObject({ name: 'AbortError' });
    expect(pool.stats().queued).toBe(200);
    gate.open();
    await Promise.all([blocker, ...queued]);
    expect(await pool.run({ op: 'log' })).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('aborts the signal of a running task; the worker survives and runs the next task', async () => {
    pool = await open({ threads: 2 });
    const key = await keyFor(pool, 0);
    const other = await keyFor(pool, 1);
    const { threadId } = await pool.run<ThreadReply>({ op: 'thread' }, { key });
    const gate = new Gate();
    const elsewhere = pool.run({ op: 'gate', sab: gate.sab }, { key: other });
    const started = new Gate();
    const ac = new AbortController();
    const running = pool.run({ op: 'hang', sab: started.sab }, { key, signal: ac.signal });
    await started.reached(1);
    await gate.reached(1);
    ac.abort(new Error('user left'));
    await expect(running).rejects.toThrow('user left');
    expect(await pool.run({ op: 'lastAbort' }, { key })).toEqual({ lastAbort: 'AbortError', threadId });
    gate.open();
    await expect(elsewhere).resolves.toHaveProperty('threadId');
    expect(pool.stats().crashes).toBe(0);
  });

  it('rejects a task whose signal is already aborted without queueing it', async () => {
    pool = await open({ threads: 1 });
    await expect(pool.run({ tag: 'never' }, { signal: AbortSignal.abort(new Error('too late')) })).rejects.toThrow('too late');
    expect(await pool.run({ op: 'log' })).toEqual([]);
  });
});

describe('WorkerPool.run with bad options', () => {
  it.each([
    ['options that are not an object', 'fast'],
    ['a non-string key', { key: 7 }],
    ['a signal that is not an AbortSignal', { signal: {} }],
    ['a transferList that is not an array', { transferList: 'buf' }],
  ])('rejects %s with a TypeError instead of throwing, and queues nothing', async (_name, options) => {
    pool = await open({ threads: 1 });
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = pool!.run({ tag: 'never' }, options as never);
    }).not.toThrow();
    await expect(promise).rejects.toThrow(TypeError);
    expect(pool.stats()).toMatchObject({ queued: 0, running: 0, completed: 0 });
    expect(await pool.run({ op: 'log' })).toEqual([]);
  });
});
