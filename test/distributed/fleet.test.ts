// A fleet of real processes (fleet-worker.mjs, on the built package) sharing one Redis:
// global concurrency and rate hold across them, a SIGKILLed holder's slots come back
// within one lease TTL, and a Redis restart plus SCRIPT FLUSH mid-run loses no task.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../lib/index.js';
import { RedisStore } from '../../lib/distributed/redis-store.js';
import { startWorker, type Worker } from './fleet-process.js';
import { RedisServer, redisMissing } from './redis-server.js';

const BUILT = fileURLToPath(new URL('../../dist/distributed/redis-store.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Most timestamps (ms) in any window [t, t + 1000). */
function busiestSecond(sorted: number[]): number {
  let worst = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1000) j++;
    worst = Math.max(worst, j - i);
  }
  return worst;
}

async function waitForLine(worker: Worker, line: string, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (!worker.lines.includes(line)) {
    if (performance.now() > until) throw new Error(`worker never printed ${line}`);
    await sleep(10);
  }
}

describe.skipIf(redisMissing !== undefined)('a fleet of processes on one Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  let prefixCount = 0;
  const newPrefix = (): string => `fleet-${process.pid}-${prefixCount++}`;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error('dist/ is missing: run `npm run build` before the distributed tests');
    process.on('unhandledRejection', onUnhandled);
    server = await RedisServer.start();
    admin = new Redis(server.url);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    admin?.disconnect();
    await server?.stop();
    expect(unhandled).toEqual([]);
  });

  it('4 processes x 200 tasks under global concurrency 8: never more than 8 run, all complete', async () => {
    const prefix = newPrefix();
    const workers = Array.from({ length: 4 }, () => startWorker({
      url: server.url, prefix, mode: 'count', tasks: 200, local: 16, global: { concurrency: 8 }, taskMs: 5,
    }));
    const reports = await Promise.all(workers.map((w) => w.report));
    expect(reports.reduce((n, r) => n + r.done, 0)).toBe(800);
    expect(reports.flatMap((r) => [...r.failed, ...r.unhandled])).toEqual([]);
    expect(Number(await admin.get(`${prefix}:peak`))).toBeLessThanOrEqual(8);
    expect(Number(await admin.get(`${prefix}:peak`))).toBeGreaterThanOrEqual(2);
    expect(Number(await admin.get(`${prefix}:running`))).toBe(0);
    // Fences are unique fleet-wide and rise in each process's admission order.
    const all = reports.flatMap((r) => r.fences);
    expect(new Set(all).size).toBe(800);
    for (const r of reports) for (let i = 1; i < r.fences.length; i++) expect(r.fences[i]!).toBeGreaterThan(r.fences[i - 1]!);
  });

  it('global rate 50/s across 4 processes: no 1-second window holds more than 50 starts', async () => {
    const prefix = newPrefix();
    const workers = Array.from({ length: 4 }, () => startWorker({
      url: server.url, prefix, mode: 'rate', tasks: 40, local: 50, global: { rate: { limit: 50, interval: 1000 } },
    }));
    const reports = await Promise.all(workers.map((w) => w.report));
    expect(reports.flatMap((r) => [...r.failed, ...r.unhandled])).toEqual([]);
    const admissions = reports.flatMap((r) => r.admissions).sort((a, b) => a - b);
    expect(admissions).toHaveLength(160);
    expect(admissions.every((t) => t > 0)).toBe(true);
    // Start times by Redis's clock (TIME inside the admitting script): exact, no burst.
    expect(busiestSecond(admissions)).toBe(50);
    // 160 starts at 50/s need at least three full windows.
    expect(admissions.at(-1)! - admissions[0]!).toBeGreaterThan(3000);
  });

  it('a SIGKILLed process holding every slot gives them back within one lease TTL', async () => {
    const prefix = newPrefix();
    const leaseMs = 1000;
    const holder = startWorker({ url: server.url, prefix, mode: 'hold', tasks: 8, local: 8, global: { concurrency: 8 }, leaseMs });
    await waitForLine(holder, 'holding', 10_000);
    const redis = new Redis(server.url);
    const store = new RedisStore(redis, { prefix, leaseMs });
    const s = new Scheduler({ concurrency: 8, store, global: { concurrency: 8 } });
    try {
      // Leases were renewed while the holder lived: nobody gets in past the first TTL.
      await sleep(leaseMs * 1.5);
      let admitted = 0;
      const first = s.run(() => admitted++);
      await sleep(100);
      expect(admitted).toBe(0);
      holder.child.kill('SIGKILL');
      // By Redis's clock and its record of the leases: every slot the holder had expires
      // within one TTL of the kill, and the slots come back only once those leases lapse.
      const redisNow = async (): Promise<number> => {
        const [sec, usec] = await redis.time();
        return Number(sec) * 1000 + Number(usec) / 1000;
      };
      const killedAt = await redisNow();
      const leases = await redis.zrange(`{${prefix}}:holders`, '0', '-1', 'WITHSCORES');
      const expiries = leases.filter((_, i) => i % 2 === 1).map(Number);
      expect(expiries).toHaveLength(8);
      for (const expiry of expiries) expect(expiry).toBeLessThanOrEqual(killedAt + leaseMs);
      await first;
      await Promise.all(Array.from({ length: 7 }, () => s.run(() => admitted++)));
      expect(admitted).toBe(8);
      expect(await redisNow()).toBeGreaterThanOrEqual(Math.min(...expiries));
    } finally {
      await store.close();
      redis.disconnect();
    }
  });

  it('finishes every task when Redis restarts mid-run and its scripts are flushed', async () => {
    const own = await RedisServer.start();
    try {
      const prefix = newPrefix();
      const workers = Array.from({ length: 4 }, () => startWorker({
        url: own.url, prefix, mode: 'sleep', tasks: 100, local: 16, global: { concurrency: 8 }, taskMs: 20, leaseMs: 2000,
      }));
      await sleep(400);
      const flusher = new Redis(own.url);
      await flusher.script('FLUSH');
      flusher.disconnect();
      await sleep(150);
      await own.restart();
      const reports = await Promise.all(workers.map((w) => w.report));
      expect(reports.reduce((n, r) => n + r.done, 0)).toBe(400);
      expect(reports.flatMap((r) => [...r.failed, ...r.unhandled])).toEqual([]);
      // Fences keep rising across the restart, although the counter was lost with the data.
      for (const r of reports) for (let i = 1; i < r.fences.length; i++) expect(r.fences[i]!).toBeGreaterThan(r.fences[i - 1]!);
    } finally {
      await own.stop();
    }
  });
});
