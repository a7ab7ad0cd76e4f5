// Several rate windows enforced together — e.g. requests per minute and tokens per
// minute — one token bucket per window, taken from all or none so a refusal by one
// window never leaks a partial charge on another.

import { TokenBucket } from './token-bucket.js';
import { WaitQueue } from './wait-queue.js';
import { abortReason, checkFunction, checkNumber, checkObject, checkSignal, describe } from './validate.js';

export interface RateOptions {
  /** Units allowed per `interval`. */
  limit: number;
  /** Window length in ms. */
  interval: number;
  /** Most units at once; default `limit`. */
  burst?: number;
  /** What one unit is: a request (each call costs 1) or a model token (each call costs its estimate). Default 'requests'. */
  cost?: 'requests' | 'tokens';
}

export interface RateLimiterOptions {
  /** Most takers allowed to wait at once; beyond it `take` rejects with QueueFullError. Default 100_000. */
  maxWaiting?: number;
  /** Clock in ms. Default: performance.now. */
  now?: () => number;
}

interface Window {
  bucket: TokenBucket;
  tokens: boolean;
}

export class RateLimiter {
  private readonly windows: Window[];
  private readonly queue: WaitQueue<number>;

  constructor(rate: RateOptions | readonly RateOptions[], options: RateLimiterOptions = {}) {
    checkObject('options', options);
    const list = Array.isArray(rate) ? rate : [rate];
    if (list.length === 0) throw new RangeError('rate: give at least one window');
    const now = checkFunction('now', options.now);
    const maxWaiting = checkNumber('maxWaiting', options.maxWaiting ?? 100_000, 0, { integer: true, infinity: true });
    this.windows = list.map((window: unknown, i) => toWindow(window, `rate[${i}]`, now));
    this.queue = new WaitQueue<number>(
      { wait: (tokens) => this.waitFor(tokens), grant: (tokens) => this.charge(tokens) },
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

  /** Pauses every window (a 429 with Retry-After); extends, never shortens. */
  pauseFor(ms: number): void {
    for (const w of this.windows) w.bucket.pauseFor(ms);
    this.queue.drain();
  }

  /** The task used fewer tokens than estimated: give the difference back to token windows. */
  refund(tokens: number): void {
    checkNumber('tokens', tokens, 0);
    for (const w of this.windows) if (w.tokens) w.bucket.refund(tokens);
    this.queue.drain();
  }

  /** The task used more tokens than estimated: charge the difference (windows may go negative). */
  debit(tokens: number): void {
    checkNumber('tokens', tokens, 0);
    for (const w of this.windows) if (w.tokens) w.bucket.debit(tokens);
    this.queue.drain();
  }

  // A token window with nothing to charge still waits out its debt: a request of unknown
  // size must not pile onto a window already overdrawn.
  private waitFor(tokens: number): number {
    let ms = 0;
    for (const w of this.windows) ms = Math.max(ms, w.bucket.timeUntil(w.tokens ? tokens : 1));
    return ms;
  }

  private charge(tokens: number): void {
    for (const w of this.windows) {
      if (!w.tokens) w.bucket.debit(1);
      else if (tokens > 0) w.bucket.debit(tokens);
    }
  }

  private checkTokens(tokens: number): void {
    checkNumber('tokens', tokens, 0);
    for (const w of this.windows) {
      if (w.tokens && tokens > w.bucket.burst) {
        throw new RangeError(`tokens (${tokens}) exceed a window's capacity (${w.bucket.burst}) and could never be taken`);
      }
    }
  }
}

function toWindow(window: unknown, name: string, now: (() => number) | undefined): Window {
  if (typeof window !== 'object' || window === null) throw new TypeError(`${name} must be an object, got ${describe(window)}`);
  const { limit, interval, burst, cost } = window as RateOptions;
  checkNumber(`${name}.limit`, limit, 0, { exclusive: true });
  checkNumber(`${name}.interval`, interval, 0, { exclusive: true });
  const capacity = checkNumber(`${name}.burst`, burst ?? limit, 1);
  if (cost !== undefined && cost !== 'requests' && cost !== 'tokens') {
    throw new TypeError(`${name}.cost must be 'requests' or 'tokens', got ${describe(cost)}`);
  }
  const bucket = new TokenBucket({ rate: (limit / interval) * 1000, burst: capacity, now });
  return { bucket, tokens: cost === 'tokens' };
}
