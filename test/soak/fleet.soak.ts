// Soak (npm run test:soak, not npm test): a fleet of 4 processes runs 4 × 2,500 tasks
// under one global concurrency of 8 on a real redis-server, which is restarted (losing
// every key) twice mid-run. The tasks count themselves on a second redis-server that is
// never restarted. Every task completes; the fleet-wide running count never passes 8
// before the first restart (a restart that loses the leases lets the fleet over-admit
// until the running attempts re-take them at their next renewal, so later stretches are
// not held to it); no lease or waiter is left behind in Redis at the end.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../distributed/fleet-process.js';
import { RedisServer, redisMissing } from '../distributed/redis-server.js';

const PROCS = 4;
const TASKS = Number(process.env['SOAK_FLEET_TASKS'] ?? 2_500);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(redisMissing !== undefined)('fleet soak', () => {
  let server: RedisServer;
  let counter: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
    counter = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
    await counter?.stop();
  });

  it(`${PROCS} processes × ${TASKS} tasks, global concurrency 8, two Redis restarts: all done, nothing left behind`, async () => {
    const prefix = `soak${process.pid}`;
    const reports = Array.from({ length: PROCS }, () => startWorker({
      url: server.url, probeUrl: counter.url, prefix, mode: 'count', tasks: TASKS, local: 8, global: { concurrency: 8 }, taskMs: 2, leaseMs: 1000,
    }).report);
    const count = new Redis(counter.url);
    let firstPeak = 0;
    for (let r = 0; r < 2; r++) {
      await sleep(1500);
      if (r === 0) firstPeak = Number(await count.get(`${prefix}:peak`));
      await server.restart();
    }
    const all = await Promise.all(reports);
    const admin = new Redis(server.url);
    try {
      expect(Number(await count.get(`${prefix}:running`))).toBe(0);
      for (const report of all) {
        expect(report.failed).toEqual([]);
        expect(report.unhandled).toEqual([]);
        expect(report.done).toBe(TASKS);
      }
      expect(firstPeak).toBeGreaterThan(0);
      expect(firstPeak).toBeLessThanOrEqual(8);
      expect(await admin.zcard(`{${prefix}}:holders`)).toBe(0);
      // Waiters' liveness entries expire on their own; none may still be queued as waiting.
      expect(await admin.zcard(`{${prefix}}:waiting`)).toBe(0);
    } finally {
      admin.disconnect();
      count.disconnect();
    }
  });
});
