// Admission control for async tasks: a bounded queue in front of a concurrency limit,
// with priorities, per-key lanes, weights, cancellation, timeouts, retries, rate windows
// and circuit breakers. Tasks that use none of those take a fast path: one plain node in
// one linked FIFO, no timers, no listeners.

import { EventEmitter } from 'node:events';
import { ClosedError, DroppedError, QueueFullError, TimeoutError } from '../errors.js';
import { CircuitBreaker, type BreakerOptions } from '../resilience/circuit-breaker.js';
import { classify } from '../resilience/classify.js';
import { RateLimiter, type RateCharge, type RateOptions } from '../resilience/rate-limiter.js';
import { backoffDelay, normalizeRetryOptions, type NormalizedRetryOptions, type RetryOptions } from '../resilience/retry.js';
import { retryAfterMs } from '../resilience/retry-after.js';
import { RetryBudget, type RetryBudgetOptions } from '../resilience/retry-budget.js';
import { AdaptiveLimit, type AdaptiveConcurrency, type Outcome } from './adaptive.js';
import { captureContext, type Runner } from './context.js';
import type { Gate, GateStore, GateTicket, GlobalOptions } from './gate.js';
import { List } from './list.js';
import { mapItems } from './map.js';
import { abortReason, checkDuration, checkInteger, checkObject, checkSignal, describe } from '../validate.js';

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
  concurrency: number;
  /** The limit in force now: `concurrency`, or what adaptive concurrency settled on. */
  limit: number;
}

const enum Where { None, Ready, Parked, Waiting, Sleeping }

// Only tasks that use a feature carry one of these; the fast path leaves `x` undefined.
interface Ext {
  key: string | undefined;
  priority: number;
  weight: number;
  taken: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timeout: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  runner: Runner | undefined;
  where: Where;
  ctx: Context | undefined;
  settled: boolean;
  tokens: number;
  retry: NormalizedRetryOptions | undefined;
  attempt: number;
  attemptTimedOut: boolean;
}

interface Node {
  next: Node | undefined;
  prev: Node | undefined;
  fn: Task<unknown>;
  // Only `resolve` is kept: a failure resolves with a rejected promise, which saves a
  // closure per queued task.
  resolve: (value: unknown) => void;
  x: Ext | undefined;
}

class Level extends List<Node> {
  constructor(readonly priority: number) {
    super();
  }
}

interface Lane {
  /** Tasks of this key that are ready to run or running. */
  active: number;
  parked: List<Node>;
  sleeping: number;
  pausedUntil: number;
  pauseTimer: ReturnType<typeof setTimeout> | undefined;
  // Ready tasks moved back behind a pause keep their order ahead of the parked ones.
  lastReparked: Node | undefined;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
}

interface Resumer {
  next: Resumer | undefined;
  prev: Resumer | undefined;
  ctx: Context;
  resolve: () => void;
}

let captured: (value: unknown) => void;
function capture(resolve: (value: unknown) => void): void {
  captured = resolve;
}

class Context implements TaskContext {
  controller: AbortController | undefined = undefined;
  reason: unknown = undefined;
  aborted = false;
  done = false;
  ticket: GateTicket | undefined = undefined;
  ticketLeft = false;
  /** The lease taken again after a yield; the first ticket still answers reportTokens. */
  relet: GateTicket | undefined = undefined;
  atGate = false;
  slotHeld = true;
  startedAt = 0;
  /** The attempt's context in the parent scheduler, for tasks of a child scheduler. */
  parent: Context | undefined = undefined;

  constructor(private readonly owner: Scheduler, readonly attempt: number, readonly key: string | undefined,
    private readonly charge: RateCharge | undefined, readonly taken: number) {}

  async yield<T>(work: PromiseLike<T> | T): Promise<T> {
    const chain: Context[] = [];
    for (let c: Context | undefined = this; c !== undefined; c = c.parent) if (c.slotHeld && !c.done) chain.push(c);
    // Global leases too: a parent holding the fleet's last lease would starve its own children.
    const leased: Context[] = [];
    for (let c: Context | undefined = this; c !== undefined; c = c.parent) if (c.holdsLease() && !c.done) leased.push(c);
    for (const c of chain) c.owner._releaseSlot(c);
    for (const c of leased) c.leaveGate();
    try {
      return await work;
    } finally {
      // Child first, then ancestors: the order in which the task took them at its start.
      for (const c of chain) await c.owner._reclaimSlot(c);
      for (const c of leased) await c.owner._reenterGate(c);
    }
  }

  holdsLease(): boolean {
    return this.relet !== undefined || (this.ticket !== undefined && !this.ticketLeft);
  }

  leaveGate(): void {
    if (this.ticket !== undefined && !this.ticketLeft) {
      this.ticketLeft = true;
      this.ticket.leave();
    }
    this.relet?.leave();
    this.relet = undefined;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      const killed = this.owner._killReason();
      if (this.aborted) this.controller.abort(this.reason);
      else if (!this.done && killed !== undefined) this.abort(killed);
      else if (!this.done) this.owner._watch(this);
    }
    return this.controller.signal;
  }

  reportTokens(actual: number): void {
    if (typeof actual !== 'number' || !Number.isFinite(actual) || actual < 0) {
      throw new RangeError(`reportTokens(actual): actual must be a finite number >= 0, got ${describe(actual)}`);
    }
    this.ticket?.reportTokens?.(actual);
    if (this.charge !== undefined) {
      this.charge.adjust(actual);
      this.owner._tokensCorrected();
    }
  }

  get fence(): number | undefined {
    return this.relet?.fence ?? this.ticket?.fence;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

async function invoke(s: Scheduler, node: Node, ctx: Context, breaker: CircuitBreaker | undefined,
  gate: Gate | undefined): Promise<void> {
  let ok = true;
  let value: unknown;
  try {
    if (gate !== undefined) {
      ctx.atGate = true;
      ctx.ticket = await gate.enter({ key: ctx.key, tokens: node.x!.tokens, signal: ctx.signal });
      ctx.atGate = false;
    }
    const call = (): unknown => (breaker === undefined ? node.fn(ctx) : breaker.execute(async () => node.fn(ctx)));
    const parent = s._parent();
    value = await (parent === undefined ? call() : parent.run((pctx) => {
      ctx.parent = pctx as Context;
      // The parent closing without draining stops the child's work too.
      pctx.signal.addEventListener('abort', () => ctx.abort(pctx.signal.reason), { once: true });
      return call();
    }, s._parentOptions(ctx, node)));
  } catch (err) {
    ok = false;
    value = err;
  }
  ctx.leaveGate();
  s._finish(node, ctx, ok, value);
}

const ON_FULL: readonly OnFull[] = ['reject', 'wait', 'drop-oldest'];
const now = (): number => performance.now();

export class Scheduler extends EventEmitter {
  private limit: number;
  private readonly maxQueued: number;
  private readonly onFull: OnFull;
  private readonly perKey: number;
  private readonly defaultTimeout: number;
  private readonly retryPolicy: NormalizedRetryOptions | undefined;
  private readonly budget: RetryBudget | undefined;
  private readonly limiter: RateLimiter | undefined;
  private readonly breakerOptions: BreakerOptions | undefined;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly keyBreakers = new Map<string, CircuitBreaker>();
  private readonly gate: Gate | undefined;
  private readonly adaptive: AdaptiveLimit | undefined;
  private parentScheduler: Scheduler | undefined;
  private parentKey: string | undefined;
  private readonly resumers = new List<Resumer>();
  // True when no option forces per-task bookkeeping: plain run() calls take the fast path.
  private readonly plain: boolean;
  // Failures classified 'wait' pause a lane only for schedulers that opted into resilience.
  private readonly pausesOnWait: boolean;

  private active = 0; // slots taken (sum of weights)
  private runningCount = 0;
  private queued = 0;
  private paused = false;
  private draining = false;
  private pausedUntil = 0;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = Infinity;
  private pendingCharge: RateCharge | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private killed: unknown = undefined;
  private closePromise: Promise<void> | undefined;
  private closeResolve: (() => void) | undefined;

  private readonly main = new Level(0);
  private levels: Level[] = [this.main];
  private readonly byPriority = new Map<number, Level>([[0, this.main]]);
  private readonly lanes = new Map<string, Lane>();
  private readonly waitingRoom = new List<Node>();
  private readonly sleepers = new List<Node>();
  private readonly watched = new Set<Context>();
  private readyWaiters: Waiter[] = [];
  private idleWaiters: Array<() => void> = [];

  private completed = 0;
  private failed = 0;
  private rejected = 0;
  private dropped = 0;
  private retried = 0;
  private timedOut = 0;
  private cancelled = 0;

  constructor(options: SchedulerOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Scheduler options must be an object, got ${describe(options)}`);
    }
    if (typeof options.concurrency === 'object' && options.concurrency !== null) {
      this.adaptive = new AdaptiveLimit(options.concurrency, now);
      this.limit = this.adaptive.limit;
    } else {
      this.limit = checkInteger('concurrency', options.concurrency, 1, true);
    }
    this.maxQueued = checkInteger('maxQueued', options.maxQueued ?? 100_000, 0);
    const onFull = options.onFull ?? 'reject';
    if (!ON_FULL.includes(onFull)) {
      throw new TypeError(`onFull must be one of ${ON_FULL.join(', ')}, got ${describe(onFull)}`);
    }
    this.onFull = onFull;
    this.perKey = checkInteger('perKey', options.perKey ?? Infinity, 1, true);
    this.defaultTimeout = options.timeout === undefined ? Infinity : checkDuration('timeout', options.timeout, true);
    const budget = options.retry ? options.retry.budget : undefined;
    this.budget = budget === undefined || budget instanceof RetryBudget ? budget : new RetryBudget(budget);
    this.retryPolicy = options.retry ? this.normalizeRetry(options.retry) : undefined;
    if (options.retry !== undefined && options.retry !== false && typeof options.retry !== 'object') {
      throw new TypeError(`retry must be an options object or false, got ${describe(options.retry)}`);
    }
    this.limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate, { now });
    if (options.breaker !== undefined) {
      // Built once here so bad breaker options fail at construction, not at the first task.
      this.breaker = new CircuitBreaker({ ...options.breaker, now });
      this.breakerOptions = options.breaker;
    }
    if (options.global !== undefined && options.store === undefined) {
      throw new TypeError('global limits need a store shared by the processes, e.g. store: new RedisStore(redis)');
    }
    if (options.store !== undefined) {
      if (typeof options.store !== 'object' || options.store === null || typeof options.store.gate !== 'function') {
        throw new TypeError(`store must be a shared store such as RedisStore, got ${describe(options.store)}`);
      }
      this.gate = options.store.gate(options.global ?? {});
    }
    this.plain = this.defaultTimeout === Infinity && this.retryPolicy === undefined && this.limiter === undefined &&
      this.breaker === undefined && this.gate === undefined && this.adaptive === undefined;
    this.pausesOnWait = this.retryPolicy !== undefined || this.limiter !== undefined;
  }

  get concurrency(): number {
    return this.limit;
  }

  set concurrency(value: number) {
    checkInteger('concurrency', value, 1, true);
    if (this.adaptive !== undefined) {
      // An adaptive limit restarts from the value given, within its bounds.
      this.limit = this.adaptive.reset(value);
    } else {
      this.limit = value;
    }
    this.drain();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  run<T>(task: Task<T>, options?: RunOptions): Promise<T> {
    return this.submit(task, options, false) as Promise<T>;
  }

  /**
   * Runs `fn` over every item, results in input order. Items are pulled lazily: at most
   * `maxQueued + concurrency` are taken from the iterable before earlier ones finish, and a
   * full queue makes `map` wait rather than fail. Without `settle`, the first failure
   * rejects the call, stops pulling, and cancels this call's queued and running tasks.
   */
  map<I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>,
    options: MapOptions & { settle: true }): Promise<Array<Settled<O>>>;
  map<I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>,
    options?: MapOptions): Promise<O[]>;
  map<I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>,
    options?: MapOptions): Promise<Array<O | Settled<O>>> {
    const window = Math.max(1, this.maxQueued + (Number.isFinite(this.limit) ? this.limit : 0));
    return mapItems((task, opts) => this.submit(task, opts, true), window, items, fn, options);
  }

  /** Resolves when the queue has room for another task (producer backpressure). */
  ready(): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new ClosedError('scheduler is closed'));
    if (this.queued + this.waitingRoom.size < this.maxQueued) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Resolves when nothing is queued, running or waiting to retry. */
  onIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drain();
  }

  /** Holds back every task until `ms` from now (what a 429 with Retry-After does to the lane). */
  pauseFor(ms: number, key?: string): void {
    checkDuration('ms', ms, false);
    if (key !== undefined && typeof key !== 'string') throw new TypeError(`key must be a string, got ${describe(key)}`);
    this.pauseLane(key, ms);
  }

  /** Rejects every queued, waiting-for-room and retrying task with ClosedError; running tasks go on. */
  clear(): void {
    this.rejectQueued(() => new ClosedError('queue cleared'));
    this.afterRemoval();
  }

  /**
   * Stops admission. With `drain` (default) queued, retrying and running work finishes first;
   * without, queued and retrying tasks reject with ClosedError and running tasks see
   * `ctx.signal` abort. Resolves once nothing runs. Tasks waiting for room (onFull 'wait')
   * are refused in both modes.
   */
  close(options?: { drain?: boolean }): Promise<void> {
    checkObject('options', options);
    const drain = options?.drain ?? true;
    if (this.state === 'open') {
      this.state = 'closing';
      this.closePromise = new Promise<void>((resolve) => (this.closeResolve = resolve));
      this.rejectList(this.waitingRoom, () => new ClosedError('scheduler closed while waiting for room'));
      for (const w of this.readyWaiters.splice(0)) w.reject(new ClosedError('scheduler is closed'));
      this.paused = false;
    }
    if (!drain && this.killed === undefined) {
      this.killed = new ClosedError('scheduler closed without draining');
      this.rejectQueued(() => new ClosedError('scheduler closed without draining'));
      for (const ctx of this.watched) ctx.abort(this.killed);
      this.watched.clear();
    }
    this.drain();
    this.afterRemoval();
    return this.closePromise!;
  }

  stats(): SchedulerStats {
    return {
      queued: this.queued,
      running: this.runningCount,
      waiting: this.waitingRoom.size,
      retrying: this.sleepers.size,
      completed: this.completed,
      failed: this.failed,
      rejected: this.rejected,
      dropped: this.dropped,
      retried: this.retried,
      timedOut: this.timedOut,
      cancelled: this.cancelled,
      concurrency: this.limit,
      limit: this.limit,
    };
  }

  /**
   * A scheduler whose tasks count against its own limits and every ancestor's: two nested
   * fan-outs of 3 under a parent of 4 never run more than 4 at once.
   */
  child(options?: ChildOptions): Scheduler {
    checkObject('options', options);
    const key = options?.key;
    if (key !== undefined && typeof key !== 'string') throw new TypeError(`key must be a string, got ${describe(key)}`);
    const c = new Scheduler({ concurrency: options?.concurrency ?? Infinity, maxQueued: options?.maxQueued ?? this.maxQueued });
    c.parentScheduler = this;
    c.parentKey = key;
    return c;
  }

  /** @internal */
  _parent(): Scheduler | undefined {
    return this.parentScheduler;
  }

  /** @internal Options a child's attempt runs with in its parent. */
  _parentOptions(ctx: Context, node: Node): RunOptions {
    return { key: this.parentKey, signal: ctx.signal, weight: Math.min(node.x?.weight ?? 1, this.parentScheduler!.limit) };
  }

  /** @internal A yielding task gives its slot back. */
  _releaseSlot(ctx: Context): void {
    ctx.slotHeld = false;
    this.active -= ctx.taken;
    this.drain();
  }

  /** @internal A task back from a yield takes a global lease again (no new rate charge). */
  async _reenterGate(ctx: Context): Promise<void> {
    if (ctx.done || this.gate === undefined) return;
    ctx.atGate = true;
    try {
      ctx.relet = await this.gate.enter({ key: ctx.key, tokens: 0, signal: ctx.signal, leaseOnly: true });
    } finally {
      ctx.atGate = false;
    }
  }

  /** @internal A yielding task takes its slot again, ahead of tasks that never started. */
  _reclaimSlot(ctx: Context): Promise<void> | undefined {
    if (this.resumers.size === 0 && (this.active + ctx.taken <= this.limit || ctx.done)) {
      this.takeBack(ctx);
      return undefined;
    }
    return new Promise<void>((resolve) => this.resumers.push({ next: undefined, prev: undefined, ctx, resolve }));
  }

  private takeBack(ctx: Context): void {
    // A task that finished while yielded has nothing to take back.
    if (ctx.done) return;
    ctx.slotHeld = true;
    this.active += ctx.taken;
  }

  // Resuming tasks were running already: they go before the queue, pause or no pause.
  private resume_(): void {
    for (let r = this.resumers.head; r !== undefined; r = this.resumers.head) {
      if (!r.ctx.done && this.active + r.ctx.taken > this.limit) break;
      this.resumers.shift();
      this.takeBack(r.ctx);
      r.resolve();
    }
  }

  // ---- admission -------------------------------------------------------------------

  private submit(fn: Task<unknown>, options: RunOptions | undefined, waitForRoom: boolean): Promise<unknown> {
    if (typeof fn !== 'function') {
      return Promise.reject(new TypeError(`run(task): task must be a function, got ${describe(fn)}`));
    }
    if (options === undefined && this.plain) {
      if (this.state !== 'open') return this.refuseClosed();
      const promise = new Promise(capture);
      const node: Node = { next: undefined, prev: undefined, fn, resolve: captured, x: undefined };
      if (!this.paused && this.queued === 0 && this.waitingRoom.size === 0 && this.active < this.limit &&
          this.pausedUntil === 0) {
        this.start(node, 1);
        return promise;
      }
      const runner = captureContext();
      if (runner !== undefined) node.x = this.makeExt(undefined, 0, 1, undefined, Infinity, 0, undefined, runner);
      this.enqueue(node, waitForRoom);
      if (this.active < this.limit) this.drain();
      return promise;
    }
    let x: Ext;
    try {
      x = this.parseOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (x.signal?.aborted) return Promise.reject(abortReason(x.signal));
    if (this.state !== 'open') return this.refuseClosed();
    const promise = new Promise(capture);
    const node: Node = { next: undefined, prev: undefined, fn, resolve: captured, x };
    if (x.signal !== undefined) {
      x.onAbort = () => this.onAbort(node);
      x.signal.addEventListener('abort', x.onAbort, { once: true });
    }
    if (!this.paused && this.queued === 0 && this.waitingRoom.size === 0 && this.fits(x) && this.mayStartNow(x)) {
      this.start(node, this.need(x.weight));
      return promise;
    }
    x.runner = captureContext();
    this.enqueue(node, waitForRoom);
    // Tasks parked behind a busy key leave `queued` non-zero with free slots: this one
    // may still be able to start.
    if (this.active < this.limit) this.drain();
    return promise;
  }

  private parseOptions(options: RunOptions | undefined): Ext {
    checkObject('options', options);
    const key = options?.key;
    if (key !== undefined && typeof key !== 'string') throw new TypeError(`key must be a string, got ${describe(key)}`);
    const priority = options?.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new TypeError(`priority must be a finite number, got ${describe(priority)}`);
    }
    const weight = checkInteger('weight', options?.weight ?? 1, 1);
    const most = this.adaptive?.max ?? this.limit;
    if (weight > most) throw new RangeError(`weight ${weight} exceeds concurrency ${most}`);
    const signal = checkSignal('signal', options?.signal);
    const timeout = options?.timeout === undefined ? this.defaultTimeout : checkDuration('timeout', options.timeout, true);
    const tokens = options?.tokens ?? 0;
    if (typeof tokens !== 'number' || !Number.isFinite(tokens) || tokens < 0) {
      throw new RangeError(`tokens must be a finite number >= 0, got ${describe(tokens)}`);
    }
    // A charge larger than a window's capacity could never be taken: refuse it now.
    this.limiter?.timeUntil(tokens);
    const own = options?.retry;
    const retry = own === undefined ? this.retryPolicy : own === false ? undefined : this.normalizeRetry(own);
    return this.makeExt(key, priority, weight, signal, timeout, tokens, retry, undefined);
  }

  private normalizeRetry(options: SchedulerRetryOptions): NormalizedRetryOptions {
    checkObject('retry', options);
    if ((options as RetryOptions).signal !== undefined) {
      throw new TypeError('retry.signal is not used by a Scheduler: pass the task\'s signal in run() options');
    }
    const { budget, ...rest } = options;
    const own = budget === undefined ? this.budget : budget instanceof RetryBudget ? budget : new RetryBudget(budget);
    return normalizeRetryOptions({ ...rest, budget: own });
  }

  private makeExt(key: string | undefined, priority: number, weight: number, signal: AbortSignal | undefined,
    timeout: number, tokens: number, retry: NormalizedRetryOptions | undefined, runner: Runner | undefined): Ext {
    return {
      key, priority, weight, taken: 0, signal, onAbort: undefined, timeout, timer: undefined, runner,
      where: Where.None, ctx: undefined, settled: false, tokens, retry, attempt: 0, attemptTimedOut: false,
    };
  }

  private refuseClosed(): Promise<never> {
    this.rejected++;
    return Promise.reject(new ClosedError('scheduler is closed'));
  }

  private enqueue(node: Node, waitForRoom: boolean): void {
    if (this.queued >= this.maxQueued || this.waitingRoom.size > 0) {
      const policy = waitForRoom ? 'wait' : this.onFull;
      if (policy === 'reject') {
        this.refuse(node, new QueueFullError(`queue is full (${this.maxQueued} tasks waiting)`));
        return;
      }
      if (policy === 'wait') {
        // map() bounds its own callers by its window; other callers by maxQueued.
        if (!waitForRoom && this.waitingRoom.size >= Math.max(this.maxQueued, 1)) {
          this.refuse(node, new QueueFullError(`queue is full and ${this.waitingRoom.size} callers already wait for room`));
          return;
        }
        if (node.x !== undefined) node.x.where = Where.Waiting;
        this.waitingRoom.push(node);
        this.emitFull();
        return;
      }
      const victim = this.oldestQueued();
      const priority = node.x?.priority ?? 0;
      if (victim === undefined || (victim.x?.priority ?? 0) > priority) {
        this.dropped++;
        this.settle(node, rejected(new DroppedError('dropped: queue full of higher-priority tasks')));
        return;
      }
      this.unqueue(victim);
      this.dropped++;
      this.settle(victim, rejected(new DroppedError()));
    }
    this.admit(node);
    if (this.queued === this.maxQueued) this.emitFull();
  }

  private refuse(node: Node, err: Error): void {
    this.rejected++;
    if (node.x?.onAbort !== undefined) node.x.signal!.removeEventListener('abort', node.x.onAbort);
    node.resolve(rejected(err));
    this.emitFull();
  }

  private admit(node: Node): void {
    this.queued++;
    const x = node.x;
    if (x === undefined) {
      this.main.push(node);
      return;
    }
    if (x.key !== undefined) {
      const lane = this.laneFor(x.key);
      if (lane.active >= this.perKey || lane.pausedUntil !== 0) {
        x.where = Where.Parked;
        lane.parked.push(node);
        // Work waits on this pause again: its timer must keep the process alive.
        lane.pauseTimer?.ref();
        return;
      }
      lane.active++;
    }
    x.where = Where.Ready;
    this.level(x.priority).push(node);
  }

  // ---- running -----------------------------------------------------------------------

  private need(weight: number): number {
    return weight > this.limit ? this.limit : weight;
  }

  private fits(x: Ext): boolean {
    if (this.active + this.need(x.weight) > this.limit) return false;
    if (x.key === undefined) return true;
    const lane = this.lanes.get(x.key);
    return lane === undefined || (lane.active < this.perKey && lane.pausedUntil === 0);
  }

  // Lane pauses and rate windows, checked for a task about to start from outside the
  // queue; a rate charge taken here belongs to the task that starts right after.
  private mayStartNow(x: Ext): boolean {
    if (this.pausedUntil !== 0) return false;
    if (this.limiter === undefined) return true;
    this.pendingCharge = this.limiter.tryAcquire(x.tokens);
    return this.pendingCharge !== undefined;
  }

  private start(node: Node, taken: number): void {
    this.active += taken;
    this.runningCount++;
    const x = node.x;
    if (x === undefined) {
      invoke(this, node, new Context(this, 1, undefined, undefined, 1), undefined, undefined);
      return;
    }
    if (x.key !== undefined && x.where === Where.None) this.laneFor(x.key).active++;
    x.where = Where.None;
    x.taken = taken;
    x.attempt++;
    const ctx = new Context(this, x.attempt, x.key, this.pendingCharge, taken);
    if (this.adaptive !== undefined) ctx.startedAt = now();
    this.pendingCharge = undefined;
    x.ctx = ctx;
    x.retry?.budget?.recordAttempt();
    if (x.timeout !== Infinity) x.timer = setTimeout(() => this.onTimeout(node), x.timeout);
    const breaker = this.breakerFor(x.key);
    if (x.runner === undefined) invoke(this, node, ctx, breaker, this.gate);
    else x.runner(invoke, this, node, ctx, breaker, this.gate);
  }

  /** @internal Called once per started attempt, when its function settles. */
  _finish(node: Node, ctx: Context, ok: boolean, value: unknown): void {
    ctx.done = true;
    if (ctx.controller !== undefined) this.watched.delete(ctx);
    this.runningCount--;
    const x = node.x;
    if (ctx.slotHeld) this.active -= ctx.taken;
    if (x === undefined) {
      this.record(node, ok, value);
    } else {
      if (x.timer !== undefined) clearTimeout(x.timer);
      x.timer = undefined;
      if (x.attemptTimedOut) {
        ok = false;
        value = ctx.reason;
        x.attemptTimedOut = false;
      }
      if (!ok && this.pausesOnWait && classify(value) === 'wait') {
        const ms = retryAfterMs(value);
        if (ms !== undefined && ms > 0) this.pauseLane(x.key, ms);
      }
      if (this.adaptive !== undefined) this.adapt(ctx, ok, value);
      const delay = ok || x.settled ? -1 : this.retryDelay(x, value);
      if (delay >= 0) {
        this.sleep(node, delay);
      } else {
        if (x.onAbort !== undefined) x.signal!.removeEventListener('abort', x.onAbort);
        if (!x.settled) {
          x.settled = true;
          this.record(node, ok, value);
        }
      }
      if (x.key !== undefined) this.releaseLane(x.key);
    }
    this.drain();
    this.afterRemoval();
  }

  private record(node: Node, ok: boolean, value: unknown): void {
    if (ok) {
      this.completed++;
      node.resolve(value);
      return;
    }
    this.failed++;
    node.resolve(rejected(value));
    if (this.listenerCount('error') > 0) this.emit('error', value);
  }

  private drain(): void {
    this.resume_();
    if (this.paused || this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        this.admitWaiting();
        const level = this.top();
        if (level === undefined) {
          if (!this.startWaitingDirectly()) break;
          continue;
        }
        const node = level.head!;
        const x = node.x;
        const taken = x === undefined ? 1 : this.need(x.weight);
        // Strict FIFO on weight: a heavy head is never overtaken, so it cannot starve.
        if (this.active + taken > this.limit) break;
        if (this.pausedUntil !== 0) {
          if (this.pausedUntil > now()) {
            this.wakeUpAt(this.pausedUntil);
            break;
          }
          this.pausedUntil = 0;
        }
        if (x?.key !== undefined && this.lanes.get(x.key)!.pausedUntil !== 0) {
          this.repark(level, node);
          continue;
        }
        if (this.limiter !== undefined) {
          this.pendingCharge = this.limiter.tryAcquire(x?.tokens ?? 0);
          if (this.pendingCharge === undefined) {
            this.wakeUpAt(now() + Math.max(1, this.limiter.timeUntil(x?.tokens ?? 0)));
            break;
          }
        }
        this.shiftFrom(level);
        this.queued--;
        this.start(node, taken);
      }
    } finally {
      this.draining = false;
    }
    this.wakeProducers();
  }

  // One timer for the whole scheduler, for the earliest moment a pause or a rate window
  // lets the head start. It is cleared as soon as nothing waits for it.
  private wakeUpAt(at: number): void {
    if (this.wakeTimer !== undefined && this.wakeAt <= at) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Infinity;
      this.drain();
    }, Math.max(0, Math.ceil(at - now())));
  }

  private admitWaiting(): void {
    while (this.waitingRoom.size > 0 && this.queued < this.maxQueued) {
      const node = this.waitingRoom.shift()!;
      if (node.x !== undefined) node.x.where = Where.None;
      this.admit(node);
    }
  }

  // With maxQueued 0, 'wait' is a rendezvous: a waiting caller starts only when a slot is free.
  private startWaitingDirectly(): boolean {
    const node = this.waitingRoom.head;
    if (node === undefined || this.queued > 0) return false;
    if (node.x === undefined ? this.active >= this.limit : !(this.fits(node.x) && this.mayStartNow(node.x))) return false;
    this.waitingRoom.shift();
    if (node.x !== undefined) node.x.where = Where.None;
    this.start(node, node.x === undefined ? 1 : this.need(node.x.weight));
    return true;
  }

  private wakeProducers(): void {
    if (this.readyWaiters.length > 0 && this.queued + this.waitingRoom.size < this.maxQueued) {
      for (const w of this.readyWaiters.splice(0)) w.resolve();
    }
  }

  private emitFull(): void {
    if (this.listenerCount('full') > 0) this.emit('full');
  }

  private isIdle(): boolean {
    return this.runningCount === 0 && this.queued === 0 && this.waitingRoom.size === 0 && this.sleepers.size === 0;
  }

  private afterRemoval(): void {
    this.wakeProducers();
    if (!this.isIdle()) return;
    if (this.wakeTimer !== undefined) {
      clearTimeout(this.wakeTimer);
      this.wakeTimer = undefined;
      this.wakeAt = Infinity;
    }
    // A key's pause outlives its work, but must not hold the process open (p-queue#163).
    for (const lane of this.lanes.values()) lane.pauseTimer?.unref();
    if (this.idleWaiters.length > 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    if (this.state === 'closing') {
      this.state = 'closed';
      const resolve = this.closeResolve!;
      const gate = this.gate;
      // The last attempts' leaves must reach the store before close() says we are done, or
      // a process that quits its client right after holds their slots for a whole lease.
      if (gate?.close === undefined) resolve();
      else void Promise.resolve().then(() => gate.close!()).then(resolve, resolve);
    }
    if (this.listenerCount('idle') > 0) this.emit('idle');
  }

  // ---- retries, pauses, rate ---------------------------------------------------------

  private adapt(ctx: Context, ok: boolean, value: unknown): void {
    let outcome: Outcome = 'ok';
    if (!ok) {
      const kind = classify(value);
      outcome = kind === 'cap' || kind === 'wait' || value instanceof TimeoutError ? 'overload' : 'neutral';
    }
    this.limit = this.adaptive!.sample(now() - ctx.startedAt, outcome, this.runningCount + 1);
  }

  /** ms to sleep before the next attempt, or -1 when the failure is final. */
  private retryDelay(x: Ext, err: unknown): number {
    const policy = x.retry;
    if (policy === undefined || this.killed !== undefined || x.signal?.aborted) return -1;
    // Aborts and closes are answers, not failures: never retried whatever shouldRetry says.
    if (classify(err) === 'abort' && !(err instanceof TimeoutError)) return -1;
    if (x.attempt > policy.retries || !policy.shouldRetry(err, x.attempt)) return -1;
    if (policy.budget !== undefined && !policy.budget.tryRetry()) return -1;
    return backoffDelay(x.attempt, policy, err);
  }

  // The task gives its slot back while it waits, then queues again like anyone else
  // (and past a full queue: it was admitted once and is never lost for want of room).
  private sleep(node: Node, delay: number): void {
    const x = node.x!;
    this.retried++;
    x.where = Where.Sleeping;
    this.sleepers.push(node);
    if (x.key !== undefined) this.laneFor(x.key).sleeping++;
    x.timer = setTimeout(() => {
      x.timer = undefined;
      this.wake(node);
      this.drain();
    }, Math.min(delay, 2 ** 31 - 1));
  }

  private wake(node: Node): void {
    const x = node.x!;
    this.sleepers.remove(node);
    x.where = Where.None;
    if (x.key !== undefined) this.lanes.get(x.key)!.sleeping--;
    this.admit(node);
  }

  private pauseLane(key: string | undefined, ms: number): void {
    const until = now() + ms;
    if (key === undefined) {
      if (until > this.pausedUntil) this.pausedUntil = until;
      this.wakeUpAt(this.pausedUntil);
      return;
    }
    const lane = this.laneFor(key);
    if (until <= lane.pausedUntil) return;
    lane.pausedUntil = until;
    if (lane.pauseTimer !== undefined) clearTimeout(lane.pauseTimer);
    lane.pauseTimer = setTimeout(() => this.unpauseLane(key), Math.ceil(ms));
  }

  private unpauseLane(key: string): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.pausedUntil = 0;
    lane.pauseTimer = undefined;
    lane.lastReparked = undefined;
    this.releaseParked(lane);
    this.forgetLaneIfIdle(key, lane);
    this.drain();
  }

  // A ready task whose key was paused after it was queued goes back to its lane, ahead of
  // the tasks parked there, and gives up its lane slot until the pause ends.
  private repark(level: Level, node: Node): void {
    const x = node.x!;
    const lane = this.lanes.get(x.key!)!;
    this.shiftFrom(level);
    lane.active--;
    x.where = Where.Parked;
    if (lane.lastReparked === undefined) lane.parked.unshift(node);
    else lane.parked.insertAfter(lane.lastReparked, node);
    lane.lastReparked = node;
  }

  /** @internal A running task corrected its token charge: a refund may let the head start. */
  _tokensCorrected(): void {
    this.drain();
  }

  private breakerFor(key: string | undefined): CircuitBreaker | undefined {
    if (this.breaker === undefined || key === undefined) return this.breaker;
    let breaker = this.keyBreakers.get(key);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({ ...this.breakerOptions!, now });
      this.keyBreakers.set(key, breaker);
    }
    return breaker;
  }

  // ---- cancellation ------------------------------------------------------------------

  private onAbort(node: Node): void {
    const x = node.x!;
    const reason = abortReason(x.signal!);
    if (x.where === Where.Sleeping) {
      clearTimeout(x.timer);
      x.timer = undefined;
      this.sleepers.remove(node);
      x.where = Where.None;
      if (x.key !== undefined) {
        const lane = this.lanes.get(x.key)!;
        lane.sleeping--;
        this.forgetLaneIfIdle(x.key, lane);
      }
      x.settled = true;
      this.failed++;
      node.resolve(rejected(reason));
      this.afterRemoval();
      return;
    }
    if (x.where !== Where.None) {
      this.unqueue(node);
      this.cancelled++;
      this.settle(node, rejected(reason));
      this.drain();
      this.afterRemoval();
      return;
    }
    if (x.settled || x.ctx === undefined) return;
    x.settled = true;
    this.failed++;
    node.resolve(rejected(reason));
    x.ctx.abort(reason);
  }

  private onTimeout(node: Node): void {
    const x = node.x!;
    x.timer = undefined;
    if (x.settled) return;
    // Still waiting at the gate because the store is down: say so, not just "timed out".
    const down = x.ctx!.atGate ? this.gate?.unavailable() : undefined;
    const err = down ?? new TimeoutError(`attempt ${x.attempt} timed out after ${x.timeout} ms`);
    this.timedOut++;
    if (x.retry !== undefined && x.attempt <= x.retry.retries) {
      // The attempt may be retried: its outcome is decided when its function returns.
      x.attemptTimedOut = true;
      x.ctx!.abort(err);
      return;
    }
    x.settled = true;
    this.failed++;
    node.resolve(rejected(err));
    x.ctx!.abort(err);
  }

  /** Settles a task that never started, detaching its signal. */
  private settle(node: Node, result: Promise<never>): void {
    const x = node.x;
    if (x !== undefined) {
      x.settled = true;
      x.where = Where.None;
      if (x.onAbort !== undefined) x.signal!.removeEventListener('abort', x.onAbort);
    }
    node.resolve(result);
  }

  private unqueue(node: Node): void {
    const x = node.x;
    if (x === undefined || x.where === Where.Ready) {
      const level = x === undefined ? this.main : this.level(x.priority);
      level.remove(node);
      if (level.size === 0) this.dropLevel(level);
      this.queued--;
      if (x?.key !== undefined) this.releaseLane(x.key);
    } else if (x.where === Where.Parked) {
      const lane = this.lanes.get(x.key!)!;
      if (lane.lastReparked === node) lane.lastReparked = node.prev;
      lane.parked.remove(node);
      this.queued--;
      this.forgetLaneIfIdle(x.key!, lane);
    } else if (x.where === Where.Waiting) {
      this.waitingRoom.remove(node);
    }
    if (x !== undefined) x.where = Where.None;
  }

  private rejectQueued(reason: () => Error): void {
    this.rejectList(this.waitingRoom, reason);
    for (const level of this.levels) this.rejectList(level, reason);
    for (const lane of this.lanes.values()) {
      this.rejectList(lane.parked, reason);
      lane.lastReparked = undefined;
    }
    this.rejectList(this.sleepers, reason);
    this.levels = [this.main];
    this.byPriority.clear();
    this.byPriority.set(0, this.main);
    // What is left in a lane's count is its running tasks; they release it as they finish.
    for (const [key, lane] of this.lanes) this.forgetLaneIfIdle(key, lane);
  }

  // Waiting-room nodes were never admitted (refused); sleeping ones had started (failed).
  private rejectList(list: List<Node>, reason: () => Error): void {
    for (let node = list.shift(); node !== undefined; node = list.shift()) {
      const x = node.x;
      if (list === this.waitingRoom) {
        this.rejected++;
      } else if (list === this.sleepers) {
        this.failed++;
        clearTimeout(x!.timer);
        x!.timer = undefined;
        if (x!.key !== undefined) this.lanes.get(x!.key)!.sleeping--;
      } else {
        this.queued--;
        this.cancelled++;
        if (x?.where === Where.Ready && x.key !== undefined) this.lanes.get(x.key)!.active--;
      }
      this.settle(node, rejected(reason()));
    }
  }

  private oldestQueued(): Node | undefined {
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const level = this.levels[i]!;
      if (level.size > 0) return level.head;
    }
    for (const lane of this.lanes.values()) if (lane.parked.size > 0) return lane.parked.head;
    return undefined;
  }

  // ---- lanes and levels --------------------------------------------------------------

  private laneFor(key: string): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { active: 0, parked: new List<Node>(), sleeping: 0, pausedUntil: 0, pauseTimer: undefined, lastReparked: undefined };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private releaseLane(key: string): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.active--;
    if (lane.pausedUntil === 0) this.releaseParked(lane);
    this.forgetLaneIfIdle(key, lane);
  }

  // Parked tasks already waited their turn behind their own key: they go to the front of
  // their priority, in their order.
  private releaseParked(lane: Lane): void {
    const released: Node[] = [];
    while (lane.active < this.perKey && lane.parked.size > 0) {
      released.push(lane.parked.shift()!);
      lane.active++;
    }
    for (let i = released.length - 1; i >= 0; i--) {
      const node = released[i]!;
      node.x!.where = Where.Ready;
      this.level(node.x!.priority).unshift(node);
    }
  }

  // A lane lives while it has work, sleepers or a pause; a key's breaker outlives it only
  // while it is not closed, so neither map grows with keys that come and go.
  private forgetLaneIfIdle(key: string, lane: Lane): void {
    if (lane.active > 0 || lane.parked.size > 0 || lane.sleeping > 0 || lane.pausedUntil !== 0) return;
    this.lanes.delete(key);
    const breaker = this.keyBreakers.get(key);
    if (breaker !== undefined && breaker.state === 'closed') this.keyBreakers.delete(key);
  }

  private level(priority: number): Level {
    if (priority === 0) return this.main;
    let level = this.byPriority.get(priority);
    if (level === undefined) {
      level = new Level(priority);
      this.byPriority.set(priority, level);
      let i = 0;
      while (i < this.levels.length && this.levels[i]!.priority > priority) i++;
      this.levels.splice(i, 0, level);
    }
    return level;
  }

  private dropLevel(level: Level): void {
    if (level === this.main) return;
    this.byPriority.delete(level.priority);
    this.levels.splice(this.levels.indexOf(level), 1);
  }

  private top(): Level | undefined {
    const levels = this.levels;
    for (let i = 0; i < levels.length; i++) if (levels[i]!.size > 0) return levels[i];
    return undefined;
  }

  private shiftFrom(level: Level): void {
    level.shift();
    if (level.size === 0) this.dropLevel(level);
  }

  /** @internal */
  _killReason(): unknown {
    return this.killed;
  }

  /** @internal */
  _watch(ctx: Context): void {
    this.watched.add(ctx);
  }
}

function rejected(reason: unknown): Promise<never> {
  return Promise.reject(reason);
}
