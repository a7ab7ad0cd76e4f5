// Options and statistics of the scheduled fetch and dispatcher, shared by both so one
// description of what they learned and did serves the fetch, the dispatcher and the demo.

import type { RateOptions } from '../resilience/rate-limiter.js';
import type { AdaptiveConcurrency } from '../scheduler/adaptive.js';
import type { OnFull, SchedulerRetryOptions, SchedulerStats } from '../scheduler/types.js';
import type { LimitName } from './header-limits.js';
import type { LearnedLimit } from './lane-budget.js';

export interface ScheduledFetchOptions {
  /** Requests in flight per origin (a task holds its slot until the response body ends). Default 16. */
  concurrency?: number | AdaptiveConcurrency;
  /** Requests waiting per origin. Default 10_000. */
  maxQueued?: number;
  /** What a request does when `maxQueued` wait already. Default 'reject' (QueueFullError). */
  onFull?: OnFull;
  /** Requests in flight per lane. Default: no bound beyond `concurrency`. */
  perKey?: number;
  /**
   * Lane of a request (e.g. API key or model): each lane learns its own limits and a 429 with
   * Retry-After pauses only its lane. `json` is the parsed request body, when it is JSON.
   */
  key?: (request: Request, json: unknown) => string | undefined;
  /** Priority of a request in its origin's queue (higher first, FIFO within). Default 0. */
  priority?: (request: Request, json: unknown) => number;
  /** Windows per origin that learned limits cannot raise, e.g. your own share of a quota. */
  rate?: RateOptions | RateOptions[];
  /** Retries, made here once (SDK retries do not stack on them). Default `{ retries: 4, minDelay: 500, maxDelay: 30_000 }`. */
  retry?: SchedulerRetryOptions | false;
  /** ms each attempt may wait for the response headers; past it the attempt fails with TimeoutError. Default 600_000. */
  timeout?: number;
  /** Learn limits from response headers. Default true. */
  learn?: boolean;
  /** Overrides the token estimate of a request (input and completion budget together). */
  estimateTokens?: (request: Request, json: unknown) => number;
  /** Completion budget assumed for a JSON request that states none. Default 256. */
  defaultMaxTokens?: number;
  /** Largest request body accepted, in bytes; a larger one is refused with RangeError. Default 32 MiB. */
  maxBodyBytes?: number;
  /**
   * Read stream request bodies into memory (up to `maxBodyBytes`) so they can be retried.
   * Default false: a stream body is sent once and never retried.
   */
  bufferStreams?: boolean;
  /** ms a response body may sit unread before its slot is given back (the body stays readable). Default 60_000. */
  bodyIdleTimeout?: number;
  /** The fetch that sends each attempt. Default: globalThis.fetch. */
  fetch?: (input: URL, init: RequestInit) => Promise<Response>;
}

export interface LaneStats {
  /** Calls made (an SDK's own retry is not one). */
  requests: number;
  /** HTTP attempts sent, retries included. */
  attempts: number;
  /** Calls an SDK marked as its own retry (`x-stainless-retry-count` above 0): run once, never retried here. */
  sdkRetries: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** What the headers taught, per budget, and from which header field. */
  learned: Partial<Record<LimitName, LearnedLimit>>;
  /** Rate-limit header fields that were present but unreadable (first few distinct). */
  malformedHeaders: string[];
  tokens: {
    /** Sum of the estimates charged at admission. */
    estimated: number;
    /** Sum of the usage the responses reported (JSON bodies and SSE streams). */
    reported: number;
    /** Responses whose usage could be read. */
    reconciled: number;
  };
}

export interface OriginStats {
  scheduler: SchedulerStats;
  /** The `rate` windows in force: the ceiling learned limits cannot raise. */
  ceiling: RateOptions[];
  /** Per lane; '' is the lane of requests without a key. */
  lanes: Record<string, LaneStats>;
}

export interface ScheduledFetchStats {
  origins: Record<string, OriginStats>;
}

/** Both the fetch and the dispatcher can report what they did and be closed. */
export interface ScheduledHttpControl {
  stats(): ScheduledFetchStats;
  /**
   * Refuses new requests (ClosedError) and resolves once every admitted one finished. With
   * `drain: false` queued requests reject with ClosedError and running ones are aborted (their sockets closed).
   */
  close(options?: { drain?: boolean }): Promise<void>;
}
