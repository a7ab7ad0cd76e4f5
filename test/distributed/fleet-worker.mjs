// One process of the fleet in fleet.test.ts: runs its tasks through a Scheduler whose
// global limits live in Redis (built package in dist/), and prints one JSON line of what
// it saw. Tasks count themselves in Redis on a connection of their own.
import { Redis } from 'ioredis';
import { Scheduler } from '../../dist/index.js';
import { RedisStore } from '../../dist/distributed/redis-store.js';

const cfg = JSON.parse(process.argv[2]);
const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));

const redis = new Redis(cfg.url);
// The counter may live on a server of its own (cfg.probeUrl), so a restart of the limits' Redis does not wipe it.
const probe = new Redis(cfg.probeUrl ?? cfg.url);
// INCR the fleet-wide running count, keep its peak, and read Redis's clock, atomically.
probe.defineCommand('countIn', {
  numberOfKeys: 2,
  lua: `local n = redis.call('INCR', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
local t = redis.call('TIME')
return { n, t[1], t[2] }`,
});
// Connected first, so a start's timestamp is not held up behind the connection.
await Promise.all([redis.ping(), probe.ping()]);
const store = new RedisStore(redis, { prefix: cfg.prefix, leaseMs: cfg.leaseMs });
const scheduler = new Scheduler({ concurrency: cfg.local, store, global: cfg.global });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let running = 0;
const admissions = [];
const fences = [];
async function task(ctx) {
  fences.push(ctx.fence);
  if (cfg.mode === 'count') {
    await probe.countIn(`${cfg.prefix}:running`, `${cfg.prefix}:peak`);
    await sleep(cfg.taskMs);
    await probe.decr(`${cfg.prefix}:running`);
  } else if (cfg.mode === 'rate') {
    // When the gate's script admitted this attempt, by Redis's clock (TIME inside the
    // script), as logged in its window. A TIME stamp taken here instead would lag by however
    // long this process was kept off a busy CPU.
    admissions.push(Number(await probe.zscore(`{${cfg.prefix}}:rate:${cfg.global.rate.interval}:requests`, String(ctx.fence))));
  } else if (cfg.mode === 'hold') {
    if (++running === cfg.tasks) console.log('holding');
    await new Promise(() => {});
  } else {
    await sleep(cfg.taskMs);
  }
}

const results = await Promise.allSettled(Array.from({ length: cfg.tasks }, () => scheduler.run(task)));
const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
await store.close();
await Promise.all([redis.quit(), probe.quit()]);
console.log(JSON.stringify({ done: results.length - failed.length, failed, fences, admissions, unhandled }));
