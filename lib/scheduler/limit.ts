// p-limit 7's call shape on top of a Scheduler, so code written for p-limit keeps working
// while gaining a bounded queue and promises that always settle (clearQueue rejects).

import { Scheduler } from './scheduler.js';
import { checkInteger, checkObject, describe } from '../validate.js';

export interface LimitOptions {
  /** Calls running at once: an integer >= 1 or Infinity. Required in the options-object form. */
  concurrency?: number;
  /**
   * Cleared calls reject with an `AbortError` DOMException, as p-limit's do. Without it they
   * reject with ClosedError (p-limit would leave them pending forever). Default false.
   */
  rejectOnClear?: boolean;
  /** Calls allowed to wait; beyond it a call rejects with QueueFullError. Default 100_000. */
  maxQueued?: number;
}

export interface LimitFunction {
  /** Runs `fn(...args)` once a slot is free, a microtask later at the soonest (as p-limit does). */
  <A extends unknown[], T>(fn: (...args: A) => T | PromiseLike<T>, ...args: A): Promise<T>;
  /** Calls running now (including one that took its slot and starts on the next microtask). */
  readonly activeCount: number;
  /** Calls waiting for a slot. */
  readonly pendingCount: number;
  /** Settable at runtime; raising it starts waiting calls at once. */
  concurrency: number;
  /** Rejects every waiting call: with an AbortError under `rejectOnClear`, else with ClosedError. */
  clearQueue(): void;
  /** Maps `items` through `fn` with this limit; results in input order. */
  map<I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, index: number) => O | PromiseLike<O>): Promise<O[]>;
  /** The Scheduler underneath, for stats() and events. */
  readonly scheduler: Scheduler;
}

const started = Promise.resolve();

// p-limit accepts `limit(4)` and `limit({ concurrency: 4, rejectOnClear })`; maxQueued rides along.
function parse(concurrency: number | LimitOptions, options: LimitOptions | undefined): Required<Omit<LimitOptions, 'concurrency'>> & { concurrency: number } {
  let merged: LimitOptions;
  if (typeof concurrency === 'object' && concurrency !== null) {
    if (options !== undefined) throw new TypeError('limit(options): give the options once, as the only argument');
    merged = concurrency;
  } else {
    checkObject('options', options);
    merged = { ...options, concurrency: concurrency as number };
  }
  const limitValue = merged.concurrency;
  if (typeof limitValue !== 'number' || Number.isNaN(limitValue)) {
    throw new TypeError(`concurrency must be a number from 1 and up (or Infinity), got ${describe(limitValue)}`);
  }
  checkInteger('concurrency', limitValue, 1, true);
  const rejectOnClear = merged.rejectOnClear ?? false;
  if (typeof rejectOnClear !== 'boolean') throw new TypeError(`rejectOnClear must be a boolean, got ${describe(rejectOnClear)}`);
  return { concurrency: limitValue, rejectOnClear, maxQueued: merged.maxQueued ?? 100_000 };
}

export function limit(concurrency: number | LimitOptions, options?: LimitOptions): LimitFunction {
  const parsed = parse(concurrency, options);
  const scheduler = new Scheduler({ concurrency: parsed.concurrency, maxQueued: parsed.maxQueued });
  // The slot is taken at once; the function itself runs a microtask later, so arguments
  // and closures are read when it starts, as with p-limit.
  const call = <A extends unknown[], T>(fn: (...args: A) => T | PromiseLike<T>, ...args: A): Promise<T> => {
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`limit(fn): fn must be a function, got ${describe(fn)}`));
    return scheduler.run(() => started.then(() => fn(...args)));
  };
  const clearReason = (): Error | undefined => (parsed.rejectOnClear ? abortError() : undefined);
  return Object.defineProperties(call, {
    activeCount: { get: () => scheduler.stats().running },
    pendingCount: { get: () => scheduler.stats().queued },
    concurrency: {
      get: () => scheduler.concurrency,
      set: (value: number) => {
        scheduler.concurrency = value;
      },
    },
    clearQueue: { value: () => scheduler.clear(clearReason()) },
    map: {
      value: <I, O>(items: Iterable<I> | AsyncIterable<I>, fn: (item: I, index: number) => O | PromiseLike<O>) => {
        if (typeof fn !== 'function') return Promise.reject(new TypeError(`map(items, fn): fn must be a function, got ${describe(fn)}`));
        // Tasks of one map start in submission order (same priority, no key), so a counter
        // taken at start is the item's index.
        let index = 0;
        return scheduler.map(items, (item: I) => {
          const i = index++;
          return started.then(() => fn(item, i));
        });
      },
    },
    scheduler: { value: scheduler },
  }) as LimitFunction;
}

/**
 * `fn` limited to `options.concurrency` calls at once (p-limit's `limitFunction`): the same
 * arguments reach `fn`, and `clearQueue` clears its waiting calls.
 */
export function limitFunction<A extends unknown[], T>(fn: (...args: A) => PromiseLike<T>, options: LimitOptions & { concurrency: number }):
  ((...args: A) => Promise<T>) & Pick<LimitFunction, 'clearQueue'> {
  if (typeof fn !== 'function') throw new TypeError(`limitFunction(fn, options): fn must be a function, got ${describe(fn)}`);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`limitFunction(fn, options): options { concurrency } are required, got ${describe(options)}`);
  }
  const l = limit(options);
  const limited = (...args: A): Promise<T> => l(fn, ...args);
  return Object.defineProperty(limited, 'clearQueue', { value: l.clearQueue }) as ((...args: A) => Promise<T>) & Pick<LimitFunction, 'clearQueue'>;
}

// The DOMException p-limit rejects cleared calls with (AbortSignal.abort()'s default reason).
function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}
