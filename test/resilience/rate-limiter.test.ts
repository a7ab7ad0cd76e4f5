import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter, type RateOptions } from '../../lib/resilience/rate-limiter.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

// 3 requests and 100 tokens per second.
const rpmTpm: RateOptions[] = [
  { limit: 3, interval: 1_000 },
  { limit: 100, interval: 1_000, cost: 'tokens' },
];

describe('RateLimiter', () => {
  it('takes from every window when all allow it', () => {
    const limiter = new RateLimiter(rpmTpm);
    expect(limiter.tryTake(40)).toBe(true);
    expect(limiter.tryTake(40)).toBe(true);
    expect(limiter.timeUntil(20)).toBe(0);
    // Sliding windows: room comes back when the first charge leaves the window.
    expect(limiter.timeUntil(21)).toBe(1_000);
  });

  it('takes nothing from any window when one refuses', () => {
    const limiter = new RateLimiter(rpmTpm);
    expect(limiter.tryTake(90)).toBe(true);
    expect(limiter.tryTake(50)).toBe(false);
    // The request window was not charged by the refusal: two requests remain.
    expect(limiter.tryTake(5)).toBe(true);
    expect(limiter.tryTake(5)).toBe(true);
    expect(limiter.tryTake(0)).toBe(false);
  });

  it('reports the wait of the slowest window', () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.tryTake(100);
    vi.advanceTimersByTime(300);
    limiter.tryTake(0);
    limiter.tryTake(0);
    // The token window frees at 1000, the request window (3 taken) only at 1000 too.
    expect(limiter.timeUntil(50)).toBe(700);
    vi.advanceTimersByTime(700);
    // The 100 tokens left; two requests from t=300 are still in the window.
    expect(limiter.timeUntil(0)).toBe(0);
    expect(limiter.timeUntil(100)).toBe(0);
  });

  it('allows the whole limit at once and no more within any interval', () => {
    const limiter = new RateLimiter({ limit: 60, interval: 60_000 });
    for (let i = 0; i < 60; i++) expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);
    expect(limiter.timeUntil()).toBe(60_000);
  });

  it('never grants more than the limit in any window over simulated minutes', () => {
    const limiter = new RateLimiter({ limit: 10, interval: 1_000 });
    const grants: number[] = [];
    for (let t = 0; t < 180_000; t += 37) {
      while (limiter.tryTake()) grants.push(performance.now());
      vi.advanceTimersByTime(37);
    }
    for (let i = 10; i < grants.length; i++) expect(grants[i]! - grants[i - 10]!).toBeGreaterThanOrEqual(1_000);
    // No idle gaps: every grant came at the first 37 ms tick after a slot freed.
    expect(grants.length).toBeGreaterThan(1_700);
  });

  it('honours an explicit burst below the limit by spreading the allowance', () => {
    const limiter = new RateLimiter({ limit: 60, interval: 60_000, burst: 2 });
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);
    expect(limiter.timeUntil()).toBeCloseTo(1_000);
  });

  it('take waits until every window allows the call, in FIFO order', async () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.tryTake(100);
    const order: number[] = [];
    const first = limiter.take(50).then(() => order.push(performance.now()));
    const second = limiter.take(10).then(() => order.push(performance.now()));
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all([first, second]);
    expect(order).toEqual([1_000, 1_000]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('removes an aborted take from the queue', async () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.tryTake(100);
    const controller = new AbortController();
    const taken = limiter.take(50, { signal: controller.signal });
    controller.abort('cancelled');
    await expect(taken).rejects.toBe('cancelled');
    expect(limiter.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refunds unused tokens to token windows only', () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.tryTake(100);
    limiter.refund(60);
    expect(limiter.tryTake(60)).toBe(true);
    expect(limiter.tryTake(0)).toBe(true);
    expect(limiter.tryTake(0)).toBe(false);
  });

  it('debits extra tokens so a token window in debt holds back even zero-token calls', () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.tryTake(50);
    vi.advanceTimersByTime(200);
    limiter.debit(100);
    expect(limiter.tryTake(0)).toBe(false);
    // 150 in a window of 100: the first 50 must leave (at t=1000).
    expect(limiter.timeUntil(0)).toBe(800);
  });

  it('pauses every window', () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.pauseFor(2_000);
    expect(limiter.tryTake(1)).toBe(false);
    expect(limiter.timeUntil(1)).toBe(2_000);
  });

  it('a charge corrected after the fact frees or takes room in the window it was made in', () => {
    const limiter = new RateLimiter(rpmTpm);
    const charge = limiter.tryAcquire(90)!;
    expect(limiter.timeUntil(50)).toBe(1_000);
    charge.adjust(10);
    expect(limiter.timeUntil(50)).toBe(0);
    charge.adjust(100);
    expect(limiter.timeUntil(1)).toBe(1_000);
  });

  it('rejects a token cost larger than a window can ever hold', async () => {
    const limiter = new RateLimiter(rpmTpm);
    expect(() => limiter.tryTake(101)).toThrow(RangeError);
    expect(() => limiter.timeUntil(101)).toThrow(RangeError);
    await expect(limiter.take(101)).rejects.toThrow(RangeError);
  });

  it.each([
    ['no windows', [], RangeError],
    ['a non-object window', [5], TypeError],
    ['zero limit', { limit: 0, interval: 1_000 }, RangeError],
    ['zero interval', { limit: 1, interval: 0 }, RangeError],
    ['unknown cost', { limit: 1, interval: 1_000, cost: 'bytes' }, TypeError],
    ['burst below 1', { limit: 10, interval: 1_000, burst: 0 }, RangeError],
  ])('rejects %s', (_name, rate, type) => {
    expect(() => new RateLimiter(rate as never)).toThrow(type);
  });
});

describe('RateLimiter.setLimit', () => {
  it('lowers a window at run time: charges already taken still count against the new limit', () => {
    const limiter = new RateLimiter({ limit: 5, interval: 1_000 });
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(true);
    limiter.setLimit(0, 2);
    expect(limiter.tryTake()).toBe(false);
    expect(limiter.timeUntil()).toBe(1_000);
    vi.advanceTimersByTime(1_000);
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);
  });

  it('raising a window wakes takers queued behind it', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 60_000 });
    expect(limiter.tryTake()).toBe(true);
    let granted = 0;
    const waiting = [limiter.take(), limiter.take()].map((p) => p.then(() => granted++));
    await Promise.resolve();
    expect(granted).toBe(0);
    limiter.setLimit(0, 3);
    await Promise.all(waiting);
    expect(granted).toBe(2);
  });

  it('keeps a token bucket\'s spent tokens when the limit changes under a burst', () => {
    const limiter = new RateLimiter({ limit: 100, interval: 1_000, burst: 10, cost: 'tokens' });
    expect(limiter.tryTake(10)).toBe(true);
    limiter.setLimit(0, 200);
    // Still empty: the new bucket refills at 0.2 tokens/ms, so 10 tokens take 50 ms.
    expect(limiter.tryTake(1)).toBe(false);
    expect(limiter.timeUntil(10)).toBeCloseTo(50, 5);
    expect(limiter.describeWindows()).toEqual([{ limit: 200, interval: 1_000, burst: 10, cost: 'tokens' }]);
  });

  it('a burst given with the new limit replaces the old one; without one it follows the limit', () => {
    const limiter = new RateLimiter([{ limit: 10, interval: 1_000 }, { limit: 50, interval: 1_000, cost: 'tokens' }]);
    limiter.setLimit(1, 40, 20);
    expect(limiter.tokenCapacity()).toBe(20);
    limiter.setLimit(0, 4);
    expect(limiter.describeWindows()).toEqual([
      { limit: 4, interval: 1_000, cost: 'requests' },
      { limit: 40, interval: 1_000, burst: 20, cost: 'tokens' },
    ]);
  });

  it.each([
    ['an index past the windows', 1, 5, RangeError],
    ['a negative index', -1, 5, RangeError],
    ['a fractional index', 0.5, 5, RangeError],
    ['a zero limit', 0, 0, RangeError],
    ['a non-number limit', 0, '5', TypeError],
  ] as const)('refuses %s', (_name, index, limit, type) => {
    const limiter = new RateLimiter({ limit: 5, interval: 1_000 });
    expect(() => limiter.setLimit(index, limit as number)).toThrow(type);
    expect(limiter.describeWindows()).toEqual([{ limit: 5, interval: 1_000, cost: 'requests' }]);
  });
});

describe('RateLimiter.setLimit with takers queued', () => {
  it('a taker queued with more tokens than a lowered window holds is charged the window\'s capacity', async () => {
    const limiter = new RateLimiter({ limit: 100, interval: 1_000, cost: 'tokens' });
    expect(limiter.tryTake(30)).toBe(true);
    let granted = false;
    const big = limiter.take(90).then(() => (granted = true));
    limiter.setLimit(0, 50);
    await vi.advanceTimersByTimeAsync(999);
    expect(granted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await big;
    // It took the whole window: nothing more fits until it leaves.
    expect(limiter.timeUntil(1)).toBe(1_000);
  });
});
