// The scheduler's queue: priority levels, the lanes' parked tasks, the waiting room
// (onFull 'wait') and the sleepers; admission into them, and every way out short of
// starting: abort, drop, clear, pause, close. core.ts starts what this holds.

import { EventEmitter } from 'node:events';
import { traceSettled, type TaskOutcome } from '../diagnostics.js';
import { ClosedError, DroppedError, QueueFullError } from '../errors.js';
import { clearTimer } from '../timer.js';
import { abortReason } from '../validate.js';
import { List } from './list.js';
import { Levels } from './levels.js';
import type { Lanes } from './stages/lanes.js';
import { NOWHERE, PARKED, READY, SLEEPING, WAITING, rejected, type Node, type TaskState } from './task.js';
import type { Context } from './task-context.js';
import type { OnFull } from './types.js';

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
}

// PQueue numbers the tasks added without an id; they are found by that number's string.
function sameId(own: string | number | undefined, id: string): boolean {
  return own === id || (typeof own === 'number' && String(own) === id);
}

export abstract class TaskQueue extends EventEmitter {
  protected readonly levels = new Levels();
  protected readonly main = this.levels.main;
  protected readonly waitingRoom = new List<Node>();
  protected readonly sleepers = new List<Node>();
  protected abstract readonly lanes: Lanes;
  private readyWaiters: Waiter[] = [];
  private idleWaiters: Array<() => void> = [];

  protected runningCount = 0;
  protected queued = 0;
  protected paused = false;
  protected state: 'open' | 'closing' | 'closed' = 'open';
  /** Set by close({ drain: false }): what running tasks' signals abort with. */
  protected killed: unknown = undefined;
  private closePromise: Promise<void> | undefined;
  protected closeResolve: (() => void) | undefined;
  /** Running attempts whose ctx.signal was read: close({ drain: false }) aborts them. */
  protected readonly watched = new Set<Context>();

  protected completed = 0;
  protected failed = 0;
  protected rejected = 0;
  protected dropped = 0;
  protected retried = 0;
  protected timedOut = 0;
  protected cancelled = 0;

  constructor(protected readonly maxQueued: number, protected readonly onFull: OnFull) {
    super();
  }

  protected abstract drain(): void;
  /** After a task left (settled, cancelled, refused): wakes producers, idle waiters and close(). */
  protected abstract afterRemoval(): void;

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

  protected refuseClosed(): Promise<never> {
    this.rejected++;
    return Promise.reject(new ClosedError('scheduler is closed'));
  }

  protected enqueue(node: Node, waitForRoom: boolean): void {
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
        if (node.x !== undefined) node.x.where = WAITING;
        this.waitingRoom.push(node);
        this.emitFull();
        return;
      }
      const victim = this.levels.oldest() ?? this.lanes.oldestParked();
      const priority = node.x?.priority ?? 0;
      if (victim === undefined || (victim.x?.priority ?? 0) > priority) {
        this.dropped++;
        this.settle(node, new DroppedError('dropped: queue full of higher-priority tasks'), 'dropped');
        return;
      }
      this.unqueue(victim);
      this.dropped++;
      this.settle(victim, new DroppedError(), 'dropped');
    }
    this.admit(node);
    if (this.queued === this.maxQueued) this.emitFull();
  }

  private refuse(node: Node, err: Error): void {
    this.rejected++;
    if (node.x?.onAbort !== undefined) node.x.signal!.removeEventListener('abort', node.x.onAbort);
    if (node.x?.trace !== undefined) traceSettled(node.x.trace, 'rejected', false, err);
    node.resolve(rejected(err));
    this.emitFull();
  }

  /** Into its lane, or ready in its priority level. */
  protected admit(node: Node): void {
    this.queued++;
    const x = node.x;
    if (x === undefined) {
      this.main.push(node);
      return;
    }
    if (!this.lanes.admit(node)) return;
    x.where = READY;
    this.levels.get(x.priority).push(node);
  }

  protected admitWaiting(): void {
    while (this.waitingRoom.size > 0 && this.queued < this.maxQueued) {
      const node = this.waitingRoom.shift()!;
      if (node.x !== undefined) node.x.where = NOWHERE;
      this.admit(node);
    }
  }

  protected wakeProducers(): void {
    if (this.readyWaiters.length > 0 && this.queued + this.waitingRoom.size < this.maxQueued) {
      for (const w of this.readyWaiters.splice(0)) w.resolve();
    }
  }

  protected refuseProducers(): void {
    for (const w of this.readyWaiters.splice(0)) w.reject(new ClosedError('scheduler is closed'));
  }

  protected wakeIdleWaiters(): void {
    if (this.idleWaiters.length > 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  protected emitFull(): void {
    if (this.listenerCount('full') > 0) this.emit('full');
  }

  protected isIdle(): boolean {
    return this.runningCount === 0 && this.queued === 0 && this.waitingRoom.size === 0 && this.sleepers.size === 0;
  }

  /** Rejects a task that is not running with `reason`, detaching its signal. */
  protected settle(node: Node, reason: unknown, outcome: TaskOutcome): void {
    const x = node.x;
    if (x !== undefined) {
      x.settled = true;
      x.where = NOWHERE;
      if (x.onAbort !== undefined) x.signal!.removeEventListener('abort', x.onAbort);
      if (x.trace !== undefined) traceSettled(x.trace, outcome, false, reason);
    }
    node.resolve(rejected(reason));
  }

  /** Takes a task that has not started out of whichever list holds it (not the sleepers). */
  protected unqueue(node: Node): void {
    const x = node.x;
    if (x === undefined || x.where === READY) {
      this.levels.remove(node, x?.priority ?? 0);
      this.queued--;
      if (x?.key !== undefined) this.lanes.readyLeft(node);
    } else if (x.where === PARKED) {
      this.queued--;
      this.lanes.unpark(node);
    } else if (x.where === WAITING) {
      this.waitingRoom.remove(node);
    }
    if (x !== undefined) x.where = NOWHERE;
  }

  protected rejectQueued(reason: () => unknown): void {
    this.rejectList(this.waitingRoom, reason);
    for (const level of this.levels.all()) this.rejectList(level, reason);
    for (const parked of this.lanes.parkedLists()) this.rejectList(parked, reason);
    this.rejectList(this.sleepers, reason);
    this.levels.reset();
    this.lanes.forgetIdle();
  }

  // Waiting-room nodes were never admitted (refused); sleeping ones had started (failed).
  protected rejectList(list: List<Node>, reason: () => unknown): void {
    for (let node = list.shift(); node !== undefined; node = list.shift()) {
      const x = node.x;
      let outcome: TaskOutcome = 'cancelled';
      if (list === this.waitingRoom) {
        this.rejected++;
        outcome = 'rejected';
      } else if (list === this.sleepers) {
        this.failed++;
        outcome = 'failed';
        clearTimer(x!.timer);
        x!.timer = undefined;
        if (x!.key !== undefined) this.lanes.wake(x!.key, false);
      } else {
        this.queued--;
        this.cancelled++;
        if (x?.where === READY && x.key !== undefined) this.lanes.readyRejected(node);
      }
      this.settle(node, reason(), outcome);
    }
  }

  /** Moves a task that has not started to another priority; false when no such task waits. */
  protected reprioritize(id: string, priority: number): boolean {
    for (const level of this.levels.all()) {
      for (let node = level.head; node !== undefined; node = node.next) {
        const x = node.x;
        if (x === undefined || !sameId(x.id, id)) continue;
        this.levels.remove(node, x.priority);
        x.priority = priority;
        this.levels.get(priority).push(node);
        return true;
      }
    }
    // Parked, waiting for room or sleeping: the new priority applies when it becomes ready.
    for (const list of [...this.lanes.parkedInPlace(), this.waitingRoom, this.sleepers]) {
      for (let node = list.head; node !== undefined; node = node.next) {
        if (node.x === undefined || !sameId(node.x.id, id)) continue;
        node.x.priority = priority;
        return true;
      }
    }
    return false;
  }

  /** Queued tasks (ready or parked) whose state passes `match`; plain tasks have none. */
  protected countQueued(match: (x: TaskState | undefined) => boolean): number {
    let n = 0;
    for (const list of [...this.levels.all(), ...this.lanes.parkedInPlace()]) {
      for (let node = list.head; node !== undefined; node = node.next) if (match(node.x)) n++;
    }
    return n;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drain();
  }

  /**
   * Rejects every queued, waiting-for-room and retrying task with ClosedError, or with
   * `reason` when one is given (limit()'s rejectOnClear gives an AbortError); running tasks go on.
   */
  clear(reason?: unknown): void {
    this.rejectQueued(reason === undefined ? () => new ClosedError('queue cleared') : () => reason);
    this.afterRemoval();
  }

  protected closeCore(drain: boolean): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      this.closePromise = new Promise<void>((resolve) => (this.closeResolve = resolve));
      this.rejectList(this.waitingRoom, () => new ClosedError('scheduler closed while waiting for room'));
      this.refuseProducers();
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

  protected onAbort(node: Node): void {
    const x = node.x!;
    const reason = abortReason(x.signal!);
    if (x.where === SLEEPING) {
      clearTimer(x.timer);
      x.timer = undefined;
      this.sleepers.remove(node);
      x.where = NOWHERE;
      if (x.key !== undefined) this.lanes.wake(x.key, true);
      x.settled = true;
      this.failed++;
      if (x.trace !== undefined) traceSettled(x.trace, 'failed', false, reason);
      node.resolve(rejected(reason));
      this.afterRemoval();
      return;
    }
    if (x.where !== NOWHERE) {
      this.unqueue(node);
      this.cancelled++;
      this.settle(node, reason, 'cancelled');
      this.drain();
      this.afterRemoval();
      return;
    }
    if (x.settled || x.ctx === undefined) return;
    this.failRunning(node, reason);
  }

  protected failRunning(node: Node, err: unknown): void {
    const x = node.x!;
    x.settled = true;
    this.failed++;
    if (x.trace !== undefined) traceSettled(x.trace, 'failed', false, err);
    node.resolve(rejected(err));
    x.ctx!.abort(err);
  }
}
