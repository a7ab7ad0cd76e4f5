// Randomized sequences of run / abort / timeout / throw / close / concurrency changes:
// every promise settles exactly once, the slot and per-key limits hold at every start,
// and a task removed from the queue never runs.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../lib/index.js';

type Behaviour = 'resolve' | 'throw' | 'honour-abort' | 'ignore-abort';

type Op =
  | { op: 'run'; key: string | undefined; priority: number; weight: number; duration: number;
      behaviour: Behaviour; withSignal: boolean; timeout: number | undefined }
  | { op: 'abort'; target: number }
  | { op: 'advance'; ms: number }
  | { op: 'concurrency'; value: number }
  | { op: 'pause' }
  | { op: 'resume' }
  | { op: 'clear' }
  | { op: 'close'; drain: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    op: fc.constant('run' as const),
    key: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
    priority: fc.constantFrom(-1, 0, 0, 2),
    weight: fc.constantFrom(1, 1, 1, 2),
    duration: fc.integer({ min: 0, max: 50 }),
    behaviour: fc.constantFrom<Behaviour>('resolve', 'throw', 'honour-abort', 'ignore-abort'),
    withSignal: fc.boolean(),
    timeout: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('abort' as const), target: fc.nat(40) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('concurrency' as const), value: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'resume' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), drain: fc.boolean() }) },
);

interface Tracked {
  settled: number;
  calls: number;
  started: boolean;
  controller: AbortController | undefined;
  cancelledBeforeStart: boolean;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Scheduler property', () => {
  it('settles every promise once and never breaks its limits', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 0, max: 6 }),
      fc.constantFrom<'reject' | 'wait' | 'drop-oldest'>('reject', 'wait', 'drop-oldest'),
      fc.array(opArb, { minLength: 1, maxLength: 60 }),
      fc.boolean(),
      fc.boolean(),
      async (concurrency, perKey, maxQueued, onFull, ops, withRetry, withRate) => {
        vi.useFakeTimers();
        try {
          const s = new Scheduler({
            concurrency, perKey, maxQueued, onFull,
            retry: withRetry ? { retries: 2, minDelay: 5, maxDelay: 20 } : undefined,
            rate: withRate ? { limit: 3, interval: 40 } : undefined,
          });
          const tracked: Tracked[] = [];
          const promises: Array<Promise<unknown>> = [];
          let runningWeight = 0;
          const runningByKey = new Map<string, number>();
          const violations: string[] = [];
          let fulfilled = 0;

          for (const op of ops) {
            switch (op.op) {
              case 'run': {
                const t: Tracked = { settled: 0, calls: 0, started: false, controller: undefined, cancelledBeforeStart: false };
                const index = tracked.length;
                tracked.push(t);
                if (op.withSignal) t.controller = new AbortController();
                const weight = Math.min(op.weight, s.concurrency);
                const task = async (ctx: { signal: AbortSignal }): Promise<number> => {
                  t.calls++;
                  t.started = true;
                  if (t.cancelledBeforeStart) violations.push(`task ${index} ran after it was cancelled`);
                  const taken = Math.min(weight, s.concurrency);
                  runningWeight += taken;
                  // Over the limit only when concurrency was lowered after others started.
                  if (runningWeight > s.concurrency && runningWeight - taken > 0 && !loweredSince) {
                    violations.push(`running weight ${runningWeight} > ${s.concurrency}`);
                  }
                  if (op.key !== undefined) {
                    const n = (runningByKey.get(op.key) ?? 0) + 1;
                    runningByKey.set(op.key, n);
                    if (n > perKey) violations.push(`key ${op.key} has ${n} running > ${perKey}`);
                  }
                  try {
                    await new Promise<void>((resolve, reject) => {
                      const timer = setTimeout(resolve, op.behaviour === 'ignore-abort' ? op.duration + 100 : op.duration);
                      if (op.behaviour === 'honour-abort') {
                        ctx.signal.addEventListener('abort', () => {
                          clearTimeout(timer);
                          reject(ctx.signal.reason);
                        }, { once: true });
                      }
                    });
                    if (op.behaviour === 'throw') throw new Error(`task ${index} threw`);
                    return index;
                  } finally {
                    runningWeight -= taken;
                    if (op.key !== undefined) runningByKey.set(op.key, runningByKey.get(op.key)! - 1);
                  }
                };
                const p = s.run(task, {
                  key: op.key, priority: op.priority, weight, signal: t.controller?.signal, timeout: op.timeout,
                });
                p.then(() => {
                  t.settled++;
                  fulfilled++;
                }, () => t.settled++);
                promises.push(p.catch(() => undefined));
                break;
              }
              case 'abort': {
                const t = tracked[op.target];
                if (t?.controller !== undefined) {
                  if (!t.started) t.cancelledBeforeStart = true;
                  t.controller.abort(new Error('aborted by test'));
                }
                break;
              }
              case 'advance':
                await vi.advanceTimersByTimeAsync(op.ms);
                loweredSince = false;
                break;
              case 'concurrency':
                if (op.value < s.concurrency) loweredSince = true;
                s.concurrency = op.value;
                break;
              case 'pause':
                s.pause();
                break;
              case 'resume':
                s.resume();
                break;
              case 'clear':
                s.clear();
                break;
              case 'close':
                void s.close({ drain: op.drain });
                break;
            }
          }
          const closed = s.close({ drain: false });
          s.resume();
          for (let i = 0; i < 40 && (tracked.some((t) => t.settled === 0) || s.stats().running > 0); i++) await vi.advanceTimersByTimeAsync(100);
          const unsettled = tracked.flatMap((t, i) => (t.settled === 0 ? [i] : []));
          expect(unsettled, `unsettled tasks; stats ${JSON.stringify(s.stats())}`).toEqual([]);
          let isClosed = false;
          void closed.then(() => (isClosed = true));
          for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
          expect(isClosed, `close never resolved; stats ${JSON.stringify(s.stats())} ops ${JSON.stringify(ops)}`).toBe(true);
          await Promise.all(promises);
          await vi.advanceTimersByTimeAsync(0);

          expect(violations).toEqual([]);
          for (const [i, t] of tracked.entries()) {
            expect(t.settled, `task ${i} settled`).toBe(1);
            expect(t.calls, `task ${i} calls`).toBeLessThanOrEqual(withRetry ? 3 : 1);
          }
          const st = s.stats();
          expect(st).toMatchObject({ queued: 0, running: 0, waiting: 0 });
          // Each task is counted in exactly one outcome.
          expect(st.completed + st.failed + st.cancelled + st.dropped + st.rejected).toBe(tracked.length);
          expect(st.completed).toBe(fulfilled);
          expect(vi.getTimerCount()).toBe(0);
        } finally {
          vi.useRealTimers();
        }
      },
    ), { numRuns: Number(process.env.PROP_RUNS ?? 1000), interruptAfterTimeLimit: Number(process.env.PROP_TIME_MS ?? 20_000), markInterruptAsFailure: true });
  });
});

// Lowering concurrency lets already-running tasks exceed the new limit until they drain.
let loweredSince = false;
