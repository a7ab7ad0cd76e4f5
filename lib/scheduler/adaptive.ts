// Finds a concurrency limit from what the service answers: raises it while latency stays
// flat and nothing is refused, cuts it on overload (429/503, timeouts) or a latency rise.
// 'aimd' is TCP-style additive increase, multiplicative decrease; 'gradient' scales the
// limit by baseline/current latency (Netflix concurrency-limits' Gradient2 idea).

import { checkInteger, checkObject, describe } from '../validate.js';

export interface AdaptiveConcurrency {
  min?: number;
  max?: number;
  initial?: number;
  adapt: 'aimd' | 'gradient';
}

export type Outcome = 'ok' | 'overload' | 'neutral';

// The baseline is the lowest latency seen, drifting up by this share per sample, so it
// follows a service that really got slower (after ~7,000 samples at twice the latency)
// without forgetting it within the span a rise needs to show.
const DRIFT = 0.0001;
// A short-term latency this many times the baseline counts as a rise.
const RISE = 2;

export class AdaptiveLimit {
  readonly min: number;
  readonly max: number;
  readonly mode: 'aimd' | 'gradient';
  limit: number;
  private short = 0;
  private samples = 0;
  private baseline = Infinity;
  // The gradient limit moves by fractions; rounding each step would pin small limits.
  private estimate: number;
  private successes = 0;
  private lastCut = -Infinity;

  constructor(options: AdaptiveConcurrency, private readonly now: () => number) {
    checkObject('concurrency', options);
    if (options.adapt !== 'aimd' && options.adapt !== 'gradient') {
      throw new TypeError(`concurrency.adapt must be 'aimd' or 'gradient', got ${describe(options.adapt)}`);
    }
    this.mode = options.adapt;
    this.min = checkInteger('concurrency.min', options.min ?? 1, 1);
    this.max = checkInteger('concurrency.max', options.max ?? 1000, this.min);
    this.limit = checkInteger('concurrency.initial', options.initial ?? Math.min(this.max, Math.max(this.min, 8)), this.min);
    if (this.limit > this.max) throw new RangeError(`concurrency.initial (${this.limit}) must be <= max (${this.max})`);
    this.estimate = this.limit;
  }

  /** Sets the limit from outside (the scheduler's `concurrency` setter), within bounds. */
  reset(limit: number): number {
    this.limit = Math.max(this.min, Math.min(this.max, limit));
    this.estimate = this.limit;
    return this.limit;
  }

  /** Records one finished attempt; returns the new limit. */
  sample(latencyMs: number, outcome: Outcome, inFlight: number): number {
    if (outcome === 'overload') return this.cut(0.5);
    if (outcome === 'neutral') return this.limit;
    this.samples++;
    this.short = this.samples === 1 ? latencyMs : this.short * 0.9 + latencyMs * 0.1;
    this.baseline = Math.min(this.baseline * (1 + DRIFT), latencyMs);
    if (this.samples < 10) return this.limit;
    if (this.mode === 'gradient') return this.gradient();
    if (this.short > RISE * this.baseline) return this.cut(0.9);
    // Grow only when the limit is in use and latency is near its baseline: idle headroom
    // or a service already slowing down proves nothing.
    if (inFlight * 2 < this.limit || this.short > 1.5 * this.baseline) return this.limit;
    if (++this.successes >= this.limit) {
      this.successes = 0;
      this.limit = Math.min(this.max, this.limit + 1);
    }
    return this.limit;
  }

  private gradient(): number {
    const ratio = Math.max(0.5, Math.min(1, this.baseline / Math.max(this.short, 1e-6)));
    // sqrt(limit) of allowance lets a limit that sits on the baseline keep probing upwards.
    const target = this.estimate * ratio + Math.sqrt(this.estimate);
    this.estimate = Math.max(this.min, Math.min(this.max, this.estimate * 0.8 + target * 0.2));
    this.limit = Math.floor(this.estimate);
    return this.limit;
  }

  // One burst of refusals is one signal: cut at most once per latency of the service.
  private cut(factor: number): number {
    const now = this.now();
    if (now - this.lastCut < Math.max(this.short, 100)) return this.limit;
    this.lastCut = now;
    this.successes = 0;
    this.limit = Math.max(this.min, Math.floor(this.limit * factor));
    this.estimate = this.limit;
    return this.limit;
  }
}
