import { RetryError } from 'ai';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, normalizeRetryOptions, retry, type BackoffOptions } from '../../lib/resilience/retry.js';
import { RetryBudget } from '../../lib/resilience/retry-budget.js';

const base: BackoffOptions = { minDelay: 100, maxDelay: 1000, factor: 2, jitter: 'none' };
const transient = (message = 'reset'): Error => Object.assign(new Error(message), { code: 'ECONNRESET' });

describe('backoffDelay', () => {
  it('grows exponentially and caps at maxDelay without jitter', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, base))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('full jitter draws from [0, d]', () => {
    const opts = { ...base, jitter: 'full' } as const;
    expect(backoffDelay(3, opts, undefined, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, undefined, () => 0.5)).toBe(200);
    expect(backoffDelay(3, opts, undefined, () => 0.999)).toBeCloseTo(399.6);
  });

  it('equal jitter draws from [d/2, d]', () => {
    const opts = { ...base, jitter: 'equal' } as const;
    expect(backoffDelay(3, opts, undefined, () => 0)).toBe(200);
    expect(backoffDelay(3, opts, undefined, () => 0.5)).toBe(300);
  });

  it('does not call random when jitter is none', () => {
    const random = vi.fn(() => 0.5);
    backoffDelay(2, base, undefined, random);
    expect(random).not.toHaveBeenCalled();
  });

  it('stays finite when factor^attempt overflows', () => {
    expect(backoffDelay(5000, base)).toBe(1000);
    expect(backoffDelay(5000, { ...base, minDelay: 0 })).toBe(0);
  });

  it('uses Retry-After as a floor that jitter never goes below', () => {
    const err = { retryAfterMs: 700 };
    expect(backoffDelay(1, { ...base, jitter: 'full' }, err, () => 0)).toBe(700);
  });

  it('keeps a computed delay above the Retry-After floor', () => {
    expect(backoffDelay(4, base, { retryAfterMs: 50 })).toBe(800);
  });

  it('honours a Retry-After longer than maxDelay', () => {
    expect(backoffDelay(1, base, { headers: { 'retry-after': '5' } })).toBe(5000);
  });

  it('rejects a non-positive or fractional attempt', () => {
    expect(() => backoffDelay(0, base)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, base)).toThrow(RangeError);
  });
});

describe('normalizeRetryOptions', () => {
  it('fills the documented defaults', () => {
    const opts = normalizeRetryOptions();
    expect(opts).toMatchObject({ retries: 3, minDelay: 100, maxDelay: 30_000, factor: 2, jitter: 'full' });
  });

  it.each([
    ['retries -1', { retries: -1 }, RangeError],
    ['retries 1.5', { retries: 1.5 }, RangeError],
    ['retries as a string', { retries: '3' }, TypeError],
    ['retries NaN', { retries: Number.NaN }, TypeError],
    ['negative minDelay', { minDelay: -1 }, RangeError],
    ['infinite maxDelay', { maxDelay: Infinity }, RangeError],
    ['minDelay above maxDelay', { minDelay: 500, maxDelay: 100 }, RangeError],
    ['factor below 1', { factor: 0.5 }, RangeError],
    ['unknown jitter', { jitter: 'random' }, TypeError],
    ['shouldRetry not a function', { shouldRetry: true }, TypeError],
    ['signal not a signal', { signal: {} }, TypeError],
    ['budget not a RetryBudget', { budget: { tryRetry: () => true } }, TypeError],
  ])('throws synchronously for %s', (_name, options, type) => {
    expect(() => normalizeRetryOptions(options as never)).toThrow(type);
  });

  it('accepts Infinity retries', () => {
    expect(normalizeRetryOptions({ retries: Infinity }).retries).toBe(Infinity);
  });
});

describe('retry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns a rejected promise for bad options instead of throwing', async () => {
    const fn = vi.fn(async () => 1);
    const result = retry(fn, { retries: -1 });
    await expect(result).rejects.toThrow(RangeError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('resolves once a transient failure clears, numbering attempts from 1', async () => {
    const attempts: number[] = [];
    const result = retry(async ({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw transient();
      return 'ok';
    }, { jitter: 'none' });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('waits the computed backoff between attempts', async () => {
    const fn = vi.fn(async () => {
      throw transient();
    });
    const result = retry(fn, { retries: 1, minDelay: 100, jitter: 'none' });
    result.catch(() => {});
    await vi.advanceTimersByTimeAsync(99);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('rejects with the last error when retries run out', async () => {
    const fn = vi.fn(async ({ attempt }: { attempt: number }) => {
      throw transient(`fail ${attempt}`);
    });
    const result = retry(fn, { retries: 2, jitter: 'none' });
    const settled = expect(result).rejects.toThrow('fail 3');
    await vi.runAllTimersAsync();
    await settled;
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('stops at once when shouldRetry returns false, passing it the error and attempt', async () => {
    const err = transient();
    const shouldRetry = vi.fn(() => false);
    const fn = vi.fn(async () => {
      throw err;
    });
    await expect(retry(fn, { shouldRetry })).rejects.toBe(err);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(shouldRetry).toHaveBeenCalledWith(err, 1);
  });

  it('retries what shouldRetry allows even when classify would stop', async () => {
    const fn = vi.fn(async ({ attempt }: { attempt: number }) => {
      if (attempt === 1) throw Object.assign(new Error('bad request'), { status: 400 });
      return 'ok';
    });
    const result = retry(fn, { shouldRetry: () => true });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
  });

  it('does not retry a client error by default', async () => {
    const fn = vi.fn(async () => {
      throw Object.assign(new Error('bad request'), { status: 400 });
    });
    await expect(retry(fn)).rejects.toThrow('bad request');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not retry an abort error by default', async () => {
    const fn = vi.fn(async () => {
      throw new DOMException('aborted', 'AbortError');
    });
    await expect(retry(fn)).rejects.toThrow('aborted');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('waits at least the Retry-After the server sent', async () => {
    const fn = vi.fn(async ({ attempt }: { attempt: number }) => {
      if (attempt === 1) throw Object.assign(new Error('slow down'), { status: 429, headers: { 'retry-after': '2' } });
      return 'ok';
    });
    const result = retry(fn, { minDelay: 10, maxDelay: 100 });
    await vi.advanceTimersByTimeAsync(1999);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('ok');
  });

  it('rejects at once with signal.reason on abort during backoff and leaves no timer', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      throw transient();
    });
    const result = retry(fn, { signal: controller.signal, minDelay: 10_000, maxDelay: 10_000, jitter: 'none' });
    const settled = expect(result).rejects.toBe('stop now');
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort('stop now');
    await settled;
    expect(vi.getTimerCount()).toBe(0);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('rejects with the abort reason, not the attempt error, when the signal aborts mid-attempt', async () => {
    const controller = new AbortController();
    const result = retry(async () => {
      controller.abort('caller gave up');
      throw transient('attempt failed');
    }, { signal: controller.signal });
    await expect(result).rejects.toBe('caller gave up');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when the signal aborts during an attempt that ignores it', async () => {
    const controller = new AbortController();
    const result = retry(() => new Promise<never>(() => {}), { signal: controller.signal });
    controller.abort('caller gave up');
    await expect(result).rejects.toBe('caller gave up');
  });

  it('calls fn synchronously and turns a synchronous throw into a retried failure', async () => {
    const fn = vi.fn(({ attempt }: { attempt: number }) => {
      if (attempt === 1) throw transient();
      return 'ok';
    });
    const result = retry(fn, { jitter: 'none' });
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
  });

  it('rejects an already-aborted signal without calling fn', async () => {
    const fn = vi.fn(async () => 1);
    const reason = new Error('already');
    await expect(retry(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });

  it('uses the standard AbortError when the signal aborted without a reason', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(retry(async () => 1, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it("hands fn the caller's signal", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    await retry(async ({ signal }) => {
      seen = signal;
    }, { signal: controller.signal });
    expect(seen).toBe(controller.signal);
  });

  it('hands fn a live, never-aborted signal when the caller gave none', async () => {
    let seen: AbortSignal | undefined;
    await retry(async ({ signal }) => {
      seen = signal;
    });
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen?.aborted).toBe(false);
  });

  it('gives up with the last error when the retry budget is spent', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 });
    const fn = vi.fn(async () => {
      throw transient();
    });
    const result = retry(fn, { budget, retries: 5, jitter: 'none' });
    const settled = expect(result).rejects.toThrow('reset');
    await vi.runAllTimersAsync();
    await settled;
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('accepts a synchronous fn', async () => {
    await expect(retry(() => 42)).resolves.toBe(42);
  });

  it('counts every call of an AI SDK RetryError as an attempt', async () => {
    const retried = new RetryError({ message: 'Failed after 2 attempts', reason: 'maxRetriesExceeded', errors: [transient(), transient()] });
    const attempts: number[] = [];
    const result = retry(({ attempt }) => {
      attempts.push(attempt);
      throw retried;
    }, { retries: 2, minDelay: 10 });
    const check = expect(result).rejects.toBe(retried);
    await vi.runAllTimersAsync();
    await check;
    expect(attempts).toEqual([1, 3]);
  });
});
