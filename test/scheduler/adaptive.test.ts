// Adaptive concurrency against simulated services on fake timers: the limit grows while
// latency is flat and nothing is refused, and comes down on 429s or a latency rise.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../lib/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** A service that answers in `latency` ms and refuses (429) beyond `capacity` calls in flight. */
function service(capacity: number, latency: (inFlight: number) => number) {
  let inFlight = 0;
  let refused = 0;
  let peak = 0;
  return {
    call: async (): Promise<void> => {
      if (inFlight >= capacity) {
        refused++;
        throw Object.assign(new Error('429'), { status: 429 });
      }
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, latency(inFlight)));
      } finally {
        inFlight--;
      }
    },
    get refused() {
      return refused;
    },
    get peak() {
      return peak;
    },
  };
}

async function drive(s: Scheduler, call: () => Promise<void>, tasks: number): Promise<void> {
  const all = Array.from({ length: tasks }, () => s.run(call).catch(() => undefined));
  await vi.advanceTimersByTimeAsync(600_000);
  await Promise.all(all);
}

describe('adaptive concurrency', () => {
  it.each(['aimd', 'gradient'] as const)('%s raises the limit while latency stays flat and nothing is refused', async (adapt) => {
    const s = new Scheduler({ concurrency: { min: 1, max: 64, initial: 2, adapt } });
    const svc = service(1_000, () => 10);
    await drive(s, svc.call, 3_000);
    expect(s.stats().limit).toBeGreaterThan(8);
    expect(svc.refused).toBe(0);
  });

  it('stats() keeps the configured concurrency apart from the limit in force', async () => {
    const s = new Scheduler({ concurrency: { min: 1, max: 64, initial: 2, adapt: 'aimd' } });
    await drive(s, service(1_000, () => 10).call, 3_000);
    expect(s.stats().concurrency).toBe(2);
    expect(s.stats().limit).toBeGreaterThan(2);
    // Setting concurrency restarts the search from the value given (within bounds).
    s.concurrency = 100;
    expect(s.stats()).toMatchObject({ concurrency: 64, limit: 64 });
    const fixed = new Scheduler({ concurrency: 7 });
    expect(fixed.stats()).toMatchObject({ concurrency: 7, limit: 7 });
  });

  it('aimd cuts the limit on 429s and settles near what the service takes', async () => {
    // Retries keep refused work around, as a real client would.
    const s = new Scheduler({
      concurrency: { min: 1, max: 256, initial: 64, adapt: 'aimd' }, retry: { retries: 1_000, minDelay: 5, maxDelay: 50 },
    });
    const svc = service(16, () => 10);
    await drive(s, svc.call, 800);
    expect(s.stats().limit).toBeLessThanOrEqual(24);
    expect(s.stats().limit).toBeGreaterThanOrEqual(4);
  });

  it.each(['aimd', 'gradient'] as const)('%s comes down when latency rises with load', async (adapt) => {
    // Queueing inside the service: beyond 8 in flight every call waits for the others.
    const s = new Scheduler({ concurrency: { min: 1, max: 256, initial: 128, adapt } });
    const svc = service(10_000, (n) => (n <= 8 ? 10 : 10 * (n / 8)));
    await drive(s, svc.call, 5_000);
    expect(s.stats().limit).toBeLessThan(64);
  });

  it('never leaves [min, max]', async () => {
    const s = new Scheduler({ concurrency: { min: 3, max: 5, initial: 4, adapt: 'aimd' } });
    const down = service(0, () => 10);
    await drive(s, down.call, 200);
    expect(s.stats().limit).toBe(3);
    const up = service(1_000, () => 10);
    await drive(s, up.call, 3_000);
    expect(s.stats().limit).toBe(5);
  });

  it.each([
    ['an unknown mode', { adapt: 'fast' }, TypeError],
    ['min 0', { adapt: 'aimd', min: 0 }, RangeError],
    ['max below min', { adapt: 'aimd', min: 5, max: 4 }, RangeError],
    ['initial above max', { adapt: 'aimd', max: 4, initial: 8 }, RangeError],
  ])('rejects %s', (_name, concurrency, type) => {
    expect(() => new Scheduler({ concurrency: concurrency as never })).toThrow(type);
  });
});
