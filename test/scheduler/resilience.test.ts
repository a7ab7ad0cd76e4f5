// The Scheduler's retry, rate, breaker and lane-pause options, under fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitOpenError, ClosedError, RetryBudget, Scheduler, TimeoutError, type TaskContext } from '../../lib/index.js';
import { deferred, flush } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const http = (status: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe('Scheduler retry', () => {
  it('retries a retryable failure and resolves with the later success', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 3, minDelay: 10, jitter: 'none' } });
    const attempts: number[] = [];
    const task = s.run((ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt < 3) throw http(500);
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(await task).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
    expect(s.stats()).toMatchObject({ retried: 2, completed: 1, failed: 0 });
  });

  it('rejects with the last error once retries run out', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 2, minDelay: 10, jitter: 'none' } });
    let calls = 0;
    const task = s.run(() => {
      calls++;
      throw http(502);
    });
    const check = expect(task).rejects.toMatchObject({ status: 502 });
    await vi.advanceTimersByTimeAsync(1000);
    await check;
    expect(calls).toBe(3);
  });

  it('never retries a client error such as 400', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 5, minDelay: 1 } });
    let calls = 0;
    await expect(s.run(() => {
      calls++;
      throw http(400);
    })).rejects.toMatchObject({ status: 400 });
    expect(calls).toBe(1);
  });

  it('a per-task retry: false turns retries off', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 5, minDelay: 1 } });
    let calls = 0;
    await expect(s.run(() => {
      calls++;
      throw http(500);
    }, { retry: false })).rejects.toMatchObject({ status: 500 });
    expect(calls).toBe(1);
  });

  it('releases the slot while a task sleeps out its backoff and queues it again behind others', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 1, minDelay: 1000, jitter: 'none' } });
    const order: string[] = [];
    const a = s.run((ctx) => {
      order.push(`a${ctx.attempt}`);
      if (ctx.attempt === 1) throw http(500);
      return 'a';
    });
    const b = s.run(() => {
      order.push('b');
      return new Promise((resolve) => setTimeout(resolve, 2000));
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(order).toEqual(['a1', 'b']);
    expect(s.stats()).toMatchObject({ running: 1, retrying: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    // a's backoff is over but b holds the only slot: a waits in the queue.
    expect(order).toEqual(['a1', 'b']);
    expect(s.stats().queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await Promise.all([a, b])).toEqual(['a', undefined]);
    expect(order).toEqual(['a1', 'b', 'a2']);
  });

  it('takes Retry-After as the floor of the next delay', async () => {
    const s = new Scheduler({ concurrency: 4, retry: { retries: 1, minDelay: 1, maxDelay: 10 } });
    let calls = 0;
    const task = s.run(() => {
      calls++;
      if (calls === 1) throw http(503, { 'retry-after': '5' });
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await task).toBe('ok');
    expect(calls).toBe(2);
  });

  it('a 429 with Retry-After pauses the whole scheduler until it passes', async () => {
    const s = new Scheduler({ concurrency: 4, retry: { retries: 1, minDelay: 1 } });
    const started: number[] = [];
    const first = s.run((ctx) => {
      if (ctx.attempt === 1) throw http(429, { 'retry-after-ms': '2000' });
      return 'first';
    });
    await flush();
    const others = Array.from({ length: 3 }, (_, i) => s.run(() => {
      started.push(i);
    }));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([first, ...others]);
    expect(started).toEqual([0, 1, 2]);
  });

  it('a 429 of a keyed task pauses only that key', async () => {
    const s = new Scheduler({ concurrency: 4, retry: { retries: 1, minDelay: 1 } });
    const started: string[] = [];
    const first = s.run((ctx) => {
      if (ctx.attempt === 1) throw http(429, { 'retry-after': '3' });
      started.push('a-retry');
    }, { key: 'a' });
    await flush();
    const a2 = s.run(() => {
      started.push('a2');
    }, { key: 'a' });
    const b1 = s.run(() => {
      started.push('b1');
    }, { key: 'b' });
    await vi.advanceTimersByTimeAsync(10);
    expect(started).toEqual(['b1']);
    await vi.advanceTimersByTimeAsync(3_000);
    await Promise.all([first, a2, b1]);
    expect(started).toEqual(['b1', 'a2', 'a-retry']);
  });

  it('an abort during the backoff rejects at once with the reason and leaves no timer', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 3, minDelay: 10_000, jitter: 'none' } });
    const ac = new AbortController();
    const task = s.run(() => {
      throw http(500);
    }, { signal: ac.signal });
    await vi.advanceTimersByTimeAsync(1);
    expect(s.stats().retrying).toBe(1);
    const reason = new Error('user gave up');
    ac.abort(reason);
    await expect(task).rejects.toBe(reason);
    expect(s.stats()).toMatchObject({ retrying: 0, failed: 1 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close({ drain: false }) rejects tasks sleeping out a backoff with ClosedError', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 3, minDelay: 10_000 } });
    const task = s.run(() => {
      throw http(500);
    });
    await vi.advanceTimersByTimeAsync(1);
    await s.close({ drain: false });
    await expect(task).rejects.toBeInstanceOf(ClosedError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('retries an attempt that timed out', async () => {
    const s = new Scheduler({ concurrency: 1, timeout: 100, retry: { retries: 1, minDelay: 1, jitter: 'none' } });
    const signals: AbortSignal[] = [];
    const task = s.run((ctx: TaskContext) => {
      signals.push(ctx.signal);
      if (ctx.attempt === 1) {
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      }
      return 'second';
    });
    await vi.advanceTimersByTimeAsync(200);
    expect(await task).toBe('second');
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    expect(s.stats()).toMatchObject({ timedOut: 1, retried: 1 });
  });

  it('a retry budget stops retries once they exceed their share of attempts', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.2, windowMs: 10_000 });
    const s = new Scheduler({ concurrency: 8, retry: { retries: 5, minDelay: 1, jitter: 'none', budget } });
    let calls = 0;
    const tasks = Array.from({ length: 5 }, () => s.run(() => {
      calls++;
      throw http(500);
    }).catch(() => 'failed'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(await Promise.all(tasks)).toEqual(Array(5).fill('failed'));
    // 0.2/s over 10 s leaves 2 retries for everyone together.
    expect(calls).toBe(5 + 2);
    expect(s.stats().retried).toBe(2);
  });
});

describe('Scheduler rate', () => {
  it('never starts more than the window allows, and leaves no gap while work waits', async () => {
    const s = new Scheduler({ concurrency: 100, rate: { limit: 5, interval: 1000 } });
    const starts: number[] = [];
    const tasks = Array.from({ length: 23 }, () => s.run(() => {
      starts.push(Date.now());
    }));
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(tasks);
    for (const start of starts) {
      const inWindow = starts.filter((t) => t > start - 1000 && t <= start).length;
      expect(inWindow).toBeLessThanOrEqual(5);
    }
    // No idle gaps: each group of five starts the moment the window frees.
    expect(starts.map((t) => t - t0)).toEqual([
      ...Array(5).fill(0), ...Array(5).fill(1000), ...Array(5).fill(2000), ...Array(5).fill(3000), ...Array(3).fill(4000),
    ]);
  });

  it('holds several windows at once: requests per second and per minute', async () => {
    const s = new Scheduler({
      concurrency: 100,
      rate: [{ limit: 2, interval: 1000 }, { limit: 5, interval: 60_000 }],
    });
    let started = 0;
    const tasks = Array.from({ length: 6 }, () => s.run(() => {
      started++;
    }));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(started).toBe(5);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(started).toBe(5);
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(tasks);
    expect(started).toBe(6);
  });

  it('charges token windows with the task\'s tokens and refunds what ctx.reportTokens gives back', async () => {
    const s = new Scheduler({ concurrency: 10, rate: { limit: 1000, interval: 60_000, cost: 'tokens' } });
    let started = 0;
    const big = s.run((ctx) => {
      started++;
      ctx.reportTokens(100);
    }, { tokens: 900 });
    const next = s.run(() => {
      started++;
    }, { tokens: 800 });
    await flush();
    await big;
    // 900 charged, 800 refunded: the second task fits at once.
    await vi.advanceTimersByTimeAsync(1);
    await next;
    expect(started).toBe(2);
  });

  it('rejects tokens larger than a window can ever hold with RangeError at run()', async () => {
    const s = new Scheduler({ concurrency: 1, rate: { limit: 100, interval: 1000, cost: 'tokens' } });
    await expect(s.run(() => 1, { tokens: 101 })).rejects.toBeInstanceOf(RangeError);
    expect(s.stats().queued).toBe(0);
  });

  it('keeps no timer once the work is done', async () => {
    const s = new Scheduler({ concurrency: 10, rate: { limit: 1, interval: 1000 } });
    const tasks = [s.run(() => 1), s.run(() => 2)];
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(tasks);
    await s.onIdle();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Scheduler breaker', () => {
  it('opens after failureThreshold failures and then refuses without calling the task', async () => {
    const s = new Scheduler({ concurrency: 1, breaker: { failureThreshold: 2, halfOpenAfter: 1000 } });
    const fn = vi.fn(() => Promise.reject(http(500)));
    await expect(s.run(fn)).rejects.toMatchObject({ status: 500 });
    await expect(s.run(fn)).rejects.toMatchObject({ status: 500 });
    await expect(s.run(fn)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(s.run(() => 'probe')).resolves.toBe('probe');
  });

  it('keeps one breaker per key', async () => {
    const s = new Scheduler({ concurrency: 1, breaker: { failureThreshold: 1, halfOpenAfter: 1000 } });
    await expect(s.run(() => Promise.reject(http(500)), { key: 'down' })).rejects.toMatchObject({ status: 500 });
    await expect(s.run(() => 'x', { key: 'down' })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(await s.run(() => 'fine', { key: 'up' })).toBe('fine');
  });

  it('with retries, an open breaker makes tasks wait for the probe instead of failing', async () => {
    const s = new Scheduler({
      concurrency: 1, breaker: { failureThreshold: 1, halfOpenAfter: 500 }, retry: { retries: 3, minDelay: 1 },
    });
    let calls = 0;
    const task = s.run(() => {
      calls++;
      if (calls === 1) throw http(500);
      return 'recovered';
    });
    await vi.advanceTimersByTimeAsync(2000);
    expect(await task).toBe('recovered');
    expect(calls).toBe(2);
  });
});

describe('Scheduler resilience: bad input', () => {
  it.each([
    ['a zero rate', { rate: { limit: 0, interval: 1000 } }, RangeError],
    ['a negative interval', { rate: { limit: 5, interval: -1 } }, RangeError],
    ['burst below 1', { rate: { limit: 5, interval: 1000, burst: 0.5 } }, RangeError],
    ['negative retries', { retry: { retries: -1 } }, RangeError],
    ['fractional retries', { retry: { retries: 1.5 } }, RangeError],
    ['an unknown jitter', { retry: { jitter: 'some' } }, TypeError],
    ['a retry signal', { retry: { signal: new AbortController().signal } }, TypeError],
    ['a breaker without threshold', { breaker: { halfOpenAfter: 10 } }, TypeError],
  ])('the constructor throws for %s', (_name, extra, type) => {
    expect(() => new Scheduler({ concurrency: 1, ...(extra as object) })).toThrow(type);
  });

  it('rejects reportTokens with a negative count', async () => {
    const s = new Scheduler({ concurrency: 1 });
    await expect(s.run((ctx) => ctx.reportTokens(-1))).rejects.toBeInstanceOf(RangeError);
  });

  it('rejects bad per-task retry options at run() and changes no state', async () => {
    const s = new Scheduler({ concurrency: 1 });
    await expect(s.run(() => 1, { retry: { retries: -2 } })).rejects.toBeInstanceOf(RangeError);
    await expect(s.run(() => 1, { tokens: -5 })).rejects.toBeInstanceOf(RangeError);
    expect(s.stats()).toMatchObject({ queued: 0, running: 0, completed: 0 });
  });

  it('a gate keeps the slot while other tasks wait on a paused scheduler', async () => {
    const s = new Scheduler({ concurrency: 2 });
    s.pauseFor(1000);
    const gate = deferred();
    const task = s.run(() => gate.promise);
    await vi.advanceTimersByTimeAsync(999);
    expect(s.stats().running).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.stats().running).toBe(1);
    gate.resolve();
    await task;
  });
});
