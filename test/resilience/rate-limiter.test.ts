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
    expect(limiter.timeUntil(21)).toBeCloseTo(10);
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
    expect(limiter.timeUntil(50)).toBeCloseTo(500);
    limiter.tryTake(0);
    limiter.tryTake(0);
    vi.advanceTimersByTime(500);
    expect(limiter.timeUntil(0)).toBe(0);
    expect(limiter.timeUntil(60)).toBeCloseTo(100);
  });

  it('derives rate from limit / interval with burst defaulting to limit', () => {
    const limiter = new RateLimiter({ limit: 60, interval: 60_000 });
    for (let i = 0; i < 60; i++) expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);
    expect(limiter.timeUntil()).toBeCloseTo(1_000);
  });

  it('honours an explicit burst below the limit', () => {
    const limiter = new RateLimiter({ limit: 60, interval: 60_000, burst: 2 });
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);
  });

  it('take waits until every window allows the call, in FIFO order', async () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.tryTake(100);
    const order: number[] = [];
    const first = limiter.take(50).then(() => order.push(performance.now()));
    const second = limiter.take(10).then(() => order.push(performance.now()));
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all([first, second]);
    expect(order).toEqual([500, 600]);
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
    limiter.debit(100);
    expect(limiter.tryTake(0)).toBe(false);
    expect(limiter.timeUntil(0)).toBeCloseTo(500);
  });

  it('pauses every window', () => {
    const limiter = new RateLimiter(rpmTpm);
    limiter.pauseFor(2_000);
    expect(limiter.tryTake(1)).toBe(false);
    expect(limiter.timeUntil(1)).toBe(2_000);
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
