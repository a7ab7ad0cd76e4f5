// Nested budgets: a child's tasks count against its own limit and every ancestor's, and a
// task that waits on tasks of its own tree through ctx.yield never deadlocks it.
import { describe, expect, it } from 'vitest';
import { ClosedError, Scheduler, type TaskContext } from '../../lib/index.js';
import { flush, Gauge } from './helpers.js';

describe('Scheduler.child', () => {
  it('two nested fan-outs of 3 under a parent of 4 never run more than 4 at once', async () => {
    const parent = new Scheduler({ concurrency: 4 });
    const a = parent.child({ concurrency: 3 });
    const b = parent.child({ concurrency: 3 });
    const total = new Gauge();
    const ga = new Gauge();
    const gb = new Gauge();
    const work = (g: Gauge) => async (): Promise<void> => {
      total.enter();
      g.enter();
      await flush();
      g.leave();
      total.leave();
    };
    await Promise.all([
      ...Array.from({ length: 20 }, () => a.run(work(ga))),
      ...Array.from({ length: 20 }, () => b.run(work(gb))),
    ]);
    expect(total.max).toBe(4);
    expect(ga.max).toBeLessThanOrEqual(3);
    expect(gb.max).toBeLessThanOrEqual(3);
  });

  it('a child key puts the whole child under the parent\'s perKey', async () => {
    const parent = new Scheduler({ concurrency: 8, perKey: 1 });
    const c = parent.child({ concurrency: 4, key: 'tenant-a' });
    const g = new Gauge();
    await Promise.all(Array.from({ length: 6 }, () => c.run(async () => {
      g.enter();
      await flush();
      g.leave();
    })));
    expect(g.max).toBe(1);
  });

  it('recursive fan-out through ctx.yield completes on a scheduler of 2', async () => {
    const s = new Scheduler({ concurrency: 2 });
    const g = new Gauge();
    const tree = (depth: number) => async (ctx: TaskContext): Promise<number> => {
      g.enter();
      await flush();
      g.leave();
      if (depth === 0) return 1;
      const kids = [s.run(tree(depth - 1)), s.run(tree(depth - 1))];
      const counts = await ctx.yield(Promise.all(kids));
      return 1 + counts[0]! + counts[1]!;
    };
    expect(await s.run(tree(4))).toBe(31);
    expect(g.max).toBeLessThanOrEqual(2);
    expect(s.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('yield frees the ancestors\' slots too', async () => {
    const parent = new Scheduler({ concurrency: 1 });
    const c = parent.child({ concurrency: 1 });
    const result = await c.run(async (ctx) => {
      const inner = parent.run(() => 'inner ran');
      return ctx.yield(inner);
    });
    expect(result).toBe('inner ran');
  });

  it('child tasks fail with ClosedError once the parent is closed', async () => {
    const parent = new Scheduler({ concurrency: 1 });
    const c = parent.child();
    await parent.close();
    await expect(c.run(() => 1)).rejects.toBeInstanceOf(ClosedError);
  });

  it('rejects bad child options', () => {
    const parent = new Scheduler({ concurrency: 2 });
    expect(() => parent.child({ concurrency: 0 })).toThrow(RangeError);
    expect(() => parent.child({ key: 5 as unknown as string })).toThrow(TypeError);
  });
});
