// A worker that throws fails one task; a worker that dies fails exactly the task it was
// running with WorkerCrashedError, is replaced, and its waiting tasks run on the replacement.
import { afterEach, describe, expect, it } from 'vitest';
import { RingleaderError } from '../../lib/errors.js';
import { WorkerCrashedError } from '../../lib/runtime/crashed-error.js';
import type { WorkerPool } from '../../lib/runtime/worker-pool.js';
import { Gate, keyFor, open, slotOf, type ThreadReply } from './helpers.js';

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool failures', () => {
  it('settles the tasks of a worker whose reply cannot be deserialized, and replaces it', async () => {
    pool = await open({ threads: 1 });
    const first = (await pool.run<ThreadReply>({ op: 'thread' })).threadId;
    const gate = new Gate();
    const running = pool.run({ op: 'gate', sab: gate.sab });
    const queued = pool.run<ThreadReply>({ op: 'thread' });
    await gate.reached(1);
    // Node emits 'messageerror' on the port when a message fails to deserialize; no
    // portable way makes a worker's reply do that, so the test raises the event itself.
    const slots = (pool as unknown as { slots: Array<{ port: { emit(e: string, err: Error): void } }> }).slots;
    slots[0]!.port.emit('messageerror', new Error('cannot deserialize'));
    const err = await running.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect((err as Error).cause).toMatchObject({ message: 'cannot deserialize' });
    const replacement = await queued;
    expect(replacement.threadId).not.toBe(first);
    gate.open();
  });

  it('rejects only the task whose handler threw, with its name, message, code and stack', async () => {
    pool = await open({ threads: 1 });
    const { threadId } = await pool.run<ThreadReply>({ op: 'thread' });
    const results = await Promise.allSettled([pool.run(1), pool.run({ op: 'throw', message: 'bad input' }), pool.run(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const err = (results[1] as PromiseRejectedResult).reason as Error & { code: string };
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('bad input');
    expect(err.code).toBe('E_FIXTURE');
    expect(err.stack).toContain('echo.mjs');
    expect((await pool.run<ThreadReply>({ op: 'thread' })).threadId).toBe(threadId);
  });

  it('rejects only the crashed worker\'s running task; its queued tasks run on the replacement', async () => {
    pool = await open({ threads: 2 });
    const doomedKey = await keyFor(pool, 0);
    const healthyKey = await keyFor(pool, 1);
    const healthyThread = (await pool.run<ThreadReply>({ op: 'thread' }, { key: healthyKey })).threadId;
    const gate = new Gate();
    const doomed = pool.run({ op: 'gate', sab: gate.sab, then: 'exit' }, { key: doomedKey });
    const behind = Array.from({ length: 5 }, () => pool!.run<ThreadReply>({ op: 'thread' }, { key: doomedKey }));
    const healthy = pool.run<ThreadReply>({ op: 'gate', sab: gate.sab }, { key: healthyKey });
    const healthyBehind = Array.from({ length: 5 }, () => pool!.run<ThreadReply>({ op: 'thread' }, { key: healthyKey }));
    await gate.reached(2);
    gate.open();
    const err = await doomed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect(err).toMatchObject({ code: 'ERR_WORKER_CRASHED', worker: 0, exitCode: 7 });
    const replacement = await Promise.all(behind);
    for (const r of replacement) expect(slotOf(pool, r.threadId)).toBe(0);
    expect((await healthy).threadId).toBe(healthyThread);
    for (const r of await Promise.all(healthyBehind)) expect(r.threadId).toBe(healthyThread);
    const stats = pool.stats();
    expect(stats.crashes).toBe(1);
    expect(stats.workers[0]!.failed).toBe(1);
  });

  it('settles tasks that finished before a synchronous handler exited with their results', async () => {
    pool = await open({ threads: 1, filename: new URL('./fixtures/sync.mjs', import.meta.url) });
    await pool.run('warm');
    const done = Array.from({ length: 10 }, (_, i) => pool!.run(i));
    const doomed = pool.run({ op: 'exit', code: 5 });
    const after = pool.run('after');
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await doomed.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_WORKER_CRASHED', exitCode: 5 });
    expect(await after).toBe('after');
    expect(pool.stats()).toMatchObject({ completed: 12, failed: 1, crashes: 1 });
  });

  it('rejects a task whose transferred buffers went down with the worker instead of rerunning it on empty ones', async () => {
    pool = await open({ threads: 1 });
    const gate = new Gate();
    const doomed = pool.run({ op: 'gate', sab: gate.sab, then: 'exit' });
    const buf = new ArrayBuffer(16);
    const moved = pool.run<{ buf: ArrayBuffer }>({ buf }, { transferList: [buf] });
    const copied = new ArrayBuffer(16);
    const kept = pool.run<{ buf: ArrayBuffer }>({ buf: copied });
    await gate.reached(1);
    gate.open();
    expect(await doomed.catch((e: unknown) => e)).toBeInstanceOf(WorkerCrashedError);
    expect(await moved.then((r) => r.buf.byteLength, (e: unknown) => e)).toBeInstanceOf(WorkerCrashedError);
    expect((await kept).buf.byteLength).toBe(16);
  });

  it('treats an uncaught error in the worker as a crash with the error as cause', async () => {
    pool = await open({ threads: 1 });
    const err = await pool.run({ op: 'uncaught' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect((err as WorkerCrashedError).message).toContain('uncaught in worker');
    expect(((err as WorkerCrashedError).cause as Error).message).toBe('uncaught in worker');
    expect(await pool.run('after')).toBe('after');
  });

  it('treats running out of heap as a crash and replaces the worker', async () => {
    pool = await open({ threads: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    const err = await pool.run({ op: 'oom' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect(err).toBeInstanceOf(RingleaderError);
    expect(await pool.run('after')).toBe('after');
  });
});
