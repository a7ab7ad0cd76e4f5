// Redis going away under a RedisStore, on a server of this file's own: fail closed
// (ERR_STORE_UNAVAILABLE at the attempt's timeout, or a wait that resumes when Redis
// returns), fail open (local limits and an 'error' event), and no unhandled rejection.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Scheduler, StoreUnavailableError } from '../../lib/index.js';
import { RedisStore } from '../../lib/distributed/redis-store.js';
import { RedisServer, redisMissing } from './redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(redisMissing !== undefined)('RedisStore when Redis is unreachable', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: RedisStore;
  let prefixCount = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await RedisServer.start();
  });

  beforeEach(async () => {
    await server.start();
    redis = new Redis(server.url);
    await redis.ping();
    store = new RedisStore(redis, { prefix: `outage-${prefixCount++}`, leaseMs: 1000 });
  });

  afterEach(async () => {
    await store.close();
    redis.disconnect();
    // Let late client events land inside this test, not the next.
    await sleep(50);
    expect(unhandled).toEqual([]);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.stop();
  });

  it('fails closed: attempts reject with ERR_STORE_UNAVAILABLE at their timeout, unrun', async () => {
    const s = new Scheduler({ concurrency: 4, timeout: 300, store, global: { concurrency: 2 } });
    await s.run(() => 'warm');
    await server.stop();
    let ran = 0;
    // Ordering, not a stopwatch: a timer armed before the attempts, 1 ms shorter than their
    // timeout, fires before any of theirs can, so a refusal that comes first came early.
    let early = true;
    const marker = setTimeout(() => {
      early = false;
    }, 299);
    const refusedEarly: boolean[] = [];
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => s.run(() => ran++).catch((err: unknown) => {
      refusedEarly.push(early);
      throw err;
    })));
    clearTimeout(marker);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    }
    expect(ran).toBe(0);
    // Not before their timeout (a hang past it fails the test's own timeout).
    expect(refusedEarly).toEqual([false, false, false]);
  });

  it('fails closed without a timeout: the attempt waits and runs once Redis is back', async () => {
    const s = new Scheduler({ concurrency: 4, store, global: { concurrency: 2 } });
    await s.run(() => 'warm');
    await server.stop();
    let ran = false;
    const waiting = s.run((ctx) => {
      ran = true;
      return ctx.fence;
    });
    await sleep(500);
    expect(ran).toBe(false);
    await server.start();
    const fence = await waiting;
    expect(ran).toBe(true);
    expect(typeof fence).toBe('number');
  });

  it('fails open when asked: attempts run under local limits and the store emits error', async () => {
    const errors: unknown[] = [];
    store.on('error', (err) => errors.push(err));
    const s = new Scheduler({ concurrency: 3, store, global: { concurrency: 1, failOpen: true } });
    await s.run(() => 'warm');
    await server.stop();
    let running = 0;
    let peak = 0;
    const fences = await Promise.all(Array.from({ length: 9 }, () => s.run(async (ctx) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      return ctx.fence;
    })));
    expect(fences.every((f) => f === undefined)).toBe(true);
    // The local limit (3) holds; the global one (1) cannot be checked.
    expect(peak).toBe(3);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
    // Back on Redis without a restart of anything here.
    await server.start();
    await sleep(300);
    expect(typeof await s.run((ctx) => ctx.fence)).toBe('number');
  });

  it('fails open only once Redis is known down: a client still connecting is waited for', async () => {
    const fresh = new Redis(server.url);
    const st = new RedisStore(fresh, { prefix: `outage-${prefixCount++}`, leaseMs: 1000 });
    const errors: unknown[] = [];
    st.on('error', (err) => errors.push(err));
    expect(fresh.status).toBe('connecting');
    const s = new Scheduler({ concurrency: 6, store: st, global: { concurrency: 2, failOpen: true } });
    let running = 0;
    let peak = 0;
    const fences = await Promise.all(Array.from({ length: 6 }, () => s.run(async (ctx) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      return ctx.fence;
    })));
    expect(peak).toBe(2);
    expect(fences.every((f) => typeof f === 'number')).toBe(true);
    expect(errors).toEqual([]);
    await st.close();
    fresh.disconnect();
  });

  it('resumes global limits after Redis restarts, with fences still rising', async () => {
    const s = new Scheduler({ concurrency: 4, store, global: { concurrency: 2 } });
    const before = await s.run((ctx) => ctx.fence);
    await server.restart();
    let running = 0;
    let peak = 0;
    const after = await Promise.all(Array.from({ length: 10 }, () => s.run(async (ctx) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(10);
      running--;
      return ctx.fence!;
    })));
    expect(peak).toBeLessThanOrEqual(2);
    expect(Math.min(...after)).toBeGreaterThan(before!);
  });
});
