// Captures the submitter's AsyncLocalStorage context for a task that has to wait, but
// only when a store may be set: a capture per queued task costs bytes and a measurable
// share of throughput that callers without stores should not pay.

import { AsyncLocalStorage, AsyncResource, executionAsyncResource } from 'node:async_hooks';

const major = Number(process.versions.node.split('.')[0]);
const frames = major >= 24 || process.execArgv.includes('--experimental-async-context-frame');
// From Node 24 (or with the flag) stores live in an AsyncContextFrame, not on the execution
// resource. An AsyncResource records the frame it was made in under this symbol, undefined
// while no store is set (about 30 ns to make one). Should a later Node drop the symbol,
// every call counts as "a store may be set": correct, only slower.
const frameKey = frames
  ? Object.getOwnPropertySymbols(new AsyncResource('ringleader')).find((s) => s.description === 'context_frame')
  : undefined;
let storesSeen = frames && frameKey === undefined;

function storesInUse(): boolean {
  if (storesSeen) return true;
  // Once a store has been seen, every task captures, even one whose caller has none:
  // else it would run in the context of whichever task freed its slot.
  if (frames) {
    storesSeen = (new AsyncResource('ringleader') as unknown as Record<symbol, unknown>)[frameKey!] !== undefined;
    return storesSeen;
  }
  // Node 20/22 keep each store under a symbol on the current resource; once one
  // appears, AsyncLocalStorage is enabled process-wide and stays that way.
  for (const sym of Object.getOwnPropertySymbols(executionAsyncResource())) {
    if (sym.description === 'kResourceStore') {
      storesSeen = true;
      return true;
    }
  }
  return false;
}

/** Runs a function in a captured async context. */
export type Runner = <A extends unknown[], R>(fn: (...args: A) => R, ...args: A) => R;

/** A runner bound to the caller's async context, or undefined when no store can be affected. */
export function captureContext(): Runner | undefined {
  return storesInUse() ? (AsyncLocalStorage.snapshot() as Runner) : undefined;
}

/**
 * For a task that has to wait: a runner that starts each attempt, a microtask after it is
 * called, in the caller's async context; undefined when no store can be affected. A promise
 * reaction keeps the context it was registered in, whoever resolves it, at a tenth of the
 * cost of AsyncLocalStorage.snapshot() (about 3.6 µs on Node 22 and 24): on Node 24, where
 * every queued task needs one, snapshots cut Scheduler.run to a fifth. Each reaction arms
 * the next one from inside the captured context, so retries start there too.
 */
export function deferInContext(): Runner | undefined {
  if (!storesInUse()) return undefined;
  let start!: () => void;
  let job: (() => void) | undefined;
  const arm = (): void => {
    void new Promise<void>((resolve) => {
      start = resolve;
    }).then(() => {
      const run = job!;
      job = undefined;
      arm();
      run();
    });
  };
  arm();
  return ((fn: (...args: unknown[]) => unknown, ...args: unknown[]) => {
    job = () => {
      fn(...args);
    };
    start();
  }) as Runner;
}

/**
 * A plain task's function, made to start in the caller's async context a microtask after
 * it is called (it has no retries: one reaction serves), or the function itself when no
 * store can be affected. Costs no per-task state object, unlike a runner.
 */
export function inCallerContext<C, R>(fn: (ctx: C) => R): (ctx: C) => R | Promise<R> {
  if (!storesInUse()) return fn;
  let start!: () => void;
  let given: C;
  const started = new Promise<void>((resolve) => {
    start = resolve;
  }).then(() => fn(given));
  return (ctx: C) => {
    given = ctx;
    start();
    return started;
  };
}
