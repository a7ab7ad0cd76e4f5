// p-limit's call shape on top of a Scheduler, so code written for p-limit keeps working
// while gaining a bounded queue and promises that always settle (clearQueue rejects).

import { Scheduler } from './scheduler.js';
import { checkObject } from '../validate.js';

export interface LimitOptions {
  /** Calls allowed to wait; beyond it a call rejects with QueueFullError. Default 100_000. */
  maxQueued?: number;
}

export interface LimitFunction {
  <A extends unknown[], T>(fn: (...args: A) => T | PromiseLike<T>, ...args: A): Promise<T>;
  /** Calls running now. */
  readonly activeCount: number;
  /** Calls waiting to run. */
  readonly pendingCount: number;
  /** Settable at runtime; raising it starts waiting calls at once. */
  concurrency: number;
  /** Rejects every waiting call with ClosedError (p-limit leaves them pending forever). */
  clearQueue(): void;
  /** Maps `items` through `fn` with this limit; results in input order. */
  map<I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, index: number) => O | PromiseLike<O>): Promise<O[]>;
  /** The Scheduler underneath, for stats() and events. */
  readonly scheduler: Scheduler;
}

export function limit(concurrency: number, options?: LimitOptions): LimitFunction {
  checkObject('options', options);
  const scheduler = new Scheduler({ concurrency, maxQueued: options?.maxQueued ?? 100_000 });
  const call = <A extends unknown[], T>(fn: (...args: A) => T | PromiseLike<T>, ...args: A): Promise<T> => {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('limit(fn): fn must be a function'));
    return scheduler.run(() => fn(...args));
  };
  return Object.defineProperties(call, {
    activeCount: { get: () => scheduler.stats().running },
    pendingCount: { get: () => scheduler.stats().queued },
    concurrency: {
      get: () => scheduler.concurrency,
      set: (value: number) => {
        scheduler.concurrency = value;
      },
    },
    clearQueue: { value: () => scheduler.clear() },
    map: {
      value: <I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, index: number) => O | PromiseLike<O>) => {
        // Tasks of one map start in submission order (same priority, no key), so a counter
        // taken at start is the item's index.
        let index = 0;
        return scheduler.map(items, (item: I) => fn(item, index++));
      },
    },
    scheduler: { value: scheduler },
  }) as LimitFunction;
}
