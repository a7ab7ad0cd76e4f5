// scheduledDispatcher as the process's global dispatcher: Node's built-in fetch, and SDKs
// given no fetch option at all, go through ringleader's scheduler.
import OpenAI from 'openai';
import { getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scheduledDispatcher } from '../../lib/http/dispatcher.js';
import { errorBody, startProviderServer, type ProviderServer } from '../resilience/ai-sdk-server.js';

let server: ProviderServer;
let previous: Dispatcher;
let dispatcher: ReturnType<typeof scheduledDispatcher>;

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
}

beforeAll(async () => {
  server = await startProviderServer('openai');
  previous = getGlobalDispatcher();
});

afterAll(async () => {
  setGlobalDispatcher(previous);
  await server.close();
});

afterEach(async () => {
  setGlobalDispatcher(previous);
  await dispatcher.close();
  server.received.length = 0;
  server.script({ status: 200 });
});

const url = (): string => `${server.baseURL}/chat/completions`;
const lane = () => dispatcher.stats().origins[new URL(server.baseURL).origin]!.lanes['']!;

describe('scheduledDispatcher as the global dispatcher', () => {
  it('bounds the requests Node\'s fetch has in flight', async () => {
    dispatcher = scheduledDispatcher({ concurrency: 2 });
    setGlobalDispatcher(dispatcher);
    server.script({ status: 200, delayMs: 20 });
    const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url(), { method: 'POST', body: '{"model":"m"}' }).then((r) => r.json())));
    expect(answers).toHaveLength(8);
    expect(server.peakInFlight).toBe(2);
    expect(lane().requests).toBe(8);
  });

  it('retries a 429 from fetch\'s body (buffered) and hands back the success', async () => {
    dispatcher = scheduledDispatcher({ retry: { retries: 2, minDelay: 1, maxDelay: 1 } });
    setGlobalDispatcher(dispatcher);
    server.script({ status: 429, headers: { 'retry-after-ms': '1' }, body: errorBody('openai', 'rate_limit_exceeded') }, { status: 200 });
    const res = await fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","max_tokens":5}' });
    expect(res.status).toBe(200);
    expect(server.received.map((r) => r.body)).toEqual(['{"model":"m","max_tokens":5}', '{"model":"m","max_tokens":5}']);
  });

  it('governs an SDK that was given no fetch, learning limits and usage', async () => {
    dispatcher = scheduledDispatcher();
    setGlobalDispatcher(dispatcher);
    server.script({ status: 200, headers: { 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-reset-requests': '600ms' } });
    const client = new OpenAI({ apiKey: 'test', baseURL: server.baseURL });
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]!.message.content).toBe('hi');
    await until(() => lane().tokens.reconciled === 1);
    expect(lane().learned.requests).toMatchObject({ limit: 100, source: 'x-ratelimit-remaining-requests' });
  });

  it('hands a final failure to fetch as the provider sent it, marked not to be retried', async () => {
    dispatcher = scheduledDispatcher({ retry: { retries: 1, minDelay: 1, maxDelay: 1 } });
    setGlobalDispatcher(dispatcher);
    server.script({ status: 503, body: errorBody('openai', 'service_unavailable') });
    const res = await fetch(url(), { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(await res.json()).toEqual(errorBody('openai', 'service_unavailable'));
    expect(server.received).toHaveLength(2);
  });

  it('fetch\'s signal closes the socket of a request in flight', async () => {
    dispatcher = scheduledDispatcher();
    setGlobalDispatcher(dispatcher);
    server.script({ status: 200, hang: true });
    const ac = new AbortController();
    const closedBefore = server.closedEarly;
    const call = fetch(url(), { method: 'POST', body: '{}', signal: ac.signal });
    await until(() => server.received.length === 1);
    ac.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => server.closedEarly === closedBefore + 1);
    await until(() => dispatcher.stats().origins[new URL(server.baseURL).origin]!.scheduler.running === 0);
  });
});

describe('scheduledDispatcher and encoded bodies', () => {
  it('reads the usage of a gzip-encoded answer while fetch decodes its own copy', async () => {
    dispatcher = scheduledDispatcher();
    setGlobalDispatcher(dispatcher);
    server.script({ status: 200, gzip: true });
    const res = await fetch(url(), { method: 'POST', body: '{"model":"m"}' });
    expect(await res.json()).toMatchObject({ object: 'chat.completion', usage: { total_tokens: 2 } });
    await until(() => lane().tokens.reconciled === 1);
    expect(lane().tokens.reported).toBe(2);
  });
});

describe('scheduledDispatcher and streams', () => {
  it('hands an SSE stream to fetch event by event, before the server has sent the rest', async () => {
    dispatcher = scheduledDispatcher();
    setGlobalDispatcher(dispatcher);
    server.script({ status: 200, holdAfter: 1, sse: [{ choices: [], usage: null }, { choices: [], usage: { prompt_tokens: 2, completion_tokens: 3 } }, '[DONE]'] });
    const res = await fetch(url(), { method: 'POST', body: '{"stream":true}' });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"usage":null');
    server.release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toContain('[DONE]');
    await until(() => lane().tokens.reconciled === 1);
    expect(lane().tokens.reported).toBe(5);
  });

  it('close() leaves a dispatcher passed in open', async () => {
    const { Agent } = await import('undici');
    const agent = new Agent();
    dispatcher = scheduledDispatcher({ dispatcher: agent });
    await dispatcher.close();
    expect(agent.closed).toBe(false);
    await agent.close();
    dispatcher = scheduledDispatcher();
  });
});
