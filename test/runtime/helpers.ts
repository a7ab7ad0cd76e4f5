// Shared pieces of the runtime tests: fixture paths, a gate the test opens to release
// worker tasks, and a way to find a key that routes to a given worker.

import { WorkerPool, type WorkerPoolOptions } from '../../lib/runtime/worker-pool.js';

export const ECHO = new URL('./fixtures/echo.mjs', import.meta.url);

export function open(options: Partial<WorkerPoolOptions> = {}): Promise<WorkerPool> {
  return WorkerPool.open({ filename: ECHO, threads: 2, ...options });
}

// Atomics.waitAsync ships in Node 20 but in TypeScript's lib only from ES2024.
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { value: Promise<string> | string };
}).waitAsync;

/** Slot 0 counts tasks that reached the gate; the gate opens when the test sets slot 1. */
export class Gate {
  readonly sab = new Int32Array(new SharedArrayBuffer(8));

  async reached(n: number): Promise<void> {
    for (let seen = Atomics.load(this.sab, 0); seen < n; seen = Atomics.load(this.sab, 0)) {
      await waitAsync(this.sab, 0, seen).value;
    }
  }

  open(): void {
    Atomics.store(this.sab, 1, 1);
    Atomics.notify(this.sab, 1);
  }
}

export interface ThreadReply {
  threadId: number;
  key?: string;
}

/** The index of the worker slot that ran on `threadId`. */
export function slotOf(pool: WorkerPool, threadId: number): number {
  const w = pool.stats().workers.find((s) => s.threadId === threadId);
  if (w === undefined) throw new Error(`no worker runs on thread ${threadId}`);
  return w.index;
}

/** A key that routes to worker `index`. */
export async function keyFor(pool: WorkerPool, index: number): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const key = `key-${i}`;
    const { threadId } = await pool.run<ThreadReply>({ op: 'thread' }, { key });
    if (slotOf(pool, threadId) === index) return key;
  }
  throw new Error(`no key routes to worker ${index}`);
}
