// Randomized runs mixing timeouts, pauses, Retry-After sleeps and semaphore waits of
// ordinary, 2^31 ms, 2^33 ms and infinite length with aborts, clears and closes: every
// promise settles exactly once and, once everything is closed, no timer is left.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scheduler, Semaphore, TimeoutError } from '../../lib/index.js';

const durationArb = fc.constantFrom(5, 40, 2 ** 31, 2 ** 33, Infinity);

type Op =
  | { op: 'run'; key: string | undefined; timeout: number; hang: boolean; retryAfter: number | undefined; withSignal: boolean }
  | { op: 'acquire'; timeout: number; withSignal: boolean }
  | { op: 'release' }
  | { op: 'pause'; ms: number; key: string | undefined }
  | { op: 'abort'; target: number }
  | { op: 'advance'; ms: number }
  | { op: 'clear' }
  | { op: 'close'; drain: boolean };

const keyArb = fc.option(fc.constantFrom('a', 'b'), { nil: undefined });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    op: fc.constant('run' as const), key: keyArb, timeout: durationArb, hang: fc.boolean(),
    retryAfter: fc.option(fc.constantFrom(10, 2 ** 31, 2 ** 33), { nil: undefined }), withSignal: fc.boolean(),
  }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('acquire' as const), timeout: durationArb, withSignal: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'release' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pause' as const), ms: durationArb, key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('abort' as const), target: fc.nat(30) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(1, 30, 2 ** 31, 2 ** 33) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), drain: fc.boolean() }) },
);

afterEach(() => {
  vi.useRealTimers();
});

describe('long and infinite durations, property', () => {
  it('settles every promise once and leaves no timer once closed', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(opArb, { minLength: 1, maxLength: 40 }), async (concurrency, ops) => {
      vi.useFakeTimers();
      try {
        const s = new Scheduler({ concurrency, perKey: 1 });
        const sem = new Semaphore(1);
        const settled: number[] = [];
        const controllers: AbortController[] = [];
        const permits: Array<{ release(): void }> = [];
        const early: string[] = [];
        // `since()` is when the timeout's clock started (the fake clock): a TimeoutError
        // before `timeout` ms of it is a timer that fired early.
        const track = (p: Promise<unknown>, timeout: number, since: () => number): void => {
          const i = settled.push(0) - 1;
          p.then((v) => {
            settled[i]!++;
            if (typeof v === 'object' && v !== null && 'release' in v) permits.push(v as { release(): void });
          }, (err: unknown) => {
            settled[i]!++;
            const waited = performance.now() - since();
            if (err instanceof TimeoutError && waited < timeout) early.push(`#${i}: timed out after ${waited} of ${timeout} ms`);
          });
        };
        for (const op of ops) {
          switch (op.op) {
            case 'run': {
              const controller = op.withSignal ? new AbortController() : undefined;
              if (controller !== undefined) controllers.push(controller);
              let attempt = 0;
              let startedAt = Infinity;
              track(s.run((ctx) => {
                attempt++;
                startedAt = performance.now();
                if (op.retryAfter !== undefined && attempt === 1) {
                  throw Object.assign(new Error('busy'), { status: 429, retryAfterMs: op.retryAfter });
                }
                if (!op.hang) return 'done';
                return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
              }, {
                key: op.key, timeout: op.timeout, signal: controller?.signal,
                retry: op.retryAfter === undefined ? false : { retries: 1, minDelay: 0, maxDelay: 1 },
              }), op.timeout, () => startedAt);
              break;
            }
            case 'acquire': {
              const controller = op.withSignal ? new AbortController() : undefined;
              if (controller !== undefined) controllers.push(controller);
              const at = performance.now();
              track(sem.acquire(1, { timeout: op.timeout, signal: controller?.signal }), op.timeout, () => at);
              break;
            }
            case 'release':
              permits.shift()?.release();
              break;
            case 'pause':
              s.pauseFor(op.ms, op.key);
              break;
            case 'abort':
              controllers[op.target]?.abort(new Error('aborted by test'));
              break;
            case 'advance':
              await vi.advanceTimersByTimeAsync(op.ms);
              break;
            case 'clear':
              s.clear();
              break;
            case 'close':
              void s.close({ drain: op.drain });
              break;
          }
        }
        // Wind down: refuse and abort what is left, give every permit back.
        const closed = s.close({ drain: false });
        for (const c of controllers) c.abort(new Error('wind down'));
        for (let i = 0; i < 5; i++) {
          await vi.advanceTimersByTimeAsync(1);
          for (const p of permits.splice(0)) p.release();
        }
        await closed;
        expect(settled.filter((n) => n !== 1), `settle counts ${JSON.stringify(settled)}`).toEqual([]);
        expect(early).toEqual([]);
        expect(sem.waiting).toBe(0);
        expect(s.stats()).toMatchObject({ queued: 0, running: 0, waiting: 0, retrying: 0 });
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    }), { numRuns: Number(process.env.PROP_RUNS ?? 300), interruptAfterTimeLimit: Number(process.env.PROP_TIME_MS ?? 15_000), markInterruptAsFailure: true });
  });
});
