// The one shape of an admission stage, and the fixed order in which the core consults the
// stages a scheduler was built with. Every hook is optional; a stage implements its points.
//
//   wait      lanes (key pause, per-key room) → rate windows
//             asked for the task about to start once its slots are free; the core's own
//             pause() and pauseFor() are checked before any stage
//   onStart   lanes → rate → adaptive → retry → timeout      as the attempt takes its slots
//   attempt   global gate → parent budget → breaker → task   (attempt.ts, around the call)
//   onSettle  timeout → lanes (pause on 429) → adaptive → retry    as the attempt's function settles
//   onRelease lanes                                          after the core put the task to
//                                                            sleep for a retry or settled it
//
// Each wait and each transition is one place to observe: a stage returning a wait is a
// rate wait or a lane pause; onStart/onSettle bracket every attempt.

import type { Node, Settlement } from '../task.js';
import type { Context } from '../task-context.js';

/** What `wait` returns when the stage took the task off the ready queue; it hands it back later. */
export const ASIDE = -1;

export interface Stage {
  /**
   * May `node` start now? 0: yes, and whatever the stage charges for it is taken (it
   * belongs to the attempt that starts next); a positive number: the ms until it may
   * (Infinity: until something else changes), and the head holds back those behind it;
   * ASIDE: the stage moved the task out of the ready queue.
   */
  wait?(node: Node): number;
  /** An attempt took its slots; `ctx` is the one its function will see. */
  onStart?(node: Node, ctx: Context): void;
  /** The attempt's function settled; a stage may amend the outcome. */
  onSettle?(node: Node, ctx: Context, outcome: Settlement): void;
  /** The core has put the task to sleep for a retry, or settled it. */
  onRelease?(node: Node): void;
}
