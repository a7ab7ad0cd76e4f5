// scheduledFetch with bad input and a misbehaving provider: each call ends in a typed error or
// the provider's own response, no promise is left pending and no slot is left taken.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, TimeoutError } from '../../lib/errors.js';
import { scheduledFetch, type ScheduledFetch } from '../../lib/http/scheduled-fetch.js';
import { errorBody, startProviderServer, type ProviderServer } from '../resilience/ai-sdk-server.js';

let server: ProviderServer;
let url: string;
let f: ScheduledFetch;
let pending = 0;

/** Counts the promises a test hands out until they settle. */
function track<T>(p: Promise<T>): Promise<T> {
  pending++;
  return p.finally(() => {
    pending--;
  });
}

const post = (body: unknown, init: RequestInit = {}): Promise<Response> =>
  track(f(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init }));
const schedulerStats = () => f.stats().origins[new URL(url).origin]?.scheduler;

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
}

beforeAll(async () => {
  server = await startProviderServer('openai');
  url = `${server.baseURL}/chat/completions`;
});

afterAll(async () => {
  await server.close();
});

afterEach(async () => {
  await until(() => pending === 0);
  const s = schedulerStats();
  if (s !== undefined) expect(s).toMatchObject({ running: 0, queued: 0, retrying: 0 });
  await f.close();
  server.received.length = 0;
  server.script({ status: 200 });
});

describe('bad input', () => {
  it.each(['ftp://example.com/x', 'data:text/plain,hi', 'file:///etc/passwd'])('refuses %s with a TypeError, sending nothing', async (target) => {
    f = scheduledFetch();
    await expect(track(f(target))).rejects.toThrow(TypeError);
    expect(f.stats().origins).toEqual({});
  });

  it('refuses a relative URL with a TypeError', async () => {
    f = scheduledFetch();
    await expect(track(f('/v1/chat/completions'))).rejects.toThrow(TypeError);
  });

  it('refuses a body over maxBodyBytes with a RangeError, sending nothing', async () => {
    f = scheduledFetch({ maxBodyBytes: 64 });
    await expect(post({ text: 'x'.repeat(100) })).rejects.toThrow(RangeError);
    expect(server.received).toHaveLength(0);
  });

  it('refuses a buffered stream body over maxBodyBytes with a RangeError', async () => {
    f = scheduledFetch({ maxBodyBytes: 8, bufferStreams: true });
    const body = new Blob(['x'.repeat(20)]).stream();
    await expect(track(f(url, { method: 'POST', body, duplex: 'half' } as RequestInit))).rejects.toThrow(RangeError);
    expect(server.received).toHaveLength(0);
  });

  it.each([
    ['concurrency', { concurrency: 0 }, RangeError],
    ['maxBodyBytes', { maxBodyBytes: -1 }, RangeError],
    ['timeout', { timeout: 'soon' }, TypeError],
    ['key', { key: 'model' }, TypeError],
    ['retry', { retry: 3 }, TypeError],
  ])('refuses a bad %s option at construction', (_name, options, type) => {
    expect(() => scheduledFetch(options as never)).toThrow(type);
    f = scheduledFetch();
  });

  it('rejects calls after close() with ClosedError', async () => {
    f = scheduledFetch();
    await f.close();
    await expect(post({})).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('a misbehaving provider', () => {
  it('a reset mid-body fails the caller\'s read and frees the slot', async () => {
    f = scheduledFetch({ retry: false });
    server.script({ status: 200, resetMidBody: true });
    const res = await post({ model: 'm' });
    expect(res.status).toBe(200);
    await expect(track(res.text())).rejects.toThrow();
    await until(() => schedulerStats()!.running === 0);
  });

  it('no answer within the timeout rejects with TimeoutError and closes the socket', async () => {
    f = scheduledFetch({ timeout: 20, retry: false });
    server.script({ status: 200, hang: true });
    const err = await post({ model: 'm' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'ERR_TIMEOUT' });
    await until(() => server.closedEarly >= 1);
  });

  it('retries an attempt that timed out', async () => {
    f = scheduledFetch({ timeout: 20, retry: { retries: 1, minDelay: 1, maxDelay: 1 } });
    server.script({ status: 200, hang: true }, { status: 200 });
    const res = await post({ model: 'm' });
    expect(await track(res.json())).toMatchObject({ object: 'chat.completion' });
    expect(server.received).toHaveLength(2);
  });

  it('malformed rate-limit headers leave the response alone and are listed in stats', async () => {
    f = scheduledFetch();
    server.script({ status: 200, headers: { 'x-ratelimit-remaining-requests': 'many', 'x-ratelimit-reset-requests': 'later' } });
    const res = await post({ model: 'm' });
    expect(res.status).toBe(200);
    await track(res.text());
    const lane = f.stats().origins[new URL(url).origin]!.lanes['']!;
    expect(lane.malformedHeaders).toEqual(['x-ratelimit-remaining-requests']);
    expect(lane.learned).toEqual({});
  });

  it('a malformed JSON body reaches the caller byte for byte and keeps the estimate', async () => {
    f = scheduledFetch();
    server.script({ status: 200, text: '{"usage": {"prompt_tokens": ' });
    const res = await post({ model: 'm', max_tokens: 10 });
    expect(await track(res.text())).toBe('{"usage": {"prompt_tokens": ');
    await until(() => schedulerStats()!.running === 0);
    const lane = f.stats().origins[new URL(url).origin]!.lanes['']!;
    expect(lane.tokens).toMatchObject({ reported: 0, reconciled: 0 });
    expect(lane.tokens.estimated).toBeGreaterThanOrEqual(10);
  });

  it('a malformed error body is still the provider\'s answer once retries run out', async () => {
    f = scheduledFetch({ retry: { retries: 1, minDelay: 1, maxDelay: 1 } });
    server.script({ status: 502, text: '<html>bad gateway' });
    const res = await post({ model: 'm' });
    expect(res.status).toBe(502);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(await track(res.text())).toBe('<html>bad gateway');
    expect(server.received).toHaveLength(2);
  });
});

describe('request bodies that are streams', () => {
  const streamed = (): RequestInit => ({ method: 'POST', body: new Blob(['{"model":"m"}']).stream(), duplex: 'half' } as RequestInit);

  it('are sent once and not retried', async () => {
    f = scheduledFetch({ retry: { retries: 2, minDelay: 1, maxDelay: 1 } });
    server.script({ status: 500, body: errorBody('openai', 'server_error') });
    const res = await track(f(url, streamed()));
    expect(res.status).toBe(500);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]!.body).toBe('{"model":"m"}');
  });

  it('are retried when bufferStreams is set', async () => {
    f = scheduledFetch({ bufferStreams: true, retry: { retries: 2, minDelay: 1, maxDelay: 1 } });
    server.script({ status: 500, body: errorBody('openai', 'server_error') });
    const res = await track(f(url, streamed()));
    expect(res.status).toBe(500);
    expect(server.received.map((r) => r.body)).toEqual(Array(3).fill('{"model":"m"}'));
  });
});

describe('slots', () => {
  it('a response nobody reads gives its slot back after bodyIdleTimeout', async () => {
    f = scheduledFetch({ concurrency: 1, bodyIdleTimeout: 10 });
    const first = await post({ model: 'm' });
    const second = await post({ model: 'm' });
    expect(second.status).toBe(200);
    expect(await track(first.json())).toMatchObject({ object: 'chat.completion' });
    await track(second.text());
  });

  it('a queued call aborted by its signal leaves the queue at once', async () => {
    f = scheduledFetch({ concurrency: 1 });
    server.script({ status: 200, hang: true });
    const ac = new AbortController();
    const running = post({ model: 'm' }, { signal: ac.signal }).catch((e: unknown) => e);
    const queued = post({ model: 'm' }, { signal: ac.signal }).catch((e: unknown) => e);
    await until(() => server.received.length === 1);
    expect(schedulerStats()).toMatchObject({ running: 1, queued: 1 });
    ac.abort();
    expect(await running).toMatchObject({ name: 'AbortError' });
    expect(await queued).toMatchObject({ name: 'AbortError' });
    expect(server.received).toHaveLength(1);
  });
});

describe('close', () => {
  it('without draining aborts a running request through its ctx.signal, closing the socket, and refuses the queued one', async () => {
    f = scheduledFetch({ concurrency: 1 });
    server.script({ status: 200, hang: true });
    const closedBefore = server.closedEarly;
    const running = post({ model: 'm' }).catch((e: unknown) => e);
    const queued = post({ model: 'm' }).catch((e: unknown) => e);
    await until(() => server.received.length === 1);
    await f.close({ drain: false });
    expect(await running).toBeInstanceOf(ClosedError);
    expect(await queued).toBeInstanceOf(ClosedError);
    await until(() => server.closedEarly === closedBefore + 1);
    expect(server.received).toHaveLength(1);
  });
});

describe('lanes', () => {
  it('forgets idle lanes instead of refusing calls when a key function makes a fresh key per call', async () => {
    let n = 0;
    f = scheduledFetch({
      concurrency: 64, key: () => `k${n++}`,
      fetch: async () => new Response('{}', { headers: { 'content-type': 'application/json' } }),
    });
    for (let batch = 0; batch < 11; batch++) {
      await Promise.all(Array.from({ length: 1000 }, () => track(f('http://127.0.0.1:9/x').then((r) => r.text()))));
    }
    const lanes = Object.keys(f.stats().origins['http://127.0.0.1:9']!.lanes).length;
    expect(lanes).toBeGreaterThan(0);
    expect(lanes).toBeLessThanOrEqual(10_000);
  });
});

describe('diagnostics', () => {
  it('each origin\'s scheduler is named for it on the ringleader:retry channel', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const names: unknown[] = [];
    const listener = (message: unknown): void => {
      names.push((message as { name?: unknown }).name);
    };
    subscribe('ringleader:retry', listener);
    try {
      f = scheduledFetch({ retry: { retries: 1, minDelay: 1, maxDelay: 1 } });
      server.script({ status: 500, body: errorBody('openai', 'server_error') }, { status: 200 });
      await track((await post({ model: 'm' })).text());
    } finally {
      unsubscribe('ringleader:retry', listener);
    }
    expect(names).toEqual([`fetch ${new URL(url).origin}`]);
  });
});

describe('fetch\'s own inputs', () => {
  it('takes a Request, sending its method, headers and body', async () => {
    f = scheduledFetch();
    const res = await track(f(new Request(url, { method: 'POST', headers: { 'x-test': 'yes' }, body: '{"model":"m"}' })));
    expect(res.status).toBe(200);
    await track(res.text());
    expect(server.received[0]).toMatchObject({ method: 'POST', body: '{"model":"m"}', headers: { 'x-test': 'yes' } });
  });

  it('answers a HEAD request with no body and frees its slot', async () => {
    f = scheduledFetch();
    const res = await track(f(new URL(url), { method: 'HEAD' }));
    expect(res.status).toBe(200);
    expect(res.body).toBeNull();
    expect(res.url).toBe(url);
    await until(() => schedulerStats()!.running === 0);
  });
});

describe('priority', () => {
  it('starts a queued request of higher priority first', async () => {
    f = scheduledFetch({ concurrency: 1, priority: (_req, json) => ((json as { urgent?: boolean }).urgent === true ? 1 : 0) });
    server.script({ status: 200, delayMs: 20 });
    const first = post({ n: 1 });
    await until(() => server.received.length === 1);
    const calls = [post({ n: 2 }), post({ n: 3, urgent: true }), post({ n: 4 })];
    // Each body is read as it comes: a response holds its slot until then.
    await Promise.all([first, ...calls].map((p) => p.then((res) => track(res.text()))));
    expect(server.received.map((r) => (JSON.parse(r.body) as { n: number }).n)).toEqual([1, 3, 2, 4]);
  });

  it('a priority() that returns a non-number rejects the call with a TypeError', async () => {
    f = scheduledFetch({ priority: () => 'high' as unknown as number });
    await expect(post({})).rejects.toThrow(TypeError);
  });
});
