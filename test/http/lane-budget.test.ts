// LaneBudget: never more starts than the server said remain before its reset; requests sent
// after the answer was counted are subtracted; stale answers are ignored; a reset refills.
import { setMaxListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LaneBudget, type BudgetTicket } from '../../lib/http/lane-budget.js';
import type { LimitReading } from '../../lib/http/header-limits.js';

const ONE = { input: 0, output: 0 };
const requests = (remaining: number, resetMs: number, limit?: number): LimitReading =>
  ({ name: 'requests', limit, remaining, resetMs, windowMs: undefined, source: 'x-ratelimit-remaining-requests' });

function setup() {
  let t = 0;
  const budget = new LaneBudget(() => t);
  const signal = new AbortController().signal;
  const started: BudgetTicket[] = [];
  const tryStart = async (): Promise<boolean> => {
    let done = false;
    void budget.take(ONE, signal).then((ticket) => {
      started.push(ticket);
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    return done;
  };
  return { budget, started, tryStart, advance: (ms: number) => { t += ms; } };
}

describe('LaneBudget', () => {
  it('lets everything through before any answer', async () => {
    const { tryStart } = setup();
    for (let i = 0; i < 5; i++) expect(await tryStart()).toBe(true);
  });

  it('starts no more than the server said remain until the reset', async () => {
    const { budget, started, tryStart } = setup();
    await tryStart();
    budget.learn([requests(2, 60_000, 10)], started[0]!);
    expect(await tryStart()).toBe(true);
    expect(await tryStart()).toBe(true);
    expect(await tryStart()).toBe(false);
    expect(started).toHaveLength(3);
  });

  it('subtracts requests started after the answered one', async () => {
    const { budget, started, tryStart } = setup();
    await tryStart();
    await tryStart();
    await tryStart();
    // The first request's answer counted only itself: the two sent after it use up the 2 left.
    budget.learn([requests(2, 60_000, 10)], started[0]!);
    expect(await tryStart()).toBe(false);
  });

  it('ignores an answer older than the one it already read', async () => {
    const { budget, started, tryStart } = setup();
    await tryStart();
    await tryStart();
    budget.learn([requests(5, 60_000, 10)], started[1]!);
    budget.learn([requests(0, 60_000, 10)], started[0]!);
    expect(await tryStart()).toBe(true);
    expect(budget.describe().requests).toMatchObject({ remaining: 4, updates: 1 });
  });

  it('wakes a waiter when a newer answer says there is room', async () => {
    const { budget, started, tryStart } = setup();
    await tryStart();
    budget.learn([requests(0, 60_000, 10)], started[0]!);
    expect(await tryStart()).toBe(false);
    await tryStart();
    budget.learn([requests(3, 60_000, 10)], { seq: 2, spent: { 'requests': 1, 'tokens': 0, 'input-tokens': 0, 'output-tokens': 0 } });
    await new Promise((r) => setImmediate(r));
    expect(started).toHaveLength(3);
  });

  it('refills to the limit once the reset has passed', async () => {
    const { budget, started, tryStart, advance } = setup();
    await tryStart();
    budget.learn([requests(0, 1000, 2)], started[0]!);
    expect(await tryStart()).toBe(false);
    advance(1000);
    expect(budget.describe().requests).toMatchObject({ remaining: 2, limit: 2 });
  });

  it('charges token budgets with the estimate and lets a request larger than the whole budget go once it is whole', async () => {
    let t = 0;
    const budget = new LaneBudget(() => t);
    const signal = new AbortController().signal;
    const first = await budget.take({ input: 10, output: 0 }, signal);
    budget.learn([{ name: 'tokens', limit: 100, remaining: 100, resetMs: 1000, windowMs: undefined, source: 'x' }], first);
    await budget.take({ input: 150, output: 0 }, signal);
    expect(budget.describe().tokens!.remaining).toBe(0);
    t = 1000;
    expect(budget.describe().tokens!.remaining).toBe(100);
  });

  it('rejects a waiter with its signal\'s reason when it aborts', async () => {
    const budget = new LaneBudget(() => 0);
    const ac = new AbortController();
    const first = await budget.take(ONE, ac.signal);
    budget.learn([requests(0, 60_000, 1)], first);
    const waiting = budget.take(ONE, ac.signal);
    ac.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
  });
});

describe('LaneBudget over a learned window', () => {
  it('learns the window a continuously refilled limit implies: reset × limit / used', async () => {
    const budget = new LaneBudget(() => 0);
    const first = await budget.take(ONE, new AbortController().signal);
    // OpenAI's documented example: 60 a minute, 59 left, whole again in 1s.
    budget.learn([requests(59, 1000, 60)], first);
    expect(budget.describe().requests!.windowMs).toBe(60_000);
  });

  it('keeps the shortest window the answers allow', async () => {
    const budget = new LaneBudget(() => 0);
    const signal = new AbortController().signal;
    const a = await budget.take(ONE, signal);
    const b = await budget.take(ONE, signal);
    budget.learn([requests(9, 60_000, 10)], a);
    budget.learn([requests(5, 12_000, 10)], b);
    expect(budget.describe().requests!.windowMs).toBe(24_000);
  });

  it('spreads starts: no more than 95% of the limit within one window', async () => {
    const budget = new LaneBudget(() => 0);
    const ac = new AbortController();
    const first = await budget.take(ONE, ac.signal);
    // 100 a window of 1000 ms, as a provider refilling continuously would say it.
    budget.learn([requests(99, 10, 100)], first);
    let started = 0;
    const waiting = Array.from({ length: 100 }, () => budget.take(ONE, ac.signal).then(() => started++, () => {}));
    await new Promise((r) => setImmediate(r));
    // The first start came before the window was known: 95 logged starts fill it.
    expect(started).toBe(95);
    ac.abort();
    await Promise.all(waiting);
    expect(started).toBe(95);
  });
});

describe('LaneBudget waiters', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const tokens = (remaining: number): LimitReading =>
    ({ name: 'tokens', limit: 100, remaining, resetMs: 60_000, windowMs: undefined, source: 'x-ratelimit-remaining-tokens' });

  it('holds one timer and one abort listener per waiter however many answers leave them waiting', async () => {
    vi.useFakeTimers();
    const budget = new LaneBudget(() => 0);
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    const first = await budget.take(ONE, ac.signal);
    budget.learn([requests(0, 60_000, 100)], first);
    const listen = vi.spyOn(ac.signal, 'addEventListener');
    const waiting = Array.from({ length: 50 }, () => budget.take(ONE, ac.signal).catch(() => {}));
    // Answers arrive on ticks of their own: whatever a waiter does on waking has happened by the next.
    for (let i = 0; i < 100; i++) {
      budget.learn([requests(0, 60_000, 100)], first);
      for (let j = 0; j < 5; j++) await Promise.resolve();
    }
    expect(listen).toHaveBeenCalledTimes(50);
    expect(vi.getTimerCount()).toBe(1);
    ac.abort();
    await Promise.all(waiting);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses tryTake while an earlier caller waits, even when the later cost would fit', async () => {
    const budget = new LaneBudget(() => 0);
    const ac = new AbortController();
    const first = await budget.take(ONE, ac.signal);
    budget.learn([tokens(10)], first);
    const big = budget.take({ input: 50, output: 0 }, ac.signal).catch(() => 'aborted');
    expect(budget.tryTake({ input: 5, output: 0 })).toBeUndefined();
    ac.abort();
    expect(await big).toBe('aborted');
  });

  it('starts the waiters behind an aborted head once it leaves', async () => {
    const budget = new LaneBudget(() => 0);
    const first = await budget.take(ONE, new AbortController().signal);
    budget.learn([tokens(10)], first);
    const head = new AbortController();
    const big = budget.take({ input: 50, output: 0 }, head.signal).catch(() => 'aborted');
    const small = budget.take({ input: 5, output: 0 }, new AbortController().signal);
    head.abort();
    expect(await big).toBe('aborted');
    await expect(small).resolves.toMatchObject({ seq: 2 });
  });
});
