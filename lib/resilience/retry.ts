// Runs a function again after failures it can recover from, with capped exponential
// backoff and jitter. The delay math is a pure function so a scheduler can drive retries
// itself and release its slot while a task waits out its backoff.

import { classify } from './classify.js';
import { attemptsSpent } from './error-chain.js';
import { retryAfterMs } from './retry-after.js';
import { RetryBudget } from './retry-budget.js';
import { clearTimer, setTimer } from '../timer.js';
import { abortReason, checkFunction, checkNumber, checkObject, checkSignal, describe } from '../validate.js';

export type Jitter = 'full' | 'equal' | 'none';

export interface RetryContext {
  /** 1 for the first call, 2 for the first retry, ... */
  attempt: number;
  /** The caller's signal, or one that never aborts. */
  signal: AbortSignal;
}

export interface RetryOptions {
  /** Retries after the first attempt: a non-negative integer, or Infinity. Default 3. */
  retries?: number;
  /** Delay before the first retry, in ms. Default 100. */
  minDelay?: number;
  /** Ceiling on the computed delay, in ms. Default 30_000. */
  maxDelay?: number;
  /** Growth per attempt, >= 1. Default 2. */
  factor?: number;
  /** Default 'full'. */
  jitter?: Jitter;
  /** Decides whether a failure is retried; replaces the default classification. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Aborting rejects with `signal.reason` at once, during an attempt or a backoff. */
  signal?: AbortSignal;
  /** Shared cap on retries across calls; once spent, retry rejects with the last error. */
  budget?: RetryBudget;
}

export interface NormalizedRetryOptions {
  retries: number;
  minDelay: number;
  maxDelay: number;
  factor: number;
  jitter: Jitter;
  shouldRetry: (err: unknown, attempt: number) => boolean;
  signal: AbortSignal | undefined;
  budget: RetryBudget | undefined;
}

export type BackoffOptions = Pick<NormalizedRetryOptions, 'minDelay' | 'maxDelay' | 'factor' | 'jitter'>;

const JITTERS: readonly Jitter[] = ['full', 'equal', 'none'];

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
    throw new TypeError(`jitter must be one of 'full', 'equal', 'none', got ${describe(jitter)}`);
  }
  const shouldRetry = checkFunction('shouldRetry', options.shouldRetry) ?? isRetryable;
  const signal = checkSignal('signal', options.signal);
  const budget = options.budget;
  if (budget !== undefined && !(budget instanceof RetryBudget)) {
    throw new TypeError(`budget must be a RetryBudget, got ${describe(budget)}`);
  }
  return { retries, minDelay, maxDelay, factor, jitter, shouldRetry, signal, budget };
}

/**
 * Delay in ms before the retry that follows failed attempt `attempt` (1-based):
 * `min(maxDelay, minDelay * factor^(attempt-1))`, jittered. A Retry-After on `err` is a
 * floor the jitter never goes below, even when it exceeds maxDelay: the server knows.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, err?: unknown, random: () => number = Math.random): number {
  checkNumber('attempt', attempt, 1, { integer: true });
  const { minDelay, maxDelay, factor, jitter } = options;
  // minDelay 0 would make 0 * Infinity = NaN once factor^n overflows.
  const grown = minDelay === 0 ? 0 : minDelay * factor ** (attempt - 1);
  const capped = Math.min(maxDelay, grown);
  let delay = capped;
  if (jitter === 'full') delay = random() * capped;
  else if (jitter === 'equal') delay = capped / 2 + (random() * capped) / 2;
  const floor = err === undefined ? undefined : retryAfterMs(err);
  return floor === undefined ? delay : Math.max(delay, floor);
}

/**
 * Calls `fn` until it succeeds, a failure is not retryable, retries (or the budget) run
 * out, or `signal` aborts. Rejects with the last error, or with `signal.reason` on abort.
 */
export async function retry<T>(fn: (ctx: RetryContext) => T | Promise<T>, options?: RetryOptions): Promise<T> {
  if (typeof fn !== 'function') throw new TypeError(`retry: fn must be a function, got ${describe(fn)}`);
  const opts = normalizeRetryOptions(options);
  // A fresh signal per call: listeners user code adds to it die with the call.
  const signal = opts.signal ?? new AbortController().signal;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw abortReason(signal);
    opts.budget?.recordAttempt();
    try {
      return await untilAborted(fn, { attempt, signal });
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      // An AI SDK RetryError stands for every call the SDK made: each counts as an attempt.
      attempt += attemptsSpent(err) - 1;
      if (attempt > opts.retries || !opts.shouldRetry(err, attempt)) throw err;
      if (opts.budget !== undefined && !opts.budget.tryRetry()) throw err;
      await sleep(backoffDelay(attempt, opts, err), signal);
    }
  }
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
