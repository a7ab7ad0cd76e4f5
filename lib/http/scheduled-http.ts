// The engine behind scheduledFetch and scheduledDispatcher: one Scheduler per origin, a lane
// per key that learns its provider's limits from response headers, token estimates charged at
// admission and corrected from the reported usage, and retries made here, once.

import { ClosedError, QueueFullError, TimeoutError } from '../errors.js';
import type { RateOptions } from '../resilience/rate-limiter.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { TaskContext } from '../scheduler/types.js';
import { abortReason, checkDuration, checkFunction, checkInteger, checkObject, describe } from '../validate.js';
import { clearTimer, setTimer } from '../timer.js';
import { tapBody } from './body-tap.js';
import { readLimitHeaders } from './header-limits.js';
import { LaneBudget, type Cost } from './lane-budget.js';
import { ProviderHttpError, readErrorBody, rebuildResponse } from './provider-error.js';
import { prepareBody } from './request-body.js';
import { estimateFromJson } from './token-estimate.js';
import type { LaneStats, ScheduledFetchOptions, ScheduledFetchStats } from './types.js';
import { usageReader } from './usage-tap.js';

/** One call as both front ends see it. */
export interface HttpCall {
  url: URL;
  method: string;
  headers: Headers;
  body: unknown;
  signal: AbortSignal | undefined;
  /** The transport hands bodies over still content-encoded (an undici dispatcher does). */
  encoded?: boolean;
}

/** Sends one attempt; `init.signal` must abort the socket. */
export type Transport = (url: URL, init: { method: string; headers: Headers; body: RequestInit['body']; signal: AbortSignal }) =>
  Promise<Response>;

const DEFAULT_RETRY = { retries: 4, minDelay: 500, maxDelay: 30_000 };
// Lanes (origins × keys) kept: past it idle lanes are forgotten (their learned limits with
// them), and if none is idle the call is refused rather than memory growing without bound.
const MAX_LANES = 10_000;
const MAX_MALFORMED = 8;

interface Lane {
  /** Calls of this lane not yet settled: a lane with none can be forgotten. */
  active: number;
  budget: LaneBudget;
  stats: Omit<LaneStats, 'learned'>;
}

interface Origin {
  scheduler: Scheduler;
  lanes: Map<string, Lane>;
}

interface Config {
  concurrency: NonNullable<ScheduledFetchOptions['concurrency']>;
  maxQueued: number;
  onFull: NonNullable<ScheduledFetchOptions['onFull']>;
  perKey: number;
  key: ScheduledFetchOptions['key'];
  priority: ScheduledFetchOptions['priority'];
  rate: RateOptions[];
  retry: ScheduledFetchOptions['retry'];
  timeout: number;
  learn: boolean;
  estimateTokens: ScheduledFetchOptions['estimateTokens'];
  defaultMaxTokens: number;
  maxBodyBytes: number;
  bufferStreams: boolean;
  bodyIdleTimeout: number;
}

export class ScheduledHttp {
  private readonly config: Config;
  private readonly origins = new Map<string, Origin>();
  private lanes = 0;
  private closed = false;

  constructor(options: ScheduledFetchOptions = {}) {
    checkObject('options', options);
    const rate = options.rate === undefined ? [] : Array.isArray(options.rate) ? [...options.rate] : [options.rate];
    if (options.retry !== undefined && options.retry !== false && (typeof options.retry !== 'object' || options.retry === null)) {
      throw new TypeError(`retry must be an options object or false, got ${describe(options.retry)}`);
    }
    if (options.learn !== undefined && typeof options.learn !== 'boolean') throw new TypeError(`learn must be a boolean, got ${describe(options.learn)}`);
    if (options.bufferStreams !== undefined && typeof options.bufferStreams !== 'boolean') {
      throw new TypeError(`bufferStreams must be a boolean, got ${describe(options.bufferStreams)}`);
    }
    this.config = {
      concurrency: options.concurrency ?? 16,
      maxQueued: checkInteger('maxQueued', options.maxQueued ?? 10_000, 0),
      onFull: options.onFull ?? 'reject',
      perKey: checkInteger('perKey', options.perKey ?? Infinity, 1, true),
      key: checkFunction('key', options.key),
      priority: checkFunction('priority', options.priority),
      rate,
      retry: options.retry === undefined ? DEFAULT_RETRY : options.retry,
      timeout: checkDuration('timeout', options.timeout ?? 600_000, true),
      learn: options.learn ?? true,
      estimateTokens: checkFunction('estimateTokens', options.estimateTokens),
      defaultMaxTokens: checkInteger('defaultMaxTokens', options.defaultMaxTokens ?? 256, 0),
      maxBodyBytes: checkInteger('maxBodyBytes', options.maxBodyBytes ?? 32 << 20, 0, true),
      bufferStreams: options.bufferStreams ?? false,
      bodyIdleTimeout: checkDuration('bodyIdleTimeout', options.bodyIdleTimeout ?? 60_000, true),
    };
    // Every Scheduler option is checked now, not at the first request.
    this.newScheduler('').close().catch(() => {});
  }

  /** Runs one call through its origin's scheduler; resolves with the response the caller reads. */
  async request(call: HttpCall, transport: Transport): Promise<Response> {
    if (call.url.protocol !== 'http:' && call.url.protocol !== 'https:') {
      throw new TypeError(`only http: and https: URLs are scheduled, got ${call.url.protocol}`);
    }
    if (this.closed) throw new ClosedError('scheduled fetch is closed');
    const signal = call.signal;
    if (signal?.aborted) throw abortReason(signal);
    const body = await prepareBody(call.body, this.config.maxBodyBytes, this.config.bufferStreams);
    // Reading a stream body takes time: close() may have run meanwhile.
    if (this.closed) throw new ClosedError('scheduled fetch is closed');
    const c = this.config;
    const view = c.key !== undefined || c.estimateTokens !== undefined || c.priority !== undefined
      ? new Request(call.url, { method: call.method, headers: call.headers })
      : undefined;
    const key = c.key?.(view!, body.json);
    if (key !== undefined && typeof key !== 'string') throw new TypeError(`key() must return a string or undefined, got ${describe(key)}`);
    const cost = this.estimate(view, body.json);
    const priority = c.priority?.(view!, body.json) ?? 0;
    const origin = this.origin(call.url.origin);
    const lane = this.lane(origin, key ?? '');
    // The OpenAI and Anthropic SDKs mark their own retries: run once, counted as the same call.
    const sdkRetry = Number(call.headers.get('x-stainless-retry-count') ?? '0') > 0;
    if (sdkRetry) lane.stats.sdkRetries++;
    else lane.stats.requests++;
    lane.stats.tokens.estimated += cost.input + cost.output;

    let delivered = false;
    let deliver!: (response: Response) => void;
    const handed = new Promise<Response>((resolve) => {
      deliver = (response) => {
        delivered = true;
        resolve(response);
      };
    });
    const attempt = (ctx: TaskContext): Promise<Response | undefined> =>
      this.attempt(ctx, origin.scheduler, call, body.value, cost, lane, transport, deliver);
    const run = origin.scheduler.run(attempt, {
      key, signal, priority, tokens: cost.input + cost.output,
      ...(sdkRetry || !body.replayable ? { retry: false as const } : {}),
    });
    lane.active++;
    const idle = (): void => {
      lane.active--;
    };
    run.then(idle, idle);
    const settled = run.then(
      (response) => response,
      (err: unknown) => {
        if (err instanceof ProviderHttpError) return err.toResponse();
        throw err;
      },
    );
    // Whichever comes first: the response handed over while its body streams, or the task's end.
    return Promise.race([handed, settled.then((response) => {
      if (response === undefined && !delivered) throw new Error('scheduled attempt ended without a response');
      return response ?? handed;
    })]);
  }

  stats(): ScheduledFetchStats {
    const origins: ScheduledFetchStats['origins'] = {};
    for (const [name, o] of this.origins) {
      const lanes: Record<string, LaneStats> = {};
      for (const [key, lane] of o.lanes) {
        lanes[key] = {
          ...lane.stats, statuses: { ...lane.stats.statuses }, tokens: { ...lane.stats.tokens },
          malformedHeaders: [...lane.stats.malformedHeaders], learned: lane.budget.describe(),
        };
      }
      origins[name] = { scheduler: o.scheduler.stats(), ceiling: this.config.rate.map((r) => ({ ...r })), lanes };
    }
    return { origins };
  }

  async close(options?: { drain?: boolean }): Promise<void> {
    checkObject('options', options);
    this.closed = true;
    await Promise.all([...this.origins.values()].map((o) => o.scheduler.close(options)));
  }

  private async attempt(ctx: TaskContext, scheduler: Scheduler, call: HttpCall, body: RequestInit['body'], cost: Cost, lane: Lane,
    transport: Transport, deliver: (response: Response) => void): Promise<Response | undefined> {
    let ticket = lane.budget.tryTake(cost);
    if (ticket === undefined) {
      // The lane's budget is spent: hold its queued calls back, and give this attempt's slot to
      // other lanes while it waits (an answer still in flight may make room sooner). Refused
      // only because others wait first, it has no wait of its own to pause for.
      const wait = lane.budget.waitFor(cost);
      if (wait > 0) scheduler.pauseFor(wait, ctx.key);
      ticket = await ctx.yield(lane.budget.take(cost, ctx.signal));
    }
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(ctx.signal.reason);
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timeout = new TimeoutError(`no response headers within ${this.config.timeout} ms`);
    let timer = setTimer(() => controller.abort(timeout), this.config.timeout);
    const unlink = (): void => {
      clearTimer(timer);
      timer = undefined;
      ctx.signal.removeEventListener('abort', onAbort);
    };
    lane.stats.attempts++;
    try {
      let response: Response;
      try {
        response = await transport(call.url, { method: call.method, headers: call.headers, body, signal: controller.signal });
      } catch (err) {
        if (controller.signal.reason === timeout) throw timeout;
        throw err;
      }
      lane.stats.statuses[response.status] = (lane.stats.statuses[response.status] ?? 0) + 1;
      if (this.config.learn) this.learn(lane, response.headers, ticket);
      if (isRetryable(response.status)) {
        const text = await readErrorBody(response);
        if (controller.signal.aborted) throw controller.signal.reason === timeout ? timeout : controller.signal.reason;
        // A refused request was charged nothing by the provider.
        ctx.reportTokens(0);
        throw new ProviderHttpError(response, text);
      }
      clearTimer(timer);
      timer = undefined;
      const encoding = call.encoded === true ? response.headers.get('content-encoding') : null;
      const reader = response.ok ? usageReader(response.headers.get('content-type'), encoding) : undefined;
      if (response.body === null) {
        deliver(rebuildResponse(response, null));
        return undefined;
      }
      const tap = tapBody(response.body, (chunk) => reader?.push(chunk), this.config.bodyIdleTimeout);
      deliver(rebuildResponse(response, tap.stream));
      const end = await tap.done;
      // SDKs may cancel a stream once they saw its last event: the usage read so far still counts.
      const usage = end === 'idle' ? undefined : reader?.end();
      if (usage !== undefined) {
        ctx.reportTokens(usage.total);
        lane.stats.tokens.reported += usage.total;
        lane.stats.tokens.reconciled++;
      }
      return undefined;
    } finally {
      unlink();
    }
  }

  private learn(lane: Lane, headers: Headers, ticket: Parameters<LaneBudget['learn']>[1]): void {
    const reading = readLimitHeaders((name) => headers.get(name));
    lane.budget.learn(reading.limits, ticket);
    for (const field of reading.malformed) {
      const list = lane.stats.malformedHeaders;
      if (list.length < MAX_MALFORMED && !list.includes(field)) list.push(field);
    }
  }

  private estimate(view: Request | undefined, json: unknown): Cost {
    if (this.config.estimateTokens !== undefined) {
      const n = this.config.estimateTokens(view!, json);
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
        throw new RangeError(`estimateTokens() must return a finite number >= 0, got ${describe(n)}`);
      }
      return { input: n, output: 0 };
    }
    return json === undefined ? { input: 0, output: 0 } : estimateFromJson(json, this.config.defaultMaxTokens);
  }

  private origin(name: string): Origin {
    let origin = this.origins.get(name);
    if (origin === undefined) {
      origin = { scheduler: this.newScheduler(name), lanes: new Map() };
      this.origins.set(name, origin);
    }
    return origin;
  }

  private lane(origin: Origin, key: string): Lane {
    let lane = origin.lanes.get(key);
    if (lane === undefined) {
      if (this.lanes >= MAX_LANES) this.forgetIdleLanes();
      if (this.lanes >= MAX_LANES) throw new QueueFullError(`more than ${MAX_LANES} lanes (origins × keys) busy at once`);
      this.lanes++;
      lane = {
        active: 0,
        budget: new LaneBudget(),
        stats: { requests: 0, attempts: 0, sdkRetries: 0, statuses: {}, malformedHeaders: [], tokens: { estimated: 0, reported: 0, reconciled: 0 } },
      };
      origin.lanes.set(key, lane);
    }
    return lane;
  }

  private forgetIdleLanes(): void {
    for (const origin of this.origins.values()) {
      for (const [key, lane] of origin.lanes) {
        if (lane.active > 0) continue;
        origin.lanes.delete(key);
        this.lanes--;
      }
    }
  }

  /** Named `fetch <origin>`, so diagnostics channels and ringleader/otel tell its calls apart. */
  private newScheduler(origin: string): Scheduler {
    const c = this.config;
    return new Scheduler({
      name: `fetch ${origin}`, concurrency: c.concurrency, maxQueued: c.maxQueued, onFull: c.onFull, perKey: c.perKey,
      ...(c.rate.length > 0 ? { rate: c.rate } : {}), retry: c.retry,
    });
  }
}

/** Statuses worth another attempt: the body is read so the failure can be classified. */
function isRetryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
