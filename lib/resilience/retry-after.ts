// How long a server asked us to wait, read from an error whatever client threw it: an
// explicit `retryAfterMs`, fetch Headers, Axios responses, OpenAI/Anthropic SDK errors, the
// AI SDK's APICallError, or plain header objects in any casing; through `cause` chains and
// the AI SDK's RetryError. Anything unparseable counts as "no advice".

import { errorLayers } from './error-chain.js';

type Bag = Record<string, unknown>;

// A header value is a plain decimal: no sign, no exponent, no hex.
const DECIMAL = /^\s*\d+(?:\.\d+)?\s*$/;
// Date.parse accepts almost anything; an HTTP-date always opens with a weekday name.
const HTTP_DATE = /^\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s/i;

/**
 * Milliseconds the server asked the caller to wait before retrying, or undefined when the
 * error carries no usable advice. `retry-after-ms` wins over `retry-after` (it is more
 * precise); an HTTP-date in the past means 0. The outermost layer with advice wins; a
 * RetryError's is its last attempt's, the freshest the server gave.
 */
export function retryAfterMs(err: unknown, now: number = Date.now()): number | undefined {
  for (const layer of errorLayers(err)) {
    const ms = advice(layer, now);
    if (ms !== undefined) return ms;
  }
  return undefined;
}

function advice(err: Bag, now: number): number | undefined {
  const own = err.retryAfterMs;
  if (typeof own === 'number' && Number.isFinite(own) && own >= 0) return own;
  // The AI SDK's APICallError keeps them in `responseHeaders`, a plain lower-cased record.
  const sources = [err.headers, isBag(err.response) ? err.response.headers : undefined, err.responseHeaders];
  for (const headers of sources) {
    const ms = fromHeaders(headers, now);
    if (ms !== undefined) return ms;
  }
  return undefined;
}

function fromHeaders(headers: unknown, now: number): number | undefined {
  if (!isBag(headers)) return undefined;
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && DECIMAL.test(ms)) return Number(ms);
  const value = header(headers, 'retry-after');
  if (value === undefined) return undefined;
  if (DECIMAL.test(value)) return Number(value) * 1000;
  if (!HTTP_DATE.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** One header from a Headers-like object (fetch, AxiosHeaders, Map) or a plain object. */
function header(headers: Bag, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    const value = text(callGet(headers.get as (name: string) => unknown, headers, name));
    if (value !== undefined) return value;
  }
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return text(headers[key]);
  }
  return undefined;
}

// Reading advice must never turn one failure into another, even for an odd `get`.
function callGet(get: (name: string) => unknown, target: Bag, name: string): unknown {
  try {
    return get.call(target, name);
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? value : undefined;
}

function isBag(value: unknown): value is Bag {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
