import { describe, expect, it, vi } from 'vitest';
import { CircuitOpenError } from '../../lib/errors.js';
import { CircuitBreaker, type BreakerState, type WindowBreakerOptions } from '../../lib/resilience/circuit-breaker.js';

const boom = (): Promise<never> => Promise.reject(Object.assign(new Error('boom'), { status: 500 }));
const ok = (): Promise<string> => Promise.resolve('ok');

function setup(options: Partial<WindowBreakerOptions> = {}) {
  let t = 0;
  const breaker = new CircuitBreaker({ failureThreshold: 3, windowMs: 10_000, halfOpenAfter: 1_000, now: () => t, ...options });
  const changes: Array<[BreakerState, BreakerState]> = [];
  breaker.on('stateChange', (to, from) => changes.push([to, from]));
  const fail = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await breaker.execute(boom).catch(() => {});
  };
  return { breaker, changes, fail, advance: (ms: number) => { t += ms; } };
}

describe('CircuitBreaker', () => {
  it('stays closed below the failure threshold', async () => {
    const { breaker, fail } = setup();
    await fail(2);
    expect(breaker.state).toBe('closed');
  });

  it('opens after failureThreshold failures within the window', async () => {
    const { breaker, fail } = setup();
    await fail(3);
    expect(breaker.state).toBe('open');
  });

  it('rejects at once while open, without calling fn, telling how long until a probe', async () => {
    const { breaker, fail, advance } = setup();
    await fail(3);
    advance(400);
    const fn = vi.fn(ok);
    const err = await breaker.execute(fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ code: 'ERR_CIRCUIT_OPEN', retryAfterMs: 600 });
    expect(fn).not.toHaveBeenCalled();
  });

  it('forgets failures older than windowMs', async () => {
    const { breaker, fail, advance } = setup();
    await fail(2);
    advance(10_000);
    await fail(1);
    expect(breaker.state).toBe('closed');
  });

  it('counts failures just inside the window', async () => {
    const { breaker, fail, advance } = setup();
    await fail(2);
    advance(9_999);
    await fail(1);
    expect(breaker.state).toBe('open');
  });

  it('turns half-open after halfOpenAfter, computed from time alone', async () => {
    const { breaker, fail, advance } = setup();
    await fail(3);
    advance(999);
    expect(breaker.state).toBe('open');
    advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it("with halfOpen 'reject', lets exactly one probe through while half-open", async () => {
    const { breaker, fail, advance } = setup({ halfOpen: 'reject' });
    await fail(3);
    advance(1_000);
    let finish!: (v: string) => void;
    const probe = breaker.execute(() => new Promise<string>((resolve) => { finish = resolve; }));
    const other = vi.fn(ok);
    await expect(breaker.execute(other)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(other).not.toHaveBeenCalled();
    finish('probed');
    await expect(probe).resolves.toBe('probed');
  });

  it('closes after a successful probe', async () => {
    const { breaker, fail, advance } = setup();
    await fail(3);
    advance(1_000);
    await breaker.execute(ok);
    expect(breaker.state).toBe('closed');
  });

  it('needs successThreshold consecutive probe successes to close', async () => {
    const { breaker, fail, advance } = setup({ successThreshold: 2 });
    await fail(3);
    advance(1_000);
    await breaker.execute(ok);
    expect(breaker.state).toBe('half-open');
    await breaker.execute(ok);
    expect(breaker.state).toBe('closed');
  });

  it('re-opens on a failed probe, for a fresh halfOpenAfter', async () => {
    const { breaker, fail, advance } = setup();
    await fail(3);
    advance(1_000);
    await fail(1);
    expect(breaker.state).toBe('open');
    advance(999);
    expect(breaker.state).toBe('open');
    advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it('starts counting afresh after closing', async () => {
    const { breaker, fail, advance } = setup();
    await fail(3);
    advance(1_000);
    await breaker.execute(ok);
    await fail(2);
    expect(breaker.state).toBe('closed');
  });

  it('reports each transition once through stateChange', async () => {
    const { breaker, changes, fail, advance } = setup();
    await fail(3);
    advance(1_000);
    await fail(1);
    advance(1_000);
    await breaker.execute(ok);
    expect(changes).toEqual([
      ['open', 'closed'], ['half-open', 'open'], ['open', 'half-open'], ['half-open', 'open'], ['closed', 'half-open'],
    ]);
  });

  it('does not count aborts or client errors by default', async () => {
    const { breaker } = setup({ failureThreshold: 1 });
    await breaker.execute(() => Promise.reject(new DOMException('aborted', 'AbortError'))).catch(() => {});
    await breaker.execute(() => Promise.reject(Object.assign(new Error('bad'), { status: 400 }))).catch(() => {});
    expect(breaker.state).toBe('closed');
  });

  it('counts what shouldTrip says counts', async () => {
    const { breaker } = setup({ failureThreshold: 1, shouldTrip: () => true });
    await breaker.execute(() => Promise.reject(Object.assign(new Error('bad'), { status: 400 }))).catch(() => {});
    expect(breaker.state).toBe('open');
  });

  it('frees the probe slot when the probe is aborted, without closing or re-opening', async () => {
    const { breaker, fail, advance } = setup();
    await fail(3);
    advance(1_000);
    await breaker.execute(() => Promise.reject(new DOMException('aborted', 'AbortError'))).catch(() => {});
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
  });

  it('passes through the error and counts a synchronous throw', async () => {
    const { breaker } = setup({ failureThreshold: 1 });
    const err = new Error('sync');
    await expect(breaker.execute(() => { throw err; })).rejects.toBe(err);
    expect(breaker.state).toBe('open');
  });

  it('ignores late failures from calls started before the circuit opened', async () => {
    const { breaker, fail, advance } = setup();
    let failLate!: (e: unknown) => void;
    const late = breaker.execute(() => new Promise((_, reject) => { failLate = reject; })).catch(() => {});
    await fail(3);
    advance(1_000);
    await breaker.execute(ok);
    failLate(new Error('late'));
    await late;
    await fail(2);
    expect(breaker.state).toBe('closed');
  });

  it('reset closes the circuit and forgets failures', async () => {
    const { breaker, fail } = setup();
    await fail(3);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    await fail(2);
    expect(breaker.state).toBe('closed');
  });

  it('owns no timers', async () => {
    vi.useFakeTimers();
    try {
      const breaker = new CircuitBreaker({ failureThreshold: 1, halfOpenAfter: 60_000 });
      await breaker.execute(boom).catch(() => {});
      expect(breaker.state).toBe('open');
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(60_000);
      expect(breaker.state).toBe('half-open');
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ['failureThreshold 0', { failureThreshold: 0, halfOpenAfter: 1 }, RangeError],
    ['fractional failureThreshold', { failureThreshold: 1.5, halfOpenAfter: 1 }, RangeError],
    ['missing halfOpenAfter', { failureThreshold: 1 }, TypeError],
    ['negative halfOpenAfter', { failureThreshold: 1, halfOpenAfter: -1 }, RangeError],
    ['zero windowMs', { failureThreshold: 1, halfOpenAfter: 1, windowMs: 0 }, RangeError],
    ['successThreshold 0', { failureThreshold: 1, halfOpenAfter: 1, successThreshold: 0 }, RangeError],
    ['shouldTrip not a function', { failureThreshold: 1, halfOpenAfter: 1, shouldTrip: 'yes' }, TypeError],
  ])('rejects %s', (_name, options, type) => {
    expect(() => new CircuitBreaker(options as never)).toThrow(type);
  });
});
