// `npm run bench:http`: BENCH_CALLS chat completions (default 2,000) made with the real openai
// SDK against the local mock provider (its windows sent as x-ratelimit-* headers), three ways
// in one run: through scheduledFetch, the SDK alone with its default retries, and p-limit
// around the SDK. Prints requests, 429s and wall time, and scheduledFetch's ratio to each.

import { setMaxListeners } from 'node:events';
import { cpus } from 'node:os';
import OpenAI from 'openai';
import pLimit from 'p-limit';
import { scheduledFetch } from '../../dist/index.js';
import { startProvider } from '../provider-thread.mjs';
import { positiveEnv } from '../stats.mjs';

const CALLS = positiveEnv('BENCH_CALLS', 2_000);
// A provider "minute" of 10 s keeps the run short; the limits are per that window.
const WINDOW_MS = positiveEnv('BENCH_WINDOW_MS', 10_000);
const CONCURRENCY = 16;
const PROVIDER = {
  concurrency: 32, rpm: 1_200, tpm: 400_000, windowMs: WINDOW_MS,
  latencyMs: 30, latencySigma: 0.5, tailRate: 0.03, tailFactor: 10, errorRate: 0.005, durationScale: 1, seed: 1,
};
// Runs still going at this point are cut; their unfinished calls count as failed.
const DEADLINE_MS = positiveEnv('BENCH_DEADLINE_MS', Math.ceil((CALLS / PROVIDER.rpm) * WINDOW_MS * 6 + 30_000));
const json = process.argv.includes('--json');
const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);

// Each way builds an OpenAI client and wraps each call; the SDK's own options stay at their defaults.
const WAYS = {
  'scheduledFetch': (baseURL) => {
    const fetch = scheduledFetch({ concurrency: CONCURRENCY });
    const client = new OpenAI({ apiKey: 'bench', baseURL, fetch });
    return { call: (body, signal) => client.chat.completions.create(body, { signal }), close: () => fetch.close(), stats: () => fetch.stats() };
  },
  'SDK alone': (baseURL) => {
    const client = new OpenAI({ apiKey: 'bench', baseURL });
    return { call: (body, signal) => client.chat.completions.create(body, { signal }) };
  },
  'p-limit + SDK': (baseURL) => {
    const client = new OpenAI({ apiKey: 'bench', baseURL });
    const limit = pLimit(CONCURRENCY);
    return { call: (body, signal) => limit(() => client.chat.completions.create(body, { signal })) };
  },
};


async function measure(name) {
  const provider = await startProvider(PROVIDER);
  const way = WAYS[name](`${provider.url}/v1`);
  const deadline = AbortSignal.timeout(DEADLINE_MS);
  // Every pending call legitimately listens to the one deadline.
  setMaxListeners(Infinity, deadline);
  const body = (i) => ({
    model: 'mock-1', max_tokens: 64,
    messages: [{ role: 'system', content: 'You are a support agent. Answer in one paragraph.' }, { role: 'user', content: `Summarise ticket ${i}.` }],
  });
  const t0 = performance.now();
  const outcomes = await Promise.allSettled(Array.from({ length: CALLS }, (_, i) => way.call(body(i), deadline)));
  const wallMs = performance.now() - t0;
  const learned = way.stats?.();
  await way.close?.();
  const stats = await provider.stats();
  await provider.close();
  const failed = outcomes.filter((o) => o.status === 'rejected').length;
  const lane = learned === undefined ? undefined : Object.values(learned.origins)[0]?.lanes[''];
  return {
    name, completed: CALLS - failed, failed, cutAtDeadline: deadline.aborted, wallMs,
    requests: stats.requests, rateLimited: stats.rateLimited, serverErrors: stats.errors, peakInFlight: stats.peakInFlight,
    learned: lane === undefined ? undefined : Object.fromEntries(Object.entries(lane.learned).map(([k, v]) => [k, { limit: v.limit, source: v.source }])),
  };
}

log(`${CALLS} chat completions with the openai SDK (default options: maxRetries 2); mock provider: ${PROVIDER.rpm} requests and ` +
  `${PROVIDER.tpm.toLocaleString('en-US')} tokens per ${WINDOW_MS / 1000} s window, ${PROVIDER.concurrency} in flight, ` +
  `latency ~${PROVIDER.latencyMs} ms, ${PROVIDER.errorRate * 100}% 500/503; x-ratelimit-* headers on every answer`);
log(`scheduledFetch and p-limit: ${CONCURRENCY} at once; scheduledFetch has no rate options; deadline ${(DEADLINE_MS / 1000).toFixed(0)} s each`);
log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
log('');

const results = [];
for (const name of Object.keys(WAYS)) {
  const r = await measure(name);
  results.push(r);
  log(`  ${name.padEnd(15)} ${(r.wallMs / 1000).toFixed(1)} s, ${r.completed}/${CALLS} done, ${r.requests} requests, ${r.rateLimited} 429s` +
    `${r.cutAtDeadline ? ' (cut at deadline)' : ''}`);
}

log('');
log(table(['way', 'done', 'failed', 'requests', '429s', '500/503', 'peak in flight', 'wall s'], results.map((r) => [
  r.name, r.completed, r.failed + (r.cutAtDeadline ? '*' : ''), r.requests, r.rateLimited, r.serverErrors, r.peakInFlight,
  (r.wallMs / 1000).toFixed(1),
])));
if (results.some((r) => r.cutAtDeadline)) log('* cut at the deadline: calls still unfinished then count as failed');
const ours = results[0];
log('');
log(`scheduledFetch learned: ${Object.entries(ours.learned ?? {}).map(([k, v]) => `${v.limit} ${k} (${v.source})`).join(', ') || 'nothing'}`);
log('scheduledFetch ÷ peer (below 1 is better for requests, 429s and wall time)');
log(table(['', 'requests', '429s', 'wall time', 'calls done'], results.slice(1).map((p) => [
  `vs ${p.name}`, ratio(ours.requests, p.requests), ratio(ours.rateLimited, p.rateLimited), ratio(ours.wallMs, p.wallMs),
  `${ours.completed} vs ${p.completed}`,
])));

if (json) console.log(JSON.stringify({ calls: CALLS, concurrency: CONCURRENCY, provider: PROVIDER, node: process.version, results }));

function ratio(a, b) {
  if (b === 0) return a === 0 ? '–' : '∞';
  return `${(a / b).toFixed(2)}×`;
}

function table(header, body) {
  const all = [header, ...body].map((row) => row.map(String));
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  return all.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}
