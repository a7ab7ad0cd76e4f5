// Several rate windows enforced together — e.g. requests per minute and tokens per
// minute — each an exact sliding window (plus a token bucket when `burst` is below the
// limit), taken from all or none so a refusal by one window never leaks a partial charge.

import { FixedWindow } from './fixed-window.js';
import { SlidingWindow, type RateWindow, type WindowCharge } from './sliding-window.js';
import { TokenBucket } from './token-bucket.js';
import { WaitQueue } from './wait-queue.js';
import { abortReason, checkDuration, checkFunction, checkNumber, checkObject, checkSignal, describe, monotonicNow } from '../validate.js';

export interface RateOptions {
  /** Units allowed per `interval`. */
  limit: number;
  /** Window length in ms. */
  interval: number;
  /** Most units at once; default `limit`. */
  burst?: number;
  /** What one unit is: a request (each call costs 1) or a model token (each call costs its estimate). Default 'requests'. */
  cost?: 'requests' | 'tokens';
  /**
   * 'sliding' (default): no span of `interval` ms ever holds more than `limit`. 'fixed': the
   * count starts afresh `interval` ms after a window's first charge (p-queue's default mode;
   * up to twice `limit` can pass across a boundary).
   */
  window?: 'sliding' | 'fixed';
  /** Fixed windows only: a new window opens with the tasks still running counted in (p-queue's carryoverIntervalCount). */
  carryover?: boolean;
}

export interface RateLimiterOptions {
  /** Most takers allowed to wait at once; beyond it `take` rejects with QueueFullError. Default 100_000. */
  maxWaiting?: number;
  /** Clock in ms. Default: performance.now. */
  now?: () => number;
}

interface Window {
  log: RateWindow;
  // Only when burst < limit: spreads a window's allowance instead of allowing it all at once.
  bucket: TokenBucket | undefined;
  tokens: boolean;
  /** The burst as given; without one it follows the limit. */
  burst: number | undefined;
  /** A fixed window with carryover: it counts a charge until the call ends (release). */
  carries: boolean;
}

/** What one call took; `adjust` corrects its token count once the real usage is known. */
export interface RateCharge {
  adjust(actualTokens: number): void;
  /** The call it paid for has ended (fixed windows with `carryover` stop counting it). */
  release(): void;
}

export class RateLimiter {
  private readonly windows: Window[];
  private readonly queue: WaitQueue<number>;
  private readonly now: () => number;

  constructor(rate: RateOptions | readonly RateOptions[], options: RateLimiterOptions = {}) {
    checkObject('options', options);
    const list = Array.isArray(rate) ? rate : [rate];
    if (list.length === 0) throw new RangeError('rate: give at least one window');
    const now = checkFunction('now', options.now) ?? monotonicNow;
    this.now = now;
    const maxWaiting = checkNumber('maxWaiting', options.maxWaiting ?? 100_000, 0, { integer: true, infinity: true });
    this.windows = list.map((window: unknown, i) => toWindow(window, `rate[${i}]`, now));
    this.queue = new WaitQueue<number>(
      // A taker queued before setLimit lowered a token window below its tokens is charged
      // that window's capacity, rather than waiting forever.
      {
        wait: (tokens) => this.waitFor(Math.min(tokens, this.tokenCapacity())),
        grant: (tokens) => this.charge(Math.min(tokens, this.tokenCapacity())),
      },
      maxWaiting,
      'RateLimiter',
    );
  }

  /** Number of `take` calls waiting. */
  get waiting(): number {
    return this.queue.size;
  }

  /**
   * Takes one request and `tokens` model tokens from every window if all allow it now and
   * nobody is queued ahead; otherwise takes nothing.
   */
  tryTake(tokens = 0): boolean {
    this.checkTokens(tokens);
    if (this.queue.size > 0 || this.waitFor(tokens) > 0) return false;
    this.charge(tokens);
    return true;
  }

  /** Like tryTake, returning a handle to correct the token charge later, or undefined. */
  tryAcquire(tokens = 0): RateCharge | undefined {
    this.checkTokens(tokens);
    if (this.queue.size > 0 || this.waitFor(tokens) > 0) return undefined;
    return this.charge(tokens);
  }

  /** Waits its turn (FIFO) until every window allows one request and `tokens` tokens, then takes them. */
  take(tokens = 0, options?: { signal?: AbortSignal }): Promise<void> {
    let signal: AbortSignal | undefined;
    try {
      this.checkTokens(tokens);
      checkObject('options', options);
      signal = checkSignal('signal', options?.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return this.queue.enqueue(tokens, signal);
  }

  /** ms until every window allows one request and `tokens` tokens; 0 if now. Ignores queued takers. */
  timeUntil(tokens = 0): number {
    this.checkTokens(tokens);
    return this.waitFor(tokens);
  }

  /**
   * Changes window `index`'s limit (and its burst, when given) from now on, e.g. to what a
   * provider's rate-limit headers say. Charges already in the window still count: a lower
   * limit holds new takes back until enough of them expire; a higher one may wake waiters.
   */
  setLimit(index: number, limit: number, burst?: number): void {
    checkNumber('index', index, 0, { integer: true });
    const w = this.windows[index];
    if (w === undefined) throw new RangeError(`index must be < ${this.windows.length} (the number of windows), got ${index}`);
    checkNumber('limit', limit, 0, { exclusive: true });
    if (burst !== undefined) checkNumber('burst', burst, 1);
    w.burst = burst ?? w.burst;
    w.log.limit = limit;
    const capacity = w.burst ?? limit;
    const old = w.bucket;
    w.bucket = capacity < limit ? bucketFor(limit, w.log.interval, capacity, this.now) : undefined;
    // What the old bucket had spent stays spent; a window that had none starts full.
    if (old !== undefined && w.bucket !== undefined) w.bucket.debit(capacity - Math.min(old.tokens, capacity));
    this.queue.drain();
  }

  /** The most tokens one take may charge now: the smallest token window's capacity (Infinity without one). */
  tokenCapacity(): number {
    let most = Infinity;
    for (const w of this.windows) if (w.tokens) most = Math.min(most, w.bucket?.burst ?? w.log.limit);
    return most;
  }

  /** The windows in force now, as options. */
  describeWindows(): RateOptions[] {
    return this.windows.map((w) => ({
      limit: w.log.limit, interval: w.log.interval, ...(w.burst === undefined ? {} : { burst: w.burst }),
      cost: w.tokens ? 'tokens' : 'requests', ...(w.log instanceof FixedWindow ? { window: 'fixed' as const } : {}),
    }));
  }

  /** Pauses every window (a 429 with Retry-After); extends, never shortens. */
  pauseFor(ms: number): void {
    checkDuration('ms', ms, false);
    for (const w of this.windows) {
      w.log.pauseFor(ms);
      w.bucket?.pauseFor(ms);
    }
    this.queue.drain();
  }

  /** The task used fewer tokens than estimated: give the difference back to token windows. */
  refund(tokens: number): void {
    checkNumber('tokens', tokens, 0);
    for (const w of this.windows) {
      if (!w.tokens) continue;
      w.log.refund(tokens);
      w.bucket?.refund(tokens);
    }
    this.queue.drain();
  }

  /** The task used more tokens than estimated: charge the difference (windows may go negative). */
  debit(tokens: number): void {
    checkNumber('tokens', tokens, 0);
    for (const w of this.windows) {
      if (!w.tokens) continue;
      w.log.take(tokens);
      w.bucket?.debit(tokens);
    }
    this.queue.drain();
  }

  // A token window with nothing to charge still waits out its debt: a request of unknown
  // size must not pile onto a window already overdrawn.
  private waitFor(tokens: number): number {
    let ms = 0;
    for (const w of this.windows) {
      const cost = w.tokens ? tokens : 1;
      ms = Math.max(ms, w.log.timeUntil(cost), w.bucket?.timeUntil(cost) ?? 0);
    }
    return ms;
  }

  private charge(tokens: number): RateCharge {
    const charges: Array<{ w: Window; entry: WindowCharge }> = [];
    // Fixed windows with carryover keep counting a charge until its call ends.
    let held: Array<{ w: Window; entry: WindowCharge }> | undefined;
    for (const w of this.windows) {
      const entry = w.tokens ? w.log.take(tokens) : w.log.take(1);
      if (w.tokens) {
        charges.push({ w, entry });
        if (tokens > 0) w.bucket?.debit(tokens);
      } else {
        w.bucket?.debit(1);
      }
      if (w.carries) (held ??= []).push({ w, entry });
    }
    let charged = tokens;
    return {
      adjust: (actual: number) => {
        checkNumber('actualTokens', actual, 0);
        const delta = actual - charged;
        charged = actual;
        for (const { w, entry } of charges) {
          w.log.adjust(entry, actual);
          if (delta > 0) w.bucket?.debit(delta);
          else if (delta < 0) w.bucket?.refund(-delta);
        }
        this.queue.drain();
      },
      release: () => {
        if (held === undefined) return;
        for (const { w, entry } of held) w.log.release!(entry);
        held = undefined;
      },
    };
  }

  private checkTokens(tokens: number): void {
    checkNumber('tokens', tokens, 0);
    for (const w of this.windows) {
      const capacity = w.bucket?.burst ?? w.log.limit;
      if (w.tokens && tokens > capacity) {
        throw new RangeError(`tokens (${tokens}) exceed a window's capacity (${capacity}) and could never be taken`);
      }
    }
  }
}

function toWindow(window: unknown, name: string, now: () => number): Window {
  if (typeof window !== 'object' || window === null) throw new TypeError(`${name} must be an object, got ${describe(window)}`);
  const { limit, interval, burst, cost, window: kind, carryover } = window as RateOptions;
  checkNumber(`${name}.limit`, limit, 0, { exclusive: true });
  checkNumber(`${name}.interval`, interval, 0, { exclusive: true });
  const capacity = checkNumber(`${name}.burst`, burst ?? limit, 1);
  if (cost !== undefined && cost !== 'requests' && cost !== 'tokens') {
    throw new TypeError(`${name}.cost must be 'requests' or 'tokens', got ${describe(cost)}`);
  }
  if (kind !== undefined && kind !== 'sliding' && kind !== 'fixed') {
    throw new TypeError(`${name}.window must be 'sliding' or 'fixed', got ${describe(kind)}`);
  }
  if (carryover !== undefined && typeof carryover !== 'boolean') {
    throw new TypeError(`${name}.carryover must be a boolean, got ${describe(carryover)}`);
  }
  if (carryover === true && kind !== 'fixed') throw new TypeError(`${name}.carryover applies to window: 'fixed' only`);
  const bucket = capacity < limit ? bucketFor(limit, interval, capacity, now) : undefined;
  const log = kind === 'fixed' ? new FixedWindow(limit, interval, now, carryover === true) : new SlidingWindow(limit, interval, now);
  return { log, bucket, tokens: cost === 'tokens', burst, carries: carryover === true };
}

function bucketFor(limit: number, interval: number, burst: number, now: () => number): TokenBucket {
  return new TokenBucket({ rate: (limit / interval) * 1000, burst, now });
}
