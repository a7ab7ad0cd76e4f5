// A 429 with Retry-After pauses its lane: under fake timers, the provider receives nothing from
// that lane until the advice has passed, while another lane carries on.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { scheduledFetch, type ScheduledFetch } from '../../lib/http/scheduled-fetch.js';
import { errorBody, startProviderServer, type ProviderServer } from '../resilience/ai-sdk-server.js';

let server: ProviderServer;
let f: ScheduledFetch;

beforeAll(async () => {
  server = await startProviderServer('openai');
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
});

afterEach(async () => {
  vi.useRealTimers();
  await f.close();
});

/** Lets real I/O run (setImmediate is not faked) until `cond` holds, without moving fake time. */
async function io(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

const lanes = (): string[] => server.received.map((r) => String(r.headers['x-lane']));

it('holds back every request of the lane for the Retry-After, and only that lane', async () => {
  f = scheduledFetch({ concurrency: 4, key: (req) => req.headers.get('x-lane') ?? undefined, retry: { retries: 2, minDelay: 1, maxDelay: 1 } });
  const client = new OpenAI({ apiKey: 'test', baseURL: server.baseURL, fetch: f, maxRetries: 0 });
  const call = (lane: string) => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-lane': lane } });
  server.script({ status: 429, headers: { 'retry-after-ms': '1000' }, body: errorBody('openai', 'rate_limit_exceeded') }, { status: 200 });
  const first = call('a');
  await io(() => server.received.length === 1);
  // Let the 429 be read and classified before more work arrives.
  await vi.advanceTimersByTimeAsync(0);
  await io(() => f.stats().origins[new URL(server.baseURL).origin]!.scheduler.retrying === 1);
  const sameLane = call('a');
  const otherLane = call('b');
  await io(() => server.received.length === 2);
  await vi.advanceTimersByTimeAsync(990);
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  expect(lanes()).toEqual(['a', 'b']);
  await vi.advanceTimersByTimeAsync(20);
  await io(() => server.received.length === 4);
  expect(lanes()).toEqual(['a', 'b', 'a', 'a']);
  await Promise.all([first, sameLane, otherLane]);
});
