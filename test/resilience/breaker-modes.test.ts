// CircuitBreaker modes (window, consecutive, count, sampling), half-open callers waiting
// for the probe's verdict, the break/reset/halfOpen events and hooks, and isolate().
import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { CircuitOpenError } from '../../lib/errors.js';
import { CircuitBreaker, type BreakerOptions, type BreakEvent, type BreakerState } from '../../lib/resilience/circuit-breaker.js';

const boom = (): Promise<never> => Promise.reject(Object.assign(new Error('boom'), { status: 500 }));
const ok = (): Promise<string> => Promise.resolve('ok');

function clocked(options: BreakerOptions) {
  let t = 0;
  const breaker = new CircuitBreaker({ ...options, now: () => t });
  const fail = async (n = 1): Promise<void> => {
    for (let i = 0; i < n; i++) await breaker.execute(boom).catch(() => {});
  };
  const succeed = async (n = 1): Promise<void> => {
    for (let i = 0; i < n; i++) await breaker.execute(ok);
  };
  return { breaker, fail, succeed, advance: (ms: number) => { t += ms; } };
}

/** A breaker already half-open, and a probe that runs until released. */
async function halfOpenWithProbe(options: Partial<BreakerOptions> = {}) {
  const c = clocked({ failureThreshold: 1, halfOpenAfter: 1_000, ...options } as BreakerOptions);
  await c.fail();
  c.advance(1_000);
  let settle!: { resolve: (v: string) => void; reject: (e: unknown) => void };
  const probe = c.breaker.execute(() => new Promise<string>((resolve, reject) => { settle = { resolve, reject }; }));
  return { ...c, probe, settle };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('CircuitBreaker modes', () => {
  it("defaults to 'window': a success between failures does not reset the count", async () => {
    const { breaker, fail, succeed } = clocked({ failureThreshold: 2, halfOpenAfter: 1_000 });
    expect(breaker.mode).toBe('window');
    await fail();
    await succeed();
    await fail();
    expect(breaker.state).toBe('open');
  });

  it("'consecutive': a success starts the count again", async () => {
    const { breaker, fail, succeed } = clocked({ mode: 'consecutive', failureThreshold: 2, halfOpenAfter: 1_000 });
    await fail();
    await succeed();
    await fail();
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
  });

  it("'consecutive': failures far apart in time still count", async () => {
    const { breaker, fail, advance } = clocked({ mode: 'consecutive', failureThreshold: 2, halfOpenAfter: 1_000 });
    await fail();
    advance(24 * 3_600_000);
    await fail();
    expect(breaker.state).toBe('open');
  });

  it("'count': opens when more than threshold of the last size calls failed", async () => {
    const { breaker, fail, succeed } = clocked({ mode: 'count', threshold: 0.5, size: 4, halfOpenAfter: 1_000 });
    await succeed(2);
    await fail(2);
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
  });

  it("'count': does not open before minimumCalls were seen", async () => {
    const { breaker, fail } = clocked({ mode: 'count', threshold: 0.5, size: 10, minimumCalls: 4, halfOpenAfter: 1_000 });
    await fail(3);
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
  });

  it("'count': old outcomes slide out of the last size calls", async () => {
    const { breaker, fail, succeed } = clocked({ mode: 'count', threshold: 0.5, size: 4, halfOpenAfter: 1_000 });
    await fail(2);
    await succeed(4);
    await fail(2);
    expect(breaker.state).toBe('closed');
  });

  it("'sampling': opens when the failure ratio over duration passes threshold at minimumRps", async () => {
    const { breaker, fail, succeed, advance } = clocked({ mode: 'sampling', threshold: 0.5, duration: 1_000, minimumRps: 4, halfOpenAfter: 1_000 });
    await succeed(2);
    advance(100);
    await fail(2);
    expect(breaker.state).toBe('closed');
    advance(100);
    await fail();
    expect(breaker.state).toBe('open');
  });

  it("'sampling': stays closed below minimumRps, whatever the ratio", async () => {
    const { breaker, fail } = clocked({ mode: 'sampling', threshold: 0.2, duration: 10_000, minimumRps: 1, halfOpenAfter: 1_000 });
    await fail(9);
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
  });

  it("'sampling': forgets calls older than duration, even after a long idle", async () => {
    const { breaker, fail, succeed, advance } = clocked({ mode: 'sampling', threshold: 0.5, duration: 1_000, minimumRps: 3, halfOpenAfter: 1_000 });
    await fail(2);
    advance(5_000);
    await succeed(2);
    await fail();
    expect(breaker.state).toBe('closed');
  });

  it("'sampling': by default needs 5 / threshold calls a second", async () => {
    const { breaker, fail } = clocked({ mode: 'sampling', threshold: 0.5, duration: 1_000, halfOpenAfter: 1_000 });
    await fail(9);
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
  });

  it.each(['count', 'sampling'] as const)("'%s': a successful probe starts from a clean slate", async (mode) => {
    const ratio = mode === 'count'
      ? { mode, threshold: 0.5, size: 4, minimumCalls: 2 }
      : { mode, threshold: 0.5, duration: 60_000, minimumRps: 2 / 60 };
    const { breaker, fail, succeed, advance } = clocked({ ...ratio, halfOpenAfter: 1_000 } as BreakerOptions);
    await fail(2);
    expect(breaker.state).toBe('open');
    advance(1_000);
    await succeed();
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('closed');
  });

  it.each([
    ['an unknown mode', { mode: 'ratio', failureThreshold: 1 }, TypeError],
    ['threshold 0', { mode: 'count', threshold: 0, size: 5 }, RangeError],
    ['threshold 1', { mode: 'sampling', threshold: 1, duration: 1_000 }, RangeError],
    ['a size of 0', { mode: 'count', threshold: 0.5, size: 0 }, RangeError],
    ['minimumCalls above size', { mode: 'count', threshold: 0.5, size: 5, minimumCalls: 6 }, RangeError],
    ['a zero duration', { mode: 'sampling', threshold: 0.5, duration: 0 }, RangeError],
    ['an infinite duration', { mode: 'sampling', threshold: 0.5, duration: Infinity }, RangeError],
    ['a negative minimumRps', { mode: 'sampling', threshold: 0.5, duration: 1_000, minimumRps: -1 }, RangeError],
    ['a sampling breaker without duration', { mode: 'sampling', threshold: 0.5 }, TypeError],
    ['failureThreshold on a sampling breaker', { mode: 'sampling', threshold: 0.5, duration: 1_000, failureThreshold: 3 }, TypeError],
    ['windowMs on a consecutive breaker', { mode: 'consecutive', failureThreshold: 3, windowMs: 1_000 }, TypeError],
    ['threshold on a window breaker', { failureThreshold: 3, threshold: 0.5 }, TypeError],
    ['an unknown halfOpen', { failureThreshold: 1, halfOpen: 'queue' }, TypeError],
    ['a negative maxWaiting', { failureThreshold: 1, maxWaiting: -1 }, RangeError],
    ['an onBreak that is not a function', { failureThreshold: 1, onBreak: 'log' }, TypeError],
  ])('rejects %s', (_name, options, type) => {
    expect(() => new CircuitBreaker({ halfOpenAfter: 1, ...options } as never)).toThrow(type);
  });
});

describe('CircuitBreaker half-open callers', () => {
  it('wait for the probe by default and run once it closed the circuit', async () => {
    const { breaker, probe, settle } = await halfOpenWithProbe();
    const fn = vi.fn(ok);
    const waiter = breaker.execute(fn);
    await flush();
    expect(fn).not.toHaveBeenCalled();
    settle.resolve('probed');
    await expect(probe).resolves.toBe('probed');
    await expect(waiter).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
  });

  it("are refused with the new open period's retryAfterMs when the probe fails", async () => {
    const { breaker, probe, settle } = await halfOpenWithProbe();
    const fn = vi.fn(ok);
    const waiter = breaker.execute(fn);
    settle.reject(Object.assign(new Error('still down'), { status: 503 }));
    await expect(probe).rejects.toThrow('still down');
    await expect(waiter).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN', retryAfterMs: 1_000 });
    expect(fn).not.toHaveBeenCalled();
  });

  it('become the next probes one at a time while successThreshold is not reached', async () => {
    const { breaker, probe, settle } = await halfOpenWithProbe({ successThreshold: 3 });
    let running = 0;
    let most = 0;
    const call = async (): Promise<string> => {
      running++;
      most = Math.max(most, running);
      await flush();
      running--;
      return 'ok';
    };
    const waiters = [breaker.execute(call), breaker.execute(call), breaker.execute(call)];
    settle.resolve('first');
    await probe;
    await Promise.all(waiters);
    expect(most).toBe(1);
    expect(breaker.state).toBe('closed');
  });

  it('let the next caller probe when the probe ends without a verdict (aborted)', async () => {
    const { breaker, probe, settle } = await halfOpenWithProbe();
    const waiter = breaker.execute(ok);
    settle.reject(new DOMException('gone', 'AbortError'));
    await expect(probe).rejects.toThrow('gone');
    await expect(waiter).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('reject with signal.reason when their signal aborts, removing their abort listener', async () => {
    const { breaker, probe, settle } = await halfOpenWithProbe();
    const controller = new AbortController();
    const waiter = breaker.execute(ok, { signal: controller.signal });
    await flush();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort('caller left');
    await expect(waiter).rejects.toBe('caller left');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    settle.resolve('probed');
    await probe;
  });

  it('leave no abort listener behind once the verdict lets them through', async () => {
    const { breaker, probe, settle } = await halfOpenWithProbe();
    const controller = new AbortController();
    const waiters = Array.from({ length: 3 }, () => breaker.execute(ok, { signal: controller.signal }));
    await flush();
    settle.resolve('probed');
    await probe;
    await Promise.all(waiters);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('are refused at once when their signal has already aborted', async () => {
    const { breaker, settle } = await halfOpenWithProbe();
    const fn = vi.fn(ok);
    await expect(breaker.execute(fn, { signal: AbortSignal.abort('late') })).rejects.toBe('late');
    expect(fn).not.toHaveBeenCalled();
    settle.resolve('probed');
  });

  it('beyond maxWaiting are refused at once', async () => {
    const { breaker, settle } = await halfOpenWithProbe({ maxWaiting: 1 });
    const first = breaker.execute(ok);
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    settle.resolve('probed');
    await expect(first).resolves.toBe('ok');
  });

  it('wait through whileWaiting when given one', async () => {
    const { breaker, probe, settle } = await halfOpenWithProbe();
    const wrapped: Array<Promise<void>> = [];
    const waiter = breaker.execute(ok, { whileWaiting: (wait) => { wrapped.push(wait); return wait; } });
    await flush();
    expect(wrapped).toHaveLength(1);
    settle.resolve('probed');
    await probe;
    await expect(waiter).resolves.toBe('ok');
  });

  it('do not spin when whileWaiting swallows an abort', async () => {
    const { breaker, settle } = await halfOpenWithProbe();
    const controller = new AbortController();
    const waiter = breaker.execute(ok, { signal: controller.signal, whileWaiting: (wait) => wait.catch(() => {}) });
    controller.abort('gone');
    await expect(waiter).rejects.toBe('gone');
    settle.resolve('probed');
  });
});

describe('CircuitBreaker events and hooks', () => {
  it('emits break with the failure that tripped it, reset on a successful probe, halfOpen when next consulted', async () => {
    const hooks = { onBreak: vi.fn(), onReset: vi.fn(), onHalfOpen: vi.fn() };
    const { breaker, fail, advance, succeed } = clocked({ failureThreshold: 1, halfOpenAfter: 1_000, ...hooks });
    const events: string[] = [];
    breaker.on('break', () => events.push('break'));
    breaker.on('halfOpen', () => events.push('halfOpen'));
    breaker.on('reset', () => events.push('reset'));
    breaker.on('stateChange', (to: BreakerState) => events.push(`stateChange ${to}`));
    await fail();
    advance(1_000);
    expect(hooks.onHalfOpen).not.toHaveBeenCalled();
    await succeed();
    expect(events).toEqual(['break', 'stateChange open', 'halfOpen', 'stateChange half-open', 'reset', 'stateChange closed']);
    expect(hooks.onBreak).toHaveBeenCalledWith({ isolated: false, error: expect.objectContaining({ message: 'boom' }) });
    expect(hooks.onHalfOpen).toHaveBeenCalledTimes(1);
    expect(hooks.onReset).toHaveBeenCalledTimes(1);
  });

  it('emits break again when a probe fails', async () => {
    const onBreak = vi.fn();
    const { fail, advance } = clocked({ failureThreshold: 1, halfOpenAfter: 1_000, onBreak });
    await fail();
    advance(1_000);
    await fail();
    expect(onBreak).toHaveBeenCalledTimes(2);
  });

  it('a hook that throws fails the call that caused the transition, and leaves the state settled', async () => {
    const hookError = new Error('hook broke');
    const breaker = new CircuitBreaker({ failureThreshold: 1, halfOpenAfter: 1_000, onBreak: () => { throw hookError; } });
    await expect(breaker.execute(boom)).rejects.toBe(hookError);
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker.isolate', () => {
  it('holds the circuit open, refusing calls without running them, until disposed', async () => {
    const { breaker } = clocked({ failureThreshold: 5, halfOpenAfter: 1_000 });
    const handle = breaker.isolate();
    const fn = vi.fn(ok);
    expect(breaker.state).toBe('isolated');
    const err = await breaker.execute(fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as CircuitOpenError).retryAfterMs).toBeUndefined();
    expect(fn).not.toHaveBeenCalled();
    handle.dispose();
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(fn)).resolves.toBe('ok');
  });

  it('stays isolated whatever time passes', () => {
    const { breaker, advance } = clocked({ failureThreshold: 1, halfOpenAfter: 1_000 });
    breaker.isolate();
    advance(1_000_000);
    expect(breaker.state).toBe('isolated');
  });

  it('nests: the circuit closes when the last handle is disposed, and disposing twice is harmless', () => {
    const { breaker } = clocked({ failureThreshold: 1, halfOpenAfter: 1_000 });
    const a = breaker.isolate();
    const b = breaker.isolate();
    a.dispose();
    a.dispose();
    expect(breaker.state).toBe('isolated');
    b[Symbol.dispose]();
    expect(breaker.state).toBe('closed');
  });

  it('emits break with isolated: true, then reset when released', () => {
    const events: Array<BreakEvent | 'reset'> = [];
    const { breaker } = clocked({ failureThreshold: 1, halfOpenAfter: 1_000, onBreak: (e) => events.push(e), onReset: () => events.push('reset') });
    breaker.isolate().dispose();
    expect(events).toEqual([{ isolated: true }, 'reset']);
  });

  it('refuses the callers waiting on a probe', async () => {
    const { breaker, settle } = await halfOpenWithProbe();
    const waiter = breaker.execute(ok);
    breaker.isolate();
    await expect(waiter).rejects.toThrow('circuit is isolated');
    settle.resolve('probed');
  });

  it('ignores the outcomes of calls that started before it', async () => {
    const { breaker } = clocked({ failureThreshold: 1, halfOpenAfter: 1_000 });
    let fail!: (e: unknown) => void;
    const late = breaker.execute(() => new Promise((_, reject) => { fail = reject; })).catch(() => {});
    const handle = breaker.isolate();
    fail(Object.assign(new Error('late'), { status: 500 }));
    await late;
    handle.dispose();
    expect(breaker.state).toBe('closed');
  });

  it('is not undone by reset(), which only forgets failures', () => {
    const { breaker } = clocked({ failureThreshold: 1, halfOpenAfter: 1_000 });
    const handle = breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('isolated');
    handle.dispose();
    expect(breaker.state).toBe('closed');
  });
});
