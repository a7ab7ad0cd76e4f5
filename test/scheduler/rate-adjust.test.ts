import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../lib/index.js';
import { flush } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Scheduler.setRateLimit', () => {
  it('a lowered window holds queued tasks back; a raised one starts them at once', async () => {
    const s = new Scheduler({ concurrency: 10, rate: { limit: 4, interval: 1_000 } });
    const started: number[] = [];
    s.setRateLimit(0, 2);
    const all = Array.from({ length: 6 }, (_, i) => s.run(() => started.push(i)));
    await flush();
    expect(started).toEqual([0, 1]);
    s.setRateLimit(0, 5);
    await flush();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(all);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a queued task estimated above a lowered token window still runs, charged the window\'s capacity', async () => {
    const s = new Scheduler({ concurrency: 1, rate: { limit: 1_000, interval: 1_000, cost: 'tokens' } });
    let release!: () => void;
    const first = s.run(() => new Promise<void>((resolve) => (release = resolve)), { tokens: 100 });
    const big = s.run(() => 'big', { tokens: 800 });
    s.setRateLimit(0, 500);
    release();
    await first;
    // 100 of 500 are in use: the big task waits for them to leave the window, then runs.
    await flush();
    expect(s.stats().queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await big).toBe('big');
    // New estimates are checked against the window as it is now.
    await expect(s.run(() => 1, { tokens: 600 })).rejects.toThrow(RangeError);
  });

  it('refuses without rate windows, or for a window that does not exist', () => {
    expect(() => new Scheduler({ concurrency: 1 }).setRateLimit(0, 5)).toThrow(RangeError);
    const s = new Scheduler({ concurrency: 1, rate: { limit: 5, interval: 1_000 } });
    expect(() => s.setRateLimit(1, 5)).toThrow(RangeError);
    expect(() => s.setRateLimit(0, -1)).toThrow(RangeError);
  });
});
