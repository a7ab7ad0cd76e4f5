// Admission control for async tasks: a bounded queue in front of a concurrency limit,
// with priorities, per-key lanes, weights, cancellation and timeouts. Tasks that use none
// of those take a fast path: one plain node in one linked FIFO, no timers, no listeners.

import { EventEmitter, setMaxListeners } from 'node:events';
import { ClosedError, DroppedError, QueueFullError, TimeoutError } from '../errors.js';
import { captureContext, type Runner } from './context.js';
import { List } from './list.js';
import { abortReason, checkDuration, checkInteger, checkOptionsObject, checkSignal, describe } from './validate.js';

export type OnFull = 'reject' | 'wait' | 'drop-oldest';

export interface SchedulerOptions {
  /** Slots for running tasks (a task takes `weight` slots). Integer >= 1 or Infinity; settable later. */
  concurrency: number;
  /** Admitted tasks waiting to start. Default 100_000. */
  maxQueued?: number;
  /** What `run()` does when `maxQueued` tasks already wait. Default 'reject'. */
  onFull?: OnFull;
  /** Running (or ready-to-run) tasks per key; 1 makes each key a serial lane. Default Infinity. */
  perKey?: number;
  /** Default per-attempt timeout in ms for every task. Default none. */
  timeout?: number;
}

export interface RunOptions {
  /** Lane key: at most `perKey` tasks of one key run at once; exposed as `ctx.key`. */
  key?: string;
  /** Higher runs first; FIFO within a priority. Default 0. */
  priority?: number;
  /** Aborting removes a queued task at once, or aborts `ctx.signal` of a running one. */
  signal?: AbortSignal;
  /** Per-attempt timeout in ms, counted from the start of the task. */
  timeout?: number;
  /** Slots this task takes. Default 1. */
  weight?: number;
}

export interface TaskContext {
  /** Aborts when the task's signal aborts, its timeout fires, or the scheduler closes without draining. */
  readonly signal: AbortSignal;
  readonly attempt: number;
  readonly key: string | undefined;
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
  completed: number;
  /** Started tasks that rejected: threw, timed out, or were aborted while running. */
  failed: number;
  /** Refused at admission: queue full or scheduler closed. */
  rejected: number;
  dropped: number;
  retried: number;
  timedOut: number;
  /** Removed from the queue by their signal, `clear()` or `close({ drain: false })` before starting. */
  cancelled: number;
  concurrency: number;
}

const enum Where { None, Ready, Parked, Waiting }

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
  active: number;
  parked: List<Node>;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
}

let captured: (value: unknown) => void;
function capture(resolve: (value: unknown) => void): void {
  captured = resolve;
}

class Context implements TaskContext {
  attempt = 1;
  readonly key: string | undefined;
  controller: AbortController | undefined = undefined;
  reason: unknown = undefined;
  aborted = false;
  done = false;

  constructor(private readonly owner: Scheduler) {
    this.key = undefined;
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

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

class KeyedContext extends Context {
  override readonly key: string | undefined;

  constructor(owner: Scheduler, key: string | undefined) {
    super(owner);
    this.key = key;
  }
}

async function invoke(s: Scheduler, node: Node, ctx: Context): Promise<void> {
  let ok = true;
  let value: unknown;
  try {
    value = await node.fn(ctx);
  } catch (err) {
    ok = false;
    value = err;
  }
  s._finish(node, ctx, ok, value);
}

const ON_FULL: readonly OnFull[] = ['reject', 'wait', 'drop-oldest'];

export class Scheduler extends EventEmitter {
  private limit: number;
  private readonly maxQueued: number;
  private readonly onFull: OnFull;
  private readonly perKey: number;
  private readonly defaultTimeout: number;

  private active = 0; // slots taken (sum of weights)
  private runningCount = 0;
  private queued = 0;
  private paused = false;
  private draining = false;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private killed: unknown = undefined;
  private closePromise: Promise<void> | undefined;
  private closeResolve: (() => void) | undefined;

  private readonly main = new Level(0);
  private levels: Level[] = [this.main];
  private readonly byPriority = new Map<number, Level>([[0, this.main]]);
  private readonly lanes = new Map<string, Lane>();
  private readonly waitingRoom = new List<Node>();
  private readonly watched = new Set<Context>();
  private readyWaiters: Waiter[] = [];
  private idleWaiters: Array<() => void> = [];

  private completed = 0;
  private failed = 0;
  private rejected = 0;
  private dropped = 0;
  private timedOut = 0;
  private cancelled = 0;

  constructor(options: SchedulerOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Scheduler options must be an object, got ${describe(options)}`);
    }
    this.limit = checkInteger('concurrency', options.concurrency, 1, true);
    this.maxQueued = checkInteger('maxQueued', options.maxQueued ?? 100_000, 0);
    const onFull = options.onFull ?? 'reject';
    if (!ON_FULL.includes(onFull)) {
      throw new TypeError(`onFull must be one of ${ON_FULL.join(', ')}, got ${describe(onFull)}`);
    }
    this.onFull = onFull;
    this.perKey = checkInteger('perKey', options.perKey ?? Infinity, 1, true);
    this.defaultTimeout = options.timeout === undefined ? Infinity : checkDuration('timeout', options.timeout, 1);
  }

  get concurrency(): number {
    return this.limit;
  }

  set concurrency(value: number) {
    this.limit = checkInteger('concurrency', value, 1, true);
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
  async map<I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>,
    options?: MapOptions): Promise<Array<O | Settled<O>>> {
    if (typeof fn !== 'function') throw new TypeError(`map(items, fn): fn must be a function, got ${describe(fn)}`);
    checkOptionsObject('options', options);
    const iterator = openIterator(items);
    const { settle = false, signal: outer, ...runOptions } = options ?? {};
    checkSignal('signal', outer);
    if (outer?.aborted) throw abortReason(outer);

    const own = new AbortController();
    // Every outstanding task of this call listens on it; that is by design, not a leak.
    setMaxListeners(0, own.signal);
    const onOuterAbort = (): void => own.abort(abortReason(outer!));
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const taskOptions: RunOptions = { ...runOptions, signal: own.signal };
    const window = Math.max(1, this.maxQueued + (Number.isFinite(this.limit) ? this.limit : 0));
    const results: Array<O | Settled<O>> = [];
    let outstanding = 0;
    let failure: { reason: unknown } | undefined;
    let wake: (() => void) | undefined;
    const signalProgress = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const fail = (reason: unknown): void => {
      if (failure === undefined) {
        failure = { reason };
        own.abort(reason);
      }
      signalProgress();
    };
    own.signal.addEventListener('abort', () => fail(own.signal.reason), { once: true });

    let exhausted = false;
    try {
      for (let index = 0; ; index++) {
        while (outstanding >= window && failure === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
        }
        if (failure !== undefined) break;
        let step = iterator.next();
        if (iterator.async) step = await step;
        const { done, value } = step as IteratorResult<I>;
        if (done) {
          exhausted = true;
          break;
        }
        if (failure !== undefined) break;
        results.push(undefined as O);
        outstanding++;
        const i = index;
        this.submit(settle ? (ctx) => fn(value, ctx) : failFast(fn, value, fail), taskOptions, true).then(
          (v) => {
            results[i] = settle ? { status: 'fulfilled', value: v as O } : (v as O);
            outstanding--;
            signalProgress();
          },
          (reason: unknown) => {
            outstanding--;
            if (settle && failure === undefined) results[i] = { status: 'rejected', reason };
            else fail(reason);
            signalProgress();
          },
        );
      }
      while (outstanding > 0 && failure === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure !== undefined) throw failure.reason;
      return results;
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
      if (!exhausted) {
        // Lets a generator run its `finally` blocks; errors from that cleanup are not ours.
        try {
          const r = iterator.return();
          if (iterator.async) await r;
        } catch {
          /* the iterator's own cleanup failed; the map's outcome stands */
        }
      }
      if (failure === undefined) own.abort(new ClosedError('map finished'));
    }
  }

  /** Resolves when the queue has room for another task (producer backpressure). */
  ready(): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new ClosedError('scheduler is closed'));
    if (this.queued + this.waitingRoom.size < this.maxQueued) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Resolves when nothing is queued and nothing runs. */
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

  /** Rejects every queued (and waiting-for-room) task with ClosedError; running tasks go on. */
  clear(): void {
    this.rejectQueued(() => new ClosedError('queue cleared'));
    this.afterRemoval();
  }

  /**
   * Stops admission. With `drain` (default) queued and running work finishes first; without,
   * queued tasks reject with ClosedError and running tasks see `ctx.signal` abort. Resolves
   * once nothing runs. Tasks waiting for room (onFull 'wait') are refused in both modes.
   */
  close(options?: { drain?: boolean }): Promise<void> {
    checkOptionsObject('options', options);
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
      completed: this.completed,
      failed: this.failed,
      rejected: this.rejected,
      dropped: this.dropped,
      retried: 0,
      timedOut: this.timedOut,
      cancelled: this.cancelled,
      concurrency: this.limit,
    };
  }

  // ---- admission -------------------------------------------------------------------

  private submit(fn: Task<unknown>, options: RunOptions | undefined, waitForRoom: boolean): Promise<unknown> {
    if (typeof fn !== 'function') {
      return Promise.reject(new TypeError(`run(task): task must be a function, got ${describe(fn)}`));
    }
    if (options === undefined && this.defaultTimeout === Infinity) {
      if (this.state !== 'open') return this.refuseClosed();
      const promise = new Promise(capture);
      const node: Node = { next: undefined, prev: undefined, fn, resolve: captured, x: undefined };
      if (!this.paused && this.queued === 0 && this.waitingRoom.size === 0 && this.active < this.limit) {
        this.start(node, 1);
        return promise;
      }
      const runner = captureContext();
      if (runner !== undefined) node.x = makeExt(undefined, 0, 1, undefined, Infinity, runner);
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
    if (!this.paused && this.queued === 0 && this.waitingRoom.size === 0 && this.fits(x)) {
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
    checkOptionsObject('options', options);
    const key = options?.key;
    if (key !== undefined && typeof key !== 'string') throw new TypeError(`key must be a string, got ${describe(key)}`);
    const priority = options?.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new TypeError(`priority must be a finite number, got ${describe(priority)}`);
    }
    const weight = checkInteger('weight', options?.weight ?? 1, 1);
    if (weight > this.limit) throw new RangeError(`weight ${weight} exceeds concurrency ${this.limit}`);
    const signal = checkSignal('signal', options?.signal);
    const timeout = options?.timeout === undefined ? this.defaultTimeout : checkDuration('timeout', options.timeout, 1);
    return makeExt(key, priority, weight, signal, timeout, undefined);
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
    if (x.key !== undefined && this.perKey !== Infinity) {
      let lane = this.lanes.get(x.key);
      if (lane === undefined) {
        lane = { active: 0, parked: new List<Node>() };
        this.lanes.set(x.key, lane);
      }
      if (lane.active >= this.perKey) {
        x.where = Where.Parked;
        lane.parked.push(node);
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
    if (x.key === undefined || this.perKey === Infinity) return true;
    const lane = this.lanes.get(x.key);
    return lane === undefined || lane.active < this.perKey;
  }

  private start(node: Node, taken: number): void {
    this.active += taken;
    this.runningCount++;
    const x = node.x;
    if (x === undefined) {
      invoke(this, node, new Context(this));
      return;
    }
    if (x.key !== undefined && this.perKey !== Infinity && x.where === Where.None) this.laneFor(x.key).active++;
    x.where = Where.None;
    x.taken = taken;
    const ctx = x.key === undefined ? new Context(this) : new KeyedContext(this, x.key);
    x.ctx = ctx;
    if (x.timeout !== Infinity) x.timer = setTimeout(() => this.onTimeout(node), x.timeout);
    if (x.runner === undefined) invoke(this, node, ctx);
    else x.runner(invoke, this, node, ctx);
  }

  /** @internal Called once per started task, when its function settles. */
  _finish(node: Node, ctx: Context, ok: boolean, value: unknown): void {
    ctx.done = true;
    if (ctx.controller !== undefined) this.watched.delete(ctx);
    this.runningCount--;
    const x = node.x;
    if (x === undefined) {
      this.active--;
      this.record(node, ok, value);
    } else {
      this.active -= x.taken;
      if (x.timer !== undefined) clearTimeout(x.timer);
      if (x.onAbort !== undefined) x.signal!.removeEventListener('abort', x.onAbort);
      if (!x.settled) {
        x.settled = true;
        this.record(node, ok, value);
      }
      if (x.key !== undefined && this.perKey !== Infinity) this.releaseLane(x.key);
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
        const taken = node.x === undefined ? 1 : this.need(node.x.weight);
        // Strict FIFO on weight: a heavy head is never overtaken, so it cannot starve.
        if (this.active + taken > this.limit) break;
        this.shiftFrom(level);
        this.queued--;
        this.start(node, taken);
      }
    } finally {
      this.draining = false;
    }
    this.wakeProducers();
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
    if (node.x === undefined ? this.active >= this.limit : !this.fits(node.x)) return false;
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
    return this.runningCount === 0 && this.queued === 0 && this.waitingRoom.size === 0;
  }

  private afterRemoval(): void {
    this.wakeProducers();
    if (!this.isIdle()) return;
    if (this.idleWaiters.length > 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    if (this.state === 'closing') {
      this.state = 'closed';
      this.closeResolve!();
    }
    if (this.listenerCount('idle') > 0) this.emit('idle');
  }

  // ---- cancellation ------------------------------------------------------------------

  private onAbort(node: Node): void {
    const x = node.x!;
    const reason = abortReason(x.signal!);
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
    x.settled = true;
    const err = new TimeoutError(`task timed out after ${x.timeout} ms`);
    this.failed++;
    this.timedOut++;
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
      if (x?.key !== undefined && this.perKey !== Infinity) this.releaseLane(x.key);
    } else if (x.where === Where.Parked) {
      const lane = this.lanes.get(x.key!)!;
      lane.parked.remove(node);
      this.queued--;
      if (lane.active === 0 && lane.parked.size === 0) this.lanes.delete(x.key!);
    } else if (x.where === Where.Waiting) {
      this.waitingRoom.remove(node);
    }
    if (x !== undefined) x.where = Where.None;
  }

  private rejectQueued(reason: () => Error): void {
    this.rejectList(this.waitingRoom, reason);
    for (const level of this.levels) this.rejectList(level, reason);
    for (const lane of this.lanes.values()) this.rejectList(lane.parked, reason);
    this.levels = [this.main];
    this.byPriority.clear();
    this.byPriority.set(0, this.main);
    // What is left in a lane's count is its running tasks; they release it as they finish.
    for (const [key, lane] of this.lanes) if (lane.active <= 0) this.lanes.delete(key);
  }

  // Nodes of the waiting room were never admitted: they count as refused, not cancelled.
  private rejectList(list: List<Node>, reason: () => Error): void {
    const admitted = list !== this.waitingRoom;
    for (let node = list.shift(); node !== undefined; node = list.shift()) {
      const x = node.x;
      if (admitted) {
        this.queued--;
        this.cancelled++;
      } else {
        this.rejected++;
      }
      if (x?.where === Where.Ready && x.key !== undefined && this.perKey !== Infinity) this.lanes.get(x.key)!.active--;
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
      lane = { active: 0, parked: new List<Node>() };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private releaseLane(key: string): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.active--;
    const next = lane.parked.shift();
    if (next !== undefined) {
      // A parked task already waited its turn behind its own key: it goes to the front.
      lane.active++;
      next.x!.where = Where.Ready;
      this.level(next.x!.priority).unshift(next);
    } else if (lane.active <= 0) {
      this.lanes.delete(key);
    }
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

function makeExt(key: string | undefined, priority: number, weight: number, signal: AbortSignal | undefined,
  timeout: number, runner: Runner | undefined): Ext {
  return {
    key, priority, weight, taken: 0, signal, onAbort: undefined, timeout, timer: undefined, runner,
    where: Where.None, ctx: undefined, settled: false,
  };
}

// Records the failure before the task's promise settles, so the scheduler cancels the
// map's other tasks before it would start the next one.
function failFast<I, O>(fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>, item: I,
  fail: (reason: unknown) => void): Task<O> {
  return async (ctx) => {
    try {
      return await fn(item, ctx);
    } catch (err) {
      fail(err);
      throw err;
    }
  };
}

function rejected(reason: unknown): Promise<never> {
  return Promise.reject(reason);
}

interface AnyIterator<I> {
  async: boolean;
  next(): IteratorResult<I> | Promise<IteratorResult<I>>;
  return(): unknown;
}

function openIterator<I>(items: Iterable<I> | AsyncIterable<I>): AnyIterator<I> {
  if (items !== null && typeof items === 'object' || typeof items === 'function') {
    const asyncOpen = (items as AsyncIterable<I>)[Symbol.asyncIterator];
    if (typeof asyncOpen === 'function') {
      const it = asyncOpen.call(items);
      return { async: true, next: () => it.next(), return: () => it.return?.() };
    }
  }
  const open = items == null ? undefined : (items as Iterable<I>)[Symbol.iterator];
  if (typeof open !== 'function') throw new TypeError(`map(items): items must be iterable or async iterable, got ${describe(items)}`);
  const it = open.call(items);
  return { async: false, next: () => it.next(), return: () => it.return?.() };
}
