// The budget one lane learned from its provider's headers: never start more than the server
// said remain before its reset. Requests already sent when an answer was counted are the
// server's to count; the ones sent after it are subtracted here until a newer answer arrives.
// Once the window's length is known, starts are also spread over it, so the budget rolls
// instead of being spent at once and waited out whole.

import { List } from '../scheduler/list.js';
import { abortReason } from '../validate.js';
import { clearTimer, setTimer, type TimerHandle } from '../timer.js';
import type { LimitName, LimitReading } from './header-limits.js';
import { StartLog } from './start-log.js';

/** What one request will cost each budget. */
export interface Cost {
  input: number;
  output: number;
}

/** A learned limit as stats() shows it. */
export interface LearnedLimit {
  /** The window's size, when the server said. */
  limit: number | undefined;
  /** What the server said was left, less what was started since. */
  remaining: number;
  /** When the budget is whole again (epoch ms). */
  resetAt: number;
  /** The window's length: as the server said (IETF), or the shortest one its answers allow. */
  windowMs: number | undefined;
  /** The header field it was read from. */
  source: string;
  /** Answers that updated it. */
  updates: number;
}

interface Dim {
  limit: number | undefined;
  allowance: number;
  /** On the monotonic clock. */
  resetAt: number;
  windowMs: number | undefined;
  log: StartLog;
  source: string;
  updates: number;
  /** Start sequence of the answer it was last read from: older answers are stale. */
  seq: number;
}

/** Handed out by take(): identifies a start, so its answer's reading can be placed in time. */
export interface BudgetTicket {
  seq: number;
  /** Units started up to and including this one, per budget. */
  spent: Record<LimitName, number>;
}

/** A take() waiting for room: queued in arrival order, one abort listener for its whole wait. */
interface Waiter {
  next: Waiter | undefined;
  prev: Waiter | undefined;
  cost: Cost;
  signal: AbortSignal;
  onAbort: () => void;
  resolve: (ticket: BudgetTicket) => void;
}

const NAMES: readonly LimitName[] = ['requests', 'tokens', 'input-tokens', 'output-tokens'];
// Starts within one window stay this far under the limit, as a hand-set rate window would:
// client and provider count a request a transit apart, and the margin absorbs it.
const HEADROOM = 0.95;

export class LaneBudget {
  private readonly dims = new Map<LimitName, Dim>();
  private readonly spent: Record<LimitName, number> = { 'requests': 0, 'tokens': 0, 'input-tokens': 0, 'output-tokens': 0 };
  private seq = 0;
  // One timer for the whole queue, armed for its head: a waiter re-armed per answer costs a
  // promise, a timer and a listener each time, and hundreds of waiters × every answer add up.
  private readonly waiters = new List<Waiter>();
  private timer: TimerHandle | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes `cost` if nobody is waiting and every learned budget has room for it now. */
  tryTake(cost: Cost): BudgetTicket | undefined {
    return this.waiters.size === 0 && this.waitFor(cost) === 0 ? this.charge(cost) : undefined;
  }

  /**
   * Waits until every learned budget has room for `cost` (an answer may make room sooner), then
   * takes it. Waiters are served in arrival order, so a later, cheaper call never overtakes one.
   */
  take(cost: Cost, signal: AbortSignal): Promise<BudgetTicket> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const ticket = this.tryTake(cost);
    if (ticket !== undefined) return Promise.resolve(ticket);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        next: undefined, prev: undefined, cost, signal, resolve,
        onAbort: () => {
          this.waiters.remove(w);
          reject(abortReason(signal));
          // The head may have been what held the others back.
          this.serve();
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.waiters.push(w);
      if (this.waiters.size === 1) this.serve();
    });
  }

  /** Applies what an answer to the start `ticket` said. */
  learn(readings: readonly LimitReading[], ticket: BudgetTicket): void {
    if (readings.length === 0) return;
    const at = this.now();
    for (const r of readings) {
      const dim = this.dims.get(r.name);
      if (dim !== undefined && ticket.seq < dim.seq) continue;
      // Units started after this request are not in the server's count yet.
      const later = this.spent[r.name] - ticket.spent[r.name];
      const next: Dim = {
        limit: r.limit, allowance: r.remaining - later, resetAt: at + r.resetMs, windowMs: r.windowMs ?? windowOf(r, dim?.windowMs),
        log: dim?.log ?? new StartLog(), source: r.source, updates: (dim?.updates ?? 0) + 1, seq: ticket.seq,
      };
      this.dims.set(r.name, next);
    }
    this.serve();
  }

  /** What was learned, per budget. */
  describe(): Partial<Record<LimitName, LearnedLimit>> {
    const out: Partial<Record<LimitName, LearnedLimit>> = {};
    const now = this.now();
    const wall = Date.now();
    for (const [name, d] of this.dims) {
      this.refresh(d, now);
      out[name] = {
        limit: d.limit, remaining: Math.max(0, d.allowance), resetAt: d.resetAt === Infinity ? wall : Math.round(wall + d.resetAt - now),
        windowMs: d.windowMs, source: d.source, updates: d.updates,
      };
    }
    return out;
  }

  private charge(cost: Cost): BudgetTicket {
    const units = unitsOf(cost);
    const now = this.now();
    for (const name of NAMES) {
      this.spent[name] += units[name];
      const d = this.dims.get(name);
      if (d === undefined) continue;
      d.allowance -= units[name];
      if (d.windowMs !== undefined) d.log.add(now, units[name]);
    }
    return { seq: ++this.seq, spent: { ...this.spent } };
  }

  /** ms until every learned budget has room for `cost`, as far as the answers so far tell; 0 if now. */
  waitFor(cost: Cost): number {
    const now = this.now();
    const units = unitsOf(cost);
    let wait = 0;
    for (const name of NAMES) {
      const d = this.dims.get(name);
      if (d === undefined) continue;
      this.refresh(d, now);
      // A whole budget smaller than one request still lets it go: the server decides.
      const whole = d.limit !== undefined && d.allowance >= d.limit;
      if (units[name] === 0) continue;
      if (d.allowance < units[name] && !whole) wait = Math.max(wait, d.resetAt - now);
      if (d.windowMs !== undefined && d.limit !== undefined) {
        wait = Math.max(wait, d.log.waitFor(units[name], Math.max(1, Math.floor(d.limit * HEADROOM)), d.windowMs, now));
      }
    }
    return wait;
  }

  private refresh(d: Dim, now: number): void {
    if (now < d.resetAt) return;
    // Past its reset the budget is whole; until an answer says more, only its size bounds it.
    d.allowance = d.limit ?? Infinity;
    d.resetAt = Infinity;
  }

  /** Starts waiters from the head while they fit; arms the one timer for the first that does not. */
  private serve(): void {
    clearTimer(this.timer);
    this.timer = undefined;
    for (let w = this.waiters.head; w !== undefined; w = this.waiters.head) {
      const wait = this.waitFor(w.cost);
      if (wait > 0) {
        this.timer = setTimer(() => {
          this.timer = undefined;
          this.serve();
        }, Math.max(1, Math.ceil(wait)));
        return;
      }
      this.waiters.shift();
      w.signal.removeEventListener('abort', w.onAbort);
      w.resolve(this.charge(w.cost));
    }
  }
}

/**
 * The shortest window an answer allows. Both providers refill continuously and reset to full
 * in `resetMs`, so the window is resetMs × limit / used; a sliding log gives a longer one
 * (its newest entry, this request, expires a whole window from now). Either way, never shorter
 * than the real window, and the shortest seen is kept.
 */
function windowOf(r: LimitReading, known: number | undefined): number | undefined {
  if (r.limit === undefined || r.remaining >= r.limit || r.resetMs <= 0) return known;
  const estimate = (r.resetMs * r.limit) / (r.limit - r.remaining);
  return known === undefined ? estimate : Math.min(known, estimate);
}

function unitsOf(cost: Cost): Record<LimitName, number> {
  return { 'requests': 1, 'tokens': cost.input + cost.output, 'input-tokens': cost.input, 'output-tokens': cost.output };
}
