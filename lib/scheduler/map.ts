// Scheduler.map: lazily pulls items from a sync or async iterable into a scheduler, never
// more than a window ahead of completions, and keeps results in input order.

import { setMaxListeners } from 'node:events';
import { ClosedError } from '../errors.js';
import { abortReason, checkObject, checkSignal, describe } from '../validate.js';
import type { MapOptions, RunOptions, Settled, Task, TaskContext } from './scheduler.js';

/** Submits a task, waiting for room (never refusing for a full queue). */
export type Submit = (task: Task<unknown>, options: RunOptions) => Promise<unknown>;

export async function mapItems<I, O>(submit: Submit, window: number, items: Iterable<I> | AsyncIterable<I>,
  fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>, options?: MapOptions): Promise<Array<O | Settled<O>>> {
  if (typeof fn !== 'function') throw new TypeError(`map(items, fn): fn must be a function, got ${describe(fn)}`);
  checkObject('options', options);
  const iterator = openIterator(items);
  const { settle = false, signal: outer, ...runOptions } = options ?? {};
  checkSignal('signal', outer);
  if (outer?.aborted) throw abortReason(outer);

  const own = new AbortController();
  // Every outstanding task of this call listens on it; that is by design, not a leak.
  setMaxListeners(0, own.signal);
  const onOuterAbort = (): void => own.abort(abortReason(outer!));
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const taskOptions: RunOptions = { ...runOptions, signal: own.signal };
  const results: Array<O | Settled<O>> = [];
  let outstanding = 0;
  let failure: { reason: unknown } | undefined;
  let wake: (() => void) | undefined;
  const progress = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (reason: unknown): void => {
    if (failure === undefined) {
      failure = { reason };
      own.abort(reason);
    }
    progress();
  };
  own.signal.addEventListener('abort', () => fail(own.signal.reason), { once: true });

  let exhausted = false;
  try {
    for (let index = 0; ; index++) {
      while (outstanding >= window && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
      if (failure !== undefined) break;
      let step = iterator.next();
      if (iterator.async) step = await step;
      const { done, value } = step as IteratorResult<I>;
      if (done) {
        exhausted = true;
        break;
      }
      if (failure !== undefined) break;
      results.push(undefined as O);
      outstanding++;
      const i = index;
      submit(settle ? (ctx) => fn(value, ctx) : failFast(fn, value, fail), taskOptions).then(
        (v) => {
          results[i] = settle ? { status: 'fulfilled', value: v as O } : (v as O);
          outstanding--;
          progress();
        },
        (reason: unknown) => {
          outstanding--;
          if (settle && failure === undefined) results[i] = { status: 'rejected', reason };
          else fail(reason);
          progress();
        },
      );
    }
    while (outstanding > 0 && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) throw failure.reason;
    return results;
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
    if (!exhausted) {
      // Lets a generator run its `finally` blocks; errors from that cleanup are not ours.
      try {
        const r = iterator.return();
        if (iterator.async) await r;
      } catch {
        /* the iterator's own cleanup failed; the map's outcome stands */
      }
    }
    if (failure === undefined) own.abort(new ClosedError('map finished'));
  }
}

// Records the failure before the task's promise settles, so the scheduler cancels the
// map's other tasks before it would start the next one.
function failFast<I, O>(fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>, item: I,
  fail: (reason: unknown) => void): Task<O> {
  return async (ctx) => {
    try {
      return await fn(item, ctx);
    } catch (err) {
      fail(err);
      throw err;
    }
  };
}

interface AnyIterator<I> {
  async: boolean;
  next(): IteratorResult<I> | Promise<IteratorResult<I>>;
  return(): unknown;
}

function openIterator<I>(items: Iterable<I> | AsyncIterable<I>): AnyIterator<I> {
  if ((items !== null && typeof items === 'object') || typeof items === 'function') {
    const asyncOpen = (items as AsyncIterable<I>)[Symbol.asyncIterator];
    if (typeof asyncOpen === 'function') {
      const it = asyncOpen.call(items);
      return { async: true, next: () => it.next(), return: () => it.return?.() };
    }
  }
  const open = items == null ? undefined : (items as Iterable<I>)[Symbol.iterator];
  if (typeof open !== 'function') {
    throw new TypeError(`map(items): items must be iterable or async iterable, got ${describe(items)}`);
  }
  const it = open.call(items);
  return { async: false, next: () => it.next(), return: () => it.return?.() };
}
