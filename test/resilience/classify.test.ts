import { describe, expect, it } from 'vitest';
import { CircuitOpenError, ClosedError, DroppedError, QueueFullError, TimeoutError } from '../../lib/errors.js';
import { classify, type FailureClass } from '../../lib/resilience/classify.js';

const http = (status: number, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`HTTP ${status}`), { status, ...extra });
const coded = (code: string): Error => Object.assign(new Error(code), { code });

const table: Array<[string, FailureClass, unknown]> = [
  ['429 with Retry-After', 'wait', http(429, { headers: { 'retry-after': '2' } })],
  ['429 with retryAfterMs', 'wait', http(429, { retryAfterMs: 100 })],
  ['429 without Retry-After', 'cap', http(429)],
  ['503 without Retry-After', 'wait', http(503)],
  ['529 overloaded', 'cap', http(529)],
  ['429 insufficient_quota (OpenAI err.code)', 'stop', http(429, { code: 'insufficient_quota' })],
  ['insufficient_quota in err.error.code', 'stop', http(429, { error: { code: 'insufficient_quota' } })],
  ['insufficient_quota in err.error.type', 'stop', http(429, { error: { type: 'insufficient_quota' } })],
  ['insufficient_quota in err.type', 'stop', http(429, { type: 'insufficient_quota' })],
  ['400', 'stop', http(400)],
  ['401', 'stop', http(401)],
  ['403', 'stop', http(403)],
  ['404', 'stop', http(404)],
  ['409', 'stop', http(409)],
  ['422', 'stop', http(422)],
  ['408', 'retry', http(408)],
  ['500', 'retry', http(500)],
  ['502', 'retry', http(502)],
  ['504', 'retry', http(504)],
  ['statusCode field', 'stop', Object.assign(new Error('x'), { statusCode: 404 })],
  ['Axios response.status', 'retry', Object.assign(new Error('x'), { response: { status: 502, headers: {} } })],
  ['ECONNRESET', 'retry', coded('ECONNRESET')],
  ['ECONNREFUSED', 'retry', coded('ECONNREFUSED')],
  ['ETIMEDOUT', 'retry', coded('ETIMEDOUT')],
  ['EPIPE', 'retry', coded('EPIPE')],
  ['EAI_AGAIN', 'retry', coded('EAI_AGAIN')],
  ['UND_ERR_SOCKET', 'retry', coded('UND_ERR_SOCKET')],
  ['fetch failed with a network cause', 'retry', new TypeError('fetch failed', { cause: coded('UND_ERR_CONNECT_TIMEOUT') })],
  ['fetch failed with an AggregateError cause', 'retry',
    new TypeError('fetch failed', { cause: new AggregateError([coded('ECONNREFUSED')], 'connect') })],
  ['a TypeError that is not a network failure', 'stop', new TypeError('x is not a function')],
  ['AbortError DOMException', 'abort', new DOMException('aborted', 'AbortError')],
  ['Error named AbortError', 'abort', Object.assign(new Error('aborted'), { name: 'AbortError' })],
  ['AbortSignal.timeout TimeoutError', 'abort', new DOMException('timed out', 'TimeoutError')],
  ['SDK APIUserAbortError', 'abort', Object.assign(new Error('Request was aborted.'), { name: 'APIUserAbortError' })],
  ['ringleader ClosedError', 'abort', new ClosedError()],
  ['ringleader TimeoutError (attempt timeout)', 'retry', new TimeoutError()],
  ['ringleader CircuitOpenError', 'wait', new CircuitOpenError()],
  ['ringleader QueueFullError', 'cap', new QueueFullError()],
  ['ringleader DroppedError', 'stop', new DroppedError()],
  ['410 Gone (other 4xx)', 'stop', http(410)],
  ['425 Too Early', 'retry', http(425)],
  ['fetch failed with no recognised cause', 'retry', new TypeError('fetch failed', { cause: new Error('other') })],
  ['fetch given a bad URL', 'stop', new TypeError('Failed to parse URL from nope')],
  ['a plain Error', 'retry', new Error('mystery')],
  ['a thrown string', 'retry', 'oops'],
];

describe('classify', () => {
  it.each(table)('%s → %s', (_name, expected, err) => {
    expect(classify(err)).toBe(expected);
  });

  it('lets abort win over a status', () => {
    expect(classify(Object.assign(new DOMException('aborted', 'AbortError'), { status: 500 }))).toBe('abort');
  });
});
