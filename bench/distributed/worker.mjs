// One process of the distributed benchmark: runs its share of tasks under a fleet-wide
// concurrency limit, through RedisStore or through rate-limiter-flexible's RateLimiterRedis
// (take a point, run, give it back; when none is left, undo the refused take and poll
// again after a jittered pause, as its users do).
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createInterface } from 'node:readline';
import { Scheduler } from '../../dist/index.js';
import { RedisStore } from '../../dist/distributed/redis-store.js';

const cfg = JSON.parse(process.argv[2]);
const redis = new Redis(cfg.url);
await redis.ping();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const work = () => sleep(cfg.taskMs);

let store;
let run;
if (cfg.peer === 'ringleader') {
  store = new RedisStore(redis, { prefix: cfg.prefix });
  const s = new Scheduler({ concurrency: cfg.local, store, global: { concurrency: cfg.global } });
  run = () => s.run(work);
} else {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: cfg.prefix, points: cfg.global, duration: 0 });
  const s = new Scheduler({ concurrency: cfg.local });
  run = () => s.run(async () => {
    for (;;) {
      try {
        await limiter.consume('slots', 1);
        break;
      } catch (res) {
        if (res instanceof Error) throw res;
        // A refused consume still counted its point: give it back before trying again.
        await limiter.reward('slots', 1);
        await sleep(2 + Math.random() * 3);
      }
    }
    try {
      await work();
    } finally {
      await limiter.reward('slots', 1);
    }
  });
}

console.log('ready');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line !== 'go') continue;
  const started = performance.now();
  await Promise.all(Array.from({ length: cfg.tasks }, run));
  console.log(JSON.stringify({ ms: performance.now() - started, tasks: cfg.tasks }));
  break;
}
lines.close();
await store?.close();
await redis.quit();
