import { describe, expect, it } from 'vitest';
import { ClosedError, limit, QueueFullError } from '../../lib/index.js';
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
