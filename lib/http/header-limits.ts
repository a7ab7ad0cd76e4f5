// Reads the rate-limit fields a provider sends with every answer into limits a client can
// act on: OpenAI's `x-ratelimit-*`, Anthropic's `anthropic-ratelimit-*` and the IETF
// `RateLimit` / `RateLimit-Policy` fields (every draft shape seen in the wild).

/** Which budget a reading describes; `tokens` is input and output together. */
export type LimitName = 'requests' | 'tokens' | 'input-tokens' | 'output-tokens';

export interface LimitReading {
  name: LimitName;
  /** The window's size when the server said (absent for IETF fields without a policy). */
  limit: number | undefined;
  /** What the server says is left now. */
  remaining: number;
  /** ms from this answer until the budget is whole again. */
  resetMs: number;
  /** The window's length when the server said (IETF `w`). */
  windowMs: number | undefined;
  /** The header field(s) it came from, e.g. `x-ratelimit-remaining-requests`. */
  source: string;
}

export interface HeaderReading {
  limits: LimitReading[];
  /** Fields that were present but could not be read; they are ignored. */
  malformed: string[];
}

type Get = (name: string) => string | null | undefined;

const COUNT = /^\s*\d+(?:\.\d+)?\s*$/;
// OpenAI's Go-style durations: `6m0s`, `1s`, `20ms`, `1h2m3.5s`, `0.5s`.
const GO_DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const OPENAI: ReadonlyArray<[LimitName, string]> = [['requests', 'requests'], ['tokens', 'tokens']];
const ANTHROPIC: readonly LimitName[] = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/** Every limit the headers state; `now` (epoch ms) turns RFC 3339 resets into durations. */
export function readLimitHeaders(get: Get, now: number = Date.now()): HeaderReading {
  const out: HeaderReading = { limits: [], malformed: [] };
  for (const [name, suffix] of OPENAI) {
    readTriple(out, name, get, `x-ratelimit-limit-${suffix}`, `x-ratelimit-remaining-${suffix}`, `x-ratelimit-reset-${suffix}`,
      parseGoDuration);
  }
  for (const name of ANTHROPIC) {
    const base = `anthropic-ratelimit-${name}`;
    readTriple(out, name, get, `${base}-limit`, `${base}-remaining`, `${base}-reset`, (v) => parseInstant(v, now));
  }
  readIetf(out, get);
  return out;
}

/** ms in an OpenAI reset such as `6m0s`, or undefined when it is not one. */
export function parseGoDuration(value: string): number | undefined {
  const m = GO_DURATION.exec(value.trim());
  if (m === null || m[0] === '') return undefined;
  const [, h = '0', min = '0', s = '0', ms = '0'] = m;
  return Number(h) * 3_600_000 + Number(min) * 60_000 + Number(s) * 1000 + Number(ms);
}

function parseInstant(value: string, now: number): number | undefined {
  const text = value.trim();
  if (!RFC3339.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function readTriple(out: HeaderReading, name: LimitName, get: Get, limitField: string, remainingField: string,
  resetField: string, parseReset: (value: string) => number | undefined): void {
  const rawRemaining = get(remainingField);
  const rawReset = get(resetField);
  if (rawRemaining == null && rawReset == null) return;
  const rawLimit = get(limitField);
  const limit = rawLimit == null ? undefined : count(rawLimit);
  const remaining = rawRemaining == null ? undefined : count(rawRemaining);
  const resetMs = rawReset == null ? undefined : parseReset(rawReset);
  if (rawLimit != null && limit === undefined) out.malformed.push(limitField);
  if (remaining === undefined) {
    if (rawRemaining != null) out.malformed.push(remainingField);
    return;
  }
  // A remaining count without its reset says nothing about when it refills: not usable.
  if (resetMs === undefined) {
    out.malformed.push(resetField);
    return;
  }
  out.limits.push({ name, limit, remaining: Math.min(remaining, limit ?? Infinity), resetMs, windowMs: undefined,
    source: remainingField });
}

function count(value: string): number | undefined {
  return COUNT.test(value) ? Math.floor(Number(value)) : undefined;
}

// IETF: draft-ietf-httpapi-ratelimit-headers. From -08 on, `RateLimit: "p";r=50;t=30` with
// `RateLimit-Policy: "p";q=100;w=60`; -07 used `RateLimit: limit=100, remaining=50, reset=30`;
// earlier drafts three fields, `RateLimit-Limit/-Remaining/-Reset` (reset in seconds).
function readIetf(out: HeaderReading, get: Get): void {
  const field = get('ratelimit');
  const policies = policiesOf(get('ratelimit-policy'));
  if (field != null) {
    const items = splitList(field).map(params);
    if (items.length > 0 && items.every((p) => p.has('r'))) {
      readItems(out, items, policies);
      return;
    }
    const dict = params(field.replace(/,/g, ';'));
    if (dict.has('remaining') && dict.has('reset')) {
      pushIetf(out, dict.get('limit'), dict.get('remaining'), dict.get('reset'), undefined, 'ratelimit');
      return;
    }
    out.malformed.push('ratelimit');
    return;
  }
  const remaining = get('ratelimit-remaining');
  if (remaining == null) return;
  const limit = get('ratelimit-limit') ?? undefined;
  pushIetf(out, limit?.split(/[,;]/)[0], remaining, get('ratelimit-reset') ?? undefined, undefined, 'ratelimit-remaining');
}

interface Policy {
  quota: number;
  windowMs: number | undefined;
  requests: boolean;
}

function policiesOf(field: string | null | undefined): Map<string, Policy> {
  const map = new Map<string, Policy>();
  if (field == null) return map;
  for (const item of splitList(field)) {
    const p = params(item);
    const quota = count(p.get('q') ?? p.get('') ?? '');
    if (quota === undefined) continue;
    const w = p.get('w');
    const windowMs = w === undefined || count(w) === undefined ? undefined : count(w)! * 1000;
    // Quota units other than requests (bytes, concurrent requests) are not a request budget.
    const unit = p.get('qu');
    map.set(p.get('#name') ?? '', { quota, windowMs, requests: unit === undefined || unit === 'requests' });
  }
  return map;
}

function readItems(out: HeaderReading, items: Array<Map<string, string>>, policies: Map<string, Policy>): void {
  // Several policies may apply at once (per second and per day): the one with least left binds.
  let best: LimitReading | undefined;
  for (const p of items) {
    const policy = policies.get(p.get('#name') ?? '');
    if (policy !== undefined && !policy.requests) continue;
    const remaining = count(p.get('r') ?? '');
    const reset = count(p.get('t') ?? '0');
    if (remaining === undefined || reset === undefined) {
      out.malformed.push('ratelimit');
      continue;
    }
    const reading: LimitReading = { name: 'requests', limit: policy?.quota, remaining, resetMs: reset * 1000,
      windowMs: policy?.windowMs, source: policy === undefined ? 'ratelimit' : 'ratelimit, ratelimit-policy' };
    if (best === undefined || reading.remaining < best.remaining) best = reading;
  }
  if (best !== undefined) out.limits.push(best);
}

function pushIetf(out: HeaderReading, rawLimit: string | undefined, rawRemaining: string | undefined, rawReset: string | undefined,
  windowMs: number | undefined, source: string): void {
  const remaining = count(rawRemaining ?? '');
  const reset = count(rawReset ?? '');
  if (remaining === undefined || reset === undefined) {
    out.malformed.push(source);
    return;
  }
  const limit = rawLimit === undefined ? undefined : count(rawLimit);
  out.limits.push({ name: 'requests', limit, remaining, resetMs: reset * 1000, windowMs, source });
}

function splitList(field: string): string[] {
  return field.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `"name";a=1;b=2` or `100;w=60` as a map; the item itself is under '#name' or ''. */
function params(item: string): Map<string, string> {
  const map = new Map<string, string>();
  const parts = item.split(';').map((s) => s.trim());
  const head = parts[0] ?? '';
  if (/^".*"$/.test(head)) map.set('#name', head.slice(1, -1));
  else if (head.includes('=')) parts.unshift('');
  else if (head !== '') map.set('', head);
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    map.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return map;
}
