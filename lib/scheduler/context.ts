// Captures the submitter's AsyncLocalStorage context for a task that has to wait, but
// only when some AsyncLocalStorage is in use: a snapshot per queued task costs ~70 bytes
// and a measurable share of throughput that callers without stores should not pay.

import { AsyncLocalStorage, executionAsyncResource } from 'node:async_hooks';

const major = Number(process.versions.node.split('.')[0]);
// From Node 24 (or with the flag) stores live in an AsyncContextFrame, not on the
// execution resource, so there is no cheap test for "a store is set": always capture.
let storesSeen = major >= 24 || process.execArgv.includes('--experimental-async-context-frame');

function storesInUse(): boolean {
  if (storesSeen) return true;
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
