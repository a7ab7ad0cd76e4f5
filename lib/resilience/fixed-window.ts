// A fixed rate window, as p-queue's `interval` + `intervalCap` count: up to `limit` units
// from the window's first charge until `interval` ms later, then a fresh count. Cheaper
// than a sliding window but lets up to twice the limit through across a boundary.

import type { RateWindow, WindowCharge } from './sliding-window.js';

interface Live extends WindowCharge {
  /** When the task it paid for ended; undefined while it runs. */
  end: number | undefined;
}

export class FixedWindow implements RateWindow {
  // The window runs from `start` for `interval` ms; -Infinity: none is open, the next charge opens one.
  private start = -Infinity;
  private used = 0;
  private pausedUntil = -Infinity;
  // With carryover: charges whose tasks may still run, to count into the window after theirs.
  private readonly live: Set<Live> | undefined;

  /**
   * With `carryover` (p-queue's carryoverIntervalCount) a task still running when its window
   * ends counts against the next one too: the window after a boundary opens with them.
   */
  constructor(public limit: number, readonly interval: number, private readonly now: () => number, carryover = false) {
    this.live = carryover ? new Set() : undefined;
  }

  inUse(): number {
    this.roll(this.now());
    return this.used;
  }

  timeUntil(cost: number): number {
    const now = this.now();
    this.roll(now);
    const paused = Math.max(0, this.pausedUntil - now);
    if (this.used + cost <= this.limit) return paused;
    return Math.max(paused, this.start + this.interval - now);
  }

  take(cost: number): WindowCharge {
    const now = this.now();
    this.roll(now);
    if (this.start === -Infinity) {
      this.start = now;
      this.used = 0;
    }
    this.used += cost;
    const entry: Live = { t: now, amount: cost, end: undefined };
    this.live?.add(entry);
    return entry;
  }

  /** The task a charge paid for has ended: it carries into no later window. */
  release(entry: WindowCharge): void {
    const live = entry as Live;
    if (this.live?.has(live)) live.end = this.now();
  }

  adjust(entry: WindowCharge, amount: number): void {
    if (entry.t >= this.start) this.used += amount - entry.amount;
    entry.amount = amount;
  }

  refund(amount: number): void {
    this.used = Math.max(0, this.used - amount);
  }

  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  // Windows follow one another on the `interval` grid while work carries over; once a
  // boundary passes with nothing carried, the next charge opens a window of its own.
  private roll(now: number): void {
    if (now < this.start + this.interval) return;
    if (this.live === undefined || this.start === -Infinity) {
      this.start = -Infinity;
      this.used = 0;
      return;
    }
    const boundary = this.start + Math.floor((now - this.start) / this.interval) * this.interval;
    let carried = 0;
    for (const entry of this.live) {
      if (entry.end !== undefined && entry.end <= boundary) this.live.delete(entry);
      else carried += entry.amount;
    }
    this.start = carried > 0 ? boundary : -Infinity;
    this.used = carried;
  }
}
