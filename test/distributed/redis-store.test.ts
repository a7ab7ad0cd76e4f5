// RedisStore against a real redis-server, inside one process: several stores on one
// prefix stand in for several processes. Limits, leases, fences, token corrections,
// waiting without polling, SCRIPT FLUSH, close, and option checks.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, Scheduler } from '../../lib/index.js';
import { RedisStore } from '../../lib/distributed/redis-store.js';
import { redisMissing, sharedRedis } from './redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
let prefixCount = 0;
const newPrefix = (): string => `t${process.pid}-${Date.now()}-${prefixCount++}`;

describe.skipIf(redisMissing !== undefined)('RedisStore', () => {
  let server: { url: string; stop(): Promise<void> };
  let admin: Redis;
  const clients: Redis[] = [];
  const stores: RedisStore[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  function client(): Redis {
    const redis = new Redis(server.url);
    clients.push(redis);
    return redis;
  }

  function store(prefix: string, options: { leaseMs?: number } = {}): RedisStore {
    const s = new RedisStore(client(), { prefix, ...options });
    stores.push(s);
    return s;
  }

  async function evalshaCalls(): Promise<number> {
    const info = await admin.info('commandstats');
    let calls = 0;
    for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) calls += Number(m[1]);
    return calls;
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await sharedRedis();
    admin = new Redis(server.url);
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(clients.splice(0).map((c) => c.quit()));
    expect(unhandled.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await admin?.quit();
    await server?.stop();
  });

  it('holds global concurrency across stores sharing a prefix', async () => {
    const prefix = newPrefix();
    let running = 0;
    let peak = 0;
    const schedulers = [0, 1, 2].map(() => new Scheduler({ concurrency: 8, store: store(prefix), global: { concurrency: 5 } }));
    const task = async (): Promise<void> => {
      running++;
      peak = Math.max(peak, running);
      await sleep(5);
      running--;
    };
    await Promise.all(schedulers.flatMap((s) => Array.from({ length: 40 }, () => s.run(task))));
    expect(peak).toBe(5);
    // Leaves travel after the attempts settle.
    await until(async () => (await admin.zcard(`{${prefix}}:holders`)) === 0);
  });

  it('gives every admitted attempt a fence, strictly increasing in admission order', async () => {
    const s = new Scheduler({ concurrency: 1, store: store(newPrefix()), global: { concurrency: 1 } });
    const fences: Array<number | undefined> = [];
    for (let i = 0; i < 20; i++) fences.push(await s.run((ctx) => ctx.fence));
    for (let i = 1; i < fences.length; i++) expect(fences[i]!).toBeGreaterThan(fences[i - 1]!);
  });

  it('holds a global per-key limit without blocking other keys', async () => {
    const prefix = newPrefix();
    const running = new Map<string, number>();
    let peak = 0;
    let all = 0;
    let peakAll = 0;
    const a = new Scheduler({ concurrency: 4, store: store(prefix), global: { perKey: 1 } });
    const b = new Scheduler({ concurrency: 4, store: store(prefix), global: { perKey: 1 } });
    const task = (key: string) => async (): Promise<void> => {
      const n = (running.get(key) ?? 0) + 1;
      running.set(key, n);
      peak = Math.max(peak, n);
      peakAll = Math.max(peakAll, ++all);
      await sleep(5);
      all--;
      running.set(key, n - 1);
    };
    await Promise.all([a, b].flatMap((s) => ['x', 'y', 'z'].flatMap((key) =>
      Array.from({ length: 5 }, () => s.run(task(key), { key })))));
    expect(peak).toBe(1);
    // A full key did not hold the others back: several keys ran side by side.
    expect(peakAll).toBeGreaterThan(1);
  });

  it('charges token windows the estimate and corrects them with reportTokens', async () => {
    const prefix = newPrefix();
    const s = new Scheduler({ concurrency: 4, store: store(prefix), global: { rate: { limit: 1000, interval: 60_000, cost: 'tokens' } } });
    await s.run((ctx) => {
      ctx.reportTokens(100);
    }, { tokens: 600 });
    await until(async () => Number(await admin.get(`{${prefix}}:rate:60000:tokens:sum`)) === 100);
    // 900 fit only because the 600 estimate was corrected down to 100: uncorrected, this run
    // would wait out the 60 s window, past the test's timeout.
    await s.run(() => 'ok', { tokens: 900 });
    expect(Number(await admin.get(`{${prefix}}:rate:60000:tokens:sum`))).toBe(1000);
  });

  it('refuses a token estimate larger than a global window at once', async () => {
    const s = new Scheduler({ concurrency: 1, store: store(newPrefix()), global: { rate: { limit: 100, interval: 1000, cost: 'tokens' } } });
    await expect(s.run(() => 1, { tokens: 101 })).rejects.toThrow(RangeError);
  });

  it('keeps every 1-second window of starts at or under the global rate', async () => {
    const prefix = newPrefix();
    const starts: number[] = [];
    const schedulers = [0, 1].map(() => new Scheduler({ concurrency: 20, store: store(prefix), global: { rate: { limit: 20, interval: 1000 } } }));
    // Start times by Redis's clock: the admitting script logs each fence at its TIME.
    await Promise.all(schedulers.flatMap((s) => Array.from({ length: 25 }, () => s.run(async (ctx) => {
      starts.push(Number(await admin.zscore(`{${prefix}}:rate:1000:requests`, String(ctx.fence))));
    }))));
    starts.sort((x, y) => x - y);
    expect(starts).toHaveLength(50);
    expect(starts.every((t) => t > 0)).toBe(true);
    for (let i = 0; i < starts.length; i++) {
      expect(starts.filter((t) => t >= starts[i]! && t < starts[i]! + 1000).length).toBeLessThanOrEqual(20);
    }
    // 50 starts at 20/s: two full windows must pass between the first and the last.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(2000);
  });

  it('waits for a full budget on the release channel, not by polling', async () => {
    const prefix = newPrefix();
    // A 120 s lease puts the jittered re-check at 40 s, past the test's timeout: only the
    // release message can wake the waiter in time.
    const holder = new Scheduler({ concurrency: 1, store: store(prefix, { leaseMs: 120_000 }), global: { concurrency: 1 } });
    const waiter = new Scheduler({ concurrency: 4, store: store(prefix, { leaseMs: 120_000 }), global: { concurrency: 1 } });
    let release: (() => void) | undefined;
    const held = holder.run(() => new Promise<void>((resolve) => (release = resolve)));
    await until(() => release !== undefined);
    const before = await evalshaCalls();
    const waiting = Array.from({ length: 4 }, () => waiter.run(() => 'ran'));
    await sleep(1000);
    // A few refusals, then silence until a release: no hot loop.
    expect((await evalshaCalls()) - before).toBeLessThanOrEqual(4);
    release!();
    await held;
    await Promise.all(waiting);
  });

  it('renews leases while attempts run, so a long attempt keeps its slot', async () => {
    const prefix = newPrefix();
    const a = new Scheduler({ concurrency: 1, store: store(prefix, { leaseMs: 500 }), global: { concurrency: 1 } });
    const b = new Scheduler({ concurrency: 1, store: store(prefix, { leaseMs: 500 }), global: { concurrency: 1 } });
    let aEnded = 0;
    let aStarted = false;
    const long = a.run(async () => {
      aStarted = true;
      await sleep(1500);
      aEnded = performance.now();
    });
    await until(() => aStarted);
    const bStarted = await b.run(() => performance.now());
    await long;
    expect(bStarted).toBeGreaterThanOrEqual(aEnded);
  });

  it('re-takes a lease that lapsed while its attempt still runs, so others keep waiting', async () => {
    const prefix = newPrefix();
    const renewing = new RedisStore(client(), { prefix, leaseMs: 1000, renewEveryMs: 100 });
    stores.push(renewing);
    const a = new Scheduler({ concurrency: 1, store: renewing, global: { concurrency: 1 } });
    const b = new Scheduler({ concurrency: 1, store: store(prefix, { leaseMs: 1000 }), global: { concurrency: 1 } });
    let release: (() => void) | undefined;
    const held = a.run(() => new Promise<void>((resolve) => (release = resolve)));
    await until(() => release !== undefined);
    // What a restart that lost the data, or a lease that ran out, leaves behind.
    await admin.del(`{${prefix}}:holders`);
    await until(async () => (await admin.zcard(`{${prefix}}:holders`)) === 1);
    let bRan = false;
    const later = b.run(() => {
      bRan = true;
    });
    // Several of a's renewals and b's re-checks go by; the slot is still a's.
    await sleep(600);
    expect(bRan).toBe(false);
    release!();
    await held;
    await later;
    expect(bRan).toBe(true);
  });

  it('renews every held lease, also past 500 running attempts in one process', async () => {
    const prefix = newPrefix();
    const st = new RedisStore(client(), { prefix, leaseMs: 1000, renewEveryMs: 100 });
    stores.push(st);
    const s = new Scheduler({ concurrency: 600, store: st, global: { concurrency: 600 } });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const running = Array.from({ length: 600 }, () => s.run(async () => {
      started++;
      await gate;
    }));
    await until(() => started === 600);
    const [sec, usec] = await admin.time();
    const admittedBy = Number(sec) * 1000 + Number(usec) / 1000;
    // Every lease renewed after the last admission outlives the expiry it was admitted with.
    await until(async () => (await admin.zcount(`{${prefix}}:holders`, admittedBy + 1000, '+inf')) === 600);
    release();
    await Promise.all(running);
  });

  it('a closed scheduler has given its last leases back, so its client can quit at once', async () => {
    const prefix = newPrefix();
    const redis = new Redis(server.url);
    const st = new RedisStore(redis, { prefix });
    const s = new Scheduler({ concurrency: 2, store: st, global: { concurrency: 2 } });
    await Promise.all([s.run(() => 1), s.run(() => 2)]);
    const last = s.run(() => sleep(20));
    await s.close();
    await last;
    await redis.quit();
    expect(await admin.zcard(`{${prefix}}:holders`)).toBe(0);
    await st.close();
  });

  it('a yielding task gives its lease back to its own children, and takes one again without a new rate charge', async () => {
    const prefix = newPrefix();
    const s = new Scheduler({
      concurrency: 4, store: store(prefix), global: { concurrency: 1, rate: { limit: 100, interval: 60_000 } },
    });
    const [outer, inner, after] = await s.run(async (ctx) => {
      const before = ctx.fence!;
      const child = await ctx.yield(s.run((c) => c.fence!));
      return [before, child, ctx.fence!];
    });
    expect(inner).toBeGreaterThan(outer);
    expect(after).toBeGreaterThan(inner);
    expect(await admin.zcard(`{${prefix}}:rate:60000:requests`)).toBe(2);
    await s.close();
    expect(await admin.zcard(`{${prefix}}:holders`)).toBe(0);
  });

  it('survives SCRIPT FLUSH between calls', async () => {
    const s = new Scheduler({ concurrency: 2, store: store(newPrefix()), global: { concurrency: 2 } });
    await s.run(() => 1);
    await admin.script('FLUSH');
    await expect(Promise.all(Array.from({ length: 10 }, (_, i) => s.run(() => i)))).resolves.toHaveLength(10);
  });

  it('close() gives back held leases, rejects waiters, and stops the subscriber', async () => {
    const prefix = newPrefix();
    const redis = client();
    await redis.ping();
    const clientsBefore = (await admin.client('LIST') as string).trim().split('\n').length;
    const st = new RedisStore(redis, { prefix });
    const s = new Scheduler({ concurrency: 4, store: st, global: { concurrency: 2 } });
    const hold = (ctx: { signal: AbortSignal }): Promise<void> =>
      new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    const running = [s.run(hold), s.run(hold)];
    const queued = [s.run(() => 1).catch((err: unknown) => err), s.run(() => 2).catch((err: unknown) => err)];
    // Two leases held, and the waiters' release subscription connected.
    await until(async () => (await admin.zcard(`{${prefix}}:holders`)) === 2 &&
      (await admin.client('LIST') as string).trim().split('\n').length === clientsBefore + 1);
    await st.close();
    expect(await admin.zcard(`{${prefix}}:holders`)).toBe(0);
    for (const q of queued) expect(await q).toBeInstanceOf(ClosedError);
    await until(async () => (await admin.client('LIST') as string).trim().split('\n').length === clientsBefore);
    expect(redis.listenerCount('ready')).toBe(0);
    await s.close({ drain: false });
    await Promise.allSettled(running);
  });

  it('refuses bad options with TypeError and RangeError', () => {
    const redis = client();
    expect(() => new RedisStore({} as Redis)).toThrow(TypeError);
    expect(() => new RedisStore(null as unknown as Redis)).toThrow(TypeError);
    expect(() => new RedisStore(redis, { prefix: '' })).toThrow(TypeError);
    expect(() => new RedisStore(redis, { leaseMs: 0 })).toThrow(RangeError);
    expect(() => new RedisStore(redis, { leaseMs: 10 })).toThrow(/leaseMs/);
    expect(() => new RedisStore(redis, { leaseMs: 1000, renewEveryMs: 1000 })).toThrow(RangeError);
    const st = store(newPrefix());
    expect(() => st.gate({ concurrency: 0 })).toThrow(RangeError);
    expect(() => st.gate({ concurrency: 1.5 })).toThrow(RangeError);
    expect(() => st.gate({ concurrency: '4' as unknown as number })).toThrow(TypeError);
    expect(() => st.gate({ perKey: -1 })).toThrow(RangeError);
    expect(() => st.gate({ rate: [] })).toThrow(RangeError);
    expect(() => st.gate({ rate: { limit: 0, interval: 1000 } })).toThrow(RangeError);
    expect(() => st.gate({ rate: { limit: 10, interval: -1 } })).toThrow(RangeError);
    expect(() => st.gate({ rate: { limit: 10, interval: 1000, cost: 'bytes' as 'tokens' } })).toThrow(TypeError);
    expect(() => st.gate({ failOpen: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => new Scheduler({ concurrency: 1, store: st, global: { concurrency: -2 } })).toThrow(RangeError);
  });
});
