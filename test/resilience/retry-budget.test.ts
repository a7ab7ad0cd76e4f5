import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../lib/resilience/retry-budget.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const spend = (budget: RetryBudget, max = 10_000): number => {
  let n = 0;
  while (n < max && budget.tryRetry()) n++;
  return n;
};

describe('RetryBudget', () => {
  it('allows minPerSecond * window seconds retries with no traffic at all', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 2, windowMs: 5_000, now: clock().now });
    expect(spend(budget)).toBe(10);
  });

  it('allows ratio retries per recorded attempt on top of the floor', () => {
    const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 0, now: clock().now });
    for (let i = 0; i < 100; i++) budget.recordAttempt();
    expect(spend(budget)).toBe(10);
  });

  it('refuses once spent, until new attempts earn more', () => {
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, now: clock().now });
    budget.recordAttempt();
    budget.recordAttempt();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    budget.recordAttempt();
    budget.recordAttempt();
    expect(budget.tryRetry()).toBe(true);
  });

  it('forgets retries once they leave the sliding window', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, windowMs: 1_000, now: c.now });
    expect(spend(budget)).toBe(1);
    c.advance(999);
    expect(budget.tryRetry()).toBe(false);
    c.advance(1);
    expect(budget.tryRetry()).toBe(true);
  });

  it('forgets attempts once they leave the sliding window', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000, now: c.now });
    for (let i = 0; i < 5; i++) budget.recordAttempt();
    c.advance(1_000);
    expect(budget.available).toBe(0);
    expect(budget.tryRetry()).toBe(false);
  });

  it('reuses slots after long idle gaps without counting stale entries', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000, now: c.now });
    for (let i = 0; i < 5; i++) budget.recordAttempt();
    c.advance(10_000 * 1_000);
    budget.recordAttempt();
    expect(budget.available).toBe(1);
  });

  it('uses defaults ratio 0.1, windowMs 10s, minPerSecond 1', () => {
    const budget = new RetryBudget({ now: clock().now });
    expect([budget.ratio, budget.windowMs, budget.minPerSecond]).toEqual([0.1, 10_000, 1]);
    expect(budget.available).toBe(10);
  });

  it.each([
    ['negative ratio', { ratio: -0.1 }, RangeError],
    ['zero window', { windowMs: 0 }, RangeError],
    ['negative floor', { minPerSecond: -1 }, RangeError],
    ['non-numeric ratio', { ratio: '0.1' }, TypeError],
    ['non-function clock', { now: 5 }, TypeError],
  ])('rejects %s', (_name, options, type) => {
    expect(() => new RetryBudget(options as never)).toThrow(type);
  });
});
