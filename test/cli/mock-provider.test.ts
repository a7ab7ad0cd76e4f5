// The mock LLM provider refuses, charges and answers the way the demo and benchmarks rely
// on. Real server, real time: tests assert counts and header values, never durations.
import { afterEach, describe, expect, it } from 'vitest';
import { startMockProvider, type MockProvider, type MockProviderOptions } from '../../lib/cli/mock-provider.js';

const open: MockProvider[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

// Fast, steady and error-free unless a test says otherwise.
async function start(options: MockProviderOptions = {}): Promise<MockProvider> {
  const provider = await startMockProvider({ latencyMs: 1, latencySigma: 0, tailRate: 0, errorRate: 0, ...options });
  open.push(provider);
  return provider;
}

interface CallBody {
  model?: unknown;
  messages?: unknown;
  max_tokens?: number;
  tokens?: number;
}

function post(provider: MockProvider, body: CallBody | string = {}, path = '/v1/chat/completions'): Promise<Response> {
  const payload = typeof body === 'string'
    ? body
    : JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'hello' }], ...body });
  return fetch(`${provider.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
}

interface Completion {
  choices: Array<{ message: { role: string; content: string } }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

interface Problem {
  error: { type: string; message: string };
}

const completion = async (res: Response): Promise<Completion> => (await res.json()) as Completion;
const problem = async (res: Response): Promise<Problem> => (await res.json()) as Problem;

/** Polls (bounded) until `ready` holds, so tests wait for server state instead of sleeping. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('startMockProvider', () => {
  it('listens on 127.0.0.1 on a free port', async () => {
    const p = await start();
    expect(p.port).toBeGreaterThan(0);
    expect(p.url).toBe(`http://127.0.0.1:${p.port}`);
  });

  it('rejects bad options with TypeError or RangeError', async () => {
    await expect(startMockProvider({ concurrency: 0 })).rejects.toThrow(RangeError);
    await expect(startMockProvider({ rpm: 1.5 })).rejects.toThrow(RangeError);
    await expect(startMockProvider({ errorRate: 2 })).rejects.toThrow(RangeError);
    await expect(startMockProvider({ windowMs: 0 })).rejects.toThrow(RangeError);
    await expect(startMockProvider({ tpm: '100' as unknown as number })).rejects.toThrow(TypeError);
    await expect(startMockProvider({ seed: 0.5 })).rejects.toThrow(RangeError);
    await expect(startMockProvider({ seed: '7' as unknown as number })).rejects.toThrow(TypeError);
  });
});

describe('mock provider answers', () => {
  it('reports usage with prompt tokens from the body and completion tokens within max_tokens', async () => {
    const p = await start();
    const counted = await completion(await post(p, { tokens: 40, max_tokens: 8 }));
    expect(counted.usage.prompt_tokens).toBe(40);
    expect(counted.usage.completion_tokens).toBeGreaterThanOrEqual(1);
    expect(counted.usage.completion_tokens).toBeLessThanOrEqual(8);
    expect(counted.usage.total_tokens).toBe(40 + counted.usage.completion_tokens);
    expect(counted.choices[0]!.message.role).toBe('assistant');
    const measured = await completion(await post(p, { messages: [{ role: 'user', content: 'x'.repeat(40) }] }));
    expect(measured.usage.prompt_tokens).toBe(10);
    expect(p.stats().tokens).toBe(counted.usage.total_tokens + measured.usage.total_tokens);
  });

  it('answers 400 to a body that is not JSON or not a chat call', async () => {
    const p = await start();
    const bad = await post(p, '{"model":');
    expect(bad.status).toBe(400);
    expect((await problem(bad)).error.type).toBe('invalid_request_error');
    expect((await post(p, { messages: [] })).status).toBe(400);
    expect((await post(p, { model: 42 })).status).toBe(400);
    expect((await post(p, { max_tokens: 0 })).status).toBe(400);
    expect((await post(p, '[1,2]')).status).toBe(400);
    expect(p.stats().badRequests).toBe(5);
  });

  it('answers 404 to other paths and methods', async () => {
    const p = await start();
    expect((await post(p, {}, '/v1/completions')).status).toBe(404);
    expect((await fetch(`${p.url}/v1/chat/completions`)).status).toBe(404);
    expect(p.stats().notFound).toBe(2);
  });

  it('answers 500s and 503s at errorRate, the 503s with Retry-After', async () => {
    const p = await start({ errorRate: 1, unavailableRetryAfterMs: 1500 });
    const responses = [];
    for (let i = 0; i < 20; i++) responses.push(await post(p));
    const unavailable = responses.filter((r) => r.status === 503);
    const failed = responses.filter((r) => r.status === 500);
    expect(unavailable.length + failed.length).toBe(20);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    for (const r of unavailable) {
      expect(r.headers.get('retry-after')).toBe('2');
      expect(r.headers.get('retry-after-ms')).toBe('1500');
    }
    for (const r of failed) expect(r.headers.get('retry-after')).toBeNull();
    expect(p.stats().errors).toBe(20);
  });
});

describe('mock provider limits', () => {
  it('answers 429 without Retry-After beyond its concurrency cap', async () => {
    const p = await start({ concurrency: 3, latencyMs: 60_000 });
    const refused: Response[] = [];
    const calls = Array.from({ length: 10 }, () => post(p).then((r) => { refused.push(r); }, () => {}));
    await until(() => refused.length === 7 && p.stats().inFlight === 3, 'seven refusals and three held requests');
    expect(p.stats().overloaded).toBe(7);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBeNull();
      expect(r.headers.get('retry-after-ms')).toBeNull();
      expect((await problem(r)).error.type).toBe('overloaded');
    }
    await p.close();
    await Promise.all(calls);
    expect(p.stats().peakInFlight).toBe(3);
  });

  it('frees the slot of a client that goes away before its answer', async () => {
    const p = await start({ concurrency: 1, latencyMs: 60_000 });
    const controller = new AbortController();
    const gone = fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST', signal: controller.signal,
      body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }),
    }).catch(() => 'aborted');
    await until(() => p.stats().inFlight === 1, 'the request to be held');
    controller.abort();
    expect(await gone).toBe('aborted');
    await until(() => p.stats().inFlight === 0, 'the slot to be freed');
    expect(p.stats().aborted).toBe(1);
  });

  it('answers 429 beyond rpm with retry-after and retry-after-ms saying when the window frees', async () => {
    const windowMs = 30_000;
    const p = await start({ rpm: 3, windowMs });
    for (let i = 0; i < 3; i++) expect((await post(p)).status).toBe(200);
    const refused = await post(p);
    expect(refused.status).toBe(429);
    // OpenAI's envelope: the window that refused is the type, the code says rate limit.
    expect((await problem(refused)).error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    const ms = Number(refused.headers.get('retry-after-ms'));
    expect(Number.isInteger(ms)).toBe(true);
    expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(ms / 1000));
    // The server's own log says when the oldest request leaves the window.
    const { starts, rateLimited } = p.log();
    expect(starts).toHaveLength(3);
    expect(ms).toBe(Math.ceil(starts[0]! + windowMs - rateLimited[0]!));
    expect(ms).toBeLessThanOrEqual(windowMs);
  });

  it('admits again once the wait in retry-after-ms has passed', async () => {
    const p = await start({ rpm: 2, windowMs: 200 });
    await post(p);
    await post(p);
    const refused = await post(p);
    expect(refused.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, Number(refused.headers.get('retry-after-ms'))));
    expect((await post(p)).status).toBe(200);
    expect(p.stats()).toMatchObject({ ok: 3, rateLimited: 1 });
  });

  it('answers 429 beyond rps within one second', async () => {
    const p = await start({ rps: 2 });
    expect((await post(p)).status).toBe(200);
    expect((await post(p)).status).toBe(200);
    const refused = await post(p);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeLessThanOrEqual(1000);
    expect(refused.headers.get('retry-after')).toBe('1');
  });

  it('charges prompt tokens plus max_tokens against tpm', async () => {
    const p = await start({ tpm: 100 });
    expect((await post(p, { tokens: 30, max_tokens: 20 })).status).toBe(200);
    expect((await post(p, { tokens: 30, max_tokens: 20 })).status).toBe(200);
    const refused = await post(p, { tokens: 1, max_tokens: 1 });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect((await problem(refused)).error.message).toMatch(/tpm/);
  });

  it('answers 400 to a request larger than the whole tpm window', async () => {
    const p = await start({ tpm: 100 });
    const res = await post(p, { tokens: 90, max_tokens: 20 });
    expect(res.status).toBe(400);
    expect(p.stats().rateLimited).toBe(0);
  });

  it('never admits more than rpm requests within one window', async () => {
    const windowMs = 30_000;
    const p = await start({ rpm: 5, windowMs, concurrency: 64 });
    await Promise.all(Array.from({ length: 20 }, () => post(p)));
    expect(p.stats()).toMatchObject({ ok: 5, rateLimited: 15 });
    expect(p.log().starts).toHaveLength(5);
    expect(p.stats().perSecond.reduce((a, b) => a + b, 0)).toBe(5);
  });
});

describe('mock provider determinism', () => {
  async function latencies(seed: number): Promise<string[]> {
    const p = await start({ seed, latencyMs: 2, latencySigma: 0.8, tailRate: 0.2, errorRate: 0.2 });
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await post(p);
      seen.push(`${res.status}:${res.headers.get('x-mock-latency-ms') ?? '-'}`);
    }
    return seen;
  }

  it('gives the same latencies and errors for the same seed and request order', async () => {
    const first = await latencies(7);
    expect(await latencies(7)).toEqual(first);
    expect(await latencies(8)).not.toEqual(first);
  });
});

describe('mock provider close', () => {
  it('resolves with requests in flight and leaves no server, socket or timer behind', async () => {
    const kinds = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
      return counts;
    };
    const timers = kinds().Timeout ?? 0;
    const p = await startMockProvider({ latencyMs: 60_000, errorRate: 0 });
    const calls = Array.from({ length: 3 }, () => post(p));
    await until(() => p.stats().inFlight === 3, 'three requests in flight');
    await p.close();
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(p.stats().inFlight).toBe(0);
    // Absolute: handles of servers closed by earlier tests may still be closing at the start.
    await until(() => {
      const after = kinds();
      return after.TCPServerWrap === undefined && after.TCPSocketWrap === undefined && (after.Timeout ?? 0) <= timers;
    }, 'sockets and timers to close');
    await p.close();
  });
});
