// The policy hooks and breaker modes through a Scheduler's options: onRetry, onGiveUp and
// retryOnResult in the retry stage, breaker modes and events per key, and half-open
// waiting that lends the task's slot out. Fake timers throughout.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitOpenError, Scheduler, TimeoutError, type GiveUpEvent, type RetryEvent } from '../../lib/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const http = (status: number): Error => Object.assign(new Error(`HTTP ${status}`), { status });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function gate<T = string>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => { open = resolve; });
  return { promise, open };
}

describe('Scheduler retry hooks', () => {
  it('calls onRetry before each backoff, with the task key, and waits the delay it reports', async () => {
    const events: RetryEvent[] = [];
    const s = new Scheduler({ concurrency: 1, retry: { retries: 2, minDelay: 50, jitter: 'none', onRetry: (e) => events.push(e) } });
    const task = s.run((ctx) => {
      if (ctx.attempt < 3) throw http(503);
      return 'ok';
    }, { key: 'tenant-a' });
    await vi.advanceTimersByTimeAsync(149);
    expect(s.stats().completed).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await expect(task).resolves.toBe('ok');
    expect(events).toMatchObject([
      { attempt: 1, delay: 50, key: 'tenant-a', error: { status: 503 } },
      { attempt: 2, delay: 100, key: 'tenant-a', error: { status: 503 } },
    ]);
  });

  it('calls onGiveUp once when retries run out, and the task rejects with the last error', async () => {
    const events: GiveUpEvent[] = [];
    const s = new Scheduler({ concurrency: 1, retry: { retries: 1, minDelay: 1, onGiveUp: (e) => events.push(e) } });
    const task = s.run(() => {
      throw http(500);
    });
    const check = expect(task).rejects.toMatchObject({ status: 500 });
    await vi.advanceTimersByTimeAsync(100);
    await check;
    expect(events).toMatchObject([{ attempt: 2, reason: 'retries', error: { status: 500 } }]);
  });

  it('a per-task retry policy brings its own hooks', async () => {
    const shared = vi.fn();
    const own = vi.fn();
    const s = new Scheduler({ concurrency: 1, retry: { retries: 0, onGiveUp: shared } });
    await expect(s.run(() => { throw http(500); }, { retry: { retries: 0, onGiveUp: own } })).rejects.toMatchObject({ status: 500 });
    expect(own).toHaveBeenCalledTimes(1);
    expect(shared).not.toHaveBeenCalled();
  });

  it('tells onGiveUp at once when the last attempt times out, before its function returns', async () => {
    const onGiveUp = vi.fn();
    const s = new Scheduler({ concurrency: 1, timeout: 100, retry: { retries: 1, minDelay: 1, onGiveUp } });
    // The first attempt stops when its signal aborts; the last one never returns at all.
    const task = s.run((ctx) => new Promise((_, reject) => {
      if (ctx.attempt === 1) ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    }));
    const check = expect(task).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(250);
    await check;
    expect(onGiveUp).toHaveBeenCalledTimes(1);
    expect(onGiveUp.mock.calls[0]![0]).toMatchObject({ attempt: 2, reason: 'retries', error: expect.any(TimeoutError) });
  });

  it('does not call onGiveUp when the task is aborted', async () => {
    const onGiveUp = vi.fn();
    const s = new Scheduler({ concurrency: 1, timeout: 1_000, retry: { retries: 0, onGiveUp } });
    const controller = new AbortController();
    const task = s.run(() => new Promise(() => {}), { signal: controller.signal });
    controller.abort('stop');
    await expect(task).rejects.toBe('stop');
    expect(onGiveUp).not.toHaveBeenCalled();
  });

  it('a throwing hook or predicate fails its task with what it threw and the scheduler goes on', async () => {
    const hookError = new Error('hook broke');
    const s = new Scheduler({ concurrency: 1, retry: { retries: 3, minDelay: 1, shouldRetry: () => { throw hookError; } } });
    await expect(s.run(() => { throw http(500); })).rejects.toBe(hookError);
    await expect(s.run(() => 'next')).resolves.toBe('next');
    expect(s.stats()).toMatchObject({ failed: 1, completed: 1, running: 0 });
  });
});

describe('Scheduler retryOnResult', () => {
  it('retries a task whose value the predicate refuses, its slot released meanwhile, and resolves with a later value', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 3, minDelay: 100, jitter: 'none', retryOnResult: (v) => v === 'empty' } });
    const task = s.run((ctx) => (ctx.attempt < 2 ? 'empty' : 'full'));
    await vi.advanceTimersByTimeAsync(10);
    expect(s.stats()).toMatchObject({ retrying: 1, running: 0 });
    await expect(s.run(() => 'meanwhile')).resolves.toBe('meanwhile');
    await vi.advanceTimersByTimeAsync(100);
    await expect(task).resolves.toBe('full');
    expect(s.stats()).toMatchObject({ retried: 1, completed: 2, failed: 0 });
  });

  it('resolves with the last value once retries run out, telling onGiveUp', async () => {
    const onGiveUp = vi.fn();
    const s = new Scheduler({ concurrency: 1, retry: { retries: 2, minDelay: 1, retryOnResult: () => true, onGiveUp } });
    const task = s.run((ctx) => `value ${ctx.attempt}`);
    await vi.advanceTimersByTimeAsync(100);
    await expect(task).resolves.toBe('value 3');
    expect(onGiveUp).toHaveBeenCalledWith({ value: 'value 3', attempt: 3, reason: 'retries', key: undefined });
  });

  it('hands onRetry the refused value', async () => {
    const events: RetryEvent[] = [];
    const s = new Scheduler({ concurrency: 1, retry: { retries: 1, minDelay: 5, jitter: 'none', retryOnResult: (v) => v === 0, onRetry: (e) => events.push(e) } });
    const task = s.run((ctx) => ctx.attempt - 1);
    await vi.advanceTimersByTimeAsync(10);
    await expect(task).resolves.toBe(1);
    expect(events).toEqual([{ value: 0, attempt: 1, delay: 5, key: undefined }]);
  });
});

describe('Scheduler decorrelated jitter', () => {
  it('retries with delays within maxDelay, each one chained to the task before', async () => {
    const delays: number[] = [];
    const s = new Scheduler({
      concurrency: 1, retry: { retries: 6, minDelay: 100, maxDelay: 2_000, jitter: 'decorrelated', onRetry: (e) => delays.push(e.delay) },
    });
    const task = s.run((ctx) => {
      if (ctx.attempt < 7) throw http(503);
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(20_000);
    await expect(task).resolves.toBe('ok');
    expect(delays).toHaveLength(6);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(2_000);
  });
});

describe('Scheduler breaker modes and events', () => {
  it("mode 'consecutive': a success between failures keeps the circuit closed", async () => {
    const s = new Scheduler({ concurrency: 1, breaker: { mode: 'consecutive', failureThreshold: 2, halfOpenAfter: 1_000 } });
    await expect(s.run(() => Promise.reject(http(500)))).rejects.toMatchObject({ status: 500 });
    await s.run(() => 'fine');
    await expect(s.run(() => Promise.reject(http(500)))).rejects.toMatchObject({ status: 500 });
    await expect(s.run(() => 'still')).resolves.toBe('still');
  });

  it('passes breaker hooks through, naming the key of a per-key breaker', async () => {
    const onBreak = vi.fn();
    const s = new Scheduler({ concurrency: 1, breaker: { failureThreshold: 1, halfOpenAfter: 1_000, onBreak } });
    await expect(s.run(() => Promise.reject(http(500)), { key: 'down' })).rejects.toMatchObject({ status: 500 });
    await expect(s.run(() => Promise.reject(http(500)))).rejects.toMatchObject({ status: 500 });
    expect(onBreak.mock.calls.map(([e]) => e.key)).toEqual(['down', undefined]);
  });

  it('the constructor throws for bad breaker mode options', () => {
    expect(() => new Scheduler({ concurrency: 1, breaker: { mode: 'sampling', threshold: 2, duration: 1_000, halfOpenAfter: 1 } })).toThrow(RangeError);
  });
});

describe('Scheduler half-open waiting', () => {
  async function halfOpen(concurrency: number, timeout?: number) {
    const s = new Scheduler({ concurrency, timeout, breaker: { failureThreshold: 1, halfOpenAfter: 1_000 } });
    await expect(s.run(() => Promise.reject(http(500)), { key: 'a' })).rejects.toMatchObject({ status: 500 });
    await vi.advanceTimersByTimeAsync(1_000);
    const probeGate = gate();
    const probe = s.run(() => probeGate.promise, { key: 'a' });
    await flush();
    return { s, probe, probeGate };
  }

  it('a task waiting on its key\'s probe runs once the probe closed the circuit', async () => {
    const { s, probe, probeGate } = await halfOpen(2);
    const waiter = s.run(() => 'after the probe', { key: 'a' });
    await flush();
    probeGate.open('probed');
    await expect(probe).resolves.toBe('probed');
    await expect(waiter).resolves.toBe('after the probe');
    expect(s.stats().failed).toBe(1);
  });

  it('lends its slot out while it waits: other keys keep running', async () => {
    const { s, probe, probeGate } = await halfOpen(2);
    const waiter = s.run(() => 'waited', { key: 'a' });
    await flush();
    let running = 0;
    let most = 0;
    const other = (): Promise<string> => {
      running++;
      most = Math.max(most, running);
      return new Promise((resolve) => setTimeout(() => { running--; resolve('b'); }, 10));
    };
    const others = [s.run(other, { key: 'b' }), s.run(other, { key: 'c' })];
    await vi.advanceTimersByTimeAsync(5);
    // The probe holds one slot; the waiter none: one task of another key runs beside the probe.
    expect(most).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    await expect(Promise.all(others)).resolves.toEqual(['b', 'b']);
    probeGate.open('probed');
    await probe;
    await expect(waiter).resolves.toBe('waited');
  });

  it('ends the wait with the task\'s timeout, so a hung probe cannot hold it forever', async () => {
    const { s, probe, probeGate } = await halfOpen(2);
    const fn = vi.fn(() => 'never');
    const waiter = s.run(fn, { key: 'a', timeout: 100 });
    const check = expect(waiter).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await check;
    expect(fn).not.toHaveBeenCalled();
    expect(s.stats()).toMatchObject({ running: 1, timedOut: 1 });
    probeGate.open('probed');
    await probe;
  });

  it('is refused as before with halfOpen \'reject\'', async () => {
    const s = new Scheduler({ concurrency: 2, breaker: { failureThreshold: 1, halfOpenAfter: 1_000, halfOpen: 'reject' } });
    await expect(s.run(() => Promise.reject(http(500)))).rejects.toMatchObject({ status: 500 });
    await vi.advanceTimersByTimeAsync(1_000);
    const probeGate = gate();
    const probe = s.run(() => probeGate.promise);
    await flush();
    await expect(s.run(() => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    probeGate.open('probed');
    await probe;
  });
});
