// ringleader's diagnostics_channel surface: the channel names, the message each carries,
// and the publishing helpers the scheduler, breaker, engine and pool call. A message is built
// only after a `hasSubscribers` check; a task traced at run() is then followed to its end.

import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { BreakerState } from './resilience/circuit-breaker.js';
import type { TaskState } from './scheduler/task.js';

/** How a task left the scheduler. */
export type TaskOutcome = 'completed' | 'failed' | 'rejected' | 'dropped' | 'cancelled';

/**
 * The context object of `tracingChannel('ringleader:task')`: one per task, the same object
 * at every event (subscribers may keep their own state on it under a symbol). Times are
 * `performance.now()` milliseconds.
 */
export interface TaskMessage {
  /** Unique in this process, in submission order. */
  readonly id: number;
  /** The scheduler's `name` option. */
  readonly name: string | undefined;
  readonly key: string | undefined;
  readonly priority: number;
  readonly weight: number;
  /** Estimated tokens charged to each attempt. */
  readonly tokens: number;
  /** 0 while queued for the first time, then the attempt running or last run. */
  attempt: number;
  /** When `run()` was called. */
  readonly submittedAt: number;
  /** When the task last entered the queue: at `run()`, and when a retry backoff ends. */
  queuedAt: number;
  /** When the current (or last) attempt started; 0 before the first. */
  startedAt: number;
  /** The tokens the running attempt reported with `ctx.reportTokens`, if it did. */
  reportedTokens: number | undefined;
  /** Set when the task settles. */
  outcome: TaskOutcome | undefined;
  result?: unknown;
  error?: unknown;
}

/** `ringleader:retry`: an attempt failed (or its result was refused) and the task sleeps `delay` ms. */
export interface RetryMessage {
  readonly name: string | undefined;
  readonly key: string | undefined;
  readonly priority: number;
  readonly weight: number;
  readonly tokens: number;
  /** The task's tracing context, when the task channel had subscribers as it was submitted. */
  readonly task: TaskMessage | undefined;
  /** The attempt that just ended. */
  readonly attempt: number;
  readonly delay: number;
  /** What the attempt threw, or the value retryOnResult refused. */
  readonly error: unknown;
}

/** `ringleader:rate-wait`: the task at the head waits for the rate windows; once per wait. */
export interface RateWaitMessage {
  readonly name: string | undefined;
  readonly key: string | undefined;
  readonly task: TaskMessage | undefined;
  readonly priority: number;
  readonly weight: number;
  /** Tokens the windows must fit (the estimate, capped at a window's capacity). */
  readonly tokens: number;
  /** ms until the windows fit the task, as estimated now. */
  readonly waitMs: number;
}

/** `ringleader:lane-pause`: a key (or, with `key` undefined, the whole scheduler) is held back. */
export interface LanePauseMessage {
  readonly name: string | undefined;
  readonly key: string | undefined;
  readonly ms: number;
  /** The failure whose Retry-After asked for it (a 429, a 503); undefined for `pauseFor()`. */
  readonly error: unknown;
}

/** `ringleader:breaker`: a circuit breaker changed state. */
export interface BreakerMessage {
  /** The scheduler's name, or the breaker's own `name` option. */
  readonly name: string | undefined;
  /** The task key of a scheduler's per-key breaker. */
  readonly key: string | undefined;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** The failure that opened it. */
  readonly error: unknown;
}

/** `ringleader:engine-batch`: one Engine.readFiles batch finished. */
export interface EngineBatchMessage {
  readonly backend: string;
  readonly files: number;
  /** Bytes read (files that failed count 0). */
  readonly bytes: number;
  readonly durationUs: number;
  /** Files that failed. */
  readonly failed: number;
}

/** `ringleader:pool-task`: a WorkerPool task settled. Published in the caller's async context. */
export interface PoolTaskMessage {
  /** Index of the worker slot that ran (or was to run) it. */
  readonly worker: number;
  readonly threadId: number;
  readonly key: string | undefined;
  /** The handler name (PoolRunOptions.name). */
  readonly name: string | undefined;
  /** ms from `run()` to the start in the worker (queueing plus transport). */
  readonly queueWait: number;
  /** ms the handler ran; 0 when it never ran. */
  readonly runTime: number;
  readonly outcome: 'completed' | 'failed' | 'cancelled';
  readonly error?: unknown;
}

/** The channels, by the names Node's diagnostics_channel knows them under. */
export const channels = {
  task: tracingChannel<unknown, TaskMessage>('ringleader:task'),
  retry: channel('ringleader:retry'),
  rateWait: channel('ringleader:rate-wait'),
  lanePause: channel('ringleader:lane-pause'),
  breaker: channel('ringleader:breaker'),
  engineBatch: channel('ringleader:engine-batch'),
  poolTask: channel('ringleader:pool-task'),
} as const;

let nextId = 1;

/** @internal Runs an attempt inside an observer's context (ringleader/otel makes the attempt span active). */
export type AttemptScope = <R>(message: TaskMessage, fn: () => R) => R;
let attemptScope: AttemptScope | undefined;
const scopes: AttemptScope[] = [];

/** @internal Adds a scope every traced attempt runs in (instrument() does); returns its removal. */
export function addAttemptScope(scope: AttemptScope): () => void {
  scopes.push(scope);
  attemptScope = composeScopes();
  return () => {
    const i = scopes.indexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
    attemptScope = composeScopes();
  };
}

function composeScopes(): AttemptScope | undefined {
  if (scopes.length <= 1) return scopes[0];
  const all = [...scopes];
  return (message, fn) => all.reduceRight<() => ReturnType<typeof fn>>((inner, scope) => () => scope(message, inner), fn)();
}

let carrier: (() => Readonly<Record<string, string>> | undefined) | undefined;

/**
 * @internal Set by instrument(): the current trace context as W3C headers, for WorkerPool to
 * carry to its worker. With `replacing`, only if that is the one in place (a dispose).
 */
export function setTraceCarrier(fn: (() => Readonly<Record<string, string>> | undefined) | undefined,
  replacing?: () => Readonly<Record<string, string>> | undefined): void {
  if (replacing !== undefined && carrier !== replacing) return;
  carrier = fn;
}

/** @internal */
export function traceCarrier(): Readonly<Record<string, string>> | undefined {
  return carrier?.();
}

/** @internal `start` and `end` of a task's trace, as run() accepts it. */
export function traceQueued(name: string | undefined, key: string | undefined, priority: number, weight: number,
  tokens: number, at: number): TaskMessage {
  const message: TaskMessage = {
    id: nextId++, name, key, priority, weight, tokens, attempt: 0, submittedAt: at, queuedAt: at, startedAt: 0,
    reportedTokens: undefined, outcome: undefined, result: undefined, error: undefined,
  };
  channels.task.start.publish(message);
  channels.task.end.publish(message);
  return message;
}

/** @internal `asyncStart` as an attempt begins; the attempt runs inside any store bound to it. */
export function traceAttempt<A extends unknown[]>(message: TaskMessage, attempt: number, at: number,
  fn: (...args: A) => unknown, ...args: A): void {
  message.attempt = attempt;
  message.startedAt = at;
  message.reportedTokens = undefined;
  const scope = attemptScope;
  channels.task.asyncStart.runStores(message, scope === undefined ? fn : () => scope(message, () => fn(...args)), undefined, ...args);
}

/** @internal `error` (on failure) then `asyncEnd` as the task settles. */
export function traceSettled(message: TaskMessage, outcome: TaskOutcome, ok: boolean, value: unknown): void {
  if (message.outcome !== undefined) return;
  message.outcome = outcome;
  if (ok) {
    message.result = value;
  } else {
    message.error = value;
    channels.task.error.publish(message);
  }
  channels.task.asyncEnd.publish(message);
}

/** @internal An attempt ends in a backoff of `delay` ms. */
export function traceRetry(name: string | undefined, x: TaskState, delay: number, error: unknown, at: number): void {
  const task = x.trace;
  if (task !== undefined) task.queuedAt = at + delay;
  if (channels.retry.hasSubscribers) {
    const message: RetryMessage = {
      name, key: x.key, priority: x.priority, weight: x.weight, tokens: x.tokens, task, attempt: x.attempt, delay, error,
    };
    channels.retry.publish(message);
  }
}
