// Stops calling a dependency that keeps failing, then lets single probes test it.
// State is computed from timestamps when observed, so the breaker owns no timer and
// nothing is left to clean up.

import { EventEmitter } from 'node:events';
import { CircuitOpenError } from '../errors.js';
import { classify } from './classify.js';
import { checkFunction, checkNumber, checkObject, monotonicNow } from '../validate.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Failures within `windowMs` that open the circuit; integer >= 1. */
  failureThreshold: number;
  /** How long a failure counts, in ms. Default 60_000. */
  windowMs?: number;
  /** ms the circuit stays open before one probe call is let through. */
  halfOpenAfter: number;
  /** Consecutive probe successes that close the circuit; integer >= 1. Default 1. */
  successThreshold?: number;
  /**
   * Whether a failure counts against the circuit. Default: everything except aborts and
   * errors classify() calls 'stop' (a 400 says the request was bad, not the server).
   */
  shouldTrip?: (err: unknown) => boolean;
  /** Clock in ms. Default: performance.now. */
  now?: () => number;
}

/** CircuitOpenError plus how long until a probe is allowed (absent while a probe runs). */
/** Kept for callers that named the refusal type; CircuitOpenError carries `retryAfterMs` itself. */
export type BreakerOpenError = CircuitOpenError;

export interface BreakerEvents {
  stateChange: [state: BreakerState, previous: BreakerState];
}

function defaultShouldTrip(err: unknown): boolean {
  const kind = classify(err);
  return kind !== 'abort' && kind !== 'stop';
}

export class CircuitBreaker extends EventEmitter<BreakerEvents> {
  readonly failureThreshold: number;
  readonly windowMs: number;
  readonly halfOpenAfter: number;
  readonly successThreshold: number;
  private readonly shouldTrip: (err: unknown) => boolean;
  private readonly now: () => number;
  // The latest `failureThreshold` failure times, oldest at `next`: enough to decide, bounded.
  private readonly failures: Float64Array;
  private next = 0;
  private recorded = 0;
  private current: BreakerState = 'closed';
  private openedAt = 0;
  private probing = false;
  private successes = 0;
  // Bumped on every transition, so a call that started under an older state cannot
  // move the current one.
  private generation = 0;

  constructor(options: BreakerOptions) {
    super();
    checkObject('options', options);
    if (options === undefined) throw new TypeError('CircuitBreaker: options { failureThreshold, halfOpenAfter } are required');
    this.failureThreshold = checkNumber('failureThreshold', options.failureThreshold, 1, { integer: true });
    this.windowMs = checkNumber('windowMs', options.windowMs ?? 60_000, 0, { exclusive: true, infinity: true });
    this.halfOpenAfter = checkNumber('halfOpenAfter', options.halfOpenAfter, 0);
    this.successThreshold = checkNumber('successThreshold', options.successThreshold ?? 1, 1, { integer: true });
    this.shouldTrip = checkFunction('shouldTrip', options.shouldTrip) ?? defaultShouldTrip;
    this.now = checkFunction('now', options.now) ?? monotonicNow;
    this.failures = new Float64Array(this.failureThreshold);
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.halfOpenAfter) this.transition('half-open');
    return this.current;
  }

  /** ms until the circuit lets a probe through; 0 unless open. */
  get retryAfterMs(): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.halfOpenAfter - this.now()) : 0;
  }

  /**
   * Runs `fn` unless the circuit is open (or half-open with its probe already running),
   * in which case it rejects at once with CircuitOpenError carrying `retryAfterMs`.
   */
  async execute<T>(fn: () => T | Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('CircuitBreaker.execute: fn must be a function');
    const state = this.state;
    if (state === 'open') throw this.refusal(this.retryAfterMs);
    if (state === 'half-open') {
      if (this.probing) throw this.refusal(undefined);
      this.probing = true;
    }
    const probe = state === 'half-open';
    const generation = this.generation;
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (generation === this.generation) this.onFailure(err, probe);
      throw err;
    }
    if (generation === this.generation) this.onSuccess(probe);
    return result;
  }

  /** Closes the circuit and forgets every failure. */
  reset(): void {
    this.recorded = 0;
    this.next = 0;
    if (this.current !== 'closed') this.transition('closed');
    else this.generation++;
  }

  private onSuccess(probe: boolean): void {
    if (!probe) return;
    this.probing = false;
    if (++this.successes >= this.successThreshold) this.reset();
  }

  private onFailure(err: unknown, probe: boolean): void {
    if (probe) this.probing = false;
    if (!this.shouldTrip(err)) return;
    if (probe) {
      this.open();
      return;
    }
    const now = this.now();
    this.failures[this.next] = now;
    this.next = (this.next + 1) % this.failureThreshold;
    this.recorded = Math.min(this.recorded + 1, this.failureThreshold);
    // With the ring full, `next` points at the oldest of the last `failureThreshold` failures.
    if (this.recorded === this.failureThreshold && now - this.failures[this.next]! < this.windowMs) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.transition('open');
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    this.current = to;
    this.generation++;
    this.probing = false;
    this.successes = 0;
    if (from !== to) this.emit('stateChange', to, from);
  }

  private refusal(retryAfterMs: number | undefined): BreakerOpenError {
    return new CircuitOpenError(
      retryAfterMs === undefined ? 'circuit is half-open and its probe is running' : `circuit is open; next probe in ${Math.ceil(retryAfterMs)} ms`,
      retryAfterMs,
    );
  }
}
