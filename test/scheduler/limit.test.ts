import { describe, expect, it } from 'vitest';
import { ClosedError, limit, limitFunction, QueueFullError } from '../../lib/index.js';
import { deferred, flush, Gauge } from './helpers.js';

describe('limit', () => {
  it('has p-limit\'s call shape: fn and its arguments', async () => {
    const l = limit(2);
    expect(await l((a: number, b: number) => a + b, 2, 3)).toBe(5);
  });

  it('never runs more than the limit at once', async () => {
    const l = limit(2);
    const g = new Gauge();
    await Promise.all(Array.from({ length: 20 }, () => l(async () => {
      g.enter();
      await flush();
      g.leave();
    })));
    expect(g.max).toBe(2);
  });

  it('reports activeCount and pendingCount', async () => {
    const l = limit(1);
    const gate = deferred();
    const a = l(() => gate.promise);
    const b = l(() => 1);
    expect(l.activeCount).toBe(1);
    expect(l.pendingCount).toBe(1);
    gate.resolve();
    await Promise.all([a, b]);
    expect(l.activeCount).toBe(0);
    expect(l.pendingCount).toBe(0);
  });

  it('clearQueue() rejects what it cleared with ClosedError', async () => {
    const l = limit(1);
    const gate = deferred();
    const a = l(() => gate.promise);
    const b = l(() => 1);
    l.clearQueue();
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    gate.resolve();
    await a;
  });

  it('concurrency is settable at runtime', async () => {
    const l = limit(1);
    const gate = deferred();
    const tasks = [l(() => gate.promise), l(() => gate.promise)];
    l.concurrency = 2;
    expect(l.activeCount).toBe(2);
    gate.resolve();
    await Promise.all(tasks);
  });

  it('map() passes item and index and keeps input order', async () => {
    const l = limit(2);
    expect(await l.map(['a', 'b', 'c'], (x, i) => `${x}${i}`)).toEqual(['a0', 'b1', 'c2']);
  });

  it('bounds its queue', async () => {
    const l = limit(1, { maxQueued: 1 });
    const gate = deferred();
    const a = l(() => gate.promise);
    const b = l(() => 1);
    await expect(l(() => 2)).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    await Promise.all([a, b]);
  });

  it('rejects bad limits like p-limit does', () => {
    expect(() => limit(0)).toThrow(RangeError);
    expect(() => limit(NaN)).toThrow(TypeError);
  });
});

describe('limit as p-limit 7', () => {
  it('takes the options-object form', async () => {
    const l = limit({ concurrency: 1, maxQueued: 1 });
    expect(l.concurrency).toBe(1);
    const gate = deferred();
    const a = l(() => gate.promise);
    const b = l(() => 2);
    await expect(l(() => 3)).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    expect(await Promise.all([a, b])).toEqual([undefined, 2]);
  });

  it('starts the function a microtask later, but takes its slot at once', async () => {
    const l = limit(3);
    let value = 1;
    const calls: string[] = [];
    const p = l(() => {
      calls.push('run');
      return value;
    });
    expect(calls).toEqual([]);
    expect(l.activeCount).toBe(1);
    value = 2;
    expect(await p).toBe(2);
  });

  it('a function that throws synchronously rejects its own promise only', async () => {
    const l = limit(1);
    const failing = l(() => {
      throw new Error('boom');
    });
    const next = l(() => 'next');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('next');
  });

  it('rejectOnClear rejects cleared calls with an AbortError; running ones go on', async () => {
    const l = limit({ concurrency: 1, rejectOnClear: true });
    const gate = deferred();
    const running = l(() => gate.promise.then(() => 'done'));
    const cleared = [l(() => 1), l(() => 2)];
    expect(l.pendingCount).toBe(2);
    l.clearQueue();
    expect(l.pendingCount).toBe(0);
    for (const p of cleared) await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    gate.resolve();
    expect(await running).toBe('done');
  });

  it('without rejectOnClear, cleared calls reject with ClosedError instead of staying pending', async () => {
    const l = limit({ concurrency: 1 });
    const gate = deferred();
    const running = l(() => gate.promise);
    const cleared = l(() => 1);
    l.clearQueue();
    await expect(cleared).rejects.toBeInstanceOf(ClosedError);
    gate.resolve();
    await running;
  });

  it('map() passes the index and keeps order while several run at once', async () => {
    const l = limit(2);
    const g = new Gauge();
    const out = await l.map(new Set([30, 10, 20]), async (x, i) => {
      g.enter();
      await flush();
      g.leave();
      return `${i}:${x}`;
    });
    expect(out).toEqual(['0:30', '1:10', '2:20']);
    expect(g.max).toBe(2);
  });

  it('limitFunction limits one function and clears its waiting calls', async () => {
    const g = new Gauge();
    const gate = deferred();
    const fetchOne = limitFunction(async (id: number) => {
      g.enter();
      await gate.promise;
      g.leave();
      return id * 2;
    }, { concurrency: 2, rejectOnClear: true });
    const first = [fetchOne(1), fetchOne(2)];
    const waiting = fetchOne(3);
    await flush();
    fetchOne.clearQueue();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    gate.resolve();
    expect(await Promise.all(first)).toEqual([2, 4]);
    expect(g.max).toBe(2);
  });

  it.each([
    ['an empty options object', {}, TypeError],
    ['a boolean', true, TypeError],
    ['undefined', undefined, TypeError],
    ['a fraction', 1.2, RangeError],
    ['concurrency 0 in options', { concurrency: 0 }, RangeError],
    ['a non-boolean rejectOnClear', { concurrency: 1, rejectOnClear: 'yes' }, TypeError],
  ])('refuses %s', (_name, value, type) => {
    expect(() => limit(value as number)).toThrow(type);
  });

  it('limitFunction refuses a missing function or options', () => {
    expect(() => limitFunction(undefined as never, { concurrency: 1 })).toThrow(TypeError);
    expect(() => limitFunction(async () => 1, undefined as never)).toThrow(TypeError);
  });
});
