// How classify, retryAfterMs and attemptsSpent read wrapped errors: `cause` chains, the AI
// SDK's RetryError and APICallError fields (body codes, isRetryable), outermost first.
import { APICallError, RetryError } from 'ai';
import { describe, expect, it } from 'vitest';
import { classify } from '../../lib/resilience/classify.js';
import { attemptsSpent } from '../../lib/resilience/error-chain.js';
import { retryAfterMs } from '../../lib/resilience/retry-after.js';

const http = (status: number, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`HTTP ${status}`), { status, ...extra });
const coded = (code: string): Error => Object.assign(new Error(code), { code });
const apiCall = (fields: Partial<ConstructorParameters<typeof APICallError>[0]>): APICallError =>
  new APICallError({ message: 'call failed', url: 'http://127.0.0.1/v1/chat/completions', requestBodyValues: {}, ...fields });
const retried = (...errors: unknown[]): RetryError =>
  new RetryError({ message: `Failed after ${errors.length} attempts`, reason: 'maxRetriesExceeded', errors });

describe('classify through wrappers', () => {
  it('reads the cause when the wrapper says nothing (LangChain-style)', () => {
    expect(classify(new Error('chain failed', { cause: http(429, { code: 'insufficient_quota' }) }))).toBe('stop');
  });

  it('lets the outermost clear verdict win over its cause', () => {
    expect(classify(http(400, { cause: http(503) }))).toBe('stop');
    expect(classify(http(503, { cause: http(400) }))).toBe('wait');
  });

  it('reads an abort inside a wrapper', () => {
    expect(classify(new Error('step failed', { cause: new DOMException('aborted', 'AbortError') }))).toBe('abort');
  });

  it('classifies a RetryError by its last attempt', () => {
    expect(classify(retried(apiCall({ statusCode: 500 }), apiCall({ statusCode: 400 })))).toBe('stop');
    expect(classify(retried(apiCall({ statusCode: 400 }), apiCall({ statusCode: 500 })))).toBe('retry');
  });

  it('ends on a cycle of causes', () => {
    const a: Error = new Error('a');
    a.cause = new Error('b', { cause: a });
    expect(classify(a)).toBe('retry');
  });
});

describe('classify on APICallError fields', () => {
  it('reads a quota code from the raw responseBody', () => {
    expect(classify(apiCall({ statusCode: 429, responseBody: '{"error":{"code":"insufficient_quota"}}' }))).toBe('stop');
  });

  it('reads a quota code from the parsed data', () => {
    expect(classify(apiCall({ statusCode: 429, data: { error: { type: 'insufficient_quota' } } }))).toBe('stop');
  });

  it('ignores a body that is not JSON', () => {
    expect(classify(apiCall({ statusCode: 429, responseBody: '<html>quota</html>' }))).toBe('cap');
    expect(classify(apiCall({ statusCode: 429, responseBody: '{"error": insufficient_quota' }))).toBe('cap');
  });

  it('takes the status a body code names when the status is missing', () => {
    expect(classify({ responseBody: '{"type":"error","error":{"type":"overloaded_error"}}' })).toBe('cap');
    expect(classify({ data: { error: { code: 'rate_limit_exceeded' } }, responseHeaders: { 'retry-after': '1' } })).toBe('wait');
  });

  it('uses isRetryable when nothing clearer is known', () => {
    expect(classify(apiCall({ isRetryable: false }))).toBe('stop');
    expect(classify(apiCall({ isRetryable: true }))).toBe('retry');
  });

  it('never lets isRetryable override a clear status', () => {
    expect(classify(apiCall({ statusCode: 503, isRetryable: false }))).toBe('wait');
    expect(classify(apiCall({ statusCode: 409, isRetryable: true }))).toBe('stop');
  });

  it('lets a cause with a clear verdict beat an outer isRetryable hint', () => {
    expect(classify(apiCall({ isRetryable: false, cause: coded('ECONNREFUSED') }))).toBe('retry');
  });
});

describe('retryAfterMs through wrappers', () => {
  it('reads APICallError.responseHeaders', () => {
    expect(retryAfterMs(apiCall({ statusCode: 429, responseHeaders: { 'retry-after-ms': '300' } }))).toBe(300);
  });

  it('reads a RetryError by its last attempt', () => {
    const err = retried(apiCall({ statusCode: 429, responseHeaders: { 'retry-after': '9' } }),
      apiCall({ statusCode: 429, responseHeaders: { 'retry-after': '2' } }));
    expect(retryAfterMs(err)).toBe(2000);
  });

  it('reads the cause chain, the outermost advice first', () => {
    const inner = http(429, { headers: { 'retry-after': '5' } });
    expect(retryAfterMs(new Error('wrapped', { cause: inner }))).toBe(5000);
    expect(retryAfterMs(Object.assign(new Error('wrapped', { cause: inner }), { retryAfterMs: 100 }))).toBe(100);
  });

  it('makes a wrapped 429 a wait when any layer carries advice', () => {
    expect(classify(Object.assign(new Error('wrapped', { cause: http(429) }), { retryAfterMs: 100 }))).toBe('wait');
  });
});

describe('attemptsSpent', () => {
  it('counts the attempts a RetryError collected', () => {
    expect(attemptsSpent(retried(http(429), http(429), http(429)))).toBe(3);
  });

  it('finds a RetryError inside a wrapper', () => {
    expect(attemptsSpent(new Error('step failed', { cause: retried(http(500), http(500)) }))).toBe(2);
  });

  it('is 1 for any other failure', () => {
    expect(attemptsSpent(http(500))).toBe(1);
    expect(attemptsSpent(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]))).toBe(1);
    expect(attemptsSpent('oops')).toBe(1);
  });
});
