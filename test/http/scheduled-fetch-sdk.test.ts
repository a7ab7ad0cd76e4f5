// scheduledFetch under the real SDKs (openai, @anthropic-ai/sdk, ai + @ai-sdk/openai) against a
// local provider sending both providers' header shapes and error bodies: every error kind,
// retries made once whatever the SDK's own setting, learned limits, and usage reconciliation.
import Anthropic from '@anthropic-ai/sdk';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scheduledFetch, type ScheduledFetch } from '../../lib/http/scheduled-fetch.js';
import { errorBody, startProviderServer, type Answer, type Provider, type ProviderServer } from '../resilience/ai-sdk-server.js';

const FAST_RETRY = { retries: 2, minDelay: 1, maxDelay: 5 };
const servers: Record<Provider, ProviderServer> = {} as Record<Provider, ProviderServer>;
let f: ScheduledFetch;

beforeAll(async () => {
  servers.openai = await startProviderServer('openai');
  servers.anthropic = await startProviderServer('anthropic');
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

afterEach(async () => {
  await f?.close();
  for (const s of Object.values(servers)) {
    s.received.length = 0;
    s.script({ status: 200 });
  }
});

const openai = (options: { maxRetries?: number } = {}): OpenAI =>
  new OpenAI({ apiKey: 'test', baseURL: servers.openai.baseURL, fetch: f, ...options });
const anthropic = (options: { maxRetries?: number } = {}): Anthropic =>
  new Anthropic({ apiKey: 'test', baseURL: servers.anthropic.baseURL.replace(/\/v1$/, ''), fetch: f, ...options });
const chat = (client: OpenAI) => client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 });
const message = (client: Anthropic) => client.messages.create({ model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] });
const origin = (p: Provider): string => new URL(servers[p].baseURL).origin;
const lane = (p: Provider, key = '') => f.stats().origins[origin(p)]!.lanes[key]!;

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
}

type Row = [name: string, provider: Provider, answer: Answer, sent: number, status: number];
const rows: Row[] = [
  ['429 with retry-after-ms (wait) is retried', 'openai', { status: 429, headers: { 'retry-after-ms': '2' }, body: errorBody('openai', 'rate_limit_exceeded') }, 3, 429],
  ['429 without advice (cap) is retried', 'openai', { status: 429, body: errorBody('openai', 'rate_limit_exceeded') }, 3, 429],
  ['503 (wait) is retried', 'openai', { status: 503, body: errorBody('openai', 'service_unavailable') }, 3, 503],
  ['500 (retry) is retried', 'openai', { status: 500, body: errorBody('openai', 'server_error') }, 3, 500],
  ['529 overloaded_error (cap) is retried', 'anthropic', { status: 529, body: errorBody('anthropic', 'overloaded_error') }, 3, 529],
  ['429 insufficient_quota (stop) is not retried', 'openai', { status: 429, body: errorBody('openai', 'insufficient_quota') }, 1, 429],
  ['400 invalid_request_error (stop) is not retried', 'anthropic', { status: 400, body: errorBody('anthropic', 'invalid_request_error') }, 1, 400],
];

describe('failures, with the SDK\'s own retries left at their default', () => {
  it.each(rows)('%s: the provider sees ringleader\'s attempts only', async (_name, provider, answer, sent, status) => {
    f = scheduledFetch({ concurrency: 4, retry: FAST_RETRY });
    servers[provider].script(answer);
    const call = provider === 'openai' ? chat(openai()) : message(anthropic());
    await expect(call).rejects.toMatchObject({ status });
    expect(servers[provider].received).toHaveLength(sent);
    expect(lane(provider)).toMatchObject({ requests: 1, attempts: sent, sdkRetries: 0 });
  });

  it('a retried 429 that then succeeds resolves the SDK call', async () => {
    f = scheduledFetch({ concurrency: 4, retry: FAST_RETRY });
    servers.openai.script({ status: 429, headers: { 'retry-after-ms': '1' }, body: errorBody('openai', 'rate_limit_exceeded') }, { status: 200 });
    const completion = await chat(openai());
    expect(completion.choices[0]!.message.content).toBe('hi');
    expect(servers.openai.received).toHaveLength(2);
  });

  it('the insufficient_quota error reaches the SDK with its code', async () => {
    f = scheduledFetch({ concurrency: 4, retry: FAST_RETRY });
    servers.openai.script({ status: 429, body: errorBody('openai', 'insufficient_quota') });
    await expect(chat(openai())).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
  });

  it('an SDK retry after a connection failure runs once and is not a new call: attempts add up, never multiply', async () => {
    f = scheduledFetch({ concurrency: 4, retry: { retries: 1, minDelay: 1, maxDelay: 1 }, timeout: 30 });
    servers.openai.script({ status: 200, hang: true });
    await expect(chat(openai({ maxRetries: 1 }))).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    // ringleader's 2 attempts, then the SDK's 1 retry run once: 3, not 2 × 2.
    expect(servers.openai.received).toHaveLength(3);
    expect(servers.openai.received[2]!.headers['x-stainless-retry-count']).toBe('1');
    expect(lane('openai')).toMatchObject({ requests: 1, sdkRetries: 1, attempts: 3 });
    await until(() => servers.openai.closedEarly >= 3);
  });
});

describe('learning limits', () => {
  it('shows what the OpenAI headers said and which field said it', async () => {
    f = scheduledFetch({ concurrency: 4 });
    servers.openai.script({ status: 200, headers: {
      'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '150000', 'x-ratelimit-remaining-tokens': '149984', 'x-ratelimit-reset-tokens': '6m0s',
      'x-request-id': 'req_123',
    } });
    await chat(openai());
    const learned = lane('openai').learned;
    expect(learned.requests).toMatchObject({ limit: 60, remaining: 59, source: 'x-ratelimit-remaining-requests' });
    expect(learned.tokens).toMatchObject({ limit: 150_000, remaining: 149_984, source: 'x-ratelimit-remaining-tokens' });
  });

  it('shows what the Anthropic headers said', async () => {
    f = scheduledFetch({ concurrency: 4 });
    const reset = new Date(Date.now() + 30_000).toISOString();
    const headers: Record<string, string> = { 'request-id': 'req_1' };
    for (const name of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
      Object.assign(headers, { [`anthropic-ratelimit-${name}-limit`]: '4000', [`anthropic-ratelimit-${name}-remaining`]: '3999', [`anthropic-ratelimit-${name}-reset`]: reset });
    }
    servers.anthropic.script({ status: 200, headers });
    await message(anthropic());
    const learned = lane('anthropic').learned;
    expect(Object.keys(learned).sort()).toEqual(['input-tokens', 'output-tokens', 'requests', 'tokens']);
    expect(learned['output-tokens']).toMatchObject({ limit: 4000, source: 'anthropic-ratelimit-output-tokens-remaining' });
  });

  it('starts no more requests than the server said remain before its reset', async () => {
    f = scheduledFetch({ concurrency: 8 });
    const left = (n: number): Answer => ({ status: 200, headers: { 'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': String(n), 'x-ratelimit-reset-requests': '10m0s' } });
    servers.openai.script(left(2), left(1), left(0));
    const client = openai({ maxRetries: 0 });
    await chat(client);
    const ac = new AbortController();
    const calls = Array.from({ length: 5 }, () => client.chat.completions.create(
      { model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }, { signal: ac.signal }).catch((e: unknown) => e));
    await until(() => servers.openai.received.length >= 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(servers.openai.received).toHaveLength(3);
    ac.abort();
    const settled = await Promise.all(calls);
    expect(settled.filter((s) => s instanceof OpenAI.APIUserAbortError)).toHaveLength(3);
    expect(f.stats().origins[origin('openai')]!.scheduler).toMatchObject({ running: 0, queued: 0 });
  });

  it('keeps a separate budget per lane', async () => {
    f = scheduledFetch({ concurrency: 8, key: (req) => req.headers.get('x-lane') ?? undefined });
    servers.openai.script({ status: 200, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '10m0s' } });
    const client = openai({ maxRetries: 0 });
    await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-lane': 'a' } });
    await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-lane': 'b' } });
    expect(Object.keys(f.stats().origins[origin('openai')]!.lanes).sort()).toEqual(['a', 'b']);
    expect(servers.openai.received).toHaveLength(2);
  });
});

describe('a spent lane', () => {
  it('gives its slot to other lanes while it waits for its reset', async () => {
    f = scheduledFetch({ concurrency: 1, key: (req) => req.headers.get('x-lane') ?? undefined });
    const spent: Answer = { status: 200, headers: { 'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '10m0s' } };
    servers.openai.script(spent, { status: 200 });
    const client = openai({ maxRetries: 0 });
    const call = (lane: string, signal?: AbortSignal) => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-lane': lane }, signal });
    await call('a');
    const ac = new AbortController();
    const waiting = call('a', ac.signal).catch((e: unknown) => e);
    const queued = call('a', ac.signal).catch((e: unknown) => e);
    await call('b');
    expect(servers.openai.received.map((r) => r.headers['x-lane'])).toEqual(['a', 'b']);
    ac.abort();
    expect(await waiting).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(await queued).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(f.stats().origins[origin('openai')]!.scheduler).toMatchObject({ running: 0, queued: 0 });
  });
});

describe('tokens', () => {
  it('estimates from the JSON body and reconciles with the usage of a JSON answer', async () => {
    f = scheduledFetch({ concurrency: 4 });
    await chat(openai());
    expect(lane('openai').tokens).toEqual({ estimated: Math.ceil('user'.length / 4 + 'hello'.length / 4) + 16, reported: 2, reconciled: 1 });
  });

  it('reconciles with the final usage event of an OpenAI stream, which reaches the caller before the server ends it', async () => {
    f = scheduledFetch({ concurrency: 4 });
    servers.openai.script({ status: 200, holdAfter: 1, sse: [
      { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'he' }, finish_reason: null }] },
      { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'llo' }, finish_reason: 'stop' }] },
      { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [], usage: { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 } },
      '[DONE]',
    ] });
    const stream = await openai().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    const seen: string[] = [];
    for await (const chunk of stream) {
      seen.push(chunk.choices[0]?.delta.content ?? '');
      // The server holds the rest until the first chunk has been read: a buffering tap would hang here.
      if (seen.length === 1) servers.openai.release();
    }
    expect(seen.join('')).toBe('hello');
    await until(() => lane('openai').tokens.reconciled === 1);
    expect(lane('openai').tokens.reported).toBe(11);
  });

  it('reconciles with an Anthropic stream (input from message_start, output from message_delta)', async () => {
    f = scheduledFetch({ concurrency: 4 });
    servers.anthropic.script({ status: 200, sse: [
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 15 } },
      { type: 'message_stop' },
    ] });
    const stream = await anthropic().messages.create({ model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('message_stop');
    await until(() => lane('anthropic').tokens.reconciled === 1);
    expect(lane('anthropic').tokens.reported).toBe(40);
  });

  it('works as the AI SDK provider\'s fetch', async () => {
    f = scheduledFetch({ concurrency: 4 });
    const model = createOpenAI({ baseURL: servers.openai.baseURL, apiKey: 'test', fetch: f }).chat('gpt-test');
    const result = await generateText({ model, prompt: 'hello', maxRetries: 0 });
    expect(result.text).toBe('hi');
    expect(lane('openai')).toMatchObject({ requests: 1, tokens: { reported: 2, reconciled: 1 } });
  });
});

describe('an explicit rate is a ceiling', () => {
  it('learned headers saying plenty remains do not raise it', async () => {
    f = scheduledFetch({ concurrency: 8, rate: { limit: 2, interval: 600_000 } });
    servers.openai.script({ status: 200, headers: { 'x-ratelimit-limit-requests': '1000', 'x-ratelimit-remaining-requests': '999', 'x-ratelimit-reset-requests': '60ms' } });
    const ac = new AbortController();
    const client = openai({ maxRetries: 0 });
    const calls = Array.from({ length: 3 }, () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal }).catch((e: unknown) => e));
    await until(() => servers.openai.received.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(servers.openai.received).toHaveLength(2);
    expect(f.stats().origins[origin('openai')]!.ceiling).toEqual([{ limit: 2, interval: 600_000 }]);
    ac.abort();
    expect((await Promise.all(calls)).filter((c) => c instanceof OpenAI.APIUserAbortError)).toHaveLength(1);
  });

  it('a token window is refunded what the usage says the estimate overshot', async () => {
    // Each call is estimated at 16 + 3 = 19 tokens and uses 2: without the refund the second would wait 10 minutes.
    f = scheduledFetch({ concurrency: 8, rate: { limit: 30, interval: 600_000, cost: 'tokens' } });
    await chat(openai());
    await until(() => lane('openai').tokens.reconciled === 1);
    await chat(openai());
    expect(servers.openai.received).toHaveLength(2);
  });
});

describe('the AI SDK\'s Anthropic provider', () => {
  it('takes scheduledFetch as its fetch', async () => {
    f = scheduledFetch({ concurrency: 4 });
    const model = createAnthropic({ baseURL: servers.anthropic.baseURL, apiKey: 'test', fetch: f })('claude-test');
    const result = await generateText({ model, prompt: 'hello', maxRetries: 0 });
    expect(result.text).toBe('hi');
    expect(lane('anthropic')).toMatchObject({ requests: 1, tokens: { reported: 2, reconciled: 1 } });
  });
});

describe('cancellation', () => {
  it('the caller\'s signal closes the socket of a request in flight and frees its slot', async () => {
    f = scheduledFetch({ concurrency: 4 });
    servers.openai.script({ status: 200, hang: true });
    const ac = new AbortController();
    const call = openai({ maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal });
    await until(() => servers.openai.received.length === 1);
    ac.abort();
    await expect(call).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    await until(() => servers.openai.closedEarly >= 1);
    await until(() => f.stats().origins[origin('openai')]!.scheduler.running === 0);
  });
});
