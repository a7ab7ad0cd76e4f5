// Sorts a failure into what a caller should do about it: wait for the server's advice,
// lower concurrency, give up, retry with backoff, or stop because the caller aborted.
// One table shared by retry, the circuit breaker and the scheduler.

import { ClosedError, RingleaderError } from '../errors.js';
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
const ABORT_NAMES = new Set(['AbortError', 'APIUserAbortError', 'CanceledError']);
const ABORT_CODES = new Set(['ABORT_ERR', 'ERR_CANCELED']);
// How deep to follow `cause` chains: fetch wraps once, SDKs at most twice more.
const MAX_CAUSE_DEPTH = 4;

export function classify(err: unknown): FailureClass {
  // A thrown string or undefined says nothing about its cause; treat it as transient.
  if (!isBag(err)) return 'retry';
  if (isAbort(err)) return 'abort';
  if (isQuotaExhausted(err)) return 'stop';
  const status = statusOf(err);
  if (status !== undefined) return byStatus(status, err);
  if (isNetworkError(err, 0)) return 'retry';
  if (err instanceof RingleaderError) return byCode(err.code);
  // Programmer errors fail the same way every time.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) {
    return 'stop';
  }
  return 'retry';
}

function byStatus(status: number, err: Bag): FailureClass {
  if (status === 429) return retryAfterMs(err) === undefined ? 'cap' : 'wait';
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

function isQuotaExhausted(err: Bag): boolean {
  const body = isBag(err.error) ? err.error : undefined;
  const nested = body !== undefined && isBag(body.error) ? body.error : undefined;
  return [err.code, err.type, body?.code, body?.type, nested?.code, nested?.type]
    .some((value) => typeof value === 'string' && QUOTA_CODES.has(value));
}

function statusOf(err: Bag): number | undefined {
  const response = isBag(err.response) ? err.response : undefined;
  for (const value of [err.status, err.statusCode, response?.status]) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) return value;
  }
  return undefined;
}

function isNetworkError(err: Bag, depth: number): boolean {
  const code = err.code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (code.startsWith('UND_ERR_') && !UNDICI_CALLER_CODES.has(code)) return true;
  }
  if (depth >= MAX_CAUSE_DEPTH) return false;
  // Happy-eyeballs connects fail with an AggregateError of per-address errors.
  if (Array.isArray(err.errors) && err.errors.some((e) => isBag(e) && isNetworkError(e, depth + 1))) return true;
  if (isBag(err.cause) && isNetworkError(err.cause, depth + 1)) return true;
  return err instanceof TypeError && err.message === 'fetch failed';
}

function isBag(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}
