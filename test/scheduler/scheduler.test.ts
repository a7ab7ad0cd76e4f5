import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, DroppedError, QueueFullError, Scheduler, TimeoutError, type TaskContext } from '../../lib/index.js';
import { deferred, flush, Gauge } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Scheduler: concurrency and queue', () => {
  it('never runs more than concurrency tasks at once', async () => {
    const s = new Scheduler({ concurrency: 3 });
    const g = new Gauge();
    const tasks = Array.from({ length: 50 }, (_, i) => s.run(async () => {
      g.enter();
      await flush();
      g.leave();
      return i;
    }));
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(g.max).toBe(3);
  });

  it('starts tasks in FIFO order', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((i) => s.run(() => order.push(i))));
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('passes sync return values and thrown errors through', async () => {
    const s = new Scheduler({ concurrency: 2 });
    expect(await s.run(() => 7)).toBe(7);
    await expect(s.run(() => {
      throw new Error('sync');
    })).rejects.toThrow('sync');
  });

  it('raising concurrency at runtime starts queued tasks at once', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const g = new Gauge();
    const tasks = Array.from({ length: 4 }, () => s.run(async () => {
      g.enter();
      await gate.promise;
      g.leave();
    }));
    await flush();
    expect(s.stats().running).toBe(1);
    s.concurrency = 3;
    expect(s.stats().running).toBe(3);
    gate.resolve();
    await Promise.all(tasks);
    expect(g.max).toBe(3);
  });

  it('lowering concurrency lets running tasks finish and starts no more than the new limit', async () => {
    const s = new Scheduler({ concurrency: 4 });
    const gates = Array.from({ length: 8 }, () => deferred());
    const g = new Gauge();
    const tasks = gates.map((gate) => s.run(async () => {
      g.enter();
      await gate.promise;
      g.leave();
    }));
    await flush();
    s.concurrency = 1;
    g.max = g.now;
    for (const gate of gates) gate.resolve();
    await Promise.all(tasks);
    expect(s.stats().completed).toBe(8);
    // After the four already running drained, one ran at a time.
    expect(g.max).toBe(4);
  });

  it('rejects beyond maxQueued with QueueFullError under the reject policy', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 2 });
    const gate = deferred();
    const running = s.run(() => gate.promise);
    const q1 = s.run(() => 1);
    const q2 = s.run(() => 2);
    await expect(s.run(() => 3)).rejects.toBeInstanceOf(QueueFullError);
    expect(s.stats()).toMatchObject({ queued: 2, rejected: 1 });
    gate.resolve();
    expect(await Promise.all([running, q1, q2])).toEqual([undefined, 1, 2]);
  });

  it('emits full when the queue fills', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 1 });
    const full = vi.fn();
    s.on('full', full);
    const gate = deferred();
    const a = s.run(() => gate.promise);
    const b = s.run(() => 1);
    expect(full).toHaveBeenCalledTimes(1);
    gate.resolve();
    await Promise.all([a, b]);
  });

  it('makes run() wait for room under the wait policy', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 1, onFull: 'wait' });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const second = s.run(() => 'second');
    const third = s.run(() => 'third');
    expect(s.stats()).toMatchObject({ queued: 1, waiting: 1 });
    gate.resolve();
    expect(await Promise.all([first, second, third])).toEqual([undefined, 'second', 'third']);
  });

  it('a run() waiting for room is abortable', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 1, onFull: 'wait' });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const second = s.run(() => 'second');
    const ac = new AbortController();
    const third = s.run(() => 'third', { signal: ac.signal });
    ac.abort(new Error('gave up'));
    await expect(third).rejects.toThrow('gave up');
    expect(s.stats().waiting).toBe(0);
    gate.resolve();
    await Promise.all([first, second]);
  });

  it('with maxQueued 0 the wait policy is a rendezvous', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 0, onFull: 'wait' });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const second = s.run(() => 'second');
    expect(s.stats()).toMatchObject({ queued: 0, waiting: 1 });
    gate.resolve();
    expect(await second).toBe('second');
    await first;
  });

  it('drops the oldest queued task with DroppedError under drop-oldest', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 2, onFull: 'drop-oldest' });
    const gate = deferred();
    const running = s.run(() => gate.promise);
    const oldest = s.run(() => 'a');
    const middle = s.run(() => 'b');
    const newest = s.run(() => 'c');
    await expect(oldest).rejects.toBeInstanceOf(DroppedError);
    gate.resolve();
    expect(await Promise.all([running, middle, newest])).toEqual([undefined, 'b', 'c']);
    expect(s.stats().dropped).toBe(1);
  });

  it('drop-oldest never evicts a higher-priority task for a lower one', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 1, onFull: 'drop-oldest' });
    const gate = deferred();
    const running = s.run(() => gate.promise);
    const important = s.run(() => 'keep', { priority: 5 });
    await expect(s.run(() => 'low', { priority: 1 })).rejects.toBeInstanceOf(DroppedError);
    gate.resolve();
    expect(await important).toBe('keep');
    await running;
  });

  it('submitting 1,000,000 tasks in one synchronous loop works and drains', async () => {
    const s = new Scheduler({ concurrency: 16, maxQueued: 1_000_000 });
    let done = 0;
    const task = async (): Promise<void> => {
      done++;
    };
    const all: Array<Promise<void>> = [];
    for (let i = 0; i < 1_000_000; i++) all.push(s.run(task));
    expect(s.stats().queued).toBe(1_000_000 - 16);
    await Promise.all(all);
    expect(done).toBe(1_000_000);
    expect(s.stats()).toMatchObject({ queued: 0, running: 0, completed: 1_000_000 });
  });
});

describe('Scheduler: priority, keys, weight', () => {
  it('runs higher priority first and FIFO within a priority', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const order: string[] = [];
    const first = s.run(() => gate.promise);
    const tasks = [
      s.run(() => order.push('low1'), { priority: -1 }),
      s.run(() => order.push('mid1')),
      s.run(() => order.push('high1'), { priority: 10 }),
      s.run(() => order.push('mid2'), { priority: 0 }),
      s.run(() => order.push('high2'), { priority: 10 }),
      s.run(() => order.push('low2'), { priority: -1 }),
    ];
    gate.resolve();
    await Promise.all([first, ...tasks]);
    expect(order).toEqual(['high1', 'high2', 'mid1', 'mid2', 'low1', 'low2']);
  });

  it('holds each key to perKey running tasks', async () => {
    const s = new Scheduler({ concurrency: 8, perKey: 2 });
    const g = new Gauge();
    const tasks = Array.from({ length: 40 }, (_, i) => {
      const key = `k${i % 3}`;
      return s.run(async (ctx) => {
        expect(ctx.key).toBe(key);
        g.enter(key);
        await flush();
        g.leave(key);
      }, { key });
    });
    await Promise.all(tasks);
    expect(g.maxByKey).toBe(2);
    expect(g.max).toBe(6);
  });

  it('a busy key does not block other keys queued behind it', async () => {
    const s = new Scheduler({ concurrency: 2, perKey: 1 });
    const gate = deferred();
    const started: string[] = [];
    const a1 = s.run(async () => {
      started.push('a1');
      await gate.promise;
    }, { key: 'a' });
    const a2 = s.run(() => started.push('a2'), { key: 'a' });
    const b1 = s.run(() => started.push('b1'), { key: 'b' });
    await flush();
    expect(started).toEqual(['a1', 'b1']);
    gate.resolve();
    await Promise.all([a1, a2, b1]);
    expect(started).toEqual(['a1', 'b1', 'a2']);
  });

  it('forgets a key once it has no work, so keys do not leak', async () => {
    const s = new Scheduler({ concurrency: 4, perKey: 1 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.run(() => i, { key: `user-${i}` })));
    expect(s.stats().keys).toBe(0);
  });

  it('a weighted task takes several slots', async () => {
    const s = new Scheduler({ concurrency: 4 });
    const gate = deferred();
    const heavy = s.run(() => gate.promise, { weight: 3 });
    let light1 = false;
    let light2 = false;
    const l1 = s.run(() => {
      light1 = true;
    });
    const l2gate = deferred();
    const l2 = s.run(async () => {
      light2 = true;
      await l2gate.promise;
    });
    await flush();
    expect(light1).toBe(true);
    expect(light2).toBe(true);
    expect(s.stats().running).toBe(2);
    gate.resolve();
    l2gate.resolve();
    await Promise.all([heavy, l1, l2]);
  });

  it('a heavy task at the head is not overtaken by light ones', async () => {
    const s = new Scheduler({ concurrency: 2 });
    const gate = deferred();
    const order: string[] = [];
    const first = s.run(() => gate.promise);
    const heavy = s.run(() => order.push('heavy'), { weight: 2 });
    const light = s.run(() => order.push('light'));
    await flush();
    expect(order).toEqual([]);
    gate.resolve();
    await Promise.all([first, heavy, light]);
    expect(order).toEqual(['heavy', 'light']);
  });

  it('a weight above a since-lowered concurrency runs alone instead of hanging', async () => {
    const s = new Scheduler({ concurrency: 4 });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const heavy = s.run(() => 'heavy', { weight: 4 });
    s.concurrency = 2;
    gate.resolve();
    expect(await heavy).toBe('heavy');
    await first;
  });
});

describe('Scheduler: cancellation and timeouts', () => {
  it('removes a queued task at once when its signal aborts', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const ac = new AbortController();
    const fn = vi.fn();
    const queued = s.run(fn, { signal: ac.signal });
    expect(s.stats().queued).toBe(1);
    const reason = new Error('cancel');
    ac.abort(reason);
    expect(s.stats().queued).toBe(0);
    await expect(queued).rejects.toBe(reason);
    gate.resolve();
    await first;
    expect(fn).not.toHaveBeenCalled();
    expect(s.stats().cancelled).toBe(1);
  });

  it('aborts ctx.signal of a running task and rejects with the reason', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const ac = new AbortController();
    let seen: AbortSignal | undefined;
    const task = s.run((ctx) => new Promise((_, reject) => {
      seen = ctx.signal;
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    }), { signal: ac.signal });
    await flush();
    ac.abort(new Error('stop'));
    await expect(task).rejects.toThrow('stop');
    expect(seen!.aborted).toBe(true);
  });

  it('keeps the slot of an aborted running task until its function settles', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const ac = new AbortController();
    const gate = deferred();
    const task = s.run(() => gate.promise, { signal: ac.signal });
    const next = vi.fn();
    const second = s.run(next);
    ac.abort();
    await expect(task).rejects.toMatchObject({ name: 'AbortError' });
    await flush();
    expect(next).not.toHaveBeenCalled();
    gate.resolve();
    await second;
    expect(next).toHaveBeenCalledOnce();
  });

  it('rejects an already-aborted signal without running the task', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const fn = vi.fn();
    const reason = new Error('early');
    await expect(s.run(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(s.stats()).toMatchObject({ queued: 0, running: 0 });
  });

  it('times out a running task: ctx.signal aborts and the run rejects with TimeoutError', async () => {
    vi.useFakeTimers();
    const s = new Scheduler({ concurrency: 1 });
    let signal: AbortSignal | undefined;
    const task = s.run((ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    }, { timeout: 50 });
    const check = expect(task).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(50);
    await check;
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBeInstanceOf(TimeoutError);
    expect(s.stats().timedOut).toBe(1);
  });

  it('applies the scheduler-wide timeout to every task', async () => {
    vi.useFakeTimers();
    const s = new Scheduler({ concurrency: 2, timeout: 10 });
    const task = s.run(() => new Promise(() => {}));
    const check = expect(task).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(10);
    await check;
  });

  it('counts the timeout from the start of the task, not from submission', async () => {
    vi.useFakeTimers();
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const second = s.run(async () => {
      await new Promise((r) => setTimeout(r, 30));
      return 'ok';
    }, { timeout: 50 });
    await vi.advanceTimersByTimeAsync(100);
    gate.resolve();
    await first;
    await vi.advanceTimersByTimeAsync(30);
    expect(await second).toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer or abort listener behind after a task finishes', async () => {
    vi.useFakeTimers();
    const s = new Scheduler({ concurrency: 1 });
    const ac = new AbortController();
    const gate = deferred();
    const blocker = s.run(() => gate.promise);
    const queued = s.run(() => 1, { signal: ac.signal, timeout: 1000 });
    // While it waits its turn, its abort listener is there.
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    gate.resolve();
    await blocker;
    expect(await queued).toBe(1);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    // An abort after completion changes nothing.
    ac.abort();
    expect(s.stats()).toMatchObject({ completed: 2, failed: 0, cancelled: 0 });
  });
});

describe('Scheduler: close, pause, idle, ready', () => {
  it('close() drains queued and running work, then refuses new work', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const results: number[] = [];
    const tasks = [1, 2, 3].map((i) => s.run(async () => {
      await flush();
      results.push(i);
    }));
    await s.close();
    await Promise.all(tasks);
    expect(results).toEqual([1, 2, 3]);
    await expect(s.run(() => 4)).rejects.toBeInstanceOf(ClosedError);
  });

  it('close({ drain: false }) rejects queued work and aborts running tasks', async () => {
    const s = new Scheduler({ concurrency: 1 });
    let signal: AbortSignal | undefined;
    const running = s.run((ctx) => new Promise((_, reject) => {
      signal = ctx.signal;
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    }));
    const queued = s.run(() => 'never');
    await flush();
    const closed = s.close({ drain: false });
    await expect(queued).rejects.toBeInstanceOf(ClosedError);
    await expect(running).rejects.toBeInstanceOf(ClosedError);
    expect(signal!.aborted).toBe(true);
    await closed;
  });

  it('a running task that reads ctx.signal after close without drain sees it aborted', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    let aborted: boolean | undefined;
    const running = s.run(async (ctx: TaskContext) => {
      await gate.promise;
      aborted = ctx.signal.aborted;
    });
    await flush();
    const closed = s.close({ drain: false });
    gate.resolve();
    await running;
    await closed;
    expect(aborted).toBe(true);
  });

  it('close() refuses callers waiting for room with ClosedError', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 0, onFull: 'wait' });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const waiting = s.run(() => 'x');
    const closed = s.close();
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
    gate.resolve();
    await Promise.all([first, closed]);
  });

  it('pause() stops starting tasks and resume() continues', async () => {
    const s = new Scheduler({ concurrency: 2 });
    s.pause();
    const fn = vi.fn();
    const task = s.run(fn);
    await flush();
    expect(fn).not.toHaveBeenCalled();
    expect(s.isPaused).toBe(true);
    s.resume();
    await task;
    expect(fn).toHaveBeenCalledOnce();
  });

  it('onIdle() resolves when nothing is queued or running, and emits idle', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const idle = vi.fn();
    s.on('idle', idle);
    await s.onIdle();
    const gate = deferred();
    const task = s.run(() => gate.promise);
    let resolved = false;
    const waiting = s.onIdle().then(() => {
      resolved = true;
    });
    await flush();
    expect(resolved).toBe(false);
    gate.resolve();
    await Promise.all([task, waiting]);
    expect(idle).toHaveBeenCalledOnce();
  });

  it('ready() resolves only when the queue has room', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 1 });
    const gate = deferred();
    const a = s.run(() => gate.promise);
    const b = s.run(() => 'b');
    let ready = false;
    const r = s.ready().then(() => {
      ready = true;
    });
    await flush();
    expect(ready).toBe(false);
    gate.resolve();
    await r;
    expect(ready).toBe(true);
    await Promise.all([a, b]);
  });

  it('clear() rejects queued tasks with ClosedError and keeps running ones', async () => {
    const s = new Scheduler({ concurrency: 1, perKey: 1 });
    const gate = deferred();
    const running = s.run(() => gate.promise, { key: 'k' });
    const q1 = s.run(() => 1, { key: 'k' });
    const q2 = s.run(() => 2);
    s.clear();
    await expect(q1).rejects.toBeInstanceOf(ClosedError);
    await expect(q2).rejects.toBeInstanceOf(ClosedError);
    // The running keyed task still holds its lane.
    const later = s.run(() => 'later', { key: 'k' });
    await flush();
    expect(s.stats().running).toBe(1);
    gate.resolve();
    expect(await later).toBe('later');
    await running;
  });
});

describe('Scheduler: errors and context', () => {
  it('a throwing task rejects only its own promise and causes no unhandled rejection', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const s = new Scheduler({ concurrency: 2 });
      const bad = s.run(async () => {
        throw new Error('bad');
      });
      const good = s.run(async () => 'good');
      await expect(bad).rejects.toThrow('bad');
      expect(await good).toBe('good');
      // A failure nobody awaited still must not surface as unhandled from the scheduler.
      s.run(() => Promise.reject(new Error('ignored'))).catch(() => {});
      await flush();
      await flush();
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('emits error for failed tasks only when someone listens', async () => {
    const s = new Scheduler({ concurrency: 1 });
    await expect(s.run(() => Promise.reject(new Error('quiet')))).rejects.toThrow('quiet');
    const onError = vi.fn();
    s.on('error', onError);
    await expect(s.run(() => Promise.reject(new Error('loud')))).rejects.toThrow('loud');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'loud' }));
  });

  it('runs a queued task in the AsyncLocalStorage context of its caller', async () => {
    const als = new AsyncLocalStorage<string>();
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const first = als.run('first', () => s.run(async () => {
      await gate.promise;
      return als.getStore();
    }));
    const second = als.run('second', () => s.run(() => als.getStore()));
    const third = als.run('third', () => s.run(() => als.getStore(), { priority: 1 }));
    gate.resolve();
    expect(await Promise.all([first, second, third])).toEqual(['first', 'second', 'third']);
  });

  it('runs every retry of a queued task in the AsyncLocalStorage context of its caller', async () => {
    const als = new AsyncLocalStorage<string>();
    const s = new Scheduler({ concurrency: 1, retry: { retries: 2, minDelay: 1, maxDelay: 1 } });
    const gate = deferred();
    const holder = als.run('holder', () => s.run(() => gate.promise));
    const seen: Array<string | undefined> = [];
    const retried = als.run('caller', () => s.run((ctx) => {
      seen.push(als.getStore());
      if (ctx.attempt < 3) throw new Error('again');
      return 'done';
    }));
    als.run('drainer', () => gate.resolve());
    await holder;
    expect(await retried).toBe('done');
    expect(seen).toEqual(['caller', 'caller', 'caller']);
  });

  it('runs a queued task of a caller without a store outside the store of the task that freed its slot', async () => {
    const als = new AsyncLocalStorage<string>();
    const s = new Scheduler({ concurrency: 1 });
    await als.run('warm', () => s.run(() => 1));
    const gate = deferred();
    const holder = als.run('holder', () => s.run(async () => {
      await gate.promise;
      return als.getStore();
    }));
    const storeless = s.run(() => als.getStore());
    gate.resolve();
    expect(await holder).toBe('holder');
    expect(await storeless).toBeUndefined();
  });

  it('counts outcomes in stats()', async () => {
    vi.useFakeTimers();
    const s = new Scheduler({ concurrency: 1, maxQueued: 1 });
    const gate = deferred();
    const a = s.run(() => gate.promise);
    const b = s.run(() => Promise.reject(new Error('x')));
    const c = s.run(() => 1);
    gate.resolve();
    await a;
    await expect(b).rejects.toThrow();
    await expect(c).rejects.toBeInstanceOf(QueueFullError);
    const t = s.run(() => new Promise(() => {}), { timeout: 5 });
    const check = expect(t).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(5);
    await check;
    expect(s.stats()).toMatchObject({ completed: 1, failed: 2, rejected: 1, timedOut: 1, running: 1, queued: 0 });
  });
});

describe('Scheduler: bad input', () => {
  it.each([
    ['no options', undefined, TypeError],
    ['concurrency 0', { concurrency: 0 }, RangeError],
    ['negative concurrency', { concurrency: -1 }, RangeError],
    ['fractional concurrency', { concurrency: 1.5 }, RangeError],
    ['NaN concurrency', { concurrency: NaN }, TypeError],
    ['string concurrency', { concurrency: '4' }, TypeError],
    ['negative maxQueued', { concurrency: 1, maxQueued: -1 }, RangeError],
    ['unbounded maxQueued', { concurrency: 1, maxQueued: Infinity }, RangeError],
    ['unknown onFull', { concurrency: 1, onFull: 'block' }, TypeError],
    ['perKey 0', { concurrency: 1, perKey: 0 }, RangeError],
    ['NaN timeout', { concurrency: 1, timeout: NaN }, RangeError],
    ['zero timeout', { concurrency: 1, timeout: 0 }, RangeError],
  ])('the constructor throws for %s', (_name, options, type) => {
    expect(() => new Scheduler(options as never)).toThrow(type);
  });

  it.each([
    ['a non-function task', 'nope', undefined, TypeError],
    ['weight 0', () => 1, { weight: 0 }, RangeError],
    ['weight above concurrency', () => 1, { weight: 3 }, RangeError],
    ['fractional weight', () => 1, { weight: 1.5 }, RangeError],
    ['NaN timeout', () => 1, { timeout: NaN }, RangeError],
    ['negative timeout', () => 1, { timeout: -1 }, RangeError],
    ['a non-string key', () => 1, { key: 5 }, TypeError],
    ['a NaN priority', () => 1, { priority: NaN }, TypeError],
    ['a non-signal', () => 1, { signal: 'x' }, TypeError],
    ['options not an object', () => 1, 'x', TypeError],
  ])('run() rejects %s and changes no state', async (_name, task, options, type) => {
    const s = new Scheduler({ concurrency: 2 });
    await expect(s.run(task as never, options as never)).rejects.toBeInstanceOf(type);
    expect(s.stats()).toMatchObject({ queued: 0, running: 0, rejected: 0, completed: 0 });
  });

  it('setting a bad concurrency throws and keeps the old value', () => {
    const s = new Scheduler({ concurrency: 2 });
    expect(() => {
      s.concurrency = 0;
    }).toThrow(RangeError);
    expect(s.concurrency).toBe(2);
  });
});
