// How long to wait before each retry: capped exponential growth with a choice of jitter.
// Pure functions, so retry() and the Scheduler's retry stage share the same math.

import { retryAfterMs } from './retry-after.js';
import { checkNumber } from '../validate.js';

export type Jitter = 'full' | 'equal' | 'none' | 'decorrelated';

export interface BackoffOptions {
  minDelay: number;
  maxDelay: number;
  factor: number;
  jitter: Jitter;
}

/** The delay before the retry that follows failed attempt `attempt`, given the error. */
export type BackoffSequence = (attempt: number, err?: unknown) => number;

// Decorrelated jitter follows Polly's "DecorrelatedJitterBackoffV2" (cockatiel's default):
// positions t = attempt - 1 + U[0, 1) along f(t) = factor^t · tanh(√(4t)), each delay being
// the step from the previous position, scaled so the median delay grows by about `factor`
// per retry. The steps telescope: n retries wait f(t_n) · minDelay / 1.4 in all, so a long
// wait is followed by a shorter one and the retries of many callers never fall into step.
const SMOOTHING = 4;
const MEDIAN_SCALE = 1 / 1.4;

function curve(t: number, factor: number): number {
  return factor ** t * Math.tanh(Math.sqrt(SMOOTHING * t));
}

function decorrelated(options: BackoffOptions, position: number, previous: number): number {
  const { minDelay, maxDelay, factor } = options;
  if (minDelay === 0) return 0;
  const step = curve(position, factor) - curve(previous, factor);
  // Past float range the step is Infinity (or NaN from Infinity - Infinity): the cap decides.
  if (!Number.isFinite(step)) return maxDelay;
  return Math.min(maxDelay, Math.max(0, step) * MEDIAN_SCALE * minDelay);
}

function withFloor(delay: number, err: unknown): number {
  const floor = err === undefined ? undefined : retryAfterMs(err);
  return floor === undefined ? delay : Math.max(delay, floor);
}

/**
 * Delay in ms before the retry that follows failed attempt `attempt` (1-based):
 * `min(maxDelay, minDelay * factor^(attempt-1))`, jittered. A Retry-After on `err` is a
 * floor the jitter never goes below, even when it exceeds maxDelay: the server knows.
 * 'decorrelated' depends on the previous delay; called alone it draws where the previous
 * retry fell too (same spread per delay, but not chained: use backoffSequence for that).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, err?: unknown, random: () => number = Math.random): number {
  checkNumber('attempt', attempt, 1, { integer: true });
  const { minDelay, maxDelay, factor, jitter } = options;
  if (jitter === 'decorrelated') {
    const previous = attempt === 1 ? 0 : attempt - 2 + random();
    return withFloor(decorrelated(options, attempt - 1 + random(), previous), err);
  }
  // minDelay 0 would make 0 * Infinity = NaN once factor^n overflows.
  const grown = minDelay === 0 ? 0 : minDelay * factor ** (attempt - 1);
  const capped = Math.min(maxDelay, grown);
  let delay = capped;
  if (jitter === 'full') delay = random() * capped;
  else if (jitter === 'equal') delay = capped / 2 + (random() * capped) / 2;
  return withFloor(delay, err);
}

/**
 * The delays of one retried call, in order: 'decorrelated' jitter remembers where the
 * previous delay ended; every other jitter is backoffDelay itself.
 */
export function backoffSequence(options: BackoffOptions, random: () => number = Math.random): BackoffSequence {
  if (options.jitter !== 'decorrelated') return (attempt, err) => backoffDelay(attempt, options, err, random);
  let previous = 0;
  return (attempt, err) => {
    checkNumber('attempt', attempt, 1, { integer: true });
    // Positions only move forward, whatever attempt numbers come (a RetryError spends several).
    const position = Math.max(attempt - 1, previous) + random();
    const delay = decorrelated(options, position, previous);
    previous = position;
    return withFloor(delay, err);
  };
}
