// Retries: each attempt is recorded against the task's retry budget as it starts; when it
// fails (or returns a value retryOnResult refuses), this stage decides between a backoff
// (the core puts the task to sleep, slot released) and settling, and calls the hooks.

import { TimeoutError } from '../../errors.js';
import { backoffDelay, backoffSequence, type BackoffSequence } from '../../resilience/backoff.js';
import { classify } from '../../resilience/classify.js';
import { attemptsSpent } from '../../resilience/error-chain.js';
import type { RetryOutcome } from '../../resilience/retry.js';
import type { Node, Settlement } from '../task.js';
import type { Context } from '../task-context.js';
import type { Stage } from './stage.js';

export class RetryStage implements Stage {
  // Decorrelated jitter chains each delay to the previous one: its sequence lives with the
  // task (weakly, so a settled task takes it along).
  private readonly sequences = new WeakMap<Node, BackoffSequence>();

  /** `killed`: the scheduler closed without draining, so nothing is retried. */
  constructor(private readonly killed: () => boolean) {}

  onStart(node: Node, ctx: Context): void {
    const x = node.x!;
    const policy = x.retry;
    if (policy === undefined) return;
    policy.budget?.recordAttempt();
    // The last attempt's timeout rejects the task at once (stages/timeout.ts), before its
    // function returns here: onGiveUp is told then, from the abort it sends the attempt.
    if (policy.onGiveUp !== undefined && x.timeout !== Infinity && x.attempt > policy.retries) {
      ctx.signal.addEventListener('abort', () => this.timedOutLast(node, ctx), { once: true });
    }
  }

  onSettle(node: Node, _ctx: unknown, outcome: Settlement): void {
    const x = node.x!;
    outcome.retryIn = -1;
    if (x.settled || x.retry === undefined) return;
    // A predicate or hook that throws ends the task with what it threw, as in retry().
    try {
      outcome.retryIn = this.delay(node, outcome);
    } catch (err) {
      outcome.ok = false;
      outcome.value = err;
    }
  }

  /** ms to sleep before the next attempt, or -1 when this outcome is final. */
  private delay(node: Node, outcome: Settlement): number {
    const x = node.x!;
    const policy = x.retry!;
    if (this.killed() || x.signal?.aborted) return -1;
    let seen: RetryOutcome;
    if (outcome.ok) {
      if (policy.retryOnResult === undefined || !policy.retryOnResult(outcome.value, x.attempt)) return -1;
      seen = { value: outcome.value };
    } else {
      const err = outcome.value;
      // Aborts and closes are answers, not failures: never retried whatever shouldRetry says.
      if (classify(err) === 'abort' && !(err instanceof TimeoutError)) return -1;
      // An AI SDK RetryError stands for every call the SDK made: each counts as an attempt, so
      // the two retry loops add up instead of multiplying.
      x.attempt += attemptsSpent(err) - 1;
      if (!policy.shouldRetry(err, x.attempt)) return -1;
      seen = { error: err };
    }
    const reason = x.attempt > policy.retries ? 'retries' : policy.budget !== undefined && !policy.budget.tryRetry() ? 'budget' : undefined;
    if (reason !== undefined) {
      policy.onGiveUp?.({ ...seen, attempt: x.attempt, reason, key: x.key });
      return -1;
    }
    // A returned Response with Retry-After is advice too.
    const advice = outcome.value;
    let delay: number;
    if (policy.jitter === 'decorrelated') {
      let sequence = this.sequences.get(node);
      if (sequence === undefined) this.sequences.set(node, (sequence = backoffSequence(policy)));
      delay = sequence(x.attempt, advice);
    } else {
      delay = backoffDelay(x.attempt, policy, advice);
    }
    policy.onRetry?.({ ...seen, attempt: x.attempt, delay, key: x.key });
    return delay;
  }

  // The task has already rejected with the timeout; a hook that throws now has no call
  // left to fail, so it is reported the way an event listener's error is.
  private timedOutLast(node: Node, ctx: Context): void {
    const x = node.x!;
    const policy = x.retry!;
    // Only the timeout's own abort: not the task's signal, a close, or a parent's abort.
    if (!x.settled || x.signal?.aborted || this.killed()) return;
    try {
      if (policy.shouldRetry(ctx.reason, x.attempt)) {
        policy.onGiveUp!({ error: ctx.reason, attempt: x.attempt, reason: 'retries', key: x.key });
      }
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
