// An exact rate window: a log of what was taken and when, so no span of `interval` ms
// ever holds more than `limit` (a token bucket of the same size lets up to twice that
// through across a refill). Entries can be corrected after the fact (token counts).

/** One charge against a window; `amount` can be corrected while the charge is in the window. */
export interface WindowCharge {
  readonly t: number;
  amount: number;
}

/** What RateLimiter asks of a window, sliding or fixed. */
export interface RateWindow {
  limit: number;
  readonly interval: number;
  /** Units charged in the window now. */
  inUse(): number;
  /** ms until `cost` more units fit; 0 if they fit now. */
  timeUntil(cost: number): number;
  take(cost: number): WindowCharge;
  adjust(entry: WindowCharge, amount: number): void;
  refund(amount: number): void;
  pauseFor(ms: number): void;
  /** The task a charge paid for has ended (only fixed windows with carryover care). */
  release?(entry: WindowCharge): void;
}

export class SlidingWindow implements RateWindow {
  private log: WindowCharge[] = [];
  private head = 0;
  private used = 0;
  private pausedUntil = -Infinity;

  constructor(public limit: number, readonly interval: number, private readonly now: () => number) {}

  /** Units charged within the last `interval` ms (may exceed `limit` after corrections). */
  inUse(): number {
    this.evict(this.now());
    return this.used;
  }

  /** ms until `cost` more units fit; 0 if they fit now. */
  timeUntil(cost: number): number {
    const now = this.now();
    this.evict(now);
    const paused = Math.max(0, this.pausedUntil - now);
    let excess = this.used + cost - this.limit;
    if (excess <= 0) return paused;
    // Walk forward to the charge whose expiry frees enough.
    for (let i = this.head; i < this.log.length; i++) {
      const entry = this.log[i]!;
      excess -= entry.amount;
      if (excess <= 0) return Math.max(paused, entry.t + this.interval - now);
    }
    // Only reachable when cost alone exceeds limit; callers refuse that up front.
    return Infinity;
  }

  take(cost: number): WindowCharge {
    const entry: WindowCharge = { t: this.now(), amount: cost };
    this.log.push(entry);
    this.used += cost;
    return entry;
  }

  /** Sets a charge's amount; a charge that already left the window no longer counts. */
  adjust(entry: WindowCharge, amount: number): void {
    if (entry.t > this.now() - this.interval) this.used += amount - entry.amount;
    entry.amount = amount;
  }

  /** Takes `amount` back from the newest charges first. */
  refund(amount: number): void {
    this.evict(this.now());
    for (let i = this.log.length - 1; i >= this.head && amount > 0; i--) {
      const entry = this.log[i]!;
      const back = Math.min(entry.amount, amount);
      entry.amount -= back;
      this.used -= back;
      amount -= back;
    }
  }

  /** Grants nothing until `ms` from now; extends, never shortens, a pause. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private evict(now: number): void {
    const cutoff = now - this.interval;
    const log = this.log;
    while (this.head < log.length && log[this.head]!.t <= cutoff) {
      this.used -= log[this.head]!.amount;
      this.head++;
    }
    // Compact once the dead prefix dominates, so the log stays O(live entries).
    if (this.head > 1024 && this.head * 2 > log.length) {
      this.log = log.slice(this.head);
      this.head = 0;
    }
    if (this.head === log.length) this.used = 0;
  }
}
