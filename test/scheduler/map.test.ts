import { describe, expect, it } from 'vitest';
import { ClosedError, Scheduler } from '../../lib/index.js';
import { flush, Gauge } from './helpers.js';

describe('Scheduler.map', () => {
  it('returns results in input order whatever the finishing order', async () => {
    const s = new Scheduler({ concurrency: 4 });
    const out = await s.map([5, 1, 4, 2, 3], async (n) => {
      for (let i = 0; i < n; i++) await flush();
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
  });

  it('respects the concurrency limit', async () => {
    const s = new Scheduler({ concurrency: 3 });
    const g = new Gauge();
    await s.map(Array.from({ length: 30 }, (_, i) => i), async () => {
      g.enter();
      await flush();
      g.leave();
    });
    expect(g.max).toBe(3);
  });

  it('pulls lazily: never more than the queue bound ahead of completions', async () => {
    const s = new Scheduler({ concurrency: 2, maxQueued: 10 });
    let pulled = 0;
    let finished = 0;
    let maxAhead = 0;
    function* items(): Generator<number> {
      for (let i = 0; i < 10_000_000; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - finished);
        if (i === 2_000) return;
        yield i;
      }
    }
    const out = await s.map(items(), async (n) => {
      await flush();
      finished++;
      return n;
    });
    expect(out).toHaveLength(2_000);
    expect(maxAhead).toBeLessThanOrEqual(10 + 2 + 1);
  });

  it('accepts async iterables', async () => {
    const s = new Scheduler({ concurrency: 2 });
    async function* items(): AsyncGenerator<string> {
      yield 'a';
      await flush();
      yield 'b';
    }
    expect(await s.map(items(), (x) => x.toUpperCase())).toEqual(['A', 'B']);
  });

  it('rejects on the first failure, stops pulling and cancels the rest', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 5 });
    let pulled = 0;
    let cleanedUp = false;
    function* items(): Generator<number> {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield i;
        }
      } finally {
        cleanedUp = true;
      }
    }
    const ran: number[] = [];
    await expect(s.map(items(), async (n) => {
      ran.push(n);
      await flush();
      if (n === 1) throw new Error('item 1 failed');
      return n;
    })).rejects.toThrow('item 1 failed');
    await s.onIdle();
    expect(ran).toEqual([0, 1]);
    expect(pulled).toBeLessThan(10);
    expect(cleanedUp).toBe(true);
    expect(s.stats()).toMatchObject({ queued: 0, running: 0 });
  });

  it('with settle returns every outcome and keeps partial results', async () => {
    const s = new Scheduler({ concurrency: 2 });
    const out = await s.map([1, 2, 3], async (n) => {
      if (n === 2) throw new Error('two');
      return n;
    }, { settle: true });
    expect(out[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(out[1]).toMatchObject({ status: 'rejected', reason: { message: 'two' } });
    expect(out[2]).toEqual({ status: 'fulfilled', value: 3 });
  });

  it('waits for room instead of failing when other work fills the queue', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 2 });
    const other = [s.run(() => flush()), s.run(() => flush()), s.run(() => flush())];
    const out = await s.map([1, 2, 3, 4], (n) => n);
    await Promise.all(other);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(s.stats().rejected).toBe(0);
  });

  it('rejects with the abort reason when its signal aborts', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const ac = new AbortController();
    const run = s.map([1, 2, 3], async (n, ctx) => {
      if (n === 1) ac.abort(new Error('user stop'));
      await flush();
      return ctx.signal.aborted;
    }, { signal: ac.signal });
    await expect(run).rejects.toThrow('user stop');
    await s.onIdle();
  });

  it('rejects with ClosedError when the scheduler is closed', async () => {
    const s = new Scheduler({ concurrency: 1 });
    await s.close();
    await expect(s.map([1], (n) => n)).rejects.toBeInstanceOf(ClosedError);
  });

  it('rejects a non-iterable and a non-function with TypeError', async () => {
    const s = new Scheduler({ concurrency: 1 });
    await expect(s.map(5 as never, (n) => n)).rejects.toBeInstanceOf(TypeError);
    await expect(s.map([1], 'f' as never)).rejects.toBeInstanceOf(TypeError);
  });
});
