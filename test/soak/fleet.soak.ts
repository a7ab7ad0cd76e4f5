// Soak (npm run test:soak, not npm test): a fleet of 4 processes runs 4 × 2,500 tasks
// under one global concurrency of 8 on a real redis-server, which is restarted (losing
// every key) twice mid-run. The tasks count themselves on a second redis-server that is
// never restarted. Every task completes; the fleet-wide running count never passes 8
// before the first restart (a restart that loses the leases lets the fleet over-admit
// until the running attempts re-take them at their next renewal, so later stretches are
// not held to it); no lease or waiter is left behind in Redis at the end.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisMissing } from '../distributed/redis-server.js';

const WORKER = fileURLToPath(new URL('../distributed/fleet-worker.mjs', import.meta.url));
const PROCS = 4;
const TASKS = Number(process.env['SOAK_FLEET_TASKS'] ?? 2_500);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Report {
  done: number;
  failed: string[];
  fences: number[];
  unhandled: string[];
}

function runWorker(cfg: object): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Report);
    });
  });
}

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
    const reports = Array.from({ length: PROCS }, () => runWorker({
      url: server.url, probeUrl: counter.url, prefix, mode: 'count', tasks: TASKS, local: 8, global: { concurrency: 8 }, taskMs: 2, leaseMs: 1000,
    }));
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
