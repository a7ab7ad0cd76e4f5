// RedisStore's own timers with delays past setTimeout's 2^31−1 ms: lease renewals and the
// re-check of a waiting rate window. Before lib/timer.ts both fired every millisecond,
// which shows as a stream of script calls; here the calls are counted on Redis.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../lib/index.js';
import { RedisStore } from '../../lib/distributed/redis-store.js';
import { redisMissing, sharedRedis } from './redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
let prefixCount = 0;
const newPrefix = (): string => `long${process.pid}-${Date.now()}-${prefixCount++}`;

describe.skipIf(redisMissing !== undefined)('RedisStore with delays past 2^31 ms', () => {
  let url: string;
  let admin: Redis;

  beforeAll(async () => {
    url = (await sharedRedis()).url;
    admin = new Redis(url);
  });
  afterAll(async () => {
    await admin.quit();
  });

  async function scriptCalls(): Promise<number> {
    const info = await admin.info('commandstats');
    let calls = 0;
    for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) calls += Number(m[1]);
    return calls;
  }

  it('a lease of 2^33 ms is renewed every leaseMs / 3, not every millisecond', async () => {
    const redis = new Redis(url);
    const store = new RedisStore(redis, { prefix: newPrefix(), leaseMs: 2 ** 33 });
    expect(store.renewEveryMs).toBeGreaterThan(2 ** 31);
    const s = new Scheduler({ concurrency: 1, store, global: { concurrency: 1 } });
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const held = s.run(() => new Promise<void>((resolve) => {
      release = resolve;
      entered();
    }));
    await inside;
    const before = await scriptCalls();
    // Long enough for hundreds of 1 ms renewals; the test counts calls, not time.
    await sleep(300);
    expect(await scriptCalls() - before).toBeLessThanOrEqual(1);
    release();
    await held;
    await s.close();
    await store.close();
    await redis.quit();
  });

  it('a task waiting on a 2^33 ms global rate window waits for the release channel, not by polling', async () => {
    const redis = new Redis(url);
    const store = new RedisStore(redis, { prefix: newPrefix() });
    const s = new Scheduler({ concurrency: 2, store, global: { rate: { limit: 1, interval: 2 ** 33 } } });
    await s.run(() => 'first');
    let ran = false;
    const second = s.run(() => {
      ran = true;
    });
    const outcome = second.then(() => 'ran', () => 'refused');
    await sleep(50);
    const before = await scriptCalls();
    await sleep(300);
    expect(await scriptCalls() - before).toBeLessThanOrEqual(1);
    expect(ran).toBe(false);
    await s.close({ drain: false });
    expect(await outcome).toBe('refused');
    await store.close();
    await redis.quit();
  });
});
