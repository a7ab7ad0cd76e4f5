// End to end against a real HTTP server on 127.0.0.1 that answers 429 with Retry-After
// beyond N requests per second: the Scheduler's retry policy finishes every task, and once
// a 429 has arrived it sends nothing before the Retry-After it was given has passed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMockProvider, type MockProvider } from '../../lib/cli/mock-provider.js';
import { Scheduler } from '../../lib/index.js';

class HttpError extends Error {
  constructor(readonly status: number, readonly headers: Headers) {
    super(`HTTP ${status}`);
  }
}

let provider: MockProvider;

// A fresh server per test: its sliding window must not hold the previous test's requests.
beforeEach(async () => {
  provider = await startMockProvider({ rps: 20, concurrency: 1_000, latencyMs: 5, latencySigma: 0.1, tailRate: 0, errorRate: 0, seed: 7 });
});

afterEach(async () => {
  await provider.close();
});

describe('Scheduler against a rate-limited HTTP provider', () => {
  it('finishes all work with zero failures and waits out every Retry-After', async () => {
    const s = new Scheduler({ concurrency: 8, retry: { retries: 20, minDelay: 10, maxDelay: 200 } });
    const sends: number[] = [];
    const pauses: Array<{ at: number; until: number }> = [];
    const call = async (signal: AbortSignal): Promise<unknown> => {
      sends.push(performance.now());
      const res = await fetch(`${provider.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }),
        signal,
      });
      const body: unknown = await res.json();
      if (res.status === 429) {
        const ms = Number(res.headers.get('retry-after-ms'));
        const at = performance.now();
        pauses.push({ at, until: at + ms });
        throw new HttpError(res.status, res.headers);
      }
      if (!res.ok) throw new HttpError(res.status, res.headers);
      return body;
    };
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => s.run((ctx) => call(ctx.signal))));

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(s.stats()).toMatchObject({ completed: 60, failed: 0 });
    const stats = provider.stats();
    expect(stats.ok).toBe(60);
    expect(stats.rateLimited).toBeGreaterThan(0);
    // Once the client knew it had to wait, no request left before the pause was over
    // (1 ms for timer rounding).
    for (const pause of pauses) {
      const early = sends.filter((t) => t > pause.at && t < pause.until - 1);
      expect(early, `requests sent during a pause ending at ${pause.until.toFixed(1)}`).toEqual([]);
    }
  });

});
