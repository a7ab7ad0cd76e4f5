// Opening, bounding and closing a pool: bad options and worker files are refused at open,
// full queues follow the overflow policy, and close() drains before it stops the workers.
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, DroppedError, QueueFullError } from '../../lib/errors.js';
import { WorkerCrashedError } from '../../lib/runtime/crashed-error.js';
import { WorkerPool } from '../../lib/runtime/worker-pool.js';
import { ECHO, Gate, open } from './helpers.js';

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool.open', () => {
  it('refuses a missing worker file with the resolved path', async () => {
    await expect(WorkerPool.open({ filename: new URL('./fixtures/missing.mjs', import.meta.url) }))
      .rejects.toThrow(/filename must name an existing worker file, got .*missing\.mjs/);
    await expect(WorkerPool.open({} as never)).rejects.toThrow(TypeError);
  });

  it('refuses a worker file that never calls defineWorker()', async () => {
    const err = await WorkerPool.open({ filename: new URL('./fixtures/no-define.mjs', import.meta.url), threads: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect((err as Error).message).toContain('before calling defineWorker()');
  });

  it('refuses a worker file that throws while loading, with its error', async () => {
    await expect(WorkerPool.open({ filename: new URL('./fixtures/throws-on-load.mjs', import.meta.url), threads: 2 }))
      .rejects.toThrow('fixture failed to load');
  });

  it('validates options with TypeError and RangeError', async () => {
    await expect(open({ threads: 0 })).rejects.toThrow(RangeError);
    await expect(open({ threads: 1.5 })).rejects.toThrow(RangeError);
    await expect(open({ threads: '2' as never })).rejects.toThrow(TypeError);
    await expect(open({ maxQueued: -1 })).rejects.toThrow(RangeError);
    await expect(open({ onFull: 'block' as never })).rejects.toThrow(TypeError);
    await expect(open({ pin: 'yes' as never })).rejects.toThrow(TypeError);
    await expect(WorkerPool.open({ filename: 42 as never })).rejects.toThrow(TypeError);
  });

  it('defaults to one worker per available core', async () => {
    const { availableParallelism } = await import('node:os');
    pool = await WorkerPool.open({ filename: ECHO });
    expect(pool.stats().workers).toHaveLength(availableParallelism());
  });
});

describe('WorkerPool.run', () => {
  it('validates run options', async () => {
    pool = await open({ threads: 1 });
    await expect(pool.run(1, { key: 5 as never })).rejects.toThrow(TypeError);
    await expect(pool.run(1, { signal: {} as never })).rejects.toThrow(TypeError);
    await expect(pool.run(1, { transferList: 'x' as never })).rejects.toThrow(TypeError);
  });

  it('rejects only the task whose data cannot be cloned, with a TypeError', async () => {
    pool = await open({ threads: 1 });
    const [a, bad, c] = await Promise.allSettled([pool.run(1), pool.run({ fn: () => 1 }), pool.run(3)]);
    expect(a).toEqual({ status: 'fulfilled', value: 1 });
    expect(c).toEqual({ status: 'fulfilled', value: 3 });
    const err = (bad as PromiseRejectedResult).reason as TypeError;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(/cannot be sent to a worker/);
    expect((err.cause as Error).name).toBe('DataCloneError');
  });

  it('rejects only the task whose result cannot be cloned, with a TypeError', async () => {
    pool = await open({ threads: 1 });
    const [bad, ok] = await Promise.allSettled([pool.run({ op: 'function' }), pool.run(2)]);
    expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(TypeError);
    expect(ok).toEqual({ status: 'fulfilled', value: 2 });
  });

  it('moves transferList buffers to the worker and result buffers back', async () => {
    pool = await open({ threads: 1 });
    const buf = new ArrayBuffer(1024);
    const echoed = await pool.run<{ buf: ArrayBuffer }>({ buf }, { transferList: [buf] });
    expect(buf.byteLength).toBe(0);
    expect(echoed.buf.byteLength).toBe(1024);
    expect((await pool.run<ArrayBuffer>({ op: 'transfer', size: 4096 })).byteLength).toBe(4096);
  });
});

describe('WorkerPool overflow', () => {
  async function busyPool(onFull: 'reject' | 'wait' | 'drop-oldest'): Promise<{ gate: Gate; blocker: Promise<unknown> }> {
    pool = await open({ threads: 1, maxQueued: 2, onFull });
    const gate = new Gate();
    const blocker = pool.run({ op: 'gate', sab: gate.sab });
    await gate.reached(1);
    return { gate, blocker };
  }

  it("'reject' refuses a task once maxQueued tasks wait behind the running one", async () => {
    const { gate, blocker } = await busyPool('reject');
    const queued = [pool!.run(1), pool!.run(2)];
    await expect(pool!.run(3)).rejects.toThrow(QueueFullError);
    gate.open();
    expect(await Promise.all([blocker.then(() => 0), ...queued])).toEqual([0, 1, 2]);
    expect(pool!.stats().rejected).toBe(1);
  });

  it("'drop-oldest' evicts the oldest waiting task with DroppedError", async () => {
    const { gate, blocker } = await busyPool('drop-oldest');
    const first = pool!.run({ tag: 1 });
    const second = pool!.run({ tag: 2 });
    const third = pool!.run({ tag: 3 });
    await expect(first).rejects.toThrow(DroppedError);
    gate.open();
    await blocker;
    expect(await Promise.all([second, third])).toEqual([{ tag: 2 }, { tag: 3 }]);
    expect(await pool!.run({ op: 'log' })).toEqual([2, 3]);
  });

  it("'wait' holds the caller until there is room, then runs the task", async () => {
    const { gate, blocker } = await busyPool('wait');
    const tasks = [1, 2, 3, 4].map((n) => pool!.run(n));
    await expect(pool!.run(5)).rejects.toThrow(QueueFullError);
    expect(pool!.stats().waiting).toBe(2);
    gate.open();
    await blocker;
    expect(await Promise.all(tasks)).toEqual([1, 2, 3, 4]);
  });
});

describe('WorkerPool.stats', () => {
  it('counts completed and failed tasks per worker, with run and wait histograms', async () => {
    pool = await open({ threads: 2 });
    await Promise.allSettled([
      ...Array.from({ length: 50 }, (_, i) => pool!.run(i)),
      pool.run({ op: 'throw', message: 'x' }),
    ]);
    const stats = pool.stats();
    expect(stats.completed).toBe(50);
    expect(stats.failed).toBe(1);
    expect(stats.queued + stats.running).toBe(0);
    expect(stats.workers.reduce((n, w) => n + w.runTime.count, 0)).toBe(51);
    for (const w of stats.workers) {
      expect(w.waitTime.count).toBe(w.runTime.count);
      expect(w.runTime.p99).toBeGreaterThanOrEqual(w.runTime.p50);
      expect(w.runTime.max).toBeGreaterThanOrEqual(w.runTime.p99);
    }
  });
});

describe('WorkerPool.close', () => {
  it('drains queued work before it stops, and refuses new work meanwhile', async () => {
    pool = await open({ threads: 1 });
    const gate = new Gate();
    let settled = 0;
    const track = <T>(p: Promise<T>): Promise<T> => p.finally(() => settled++);
    const blocker = track(pool.run({ op: 'gate', sab: gate.sab }));
    const queued = Array.from({ length: 100 }, (_, i) => track(pool!.run(i)));
    await gate.reached(1);
    const closed = pool.close().then(() => settled);
    await expect(pool.run('late')).rejects.toThrow(ClosedError);
    gate.open();
    expect(await closed).toBe(101);
    await blocker;
    expect(await Promise.all(queued)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    pool = undefined;
  });

  it('close() is idempotent and leaves no worker running', async () => {
    pool = await open({ threads: 2 });
    await pool.run(1);
    const p1 = pool.close();
    expect(pool.close()).toBe(p1);
    await p1;
    expect(pool.stats().workers.every((w) => w.running === 0 && w.queued === 0)).toBe(true);
    pool = undefined;
  });

  it('starts no replacement when the crash of its last task lets a closing pool stop', async () => {
    const starts = new Int32Array(new SharedArrayBuffer(4));
    pool = await open({ threads: 1, workerData: { starts } });
    expect(Atomics.load(starts, 0)).toBe(1);
    const gate = new Gate();
    const doomed = pool.run({ op: 'gate', sab: gate.sab, then: 'exit' });
    await gate.reached(1);
    const closed = pool.close();
    gate.open();
    expect(await doomed.catch((e: unknown) => e)).toBeInstanceOf(WorkerCrashedError);
    await closed;
    pool = undefined;
    // A replacement would count itself within a worker's start-up time; none may come.
    const { waitAsync } = Atomics as unknown as {
      waitAsync(array: Int32Array, index: number, value: number, timeout: number): { value: Promise<string> | string };
    };
    expect(await waitAsync(starts, 0, 1, 1000).value).toBe('timed-out');
  });
});
