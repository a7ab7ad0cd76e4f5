// `npm run bench:resilience`: BENCH_TASKS chat calls (default 10,000) against the local mock
// provider, which allows BENCH_RPS requests per second and 32 in flight, through four retry
// strategies in one run. Prints wall time, requests, 429s and failures, and ringleader's ratios.

import http from 'node:http';
import { setMaxListeners } from 'node:events';
import { cpus } from 'node:os';
import Bottleneck from 'bottleneck';
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { Scheduler } from '../../dist/index.js';
import { startProvider } from '../provider-thread.mjs';
import { positiveEnv } from '../stats.mjs';

const TASKS = positiveEnv('BENCH_TASKS', 10_000);
const RPS = positiveEnv('BENCH_RPS', 300);
// Every strategy that limits itself gets the same 16 slots; the provider refuses beyond 32.
const CONCURRENCY = 16;
// A strategy still running at its deadline has the rest of its tasks cut and counted as failed.
const DEADLINE_MS = positiveEnv('BENCH_DEADLINE_MS', Math.ceil((TASKS / RPS) * 2_000));
const RETRIES = 10;
const PROVIDER = {
  rps: RPS, concurrency: 32, latencyMs: 10, latencySigma: 0.5, tailRate: 0.03, tailFactor: 10, errorRate: 0.002, seed: 1,
};
const json = process.argv.includes('--json');
const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);

class HttpError extends Error {
  constructor(status, headers) {
    super(`HTTP ${status}`);
    this.status = status;
    // Plain node:http headers: ringleader's retryAfterMs reads them as they are.
    this.headers = headers;
  }
}

const retryable = (err) => err instanceof HttpError && (err.status === 429 || err.status >= 500);

/** What a bottleneck user writes to honour the server's advice: ms first, then seconds. */
function advisedMs(headers) {
  const ms = Number(headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const s = Number(headers['retry-after']);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

// Each strategy turns `call(signal)` (one HTTP attempt) into a task runner. All share the
// same HTTP client, so the comparison measures scheduling, not clients.
const STRATEGIES = {
  'Promise.all': (call, signal) => ({
    task: () => call(signal),
  }),

  'p-limit + p-retry': (call, signal) => {
    const limit = pLimit(CONCURRENCY);
    // The usual nesting: a task keeps its slot through its backoff.
    return {
      task: () => limit(() => pRetry(() => call(signal), {
        retries: RETRIES, signal, shouldRetry: ({ error }) => retryable(error),
      })),
    };
  },

  'bottleneck': (call, signal) => {
    const limiter = new Bottleneck({
      maxConcurrent: CONCURRENCY, reservoir: RPS, reservoirRefreshAmount: RPS, reservoirRefreshInterval: 1000,
    });
    limiter.on('failed', (error, info) => {
      if (signal.aborted || !retryable(error) || info.retryCount >= RETRIES) return undefined;
      return advisedMs(error.headers) ?? 1000 * 2 ** info.retryCount;
    });
    signal.addEventListener('abort', () => { limiter.stop({ dropWaitingJobs: true }); }, { once: true });
    return {
      task: () => limiter.schedule(() => call(signal)),
      close: () => limiter.disconnect(),
    };
  },

  'ringleader': ringleader,
};

/**
 * ringleader as its users write it: the Scheduler's own `rate` window (the provider's
 * published limit) and `retry` policy. A retrying task gives its slot back while it sleeps,
 * and a 429 with Retry-After pauses the whole lane until the provider said to come back.
 */
function ringleader(call, signal) {
  const scheduler = new Scheduler({
    concurrency: CONCURRENCY,
    rate: { limit: RPS, interval: 1000 },
    retry: { retries: RETRIES },
  });
  return {
    task: () => scheduler.run((ctx) => call(ctx.signal), { signal }),
    close: () => scheduler.close(),
  };
}


/** One HTTP attempt; resolves with the parsed body on 200, rejects with HttpError otherwise. */
function request(agent, url, payload, signal) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST', agent, signal,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode === 200) resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        else reject(new HttpError(res.statusCode, res.headers));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function measure(name) {
  const provider = await startProvider(PROVIDER);
  // 256 sockets keeps even the naive strategy inside this machine's file-descriptor limit.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const endpoint = `${provider.url}/v1/chat/completions`;
  const deadline = new AbortController();
  // Every pending task legitimately listens to the one deadline.
  setMaxListeners(Infinity, deadline.signal);
  const timer = setTimeout(() => deadline.abort(new Error('deadline')), DEADLINE_MS);
  const strategy = STRATEGIES[name](
    (signal) => request(agent, endpoint, JSON.stringify({
      model: 'mock-1', messages: [{ role: 'user', content: 'summarise the ticket' }], max_tokens: 64,
    }), signal),
    deadline.signal,
  );
  const t0 = performance.now();
  const outcomes = await Promise.allSettled(Array.from({ length: TASKS }, () => strategy.task()));
  const wallMs = performance.now() - t0;
  clearTimeout(timer);
  const cut = deadline.signal.aborted;
  await strategy.close?.();
  const stats = await provider.stats();
  await provider.close();
  agent.destroy();
  const failed = outcomes.filter((o) => o.status === 'rejected').length;
  return {
    name, completed: TASKS - failed, failed, cutAtDeadline: cut, wallMs,
    requests: stats.requests, rateLimited: stats.rateLimited, overloaded: stats.overloaded, serverErrors: stats.errors,
    peakInFlight: stats.peakInFlight,
  };
}

log(`${TASKS} tasks; mock provider: ${RPS} requests per sliding second, 32 in flight, ` +
  `latency ~${PROVIDER.latencyMs} ms (3% at 10x), ${PROVIDER.errorRate * 100}% 500/503`);
log(`strategies limit themselves to ${CONCURRENCY} in flight and ${RETRIES} retries; deadline ${(DEADLINE_MS / 1000).toFixed(0)} s each`);
log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
log('');

const results = [];
for (const name of Object.keys(STRATEGIES)) {
  const r = await measure(name);
  results.push(r);
  log(`  ${name.padEnd(18)} ${(r.wallMs / 1000).toFixed(1)} s, ${r.completed}/${TASKS} done, ${r.rateLimited} 429s` +
    `${r.cutAtDeadline ? ' (cut at deadline)' : ''}`);
}

log('');
log(table(
  ['strategy', 'done', 'failed', 'requests', '429s', '429s at cap', '500/503', 'peak in flight', 'wall s', 'done/s'],
  results.map((r) => [
    r.name, r.completed, r.failed + (r.cutAtDeadline ? '*' : ''), r.requests, r.rateLimited, r.overloaded, r.serverErrors,
    r.peakInFlight, (r.wallMs / 1000).toFixed(1), (r.completed / (r.wallMs / 1000)).toFixed(0),
  ]),
));
if (results.some((r) => r.cutAtDeadline)) log('* cut at the deadline: tasks still unfinished then count as failed');

const ours = results.find((r) => r.name === 'ringleader');
const peers = results.filter((r) => r !== ours);
log('');
log('ringleader vs each peer (> 1 means ringleader is better: less wall time, fewer 429s, fewer requests)');
log(table(['', 'wall time', '429s', 'requests', 'tasks done'], peers.map((p) => [
  `vs ${p.name}`, times(p.wallMs / ours.wallMs), times(p.rateLimited / ours.rateLimited),
  times(p.requests / ours.requests), `${ours.completed} vs ${p.completed}`,
])));

const complete = (r) => r.completed === TASKS;
const completers = peers.filter(complete);
const best = [...completers].sort((a, b) => a.wallMs - b.wallMs)[0];
const fewest = Math.min(...peers.map((p) => p.rateLimited));
const checks = [
  ['completes every task', complete(ours), `${ours.completed}/${TASKS}`],
  ['fewest 429s', ours.rateLimited <= fewest, `${ours.rateLimited} vs ${fewest} (fewest of the peers)`],
  best === undefined
    ? ['wall time ≤ 1.10× the best peer that completes every task', true, 'no peer completed every task']
    : ['wall time ≤ 1.10× the best peer that completes every task', ours.wallMs <= 1.1 * best.wallMs,
      `${(ours.wallMs / best.wallMs).toFixed(2)}× ${best.name}`],
];
const met = checks.every(([, ok]) => ok);
log('');
log('target: ringleader completes every task with the fewest 429s and no more than 10% more wall time');
log('        than the best peer that also completes every task');
for (const [name, ok, detail] of checks) log(`  ${ok ? 'met ' : 'MISS'}  ${name}: ${detail}`);
log(`  ${met ? 'met' : 'MISSED'}`);

if (json) {
  console.log(JSON.stringify({
    tasks: TASKS, rps: RPS, concurrency: CONCURRENCY, retries: RETRIES, deadlineMs: DEADLINE_MS, provider: PROVIDER,
    node: process.version, results, target: { met, checks: checks.map(([name, ok, detail]) => ({ name, ok, detail })) },
  }));
}

function times(x) {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : x > 0 ? '∞' : '–';
}

function table(header, body) {
  const all = [header, ...body].map((row) => row.map(String));
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  return all.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}
