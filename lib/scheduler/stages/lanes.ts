// Per-key lanes: at most `perKey` tasks of one key ready or running, the rest parked in
// order behind them; and key pauses (a 429 with Retry-After holds back its key only).
// The one stage that holds tasks itself, so it also answers the core's queue questions.

import { channels, type LanePauseMessage } from '../../diagnostics.js';
import { classify } from '../../resilience/classify.js';
import { retryAfterMs } from '../../resilience/retry-after.js';
import { clearTimer, setTimer, type TimerHandle } from '../../timer.js';
import { List } from '../list.js';
import { NOWHERE, PARKED, READY, type Node, type Settlement } from '../task.js';
import { ASIDE, type Stage } from './stage.js';

interface Lane {
  /** Tasks of this key that are ready to run or running. */
  active: number;
  parked: List<Node>;
  sleeping: number;
  pausedUntil: number;
  pauseTimer: TimerHandle | undefined;
  // Ready tasks moved back behind a pause keep their order ahead of the parked ones.
  lastReparked: Node | undefined;
}

/** What the lanes need of the core. */
export interface LaneHost {
  /** Puts a task released from its lane at the front of its priority level. */
  readyFront(node: Node): void;
  /** Takes a ready task out of its priority level. */
  unready(node: Node): void;
  /** Holds back every task until `ms` from now (a failure without a key). */
  pauseAll(ms: number): void;
  /** A key has no work, sleeper or pause left. */
  keyIdle(key: string): void;
  drain(): void;
}

export class Lanes implements Stage {
  private readonly lanes = new Map<string, Lane>();

  /**
   * `pauseOnWait`: a failure classify() calls 'wait' pauses its key for its Retry-After
   * (only schedulers that opted into resilience do this).
   */
  constructor(private readonly name: string | undefined, private readonly perKey: number, private readonly pauseOnWait: boolean, private readonly now: () => number,
    private readonly host: LaneHost) {}

  /** Keys with work, sleepers or a pause. */
  get size(): number {
    return this.lanes.size;
  }

  /** A queued task enters its lane: true when it may be ready, false when it was parked. */
  admit(node: Node): boolean {
    const x = node.x!;
    if (x.key === undefined) return true;
    const lane = this.laneFor(x.key);
    if (lane.active >= this.perKey || lane.pausedUntil !== 0) {
      x.where = PARKED;
      lane.parked.push(node);
      // Work waits on this pause again: its timer must keep the process alive.
      lane.pauseTimer?.ref();
      return false;
    }
    lane.active++;
    return true;
  }

  // A ready task already holds its lane's slot and is only held back by a pause; one
  // from outside the queue needs room in the lane too.
  wait(node: Node): number {
    const x = node.x!;
    if (x.key === undefined) return 0;
    const lane = this.lanes.get(x.key);
    if (x.where !== READY) return lane === undefined || (lane.active < this.perKey && lane.pausedUntil === 0) ? 0 : Infinity;
    if (lane!.pausedUntil === 0) return 0;
    this.repark(lane!, node);
    return ASIDE;
  }

  onStart(node: Node): void {
    const x = node.x!;
    if (x.key !== undefined && x.where === NOWHERE) this.laneFor(x.key).active++;
  }

  onSettle(node: Node, _ctx: unknown, outcome: Settlement): void {
    if (outcome.ok || !this.pauseOnWait || classify(outcome.value) !== 'wait') return;
    const ms = retryAfterMs(outcome.value);
    if (ms !== undefined && ms > 0) this.pause(node.x!.key, ms, outcome.value);
  }

  onRelease(node: Node): void {
    const key = node.x!.key;
    if (key !== undefined) this.release(key);
  }

  /**
   * Holds back `key` (or, without one, every task) until `ms` from now; extends, never
   * shortens. `error`: the failure whose Retry-After asked for it.
   */
  pause(key: string | undefined, ms: number, error?: unknown): void {
    if (key === undefined) {
      this.host.pauseAll(ms);
      this.published(key, ms, error);
      return;
    }
    const until = this.now() + ms;
    const lane = this.laneFor(key);
    if (until <= lane.pausedUntil) return;
    lane.pausedUntil = until;
    this.published(key, ms, error);
    clearTimer(lane.pauseTimer);
    // Infinity: no timer; the key stays paused.
    lane.pauseTimer = setTimer(() => this.unpause(key), Math.ceil(ms));
  }

  /** A ready task left the queue without starting (abort, drop): its lane slot is free. */
  readyLeft(node: Node): void {
    const key = node.x!.key;
    if (key !== undefined) this.release(key);
  }

  /** Same, while every queued task is rejected (clear, close): its parked ones go too. */
  readyRejected(node: Node): void {
    this.lanes.get(node.x!.key!)!.active--;
  }

  /** A parked task left its lane without starting. */
  unpark(node: Node): void {
    const key = node.x!.key!;
    const lane = this.lanes.get(key)!;
    if (lane.lastReparked === node) lane.lastReparked = node.prev;
    lane.parked.remove(node);
    this.forgetIfIdle(key, lane);
  }

  sleep(key: string): void {
    this.laneFor(key).sleeping++;
  }

  /** A sleeper woke up or left; `forget` when it leaves for good. */
  wake(key: string, forget: boolean): void {
    const lane = this.lanes.get(key)!;
    lane.sleeping--;
    if (forget) this.forgetIfIdle(key, lane);
  }

  /** Every lane's parked list, for the core to empty (clear, close without draining). */
  /** Every lane's parked tasks, to read or reprioritize in place (parkedLists() is for emptying). */
  *parkedInPlace(): IterableIterator<List<Node>> {
    for (const lane of this.lanes.values()) yield lane.parked;
  }

  *parkedLists(): IterableIterator<List<Node>> {
    for (const lane of this.lanes.values()) {
      yield lane.parked;
      lane.lastReparked = undefined;
    }
  }

  /** After the queue was emptied: what is left in a lane's count is its running tasks. */
  forgetIdle(): void {
    for (const [key, lane] of this.lanes) this.forgetIfIdle(key, lane);
  }

  /** The oldest parked task (the core looks in the priority levels first). */
  oldestParked(): Node | undefined {
    for (const lane of this.lanes.values()) if (lane.parked.size > 0) return lane.parked.head;
    return undefined;
  }

  /** The scheduler is idle: a key's pause outlives its work, but must not hold the process open (p-queue#163). */
  unrefTimers(): void {
    for (const lane of this.lanes.values()) lane.pauseTimer?.unref();
  }

  /** The scheduler closed: no task will wait on a pause again. */
  endPauses(): void {
    for (const [key, lane] of this.lanes) {
      clearTimer(lane.pauseTimer);
      lane.pauseTimer = undefined;
      lane.pausedUntil = 0;
      this.forgetIfIdle(key, lane);
    }
  }

  private published(key: string | undefined, ms: number, error: unknown): void {
    if (!channels.lanePause.hasSubscribers) return;
    const message: LanePauseMessage = { name: this.name, key, ms, error };
    channels.lanePause.publish(message);
  }

  private laneFor(key: string): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { active: 0, parked: new List<Node>(), sleeping: 0, pausedUntil: 0, pauseTimer: undefined, lastReparked: undefined };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private release(key: string): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.active--;
    if (lane.pausedUntil === 0) this.releaseParked(lane);
    this.forgetIfIdle(key, lane);
  }

  private unpause(key: string): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.pausedUntil = 0;
    lane.pauseTimer = undefined;
    lane.lastReparked = undefined;
    this.releaseParked(lane);
    this.forgetIfIdle(key, lane);
    this.host.drain();
  }

  // A ready task whose key was paused after it was queued goes back to its lane, ahead of
  // the tasks parked there, and gives up its lane slot until the pause ends.
  private repark(lane: Lane, node: Node): void {
    this.host.unready(node);
    lane.active--;
    node.x!.where = PARKED;
    if (lane.lastReparked === undefined) lane.parked.unshift(node);
    else lane.parked.insertAfter(lane.lastReparked, node);
    lane.lastReparked = node;
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
      node.x!.where = READY;
      this.host.readyFront(node);
    }
  }

  // A lane lives while it has work, sleepers or a pause, so the map does not grow with
  // keys that come and go.
  private forgetIfIdle(key: string, lane: Lane): void {
    if (lane.active > 0 || lane.parked.size > 0 || lane.sleeping > 0 || lane.pausedUntil !== 0) return;
    this.lanes.delete(key);
    this.host.keyIdle(key);
  }
}
