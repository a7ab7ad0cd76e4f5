// The Scheduler around the real AI SDK (`ai` + @ai-sdk/openai) against a local server: a 429
// with Retry-After pauses the task's lane, whether the SDK's own retries are off or on.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, type LanguageModel } from 'ai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../lib/index.js';
import { errorBody, settle, startProviderServer, type Answer, type ProviderServer } from '../resilience/ai-sdk-server.js';

const limited: Answer = { status: 429, headers: { 'retry-after': '2' }, body: errorBody('openai', 'rate_limit_exceeded') };

let server: ProviderServer;
let model: LanguageModel;

beforeAll(async () => {
  server = await startProviderServer('openai');
  model = createOpenAI({ baseURL: server.baseURL, apiKey: 'test' }).chat('gpt-test');
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

interface Start { name: string; at: number }

/** Runs the setup the README recommends and notes when each attempt started. */
function chat(s: Scheduler, name: string, key: string, maxRetries: number, starts: Start[]): Promise<string> {
  return s.run(async (ctx) => {
    starts.push({ name, at: performance.now() });
    const { text } = await generateText({ model, prompt: 'hi', maxRetries, abortSignal: ctx.signal });
    return text;
  }, { key });
}

/** When `name`'s attempts started, in order. */
const startsOf = (starts: Start[], name: string): number[] => starts.filter((start) => start.name === name).map((start) => start.at);

/** Resolves once a task sleeps out a backoff (drive it with settle()). */
function retrying(s: Scheduler): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (s.stats().retrying > 0) resolve();
      else setImmediate(check);
    };
    check();
  });
}

describe('Scheduler with the AI SDK', () => {
  it('pauses only the lane of an APICallError 429 (maxRetries: 0) until its Retry-After has passed', async () => {
    server.script(limited, { status: 200 });
    const s = new Scheduler({ concurrency: 4, retry: { retries: 2, minDelay: 10, jitter: 'none' } });
    const starts: Start[] = [];
    const before = server.arrivals.length;
    const a = chat(s, 'a', 'tenant', 0, starts);
    await settle(retrying(s));
    // The pause starts once the 429 is read, after it arrived: nothing in the lane may start
    // before arrival + 2 s.
    const limitedAt = server.arrivals[before]!;
    const b = chat(s, 'b', 'tenant', 0, starts);
    const other = chat(s, 'other', 'elsewhere', 0, starts);

    const results = await settle(Promise.all([a, b, other]));

    expect(results).toEqual({ status: 'fulfilled', value: ['hi', 'hi', 'hi'] });
    expect(server.arrivals.length - before).toBe(4);
    expect(startsOf(starts, 'other')[0]! - limitedAt).toBeLessThan(2000);
    expect(startsOf(starts, 'b')[0]! - limitedAt).toBeGreaterThanOrEqual(2000);
    expect(startsOf(starts, 'a')[1]! - limitedAt).toBeGreaterThanOrEqual(2000);
  });

  it('pauses the lane for the last Retry-After of a RetryError (maxRetries: 1)', async () => {
    server.script(limited, limited, { status: 200 });
    const s = new Scheduler({ concurrency: 4, retry: { retries: 2, minDelay: 10, jitter: 'none' } });
    const starts: Start[] = [];
    const before = server.arrivals.length;
    const a = chat(s, 'a', 'tenant', 1, starts);
    await settle(retrying(s));
    // The SDK's own retry was the second request; its 429 set the pause.
    const limitedAt = server.arrivals[before + 1]!;
    const b = chat(s, 'b', 'tenant', 1, starts);

    const results = await settle(Promise.all([a, b]));

    expect(results).toEqual({ status: 'fulfilled', value: ['hi', 'hi'] });
    expect(server.arrivals.length - before).toBe(4);
    expect(startsOf(starts, 'b')[0]! - limitedAt).toBeGreaterThanOrEqual(2000);
    expect(startsOf(starts, 'a')[1]! - limitedAt).toBeGreaterThanOrEqual(2000);
  });

  it('counts the calls of a RetryError against retries, so the two retry loops add up', async () => {
    server.script({ status: 500, body: errorBody('openai', 'server_error') });
    const s = new Scheduler({ concurrency: 1, retry: { retries: 2, minDelay: 10, jitter: 'none' } });
    const starts: Start[] = [];
    const before = server.arrivals.length;

    const outcome = await settle(chat(s, 'a', 'tenant', 1, starts));

    expect(outcome).toMatchObject({ status: 'rejected', reason: { reason: 'maxRetriesExceeded' } });
    // Two ringleader attempts of two SDK calls each, where retries alone would allow three.
    expect(startsOf(starts, 'a')).toHaveLength(2);
    expect(server.arrivals.length - before).toBe(4);
  });
});
