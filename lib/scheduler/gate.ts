// The seam between a Scheduler and limits it shares with other processes: before an
// attempt runs, it enters the gate (one round trip to the shared store) and leaves it
// when the attempt settles. lib/distributed/ implements it on Redis.

import type { RateOptions } from '../resilience/rate-limiter.js';

/** Limits that hold across every process sharing the same store and prefix. */
export interface GlobalOptions {
  /** Attempts running at once across the fleet. */
  concurrency?: number;
  /** Rate windows across the fleet (requests and/or tokens). */
  rate?: RateOptions | RateOptions[];
  /** Attempts of one key running at once across the fleet. */
  perKey?: number;
  /** When the store is unreachable, run under local limits only (and emit 'error') instead of waiting. Default false. */
  failOpen?: boolean;
}

export interface GateRequest {
  key: string | undefined;
  tokens: number;
  /** Aborts the wait (the attempt's signal: its timeout, its caller, or a close). */
  signal: AbortSignal;
  /**
   * A task resuming after `ctx.yield()`: it takes only the concurrency and per-key holds
   * again (a new lease and fence); its rate charge was paid when it first entered.
   */
  leaseOnly?: boolean;
}

/** An admitted attempt's hold on the shared limits. */
export interface GateTicket {
  /** Monotonic fencing token of the lease, for downstream writes to reject a stale holder. */
  readonly fence: number | undefined;
  /** Gives the hold back; called exactly once. */
  leave(): void;
  /** Corrects the attempt's token charge in shared token windows. */
  reportTokens?(actual: number): void;
}

export interface Gate {
  enter(request: GateRequest): Promise<GateTicket>;
  /** Why the store cannot be used right now, or undefined when it can. */
  unavailable(): Error | undefined;
  /**
   * Called once, when the scheduler that asked for this gate has closed and nothing of it
   * runs: send what is still owed (the last leaves) and forget the gate. The scheduler's
   * close() resolves after this settles.
   */
  close?(): Promise<void>;
}

/** A shared store, such as RedisStore, that makes a gate for a scheduler's global limits. */
export interface GateStore {
  gate(options: GlobalOptions): Gate;
}
