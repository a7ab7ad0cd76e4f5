// The `ctx` an attempt receives: its signal (made only when read), token corrections,
// the global lease it holds, and `yield`, which lends the attempt's slots out while it waits.

import type { TaskMessage } from '../diagnostics.js';
import type { RateCharge } from '../resilience/rate-limiter.js';
import { describe } from '../validate.js';
import type { GateTicket } from './gate.js';
import type { TaskContext } from './types.js';

/** What a Context asks of the scheduler that runs it. */
export interface ContextOwner {
  _releaseSlot(ctx: Context): void;
  _reclaimSlot(ctx: Context): Promise<void> | undefined;
  _reenterGate(ctx: Context): Promise<void>;
  _killReason(): unknown;
  _watch(ctx: Context): void;
  _tokensCorrected(): void;
}

export class Context implements TaskContext {
  controller: AbortController | undefined = undefined;
  reason: unknown = undefined;
  aborted = false;
  done = false;
  /** The rate windows' charge for this attempt, set by the rate stage as it starts. */
  charge: RateCharge | undefined = undefined;
  ticket: GateTicket | undefined = undefined;
  ticketLeft = false;
  /** The lease taken again after a yield; the first ticket still answers reportTokens. */
  relet: GateTicket | undefined = undefined;
  atGate = false;
  slotHeld = true;
  startedAt = 0;
  /** The attempt's context in the parent scheduler, for tasks of a child scheduler. */
  parent: Context | undefined = undefined;
  /** The task's tracing context, which hears of reportTokens. */
  trace: TaskMessage | undefined = undefined;

  constructor(private readonly owner: ContextOwner, readonly attempt: number, readonly key: string | undefined,
    readonly taken: number) {}

  async yield<T>(work: PromiseLike<T> | T): Promise<T> {
    const chain: Context[] = [];
    for (let c: Context | undefined = this; c !== undefined; c = c.parent) if (c.slotHeld && !c.done) chain.push(c);
    // Global leases too: a parent holding the fleet's last lease would starve its own children.
    const leased: Context[] = [];
    for (let c: Context | undefined = this; c !== undefined; c = c.parent) if (c.holdsLease() && !c.done) leased.push(c);
    for (const c of chain) c.owner._releaseSlot(c);
    for (const c of leased) c.leaveGate();
    try {
      return await work;
    } finally {
      // Child first, then ancestors: the order in which the task took them at its start.
      for (const c of chain) await c.owner._reclaimSlot(c);
      for (const c of leased) await c.owner._reenterGate(c);
    }
  }

  holdsLease(): boolean {
    return this.relet !== undefined || (this.ticket !== undefined && !this.ticketLeft);
  }

  leaveGate(): void {
    if (this.ticket !== undefined && !this.ticketLeft) {
      this.ticketLeft = true;
      this.ticket.leave();
    }
    this.relet?.leave();
    this.relet = undefined;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      const killed = this.owner._killReason();
      if (this.aborted) this.controller.abort(this.reason);
      else if (!this.done && killed !== undefined) this.abort(killed);
      else if (!this.done) this.owner._watch(this);
    }
    return this.controller.signal;
  }

  reportTokens(actual: number): void {
    if (typeof actual !== 'number' || !Number.isFinite(actual) || actual < 0) {
      throw new RangeError(`reportTokens(actual): actual must be a finite number >= 0, got ${describe(actual)}`);
    }
    this.ticket?.reportTokens?.(actual);
    if (this.trace !== undefined) this.trace.reportedTokens = actual;
    if (this.charge !== undefined) {
      this.charge.adjust(actual);
      this.owner._tokensCorrected();
    }
  }

  get fence(): number | undefined {
    return this.relet?.fence ?? this.ticket?.fence;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
