// End to end against a real HTTP server on 127.0.0.1 that answers 429 with Retry-After
// beyond N requests per second: the Scheduler's retry policy finishes every task, and once
// a 429 has arrived it sends nothing before the Retry-After it was given has passed.
// Time is simulated: the scheduler, its timers and the provider's windows run on vitest's
// fake clock, advanced 1 ms per turn while real sockets carry the requests, so "before the
// pause was over" is exact ordering on one clock, never a stopwatch.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  provider = await startMockProvider({ rps: 20, concurrency: 1_000, latencyMs: 5, latencySigma: 0.1, tailRate: 0, errorRate: 0, seed: 7 });
});

afterEach(async () => {
  await provider.close();
  vi.useRealTimers();
});

/** Lets `work` run with the fake clock advancing 1 ms per event-loop turn (sockets are real). */
async function simulate<T>(work: Promise<T>, maxMs: number): Promise<T> {
  let done = false;
  void work.finally(() => {
    done = true;
  }).catch(() => {});
  for (let t = 0; !done && t < maxMs; t++) {
    await vi.advanceTimersByTimeAsync(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(done, `not finished after ${maxMs} simulated ms`).toBe(true);
  return work;
}

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
    const results = await simulate(Promise.allSettled(Array.from({ length: 60 }, () => s.run((ctx) => call(ctx.signal)))), 60_000);

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(s.stats()).toMatchObject({ completed: 60, failed: 0 });
    const stats = provider.stats();
    expect(stats.ok).toBe(60);
    expect(stats.rateLimited).toBeGreaterThan(0);
    // Once the client knew it had to wait, no request left before the pause was over.
    expect(pauses.length).toBeGreaterThan(0);
    for (const pause of pauses) {
      const early = sends.filter((t) => t > pause.at && t < pause.until);
      expect(early, `requests sent during a pause ending at ${pause.until.toFixed(1)}`).toEqual([]);
    }
  });

});
