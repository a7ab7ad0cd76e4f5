// The scheduler's core: slots and the task lifecycle (queued → starting → running →
// settled, or → sleeping → queued), a fast path for a plain run(), one wake-up timer, and
// the admission stages (stages/) consulted in their fixed order (stages/stage.ts).

import { channels, traceAttempt, traceQueued, traceRetry, traceSettled } from '../diagnostics.js';
import { clearTimer, setTimer, type TimerHandle } from '../timer.js';
import { abortReason, describe } from '../validate.js';
import { invoke, type AttemptHost } from './attempt.js';
import { deferInContext, inCallerContext } from './context.js';
import { List } from './list.js';
import { TaskQueue } from './queue.js';
import type { AdaptiveStage } from './stages/adaptive-limit.js';
import type { BreakerStage } from './stages/breaker.js';
import type { GlobalGate } from './stages/global-gate.js';
import { buildStages, type StageConfig } from './stages/index.js';
import type { Lanes } from './stages/lanes.js';
import type { RateStage } from './stages/rate.js';
import { ASIDE, type Stage } from './stages/stage.js';
import { NOWHERE, SLEEPING, rejected, type Node, type Settlement, type TaskState } from './task.js';
import { Context, type ContextOwner } from './task-context.js';
import type { OnFull, RunOptions, TaskContext } from './types.js';

/** What the facade parsed from SchedulerOptions; the resilience parts are built already. */
export interface CoreConfig extends StageConfig {
  limit: number;
  maxQueued: number;
  onFull: OnFull;
  /** No option forces per-task bookkeeping: plain run() calls take the fast path. */
  plain: boolean;
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

export const now = (): number => performance.now();

export abstract class SchedulerCore extends TaskQueue implements ContextOwner, AttemptHost {
  protected limit: number;
  /** The `name` option: what diagnostics messages say the scheduler is. */
  readonly name: string | undefined;
  private readonly plain: boolean;
  protected readonly lanes: Lanes;
  protected readonly rate: RateStage | undefined;
  protected readonly adaptive: AdaptiveStage | undefined;
  private readonly breaker: BreakerStage | undefined;
  private readonly gate: GlobalGate | undefined;
  private readonly waits: Stage[];
  private readonly starts: Stage[];
  private readonly settles: Stage[];
  private readonly resumers = new List<Resumer>();

  protected active = 0; // slots taken (sum of weights)
  /** Told as each attempt of a task with options starts (PQueue's 'active' and runningTasks). */
  protected startHook: ((node: Node, ctx: Context) => void) | undefined = undefined;
  private draining = false;
  private pausedUntil = 0;
  private wakeTimer: TimerHandle | undefined;
  private wakeAt = Infinity;

  constructor(config: CoreConfig) {
    super(config.maxQueued, config.onFull);
    this.limit = config.limit;
    this.name = config.name;
    this.plain = config.plain;
    const self = this;
    const stages = buildStages(config, {
      get running() {
        return self.runningCount;
      },
      get queued() {
        return self.queued;
      },
      setLimit: (limit) => (this.limit = limit),
      killed: () => this.killed !== undefined,
      readyFront: (node) => this.levels.get(node.x!.priority).unshift(node),
      unready: (node) => this.levels.remove(node, node.x!.priority),
      pauseAll: (ms) => this.pauseAll(ms),
      drain: () => this.drain(),
      timedOut: () => this.timedOut++,
      failRunning: (node, err) => this.failRunning(node, err),
    }, now);
    this.lanes = stages.lanes;
    this.rate = stages.rate;
    this.adaptive = stages.adaptive;
    this.breaker = stages.breaker;
    this.gate = stages.gate;
    this.waits = stages.waits;
    this.starts = stages.starts;
    this.settles = stages.settles;
  }

  /** @internal */
  abstract _parent(): { run(task: (ctx: TaskContext) => unknown, options: RunOptions): Promise<unknown> } | undefined;
  /** @internal Options a child's attempt runs with in its parent. */
  abstract _parentOptions(ctx: Context, node: Node): RunOptions;
  /** Reads and checks run() options (the facade's job). */
  protected abstract parseOptions(options: RunOptions | undefined): TaskState;

  protected submit(fn: Node['fn'], options: RunOptions | undefined, waitForRoom: boolean): Promise<unknown> {
    if (typeof fn !== 'function') {
      return Promise.reject(new TypeError(`run(task): task must be a function, got ${describe(fn)}`));
    }
    // A traced task needs per-task state: it takes the general path.
    if (options === undefined && this.plain && !channels.task.hasSubscribers) {
      if (this.state !== 'open') return this.refuseClosed();
      const promise = new Promise(capture);
      const node: Node = { next: undefined, prev: undefined, fn, resolve: captured, x: undefined };
      if (!this.paused && this.queued === 0 && this.waitingRoom.size === 0 && this.active < this.limit &&
          this.pausedUntil === 0) {
        this.startTask(node, 1);
        return promise;
      }
      node.fn = inCallerContext(fn);
      this.enqueue(node, waitForRoom);
      if (this.active < this.limit) this.drain();
      return promise;
    }
    let x: TaskState;
    try {
      x = this.parseOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (x.signal?.aborted) return Promise.reject(abortReason(x.signal));
    if (this.state !== 'open') return this.refuseClosed();
    const promise = new Promise(capture);
    const node: Node = { next: undefined, prev: undefined, fn, resolve: captured, x };
    if (channels.task.hasSubscribers) x.trace = traceQueued(this.name, x.key, x.priority, x.weight, x.tokens, now());
    if (x.signal !== undefined) {
      x.onAbort = () => this.onAbort(node);
      x.signal.addEventListener('abort', x.onAbort, { once: true });
    }
    if (!this.paused && this.queued === 0 && this.waitingRoom.size === 0 && this.mayStart(node)) {
      this.startTask(node, this.need(x.weight));
      return promise;
    }
    x.runner = deferInContext();
    this.enqueue(node, waitForRoom);
    // Tasks parked behind a busy key leave `queued` non-zero with free slots: this one
    // may still be able to start.
    if (this.active < this.limit) this.drain();
    return promise;
  }

  private need(weight: number): number {
    return weight > this.limit ? this.limit : weight;
  }

  // A task from outside the queue: its slots, the scheduler's pause, then the stages.
  private mayStart(node: Node): boolean {
    return this.active + this.need(node.x!.weight) <= this.limit && this.pausedUntil === 0 && this.stagesWait(node) === 0;
  }

  private stagesWait(node: Node): number {
    const waits = this.waits;
    for (let i = 0; i < waits.length; i++) {
      const ms = waits[i]!.wait!(node);
      if (ms !== 0) return ms;
    }
    return 0;
  }

  private startTask(node: Node, taken: number): void {
    this.active += taken;
    this.runningCount++;
    const x = node.x;
    if (x === undefined) {
      invoke(this, node, new Context(this, 1, undefined, 1), undefined, undefined);
      return;
    }
    x.taken = taken;
    x.attempt++;
    const ctx = new Context(this, x.attempt, x.key, taken);
    x.ctx = ctx;
    const starts = this.starts;
    for (let i = 0; i < starts.length; i++) starts[i]!.onStart!(node, ctx);
    x.where = NOWHERE;
    if (this.startHook !== undefined) this.startHook(node, ctx);
    const breaker = this.breaker?.forKey(x.key);
    if (x.trace !== undefined) {
      ctx.trace = x.trace;
      if (x.runner === undefined) traceAttempt(x.trace, x.attempt, now(), invoke, this, node, ctx, breaker, this.gate);
      else x.runner(traceAttempt, x.trace, x.attempt, now(), invoke, this, node, ctx, breaker, this.gate);
    } else if (x.runner === undefined) {
      invoke(this, node, ctx, breaker, this.gate);
    } else {
      x.runner(invoke, this, node, ctx, breaker, this.gate);
    }
  }

  /** @internal Called once per started attempt, when its function settles. */
  _finish(node: Node, ctx: Context, ok: boolean, value: unknown): void {
    ctx.done = true;
    // Fixed rate windows with carryover count an attempt until it ends.
    ctx.charge?.release();
    if (ctx.controller !== undefined) this.watched.delete(ctx);
    this.runningCount--;
    const x = node.x;
    if (ctx.slotHeld) this.active -= ctx.taken;
    if (x === undefined) {
      this.record(node, ok, value);
    } else {
      const outcome: Settlement = { ok, value, retryIn: -1 };
      const settles = this.settles;
      for (let i = 0; i < settles.length; i++) settles[i]!.onSettle!(node, ctx, outcome);
      if (outcome.retryIn >= 0) {
        if (x.trace !== undefined || channels.retry.hasSubscribers) {
          traceRetry(this.name, x, outcome.retryIn, outcome.value, now());
        }
        this.sleep(node, outcome.retryIn);
      } else {
        if (x.onAbort !== undefined) x.signal!.removeEventListener('abort', x.onAbort);
        if (!x.settled) {
          x.settled = true;
          if (x.trace !== undefined) traceSettled(x.trace, outcome.ok ? 'completed' : 'failed', outcome.ok, outcome.value);
          this.record(node, outcome.ok, outcome.value);
        }
      }
      this.lanes.onRelease(node);
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
    this.emitFailed(value);
  }

  /** Tells 'error' listeners of a failed task; PQueue tells them earlier, in p-queue's order. */
  protected emitFailed(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  protected drain(): void {
    this.resumeYielded();
    if (this.paused || this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        this.admitWaiting();
        const level = this.levels.top();
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
        if (x !== undefined) {
          const ms = this.stagesWait(node);
          if (ms === ASIDE) continue;
          if (ms > 0) {
            if (ms !== Infinity) this.wakeUpAt(now() + ms);
            break;
          }
        }
        this.levels.shiftFrom(level);
        this.queued--;
        this.startTask(node, taken);
      }
    } finally {
      this.draining = false;
    }
    this.wakeProducers();
  }

  // One timer for the whole scheduler, for the earliest moment a pause or a stage lets
  // the head start. It is cleared as soon as nothing waits for it.
  private wakeUpAt(at: number): void {
    if (this.wakeTimer !== undefined && this.wakeAt <= at) return;
    clearTimer(this.wakeTimer);
    this.wakeAt = at;
    // Infinity (a pause without end) arms nothing: only a later, earlier wait re-arms it.
    this.wakeTimer = setTimer(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Infinity;
      this.drain();
    }, Math.max(0, Math.ceil(at - now())));
  }

  // With maxQueued 0, 'wait' is a rendezvous: a waiting caller starts only when a slot is free.
  private startWaitingDirectly(): boolean {
    const node = this.waitingRoom.head;
    if (node === undefined || this.queued > 0) return false;
    const x = node.x;
    if (x === undefined ? this.active >= this.limit : !this.mayStart(node)) return false;
    this.waitingRoom.shift();
    if (x !== undefined) x.where = NOWHERE;
    this.startTask(node, x === undefined ? 1 : this.need(x.weight));
    return true;
  }

  protected afterRemoval(): void {
    this.wakeProducers();
    if (!this.isIdle()) return;
    if (this.wakeTimer !== undefined) {
      clearTimer(this.wakeTimer);
      this.wakeTimer = undefined;
      this.wakeAt = Infinity;
    }
    this.lanes.unrefTimers();
    this.wakeIdleWaiters();
    if (this.state === 'closing') {
      this.state = 'closed';
      this.lanes.endPauses();
      const resolve = this.closeResolve!;
      if (this.gate === undefined) resolve();
      else this.gate.close(resolve);
    }
    this.emitIdle();
  }

  /** Tells 'idle' listeners; PQueue holds it back to keep p-queue's order of events. */
  protected emitIdle(): void {
    if (this.listenerCount('idle') > 0) this.emit('idle');
  }

  // The task gives its slot back while it waits, then queues again like anyone else
  // (and past a full queue: it was admitted once and is never lost for want of room).
  private sleep(node: Node, delay: number): void {
    const x = node.x!;
    this.retried++;
    x.where = SLEEPING;
    this.sleepers.push(node);
    if (x.key !== undefined) this.lanes.sleep(x.key);
    x.timer = setTimer(() => {
      x.timer = undefined;
      this.wake(node);
      this.drain();
    }, delay);
  }

  private wake(node: Node): void {
    const x = node.x!;
    this.sleepers.remove(node);
    x.where = NOWHERE;
    if (x.key !== undefined) this.lanes.wake(x.key, false);
    this.admit(node);
  }

  private pauseAll(ms: number): void {
    const until = now() + ms;
    if (until > this.pausedUntil) this.pausedUntil = until;
    this.wakeUpAt(this.pausedUntil);
  }

  // ---- what a running task's ctx asks of its scheduler --------------------------------

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
      ctx.relet = await this.gate.enterLease(ctx);
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
  private resumeYielded(): void {
    for (let r = this.resumers.head; r !== undefined; r = this.resumers.head) {
      if (!r.ctx.done && this.active + r.ctx.taken > this.limit) break;
      this.resumers.shift();
      this.takeBack(r.ctx);
      r.resolve();
    }
  }

  /** @internal A running task corrected its token charge: a refund may let the head start. */
  _tokensCorrected(): void {
    this.drain();
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
