// retry()'s hooks (onRetry, onGiveUp), retries on a returned value (retryOnResult) and
// decorrelated jitter, under fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, backoffSequence, normalizeRetryOptions, retry, type BackoffOptions, type GiveUpEvent, type RetryEvent } from '../../lib/resilience/retry.js';
import { RetryBudget } from '../../lib/resilience/retry-budget.js';

const transient = (message = 'reset'): Error => Object.assign(new Error(message), { code: 'ECONNRESET' });

// A repeatable stream of draws in [0, 1), so spreads are measured the same way every run.
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('retry hooks', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls onRetry before each backoff with the failed attempt, its error and the delay it then waits', async () => {
    const events: RetryEvent[] = [];
    const calls: number[] = [];
    const errors = [transient('one'), transient('two')];
    const result = retry(({ attempt }) => {
      calls.push(Date.now());
      if (attempt <= 2) throw errors[attempt - 1];
      return 'ok';
    }, { minDelay: 100, jitter: 'none', onRetry: (e) => events.push(e) });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(events).toEqual([
      { error: errors[0], attempt: 1, delay: 100 },
      { error: errors[1], attempt: 2, delay: 200 },
    ]);
    expect([calls[1]! - calls[0]!, calls[2]! - calls[1]!]).toEqual([100, 200]);
  });

  it('calls onGiveUp once, with the last error, when retries run out', async () => {
    const onGiveUp = vi.fn();
    const result = retry(({ attempt }) => {
      throw transient(`fail ${attempt}`);
    }, { retries: 2, minDelay: 1, jitter: 'none', onGiveUp });
    const check = expect(result).rejects.toThrow('fail 3');
    await vi.runAllTimersAsync();
    await check;
    expect(onGiveUp).toHaveBeenCalledTimes(1);
    expect(onGiveUp.mock.calls[0]![0]).toMatchObject({ attempt: 3, reason: 'retries', error: expect.objectContaining({ message: 'fail 3' }) });
  });

  it("calls onGiveUp with reason 'budget' when the retry budget refuses", async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 });
    const events: GiveUpEvent[] = [];
    const result = retry(() => {
      throw transient();
    }, { budget, retries: 5, minDelay: 1, onGiveUp: (e) => events.push(e) });
    const check = expect(result).rejects.toThrow('reset');
    await vi.runAllTimersAsync();
    await check;
    expect(events).toMatchObject([{ attempt: 2, reason: 'budget' }]);
  });

  it('does not call onGiveUp for a failure shouldRetry refuses, or on success', async () => {
    const onGiveUp = vi.fn();
    await expect(retry(() => {
      throw Object.assign(new Error('bad request'), { status: 400 });
    }, { onGiveUp })).rejects.toThrow('bad request');
    await expect(retry(() => 'fine', { onGiveUp })).resolves.toBe('fine');
    expect(onGiveUp).not.toHaveBeenCalled();
  });

  it('does not call onGiveUp when the caller aborts: the call rejects with the abort reason', async () => {
    const controller = new AbortController();
    const onGiveUp = vi.fn();
    const result = retry(() => {
      throw transient();
    }, { signal: controller.signal, minDelay: 1000, jitter: 'none', onGiveUp });
    const check = expect(result).rejects.toBe('stop');
    await vi.advanceTimersByTimeAsync(10);
    controller.abort('stop');
    await check;
    expect(onGiveUp).not.toHaveBeenCalled();
  });

  it('a throwing onRetry ends the call with what it threw, without another attempt or a timer', async () => {
    const hookError = new Error('hook broke');
    const fn = vi.fn(() => {
      throw transient();
    });
    await expect(retry(fn, { onRetry: () => { throw hookError; } })).rejects.toBe(hookError);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a throwing onGiveUp ends the call with what it threw', async () => {
    const hookError = new Error('hook broke');
    await expect(retry(() => {
      throw transient();
    }, { retries: 0, onGiveUp: () => { throw hookError; } })).rejects.toBe(hookError);
  });

  it('an onRetry that aborts the signal ends the call at once instead of sleeping first', async () => {
    const controller = new AbortController();
    const result = retry(() => {
      throw transient();
    }, { signal: controller.signal, minDelay: 20_000, jitter: 'none', onRetry: () => controller.abort('enough') });
    await expect(result).rejects.toBe('enough');
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['onRetry', { onRetry: 'log' }],
    ['onGiveUp', { onGiveUp: 1 }],
    ['retryOnResult', { retryOnResult: true }],
  ])('rejects a %s that is not a function with a TypeError', (_name, options) => {
    expect(() => normalizeRetryOptions(options as never)).toThrow(TypeError);
  });
});

describe('retry on a returned value', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries while retryOnResult accepts the value, then resolves with the first one it refuses', async () => {
    const seen: Array<[unknown, number]> = [];
    const result = retry(({ attempt }) => (attempt < 3 ? { status: 'pending' } : { status: 'done' }), {
      minDelay: 10,
      retryOnResult: (value, attempt) => {
        seen.push([value, attempt]);
        return (value as { status: string }).status === 'pending';
      },
    });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toEqual({ status: 'done' });
    expect(seen.map(([, attempt]) => attempt)).toEqual([1, 2, 3]);
  });

  it('resolves with the last value once retries run out, telling onGiveUp', async () => {
    const onGiveUp = vi.fn();
    const result = retry(({ attempt }) => `empty ${attempt}`, { retries: 2, minDelay: 1, retryOnResult: () => true, onGiveUp });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('empty 3');
    expect(onGiveUp).toHaveBeenCalledWith({ value: 'empty 3', attempt: 3, reason: 'retries' });
  });

  it('hands onRetry the value that was retried', async () => {
    const events: RetryEvent[] = [];
    const result = retry(({ attempt }) => attempt, { minDelay: 5, jitter: 'none', retryOnResult: (v) => v === 1, onRetry: (e) => events.push(e) });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe(2);
    expect(events).toEqual([{ value: 1, attempt: 1, delay: 5 }]);
  });

  it('waits the Retry-After of a returned response', async () => {
    const fn = vi.fn(({ attempt }: { attempt: number }) => ({ status: attempt === 1 ? 503 : 200, headers: { 'retry-after': '2' } }));
    const result = retry(fn, { minDelay: 10, maxDelay: 100, retryOnResult: (r) => (r as { status: number }).status === 503 });
    await vi.advanceTimersByTimeAsync(1999);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toMatchObject({ status: 200 });
  });

  it('a throwing retryOnResult ends the call with what it threw, not as a failed attempt', async () => {
    const predicateError = new Error('predicate broke');
    const fn = vi.fn(() => 'value');
    await expect(retry(fn, { shouldRetry: () => true, retryOnResult: () => { throw predicateError; } })).rejects.toBe(predicateError);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not retry values without retryOnResult', async () => {
    const fn = vi.fn(() => undefined);
    await expect(retry(fn)).resolves.toBeUndefined();
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe("jitter: 'decorrelated'", () => {
  const opts: BackoffOptions = { minDelay: 100, maxDelay: 30_000, factor: 2, jitter: 'decorrelated' };

  it('is accepted by normalizeRetryOptions', () => {
    expect(normalizeRetryOptions({ jitter: 'decorrelated' }).jitter).toBe('decorrelated');
  });

  it('never goes below 0 nor above maxDelay', () => {
    const random = lcg(7);
    const capped = { ...opts, maxDelay: 1_000 };
    for (let run = 0; run < 200; run++) {
      const next = backoffSequence(capped, random);
      for (let attempt = 1; attempt <= 12; attempt++) {
        const delay = next(attempt);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(1_000);
      }
    }
  });

  it('grows its median delay by about factor per retry', () => {
    const random = lcg(42);
    const runs = 4_000;
    const byAttempt: number[][] = Array.from({ length: 7 }, () => []);
    for (let run = 0; run < runs; run++) {
      const next = backoffSequence(opts, random);
      for (let attempt = 1; attempt <= 7; attempt++) byAttempt[attempt - 1]!.push(next(attempt));
    }
    const medians = byAttempt.map((delays) => delays.sort((a, b) => a - b)[runs / 2]!);
    for (let attempt = 4; attempt <= 7; attempt++) {
      const growth = medians[attempt - 1]! / medians[attempt - 2]!;
      expect(growth).toBeGreaterThan(1.7);
      expect(growth).toBeLessThan(2.3);
    }
  });

  it('chains each delay to the previous one: a late first draw makes the next step short', () => {
    const draws = [0.99, 0];
    const next = backoffSequence(opts, () => draws.shift()!);
    next(1);
    const chained = next(2);
    // The same second draw without the chain starts from a fresh previous draw.
    const unchained = backoffDelay(2, opts, undefined, (() => { const d = [0, 0]; return () => d.shift()!; })());
    expect(chained).toBeLessThan(5);
    expect(unchained).toBeGreaterThan(chained);
  });

  it('keeps a Retry-After as its floor', () => {
    const next = backoffSequence(opts, () => 0);
    expect(next(1, { retryAfterMs: 2_500 })).toBe(2_500);
    expect(backoffDelay(1, opts, { retryAfterMs: 2_500 }, () => 0)).toBe(2_500);
  });

  it('stays finite when the curve overflows, and is 0 with minDelay 0', () => {
    expect(backoffDelay(5_000, opts)).toBe(30_000);
    expect(backoffDelay(5_000, { ...opts, minDelay: 0 })).toBe(0);
    const next = backoffSequence(opts, () => 0.5);
    expect(next(4_000)).toBe(30_000);
  });

  it('drives retry(): every delay onRetry reports is one retry() waits', async () => {
    vi.useFakeTimers();
    try {
      const delays: number[] = [];
      const calls: number[] = [];
      const result = retry(({ attempt }) => {
        calls.push(Date.now());
        if (attempt < 5) throw transient();
        return 'ok';
      }, { retries: 5, minDelay: 100, jitter: 'decorrelated', onRetry: (e) => delays.push(e.delay) });
      await vi.runAllTimersAsync();
      await expect(result).resolves.toBe('ok');
      expect(delays).toHaveLength(4);
      const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
      gaps.forEach((gap, i) => expect(gap).toBeCloseTo(delays[i]!, -1));
    } finally {
      vi.useRealTimers();
    }
  });
});
