// Admission control for async tasks: the public Scheduler. It reads and checks the
// options, builds what they ask for, and hands tasks to the core (core.ts, queue.ts) and
// its admission stages (stages/); child schedulers and map() live here too.

import { CircuitBreaker, type BreakerOptions } from '../resilience/circuit-breaker.js';
import { RateLimiter } from '../resilience/rate-limiter.js';
import { normalizeRetryOptions, type NormalizedRetryOptions, type RetryOptions } from '../resilience/retry.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import { checkDuration, checkInteger, checkObject, checkSignal, describe } from '../validate.js';
import { AdaptiveLimit } from './adaptive.js';
import { now, SchedulerCore, type CoreConfig } from './core.js';
import { mapItems } from './map.js';
import { makeState, type Node, type TaskState } from './task.js';
import type { Context } from './task-context.js';
import type {
  ChildOptions, MapOptions, OnFull, RunOptions, SchedulerOptions, SchedulerRetryOptions, SchedulerStats, Settled, Task,
  TaskContext,
} from './types.js';

export type {
  ChildOptions, MapOptions, OnFull, RunOptions, SchedulerOptions, SchedulerRetryOptions, SchedulerStats, Settled, Task,
  TaskContext,
} from './types.js';

const ON_FULL: readonly OnFull[] = ['reject', 'wait', 'drop-oldest'];

interface Parsed extends CoreConfig {
  defaultTimeout: number;
  budget: RetryBudget | undefined;
  retryPolicy: NormalizedRetryOptions | undefined;
}

function normalizeRetry(options: SchedulerRetryOptions, shared: RetryBudget | undefined): NormalizedRetryOptions {
  checkObject('retry', options);
  if ((options as RetryOptions).signal !== undefined) {
    throw new TypeError('retry.signal is not used by a Scheduler: pass the task\'s signal in run() options');
  }
  const { budget, ...rest } = options;
  const own = budget === undefined ? shared : budget instanceof RetryBudget ? budget : new RetryBudget(budget);
  return normalizeRetryOptions({ ...rest, budget: own });
}

// In the order the checks have always run, so the first bad option is the one reported.
function parse(options: SchedulerOptions): Parsed {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Scheduler options must be an object, got ${describe(options)}`);
  }
  let adaptive: AdaptiveLimit | undefined;
  let limit: number;
  if (typeof options.concurrency === 'object' && options.concurrency !== null) {
    adaptive = new AdaptiveLimit(options.concurrency, now);
    limit = adaptive.limit;
  } else {
    limit = checkInteger('concurrency', options.concurrency, 1, true);
  }
  const maxQueued = checkInteger('maxQueued', options.maxQueued ?? 100_000, 0);
  const onFull = options.onFull ?? 'reject';
  if (!ON_FULL.includes(onFull)) {
    throw new TypeError(`onFull must be one of ${ON_FULL.join(', ')}, got ${describe(onFull)}`);
  }
  const perKey = checkInteger('perKey', options.perKey ?? Infinity, 1, true);
  const name = options.name;
  if (name !== undefined && typeof name !== 'string') throw new TypeError(`name must be a string, got ${describe(name)}`);
  const defaultTimeout = options.timeout === undefined ? Infinity : checkDuration('timeout', options.timeout, true);
  const shared = options.retry ? options.retry.budget : undefined;
  const budget = shared === undefined || shared instanceof RetryBudget ? shared : new RetryBudget(shared);
  const retryPolicy = options.retry ? normalizeRetry(options.retry, budget) : undefined;
  if (options.retry !== undefined && options.retry !== false && typeof options.retry !== 'object') {
    throw new TypeError(`retry must be an options object or false, got ${describe(options.retry)}`);
  }
  const limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate, { now });
  let breaker: Parsed['breaker'];
  if (options.breaker !== undefined) {
    const shared: CircuitBreaker = new CircuitBreaker({ ...options.breaker, name: options.breaker.name ?? name, now });
    breaker = { options: options.breaker as BreakerOptions, shared };
  }
  if (options.global !== undefined && options.store === undefined) {
    throw new TypeError('global limits need a store shared by the processes, e.g. store: new RedisStore(redis)');
  }
  let gate: Parsed['gate'];
  if (options.store !== undefined) {
    if (typeof options.store !== 'object' || options.store === null || typeof options.store.gate !== 'function') {
      throw new TypeError(`store must be a shared store such as RedisStore, got ${describe(options.store)}`);
    }
    gate = options.store.gate(options.global ?? {});
  }
  const plain = defaultTimeout === Infinity && retryPolicy === undefined && limiter === undefined &&
    breaker === undefined && gate === undefined && adaptive === undefined;
  const pauseOnWait = retryPolicy !== undefined || limiter !== undefined;
  return {
    name, limit, maxQueued, onFull, perKey, plain, pauseOnWait, adaptive, limiter, breaker, gate, defaultTimeout, budget, retryPolicy,
  };
}

export class Scheduler extends SchedulerCore {
  private readonly defaultTimeout: number;
  private readonly retryPolicy: NormalizedRetryOptions | undefined;
  private readonly budget: RetryBudget | undefined;
  // What `concurrency` was set to (an adaptive limit's initial value); `limit` moves.
  private configured: number;
  private parentScheduler: Scheduler | undefined = undefined;
  private parentKey: string | undefined = undefined;

  constructor(options: SchedulerOptions) {
    const parsed = parse(options);
    super(parsed);
    this.defaultTimeout = parsed.defaultTimeout;
    this.retryPolicy = parsed.retryPolicy;
    this.budget = parsed.budget;
    this.configured = parsed.limit;
  }

  get concurrency(): number {
    return this.limit;
  }

  set concurrency(value: number) {
    checkInteger('concurrency', value, 1, true);
    // An adaptive limit restarts from the value given, within its bounds.
    this.limit = this.adaptive === undefined ? value : this.adaptive.reset(value);
    this.configured = this.limit;
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

  /** Holds back every task until `ms` from now (what a 429 with Retry-After does to the lane). */
  pauseFor(ms: number, key?: string): void {
    checkDuration('ms', ms, false);
    if (key !== undefined && typeof key !== 'string') throw new TypeError(`key must be a string, got ${describe(key)}`);
    // Closed: nothing will wait on it, and its timer would outlive the scheduler.
    if (this.state === 'closed') return;
    this.lanes.pause(key, ms);
  }

  /**
   * Moves the waiting task named `id` (RunOptions.id) to `priority`, behind the tasks already
   * there. A ReferenceError when no waiting task has that id (it started, settled or never was).
   */
  setPriority(id: string, priority: number): void {
    if (typeof id !== 'string') throw new TypeError(`id must be a string, got ${describe(id)}`);
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new TypeError(`priority must be a finite number, got ${describe(priority)}`);
    }
    if (!this.reprioritize(id, priority)) throw new ReferenceError(`no waiting task has the id ${JSON.stringify(id)}`);
    this.drain();
  }

  /** Tasks waiting to start (ready or parked behind their key) that match every field given. */
  sizeBy(filter: { priority?: number; key?: string }): number {
    checkObject('filter', filter);
    return this.countQueued((x) => (filter.priority === undefined || (x?.priority ?? 0) === filter.priority) &&
      (filter.key === undefined || x?.key === filter.key));
  }

  /**
   * Changes rate window `index` (in the order the `rate` option listed them) from now on,
   * e.g. to what a provider's headers say: its limit, and its burst when given. Charges
   * already taken still count, so a lower limit holds tasks back until enough expire; a
   * queued task estimated above a lowered token window is charged that window's capacity.
   */
  setRateLimit(index: number, limit: number, burst?: number): void {
    if (this.rate === undefined) throw new RangeError('setRateLimit: this scheduler has no rate windows (rate option)');
    this.rate.setLimit(index, limit, burst);
    this.drain();
  }

  /**
   * Stops admission. With `drain` (default) queued, retrying and running work finishes first;
   * without, queued and retrying tasks reject with ClosedError and running tasks see
   * `ctx.signal` abort. Resolves once nothing runs. Tasks waiting for room (onFull 'wait')
   * are refused in both modes.
   */
  close(options?: { drain?: boolean }): Promise<void> {
    checkObject('options', options);
    return this.closeCore(options?.drain ?? true);
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
      concurrency: this.configured,
      keys: this.lanes.size,
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
    const c = new Scheduler({
      concurrency: options?.concurrency ?? Infinity, maxQueued: options?.maxQueued ?? this.maxQueued, name: this.name,
    });
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

  protected parseOptions(options: RunOptions | undefined): TaskState {
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
    this.rate?.check(tokens);
    const own = options?.retry;
    const retry = own === undefined ? this.retryPolicy : own === false ? undefined : normalizeRetry(own, this.budget);
    const x = makeState(key, priority, weight, signal, timeout, tokens, retry, undefined);
    const id = options?.id;
    if (id !== undefined) {
      if (typeof id !== 'string') throw new TypeError(`id must be a string, got ${describe(id)}`);
      x.id = id;
    }
    return x;
  }
}
