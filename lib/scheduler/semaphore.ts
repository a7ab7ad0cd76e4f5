// Weighted FIFO semaphore. Waiters are served strictly in arrival order, so a heavy
// waiter at the head is never overtaken by light ones; aborted or timed-out waiters
// leave the queue at once and never take permits afterwards.

import { QueueFullError, TimeoutError } from '../errors.js';
import { clearTimer, setTimer, type TimerHandle } from '../timer.js';
import { List } from './list.js';
import { abortReason, checkDuration, checkInteger, checkObject, checkSignal } from '../validate.js';

export interface SemaphoreOptions {
  /** Most acquirers allowed to wait at once; beyond it `acquire` rejects with QueueFullError. Default 100_000. */
  maxWaiting?: number;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** Give up waiting after this many ms (TimeoutError). 0 means "only if free right now". */
  timeout?: number;
}

export interface UseOptions extends AcquireOptions {
  weight?: number;
}

/** A held share of a semaphore. Releasing twice is a no-op, so over-release cannot happen. */
export interface Permit {
  readonly weight: number;
  release(): void;
  [Symbol.dispose](): void;
}

interface Waiter {
  next: Waiter | undefined;
  prev: Waiter | undefined;
  weight: number;
  resolve: (permit: Permit) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timer: TimerHandle | undefined;
}

class HeldPermit implements Permit {
  private sem: Semaphore | undefined;
  readonly weight: number;

  constructor(sem: Semaphore, weight: number) {
    this.sem = sem;
    this.weight = weight;
  }

  release(): void {
    const sem = this.sem;
    if (sem === undefined) return;
    this.sem = undefined;
    sem._give(this.weight);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

export class Semaphore {
  private total: number;
  private free: number;
  private readonly maxWaiting: number;
  private readonly waiters = new List<Waiter>();

  constructor(permits: number, options?: SemaphoreOptions) {
    checkObject('options', options);
    this.total = checkInteger('permits', permits, 0);
    this.free = this.total;
    this.maxWaiting = checkInteger('maxWaiting', options?.maxWaiting ?? 100_000, 0, true);
  }

  /** Total permits. Raising it wakes waiters; lowering it lets holders drain before new grants. */
  get permits(): number {
    return this.total;
  }

  set permits(value: number) {
    checkInteger('permits', value, 0);
    this.free += value - this.total;
    this.total = value;
    this.grant();
  }

  /** Permits free now; negative while holders drain after `permits` was lowered. */
  get available(): number {
    return this.free;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  acquire(weight = 1, options?: AcquireOptions): Promise<Permit> {
    let signal: AbortSignal | undefined;
    let timeout: number | undefined;
    try {
      this.checkWeight(weight);
      checkObject('options', options);
      signal = checkSignal('signal', options?.signal);
      if (options?.timeout !== undefined) timeout = checkDuration('timeout', options.timeout, false);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.waiters.size === 0 && this.free >= this.need(weight)) {
      return Promise.resolve(this.take(weight));
    }
    if (timeout === 0) return Promise.reject(new TimeoutError(`semaphore: no ${weight} permit(s) free`));
    if (this.waiters.size >= this.maxWaiting) {
      return Promise.reject(new QueueFullError(`semaphore: ${this.waiters.size} acquirers already waiting`));
    }
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = {
        next: undefined, prev: undefined, weight, resolve, reject, signal, onAbort: undefined, timer: undefined,
      };
      if (signal !== undefined) {
        w.onAbort = () => this.cancel(w, abortReason(signal));
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      if (timeout !== undefined) {
        w.timer = setTimer(() => this.cancel(w, new TimeoutError(`semaphore: waited ${timeout} ms`)), timeout);
      }
      this.waiters.push(w);
    });
  }

  tryAcquire(weight = 1): Permit | undefined {
    this.checkWeight(weight);
    if (this.waiters.size === 0 && this.free >= this.need(weight)) return this.take(weight);
    return undefined;
  }

  /** Runs `fn` holding `weight` permits; `signal`/`timeout` bound the wait, not `fn`. */
  async use<T>(fn: () => T | Promise<T>, options?: UseOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('use(fn): fn must be a function');
    const permit = await this.acquire(options?.weight ?? 1, options);
    try {
      return await fn();
    } finally {
      permit.release();
    }
  }

  /** @internal Called by a Permit exactly once. */
  _give(weight: number): void {
    this.free += weight;
    this.grant();
  }

  private checkWeight(weight: number): void {
    checkInteger('weight', weight, 1);
    if (this.total > 0 && weight > this.total) {
      throw new RangeError(`weight ${weight} exceeds the semaphore's ${this.total} permits`);
    }
  }

  // A waiter heavier than a since-lowered total takes the whole semaphore instead of
  // waiting forever.
  private need(weight: number): number {
    return this.total > 0 && weight > this.total ? this.total : weight;
  }

  private take(weight: number): Permit {
    const taken = this.need(weight);
    this.free -= taken;
    return new HeldPermit(this, taken);
  }

  private grant(): void {
    let w = this.waiters.head;
    while (w !== undefined && this.free >= this.need(w.weight)) {
      this.waiters.shift();
      this.detach(w);
      w.resolve(this.take(w.weight));
      w = this.waiters.head;
    }
  }

  private cancel(w: Waiter, reason: unknown): void {
    this.waiters.remove(w);
    this.detach(w);
    w.reject(reason);
    // The head may have been what held lighter waiters back.
    this.grant();
  }

  private detach(w: Waiter): void {
    if (w.onAbort !== undefined) w.signal!.removeEventListener('abort', w.onAbort);
    clearTimer(w.timer);
    w.onAbort = undefined;
    w.timer = undefined;
  }
}
