// Stops calling a dependency that keeps failing, then lets probes test it; callers that
// arrive while a probe runs wait for its verdict. State is computed from timestamps when
// observed, so the breaker owns no timer and nothing is left to clean up.

import { EventEmitter } from 'node:events';
import { channels, type BreakerMessage } from '../diagnostics.js';
import { CircuitOpenError } from '../errors.js';
import { makeCounter, type BreakerMode, type FailureCounter } from './breaker-modes.js';
import { classify } from './classify.js';
import { abortReason, checkFunction, checkNumber, checkObject, checkSignal, describe, monotonicNow } from '../validate.js';

export type { BreakerMode } from './breaker-modes.js';

/** 'isolated': held open by isolate() until every handle it gave is disposed. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Where a breaker event came from. */
export interface BreakerEvent {
  /** The task key of a Scheduler's per-key breaker; absent for a breaker of its own. */
  key?: string;
}

/** Why the circuit opened: the failure that tripped it, or isolate(). */
export type BreakEvent = BreakerEvent & ({ isolated: false; error: unknown } | { isolated: true });

interface CommonOptions {
  /** ms the circuit stays open before a probe call is let through. */
  halfOpenAfter: number;
  /** Consecutive probe successes that close the circuit; integer >= 1. Default 1. */
  successThreshold?: number;
  /**
   * What a call does while half-open with a probe running: 'wait' (default) for the
   * probe's verdict, then run if it closed the circuit or be refused if it opened it
   * again; 'reject' at once with CircuitOpenError.
   */
  halfOpen?: 'wait' | 'reject';
  /** Calls that may wait on one probe; those beyond are refused at once. Default 100_000. */
  maxWaiting?: number;
  /**
   * Whether a failure counts against the circuit. Default: everything except aborts and
   * errors classify() calls 'stop' (a 400 says the request was bad, not the server).
   */
  shouldTrip?: (err: unknown) => boolean;
  /** The circuit opened (or was isolated). A hook that throws fails the call that caused it. */
  onBreak?: (event: BreakEvent) => void;
  /** The circuit closed: a probe succeeded, reset(), or the last isolation ended. */
  onReset?: (event: BreakerEvent) => void;
  /** The circuit turned half-open: seen when next consulted after `halfOpenAfter`, as it keeps no timer. */
  onHalfOpen?: (event: BreakerEvent) => void;
  /** Clock in ms. Default: performance.now. */
  now?: () => number;
  /** Names the breaker in `ringleader:breaker` messages (a Scheduler gives its own name). */
  name?: string;
}

/** Today's default: `failureThreshold` failures within `windowMs`, successes in between or not. */
export interface WindowBreakerOptions extends CommonOptions {
  mode?: 'window';
  /** Failures within `windowMs` that open the circuit; integer >= 1. */
  failureThreshold: number;
  /** How long a failure counts, in ms. Default 60_000. */
  windowMs?: number;
}

/** `failureThreshold` failures in a row; a success starts the count again. */
export interface ConsecutiveBreakerOptions extends CommonOptions {
  mode: 'consecutive';
  failureThreshold: number;
}

/** More than `threshold` (0..1) of the last `size` calls failed. */
export interface CountBreakerOptions extends CommonOptions {
  mode: 'count';
  threshold: number;
  size: number;
  /** Calls seen before the ratio may open the circuit. Default `size`. */
  minimumCalls?: number;
}

/** More than `threshold` (0..1) of the calls in the last `duration` ms failed. */
export interface SamplingBreakerOptions extends CommonOptions {
  mode: 'sampling';
  threshold: number;
  duration: number;
  /** Calls per second needed before the ratio may open the circuit. Default 5 / threshold. */
  minimumRps?: number;
}

export type BreakerOptions = WindowBreakerOptions | ConsecutiveBreakerOptions | CountBreakerOptions | SamplingBreakerOptions;

export interface ExecuteOptions {
  /** Aborting a call that waits on a half-open probe rejects it with `signal.reason`. Read only if it waits. */
  signal?: AbortSignal;
  /**
   * Wraps the wait for a probe's verdict: inside a Scheduler task, `(wait) => ctx.yield(wait)`
   * lends the task's slot out meanwhile, so one key's probe never holds slots other keys need.
   */
  whileWaiting?: (wait: Promise<void>) => PromiseLike<void>;
}

/** What isolate() hands back; disposing it twice is harmless. */
export interface BreakerIsolation {
  dispose(): void;
  [Symbol.dispose](): void;
}

/** Kept for callers that named the refusal type; CircuitOpenError carries `retryAfterMs` itself. */
export type BreakerOpenError = CircuitOpenError;

export interface BreakerEvents {
  stateChange: [state: BreakerState, previous: BreakerState];
  break: [event: BreakEvent];
  reset: [event: BreakerEvent];
  halfOpen: [event: BreakerEvent];
}

interface Waiter {
  resolve: () => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

function defaultShouldTrip(err: unknown): boolean {
  const kind = classify(err);
  return kind !== 'abort' && kind !== 'stop';
}

export class CircuitBreaker extends EventEmitter<BreakerEvents> {
  readonly mode: BreakerMode;
  /** Modes 'window' and 'consecutive'. */
  readonly failureThreshold: number | undefined;
  /** Mode 'window'. */
  readonly windowMs: number | undefined;
  readonly halfOpenAfter: number;
  readonly successThreshold: number;
  readonly halfOpen: 'wait' | 'reject';
  readonly maxWaiting: number;
  private readonly counter: FailureCounter;
  private readonly shouldTrip: (err: unknown) => boolean;
  private readonly hooks: Pick<CommonOptions, 'onBreak' | 'onReset' | 'onHalfOpen'>;
  private readonly now: () => number;
  readonly name: string | undefined;
  /** @internal The task key of a Scheduler's per-key breaker, for diagnostics messages. */
  key: string | undefined = undefined;
  private current: BreakerState = 'closed';
  private openedAt = 0;
  private probing = false;
  private successes = 0;
  private isolations = 0;
  // Callers waiting for the running probe's verdict, in arrival order.
  private readonly waiters = new Set<Waiter>();
  // Bumped on every transition, so a call that started under an older state cannot
  // move the current one.
  private generation = 0;

  constructor(options: BreakerOptions) {
    super();
    checkObject('options', options);
    if (options === undefined) throw new TypeError('CircuitBreaker: options { failureThreshold, halfOpenAfter } are required');
    const { mode, counter, failureThreshold, windowMs } = makeCounter(options);
    this.mode = mode;
    this.counter = counter;
    this.failureThreshold = failureThreshold;
    this.windowMs = windowMs;
    this.halfOpenAfter = checkNumber('halfOpenAfter', options.halfOpenAfter, 0);
    this.successThreshold = checkNumber('successThreshold', options.successThreshold ?? 1, 1, { integer: true });
    const halfOpen = options.halfOpen ?? 'wait';
    if (halfOpen !== 'wait' && halfOpen !== 'reject') throw new TypeError(`halfOpen must be 'wait' or 'reject', got ${describe(halfOpen)}`);
    this.halfOpen = halfOpen;
    this.maxWaiting = checkNumber('maxWaiting', options.maxWaiting ?? 100_000, 0, { integer: true, infinity: true });
    this.shouldTrip = checkFunction('shouldTrip', options.shouldTrip) ?? defaultShouldTrip;
    this.hooks = {
      onBreak: checkFunction('onBreak', options.onBreak),
      onReset: checkFunction('onReset', options.onReset),
      onHalfOpen: checkFunction('onHalfOpen', options.onHalfOpen),
    };
    this.now = checkFunction('now', options.now) ?? monotonicNow;
    if (options.name !== undefined && typeof options.name !== 'string') {
      throw new TypeError(`name must be a string, got ${describe(options.name)}`);
    }
    this.name = options.name;
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.halfOpenAfter) this.transition('half-open', undefined);
    return this.current;
  }

  /** ms until the circuit lets a probe through; 0 unless open. */
  get retryAfterMs(): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.halfOpenAfter - this.now()) : 0;
  }

  /** @internal Closed, so nothing is due: a Scheduler may drop a key's breaker without consulting it. */
  get idle(): boolean {
    return this.current === 'closed';
  }

  /**
   * Runs `fn` unless the circuit is open or isolated, in which case it rejects at once
   * with CircuitOpenError (carrying `retryAfterMs` when open). While half-open, one call
   * at a time is the probe; the others wait for its verdict (or, with halfOpen 'reject'
   * or past maxWaiting, are refused with no `retryAfterMs`).
   */
  async execute<T>(fn: () => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`CircuitBreaker.execute: fn must be a function, got ${describe(fn)}`);
    checkObject('options', options);
    const whileWaiting = checkFunction('whileWaiting', options?.whileWaiting);
    let probe = false;
    for (;;) {
      const state = this.state;
      if (state === 'closed') break;
      if (state === 'half-open' && !this.probing) {
        this.probing = true;
        probe = true;
        break;
      }
      if (state !== 'half-open' || this.halfOpen === 'reject' || this.waiters.size >= this.maxWaiting) throw this.refusal(state);
      await this.verdict(checkSignal('signal', options?.signal), whileWaiting);
    }
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

  /** Closes the circuit and forgets every failure; an isolated circuit stays isolated. */
  reset(): void {
    this.counter.reset();
    if (this.current === 'isolated') return;
    if (this.current !== 'closed') this.transition('closed', undefined);
    else this.generation++;
  }

  /**
   * Holds the circuit open, whatever calls do, until the handle is disposed (an operator
   * draining a dependency). Handles nest: the circuit closes when the last one is disposed.
   */
  isolate(): BreakerIsolation {
    if (this.current !== 'isolated') this.transition('isolated', undefined);
    this.isolations++;
    let disposed = false;
    const dispose = (): void => {
      if (disposed) return;
      disposed = true;
      if (--this.isolations === 0) this.close();
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  // Until the probe's verdict (any transition, or the probe ending without one), or the
  // caller's abort. The waiter leaves the set either way, and its abort listener with it.
  private async verdict(signal: AbortSignal | undefined, whileWaiting: ExecuteOptions['whileWaiting']): Promise<void> {
    if (signal?.aborted) throw abortReason(signal);
    const waiter: Waiter = { resolve: () => {}, signal, onAbort: undefined };
    const wait = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.drop(waiter);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
    });
    this.waiters.add(waiter);
    try {
      await (whileWaiting === undefined ? wait : whileWaiting(wait));
    } finally {
      this.drop(waiter);
    }
  }

  private drop(waiter: Waiter): void {
    this.waiters.delete(waiter);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    waiter.onAbort = undefined;
  }

  // Every waiter looks again, in arrival order: the first may become the next probe.
  private wakeWaiters(): void {
    if (this.waiters.size === 0) return;
    const waiting = [...this.waiters];
    for (const waiter of waiting) {
      this.drop(waiter);
      waiter.resolve();
    }
  }

  private onSuccess(probe: boolean): void {
    if (!probe) {
      this.counter.success(this.now());
      return;
    }
    this.probing = false;
    if (++this.successes >= this.successThreshold) this.close();
    else this.wakeWaiters();
  }

  private onFailure(err: unknown, probe: boolean): void {
    if (probe) this.probing = false;
    if (!this.shouldTrip(err)) {
      // An abort or a 400 says nothing of the dependency: the next caller probes instead.
      if (probe) this.wakeWaiters();
      return;
    }
    if (probe || this.counter.failure(this.now())) {
      this.openedAt = this.now();
      this.transition('open', err);
    }
  }

  private close(): void {
    this.counter.reset();
    this.transition('closed', undefined);
  }

  private transition(to: BreakerState, error: unknown): void {
    const from = this.current;
    this.current = to;
    this.generation++;
    this.probing = false;
    this.successes = 0;
    this.wakeWaiters();
    if (from === to) return;
    if (channels.breaker.hasSubscribers) {
      const message: BreakerMessage = { name: this.name, key: this.key, from, to, error };
      channels.breaker.publish(message);
    }
    // The state is settled before any hook runs: one that throws leaves it consistent.
    if (to === 'open' || to === 'isolated') {
      const event: BreakEvent = to === 'open' ? { isolated: false, error } : { isolated: true };
      this.hooks.onBreak?.(event);
      this.emit('break', event);
    } else if (to === 'closed') {
      this.hooks.onReset?.({});
      this.emit('reset', {});
    } else {
      this.hooks.onHalfOpen?.({});
      this.emit('halfOpen', {});
    }
    this.emit('stateChange', to, from);
  }

  private refusal(state: BreakerState): BreakerOpenError {
    if (state === 'open') {
      const ms = this.retryAfterMs;
      return new CircuitOpenError(`circuit is open; next probe in ${Math.ceil(ms)} ms`, ms);
    }
    return new CircuitOpenError(state === 'isolated' ? 'circuit is isolated' : 'circuit is half-open and its probe is running', undefined);
  }
}
