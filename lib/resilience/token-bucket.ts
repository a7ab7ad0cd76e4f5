// Token bucket with continuous refill computed from elapsed time, never from an interval,
// so it cannot drift or burst past `burst`. Takers wait in FIFO order behind one timer
// that exists only while someone waits.

import { WaitQueue } from './wait-queue.js';
import { abortReason, checkDuration, checkFunction, checkNumber, checkObject, checkSignal, monotonicNow } from '../validate.js';

export interface TokenBucketOptions {
  /** Tokens added per second, > 0. */
  rate: number;
  /** Capacity, >= 1: the most that can be taken at once. The bucket starts full. */
  burst: number;
  /** Most takers allowed to wait at once; beyond it `take` rejects with QueueFullError. Default 100_000. */
  maxWaiting?: number;
  /** Clock in ms. Default: performance.now. */
  now?: () => number;
}

export interface TakeOptions {
  signal?: AbortSignal;
}

// Refill arithmetic is floating point; a shortfall below this share of `burst` is
// rounding, not a wait.
const EPSILON = 1e-12;

export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly queue: WaitQueue<number>;
  private level: number;
  private stamp: number;
  private pausedUntil = -Infinity;

  constructor(options: TokenBucketOptions) {
    checkObject('options', options);
    if (options === undefined) throw new TypeError('TokenBucket: options { rate, burst } are required');
    this.rate = checkNumber('rate', options.rate, 0, { exclusive: true });
    this.burst = checkNumber('burst', options.burst, 1);
    const maxWaiting = checkNumber('maxWaiting', options.maxWaiting ?? 100_000, 0, { integer: true, infinity: true });
    this.now = checkFunction('now', options.now) ?? monotonicNow;
    this.perMs = this.rate / 1000;
    this.level = this.burst;
    this.stamp = this.now();
    this.queue = new WaitQueue<number>(
      { wait: (n) => this.timeUntil(n), grant: (n) => { this.level -= n; } },
      maxWaiting,
      'TokenBucket',
    );
  }

  /** Tokens available now; negative after a `debit` ran ahead of the refill. */
  get tokens(): number {
    this.refill();
    return this.level;
  }

  /** Number of `take` calls waiting. */
  get waiting(): number {
    return this.queue.size;
  }

  /**
   * Resolves once `n` tokens are taken, after every earlier waiter. Rejects with
   * `signal.reason` on abort, QueueFullError past `maxWaiting`, RangeError if n > burst.
   */
  take(n = 1, options?: TakeOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    try {
      this.checkTake(n);
      checkObject('options', options);
      signal = checkSignal('signal', options?.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return this.queue.enqueue(n, signal);
  }

  /** Takes `n` tokens if they are there now and nobody is queued ahead. */
  tryTake(n = 1): boolean {
    this.checkTake(n);
    if (this.queue.size > 0 || this.timeUntil(n) > 0) return false;
    this.level -= n;
    return true;
  }

  /**
   * ms until `n` tokens will be available (0 if now), counting any pause but not the
   * takers already queued. `n` may be 0: the time until the bucket is out of debt.
   */
  timeUntil(n = 1): number {
    checkNumber('n', n, 0);
    if (n > this.burst) throw new RangeError(`n (${n}) exceeds burst (${this.burst}) and could never be taken`);
    const now = this.now();
    this.refill(now);
    const paused = Math.max(0, this.pausedUntil - now);
    const short = n - this.level;
    return short <= EPSILON * this.burst ? paused : paused + short / this.perMs;
  }

  /**
   * Grants nothing for `ms`; extends a pause, never shortens one. No tokens accrue during
   * a pause: the server just said our estimate was generous, and refilling would release
   * a synchronized burst the moment the pause ends.
   */
  pauseFor(ms: number): void {
    checkDuration('ms', ms, false);
    const now = this.now();
    this.refill(now);
    this.pausedUntil = Math.max(this.pausedUntil, now + ms);
    this.queue.drain();
  }

  /** Gives back tokens taken but not used (never above burst); may wake waiters. */
  refund(n: number): void {
    checkNumber('n', n, 0);
    this.refill();
    this.level = Math.min(this.burst, this.level + n);
    this.queue.drain();
  }

  /** Charges tokens used beyond what was taken; the level may go negative. */
  debit(n: number): void {
    checkNumber('n', n, 0);
    this.refill();
    this.level -= n;
    this.queue.drain();
  }

  private checkTake(n: number): void {
    checkNumber('n', n, 0, { exclusive: true });
    if (n > this.burst) throw new RangeError(`n (${n}) exceeds burst (${this.burst}) and could never be taken`);
  }

  /** Moves the anchor to now, adding what accrued since (outside any pause). */
  private refill(now = this.now()): void {
    const from = Math.max(this.stamp, this.pausedUntil);
    if (now > from) this.level = Math.min(this.burst, this.level + (now - from) * this.perMs);
    if (now > this.stamp) this.stamp = now;
  }
}
