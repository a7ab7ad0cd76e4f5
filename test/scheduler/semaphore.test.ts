import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueueFullError, Semaphore, TimeoutError } from '../../lib/index.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('Semaphore', () => {
  it('grants up to its permits at once and queues the rest', async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    const b = await sem.acquire();
    let third = false;
    const c = sem.acquire().then((p) => {
      third = true;
      return p;
    });
    await flush();
    expect(third).toBe(false);
    expect(sem.available).toBe(0);
    expect(sem.waiting).toBe(1);
    a.release();
    (await c).release();
    b.release();
    expect(third).toBe(true);
    expect(sem.available).toBe(2);
  });

  it('releases a permit once however often release is called', async () => {
    const sem = new Semaphore(1);
    const p = await sem.acquire();
    p.release();
    p.release();
    p[Symbol.dispose]();
    expect(sem.available).toBe(1);
  });

  it('releases through Symbol.dispose', async () => {
    const sem = new Semaphore(1);
    {
      const p = await sem.acquire();
      p[Symbol.dispose]();
    }
    expect(sem.available).toBe(1);
  });

  it('does not let light waiters overtake a heavy waiter at the head', async () => {
    const sem = new Semaphore(3);
    const held = await sem.acquire(2);
    const order: string[] = [];
    const heavy = sem.acquire(3).then((p) => {
      order.push('heavy');
      return p;
    });
    const light = sem.acquire(1).then((p) => {
      order.push('light');
      return p;
    });
    await flush();
    // One permit is free, but the light waiter stays behind the heavy head.
    expect(order).toEqual([]);
    held.release();
    (await heavy).release();
    (await light).release();
    expect(order).toEqual(['heavy', 'light']);
  });

  it('tryAcquire takes permits only when free and nobody waits', async () => {
    const sem = new Semaphore(2);
    const a = sem.tryAcquire(2);
    expect(a).toBeDefined();
    expect(sem.tryAcquire()).toBeUndefined();
    const waiter = sem.acquire(1);
    a!.release();
    (await waiter).release();
    expect(sem.tryAcquire(2)).toBeDefined();
  });

  it('tryAcquire is refused while others wait, to keep FIFO', async () => {
    const sem = new Semaphore(2);
    const held = sem.tryAcquire(2)!;
    const waiter = sem.acquire(2);
    held.release();
    // The waiter was granted synchronously on release, so nothing is free.
    expect(sem.tryAcquire()).toBeUndefined();
    (await waiter).release();
  });

  it('removes an aborted waiter at once and rejects with the reason', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const ac = new AbortController();
    const waiter = sem.acquire(1, { signal: ac.signal });
    expect(sem.waiting).toBe(1);
    const reason = new Error('stop');
    ac.abort(reason);
    expect(sem.waiting).toBe(0);
    await expect(waiter).rejects.toBe(reason);
    held.release();
    expect(sem.available).toBe(1);
  });

  it('rejects with an AbortError when the signal gave no reason', async () => {
    const sem = new Semaphore(0);
    const ac = new AbortController();
    const waiter = sem.acquire(1, { signal: ac.signal });
    ac.abort();
    await expect(waiter).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects an already-aborted signal without taking permits', async () => {
    const sem = new Semaphore(1);
    const reason = new Error('already');
    await expect(sem.acquire(1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sem.available).toBe(1);
  });

  it('times out a waiter with TimeoutError and never grants it later', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiter = sem.acquire(1, { timeout: 100 });
    const settled = expect(waiter).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await settled;
    expect(sem.waiting).toBe(0);
    held.release();
    expect(sem.available).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears the timeout timer when the waiter is granted', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiter = sem.acquire(1, { timeout: 1000 });
    held.release();
    (await waiter).release();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('timeout 0 means only if free right now', async () => {
    const sem = new Semaphore(1);
    (await sem.acquire(1, { timeout: 0 })).release();
    const held = await sem.acquire();
    await expect(sem.acquire(1, { timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    held.release();
  });

  it('an aborted head lets the lighter waiters behind it through', async () => {
    const sem = new Semaphore(2);
    const held = await sem.acquire(1);
    const ac = new AbortController();
    const heavy = sem.acquire(2, { signal: ac.signal });
    const light = sem.acquire(1);
    ac.abort();
    await expect(heavy).rejects.toMatchObject({ name: 'AbortError' });
    (await light).release();
    held.release();
  });

  it('refuses acquirers beyond maxWaiting with QueueFullError', async () => {
    const sem = new Semaphore(0, { maxWaiting: 2 });
    const a = sem.acquire();
    const b = sem.acquire();
    await expect(sem.acquire()).rejects.toBeInstanceOf(QueueFullError);
    expect(sem.waiting).toBe(2);
    sem.permits = 2;
    await Promise.all([a, b]);
  });

  it('wakes waiters when permits are raised', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiter = sem.acquire();
    sem.permits = 2;
    const p = await waiter;
    expect(sem.available).toBe(0);
    p.release();
    held.release();
    expect(sem.available).toBe(2);
  });

  it('lowering permits lets holders drain before granting again', async () => {
    const sem = new Semaphore(3);
    const held = [await sem.acquire(), await sem.acquire(), await sem.acquire()];
    sem.permits = 1;
    expect(sem.available).toBe(-2);
    let granted = false;
    const waiter = sem.acquire().then((p) => {
      granted = true;
      return p;
    });
    held[0]!.release();
    held[1]!.release();
    await flush();
    expect(granted).toBe(false);
    held[2]!.release();
    (await waiter).release();
    expect(sem.available).toBe(1);
  });

  it('a waiter heavier than a lowered total takes the whole semaphore instead of hanging', async () => {
    const sem = new Semaphore(4);
    const held = await sem.acquire(1);
    const heavy = sem.acquire(4);
    sem.permits = 2;
    held.release();
    const p = await heavy;
    expect(p.weight).toBe(2);
    expect(sem.available).toBe(0);
    p.release();
    expect(sem.available).toBe(2);
  });

  it('use() runs the function holding the permits and releases after it throws', async () => {
    const sem = new Semaphore(2);
    await expect(sem.use(() => {
      expect(sem.available).toBe(0);
      throw new Error('boom');
    }, { weight: 2 })).rejects.toThrow('boom');
    expect(sem.available).toBe(2);
    expect(await sem.use(async () => 42)).toBe(42);
  });

  it('rejects a weight larger than the permits with RangeError instead of hanging', async () => {
    const sem = new Semaphore(2);
    await expect(sem.acquire(3)).rejects.toBeInstanceOf(RangeError);
    expect(() => sem.tryAcquire(3)).toThrow(RangeError);
    expect(sem.waiting).toBe(0);
  });

  it.each([
    ['negative permits', () => new Semaphore(-1), RangeError],
    ['fractional permits', () => new Semaphore(1.5), RangeError],
    ['NaN permits', () => new Semaphore(NaN), TypeError],
    ['string permits', () => new Semaphore('2' as unknown as number), TypeError],
    ['negative maxWaiting', () => new Semaphore(1, { maxWaiting: -1 }), RangeError],
  ])('throws for %s', (_name, make, type) => {
    expect(make).toThrow(type);
  });

  it.each([
    ['zero weight', 0, undefined, RangeError],
    ['fractional weight', 1.5, undefined, RangeError],
    ['NaN timeout', 1, { timeout: NaN }, RangeError],
    ['negative timeout', 1, { timeout: -5 }, RangeError],
    ['non-signal', 1, { signal: {} as AbortSignal }, TypeError],
  ])('rejects acquire with %s and changes no state', async (_name, weight, options, type) => {
    const sem = new Semaphore(2);
    await expect(sem.acquire(weight, options)).rejects.toBeInstanceOf(type);
    expect(sem.available).toBe(2);
    expect(sem.waiting).toBe(0);
  });

  it('rejects setting permits to a bad value and keeps the old one', () => {
    const sem = new Semaphore(2);
    expect(() => {
      sem.permits = -1;
    }).toThrow(RangeError);
    expect(sem.permits).toBe(2);
  });
});
