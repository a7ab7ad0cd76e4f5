// Keyed tasks stick to one worker, through that worker's crash and replacement; keyless
// tasks go to the least-loaded worker.
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerPool } from '../../lib/runtime/worker-pool.js';
import { WorkerCrashedError } from '../../lib/runtime/crashed-error.js';
import { Gate, keyFor, open, slotOf, type ThreadReply } from './helpers.js';

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool routing', () => {
  it('runs every task of a key on the same worker', async () => {
    pool = await open({ threads: 4 });
    const keys = Array.from({ length: 32 }, (_, i) => `user-${i}`);
    const replies = await Promise.all(Array.from({ length: 640 }, (_, i) =>
      pool!.run<ThreadReply>({ op: 'thread' }, { key: keys[i % keys.length]! })));
    const threadsByKey = new Map<string, Set<number>>();
    for (const r of replies) {
      const set = threadsByKey.get(r.key!) ?? new Set<number>();
      set.add(r.threadId);
      threadsByKey.set(r.key!, set);
    }
    for (const [key, threads] of threadsByKey) expect(threads.size, key).toBe(1);
    const used = new Set(replies.map((r) => r.threadId));
    expect(used.size).toBeGreaterThan(1);
  });

  it('keeps a key on its worker slot after that worker crashes', async () => {
    pool = await open({ threads: 2 });
    const crashKey = await keyFor(pool, 0);
    const otherKey = await keyFor(pool, 1);
    const before = await pool.run<ThreadReply>({ op: 'thread' }, { key: otherKey });
    const err = await pool.run({ op: 'exit', code: 9 }, { key: crashKey }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect((err as WorkerCrashedError).worker).toBe(0);
    for (let i = 0; i < 20; i++) {
      const r = await pool.run<ThreadReply>({ op: 'thread' }, { key: crashKey });
      expect(slotOf(pool, r.threadId)).toBe(0);
    }
    expect((await pool.run<ThreadReply>({ op: 'thread' }, { key: otherKey })).threadId).toBe(before.threadId);
    expect(pool.stats().workers[0]!.crashes).toBe(1);
  });

  it('sends keyless tasks to the least-loaded worker', async () => {
    pool = await open({ threads: 2 });
    const busyKey = await keyFor(pool, 0);
    const gate = new Gate();
    const blocked = Array.from({ length: 3 }, () => pool!.run({ op: 'gate', sab: gate.sab }, { key: busyKey }));
    await gate.reached(1);
    const keyless = await Promise.all(Array.from({ length: 3 }, () => pool!.run<ThreadReply>({ op: 'thread' })));
    for (const r of keyless) expect(slotOf(pool, r.threadId)).toBe(1);
    gate.open();
    await Promise.all(blocked);
  });
});
