// What the scheduler keeps per task: the node that sits in a queue and, only for tasks
// that use a feature, the state the core and its stages read and write.

import type { NormalizedRetryOptions } from '../resilience/retry.js';
import type { TaskMessage } from '../diagnostics.js';
import type { TimerHandle } from '../timer.js';
import type { Runner } from './context.js';
import type { Context } from './task-context.js';
import type { Task } from './types.js';

// Where a task with state sits. Plain numbers rather than a const enum, which
// isolatedModules would not inline across files.
/** Starting, running, or settled: in no list. */
export const NOWHERE = 0;
/** In a priority level, holding its lane's slot: next to start when slots allow. */
export const READY = 1;
/** Behind its key in the lane (perKey reached, or the key is paused). */
export const PARKED = 2;
/** In the waiting room (onFull 'wait'): not admitted yet. */
export const WAITING = 3;
/** Waiting out a retry backoff; holds no slot. */
export const SLEEPING = 4;
export type Where = typeof NOWHERE | typeof READY | typeof PARKED | typeof WAITING | typeof SLEEPING;

// Only tasks that use a feature carry one of these; the fast path leaves `x` undefined.
export interface TaskState {
  key: string | undefined;
  /** The task's diagnostics_channel context, when 'ringleader:task' had subscribers at run(). */
  trace?: TaskMessage;
  priority: number;
  weight: number;
  taken: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timeout: number;
  /** The attempt's timeout while it runs, or the backoff while it sleeps. */
  timer: TimerHandle | undefined;
  runner: Runner | undefined;
  where: Where;
  ctx: Context | undefined;
  settled: boolean;
  tokens: number;
  retry: NormalizedRetryOptions | undefined;
  attempt: number;
  attemptTimedOut: boolean;
  /** The caller's name for the task (RunOptions.id), or PQueue's number for it: setPriority finds it by this. */
  id: string | number | undefined;
}

export interface Node {
  next: Node | undefined;
  prev: Node | undefined;
  fn: Task<unknown>;
  // Only `resolve` is kept: a failure resolves with a rejected promise, which saves a
  // closure per queued task.
  resolve: (value: unknown) => void;
  x: TaskState | undefined;
}

/** How an attempt ended, as the settle stages see and amend it. */
export interface Settlement {
  ok: boolean;
  value: unknown;
  /** ms until the next attempt, or -1 when this one is final (the retry stage decides). */
  retryIn: number;
}

export function makeState(key: string | undefined, priority: number, weight: number, signal: AbortSignal | undefined,
  timeout: number, tokens: number, retry: NormalizedRetryOptions | undefined, runner: Runner | undefined): TaskState {
  return {
    key, priority, weight, taken: 0, signal, onAbort: undefined, timeout, timer: undefined, runner,
    where: NOWHERE, ctx: undefined, settled: false, tokens, retry, attempt: 0, attemptTimedOut: false, id: undefined,
  };
}

export function rejected(reason: unknown): Promise<never> {
  return Promise.reject(reason);
}
