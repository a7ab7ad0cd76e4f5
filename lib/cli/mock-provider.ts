// A local stand-in for an LLM API, for the demo, tests and benchmarks: OpenAI's chat
// completions and Anthropic's messages, with each provider's rate-limit headers, request ids
// and error envelopes. It refuses work the way they do (a concurrency cap, request and token
// windows that answer 429 with Retry-After, a few 500/503s) after a seeded long-tailed latency.

import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkNumber, checkObject, describe } from '../validate.js';

export interface MockProviderOptions {
  /** Port on 127.0.0.1. Default 0: a free port the system picks. */
  port?: number;
  /** Requests answered at once; beyond it a 429 without Retry-After (`type: 'overloaded'`). Integer or Infinity. Default 64. */
  concurrency?: number;
  /** Requests per `windowMs`; beyond it a 429 with Retry-After. Integer or Infinity. Default Infinity. */
  rpm?: number;
  /** Tokens per `windowMs`, charged at admission as prompt tokens + max_tokens, as OpenAI does. Default Infinity. */
  tpm?: number;
  /** Requests per second (a window of 1000 ms whatever `windowMs` says). Integer or Infinity. Default Infinity. */
  rps?: number;
  /** Length of the rpm and tpm windows in ms. Default 60_000; tests shorten it. */
  windowMs?: number;
  /** Median latency of an answer in ms, before `durationScale`. Default 600. */
  latencyMs?: number;
  /** Spread of the lognormal latency (standard deviation of its logarithm). Default 0.5. */
  latencySigma?: number;
  /** Share of answers in the slow tail, in [0, 1]. Default 0.03. */
  tailRate?: number;
  /** How many times slower a tail answer is. Default 10. */
  tailFactor?: number;
  /** Multiplies every simulated duration (latencies and the 503 advice) so a demo can run fast. Default 1. */
  durationScale?: number;
  /** Share of admitted requests that fail, in [0, 1]: half answer 503 at once, half 500 after their latency. Default 0.01. */
  errorRate?: number;
  /** Retry-After a 503 carries, in ms before `durationScale`. Default 1000. */
  unavailableRetryAfterMs?: number;
  /** Completion budget of a request without `max_tokens`. Default 256. */
  defaultMaxTokens?: number;
  /** Seed of the PRNG behind latencies, errors and completion lengths: same seed and request order, same answers. Default 1. */
  seed?: number;
  /** Entries kept in each list of the request log (and seconds of `perSecond`); later ones are only counted. Default 100_000. */
  logLimit?: number;
}

export interface MockProviderStats {
  /** Every HTTP request received, whatever its answer. */
  requests: number;
  ok: number;
  /** Every 429: window refusals and concurrency refusals. */
  rateLimited: number;
  /** The 429s the concurrency cap gave (no Retry-After); a subset of `rateLimited`. */
  overloaded: number;
  /** 500s and 503s. */
  errors: number;
  /** 400s and 413s. */
  badRequests: number;
  notFound: number;
  /** Admitted requests whose client went away before the answer. */
  aborted: number;
  inFlight: number;
  peakInFlight: number;
  /** Sum of `usage.total_tokens` over the 200s. */
  tokens: number;
  /** Admitted requests per second since the server started; index 0 is its first second. */
  perSecond: number[];
}

export interface MockRequestLog {
  /** When each admitted request arrived, in ms since the server started listening. */
  starts: number[];
  /** When each 429 was given, on the same clock. */
  rateLimited: number[];
  /** Events past `logLimit`: counted here, not stored. */
  dropped: number;
}

export interface MockProvider {
  /** `http://127.0.0.1:<port>`; the endpoint is `${url}/v1/chat/completions`. */
  readonly url: string;
  readonly port: number;
  stats(): MockProviderStats;
  /** A copy of the request log. */
  log(): MockRequestLog;
  /** Stops listening, drops answers still pending and closes every socket; resolves once closed. Idempotent. */
  close(): Promise<void>;
}

interface Config {
  port: number;
  concurrency: number;
  rpm: number;
  tpm: number;
  rps: number;
  windowMs: number;
  latencyMs: number;
  latencySigma: number;
  tailRate: number;
  tailFactor: number;
  durationScale: number;
  errorRate: number;
  unavailableRetryAfterMs: number;
  defaultMaxTokens: number;
  seed: number;
  logLimit: number;
}

interface Call {
  model: string;
  promptTokens: number;
  maxTokens: number;
}

/** Whose API a request came in on: its answers and headers take that provider's shape. */
type Flavor = 'openai' | 'anthropic';

const PATH = '/v1/chat/completions';
const MESSAGES_PATH = '/v1/messages';
// Far above any prompt a test or benchmark sends; keeps a runaway client from growing memory.
const MAX_BODY_BYTES = 1 << 20;
// Roughly what English text costs in BPE tokens.
const CHARS_PER_TOKEN = 4;

/** Starts a mock provider on 127.0.0.1. Rejects with TypeError/RangeError on bad options. */
export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const provider = new MockServer(normalize(options));
  await provider.listen();
  return provider;
}

function normalize(options: MockProviderOptions): Config {
  checkObject('options', options);
  const limit = (name: string, value: number | undefined, fallback: number): number =>
    checkNumber(name, value ?? fallback, 1, { integer: true, infinity: true });
  const share = (name: string, value: number | undefined, fallback: number): number => {
    const v = checkNumber(name, value ?? fallback, 0);
    if (v > 1) throw new RangeError(`${name} must be <= 1, got ${v}`);
    return v;
  };
  const port = checkNumber('port', options.port ?? 0, 0, { integer: true });
  if (port > 65_535) throw new RangeError(`port must be <= 65535, got ${port}`);
  const seed = options.seed ?? 1;
  if (typeof seed !== 'number') throw new TypeError(`seed must be a number, got ${describe(seed)}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  return {
    port,
    concurrency: limit('concurrency', options.concurrency, 64),
    rpm: limit('rpm', options.rpm, Infinity),
    tpm: limit('tpm', options.tpm, Infinity),
    rps: limit('rps', options.rps, Infinity),
    windowMs: checkNumber('windowMs', options.windowMs ?? 60_000, 0, { exclusive: true }),
    latencyMs: checkNumber('latencyMs', options.latencyMs ?? 600, 0),
    latencySigma: checkNumber('latencySigma', options.latencySigma ?? 0.5, 0),
    tailRate: share('tailRate', options.tailRate, 0.03),
    tailFactor: checkNumber('tailFactor', options.tailFactor ?? 10, 1),
    durationScale: checkNumber('durationScale', options.durationScale ?? 1, 0),
    errorRate: share('errorRate', options.errorRate, 0.01),
    unavailableRetryAfterMs: checkNumber('unavailableRetryAfterMs', options.unavailableRetryAfterMs ?? 1000, 0),
    defaultMaxTokens: checkNumber('defaultMaxTokens', options.defaultMaxTokens ?? 256, 1, { integer: true }),
    seed: seed >>> 0,
    logLimit: checkNumber('logLimit', options.logLimit ?? 100_000, 0, { integer: true }),
  };
}

/** mulberry32: a 32-bit state PRNG, small and good enough for simulated latencies and seeded tests. */
export function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Units charged within the last `span` ms, kept as a log so a refusal can say exactly
 * when enough of them expire. A real provider's window is no more forgiving than this.
 */
class SlidingWindow {
  private times: number[] = [];
  private costs: number[] = [];
  private head = 0;
  private sum = 0;

  constructor(readonly name: string, readonly limit: number, readonly span: number) {}

  /** ms until `cost` more units fit (0 if they fit now). */
  waitFor(cost: number, now: number): number {
    this.expire(now);
    let over = this.sum + cost - this.limit;
    if (over <= 0) return 0;
    for (let i = this.head; i < this.times.length; i++) {
      over -= this.costs[i]!;
      if (over <= 0) return this.times[i]! + this.span - now;
    }
    return Infinity;
  }

  /** Units in the window now, and ms until the window is empty again. */
  state(now: number): { used: number; emptyInMs: number } {
    this.expire(now);
    const newest = this.times.length > this.head ? this.times[this.times.length - 1]! : undefined;
    return { used: this.sum, emptyInMs: newest === undefined ? 0 : Math.max(0, newest + this.span - now) };
  }

  charge(cost: number, now: number): void {
    if (cost === 0) return;
    this.times.push(now);
    this.costs.push(cost);
    this.sum += cost;
  }

  private expire(now: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= now - this.span) {
      this.sum -= this.costs[this.head]!;
      this.head++;
    }
    // Compact only once the dead prefix dominates, so each entry is copied O(1) times.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.costs = this.costs.slice(this.head);
      this.head = 0;
    }
  }
}

class MockServer implements MockProvider {
  url = '';
  port = 0;
  private readonly server: Server;
  private readonly random: () => number;
  private readonly requestWindows: SlidingWindow[] = [];
  private readonly tokenWindow: SlidingWindow | undefined;
  private readonly pending = new Set<ReturnType<typeof setTimeout>>();
  private readonly counts: Omit<MockProviderStats, 'inFlight' | 'peakInFlight' | 'perSecond'> = {
    requests: 0, ok: 0, rateLimited: 0, overloaded: 0, errors: 0, badRequests: 0, notFound: 0, aborted: 0, tokens: 0,
  };
  private readonly perSecond: number[] = [];
  private readonly starts: number[] = [];
  private readonly refusals: number[] = [];
  private dropped = 0;
  private inFlight = 0;
  private peakInFlight = 0;
  private sequence = 0;
  private requestIds = 0;
  private epoch = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly config: Config) {
    this.random = mulberry32(config.seed);
    if (config.rps !== Infinity) this.requestWindows.push(new SlidingWindow('rps', config.rps, 1000));
    if (config.rpm !== Infinity) this.requestWindows.push(new SlidingWindow('rpm', config.rpm, config.windowMs));
    if (config.tpm !== Infinity) this.tokenWindow = new SlidingWindow('tpm', config.tpm, config.windowMs);
    this.server = createServer((req, res) => this.onRequest(req, res));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.url = `http://127.0.0.1:${this.port}`;
        this.epoch = performance.now();
        resolve();
      });
    });
  }

  stats(): MockProviderStats {
    return { ...this.counts, inFlight: this.inFlight, peakInFlight: this.peakInFlight, perSecond: [...this.perSecond] };
  }

  log(): MockRequestLog {
    return { starts: [...this.starts], rateLimited: [...this.refusals], dropped: this.dropped };
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      // Answers still waiting out their latency are dropped; their sockets close below.
      for (const timer of this.pending) clearTimeout(timer);
      this.pending.clear();
      this.inFlight = 0;
      this.closing = new Promise((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
    }
    return this.closing;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.counts.requests++;
    const path = (req.url ?? '').split('?', 1)[0];
    const flavor: Flavor = path === MESSAGES_PATH ? 'anthropic' : 'openai';
    if (req.method !== 'POST' || (path !== PATH && path !== MESSAGES_PATH)) {
      req.resume();
      this.reply(res, 404, problem('openai', 'not_found_error', `no route for ${req.method ?? '?'} ${path ?? ''}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (this.closing !== undefined) return;
      if (size > MAX_BODY_BYTES) {
        this.reply(res, 413, problem(flavor, 'invalid_request_error', `body is over ${MAX_BODY_BYTES} bytes`));
        return;
      }
      this.onCall(res, Buffer.concat(chunks).toString('utf8'), flavor);
    });
  }

  private onCall(res: ServerResponse, text: string, flavor: Flavor): void {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      this.reply(res, 400, problem(flavor, 'invalid_request_error', 'body is not valid JSON'));
      return;
    }
    const call = parseCall(body, this.config.defaultMaxTokens);
    if (typeof call === 'string') {
      this.reply(res, 400, problem(flavor, 'invalid_request_error', call));
      return;
    }
    const cost = call.promptTokens + call.maxTokens;
    if (cost > this.config.tpm) {
      // No wait would ever let it through, so a retryable 429 would be a lie.
      this.reply(res, 400, problem(flavor, 'invalid_request_error', `request needs ${cost} tokens, above the tpm limit of ${this.config.tpm}`));
      return;
    }
    const now = performance.now();
    if (this.inFlight >= this.config.concurrency) {
      this.counts.overloaded++;
      const message = `more than ${this.config.concurrency} requests in flight`;
      // Anthropic says "overloaded" with its own status; OpenAI with a 429 that gives no advice.
      if (flavor === 'anthropic') this.refuse(res, now, 529, problem(flavor, 'overloaded_error', message), this.limitHeaders(flavor, now));
      else this.refuse(res, now, 429, problem(flavor, 'overloaded', message), this.limitHeaders(flavor, now));
      return;
    }
    if (this.refusedByWindow(res, cost, now, flavor)) return;
    for (const w of this.requestWindows) w.charge(1, now);
    this.tokenWindow?.charge(cost, now);
    this.recordStart(now);
    this.answer(res, call, flavor, this.limitHeaders(flavor, now));
  }

  /**
   * The provider's rate-limit fields as they stand at `now`: OpenAI's x-ratelimit-* (resets
   * as Go durations) or Anthropic's anthropic-ratelimit-* (resets as RFC 3339 instants), and
   * a request id. A reset is when the window will be empty again, as both providers define it.
   */
  private limitHeaders(flavor: Flavor, now: number): OutgoingHttpHeaders {
    const id = `req_${(++this.requestIds).toString(16).padStart(24, '0')}`;
    const headers: OutgoingHttpHeaders = flavor === 'openai' ? { 'x-request-id': id } : { 'request-id': id };
    const requests = this.requestWindows.find((w) => w.name === 'rpm') ?? this.requestWindows[0];
    const windows: Array<[string, SlidingWindow | undefined]> = [['requests', requests], ['tokens', this.tokenWindow]];
    for (const [kind, w] of windows) {
      if (w === undefined) continue;
      const { used, emptyInMs } = w.state(now);
      const remaining = String(Math.max(0, w.limit - used));
      if (flavor === 'openai') {
        headers[`x-ratelimit-limit-${kind}`] = String(w.limit);
        headers[`x-ratelimit-remaining-${kind}`] = remaining;
        headers[`x-ratelimit-reset-${kind}`] = goDuration(emptyInMs);
      } else {
        headers[`anthropic-ratelimit-${kind}-limit`] = String(w.limit);
        headers[`anthropic-ratelimit-${kind}-remaining`] = remaining;
        headers[`anthropic-ratelimit-${kind}-reset`] = new Date(Date.now() + Math.ceil(emptyInMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      }
    }
    return headers;
  }

  /** Answers 429 with the wait until every window has room, if any window is full. */
  private refusedByWindow(res: ServerResponse, cost: number, now: number, flavor: Flavor): boolean {
    let wait = 0;
    const full: string[] = [];
    const check = (w: SlidingWindow, units: number): void => {
      const ms = w.waitFor(units, now);
      if (ms > 0) full.push(`${w.name} (limit ${w.limit} per ${w.span} ms)`);
      wait = Math.max(wait, ms);
    };
    for (const w of this.requestWindows) check(w, 1);
    if (this.tokenWindow !== undefined) check(this.tokenWindow, cost);
    if (wait === 0) return false;
    // Integer ms rounded up: a client that waits exactly this long finds room.
    const ms = Math.ceil(wait);
    const message = `rate limit reached for ${full.join(', ')}; try again in ${ms} ms`;
    const body = problem(flavor, flavor === 'openai' ? (full[0]?.startsWith('tpm') ? 'tokens' : 'requests') : 'rate_limit_error', message,
      'rate_limit_exceeded');
    const advice = flavor === 'openai' ? { 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(ms) } : { 'retry-after': String(Math.ceil(ms / 1000)) };
    this.refuse(res, now, 429, body, { ...this.limitHeaders(flavor, now), ...advice });
    return true;
  }

  /** Draws this request's fate, then answers now (503) or after its latency. */
  private answer(res: ServerResponse, call: Call, flavor: Flavor, limits: OutgoingHttpHeaders): void {
    const c = this.config;
    // A fixed number of draws per admitted request keeps the sequence aligned across runs.
    const fate = this.random();
    const tail = this.random();
    const u1 = this.random();
    const u2 = this.random();
    const share = this.random();
    if (fate < c.errorRate / 2) {
      const ms = Math.ceil(c.unavailableRetryAfterMs * c.durationScale);
      this.reply(res, 503, problem(flavor, flavor === 'openai' ? 'service_unavailable' : 'api_error', 'the service is temporarily unavailable'), {
        ...limits,
        'retry-after': String(Math.ceil(ms / 1000)),
        'retry-after-ms': String(ms),
      });
      return;
    }
    // Box–Muller; 1 - u1 is in (0, 1], so the logarithm is finite.
    const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    const latency = c.latencyMs * Math.exp(c.latencySigma * z) * (tail < c.tailRate ? c.tailFactor : 1) * c.durationScale;
    const completionTokens = 1 + Math.floor(share * call.maxTokens);
    const id = ++this.sequence;
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      this.inFlight--;
      const headers = { ...limits, 'x-mock-latency-ms': latency.toFixed(3) };
      if (fate < c.errorRate) {
        this.reply(res, 500, problem(flavor, flavor === 'openai' ? 'server_error' : 'api_error', 'the server had an error while processing the request'), headers);
      } else {
        this.counts.tokens += call.promptTokens + completionTokens;
        const body = flavor === 'openai' ? completion(id, call, completionTokens) : message(id, call, completionTokens);
        this.reply(res, 200, body, { ...headers, ...(flavor === 'openai' ? { 'openai-processing-ms': String(Math.round(latency)) } : {}) });
      }
    }, latency);
    this.pending.add(timer);
    res.once('close', () => {
      if (!this.pending.delete(timer)) return;
      clearTimeout(timer);
      this.inFlight--;
      this.counts.aborted++;
    });
  }

  private refuse(res: ServerResponse, now: number, status: number, body: object, headers: OutgoingHttpHeaders): void {
    if (this.refusals.length < this.config.logLimit) this.refusals.push(now - this.epoch);
    else this.dropped++;
    this.reply(res, status, body, headers);
  }

  private recordStart(now: number): void {
    const at = now - this.epoch;
    if (this.starts.length < this.config.logLimit) this.starts.push(at);
    else this.dropped++;
    const second = Math.floor(at / 1000);
    if (second >= this.config.logLimit) return;
    while (this.perSecond.length <= second) this.perSecond.push(0);
    this.perSecond[second]!++;
  }

  private reply(res: ServerResponse, status: number, body: object, headers: OutgoingHttpHeaders = {}): void {
    if (status === 200) this.counts.ok++;
    else if (status === 429 || status === 529) this.counts.rateLimited++;
    else if (status >= 500) this.counts.errors++;
    else if (status === 404) this.counts.notFound++;
    else this.counts.badRequests++;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
}

/** The call a body describes, or why it is not a valid one. */
function parseCall(body: unknown, defaultMaxTokens: number): Call | string {
  if (!isRecord(body)) return 'body must be a JSON object';
  const { model, messages, max_tokens: maxTokens, tokens, system } = body;
  if (typeof model !== 'string' || model === '') return 'model must be a non-empty string';
  if (!Array.isArray(messages) || messages.length === 0) return 'messages must be a non-empty array';
  let chars = typeof system === 'string' ? system.length : 0;
  for (const m of messages) {
    const length = isRecord(m) && typeof m.role === 'string' ? contentLength(m.content) : undefined;
    if (length === undefined) return 'each message must be an object with a string role and text content';
    chars += length;
  }
  if (maxTokens !== undefined && !(Number.isSafeInteger(maxTokens) && (maxTokens as number) >= 1)) {
    return 'max_tokens must be a positive integer';
  }
  if (tokens !== undefined && !(Number.isSafeInteger(tokens) && (tokens as number) >= 0)) {
    return 'tokens must be a non-negative integer';
  }
  return {
    model,
    promptTokens: (tokens as number | undefined) ?? Math.ceil(chars / CHARS_PER_TOKEN),
    maxTokens: (maxTokens as number | undefined) ?? defaultMaxTokens,
  };
}

/** A message's text: a string, or (Anthropic) an array of `{ type: 'text', text }` blocks. */
function contentLength(content: unknown): number | undefined {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return undefined;
  let n = 0;
  for (const block of content) {
    if (!isRecord(block) || typeof block.text !== 'string') return undefined;
    n += block.text.length;
  }
  return n;
}

/** OpenAI's resets: `6m0s`, `1s`, `20ms`, always rounded up so waiting that long finds room. */
function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const seconds = Math.ceil(ms / 10) / 100;
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Number((seconds - minutes * 60).toFixed(2))}s`;
}

function message(id: number, call: Call, completionTokens: number): object {
  return {
    id: `msg_mock_${id}`,
    type: 'message',
    role: 'assistant',
    model: call.model,
    content: [{ type: 'text', text: `mock completion ${id}` }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: call.promptTokens, output_tokens: completionTokens },
  };
}

function completion(id: number, call: Call, completionTokens: number): object {
  return {
    id: `chatcmpl-mock-${id}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: call.model,
    choices: [{ index: 0, message: { role: 'assistant', content: `mock completion ${id}` }, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: call.promptTokens,
      completion_tokens: completionTokens,
      total_tokens: call.promptTokens + completionTokens,
    },
  };
}

/** An error body in the provider's envelope: OpenAI `{ error: { message, type, param, code } }`, Anthropic `{ type: 'error', error }`. */
function problem(flavor: Flavor, type: string, message: string, code?: string): object {
  if (flavor === 'anthropic') return { type: 'error', error: { type, message } };
  return { error: { message, type, param: null, code: code ?? null } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
