// Rate windows every attempt must fit (requests and tokens per interval, together): the
// task about to start is charged here, or told how long until it fits. The windows can
// be changed while the scheduler runs, for limits learned from a provider's answers.

import { channels, type RateWaitMessage } from '../../diagnostics.js';
import type { RateCharge, RateLimiter } from '../../resilience/rate-limiter.js';
import type { Node } from '../task.js';
import type { Context } from '../task-context.js';
import type { Stage } from './stage.js';

export class RateStage implements Stage {
  // Taken by `wait` for the task that starts right after it; never outlives that start.
  private pending: RateCharge | undefined = undefined;
  // A task queued with more tokens than a window lowered since can hold: it is charged
  // the window's whole capacity instead (ctx.reportTokens still books what it really used).
  private ceiling: number;

  // The task last told to wait: a wait is published once, not at every drain that re-asks.
  private held: Node | undefined = undefined;

  constructor(private readonly limiter: RateLimiter, private readonly name: string | undefined) {
    this.ceiling = this.limiter.tokenCapacity();
  }

  /** Refuses, at submission, a charge larger than a window could ever hold. */
  check(tokens: number): void {
    this.limiter.timeUntil(tokens);
  }

  wait(node: Node): number {
    const tokens = Math.min(node.x!.tokens, this.ceiling);
    this.pending = this.limiter.tryAcquire(tokens);
    if (this.pending !== undefined) return 0;
    const ms = Math.max(1, this.limiter.timeUntil(tokens));
    if (this.held !== node && channels.rateWait.hasSubscribers) {
      this.held = node;
      const x = node.x!;
      const message: RateWaitMessage = {
        name: this.name, key: x.key, task: x.trace, priority: x.priority, weight: x.weight, tokens, waitMs: ms,
      };
      channels.rateWait.publish(message);
    }
    return ms;
  }

  onStart(node: Node, ctx: Context): void {
    if (this.held === node) this.held = undefined;
    ctx.charge = this.pending;
    this.pending = undefined;
  }

  /** ms until the windows let one more request through; 0 if now (p-queue's isRateLimited is > 0). */
  timeUntilNext(): number {
    return this.limiter.timeUntil(0);
  }

  /** Replaces window `index`'s limit (and burst, when given) from now on; see RateLimiter.setLimit. */
  setLimit(index: number, limit: number, burst?: number): void {
    this.limiter.setLimit(index, limit, burst);
    this.ceiling = this.limiter.tokenCapacity();
  }
}
