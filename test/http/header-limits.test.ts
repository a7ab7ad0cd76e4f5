// readLimitHeaders on the header shapes providers really send: OpenAI's Go-style resets,
// Anthropic's RFC 3339 instants, each IETF RateLimit draft, and fields that are broken.
import { describe, expect, it } from 'vitest';
import { parseGoDuration, readLimitHeaders } from '../../lib/http/header-limits.js';

const from = (fields: Record<string, string>) => (name: string): string | undefined => fields[name];
const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('OpenAI x-ratelimit-*', () => {
  it.each([['6m0s', 360_000], ['1s', 1000], ['20ms', 20], ['1h2m3.5s', 3_723_500], ['0.5s', 500], ['17ms', 17]])(
    'reads the reset %s as %i ms', (text, ms) => {
      expect(parseGoDuration(text)).toBe(ms);
    });

  it.each(['', 'soon', '5', '-1s', '1x'])('refuses the reset %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

  it('reads requests and tokens with their limits and the field they came from', () => {
    const reading = readLimitHeaders(from({
      'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '150000', 'x-ratelimit-remaining-tokens': '149984', 'x-ratelimit-reset-tokens': '6m0s',
    }), NOW);
    expect(reading.malformed).toEqual([]);
    expect(reading.limits).toEqual([
      { name: 'requests', limit: 60, remaining: 59, resetMs: 1000, windowMs: undefined, source: 'x-ratelimit-remaining-requests' },
      { name: 'tokens', limit: 150_000, remaining: 149_984, resetMs: 360_000, windowMs: undefined, source: 'x-ratelimit-remaining-tokens' },
    ]);
  });
});

describe('Anthropic anthropic-ratelimit-*', () => {
  it('reads every budget with its RFC 3339 reset as ms from now', () => {
    const fields: Record<string, string> = {};
    for (const name of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
      fields[`anthropic-ratelimit-${name}-limit`] = '1000';
      fields[`anthropic-ratelimit-${name}-remaining`] = '900';
      fields[`anthropic-ratelimit-${name}-reset`] = '2026-01-01T00:00:30Z';
    }
    const reading = readLimitHeaders(from(fields), NOW);
    expect(reading.limits.map((l) => [l.name, l.remaining, l.resetMs])).toEqual([
      ['requests', 900, 30_000], ['tokens', 900, 30_000], ['input-tokens', 900, 30_000], ['output-tokens', 900, 30_000],
    ]);
  });

  it('counts a reset already past as 0 ms', () => {
    const reading = readLimitHeaders(from({
      'anthropic-ratelimit-requests-remaining': '5', 'anthropic-ratelimit-requests-reset': '2025-12-31T23:59:00+00:00',
    }), NOW);
    expect(reading.limits[0]).toMatchObject({ remaining: 5, resetMs: 0, limit: undefined });
  });
});

describe('IETF RateLimit fields', () => {
  it('reads draft -08 structured fields with their policy, the policy with least left binding', () => {
    const reading = readLimitHeaders(from({
      'ratelimit-policy': '"burst";q=100;w=60, "daily";q=1000;w=86400',
      'ratelimit': '"burst";r=40;t=30, "daily";r=12;t=3600',
    }), NOW);
    expect(reading.limits).toEqual([
      { name: 'requests', limit: 1000, remaining: 12, resetMs: 3_600_000, windowMs: 86_400_000, source: 'ratelimit, ratelimit-policy' },
    ]);
  });

  it('reads the draft -07 dictionary', () => {
    const reading = readLimitHeaders(from({ 'ratelimit': 'limit=100, remaining=50, reset=30' }), NOW);
    expect(reading.limits).toEqual([{ name: 'requests', limit: 100, remaining: 50, resetMs: 30_000, windowMs: undefined, source: 'ratelimit' }]);
  });

  it('reads the three fields of earlier drafts', () => {
    const reading = readLimitHeaders(from({ 'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'ratelimit-reset': '7' }), NOW);
    expect(reading.limits).toEqual([{ name: 'requests', limit: 10, remaining: 0, resetMs: 7000, windowMs: undefined, source: 'ratelimit-remaining' }]);
  });

  it('ignores a policy whose quota is not counted in requests', () => {
    const reading = readLimitHeaders(from({ 'ratelimit-policy': '"bytes";q=1000;qu="content-bytes"', 'ratelimit': '"bytes";r=1;t=1' }), NOW);
    expect(reading.limits).toEqual([]);
  });
});

describe('malformed fields', () => {
  it('lists broken fields and learns nothing from them', () => {
    const reading = readLimitHeaders(from({
      'x-ratelimit-limit-requests': 'lots', 'x-ratelimit-remaining-requests': 'NaN', 'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-remaining-tokens': '10', 'x-ratelimit-reset-tokens': 'tomorrow',
      'anthropic-ratelimit-requests-remaining': '3', 'anthropic-ratelimit-requests-reset': 'Mon, 01 Jan 2026 00:00:00 GMT',
      'ratelimit': 'garbage',
    }), NOW);
    expect(reading.limits).toEqual([]);
    expect(reading.malformed).toEqual([
      'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-tokens', 'anthropic-ratelimit-requests-reset', 'ratelimit',
    ]);
  });

  it('never reports more remaining than the limit', () => {
    const reading = readLimitHeaders(from({ 'x-ratelimit-limit-requests': '5', 'x-ratelimit-remaining-requests': '9', 'x-ratelimit-reset-requests': '1s' }), NOW);
    expect(reading.limits[0]!.remaining).toBe(5);
  });
});
