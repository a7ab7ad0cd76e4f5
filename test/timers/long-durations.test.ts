// Every timer site with delays setTimeout cannot hold: Infinity arms nothing, 2^31 and
// 2^33 ms are waited out in full (before lib/timer.ts each of these fired after 1 ms).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter, Scheduler, Semaphore, TimeoutError, TokenBucket, retry } from '../../lib/index.js';
import { flush } from '../scheduler/helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const LONG = [2 ** 31, 2 ** 33] as const;
const never = (): Promise<never> => new Promise<never>(() => {});

/** Settles-or-not probe for a promise, without awaiting it. */
function watch(p: Promise<unknown>): { state: () => 'pending' | 'fulfilled' | 'rejected'; reason: () => unknown } {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  let reason: unknown;
  p.then(() => (state = 'fulfilled'), (err: unknown) => {
    state = 'rejected';
    reason = err;
  });
  return { state: () => state, reason: () => reason };
}

async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await flush();
}

describe('Scheduler timeouts', () => {
  it.each(LONG)('a %d ms timeout fires then, not sooner', async (ms) => {
    const s = new Scheduler({ concurrency: 1, timeout: ms });
    const w = watch(s.run(never));
    await advance(ms - 1);
    expect(w.state()).toBe('pending');
    await advance(1);
    expect(w.state()).toBe('rejected');
    expect(w.reason()).toBeInstanceOf(TimeoutError);
  });

  it('an Infinity timeout arms no timer', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const w = watch(s.run(never, { timeout: Infinity }));
    await flush();
    expect(vi.getTimerCount()).toBe(0);
    await advance(2 ** 40);
    expect(w.state()).toBe('pending');
  });
});

describe('Scheduler pauses', () => {
  it.each([undefined, 'tenant'])('pauseFor(2^33, %s) holds the task 2^33 ms', async (key) => {
    const s = new Scheduler({ concurrency: 1 });
    s.pauseFor(2 ** 33, key);
    const started = vi.fn();
    const done = s.run(started, key === undefined ? undefined : { key });
    await advance(2 ** 33 - 1);
    expect(started).not.toHaveBeenCalled();
    await advance(1);
    await done;
    expect(started).toHaveBeenCalledTimes(1);
  });

  it.each([undefined, 'tenant'])('pauseFor(Infinity, %s) arms no timer and never starts the task', async (key) => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 1 } });
    s.pauseFor(Infinity, key);
    const started = vi.fn();
    const w = watch(s.run(started, key === undefined ? undefined : { key }));
    await flush();
    // Before: the wake-up timer re-armed itself every millisecond.
    expect(vi.getTimerCount()).toBe(0);
    await advance(2 ** 40);
    expect(started).not.toHaveBeenCalled();
    s.clear();
    await flush();
    expect(w.state()).toBe('rejected');
  });

  it('a rate window of 2^33 ms holds the next start for the whole window (wake-up timer)', async () => {
    const s = new Scheduler({ concurrency: 2, rate: { limit: 1, interval: 2 ** 33 } });
    const started: number[] = [];
    const all = [s.run(() => started.push(1)), s.run(() => started.push(2))];
    await advance(2 ** 33 - 1);
    expect(started).toEqual([1]);
    await advance(1);
    await Promise.all(all);
    expect(started).toEqual([1, 2]);
  });
});

describe('Scheduler retry sleeps', () => {
  it.each(LONG)('a Retry-After of %d ms is slept in full, not clamped', async (ms) => {
    const s = new Scheduler({ concurrency: 1 });
    let attempts = 0;
    const w = watch(s.run(() => {
      attempts++;
      if (attempts === 1) throw Object.assign(new Error('slow down'), { status: 429, retryAfterMs: ms });
      return 'ok';
    }, { retry: { retries: 1, minDelay: 0, maxDelay: 10 } }));
    await advance(ms - 1);
    expect(attempts).toBe(1);
    await advance(1);
    expect(attempts).toBe(2);
    expect(w.state()).toBe('fulfilled');
  });
});

describe('Semaphore timeouts', () => {
  it.each(LONG)('an acquire with a %d ms timeout waits that long', async (ms) => {
    const sem = new Semaphore(1);
    sem.tryAcquire();
    const w = watch(sem.acquire(1, { timeout: ms }));
    await advance(ms - 1);
    expect(w.state()).toBe('pending');
    await advance(1);
    expect(w.reason()).toBeInstanceOf(TimeoutError);
    expect(sem.waiting).toBe(0);
  });

  it('an Infinity timeout arms no timer', async () => {
    const sem = new Semaphore(1);
    const permit = sem.tryAcquire()!;
    const w = watch(sem.acquire(1, { timeout: Infinity }));
    expect(vi.getTimerCount()).toBe(0);
    permit.release();
    await flush();
    expect(w.state()).toBe('fulfilled');
  });
});

describe('TokenBucket and RateLimiter waits', () => {
  it.each(LONG)('a bucket paused for %d ms grants nothing until then', async (ms) => {
    const bucket = new TokenBucket({ rate: 1_000, burst: 1 });
    bucket.pauseFor(ms);
    const w = watch(bucket.take(1));
    await advance(ms - 1);
    expect(w.state()).toBe('pending');
    // The pause accrues nothing: one token takes 1 ms once it ends.
    await advance(2);
    expect(w.state()).toBe('fulfilled');
  });

  it('a bucket paused for Infinity arms no timer; an abort still answers the taker', async () => {
    const bucket = new TokenBucket({ rate: 1_000, burst: 1 });
    bucket.pauseFor(Infinity);
    const controller = new AbortController();
    const w = watch(bucket.take(1, { signal: controller.signal }));
    await flush();
    expect(vi.getTimerCount()).toBe(0);
    controller.abort();
    await flush();
    expect(w.state()).toBe('rejected');
  });

  it.each(LONG)('a rate window of %d ms makes the next taker wait the whole window', async (ms) => {
    const limiter = new RateLimiter({ limit: 1, interval: ms });
    expect(limiter.tryTake()).toBe(true);
    const w = watch(limiter.take());
    await advance(ms - 1);
    expect(w.state()).toBe('pending');
    await advance(1);
    expect(w.state()).toBe('fulfilled');
  });
});

describe('retry() sleeps', () => {
  it('a Retry-After of 2^33 ms is slept in full', async () => {
    let attempts = 0;
    const w = watch(retry(() => {
      attempts++;
      if (attempts === 1) return Promise.reject(Object.assign(new Error('busy'), { status: 503, retryAfterMs: 2 ** 33 }));
      return Promise.resolve('ok');
    }, { retries: 1, minDelay: 0, maxDelay: 10 }));
    await advance(2 ** 33 - 1);
    expect(attempts).toBe(1);
    await advance(1);
    expect(attempts).toBe(2);
    expect(w.state()).toBe('fulfilled');
  });
});
