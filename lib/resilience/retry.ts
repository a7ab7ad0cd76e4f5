// Runs a function again after failures it can recover from (or results it should not
// accept), with capped exponential backoff and jitter. The delay math is pure (backoff.ts)
// so a scheduler can drive retries itself and release its slot while a task waits it out.

import { backoffSequence, type BackoffOptions, type Jitter } from './backoff.js';
import { classify } from './classify.js';
import { attemptsSpent } from './error-chain.js';
import { RetryBudget } from './retry-budget.js';
import { clearTimer, setTimer } from '../timer.js';
import { abortReason, checkFunction, checkNumber, checkObject, checkSignal, describe } from '../validate.js';

export { backoffDelay, backoffSequence } from './backoff.js';
export type { BackoffOptions, BackoffSequence, Jitter } from './backoff.js';

export interface RetryContext {
  /** 1 for the first call, 2 for the first retry, ... */
  attempt: number;
  /** The caller's signal, or one that never aborts. */
  signal: AbortSignal;
}

/** What an attempt ended with, as the hooks see it: a thrown error, or a value retryOnResult refused. */
export type RetryOutcome = { error: unknown } | { value: unknown };

/** Passed to `onRetry` before the backoff starts. */
export type RetryEvent = RetryOutcome & {
  /** The attempt that failed (1 for the first call). */
  attempt: number;
  /** ms until the next attempt. */
  delay: number;
  /** The task's key, for a Scheduler's tasks that have one. */
  key?: string;
};

/** Passed to `onGiveUp` when an outcome the policy would retry is final. */
export type GiveUpEvent = RetryOutcome & {
  /** The last attempt. */
  attempt: number;
  /** 'retries': none left; 'budget': the retry budget refused one. */
  reason: 'retries' | 'budget';
  /** The task's key, for a Scheduler's tasks that have one. */
  key?: string;
};

export interface RetryOptions {
  /** Retries after the first attempt: a non-negative integer, or Infinity. Default 3. */
  retries?: number;
  /** Delay before the first retry, in ms. Default 100. */
  minDelay?: number;
  /** Ceiling on the computed delay, in ms. Default 30_000. */
  maxDelay?: number;
  /** Growth per attempt, >= 1. Default 2. */
  factor?: number;
  /** Default 'full'. 'decorrelated' is cockatiel's (Polly's) default: see backoff.ts. */
  jitter?: Jitter;
  /** Decides whether a failure is retried; replaces the default classification. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /**
   * Retries a call that *returned* `value` when this says true (an empty completion, a
   * `{ status: 'pending' }`). Once retries run out the call resolves with the last value.
   */
  retryOnResult?: (value: unknown, attempt: number) => boolean;
  /** Called before each backoff. A hook that throws ends the call with what it threw. */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Called once when an outcome that would be retried is final because retries or the
   * budget ran out. Not for outcomes shouldRetry refuses, nor aborts: those are not give-ups.
   */
  onGiveUp?: (event: GiveUpEvent) => void;
  /** Aborting rejects with `signal.reason` at once, during an attempt or a backoff. */
  signal?: AbortSignal;
  /** Shared cap on retries across calls; once spent, retry rejects with the last error. */
  budget?: RetryBudget;
}

export interface NormalizedRetryOptions extends BackoffOptions {
  retries: number;
  shouldRetry: (err: unknown, attempt: number) => boolean;
  retryOnResult: ((value: unknown, attempt: number) => boolean) | undefined;
  onRetry: ((event: RetryEvent) => void) | undefined;
  onGiveUp: ((event: GiveUpEvent) => void) | undefined;
  signal: AbortSignal | undefined;
  budget: RetryBudget | undefined;
}

const JITTERS: readonly Jitter[] = ['full', 'equal', 'none', 'decorrelated'];

/** Default policy: retry what classify() calls transient or overload; never stop/abort. */
export function isRetryable(err: unknown): boolean {
  const kind = classify(err);
  return kind === 'retry' || kind === 'wait' || kind === 'cap';
}

/** Validates options and fills defaults; throws TypeError/RangeError synchronously. */
export function normalizeRetryOptions(options: RetryOptions = {}): NormalizedRetryOptions {
  checkObject('retry options', options);
  const retries = checkNumber('retries', options.retries ?? 3, 0, { integer: true, infinity: true });
  const minDelay = checkNumber('minDelay', options.minDelay ?? 100, 0);
  const maxDelay = checkNumber('maxDelay', options.maxDelay ?? 30_000, 0);
  if (minDelay > maxDelay) throw new RangeError(`minDelay (${minDelay}) must be <= maxDelay (${maxDelay})`);
  const factor = checkNumber('factor', options.factor ?? 2, 1);
  const jitter = options.jitter ?? 'full';
  if (!JITTERS.includes(jitter)) {
    throw new TypeError(`jitter must be one of ${JITTERS.map((j) => `'${j}'`).join(', ')}, got ${describe(jitter)}`);
  }
  const shouldRetry = checkFunction('shouldRetry', options.shouldRetry) ?? isRetryable;
  const retryOnResult = checkFunction('retryOnResult', options.retryOnResult);
  const onRetry = checkFunction('onRetry', options.onRetry);
  const onGiveUp = checkFunction('onGiveUp', options.onGiveUp);
  const signal = checkSignal('signal', options.signal);
  const budget = options.budget;
  if (budget !== undefined && !(budget instanceof RetryBudget)) {
    throw new TypeError(`budget must be a RetryBudget, got ${describe(budget)}`);
  }
  return { retries, minDelay, maxDelay, factor, jitter, shouldRetry, retryOnResult, onRetry, onGiveUp, signal, budget };
}

/**
 * Calls `fn` until it succeeds, a failure is not retryable, retries (or the budget) run
 * out, or `signal` aborts. Rejects with the last error, or with `signal.reason` on abort;
 * a value retryOnResult kept refusing is resolved once retries run out.
 */
export async function retry<T>(fn: (ctx: RetryContext) => T | Promise<T>, options?: RetryOptions): Promise<T> {
  if (typeof fn !== 'function') throw new TypeError(`retry: fn must be a function, got ${describe(fn)}`);
  const opts = normalizeRetryOptions(options);
  // A fresh signal per call: listeners user code adds to it die with the call.
  const signal = opts.signal ?? new AbortController().signal;
  const delays = backoffSequence(opts);
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw abortReason(signal);
    opts.budget?.recordAttempt();
    let outcome: RetryOutcome;
    try {
      outcome = { value: await untilAborted(fn, { attempt, signal }) };
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      // An AI SDK RetryError stands for every call the SDK made: each counts as an attempt.
      attempt += attemptsSpent(err) - 1;
      outcome = { error: err };
    }
    // Outside the try: a predicate or hook that throws ends the call with what it threw.
    if ('value' in outcome ? !opts.retryOnResult?.(outcome.value, attempt) : !opts.shouldRetry(outcome.error, attempt)) {
      return settleWith(outcome);
    }
    const reason = attempt > opts.retries ? 'retries' : opts.budget !== undefined && !opts.budget.tryRetry() ? 'budget' : undefined;
    if (reason !== undefined) {
      opts.onGiveUp?.({ ...outcome, attempt, reason });
      return settleWith(outcome);
    }
    // A returned Response with Retry-After is advice too.
    const delay = delays(attempt, 'error' in outcome ? outcome.error : outcome.value);
    opts.onRetry?.({ ...outcome, attempt, delay });
    await sleep(delay, signal);
  }
}

function settleWith<T>(outcome: RetryOutcome): T {
  if ('error' in outcome) throw outcome.error;
  return outcome.value as T;
}

// Settles with the attempt, or with the abort reason the moment the signal aborts: a
// caller who gave up is answered at once even if fn ignores its signal. A late outcome
// of the abandoned attempt lands on an already-settled promise and is dropped.
function untilAborted<T>(fn: (ctx: RetryContext) => T | Promise<T>, ctx: RetryContext): Promise<T> {
  const { signal } = ctx;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', onAbort);
    new Promise<T>((run) => run(fn(ctx))).then(
      (value) => { settle(); resolve(value); },
      (err: unknown) => { settle(); reject(err); },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  // An onRetry hook may have aborted already: no timer to wait out.
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimer(timer);
      reject(abortReason(signal));
    };
    const timer = setTimer(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
