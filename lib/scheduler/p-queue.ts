// p-queue 9's class on a Scheduler: the same methods, options and events, so code built on
// p-queue (LangChain's AsyncCaller and many services) runs unchanged, while the queue stays
// bounded and cleared tasks settle. The semantics live in the Scheduler; this maps names.

import { clearTimer, setTimer, type TimerHandle } from '../timer.js';
import { describe } from '../validate.js';
import { Scheduler } from './scheduler.js';
import { List } from './list.js';
import { NOWHERE, makeState, type Node, type TaskState } from './task.js';
import type { Context } from './task-context.js';
import type { OnFull, RunOptions, TaskContext } from './types.js';

export interface PQueueOptions {
  /** Tasks running at once: a number from 1 and up. Default Infinity. */
  concurrency?: number;
  /** Start tasks as they are added. With false the queue starts paused until `start()`. Default true. */
  autoStart?: boolean;
  /** Most tasks started per `interval`. Default Infinity (no rate limit). */
  intervalCap?: number;
  /** Length of a rate window in ms; 0 turns rate limiting off. Default 0. */
  interval?: number;
  /** Fixed windows: a new window counts the tasks still running from the last one. Default false. */
  carryoverIntervalCount?: boolean;
  /** @deprecated p-queue's old name for `carryoverIntervalCount`. */
  carryoverConcurrencyCount?: boolean;
  /** A sliding window (no `interval` span ever holds more than `intervalCap` starts) instead of fixed windows. Default false. */
  strict?: boolean;
  /** Per-task timeout in ms, from the task's start; settable later. Default none. */
  timeout?: number;
  /** Tasks allowed to wait (ringleader's bound; p-queue has none). Default 100_000. */
  maxQueued?: number;
  /** What `add()` does when `maxQueued` tasks wait. Default 'reject' (QueueFullError). */
  onFull?: OnFull;
}

export interface PQueueAddOptions {
  /** Higher starts first; FIFO within a priority. Default 0. */
  priority?: number;
  /** A name for `setPriority`; assigned ('1', '2', …) when not given. */
  id?: string;
  /** Aborting removes a waiting task (its promise rejects with the reason) or aborts a running one's signal. */
  signal?: AbortSignal;
  /** This task's timeout in ms, overriding the queue's. */
  timeout?: number;
}

/** What a task receives: p-queue passes `{ signal }`; this is the Scheduler's context, which has it. */
export type PQueueTask<T> = (ctx: TaskContext) => T | PromiseLike<T>;

export interface RunningTask {
  readonly id: string;
  readonly priority: number;
  /** Date.now() when it started. */
  readonly startTime: number;
  readonly timeout?: number;
  /** ms until it times out, or undefined without a timeout. */
  readonly timeoutRemaining?: number;
}

export type PQueueEvent = 'active' | 'idle' | 'empty' | 'add' | 'next' | 'completed' | 'error' | 'pendingZero' |
  'rateLimit' | 'rateLimitCleared';

// Messages as p-queue words them, so code and tests that match on them keep working.
function expected(what: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${what}, got \`${String(value)}\` (${typeof value})`);
}

function checkTimeout(timeout: unknown): void {
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
    throw expected('timeout` to be a positive finite number', timeout);
  }
}

function checkConcurrency(value: unknown): number {
  if (!(typeof value === 'number' && value >= 1)) throw expected('concurrency` to be a number from 1 and up', value);
  return value;
}

type PQueueRate = { limit: number; interval: number; window: 'sliding' | 'fixed'; carryover?: boolean };

function rateOf(options: Required<Pick<PQueueOptions, 'intervalCap' | 'interval'>> & PQueueOptions): PQueueRate | undefined {
  const { intervalCap, interval } = options;
  if (!(typeof intervalCap === 'number' && intervalCap >= 1)) throw expected('intervalCap` to be a number from 1 and up', intervalCap);
  if (!(typeof interval === 'number' && Number.isFinite(interval) && interval >= 0)) {
    throw expected('interval` to be a finite number >= 0', interval);
  }
  if (options.strict === true && interval === 0) throw new TypeError('The `strict` option requires a non-zero `interval`');
  if (options.strict === true && intervalCap === Infinity) throw new TypeError('The `strict` option requires a finite `intervalCap`');
  if (intervalCap === Infinity || interval === 0) return undefined;
  if (options.strict === true) return { limit: intervalCap, interval, window: 'sliding' };
  const carryover = options.carryoverIntervalCount ?? options.carryoverConcurrencyCount ?? false;
  return { limit: intervalCap, interval, window: 'fixed', carryover };
}

// What add() passes as run options: parseOptions then reads the checked values from the queue.
const CHECKED: RunOptions = Object.freeze({});

export class PQueue extends Scheduler {
  /** Default timeout of tasks added from now on (ms), or undefined for none. */
  timeout: number | undefined;
  private readonly limited: boolean;
  private rateLimited = false;
  private rateCheckQueued = false;
  // While rate-limited: when the window frees, even with the queue paused.
  private rateTimer: TimerHandle | undefined = undefined;
  private nextId = 1;
  private addPriority = 0;
  private addSignal: AbortSignal | undefined = undefined;
  private addTimeout: number | undefined = undefined;
  private addId: string | undefined = undefined;
  // While a finished task is booked: 'idle' waits for pendingZero and empty, as in p-queue.
  private finishing = false;
  private idleHeld = false;
  // Running tasks, for runningTasks: a started node is in no queue list, so it can sit in this one.
  private readonly started = new List<Node>();

  constructor(options: PQueueOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    if ('queueClass' in options) {
      throw new TypeError('queueClass is not supported: the Scheduler owns the queue (priorities, ids and sizeBy work on it)');
    }
    // Defaults under the options, as p-queue spreads them: an explicit undefined is refused.
    const merged = { concurrency: Infinity, intervalCap: Infinity, interval: 0, ...options };
    const concurrency = checkConcurrency(merged.concurrency);
    checkTimeout(options.timeout);
    const rate = rateOf(merged);
    super({ concurrency, maxQueued: options.maxQueued, onFull: options.onFull, ...(rate === undefined ? {} : { rate }) });
    this.limited = rate !== undefined;
    this.timeout = options.timeout;
    if (options.autoStart === false) this.pause();
    this.startHook = (node, ctx) => {
      this.started.push(node);
      // PQueue has no adaptive limit, whose latency clock this field otherwise holds: keep
      // the wall-clock start p-queue reports.
      ctx.startedAt = Date.now();
      this.emit('active');
      this.checkRateLimit();
    };
  }

  override get concurrency(): number {
    return super.concurrency;
  }

  override set concurrency(value: number) {
    super.concurrency = checkConcurrency(value);
  }

  /** Tasks waiting to start. */
  get size(): number {
    return this.queued;
  }

  /** Tasks running. */
  get pending(): number {
    return this.runningCount;
  }

  /** The interval's cap is reached and tasks wait for the next window. */
  get isRateLimited(): boolean {
    return this.rateLimited;
  }

  /** Every slot is taken, or the rate window is full, and tasks wait. */
  get isSaturated(): boolean {
    return this.queued > 0 && (this.runningCount >= this.limit || this.rateLimited);
  }

  get runningTasks(): readonly RunningTask[] {
    const now = Date.now();
    const tasks: RunningTask[] = [];
    for (let node = this.started.head; node !== undefined; node = node.next) {
      const x = node.x!;
      const at = x.ctx!.startedAt;
      const timeout = x.timeout === Infinity ? undefined : x.timeout;
      tasks.push({
        id: String(x.id), priority: x.priority, startTime: at, timeout,
        timeoutRemaining: timeout === undefined ? undefined : Math.max(0, at + timeout - now),
      });
    }
    return tasks;
  }

  /** Adds a task; its promise settles with the task's outcome, or rejects if it is refused, aborted or cleared. */
  add<T>(fn: PQueueTask<T>, options?: PQueueAddOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`add(fn): fn must be a function, got ${describe(fn)}`));
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      return Promise.reject(new TypeError(`options must be an object, got ${describe(options)}`));
    }
    const priority = options?.priority ?? 0;
    const timeout = options?.timeout ?? this.timeout;
    try {
      if (typeof priority !== 'number' || !Number.isFinite(priority)) {
        throw new TypeError(`priority must be a finite number, got ${describe(priority)}`);
      }
      checkTimeout(timeout);
      if (options?.id !== undefined && typeof options.id !== 'string') throw new TypeError(`id must be a string, got ${describe(options.id)}`);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`));
    }
    this.emit('add');
    // The options are checked already: they reach parseOptions through fields, not a new object.
    this.addPriority = priority;
    this.addSignal = signal;
    this.addTimeout = timeout;
    this.addId = options?.id;
    const promise = this.submit(fn, CHECKED, false) as Promise<T>;
    this.addSignal = undefined;
    this.checkRateLimit();
    return promise;
  }

  /** Adds every task with the same options; resolves with their results in order. */
  addAll<T>(fns: ReadonlyArray<PQueueTask<T>>, options?: PQueueAddOptions): Promise<T[]> {
    return Promise.all(Array.from(fns, (fn) => this.add(fn, options)));
  }

  /** Starts (resumes) a queue made with `autoStart: false` or paused. */
  start(): this {
    this.resume();
    return this;
  }

  /**
   * Rejects every waiting task with ClosedError (p-queue leaves them pending forever);
   * running tasks go on.
   */
  override clear(reason?: unknown): void {
    super.clear(reason);
    this.updateRateLimit();
    this.emit('empty');
    this.emit('next');
  }

  /** Moves the waiting task `id` to `priority`, behind the tasks already there (p-queue's ReferenceError if none waits). */
  override setPriority(id: string, priority: number): void {
    if (typeof priority !== 'number' || !Number.isFinite(priority)) throw expected('priority` to be a finite number', priority);
    try {
      super.setPriority(id, priority);
    } catch (err) {
      if (err instanceof ReferenceError) throw new ReferenceError(`No promise function with the id "${id}" exists in the queue.`);
      throw err;
    }
    this.checkRateLimit();
  }

  /** Resolves once nothing waits or runs, with the 'idle' event (as p-queue's does). */
  override onIdle(): Promise<void> {
    return this.isIdle() ? Promise.resolve() : this.once1(['idle'], () => true);
  }

  /** Resolves once nothing waits to start (tasks may still run). */
  onEmpty(): Promise<void> {
    return this.queued === 0 ? Promise.resolve() : this.once1(['empty'], () => true);
  }

  /** Resolves once fewer than `limit` tasks wait. */
  onSizeLessThan(limit: number): Promise<void> {
    if (typeof limit !== 'number' || Number.isNaN(limit)) return Promise.reject(new TypeError(`limit must be a number, got ${describe(limit)}`));
    return this.queued < limit ? Promise.resolve() : this.once1(['next', 'active'], () => this.queued < limit);
  }

  /** Resolves once no task runs (waiting ones may remain). */
  onPendingZero(): Promise<void> {
    return this.runningCount === 0 ? Promise.resolve() : this.once1(['pendingZero'], () => true);
  }

  onRateLimit(): Promise<void> {
    return this.rateLimited ? Promise.resolve() : this.once1(['rateLimit'], () => true);
  }

  onRateLimitCleared(): Promise<void> {
    return this.rateLimited ? this.once1(['rateLimitCleared'], () => true) : Promise.resolve();
  }

  /** Rejects with the next task failure (its own promise rejects too). */
  onError(): Promise<never> {
    return new Promise<never>((_resolve, reject) => this.once('error', reject));
  }

  // Tasks added without an id are numbered, as p-queue does ('1', '2', …), without a string each.
  protected override parseOptions(options: RunOptions | undefined): TaskState {
    const x = options === CHECKED
      ? makeState(undefined, this.addPriority, 1, this.addSignal, this.addTimeout ?? Infinity, 0, undefined, undefined)
      : super.parseOptions(options);
    x.id = options === CHECKED ? this.addId ?? this.nextId++ : x.id ?? this.nextId++;
    return x;
  }

  /** @internal */
  override _finish(node: Node, ctx: Context, ok: boolean, value: unknown): void {
    this.started.remove(node);
    if (node.x?.settled === false) {
      if (ok) this.emit('completed', value);
      else if (this.listenerCount('error') > 0) this.emit('error', value);
    }
    // As p-queue: 'empty' when a finished task finds nothing waiting to take its place.
    const empty = this.queued === 0;
    // p-queue counts the task out before it starts the next: pendingZero comes first.
    if (this.runningCount === 1) this.emit('pendingZero');
    this.finishing = true;
    try {
      super._finish(node, ctx, ok, value);
    } finally {
      this.finishing = false;
    }
    // Then as p-queue: empty, idle, next.
    if (empty) this.emit('empty');
    if (this.idleHeld) {
      this.idleHeld = false;
      this.emit('idle');
    }
    this.emit('next');
    this.checkRateLimit();
  }

  // Told already, before pendingZero, by _finish.
  protected override emitFailed(): void {}

  protected override emitIdle(): void {
    if (this.finishing) this.idleHeld = true;
    else super.emitIdle();
  }

  // A running task that timed out or was aborted settles at once: p-queue reports it then.
  protected override failRunning(node: Node, err: unknown): void {
    super.failRunning(node, err);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  protected override onAbort(node: Node): void {
    const waiting = node.x!.where !== NOWHERE;
    super.onAbort(node);
    if (waiting) {
      if (this.queued === 0) this.emit('empty');
      this.emit('next');
      this.checkRateLimit();
    }
  }

  // p-queue settles its rate-limit state once per tick of changes, then tells listeners.
  private checkRateLimit(): void {
    if (!this.limited || this.rateCheckQueued) return;
    this.rateCheckQueued = true;
    queueMicrotask(() => {
      this.rateCheckQueued = false;
      this.updateRateLimit();
    });
  }

  private updateRateLimit(): void {
    if (!this.limited) return;
    const wait = this.queued > 0 ? this.rate!.timeUntilNext() : 0;
    clearTimer(this.rateTimer);
    this.rateTimer = wait > 0 && wait !== Infinity ? setTimer(() => {
      this.rateTimer = undefined;
      this.updateRateLimit();
    }, wait) : undefined;
    const limited = wait > 0;
    if (limited === this.rateLimited) return;
    this.rateLimited = limited;
    this.emit(limited ? 'rateLimit' : 'rateLimitCleared');
  }

  private once1(events: PQueueEvent[], done: () => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const listener = (): void => {
        if (!done()) return;
        for (const e of events) this.off(e, listener);
        resolve();
      };
      for (const e of events) this.on(e, listener);
    });
  }
}
