// A Scheduler's gate onto limits kept in Redis. Everything the process owes Redis (leaves,
// renewals, token corrections, waiting attempts) is batched into one script call at a
// time, so a busy process pays about one round trip per admitted attempt, and a full
// budget is re-checked on a release message or a jittered timer, never in a hot loop.

import { ClosedError, StoreUnavailableError } from '../errors.js';
import type { RateOptions } from '../resilience/rate-limiter.js';
import type { Gate, GateRequest, GateTicket, GlobalOptions } from '../scheduler/gate.js';
import { List } from '../scheduler/list.js';
import { clearTimer, setTimer, type TimerHandle } from '../timer.js';

/** What a RedisGate needs from its store: the client's state, the script, the subscription. */
export interface GateHost {
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly channel: string;
  /** Keys shared by every gate of the store, in KEYS order, and the prefix of the rest. */
  readonly baseKeys: readonly string[];
  readonly keyPrefix: string;
  ready(): boolean;
  /** The cause of the current outage, or undefined while Redis answers. */
  outage(): Error | undefined;
  /** Redis was found unreachable (a lost connection, a failed call), not merely still connecting. */
  failing(): boolean;
  sync(keys: string[], args: Array<string | number>): Promise<number[]>;
  callFailed(err: unknown): void;
  callSucceeded(): void;
  listen(gate: RedisGate): void;
  unlisten(gate: RedisGate): void;
  forget(gate: RedisGate): void;
}

interface Window {
  limit: number;
  interval: number;
  tokens: boolean;
  burst: number;
}

interface Waiter {
  next: Waiter | undefined;
  prev: Waiter | undefined;
  key: string | undefined;
  tokens: number;
  leaseOnly: boolean;
  signal: AbortSignal;
  onAbort: () => void;
  resolve: (ticket: GateTicket) => void;
  reject: (reason: unknown) => void;
  gone: boolean;
}

interface Lease {
  fence: number;
  key: string | undefined;
  tokens: number;
}

interface Batch {
  leaves: Lease[];
  renewals: Lease[];
  corrections: Correction[];
  enters: Waiter[];
}

interface Correction {
  old: string;
  next: string;
  delta: number;
}

const MAX_ENTERS = 256;
const MAX_LIST = 500;
// Back-off after a failed call while the connection itself still looks fine.
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;

const LOCAL_TICKET: GateTicket = { fence: undefined, leave() {}, reportTokens() {} };

let gateCount = 0;

export class RedisGate implements Gate {
  private readonly id: string;
  private readonly concurrency: number;
  private readonly perKey: number;
  private readonly windows: Window[];
  private readonly failOpen: boolean;
  private readonly leased: boolean;
  private readonly recheckMs: number;
  private readonly stallMs: number;

  private readonly waiters = new List<Waiter>();
  private readonly held = new Map<number, Lease>();
  private leaves: Lease[] = [];
  private corrections: Correction[] = [];
  private renewDue = false;
  // Leases of the current renewal round not sent yet: a round of more than MAX_LIST spans calls.
  private renewing: Lease[] = [];
  // Waiters should be tried: something may have changed since the head was refused.
  private recheck = false;
  // The head was refused by a shared budget: new arrivals queue behind it without a call.
  private blocked = false;
  private registered = false;
  private inflight: Promise<void> | undefined;
  private sentAt = 0;
  private scheduled = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private retryMs = RETRY_MIN_MS;
  private recheckTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private renewTimer: TimerHandle | undefined;

  constructor(private readonly host: GateHost, options: GlobalOptions) {
    this.id = `${process.pid}:${Date.now().toString(36)}:${(gateCount++).toString(36)}:${Math.random().toString(36).slice(2, 8)}`;
    this.concurrency = options.concurrency ?? 0;
    this.perKey = options.perKey ?? 0;
    this.windows = toWindows(options.rate);
    this.failOpen = options.failOpen ?? false;
    this.leased = this.concurrency > 0 || this.perKey > 0;
    this.recheckMs = Math.max(50, host.leaseMs / 3);
    this.stallMs = Math.max(250, host.leaseMs / 2);
  }

  enter(request: GateRequest): Promise<GateTicket> {
    const { key, tokens, signal } = request;
    const leaseOnly = request.leaseOnly === true;
    if (this.closed) return Promise.reject(new ClosedError('store is closed'));
    if (leaseOnly && !this.leased) return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve(LOCAL_TICKET);
    for (const w of this.windows) {
      if (leaseOnly) break;
      const capacity = Math.min(w.burst || w.limit, w.limit);
      if (w.tokens && tokens > capacity) {
        return Promise.reject(new RangeError(`tokens (${tokens}) exceed a global window's capacity (${capacity}) and could never be taken`));
      }
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.failOpen && this.failing()) return Promise.resolve(LOCAL_TICKET);
    return new Promise<GateTicket>((resolve, reject) => {
      const waiter: Waiter = {
        next: undefined, prev: undefined, key, tokens: leaseOnly ? 0 : tokens, leaseOnly, signal, resolve, reject, gone: false,
        onAbort: () => this.abandon(waiter),
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      // Back from a yield, it was running already: ahead of attempts that never started.
      if (leaseOnly) this.waiters.unshift(waiter);
      else this.waiters.push(waiter);
      if (!this.blocked) {
        this.recheck = true;
        this.schedule();
      }
    });
  }

  unavailable(): Error | undefined {
    const cause = this.down();
    if (cause === undefined) return undefined;
    return cause instanceof StoreUnavailableError ? cause : new StoreUnavailableError(`redis is unavailable: ${cause.message}`, { cause });
  }

  /** @internal A release was published: a waiting head may fit now. */
  onRelease(): void {
    if (this.waiters.size === 0) return;
    this.recheck = true;
    this.schedule();
  }

  /** @internal The connection is (back) up: resend what is owed and retry the waiters. */
  onReady(): void {
    this.retryMs = RETRY_MIN_MS;
    if (this.held.size > 0) this.renewDue = true;
    this.recheck = this.waiters.size > 0;
    this.schedule();
  }

  /** @internal The connection dropped: fail-open waiters proceed under local limits. */
  onDown(): void {
    if (this.failOpen) this.openAll();
  }

  /** Gives back every lease held, rejects waiters with ClosedError, stops timers. */
  close(): Promise<void> {
    // The scheduler and the store may both close a gate: both wait for the same leaves.
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      this.settle(w);
      w.reject(new ClosedError('store closed while waiting for a global slot'));
    }
    this.stopTimers();
    this.host.unlisten(this);
    // A reply still on its way may admit attempts; their fences are given back below.
    if (this.inflight !== undefined) await bounded(this.inflight, this.stallMs);
    const leaves = [...this.leaves, ...this.held.values()];
    this.held.clear();
    this.leaves = [];
    if ((leaves.length > 0 || this.registered) && this.host.ready() && this.leased) {
      const { keys, args } = this.encode({ leaves, renewals: [], corrections: [], enters: [] }, false);
      await bounded(this.host.sync(keys, args).then(noop, noop), this.stallMs);
    }
    this.host.forget(this);
  }

  private down(): Error | undefined {
    const outage = this.host.outage();
    if (outage !== undefined) return outage;
    if (this.stalled()) {
      return new StoreUnavailableError(`redis has not answered for ${Math.round(performance.now() - this.sentAt)} ms`);
    }
    return undefined;
  }

  // Fail-open runs locally only once Redis is known to be out: a client still making its
  // first connection is waited for, or a fleet starting together would overrun the budget.
  private failing(): boolean {
    return this.host.failing() || this.stalled();
  }

  private stalled(): boolean {
    return this.inflight !== undefined && performance.now() - this.sentAt > this.stallMs;
  }

  private abandon(w: Waiter): void {
    if (w.gone) return;
    this.waiters.remove(w);
    this.settle(w);
    w.reject(w.signal.reason);
    if (this.waiters.size === 0) {
      this.blocked = false;
      this.clearRecheck();
      this.host.unlisten(this);
      // Still queued as a waiting gate in Redis: say we left, so others stop reserving for us.
      if (this.registered) this.schedule();
    }
  }

  private settle(w: Waiter): void {
    w.gone = true;
    w.signal.removeEventListener('abort', w.onAbort);
  }

  private openAll(): void {
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      this.settle(w);
      w.resolve(LOCAL_TICKET);
    }
    this.blocked = false;
    this.clearRecheck();
  }

  private schedule(): void {
    if (this.scheduled || this.inflight !== undefined || this.closed) return;
    this.scheduled = true;
    // setImmediate, not a microtask: leaves and enters of one turn of the loop (a task
    // finishing and the next one starting) travel together.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inflight !== undefined || this.closed || this.retryTimer !== undefined) return;
    if (!this.host.ready()) {
      if (this.failOpen && this.failing()) this.openAll();
      return;
    }
    if (this.renewDue) {
      this.renewDue = false;
      this.renewing = this.leased ? [...this.held.values()] : [];
    }
    let renewals: Lease[] = [];
    while (renewals.length === 0 && this.renewing.length > 0) {
      renewals = this.renewing.splice(0, MAX_LIST).filter((lease) => this.held.has(lease.fence));
    }
    const batch: Batch = {
      leaves: this.leaves.splice(0, MAX_LIST),
      renewals,
      corrections: this.corrections.splice(0, MAX_LIST),
      enters: [],
    };
    if (this.recheck) {
      for (let w = this.waiters.head; w !== undefined && batch.enters.length < MAX_ENTERS; w = w.next) batch.enters.push(w);
    }
    const more = this.waiters.size > batch.enters.length;
    const deregister = this.registered && this.waiters.size === 0;
    if (batch.leaves.length === 0 && batch.renewals.length === 0 && batch.corrections.length === 0 &&
        batch.enters.length === 0 && !deregister) return;
    this.recheck = false;
    const { keys, args } = this.encode(batch, more);
    this.sentAt = performance.now();
    this.inflight = this.host.sync(keys, args).then(
      (reply) => this.onReply(batch, reply),
      (err: unknown) => this.onError(batch, err),
    );
  }

  private encode(batch: Batch, more: boolean): { keys: string[]; args: Array<string | number> } {
    const keys = [...this.host.baseKeys];
    for (let i = 0; i < this.windows.length; i++) {
      const w = this.windows[i]!;
      const base = `${this.host.keyPrefix}rate:${w.interval}:${w.tokens ? 'tokens' : 'requests'}`;
      keys.push(base, `${base}:sum`, `${base}:${w.limit}:${w.burst}:tat`);
    }
    const keyIndex = new Map<string, number>();
    const indexOf = (key: string | undefined): number => {
      if (key === undefined || this.perKey === 0) return 0;
      let i = keyIndex.get(key);
      if (i === undefined) {
        i = keyIndex.size + 1;
        keyIndex.set(key, i);
        keys.push(`${this.host.keyPrefix}key:${key}`);
      }
      return i;
    };
    const args: Array<string | number> = [this.id, this.host.leaseMs, this.concurrency, this.perKey, this.host.channel, this.windows.length];
    for (const w of this.windows) args.push(w.limit, w.interval, w.tokens ? 1 : 0, w.burst < w.limit ? w.burst : 0);
    args.push(batch.leaves.length);
    for (const lease of batch.leaves) args.push(lease.fence, indexOf(lease.key));
    args.push(batch.renewals.length);
    for (const lease of batch.renewals) args.push(lease.fence, indexOf(lease.key));
    args.push(batch.corrections.length);
    for (const c of batch.corrections) args.push(c.old, c.next, c.delta);
    args.push(batch.enters.length);
    for (const w of batch.enters) args.push(indexOf(w.key), w.leaseOnly ? 'L' : String(w.tokens));
    args.push(more ? 1 : 0);
    return { keys, args };
  }

  private onReply(batch: Batch, reply: number[]): void {
    this.inflight = undefined;
    this.retryMs = RETRY_MIN_MS;
    this.host.callSucceeded();
    const hint = reply[0]!;
    this.registered = reply[1] === 1;
    let refused = false;
    let waiting = 0;
    this.blocked = false;
    for (let i = 0; i < batch.enters.length; i++) {
      const w = batch.enters[i]!;
      const result = reply[i + 2]!;
      if (result > 0) {
        this.admit(w, result);
        continue;
      }
      if (w.gone) continue;
      waiting++;
      refused = true;
      if (result < 0) this.blocked = true;
    }
    // Arrivals during the call were not tried yet; behind a blocked head they need not be.
    if (!this.blocked && this.waiters.size > waiting) this.recheck = true;
    if (this.waiters.size === 0) {
      this.blocked = false;
      this.clearRecheck();
      this.host.unlisten(this);
    } else if (refused) {
      if (this.leased) this.host.listen(this);
      this.armRecheck(this.blocked ? Math.min(Math.max(hint, 1), this.recheckMs) : this.recheckMs);
    }
    this.updateRenewTimer();
    if (this.leaves.length > 0 || this.corrections.length > 0 || this.renewDue || this.renewing.length > 0 || this.recheck ||
        (this.registered && this.waiters.size === 0)) {
      this.schedule();
    }
  }

  private admit(w: Waiter, fence: number): void {
    const lease: Lease = { fence, key: w.key, tokens: w.tokens };
    if (w.gone) {
      // Aborted or closed while the call was on its way: give the lease straight back.
      if (this.leased) this.leaves.push(lease);
      return;
    }
    this.waiters.remove(w);
    this.settle(w);
    if (this.leased) this.held.set(fence, lease);
    w.resolve(this.ticket(lease));
  }

  private ticket(lease: Lease): GateTicket {
    let left = false;
    return {
      fence: lease.fence,
      leave: () => {
        if (left) return;
        left = true;
        if (!this.held.delete(lease.fence)) return;
        this.leaves.push(lease);
        // A queued attempt here may take the freed slot in the same call.
        if (this.waiters.size > 0) this.recheck = true;
        this.updateRenewTimer();
        this.schedule();
      },
      reportTokens: (actual: number) => {
        if (this.closed || actual === lease.tokens || !this.windows.some((w) => w.tokens)) return;
        this.corrections.push({ old: `${lease.fence}:${lease.tokens}`, next: `${lease.fence}:${actual}`, delta: actual - lease.tokens });
        lease.tokens = actual;
        this.schedule();
      },
    };
  }

  private onError(batch: Batch, err: unknown): void {
    this.inflight = undefined;
    this.host.callFailed(err);
    // Leaves are idempotent and corrections only apply once: both are safe to send again.
    this.leaves.unshift(...batch.leaves);
    this.corrections.unshift(...batch.corrections);
    // The round starts over once Redis answers again.
    if (batch.renewals.length > 0 || this.renewing.length > 0) this.renewDue = true;
    if (batch.enters.length > 0) this.recheck = true;
    if (this.failOpen) this.openAll();
    if (this.closed) return;
    // A dropped connection is retried on 'ready'; an error reply (LOADING, READONLY, OOM…)
    // is retried here, backing off.
    if (this.host.ready()) {
      const delay = this.retryMs * (0.5 + Math.random() / 2);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.retryTimer = setTimer(() => {
        this.retryTimer = undefined;
        this.schedule();
      }, delay);
    }
  }

  private armRecheck(ms: number): void {
    this.clearRecheck();
    // Jitter spreads the fleet's re-checks instead of landing them on the same millisecond.
    const delay = ms + Math.random() * Math.min(50, ms * 0.2 + 1);
    this.recheckTimer = setTimer(() => {
      this.recheckTimer = undefined;
      this.recheck = true;
      this.schedule();
    }, delay);
  }

  private clearRecheck(): void {
    clearTimer(this.recheckTimer);
    this.recheckTimer = undefined;
  }

  // One timer renews every lease of the gate, MAX_LIST per call, re-armed while leases are
  // held; unref'd so an idle process exits.
  private updateRenewTimer(): void {
    if (this.held.size > 0 && this.renewTimer === undefined && !this.closed) {
      this.renewTimer = setTimer(() => {
        this.renewTimer = undefined;
        this.renewDue = true;
        this.schedule();
        this.updateRenewTimer();
      }, this.host.renewEveryMs);
      this.renewTimer?.unref();
    } else if (this.held.size === 0 && this.renewTimer !== undefined) {
      clearTimer(this.renewTimer);
      this.renewTimer = undefined;
    }
  }

  private stopTimers(): void {
    this.clearRecheck();
    clearTimer(this.retryTimer);
    this.retryTimer = undefined;
    clearTimer(this.renewTimer);
    this.renewTimer = undefined;
  }
}

function toWindows(rate: RateOptions | readonly RateOptions[] | undefined): Window[] {
  if (rate === undefined) return [];
  const list: readonly RateOptions[] = Array.isArray(rate) ? rate : [rate as RateOptions];
  return list.map((w) => ({ limit: w.limit, interval: w.interval, tokens: w.cost === 'tokens', burst: w.burst ?? w.limit }));
}

function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimer(resolve, ms);
  });
  return Promise.race([promise.then(noop, noop), timeout]).finally(() => clearTimer(timer));
}

function noop(): void {}
