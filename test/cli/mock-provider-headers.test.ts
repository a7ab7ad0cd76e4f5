// The mock provider speaks both providers' dialects: OpenAI's x-ratelimit-* fields and error
// envelope on /v1/chat/completions, Anthropic's anthropic-ratelimit-* fields, message shape,
// 529 overloaded_error and error envelope on /v1/messages, each readable by readLimitHeaders.
import { afterEach, describe, expect, it } from 'vitest';
import { startMockProvider, type MockProvider } from '../../lib/cli/mock-provider.js';
import { parseGoDuration, readLimitHeaders } from '../../lib/http/header-limits.js';

let provider: MockProvider | undefined;

afterEach(async () => {
  await provider?.close();
  provider = undefined;
});

const chat = (p: MockProvider): Promise<Response> => fetch(`${p.url}/v1/chat/completions`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'x'.repeat(40) }], max_tokens: 10 }),
});
const messages = (p: MockProvider): Promise<Response> => fetch(`${p.url}/v1/messages`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'claude-mock', system: 'be brief', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(40) }] }] }),
});
const quick = { latencyMs: 1, errorRate: 0, tailRate: 0 };

describe('OpenAI dialect', () => {
  it('sends the windows as x-ratelimit-* after charging this request, and a request id', async () => {
    provider = await startMockProvider({ rpm: 5, tpm: 1000, windowMs: 90_000, ...quick });
    const res = await chat(provider);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('4');
    expect(res.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - 10 - 10));
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    const reset = parseGoDuration(res.headers.get('x-ratelimit-reset-requests')!)!;
    expect(reset).toBeGreaterThan(89_000);
    expect(reset).toBeLessThanOrEqual(90_000);
    expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^1m\d+(\.\d+)?s$/);
    expect(readLimitHeaders((n) => res.headers.get(n)).malformed).toEqual([]);
  });

  it('refuses past the window with OpenAI\'s envelope and headers saying nothing remains', async () => {
    provider = await startMockProvider({ rpm: 1, windowMs: 60_000, ...quick });
    await (await chat(provider)).text();
    const res = await chat(provider);
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(await res.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded', param: null } });
  });
});

describe('Anthropic dialect', () => {
  it('answers /v1/messages in Anthropic\'s message shape with anthropic-ratelimit-* fields', async () => {
    provider = await startMockProvider({ rpm: 5, tpm: 1000, windowMs: 60_000, ...quick });
    const res = await messages(provider);
    expect(res.status).toBe(200);
    const body = await res.json() as { type: string; usage: { input_tokens: number; output_tokens: number } };
    expect(body.type).toBe('message');
    expect(body.usage.input_tokens).toBe(Math.ceil(('be brief'.length + 40) / 4));
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const reading = readLimitHeaders((n) => res.headers.get(n));
    expect(reading.malformed).toEqual([]);
    expect(reading.limits.map((l) => [l.name, l.limit, l.remaining])).toEqual([['requests', 5, 4], ['tokens', 1000, 1000 - 12 - 10]]);
    expect(res.headers.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('says 529 overloaded_error past its concurrency cap', async () => {
    provider = await startMockProvider({ concurrency: 1, latencyMs: 200, latencySigma: 0, errorRate: 0, tailRate: 0 });
    const first = messages(provider);
    for (let i = 0; i < 100 && provider.stats().inFlight === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const res = await messages(provider);
    expect(res.status).toBe(529);
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'more than 1 requests in flight' } });
    expect(provider.stats().rateLimited).toBe(1);
    await (await first).text();
  });
});
