// `scheduledFetch(options)`: a function with fetch's own signature that an SDK takes as its
// `fetch` option (`new OpenAI({ fetch })`), sending every request through ringleader's
// per-origin scheduler, which learns the provider's limits from its answers.

import { ScheduledHttp, type HttpCall } from './scheduled-http.js';
import type { ScheduledFetchOptions, ScheduledHttpControl } from './types.js';

export type ScheduledFetch = typeof globalThis.fetch & ScheduledHttpControl;

export function scheduledFetch(options: ScheduledFetchOptions = {}): ScheduledFetch {
  const engine = new ScheduledHttp(options);
  const send = options.fetch ?? ((input: URL, init: RequestInit) => globalThis.fetch(input, init));
  if (typeof send !== 'function') throw new TypeError('fetch must be a function');
  const scheduled = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const call = toCall(input, init);
    const extra = init === undefined ? {} : { ...init };
    return engine.request(call, (url, attempt) => send(url, {
      ...extra, ...attempt,
      // Node's fetch needs this for a stream body; harmless for the others.
      ...(attempt.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit));
  };
  return Object.assign(scheduled, {
    stats: () => engine.stats(),
    close: (options?: { drain?: boolean }) => engine.close(options),
  }) as ScheduledFetch;
}

function toCall(input: string | URL | Request, init: RequestInit | undefined): HttpCall {
  const request = input instanceof Request ? input : undefined;
  // new URL throws a TypeError for what fetch would also refuse.
  const url = new URL(request?.url ?? (input instanceof URL ? input.href : String(input)));
  const headers = new Headers(init?.headers ?? request?.headers);
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  const body = init !== undefined && 'body' in init ? init.body : request?.body ?? null;
  return { url, method, headers, body, signal: init?.signal ?? request?.signal ?? undefined };
}
