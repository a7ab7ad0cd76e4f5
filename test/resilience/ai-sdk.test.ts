// classify, retryAfterMs and attemptsSpent on the errors the real AI SDK throws (`ai` with
// its OpenAI and Anthropic providers) when a local server answers like the provider would,
// with the SDK's own retries off and on.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, RetryError, type LanguageModel } from 'ai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { classify, type FailureClass } from '../../lib/resilience/classify.js';
import { attemptsSpent } from '../../lib/resilience/error-chain.js';
import { retryAfterMs } from '../../lib/resilience/retry-after.js';
import { errorBody, settle, startProviderServer, type Answer, type Provider, type ProviderServer } from './ai-sdk-server.js';

type Row = [name: string, kind: FailureClass, waitMs: number | undefined, answer: (provider: Provider) => Answer];

const rateLimited = (provider: Provider): string => (provider === 'openai' ? 'rate_limit_exceeded' : 'rate_limit_error');

const rows: Row[] = [
  ['429 + retry-after: 2', 'wait', 2000, (p) => ({ status: 429, headers: { 'retry-after': '2' }, body: errorBody(p, rateLimited(p)) })],
  ['429 + retry-after-ms: 300', 'wait', 300, (p) => ({ status: 429, headers: { 'retry-after-ms': '300' }, body: errorBody(p, rateLimited(p)) })],
  // Anthropic's API has no such code: its row checks the body is read even when it is not in
  // the provider's own envelope (the SDK then keeps only the raw text).
  ['429 insufficient_quota body', 'stop', undefined, () => ({ status: 429, body: errorBody('openai', 'insufficient_quota') })],
  ['503 + retry-after: 1', 'wait', 1000, (p) => ({ status: 503, headers: { 'retry-after': '1' }, body: errorBody(p, 'overloaded_error') })],
  ['429 without advice', 'cap', undefined, (p) => ({ status: 429, body: errorBody(p, rateLimited(p)) })],
  ['529 overloaded_error', 'cap', undefined, (p) => ({ status: 529, body: errorBody(p, 'overloaded_error') })],
  ['400 invalid request', 'stop', undefined, (p) => ({ status: 400, body: errorBody(p, 'invalid_request_error') })],
];

const models: Record<Provider, (baseURL: string) => LanguageModel> = {
  openai: (baseURL) => createOpenAI({ baseURL, apiKey: 'test' }).chat('gpt-test'),
  anthropic: (baseURL) => createAnthropic({ baseURL, apiKey: 'test' })('claude-test'),
};

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe.each(['openai', 'anthropic'] as const)('the AI SDK with @ai-sdk/%s', (provider) => {
  let server: ProviderServer;
  let model: LanguageModel;

  beforeAll(async () => {
    server = await startProviderServer(provider);
    model = models[provider](server.baseURL);
  });

  afterAll(async () => {
    await server.close();
  });

  const fail = async (maxRetries: number): Promise<unknown> => {
    const outcome = await settle(generateText({ model, prompt: 'hi', maxRetries }));
    expect(outcome.status).toBe('rejected');
    return outcome.status === 'rejected' ? outcome.reason : undefined;
  };

  describe('maxRetries: 0 (APICallError)', () => {
    it.each(rows)('%s → %s, retryAfterMs %s', async (_name, kind, waitMs, answer) => {
      server.script(answer(provider));
      const err = await fail(0);
      expect(APICallError.isInstance(err)).toBe(true);
      expect([classify(err), retryAfterMs(err)]).toEqual([kind, waitMs]);
      expect(attemptsSpent(err)).toBe(1);
    });
  });

  describe('the SDK retrying first (RetryError)', () => {
    // The SDK retries only what it calls retryable; a 400 it throws as is.
    it.each(rows.filter(([, , , answer]) => answer(provider).status !== 400))('%s, maxRetries: 1 → %s, retryAfterMs %s', async (_name, kind, waitMs, answer) => {
      server.script(answer(provider));
      const before = server.arrivals.length;
      const err = await fail(1);
      expect(RetryError.isInstance(err)).toBe(true);
      expect([classify(err), retryAfterMs(err)]).toEqual([kind, waitMs]);
      expect(attemptsSpent(err)).toBe(2);
      expect(server.arrivals.length - before).toBe(2);
    });

    it('a 429 then a 400 the SDK gave up on (maxRetries: 2) → stop, counting both calls', async () => {
      server.script({ status: 429, headers: { 'retry-after': '2' }, body: errorBody(provider, rateLimited(provider)) },
        { status: 400, body: errorBody(provider, 'invalid_request_error') });
      const err = await fail(2);
      expect(err).toMatchObject({ reason: 'errorNotRetryable' });
      expect([classify(err), retryAfterMs(err), attemptsSpent(err)]).toEqual(['stop', undefined, 2]);
    });
  });

  it('wrapped by a framework (`cause`), the provider error still decides', async () => {
    server.script({ status: 429, headers: { 'retry-after': '2' }, body: errorBody(provider, rateLimited(provider)) });
    const err = new Error('agent step failed', { cause: await fail(1) });
    expect([classify(err), retryAfterMs(err), attemptsSpent(err)]).toEqual(['wait', 2000, 2]);
  });
});
