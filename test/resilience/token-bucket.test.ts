import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueueFullError } from '../../lib/errors.js';
import { TokenBucket } from '../../lib/resilience/token-bucket.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Records the fake-clock time at which each promise resolves. */
function grantTimes(promises: Promise<void>[]): number[] {
  const times: number[] = new Array(promises.length).fill(Number.NaN);
  const start = performance.now();
  promises.forEach((p, i) => p.then(() => { times[i] = performance.now() - start; }, () => {}));
  return times;
}

describe('TokenBucket', () => {
  it('starts full and refuses beyond burst', () => {
    const bucket = new TokenBucket({ rate: 1, burst: 5 });
    expect(bucket.tryTake(5)).toBe(true);
    expect(bucket.tryTake(1)).toBe(false);
  });

  it('refills continuously with elapsed time', () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.tryTake(5);
    vi.advanceTimersByTime(250);
    expect(bucket.tokens).toBeCloseTo(2.5);
  });

  it('never refills past burst however long it idles', () => {
    const bucket = new TokenBucket({ rate: 1000, burst: 5 });
    bucket.tryTake(3);
    vi.advanceTimersByTime(3_600_000);
    expect(bucket.tokens).toBe(5);
  });

  it('grants a waiter as soon as its tokens accrue, with no idle gaps between waiters', async () => {
    const bucket = new TokenBucket({ rate: 10, burst: 1 });
    const times = grantTimes(Array.from({ length: 50 }, () => bucket.take()));
    let maxTimers = 0;
    for (let t = 0; t < 5_000; t += 10) {
      await vi.advanceTimersByTimeAsync(10);
      maxTimers = Math.max(maxTimers, vi.getTimerCount());
    }
    expect(times).toEqual(Array.from({ length: 50 }, (_, k) => k * 100));
    expect(maxTimers).toBeLessThanOrEqual(1);
  });

  it('serves waiters in arrival order, a heavy head before light ones behind it', async () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.tryTake(5);
    const order: string[] = [];
    const heavy = bucket.take(5).then(() => order.push('heavy'));
    const light = bucket.take(1).then(() => order.push('light'));
    await vi.advanceTimersByTimeAsync(500);
    expect(order).toEqual(['heavy']);
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all([heavy, light]);
    expect(order).toEqual(['heavy', 'light']);
  });

  it('never hands out more than burst + rate * t in any stretch of simulated minutes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ rate: fc.integer({ min: 1, max: 50 }), burst: fc.integer({ min: 1, max: 20 }) }),
        fc.array(
          fc.record({ gap: fc.integer({ min: 0, max: 2_000 }), share: fc.double({ min: 0.1, max: 1, noNaN: true }), wait: fc.boolean() }),
          { minLength: 1, maxLength: 200 },
        ),
        async ({ rate, burst }, calls) => {
          const bucket = new TokenBucket({ rate, burst });
          const grants: Array<{ at: number; n: number }> = [];
          const pending: Promise<unknown>[] = [];
          for (const { gap, share, wait } of calls) {
            await vi.advanceTimersByTimeAsync(gap);
            const n = share * burst;
            if (wait) pending.push(bucket.take(n).then(() => grants.push({ at: performance.now(), n })));
            else if (bucket.tryTake(n)) grants.push({ at: performance.now(), n });
          }
          await vi.advanceTimersByTimeAsync(5 * 60_000);
          await Promise.all(pending);
          expect(bucket.waiting).toBe(0);
          expect(vi.getTimerCount()).toBe(0);
          // Every window [grants[i].at, grants[j].at] obeys the bound, not just the one from the start.
          for (let i = 0; i < grants.length; i++) {
            let sum = 0;
            for (let j = i; j < grants.length; j++) {
              sum += grants[j]!.n;
              expect(sum).toBeLessThanOrEqual(burst + (rate * (grants[j]!.at - grants[i]!.at)) / 1000 + 1e-6);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('removes an aborted waiter at once and rejects it with the reason', async () => {
    const bucket = new TokenBucket({ rate: 1, burst: 1 });
    bucket.tryTake();
    const controller = new AbortController();
    const taken = bucket.take(1, { signal: controller.signal });
    expect(bucket.waiting).toBe(1);
    controller.abort('no longer needed');
    expect(bucket.waiting).toBe(0);
    await expect(taken).rejects.toBe('no longer needed');
  });

  it('lets the next waiter go at once when an aborted head was blocking it', async () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.tryTake(5);
    await vi.advanceTimersByTimeAsync(200);
    const controller = new AbortController();
    const head = bucket.take(5, { signal: controller.signal });
    head.catch(() => {});
    let lightDone = false;
    void bucket.take(1).then(() => { lightDone = true; });
    await vi.advanceTimersByTimeAsync(0);
    expect(lightDone).toBe(false);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(lightDone).toBe(true);
  });

  it('rejects an already-aborted take without taking tokens', async () => {
    const bucket = new TokenBucket({ rate: 1, burst: 1 });
    await expect(bucket.take(1, { signal: AbortSignal.abort('gone') })).rejects.toBe('gone');
    expect(bucket.tokens).toBe(1);
  });

  it('leaves no timer once the last waiter is granted or aborted', async () => {
    const bucket = new TokenBucket({ rate: 10, burst: 1 });
    bucket.tryTake();
    const granted = bucket.take();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    await granted;
    expect(vi.getTimerCount()).toBe(0);
    const controller = new AbortController();
    bucket.take(1, { signal: controller.signal }).catch(() => {});
    expect(vi.getTimerCount()).toBe(1);
    controller.abort();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses tryTake while takers are queued, even with tokens free', async () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.tryTake(5);
    void bucket.take(5);
    await vi.advanceTimersByTimeAsync(100);
    expect(bucket.tokens).toBeCloseTo(1);
    expect(bucket.tryTake(1)).toBe(false);
  });

  it('grants nothing during pauseFor and accrues nothing either', async () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.tryTake(5);
    bucket.pauseFor(1_000);
    const times = grantTimes([bucket.take(1)]);
    await vi.advanceTimersByTimeAsync(1_099);
    expect(times[0]).toBeNaN();
    await vi.advanceTimersByTimeAsync(1);
    expect(times[0]).toBe(1_100);
  });

  it('holds back tokens already in the bucket during a pause', () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.pauseFor(300);
    expect(bucket.tryTake(1)).toBe(false);
    expect(bucket.timeUntil(1)).toBe(300);
    vi.advanceTimersByTime(300);
    expect(bucket.tryTake(1)).toBe(true);
  });

  it('extends a pause but never shortens it', () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.pauseFor(1_000);
    bucket.pauseFor(200);
    expect(bucket.timeUntil(1)).toBe(1_000);
    vi.advanceTimersByTime(500);
    bucket.pauseFor(2_000);
    expect(bucket.timeUntil(1)).toBe(2_000);
  });

  it('wakes a waiter at once on refund', async () => {
    const bucket = new TokenBucket({ rate: 1, burst: 2 });
    bucket.tryTake(2);
    let done = false;
    void bucket.take(2).then(() => { done = true; });
    bucket.refund(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
  });

  it('never refunds above burst', () => {
    const bucket = new TokenBucket({ rate: 1, burst: 3 });
    bucket.tryTake(1);
    bucket.refund(10);
    expect(bucket.tokens).toBe(3);
  });

  it('lets debit drive the level negative so later takes wait longer', () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    bucket.debit(10);
    expect(bucket.tokens).toBe(-5);
    expect(bucket.timeUntil(1)).toBeCloseTo(600);
    expect(bucket.timeUntil(0)).toBeCloseTo(500);
  });

  it('re-arms a waiting taker later after a debit', async () => {
    const bucket = new TokenBucket({ rate: 10, burst: 1 });
    bucket.tryTake();
    const times = grantTimes([bucket.take()]);
    bucket.debit(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(times[0]).toBeNaN();
    await vi.advanceTimersByTimeAsync(1);
    expect(times[0]).toBe(200);
  });

  it('reports timeUntil as 0 when tokens are there', () => {
    const bucket = new TokenBucket({ rate: 10, burst: 5 });
    expect(bucket.timeUntil(5)).toBe(0);
    bucket.tryTake(5);
    expect(bucket.timeUntil(2)).toBeCloseTo(200);
  });

  it('rejects a take larger than burst with RangeError instead of hanging', async () => {
    const bucket = new TokenBucket({ rate: 1, burst: 5 });
    await expect(bucket.take(6)).rejects.toThrow(RangeError);
    expect(() => bucket.tryTake(6)).toThrow(RangeError);
    expect(() => bucket.timeUntil(6)).toThrow(RangeError);
    expect(bucket.waiting).toBe(0);
  });

  it.each([
    ['zero', 0, RangeError],
    ['negative', -1, RangeError],
    ['NaN', Number.NaN, TypeError],
    ['Infinity', Infinity, RangeError],
    ['a string', '1', TypeError],
  ])('rejects a take of %s tokens', async (_name, n, type) => {
    const bucket = new TokenBucket({ rate: 1, burst: 5 });
    await expect(bucket.take(n as number)).rejects.toThrow(type);
  });

  it.each([
    ['rate 0', { rate: 0, burst: 1 }, RangeError],
    ['infinite rate', { rate: Infinity, burst: 1 }, RangeError],
    ['burst below 1', { rate: 1, burst: 0.5 }, RangeError],
    ['missing burst', { rate: 1 }, TypeError],
    ['fractional maxWaiting', { rate: 1, burst: 1, maxWaiting: 1.5 }, RangeError],
    ['no options', undefined, TypeError],
  ])('rejects construction with %s', (_name, options, type) => {
    expect(() => new TokenBucket(options as never)).toThrow(type);
  });

  it('refuses takers beyond maxWaiting with QueueFullError', async () => {
    const bucket = new TokenBucket({ rate: 1, burst: 1, maxWaiting: 2 });
    bucket.tryTake();
    void bucket.take();
    void bucket.take();
    await expect(bucket.take()).rejects.toBeInstanceOf(QueueFullError);
  });

  it('takes from an injected clock', () => {
    let t = 0;
    const bucket = new TokenBucket({ rate: 2, burst: 4, now: () => t });
    bucket.tryTake(4);
    t = 1_000;
    expect(bucket.tokens).toBe(2);
  });
});
