// A seeded storm of provider faults and caller aborts through scheduledFetch: every call
// settles, as a response or a typed error, and afterwards nothing is running, queued,
// retrying or still connected.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mulberry32 } from '../../lib/cli/mock-provider.js';
import { TimeoutError } from '../../lib/errors.js';
import { scheduledFetch } from '../../lib/http/scheduled-fetch.js';
import { errorBody, startProviderServer, type Answer, type ProviderServer } from '../resilience/ai-sdk-server.js';

let server: ProviderServer;

beforeAll(async () => {
  server = await startProviderServer('openai');
});

afterAll(async () => {
  await server.close();
});

const KINDS: Array<() => Answer> = [
  () => ({ status: 200 }),
  () => ({ status: 200, delayMs: 5 }),
  () => ({ status: 429, headers: { 'retry-after-ms': '3' }, body: errorBody('openai', 'rate_limit_exceeded') }),
  () => ({ status: 429, body: errorBody('openai', 'insufficient_quota') }),
  () => ({ status: 500, body: errorBody('openai', 'server_error') }),
  () => ({ status: 503, headers: { 'retry-after': '0' }, body: errorBody('openai', 'service_unavailable') }),
  () => ({ status: 200, hang: true }),
  () => ({ status: 200, resetMidBody: true }),
  () => ({ status: 200, text: '{"usage": ' }),
  () => ({ status: 200, headers: { 'x-ratelimit-remaining-requests': 'x', 'x-ratelimit-reset-requests': '1s' } }),
];

it.each([1, 2, 3])('seed %i: 150 calls through faults and aborts all settle, leaving nothing behind', async (seed) => {
  const random = mulberry32(seed);
  server.received.length = 0;
  server.script(...Array.from({ length: 600 }, () => KINDS[Math.floor(random() * KINDS.length)]!()), { status: 200 });
  const f = scheduledFetch({ concurrency: 6, timeout: 40, retry: { retries: 2, minDelay: 1, maxDelay: 3 } });
  const outcomes = await Promise.all(Array.from({ length: 150 }, async (_, i) => {
    const ac = new AbortController();
    if (random() < 0.2) setTimeout(() => ac.abort(), Math.floor(random() * 30));
    return f(`${server.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', i }), signal: ac.signal })
      .then(async (res) => {
        // Reading the body may fail (a reset mid-body, an abort): that is the body's error, not the call's.
        await res.text().catch(() => {});
        return `status ${res.status}`;
      }, (err: unknown) => (err instanceof TimeoutError ? 'timeout' : err instanceof Error ? err.name : 'other'));
  }));
  for (const o of outcomes) expect(o).toMatch(/^(status \d{3}|timeout|AbortError|TypeError)$/);
  // The storm did reach the callers: answers and aborts among the outcomes.
  expect([...new Set(outcomes.map((o) => o.split(' ')[0]))]).toEqual(expect.arrayContaining(['status', 'AbortError']));
  expect(outcomes.filter((o) => o !== 'status 200').length).toBeGreaterThan(10);
  const scheduler = () => f.stats().origins[new URL(server.baseURL).origin]!.scheduler;
  for (let i = 0; i < 500 && scheduler().running > 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(scheduler()).toMatchObject({ running: 0, queued: 0, retrying: 0 });
  await f.close();
  for (let i = 0; i < 500 && server.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(server.inFlight).toBe(0);
});
