import { afterEach, describe, expect, it, vi } from 'vitest';
import RealPQueue from 'p-queue';
import DefaultPQueue from 'ringleader/p-queue';
import { ClosedError, PQueue, QueueFullError, Scheduler, TimeoutError } from '../../lib/index.js';
import { deferred, flush, Gauge } from './helpers.js';

// What the two queues have in common, so one scenario can drive either and be compared.
interface QueueLike {
  add<T>(fn: () => T | PromiseLike<T>, options?: { priority?: number; id?: string }): Promise<T>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly size: number;
  readonly pending: number;
  readonly isRateLimited: boolean;
}
type Make = (options: Record<string, unknown>) => QueueLike;
const ours: Make = (options) => new PQueue(options);
const peer: Make = (options) => new RealPQueue(options) as unknown as QueueLike;

const EVENTS = ['add', 'active', 'next', 'completed', 'error', 'empty', 'idle', 'pendingZero', 'rateLimit', 'rateLimitCleared'];

function record(queue: QueueLike): string[] {
  const log: string[] = [];
  for (const e of EVENTS) queue.on(e, () => log.push(e));
  return log;
}

afterEach(() => {
  vi.useRealTimers();
});

function fakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
}

describe('PQueue: the same observable behaviour as p-queue', () => {
  // Tasks gated by deferreds finish in a chosen order; the events each queue emits must match.
  async function gatedRun(make: Make): Promise<{ events: string[]; order: number[]; sizes: number[][] }> {
    const queue = make({ concurrency: 2 });
    const events = record(queue);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const order: number[] = [];
    const sizes: number[][] = [];
    const all = gates.map((g, i) => queue.add(async () => {
      order.push(i);
      await g.promise;
      return i;
    }, { priority: i === 3 ? 1 : 0 }));
    sizes.push([queue.size, queue.pending]);
    for (const i of [1, 0, 3, 2]) {
      gates[i]!.resolve();
      await flush();
      sizes.push([queue.size, queue.pending]);
    }
    await Promise.all(all);
    return { events, order, sizes };
  }

  it('emits the same events, in the same order, and starts tasks in the same order', async () => {
    const [a, b] = [await gatedRun(ours), await gatedRun(peer)];
    expect(a.order).toEqual(b.order);
    expect(a.sizes).toEqual(b.sizes);
    expect(a.events).toEqual(b.events);
  });

  async function failing(make: Make): Promise<string[]> {
    const queue = make({ concurrency: 1 });
    const events = record(queue);
    const results = await Promise.allSettled([
      queue.add(() => Promise.reject(new Error('boom'))),
      queue.add(() => 'ok'),
    ]);
    return [...events, ...results.map((r) => r.status)];
  }

  it('reports a failed task as p-queue does: error event, then the next task', async () => {
    expect(await failing(ours)).toEqual(await failing(peer));
  });

  async function fixedWindows(make: Make, options: Record<string, unknown>, durations: number[]): Promise<number[]> {
    fakeClock();
    const queue = make(options);
    const started: number[] = [];
    const t0 = Date.now();
    const all = durations.map((ms) => queue.add(async () => {
      started.push(Date.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, ms));
    }));
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all(all);
    vi.useRealTimers();
    return started;
  }

  it('interval + intervalCap count starts in fixed windows, as p-queue does', async () => {
    const options = { interval: 1000, intervalCap: 2 };
    const durations = [10, 10, 10, 10, 10];
    const a = await fixedWindows(ours, options, durations);
    expect(a).toEqual(await fixedWindows(peer, options, durations));
    expect(a).toEqual([0, 0, 1000, 1000, 2000]);
  });

  it('carryoverIntervalCount counts a task still running into the next window, as p-queue does', async () => {
    const options = { interval: 500, intervalCap: 1, carryoverIntervalCount: true };
    const durations = [600, 10, 10];
    const a = await fixedWindows(ours, options, durations);
    expect(a).toEqual(await fixedWindows(peer, options, durations));
    expect(a).toEqual([0, 1000, 1500]);
  });

  it('strict mode keeps every rolling interval under the cap, as p-queue does', async () => {
    const options = { interval: 1000, intervalCap: 2, strict: true };
    const durations = [10, 10, 10, 10, 10];
    const a = await fixedWindows(ours, options, durations);
    expect(a).toEqual(await fixedWindows(peer, options, durations));
  });

  async function rateEvents(make: Make): Promise<{ events: string[]; limited: boolean[] }> {
    fakeClock();
    const queue = make({ interval: 1000, intervalCap: 1 });
    const events: string[] = [];
    queue.on('rateLimit', () => events.push('rateLimit'));
    queue.on('rateLimitCleared', () => events.push('rateLimitCleared'));
    const limited: boolean[] = [];
    const all = [queue.add(() => 1), queue.add(() => 2), queue.add(() => 3)];
    await vi.advanceTimersByTimeAsync(10);
    limited.push(queue.isRateLimited);
    await vi.advanceTimersByTimeAsync(1000);
    limited.push(queue.isRateLimited);
    await vi.advanceTimersByTimeAsync(1000);
    limited.push(queue.isRateLimited);
    await vi.advanceTimersByTimeAsync(1000);
    limited.push(queue.isRateLimited);
    await Promise.all(all);
    vi.useRealTimers();
    return { events, limited };
  }

  it('isRateLimited and the rateLimit events follow the window, as p-queue\'s do', async () => {
    const a = await rateEvents(ours);
    expect(a).toEqual(await rateEvents(peer));
    expect(a.limited).toEqual([true, true, false, false]);
  });
});

describe('PQueue', () => {
  it('is a drop-in default export from ringleader/p-queue, and a Scheduler', async () => {
    const root = await import('ringleader');
    expect(DefaultPQueue).toBe(root.PQueue);
    expect(new DefaultPQueue()).toBeInstanceOf(root.Scheduler);
    expect(new PQueue()).toBeInstanceOf(Scheduler);
  });

  it('never runs more than concurrency tasks at once', async () => {
    const queue = new PQueue({ concurrency: 3 });
    const g = new Gauge();
    await queue.addAll(Array.from({ length: 30 }, () => async () => {
      g.enter();
      await flush();
      g.leave();
    }));
    expect(g.max).toBe(3);
  });

  it('runs higher priority first and FIFO within a priority', async () => {
    const queue = new PQueue({ concurrency: 1, autoStart: false });
    const order: string[] = [];
    const add = (name: string, priority: number): Promise<void> => queue.add(() => {
      order.push(name);
    }, { priority });
    const all = [add('a', 0), add('b', 1), add('c', 0), add('d', 1)];
    queue.start();
    await Promise.all(all);
    expect(order).toEqual(['b', 'd', 'a', 'c']);
  });

  it('setPriority moves a waiting task by its given or assigned id', async () => {
    const queue = new PQueue({ concurrency: 1, autoStart: false });
    const order: string[] = [];
    const add = (name: string, options?: { id?: string; priority?: number }): Promise<void> => queue.add(() => {
      order.push(name);
    }, options);
    const all = [add('a'), add('b', { id: 'late' }), add('c'), add('d')];
    queue.setPriority('late', 5);
    queue.setPriority('3', 1); // ids are assigned to tasks added without one: 'd' got the third
    queue.start();
    await Promise.all(all);
    expect(order).toEqual(['b', 'd', 'a', 'c']);
  });

  it('setPriority of an id nobody waits under is a ReferenceError and moves nothing', () => {
    const queue = new PQueue({ autoStart: false });
    void queue.add(() => 1, { id: 'x' });
    expect(() => queue.setPriority('y', 1)).toThrow(ReferenceError);
    expect(() => queue.setPriority('x', Number.NaN)).toThrow(TypeError);
    expect(queue.sizeBy({ priority: 0 })).toBe(1);
  });

  it('sizeBy counts waiting tasks of a priority', () => {
    const queue = new PQueue({ autoStart: false });
    for (const priority of [0, 1, 1, 2]) void queue.add(() => 1, { priority });
    expect(queue.sizeBy({ priority: 1 })).toBe(2);
    expect(queue.sizeBy({ priority: 3 })).toBe(0);
    expect(queue.size).toBe(4);
  });

  it('runningTasks lists what runs, with id, priority and time left', async () => {
    fakeClock();
    const queue = new PQueue({ concurrency: 2, timeout: 1000 });
    const gate = deferred();
    const all = [queue.add(() => gate.promise, { id: 'one', priority: 2 }), queue.add(() => gate.promise), queue.add(() => gate.promise)];
    vi.advanceTimersByTime(300);
    const running = queue.runningTasks;
    expect(running.map((t) => [t.id, t.priority, t.timeoutRemaining])).toEqual([['one', 2, 700], ['1', 0, 700]]);
    gate.resolve();
    await Promise.all(all);
    expect(queue.runningTasks).toEqual([]);
  });

  it('pause() holds tasks back and start() resumes them', async () => {
    const queue = new PQueue({ concurrency: 2 });
    queue.pause();
    const p = queue.add(() => 'x');
    expect(queue.isPaused).toBe(true);
    expect([queue.size, queue.pending]).toEqual([1, 0]);
    expect(queue.start()).toBe(queue);
    expect(await p).toBe('x');
  });

  it('onEmpty, onSizeLessThan, onPendingZero and onIdle resolve when p-queue\'s do', async () => {
    async function waits(make: Make): Promise<string[]> {
      const queue = make({ concurrency: 1 }) as QueueLike & Pick<PQueue, 'onEmpty' | 'onIdle' | 'onSizeLessThan' | 'onPendingZero'>;
      const gates = [deferred(), deferred(), deferred()];
      const all = gates.map((g) => queue.add(() => g.promise));
      const seen: string[] = [];
      void queue.onSizeLessThan(2).then(() => seen.push(`less2:${queue.size}`));
      void queue.onEmpty().then(() => seen.push(`empty:${queue.size}`));
      void queue.onPendingZero().then(() => seen.push(`pendingZero:${queue.pending}`));
      void queue.onIdle().then(() => seen.push(`idle:${queue.size + queue.pending}`));
      for (const g of gates) {
        g.resolve();
        await flush();
      }
      await Promise.all(all);
      await flush();
      return seen;
    }
    const seen = await waits(ours);
    expect(seen).toEqual(await waits(peer));
    expect(seen).toContain('idle:0');
  });

  it('onError rejects with the first failure while the task\'s own promise rejects too', async () => {
    const queue = new PQueue({ concurrency: 1 });
    const err = new Error('first');
    const onError = queue.onError();
    const failed = queue.add(() => Promise.reject(err));
    await expect(failed).rejects.toBe(err);
    await expect(onError).rejects.toBe(err);
    expect(queue.listenerCount('error')).toBe(0);
  });

  it('a failure with no error listener throws nothing from the emitter', async () => {
    const queue = new PQueue();
    await expect(queue.add(() => {
      throw new RangeError('bad');
    })).rejects.toBeInstanceOf(RangeError);
    expect(await queue.add(() => 2)).toBe(2);
  });

  it('a queued task whose signal aborts leaves at once: rejects with the reason, no error event', async () => {
    const queue = new PQueue({ concurrency: 1 });
    const gate = deferred();
    const errors: unknown[] = [];
    queue.on('error', (e) => errors.push(e));
    const running = queue.add(() => gate.promise);
    const controller = new AbortController();
    const ran = vi.fn();
    const queued = queue.add(ran, { signal: controller.signal });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(queued).rejects.toBe(reason);
    expect(queue.size).toBe(0);
    gate.resolve();
    await running;
    expect(ran).not.toHaveBeenCalled();
    expect(errors).toEqual([]);
  });

  it('a task past its timeout rejects with TimeoutError, emits error, and sees its signal abort', async () => {
    fakeClock();
    const queue = new PQueue({ timeout: 100 });
    const errors: unknown[] = [];
    queue.on('error', (e) => errors.push(e));
    let signal: AbortSignal | undefined;
    const p = queue.add((ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    });
    const settled = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await settled;
    expect(signal?.aborted).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('timeout is settable between adds and per task', async () => {
    fakeClock();
    const queue = new PQueue();
    queue.timeout = 50;
    const short = queue.add(() => new Promise(() => {}));
    const long = queue.add(() => new Promise((resolve) => setTimeout(resolve, 80, 'done')), { timeout: 100 });
    const shortSettled = expect(short).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await shortSettled;
    expect(await long).toBe('done');
  });

  it('clear() rejects every waiting task with ClosedError (p-queue leaves them pending) and lets running ones finish', async () => {
    const queue = new PQueue({ concurrency: 1 });
    const gate = deferred();
    const running = queue.add(() => gate.promise.then(() => 'done'));
    const waiting = [queue.add(() => 1), queue.add(() => 2)];
    const empty = vi.fn();
    queue.on('empty', empty);
    queue.clear();
    for (const w of waiting) await expect(w).rejects.toBeInstanceOf(ClosedError);
    expect(empty).toHaveBeenCalled();
    expect([queue.size, queue.pending]).toEqual([0, 1]);
    gate.resolve();
    expect(await running).toBe('done');
  });

  it('the queue is bounded: past maxQueued add() rejects with QueueFullError and loses nothing admitted', async () => {
    const queue = new PQueue({ concurrency: 1, maxQueued: 2 });
    const gate = deferred();
    const admitted = [queue.add(() => gate.promise), queue.add(() => 1), queue.add(() => 2)];
    await expect(queue.add(() => 3)).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    await Promise.all(admitted);
  });

  it('raising concurrency at run time starts waiting tasks at once', () => {
    const queue = new PQueue({ concurrency: 1 });
    const gate = deferred();
    for (let i = 0; i < 4; i++) void queue.add(() => gate.promise);
    queue.concurrency = 3;
    expect(queue.pending).toBe(3);
    gate.resolve();
  });

  it('refuses bad options with TypeErrors worded as p-queue\'s', async () => {
    expect(() => new PQueue({ concurrency: 0 })).toThrow(/Expected `concurrency` to be a number from 1 and up/);
    expect(() => new PQueue({ concurrency: undefined })).toThrow(TypeError);
    expect(() => new PQueue({ intervalCap: 0 })).toThrow(TypeError);
    expect(() => new PQueue({ interval: Infinity })).toThrow(TypeError);
    expect(() => new PQueue({ strict: true, interval: 0, intervalCap: 1 })).toThrow('The `strict` option requires a non-zero `interval`');
    expect(() => new PQueue({ timeout: -1 })).toThrow(/positive finite number/);
    expect(() => new PQueue({ queueClass: class {} } as never)).toThrow(/queueClass is not supported/);
    const queue = new PQueue();
    await expect(queue.add(() => 1, { timeout: 0 })).rejects.toThrow(/Expected `timeout` to be a positive finite number/);
    await expect(queue.add('nope' as never)).rejects.toBeInstanceOf(TypeError);
    expect(() => {
      queue.concurrency = 0;
    }).toThrow(TypeError);
  });
});
