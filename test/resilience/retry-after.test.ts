import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../lib/resilience/retry-after.js';

const NOW = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

describe('retryAfterMs', () => {
  it('reads an explicit retryAfterMs property', () => {
    expect(retryAfterMs({ retryAfterMs: 1234 })).toBe(1234);
  });

  it('reads delta seconds from fetch Response headers on err.response', () => {
    const response = new Response(null, { status: 429, headers: { 'Retry-After': '3' } });
    expect(retryAfterMs({ response })).toBe(3000);
  });

  it('reads fractional seconds', () => {
    expect(retryAfterMs({ headers: { 'retry-after': '1.5' } })).toBe(1500);
  });

  it('reads a plain header object in any casing', () => {
    expect(retryAfterMs({ headers: { 'ReTrY-AfTeR': '2' } })).toBe(2000);
  });

  it('reads an Axios-like error (err.response.headers, lower-case plain object)', () => {
    const err = Object.assign(new Error('Request failed with status code 429'), {
      isAxiosError: true,
      response: { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '7' } },
    });
    expect(retryAfterMs(err)).toBe(7000);
  });

  it('reads headers exposing a case-insensitive get(), like AxiosHeaders', () => {
    class CaseInsensitive {
      private readonly map = new Map([['retry-after', '4']]);
      get(name: string): string | undefined { return this.map.get(name.toLowerCase()); }
    }
    expect(retryAfterMs({ response: { headers: new CaseInsensitive() } })).toBe(4000);
  });

  it('reads an OpenAI/Anthropic SDK-like error with Headers on err.headers', () => {
    const err = Object.assign(new Error('429 Rate limit'), { status: 429, headers: new Headers({ 'retry-after': '9' }) });
    expect(retryAfterMs(err)).toBe(9000);
  });

  it('reads an SDK-like error with a plain header record on err.headers', () => {
    expect(retryAfterMs({ status: 429, headers: { 'x-request-id': 'abc', 'retry-after': '11' } })).toBe(11_000);
  });

  it('prefers retry-after-ms over retry-after', () => {
    expect(retryAfterMs({ headers: new Headers({ 'retry-after-ms': '250.5', 'retry-after': '1' }) })).toBe(250.5);
  });

  it('falls back to retry-after when retry-after-ms is garbage', () => {
    expect(retryAfterMs({ headers: { 'retry-after-ms': 'soon', 'retry-after': '2' } })).toBe(2000);
  });

  it('turns an HTTP date into ms from now', () => {
    expect(retryAfterMs({ headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:05 GMT' } }, NOW)).toBe(5000);
  });

  it('returns 0 for an HTTP date in the past', () => {
    expect(retryAfterMs({ headers: { 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' } }, NOW)).toBe(0);
  });

  it('reads the first value of an array header', () => {
    expect(retryAfterMs({ headers: { 'retry-after': ['6', '8'] } })).toBe(6000);
  });

  it('reads a numeric header value', () => {
    expect(retryAfterMs({ headers: { 'retry-after': 2 } })).toBe(2000);
  });

  it.each([
    ['negative seconds', { headers: { 'retry-after': '-5' } }],
    ['words', { headers: { 'retry-after': 'later' } }],
    ['empty string', { headers: { 'retry-after': '' } }],
    ['exponent notation', { headers: { 'retry-after': '1e3' } }],
    ['a bare number Date.parse would accept', { headers: { 'retry-after': '2015 10' } }],
    ['negative retryAfterMs', { retryAfterMs: -1 }],
    ['NaN retryAfterMs', { retryAfterMs: Number.NaN }],
    ['string retryAfterMs', { retryAfterMs: '100' }],
    ['no headers at all', { status: 429 }],
  ])('ignores %s', (_name, err) => {
    expect(retryAfterMs(err)).toBeUndefined();
  });

  it('returns undefined for non-objects', () => {
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('429')).toBeUndefined();
  });

  it('survives a headers.get that throws', () => {
    const headers = { get(): never { throw new Error('boom'); }, 'Retry-After': '1' };
    expect(retryAfterMs({ headers })).toBe(1000);
  });
});
