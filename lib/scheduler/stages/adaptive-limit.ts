// Adaptive concurrency as a stage: times each attempt and feeds its latency and outcome
// to an AdaptiveLimit, which moves the core's limit (429/503 and timeouts cut it).

import { TimeoutError } from '../../errors.js';
import { classify } from '../../resilience/classify.js';
import type { AdaptiveLimit, Outcome } from '../adaptive.js';
import type { Node, Settlement } from '../task.js';
import type { Context } from '../task-context.js';
import type { Stage } from './stage.js';

export interface AdaptiveHost {
  /** Attempts running now, not counting the one that just settled. */
  readonly running: number;
  setLimit(limit: number): void;
}

export class AdaptiveStage implements Stage {
  constructor(private readonly adaptive: AdaptiveLimit, private readonly now: () => number,
    private readonly host: AdaptiveHost) {}

  get limit(): number {
    return this.adaptive.limit;
  }

  /** The largest limit it may reach: no task may weigh more. */
  get max(): number {
    return this.adaptive.max;
  }

  /** Restarts from `limit` (the scheduler's `concurrency` setter), within bounds. */
  reset(limit: number): number {
    return this.adaptive.reset(limit);
  }

  onStart(_node: Node, ctx: Context): void {
    ctx.startedAt = this.now();
  }

  onSettle(_node: Node, ctx: Context, outcome: Settlement): void {
    let kind: Outcome = 'ok';
    if (!outcome.ok) {
      const value = outcome.value;
      const c = classify(value);
      kind = c === 'cap' || c === 'wait' || value instanceof TimeoutError ? 'overload' : 'neutral';
    }
    this.host.setLimit(this.adaptive.sample(this.now() - ctx.startedAt, kind, this.host.running + 1));
  }
}
