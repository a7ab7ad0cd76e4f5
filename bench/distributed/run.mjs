// Admitted tasks/s under one fleet-wide concurrency limit of 64, with 1, 2 and 4
// processes, through RedisStore and through rate-limiter-flexible's RateLimiterRedis in
// the same run. Redis round trips per task come from INFO commandstats deltas: script
// calls plus MULTI/EXEC transactions (the peer's path when its points never expire).
// Usage: node bench/distributed/run.mjs [--json] [--tasks N]. Uses REDIS_URL (or
// .ci/redis.env), else starts a redis-server of its own on a free port.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const args = process.argv.slice(2);
const json = args.includes('--json');
const total = Number(args[args.indexOf('--tasks') + 1]) || 8000;
const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));
const ENV_FILE = fileURLToPath(new URL('../../.ci/redis.env', import.meta.url));
const GLOBAL = 64;
const TASK_MS = 1;

async function redisUrl() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop() {} };
  if (existsSync(ENV_FILE)) {
    const url = /^REDIS_URL=(.+)$/m.exec(readFileSync(ENV_FILE, 'utf8'))?.[1]?.trim();
    if (url) return { url, stop() {} };
  }
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (d) => d.toString().includes('Ready to accept') && resolve());
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
}

// Round trips: script calls and MULTI/EXEC blocks (one each). Commands: everything Redis
// executed for the clients, counting each redis.call inside a script and each member of
// a transaction (the work Redis does per task), bar our own INFO.
async function scriptCalls(admin) {
  const info = await admin.info('commandstats');
  let trips = 0;
  let commands = 0;
  for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    if (m[1] === 'info') continue;
    commands += Number(m[2]);
    if (m[1] === 'evalsha' || m[1] === 'eval' || m[1] === 'exec') trips += Number(m[2]);
  }
  return { trips, commands };
}

function startWorker(cfg) {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const lines = [];
  let notify = () => {};
  child.stdout.on('data', (d) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop();
    lines.push(...parts);
    notify();
  });
  const next = (pred) => new Promise((resolve) => {
    const check = () => {
      const line = lines.find(pred);
      if (line !== undefined) resolve(line);
    };
    notify = check;
    check();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, next, exited };
}

async function measure(url, admin, peer, procs, round) {
  const prefix = `bench-${peer}-${procs}-${round}-${Date.now()}`;
  const workers = Array.from({ length: procs }, () => startWorker({
    url, peer, prefix, tasks: Math.floor(total / procs), local: 64, global: GLOBAL, taskMs: TASK_MS,
  }));
  for (const w of workers) await w.next((l) => l === 'ready');
  const before = await scriptCalls(admin);
  const started = performance.now();
  for (const w of workers) w.child.stdin.write('go\n');
  const reports = await Promise.all(workers.map(async (w) => JSON.parse(await w.next((l) => l.startsWith('{')))));
  const ms = performance.now() - started;
  const after = await scriptCalls(admin);
  const calls = after.trips - before.trips;
  const commands = after.commands - before.commands;
  for (const w of workers) w.child.stdin.end();
  await Promise.all(workers.map((w) => w.exited));
  const tasks = reports.reduce((n, r) => n + r.tasks, 0);
  return { peer, procs, tasks, ms: Math.round(ms), tasksPerSec: Math.round((tasks / ms) * 1000), roundTripsPerTask: +(calls / tasks).toFixed(3), commandsPerTask: +(commands / tasks).toFixed(3) };
}

const redis = await redisUrl();
const admin = new Redis(redis.url);
const rows = [];
try {
  for (const procs of [1, 2, 4]) {
    for (const peer of ['ringleader', 'rate-limiter-flexible']) rows.push(await measure(redis.url, admin, peer, procs, rows.length));
  }
} finally {
  admin.disconnect();
  redis.stop();
}

const ratios = [1, 2, 4].map((procs) => {
  const ours = rows.find((r) => r.peer === 'ringleader' && r.procs === procs);
  const peer = rows.find((r) => r.peer === 'rate-limiter-flexible' && r.procs === procs);
  return { procs, throughputRatio: +(ours.tasksPerSec / peer.tasksPerSec).toFixed(2), roundTripRatio: +(ours.roundTripsPerTask / peer.roundTripsPerTask).toFixed(3) };
});

if (json) {
  console.log(JSON.stringify({ bench: 'distributed', globalConcurrency: GLOBAL, localConcurrency: 64, taskMs: TASK_MS, node: process.version, rows, ratios }));
} else {
  console.log(`global concurrency ${GLOBAL}, local 64 per process, ${total} tasks of ${TASK_MS} ms per run\n`);
  console.log('procs  peer                     tasks/s   round trips/task   commands/task   wall ms');
  for (const r of rows) {
    console.log(`${String(r.procs).padStart(5)}  ${r.peer.padEnd(23)} ${String(r.tasksPerSec).padStart(8)}   ${String(r.roundTripsPerTask).padStart(16)}   ${String(r.commandsPerTask).padStart(13)}   ${String(r.ms).padStart(7)}`);
  }
  console.log('\nprocs  throughput ringleader/peer   round trips ringleader/peer');
  for (const r of ratios) console.log(`${String(r.procs).padStart(5)}  ${String(r.throughputRatio).padStart(26)}   ${String(r.roundTripRatio).padStart(31)}`);
}
