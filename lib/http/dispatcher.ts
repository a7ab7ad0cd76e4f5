// `scheduledDispatcher(options)`: an undici Dispatcher, so `setGlobalDispatcher()` puts every
// `fetch` in the process (code the user does not own too) through ringleader's scheduler.
// Built as an undici compose interceptor over the same engine as scheduledFetch.

import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ScheduledHttp, type Transport } from './scheduled-http.js';
import type { ScheduledFetchOptions, ScheduledFetchStats, ScheduledHttpControl } from './types.js';

export interface ScheduledDispatcherOptions extends Omit<ScheduledFetchOptions, 'fetch'> {
  /** Sends the attempts. Default: a new undici Agent. */
  dispatcher?: Dispatcher;
}

// undici takes a tenth of a second to load: only code that asks for a dispatcher pays it.
const require = createRequire(import.meta.url);
const undici = (): typeof import('undici') => require('undici') as typeof import('undici');

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

/**
 * An interceptor for `agent.compose(...)`. fetch hands its body to a dispatcher as a stream,
 * so unless `bufferStreams` is false the body is read (up to `maxBodyBytes`) and can be retried.
 */
export function scheduledInterceptor(options: ScheduledDispatcherOptions = {}): Dispatcher.DispatcherComposeInterceptor & ScheduledHttpControl {
  const { dispatcher: _ignored, ...rest } = options;
  const engine = new ScheduledHttp({ bufferStreams: true, ...rest });
  const interceptor = (next: Dispatcher.Dispatch): Dispatcher.Dispatch => {
    const inner = { dispatch: next } as unknown as Dispatcher;
    const transport: Transport = async (url, init) => {
      const res = await undici().request(url, {
        dispatcher: inner, method: init.method as Dispatcher.HttpMethod, headers: Object.fromEntries(init.headers),
        body: init.body as string | Uint8Array | null, signal: init.signal,
      });
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) headers.append(name, v);
      }
      const body = res.statusCode === 204 || res.statusCode === 304 ? null : Readable.toWeb(res.body) as ReadableStream<Uint8Array>;
      if (body === null) res.body.resume();
      return new Response(body, { status: res.statusCode, statusText: res.statusText, headers });
    };
    return (opts, handler) => {
      // Upgrades and tunnels are not requests to schedule.
      if (opts.upgrade || opts.method === 'CONNECT') return next(opts, handler);
      deliver(engine, opts, handler as Handler, transport);
      return true;
    };
  };
  return Object.assign(interceptor, { stats: () => engine.stats(), close: (o?: { drain?: boolean }) => engine.close(o) });
}

/**
 * A Dispatcher for `setGlobalDispatcher()` or fetch's `dispatcher` option, with stats(). Its
 * close() waits for the admitted requests, then closes the Agent it made (not one passed in).
 */
export function scheduledDispatcher(options: ScheduledDispatcherOptions = {}): Dispatcher & { stats(): ScheduledFetchStats } {
  const base = options.dispatcher ?? new (undici().Agent)();
  const owned = options.dispatcher === undefined;
  const interceptor = scheduledInterceptor(options);
  const composed = base.compose(interceptor);
  return new Proxy(composed, {
    get(target, key, receiver) {
      if (key === 'stats') return () => interceptor.stats();
      if (key === 'close') {
        return async (o?: { drain?: boolean }) => {
          await interceptor.close(o);
          if (owned) await base.close();
        };
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  }) as Dispatcher & { stats(): ScheduledFetchStats };
}

function deliver(engine: ScheduledHttp, opts: Dispatcher.DispatchOptions, handler: Handler, transport: Transport): void {
  const abort = new AbortController();
  let paused = false;
  let resume: (() => void) | undefined;
  // Node 26's fetch (undici 8) reads the answer's headers from controller.rawHeaders only
  // ([name, value, …] as Buffers) and sees none when it is missing: give both shapes.
  let rawHeaders: Buffer[] | undefined;
  const controller: Controller & { readonly rawHeaders: Buffer[] | undefined } = {
    get rawHeaders() {
      return rawHeaders;
    },
    get aborted() {
      return abort.signal.aborted;
    },
    get paused() {
      return paused;
    },
    get reason() {
      return abort.signal.aborted ? (abort.signal.reason as Error) : null;
    },
    abort(reason: Error) {
      abort.abort(reason);
      resume?.();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      resume?.();
    },
  };
  let ended = false;
  const fail = (err: unknown): void => {
    if (ended) return;
    ended = true;
    handler.onResponseError?.(controller, err instanceof Error ? err : new Error(String(err)));
  };
  try {
    handler.onRequestStart?.(controller, {});
  } catch (err) {
    fail(err);
    return;
  }
  const run = async (): Promise<void> => {
    const url = new URL(opts.path, opts.origin);
    const call = { url, method: opts.method, headers: toHeaders(opts.headers), body: opts.body, signal: abort.signal, encoded: true };
    const response = await engine.request(call, transport);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of response.headers) {
      const prior = headers[name];
      headers[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
    }
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) headers['set-cookie'] = cookies;
    if (abort.signal.aborted) throw abort.signal.reason;
    rawHeaders = [];
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) rawHeaders.push(Buffer.from(name, 'latin1'), Buffer.from(v, 'latin1'));
    }
    handler.onResponseStart?.(controller, response.status, headers, response.statusText);
    if (response.body !== null) {
      const reader = response.body.getReader();
      const onAbort = (): void => {
        reader.cancel(abort.signal.reason).catch(() => {});
      };
      abort.signal.addEventListener('abort', onAbort, { once: true });
      try {
        for (;;) {
          while (paused && !abort.signal.aborted) await new Promise<void>((r) => (resume = r));
          if (abort.signal.aborted) throw abort.signal.reason;
          const { done, value } = await reader.read();
          if (done) break;
          handler.onResponseData?.(controller, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        }
      } finally {
        abort.signal.removeEventListener('abort', onAbort);
      }
    }
    ended = true;
    handler.onResponseEnd?.(controller, {});
  };
  run().catch(fail);
}

/** undici's header shapes (record, flat [k, v, k, v] array, or pairs) as Headers. */
function toHeaders(raw: Dispatcher.DispatchOptions['headers']): Headers {
  const headers = new Headers();
  if (raw == null) return headers;
  const add = (name: unknown, value: unknown): void => {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined && v !== null) headers.append(String(name), String(v));
  };
  if (Array.isArray(raw)) {
    if (raw.length > 0 && Array.isArray(raw[0])) for (const [k, v] of raw as unknown as Array<[string, string]>) add(k, v);
    else for (let i = 0; i + 1 < raw.length; i += 2) add(raw[i], raw[i + 1]);
  } else if (typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of raw as Iterable<[string, string]>) add(k, v);
  } else {
    for (const [k, v] of Object.entries(raw)) add(k, v);
  }
  return headers;
}
