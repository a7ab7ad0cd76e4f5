// The diagnostics_channel surface: what each ringleader channel publishes, when, and with
// which fields, observed through node:diagnostics_channel as any subscriber would.
import { AsyncLocalStorage } from 'node:async_hooks';
import dc from 'node:diagnostics_channel';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitBreaker, DroppedError, Engine, QueueFullError, Scheduler, WorkerPool,
  type BreakerMessage, type EngineBatchMessage, type LanePauseMessage, type PoolTaskMessage, type RateWaitMessage,
  type RetryMessage, type TaskMessage,
} from '../../lib/index.js';
import { Gate } from '../runtime/helpers.js';
import { deferred, flush } from '../scheduler/helpers.js';

type Event = [kind: string, message: TaskMessage, attempt: number];

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  vi.useRealTimers();
});

/** Records every event of ringleader:task, with the attempt the message said at that moment. */
function traceTasks(): Event[] {
  const events: Event[] = [];
  const rec = (kind: string) => (m: unknown) => {
    const msg = m as TaskMessage;
    events.push([kind, msg, msg.attempt]);
  };
  const handlers = {
    start: rec('start'), end: rec('end'), asyncStart: rec('asyncStart'), asyncEnd: rec('asyncEnd'), error: rec('error'),
  };
  const ch = dc.tracingChannel('ringleader:task');
  ch.subscribe(handlers);
  cleanups.push(() => ch.unsubscribe(handlers));
  return events;
}

function listen<T>(name: string): T[] {
  const seen: T[] = [];
  const fn = (m: unknown): void => void seen.push(m as T);
  dc.subscribe(name, fn);
  cleanups.push(() => dc.unsubscribe(name, fn));
  return seen;
}

const http = (status: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe('ringleader:task', () => {
  it('traces a plain run() from queued to completed with one context object', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 1, name: 'llm' });
    await expect(s.run(() => 'ok')).resolves.toBe('ok');
    expect(events.map(([k, , a]) => `${k}:${a}`)).toEqual(['start:0', 'end:0', 'asyncStart:1', 'asyncEnd:1']);
    const msg = events[0]![1];
    expect(events.every(([, m]) => m === msg)).toBe(true);
    expect(msg).toMatchObject({ name: 'llm', key: undefined, priority: 0, weight: 1, tokens: 0, outcome: 'completed', result: 'ok' });
  });

  it('carries key, priority, weight and tokens from the run options', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 4 });
    await s.run(() => 1, { key: 'tenant-a', priority: 3, weight: 2, tokens: 500 });
    expect(events[0]![1]).toMatchObject({ key: 'tenant-a', priority: 3, weight: 2, tokens: 500, name: undefined });
  });

  it('publishes error then asyncEnd for a task that throws', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 1 });
    const boom = new Error('boom');
    await expect(s.run(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(events.map(([k]) => k)).toEqual(['start', 'end', 'asyncStart', 'error', 'asyncEnd']);
    expect(events[3]![1]).toMatchObject({ outcome: 'failed', error: boom });
  });

  it('stamps queue and start times: queuedAt before startedAt for a task that waited', async () => {
    vi.useFakeTimers();
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const second = s.run(() => 2);
    await vi.advanceTimersByTimeAsync(40);
    gate.resolve();
    await Promise.all([first, second]);
    const msg = events.find(([k, m]) => k === 'asyncEnd' && m.result === 2)![1];
    expect(msg.startedAt - msg.queuedAt).toBeGreaterThanOrEqual(40);
  });

  it('opens one asyncStart per attempt and publishes ringleader:retry between them', async () => {
    vi.useFakeTimers();
    const events = traceTasks();
    const retries = listen<RetryMessage>('ringleader:retry');
    const s = new Scheduler({ concurrency: 1, name: 'r', retry: { retries: 2, minDelay: 100, jitter: 'none' } });
    let n = 0;
    const p = s.run(() => (++n < 3 ? Promise.reject(http(503)) : 'third'), { key: 'k' });
    await vi.advanceTimersByTimeAsync(1000);
    await expect(p).resolves.toBe('third');
    expect(events.filter(([k]) => k === 'asyncStart').map(([, , a]) => a)).toEqual([1, 2, 3]);
    expect(retries.map((r) => [r.attempt, r.delay, r.key, r.name])).toEqual([[1, 100, 'k', 'r'], [2, 200, 'k', 'r']]);
    expect(retries[0]).toMatchObject({ priority: 0, weight: 1, tokens: 0 });
    expect((retries[0]!.error as { status: number }).status).toBe(503);
    expect(retries[0]!.task).toBe(events[0]![1]);
  });

  it('publishes ringleader:retry for tasks submitted before the task channel had subscribers', async () => {
    vi.useFakeTimers();
    const retries = listen<RetryMessage>('ringleader:retry');
    const s = new Scheduler({ concurrency: 1, retry: { retries: 1, minDelay: 10, jitter: 'none' } });
    let n = 0;
    const p = s.run(() => (++n < 2 ? Promise.reject(http(500)) : 'ok'));
    await vi.advanceTimersByTimeAsync(100);
    await p;
    expect(retries).toHaveLength(1);
    expect(retries[0]!.task).toBeUndefined();
  });

  it('ends a task refused by a full queue with outcome rejected', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 1, maxQueued: 0 });
    const gate = deferred();
    const running = s.run(() => gate.promise);
    await expect(s.run(() => 1)).rejects.toBeInstanceOf(QueueFullError);
    const refused = events.find(([, m]) => m.outcome === 'rejected')![1];
    expect(events.filter(([, m]) => m === refused).map(([k, , a]) => `${k}:${a}`)).toEqual(['start:0', 'end:0', 'error:0', 'asyncEnd:0']);
    gate.resolve();
    await running;
  });

  it('ends a task evicted by drop-oldest with outcome dropped', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 1, maxQueued: 1, onFull: 'drop-oldest' });
    const gate = deferred();
    const running = s.run(() => gate.promise);
    const victim = s.run(() => 'old');
    const newer = s.run(() => 'new');
    await expect(victim).rejects.toBeInstanceOf(DroppedError);
    gate.resolve();
    await Promise.all([running, newer]);
    const dropped = events.filter(([k, m]) => k === 'asyncEnd' && m.outcome === 'dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]![1].attempt).toBe(0);
  });

  it('ends a task aborted while queued with outcome cancelled and no asyncStart', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const running = s.run(() => gate.promise);
    const ac = new AbortController();
    const queued = s.run(() => 1, { signal: ac.signal });
    ac.abort();
    await expect(queued).rejects.toThrow();
    const mine = events.filter(([, m]) => m.id === events.at(-1)![1].id).map(([k]) => k);
    expect(mine).toEqual(['start', 'end', 'error', 'asyncEnd']);
    expect(events.at(-1)![1].outcome).toBe('cancelled');
    gate.resolve();
    await running;
  });

  it('records the tokens an attempt reported', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 1, rate: { limit: 10_000, interval: 60_000, cost: 'tokens' } });
    await s.run((ctx) => ctx.reportTokens(120), { tokens: 400 });
    expect(events[0]![1]).toMatchObject({ tokens: 400, reportedTokens: 120 });
  });

  it('runs each attempt inside a store bound to asyncStart, as Node tracing convention has it', async () => {
    traceTasks();
    const store = new AsyncLocalStorage<number>();
    const ch = dc.tracingChannel('ringleader:task');
    ch.asyncStart.bindStore(store, (m) => (m as TaskMessage).id);
    cleanups.push(() => ch.asyncStart.unbindStore(store));
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const first = s.run(async () => {
      await gate.promise;
      return store.getStore();
    });
    const second = s.run(async () => {
      await flush();
      return store.getStore();
    });
    gate.resolve();
    const [a, b] = await Promise.all([first, second]);
    expect(typeof a).toBe('number');
    expect(b).toBe((a as number) + 1);
  });

  it('publishes nothing for a task submitted while nobody subscribed', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const before = s.run(() => gate.promise);
    const events = traceTasks();
    gate.resolve();
    await before;
    await s.run(() => 1);
    expect(new Set(events.map(([, m]) => m.id)).size).toBe(1);
  });
});

describe('the name option', () => {
  it('refuses a name that is not a string with a TypeError', () => {
    expect(() => new Scheduler({ concurrency: 1, name: 42 as unknown as string })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1, halfOpenAfter: 1, name: {} as unknown as string })).toThrow(TypeError);
  });

  it('is readable on the scheduler and passed to its children', async () => {
    const events = traceTasks();
    const s = new Scheduler({ concurrency: 2, name: 'parent' });
    const child = s.child({ concurrency: 1 });
    expect([s.name, child.name]).toEqual(['parent', 'parent']);
    await child.run(() => 1);
    expect(new Set(events.map(([, m]) => m.name))).toEqual(new Set(['parent']));
  });
});

describe('ringleader:rate-wait', () => {
  it('publishes one message per task held by the rate windows, with its tokens and wait', async () => {
    vi.useFakeTimers();
    const waits = listen<RateWaitMessage>('ringleader:rate-wait');
    const s = new Scheduler({ concurrency: 4, name: 'rpm', rate: { limit: 1, interval: 1000 } });
    const all = [s.run(() => 1, { key: 'a' }), s.run(() => 2, { key: 'b', priority: 1, weight: 2 }), s.run(() => 3, { key: 'c' })];
    await vi.advanceTimersByTimeAsync(2500);
    await Promise.all(all);
    expect(waits.map((w) => [w.name, w.key])).toEqual([['rpm', 'b'], ['rpm', 'c']]);
    expect(waits[0]).toMatchObject({ priority: 1, weight: 2, tokens: 0 });
    expect(waits[0]!.waitMs).toBeGreaterThan(0);
    expect(waits[0]!.waitMs).toBeLessThanOrEqual(1000);
  });
});

describe('ringleader:lane-pause', () => {
  it('publishes a key pause from a 429 with its Retry-After and the error', async () => {
    vi.useFakeTimers();
    const pauses = listen<LanePauseMessage>('ringleader:lane-pause');
    const s = new Scheduler({ concurrency: 2, name: 'p', retry: { retries: 1, minDelay: 1, jitter: 'none' } });
    let n = 0;
    const p = s.run(() => (++n === 1 ? Promise.reject(http(429, { 'retry-after': '2' })) : 'ok'), { key: 'openai' });
    await vi.advanceTimersByTimeAsync(3000);
    await p;
    expect(pauses).toHaveLength(1);
    expect(pauses[0]).toMatchObject({ name: 'p', key: 'openai', ms: 2000 });
    expect((pauses[0]!.error as { status: number }).status).toBe(429);
  });

  it('publishes pauseFor() with no error, and a scheduler-wide pause with no key', () => {
    const pauses = listen<LanePauseMessage>('ringleader:lane-pause');
    const s = new Scheduler({ concurrency: 1 });
    s.pauseFor(50, 'k');
    s.pauseFor(70);
    expect(pauses).toEqual([
      { name: undefined, key: 'k', ms: 50, error: undefined },
      { name: undefined, key: undefined, ms: 70, error: undefined },
    ]);
    void s.close({ drain: false });
  });
});

describe('ringleader:breaker', () => {
  it('publishes each state change of a scheduler\'s per-key breaker with the name and key', async () => {
    vi.useFakeTimers();
    const changes = listen<BreakerMessage>('ringleader:breaker');
    const s = new Scheduler({ concurrency: 1, name: 'b', breaker: { failureThreshold: 1, halfOpenAfter: 100 } });
    const fail = new Error('down');
    await expect(s.run(() => Promise.reject(fail), { key: 'svc' })).rejects.toBe(fail);
    await vi.advanceTimersByTimeAsync(150);
    await s.run(() => 'up', { key: 'svc' });
    expect(changes.map((c) => [c.from, c.to])).toEqual([['closed', 'open'], ['open', 'half-open'], ['half-open', 'closed']]);
    expect(changes[0]).toMatchObject({ name: 'b', key: 'svc', error: fail });
  });

  it('names a standalone breaker by its name option', () => {
    const changes = listen<BreakerMessage>('ringleader:breaker');
    const breaker = new CircuitBreaker({ failureThreshold: 1, halfOpenAfter: 100, name: 'db' });
    breaker.isolate();
    expect(changes).toEqual([{ name: 'db', key: undefined, from: 'closed', to: 'isolated', error: undefined }]);
  });
});

describe('ringleader:engine-batch', () => {
  it('publishes files, bytes, failures and the backend of a readFiles batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-dc-'));
    writeFileSync(join(dir, 'a'), 'x'.repeat(100));
    writeFileSync(join(dir, 'b'), 'y'.repeat(23));
    const batches = listen<EngineBatchMessage>('ringleader:engine-batch');
    const engine = await Engine.open({ backend: 'js' });
    try {
      await engine.readFiles([join(dir, 'a'), join(dir, 'b')]);
      const settled = await engine.readFiles([join(dir, 'a'), join(dir, 'missing')], { settle: true });
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      await expect(engine.readFiles([join(dir, 'missing')])).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await engine.close();
    }
    expect(batches.map((b) => [b.backend, b.files, b.bytes, b.failed])).toEqual([
      ['js', 2, 123, 0], ['js', 2, 100, 1], ['js', 1, 0, 1],
    ]);
    expect(batches.every((b) => Number.isInteger(b.durationUs) && b.durationUs >= 0)).toBe(true);
  });
});

describe('ringleader:pool-task', () => {
  it('publishes worker, run time and outcome in the caller\'s async context', async () => {
    const store = new AsyncLocalStorage<string>();
    const seen: Array<[PoolTaskMessage, string | undefined]> = [];
    const fn = (m: unknown): void => void seen.push([m as PoolTaskMessage, store.getStore()]);
    dc.subscribe('ringleader:pool-task', fn);
    cleanups.push(() => dc.unsubscribe('ringleader:pool-task', fn));
    const pool = await WorkerPool.open({ filename: new URL('../runtime/fixtures/echo.mjs', import.meta.url), threads: 2 });
    try {
      await store.run('caller-1', () => pool.run({ hello: 1 }, { key: 'k1' }));
      await store.run('caller-2', () => expect(pool.run({ op: 'throw', message: 'no' })).rejects.toThrow('no'));
    } finally {
      await pool.close();
    }
    expect(seen.map(([m, ctx]) => [m.outcome, m.key, ctx])).toEqual([['completed', 'k1', 'caller-1'], ['failed', undefined, 'caller-2']]);
    const [first] = seen[0]!;
    expect(first.worker === 0 || first.worker === 1).toBe(true);
    expect(first.threadId).toBeGreaterThan(0);
    expect(first.runTime).toBeGreaterThanOrEqual(0);
    expect(first.queueWait).toBeGreaterThanOrEqual(0);
  });
  it('says cancelled for a task its caller aborted, and crashed-worker tasks failed', async () => {
    const seen = listen<PoolTaskMessage>('ringleader:pool-task');
    const pool = await WorkerPool.open({ filename: new URL('../runtime/fixtures/echo.mjs', import.meta.url), threads: 1 });
    try {
      const gate = new Gate();
      const ac = new AbortController();
      const hung = pool.run({ op: 'hang', sab: gate.sab }, { signal: ac.signal });
      await gate.reached(1);
      ac.abort();
      await expect(hung).rejects.toThrow();
      await expect(pool.run({ op: 'exit', code: 3 })).rejects.toThrow();
    } finally {
      await pool.close();
    }
    expect(seen.map((m) => m.outcome)).toEqual(['cancelled', 'failed']);
    expect(seen[1]!.error).toBeInstanceOf(Error);
  });
});
