// The Scheduler's public option, context and statistics types, in one place so the core,
// the stages and the facade agree on them without importing each other.

import type { BreakerOptions } from '../resilience/circuit-breaker.js';
import type { RateOptions } from '../resilience/rate-limiter.js';
import type { RetryOptions } from '../resilience/retry.js';
import type { RetryBudget, RetryBudgetOptions } from '../resilience/retry-budget.js';
import type { AdaptiveConcurrency } from './adaptive.js';
import type { GateStore, GlobalOptions } from './gate.js';

export type OnFull = 'reject' | 'wait' | 'drop-oldest';

/** Retry policy of a Scheduler: RetryOptions, with the budget shared by all its tasks. */
export interface SchedulerRetryOptions extends Omit<RetryOptions, 'signal' | 'budget'> {
  /** Caps retries as a share of recent attempts (a RetryBudget, or its options). */
  budget?: RetryBudget | RetryBudgetOptions;
}

export interface SchedulerOptions {
  /**
   * Slots for running tasks (a task takes `weight` slots): an integer >= 1 or Infinity,
   * settable later; or `{ min, max, initial, adapt: 'aimd' | 'gradient' }` to find the limit
   * from the service's latency and refusals (`stats().limit` shows the current value).
   */
  concurrency: number | AdaptiveConcurrency;
  /** Admitted tasks waiting to start. Default 100_000. */
  maxQueued?: number;
  /** What `run()` does when `maxQueued` tasks already wait. Default 'reject'. */
  onFull?: OnFull;
  /** Running (or ready-to-run) tasks per key; 1 makes each key a serial lane. Default Infinity. */
  perKey?: number;
  /** Default per-attempt timeout in ms for every task. Default none. */
  timeout?: number;
  /** Retries failed attempts; the slot is released while a task waits out its backoff. Default none. */
  retry?: SchedulerRetryOptions | false;
  /** Rate windows every attempt must fit, e.g. requests/min and tokens/min together. */
  rate?: RateOptions | RateOptions[];
  /** A circuit breaker in front of the tasks; one per key when tasks have keys. */
  breaker?: BreakerOptions;
  /** Names the scheduler in diagnostics_channel messages, spans and metrics (ringleader/otel). */
  name?: string;
  /** A store shared with other processes (e.g. RedisStore) that holds the `global` limits. */
  store?: GateStore;
  /** Limits across every process using the same store. Requires `store`. */
  global?: GlobalOptions;
}

export interface RunOptions {
  /** Lane key: at most `perKey` tasks of one key run at once; exposed as `ctx.key`. */
  key?: string;
  /** Higher runs first; FIFO within a priority. Default 0. */
  priority?: number;
  /** Aborting removes a queued task at once, or aborts `ctx.signal` of a running one. */
  signal?: AbortSignal;
  /** Per-attempt timeout in ms, counted from the start of the attempt. */
  timeout?: number;
  /** Slots this task takes. Default 1. */
  weight?: number;
  /** Estimated model tokens, charged to `cost: 'tokens'` rate windows; correct with `ctx.reportTokens`. */
  tokens?: number;
  /** Overrides the scheduler's retry policy for this task (`false`: no retries). */
  retry?: SchedulerRetryOptions | false;
  /** A name for the task, so `setPriority(id, priority)` can move it while it waits. */
  id?: string;
}

export interface TaskContext {
  /** Aborts when the task's signal aborts, its timeout fires, or the scheduler closes without draining. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  readonly key: string | undefined;
  /** Reports the tokens this attempt really used; the difference from the estimate is refunded or charged. */
  reportTokens(actual: number): void;
  /** Fencing token of this attempt's global lease (schedulers with a `store`); a new one after `yield()`. */
  readonly fence: number | undefined;
  /**
   * Gives this task's slot (and its ancestors' slots, and their global leases) back while it
   * waits for `work`, then takes them again before returning: a task that awaits tasks of its
   * own scheduler or a child scheduler this way cannot deadlock it.
   */
  yield<T>(work: PromiseLike<T> | T): Promise<T>;
}

export interface ChildOptions {
  /** The child's own limit; its tasks also count against every ancestor's. Default Infinity. */
  concurrency?: number;
  /** Default: the parent's. */
  maxQueued?: number;
  /** Key the child's tasks carry in the parent, so the parent's `perKey` bounds the whole child. */
  key?: string;
}

export type Task<T> = (ctx: TaskContext) => T | PromiseLike<T>;

export interface MapOptions extends RunOptions {
  /** Resolve with every outcome instead of rejecting on the first failure. */
  settle?: boolean;
}

export type Settled<T> = { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown };

export interface SchedulerStats {
  queued: number;
  running: number;
  /** `run()` calls waiting for room under `onFull: 'wait'` (not yet queued). */
  waiting: number;
  /** Tasks sleeping out a retry backoff (they hold no slot). */
  retrying: number;
  completed: number;
  /** Started tasks that rejected: threw, timed out, or were aborted while running or retrying. */
  failed: number;
  /** Refused at admission: queue full or scheduler closed. */
  rejected: number;
  dropped: number;
  /** Retries scheduled (attempts after the first). */
  retried: number;
  /** Attempts that ran past their timeout. */
  timedOut: number;
  /** Removed from the queue by their signal, `clear()` or `close({ drain: false })` before starting. */
  cancelled: number;
  /**
   * The concurrency configured: the number given, or for adaptive concurrency its
   * `initial` (what setting `s.concurrency` last restarted it from). `limit` is what is in force.
   */
  concurrency: number;
  /** Keys with a lane alive: queued, running or sleeping work, or a pause. A key leaves once it has none. */
  keys: number;
  /** The limit in force now: `concurrency`, or what adaptive concurrency settled on. */
  limit: number;
}
