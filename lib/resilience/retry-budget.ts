// Caps retries as a share of recent traffic, so a failing dependency sees at most
// (1 + ratio)x its normal load instead of (1 + retries)x — the Finagle/gRPC retry budget.

import { checkFunction, checkNumber, checkObject, monotonicNow } from '../validate.js';

export interface RetryBudgetOptions {
  /** Retries allowed per attempt recorded in the window. Default 0.1. */
  ratio?: number;
  /** Length of the sliding window in ms. Default 10_000. */
  windowMs?: number;
  /** Retries per second always allowed, so low traffic can still retry at all. Default 1. */
  minPerSecond?: number;
  /** Clock in ms; inject one for deterministic tests. Default: performance.now. */
  now?: () => number;
}

// The window slides in tenths: memory stays constant whatever the traffic.
const SLOTS = 10;

/**
 * Within any `windowMs`, retries may number at most
 * `minPerSecond * windowMs / 1000 + ratio * attempts`, where attempts counts every call of
 * `recordAttempt()` — first tries and retries alike. Call `recordAttempt()` as each attempt
 * starts and `tryRetry()` before scheduling one; a `false` means "give up now".
 */
export class RetryBudget {
  readonly ratio: number;
  readonly windowMs: number;
  readonly minPerSecond: number;
  private readonly now: () => number;
  private readonly slotMs: number;
  private readonly reserve: number;
  private readonly attempts = new Float64Array(SLOTS);
  private readonly retries = new Float64Array(SLOTS);
  private readonly epochs = new Float64Array(SLOTS).fill(-Infinity);

  constructor(options: RetryBudgetOptions = {}) {
    checkObject('options', options);
    this.ratio = checkNumber('ratio', options.ratio ?? 0.1, 0);
    this.windowMs = checkNumber('windowMs', options.windowMs ?? 10_000, 0, { exclusive: true });
    this.minPerSecond = checkNumber('minPerSecond', options.minPerSecond ?? 1, 0);
    this.now = checkFunction('now', options.now) ?? monotonicNow;
    this.slotMs = this.windowMs / SLOTS;
    this.reserve = (this.minPerSecond * this.windowMs) / 1000;
  }

  recordAttempt(): void {
    this.attempts[this.slot()]!++;
  }

  /** Spends one retry if the budget allows it. */
  tryRetry(): boolean {
    if (this.available < 1) return false;
    this.retries[this.slot()]!++;
    return true;
  }

  /** Retries the budget would allow right now (may be fractional). */
  get available(): number {
    const epoch = Math.floor(this.now() / this.slotMs);
    let attempts = 0;
    let retries = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (this.epochs[i]! > epoch - SLOTS) {
        attempts += this.attempts[i]!;
        retries += this.retries[i]!;
      }
    }
    return Math.max(0, this.reserve + this.ratio * attempts - retries);
  }

  /** Index of the slot for now, cleared first if it still holds an older tenth. */
  private slot(): number {
    const epoch = Math.floor(this.now() / this.slotMs);
    const i = ((epoch % SLOTS) + SLOTS) % SLOTS;
    if (this.epochs[i] !== epoch) {
      this.epochs[i] = epoch;
      this.attempts[i] = 0;
      this.retries[i] = 0;
    }
    return i;
  }
}
