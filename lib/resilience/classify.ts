// Sorts a failure into what a caller should do about it: wait for the server's advice,
// lower concurrency, give up, retry with backoff, or stop because the caller aborted.
// One table shared by retry, the circuit breaker and the scheduler.

import { ClosedError, RingleaderError } from '../errors.js';
import { errorLayers } from './error-chain.js';
import { retryAfterMs } from './retry-after.js';

/**
 * - `wait`:  the server said when to come back (429 with Retry-After, any 503, an open breaker).
 * - `cap`:   overload without advice (429 without Retry-After, 529, a full local queue):
 *            back off and run fewer at once.
 * - `stop`:  retrying cannot help (quota exhausted, 4xx client errors, programmer errors).
 * - `retry`: transient (network errors, 5xx other than 503, 408, 425, attempt timeouts),
 *            and anything unrecognised.
 * - `abort`: the caller gave up (AbortError, a signal's TimeoutError, ClosedError); never retried.
 */
export type FailureClass = 'wait' | 'cap' | 'stop' | 'retry' | 'abort';

type Bag = Record<string, unknown>;

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN',
  'ENETUNREACH', 'ENETDOWN', 'EHOSTUNREACH', 'EHOSTDOWN', 'ERR_NETWORK',
]);
// undici codes that report a bad call rather than a failed transport.
const UNDICI_CALLER_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_INVALID_RETURN_VALUE']);
const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached']);
// Body codes that name their status, for errors that carry the body but lost the status.
const CODE_STATUS = new Map([['rate_limit_exceeded', 429], ['rate_limit_error', 429], ['overloaded_error', 529]]);
const ABORT_NAMES = new Set(['AbortError', 'APIUserAbortError', 'CanceledError']);
const ABORT_CODES = new Set(['ABORT_ERR', 'ERR_CANCELED']);

/**
 * Reads `err` and what it wraps (`cause` chains, the last attempt of an AI SDK RetryError),
 * outermost first: the first layer with a clear verdict decides. An `isRetryable` flag
 * (the AI SDK's) is only a hint, used when no layer says more.
 */
export function classify(err: unknown): FailureClass {
  let hint: FailureClass | undefined;
  for (const layer of errorLayers(err)) {
    const verdict = verdictOf(layer, err);
    if (verdict !== undefined) return verdict;
    if (hint === undefined && typeof layer.isRetryable === 'boolean') hint = layer.isRetryable ? 'retry' : 'stop';
  }
  // A thrown string, undefined or a bare Error says nothing about its cause: transient.
  return hint ?? 'retry';
}

// `outer` is what the caller holds: its Retry-After, wherever in the chain it sits, is
// the one retry and the lanes will wait out.
function verdictOf(err: Bag, outer: unknown): FailureClass | undefined {
  if (isAbort(err)) return 'abort';
  const codes = bodyCodes(err);
  if (codes.some((code) => QUOTA_CODES.has(code))) return 'stop';
  const status = statusOf(err) ?? codes.map((code) => CODE_STATUS.get(code)).find((s) => s !== undefined);
  if (status !== undefined) return byStatus(status, outer);
  if (isNetworkError(err)) return 'retry';
  if (err instanceof RingleaderError) return byCode(err.code);
  // Programmer errors fail the same way every time.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) {
    return 'stop';
  }
  return undefined;
}

function byStatus(status: number, outer: unknown): FailureClass {
  if (status === 429) return retryAfterMs(outer) === undefined ? 'cap' : 'wait';
  if (status === 503) return 'wait';
  // Anthropic's "overloaded": a capacity signal, like a 429 without advice.
  if (status === 529) return 'cap';
  if (status === 408 || status === 425 || status >= 500) return 'retry';
  return 'stop';
}

function byCode(code: string): FailureClass {
  switch (code) {
    case 'ERR_CIRCUIT_OPEN': return 'wait';
    case 'ERR_QUEUE_FULL': return 'cap';
    case 'ERR_DROPPED': return 'stop';
    default: return 'retry';
  }
}

function isAbort(err: Bag): boolean {
  if (err instanceof ClosedError) return true;
  if (typeof err.name === 'string' && ABORT_NAMES.has(err.name)) return true;
  // AbortSignal.timeout() rejects with a DOMException named TimeoutError; ringleader's own
  // TimeoutError (a per-attempt timeout) is a retryable failure instead.
  if (err instanceof DOMException && err.name === 'TimeoutError') return true;
  return typeof err.code === 'string' && ABORT_CODES.has(err.code);
}

/**
 * Error codes and types from the error and from the response body it carries: the OpenAI
 * SDK's `error`, the Anthropic SDK's `error.error`, the AI SDK's parsed `data` or its raw
 * `responseBody` text.
 */
function bodyCodes(err: Bag): string[] {
  const codes: string[] = [];
  const add = (bag: unknown): void => {
    if (!isBag(bag)) return;
    for (const value of [bag.code, bag.type]) if (typeof value === 'string') codes.push(value);
  };
  add(err);
  for (const body of [err.error, err.data, parseBody(err.responseBody)]) {
    add(body);
    if (isBag(body)) add(body.error);
  }
  return codes;
}

function parseBody(text: unknown): unknown {
  if (typeof text !== 'string' || !text.trimStart().startsWith('{')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function statusOf(err: Bag): number | undefined {
  const response = isBag(err.response) ? err.response : undefined;
  for (const value of [err.status, err.statusCode, response?.status]) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) return value;
  }
  return undefined;
}

// One layer only: classify walks the `cause` chain itself.
function isNetworkError(err: Bag): boolean {
  if (hasNetworkCode(err)) return true;
  // Happy-eyeballs connects fail with an AggregateError of per-address errors.
  if (Array.isArray(err.errors) && err.errors.some((e) => isBag(e) && hasNetworkCode(e))) return true;
  return err instanceof TypeError && err.message === 'fetch failed';
}

function hasNetworkCode(err: Bag): boolean {
  const code = err.code;
  if (typeof code !== 'string') return false;
  return NETWORK_CODES.has(code) || (code.startsWith('UND_ERR_') && !UNDICI_CALLER_CODES.has(code));
}

function isBag(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}
