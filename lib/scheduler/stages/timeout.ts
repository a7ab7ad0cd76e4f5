// Per-attempt timeouts: armed as an attempt starts, cleared as it settles. A timeout the
// task may still retry only aborts the attempt; the last one rejects the task at once.

import { TimeoutError } from '../../errors.js';
import { clearTimer, setTimer } from '../../timer.js';
import type { Node, Settlement } from '../task.js';
import type { Context } from '../task-context.js';
import type { Stage } from './stage.js';

export interface TimeoutHost {
  /** Why the global store cannot be reached, when that is what the attempt waits on. */
  storeDown(ctx: Context): Error | undefined;
  /** Counts a timed-out attempt. */
  timedOut(): void;
  /** Rejects a running task now; its function's outcome is ignored when it comes. */
  failRunning(node: Node, err: unknown): void;
  /** The scheduler's load, for the message: why did this attempt take so long? */
  state(): string;
}

export class TimeoutStage implements Stage {
  constructor(private readonly host: TimeoutHost) {}

  onStart(node: Node): void {
    const x = node.x!;
    x.timer = setTimer(() => this.fire(node), x.timeout);
  }

  onSettle(node: Node, ctx: Context, outcome: Settlement): void {
    const x = node.x!;
    clearTimer(x.timer);
    x.timer = undefined;
    if (x.attemptTimedOut) {
      outcome.ok = false;
      outcome.value = ctx.reason;
      x.attemptTimedOut = false;
    }
  }

  private fire(node: Node): void {
    const x = node.x!;
    x.timer = undefined;
    if (x.settled) return;
    // Still waiting at the gate because the store is down: say so, not just "timed out".
    const err = this.host.storeDown(x.ctx!) ?? new TimeoutError(
      `${x.id === undefined ? '' : `task ${JSON.stringify(String(x.id))} `}attempt ${x.attempt} timed out after ${x.timeout} ms (${this.host.state()})`);
    this.host.timedOut();
    if (x.retry !== undefined && x.attempt <= x.retry.retries) {
      // The attempt may be retried: its outcome is decided when its function returns.
      x.attemptTimedOut = true;
      x.ctx!.abort(err);
      return;
    }
    this.host.failRunning(node, err);
  }
}
