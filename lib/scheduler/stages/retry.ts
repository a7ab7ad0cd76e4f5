// Retries: each attempt is recorded against the task's retry budget as it starts; when it
// fails, this stage decides between a backoff (the core puts the task to sleep, slot
// released) and settling with the error.

import { TimeoutError } from '../../errors.js';
import { classify } from '../../resilience/classify.js';
import { attemptsSpent } from '../../resilience/error-chain.js';
import { backoffDelay } from '../../resilience/retry.js';
import type { Node, Settlement } from '../task.js';
import type { Stage } from './stage.js';

export class RetryStage implements Stage {
  /** `killed`: the scheduler closed without draining, so nothing is retried. */
  constructor(private readonly killed: () => boolean) {}

  onStart(node: Node): void {
    node.x!.retry?.budget?.recordAttempt();
  }

  onSettle(node: Node, _ctx: unknown, outcome: Settlement): void {
    const x = node.x!;
    outcome.retryIn = outcome.ok || x.settled ? -1 : this.delay(node, outcome.value);
  }

  /** ms to sleep before the next attempt, or -1 when the failure is final. */
  private delay(node: Node, err: unknown): number {
    const x = node.x!;
    const policy = x.retry;
    if (policy === undefined || this.killed() || x.signal?.aborted) return -1;
    // Aborts and closes are answers, not failures: never retried whatever shouldRetry says.
    if (classify(err) === 'abort' && !(err instanceof TimeoutError)) return -1;
    // An AI SDK RetryError stands for every call the SDK made: each counts as an attempt, so
    // the two retry loops add up instead of multiplying.
    x.attempt += attemptsSpent(err) - 1;
    if (x.attempt > policy.retries || !policy.shouldRetry(err, x.attempt)) return -1;
    if (policy.budget !== undefined && !policy.budget.tryRetry()) return -1;
    return backoffDelay(x.attempt, policy, err);
  }
}
