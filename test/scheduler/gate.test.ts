// The Scheduler's side of shared limits, against an in-process gate: every attempt enters
// before it runs and leaves once, sees its fence, and a gate stuck on a dead store
// surfaces as StoreUnavailableError at the attempt's timeout.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Scheduler, StoreUnavailableError, type Gate, type GateRequest, type GateStore, type GateTicket, type GlobalOptions,
} from '../../lib/index.js';
import { flush } from './helpers.js';

class MemoryGate implements Gate {
  held = 0;
  maxHeld = 0;
  entered = 0;
  left = 0;
  fence = 0;
  down: Error | undefined;
  private waiters: Array<() => void> = [];

  constructor(private readonly capacity: number) {}

  enter(req: GateRequest): Promise<GateTicket> {
    return new Promise((resolve, reject) => {
      const tryEnter = (): boolean => {
        if (this.down !== undefined || this.held >= this.capacity) return false;
        this.held++;
        this.entered++;
        this.maxHeld = Math.max(this.maxHeld, this.held);
        const fence = ++this.fence;
        let left = false;
        resolve({
          fence,
          leave: () => {
            if (left) throw new Error('left twice');
            left = true;
            this.held--;
            this.left++;
            this.waiters.shift()?.();
          },
        });
        return true;
      };
      if (tryEnter()) return;
      const retry = (): void => {
        if (!tryEnter()) this.waiters.push(retry);
      };
      this.waiters.push(retry);
      req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true });
    });
  }

  unavailable(): Error | undefined {
    return this.down;
  }
}

class MemoryStore implements GateStore {
  options: GlobalOptions | undefined;
  constructor(readonly memoryGate: MemoryGate) {}
  gate(options: GlobalOptions): Gate {
    this.options = options;
    return this.memoryGate;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Scheduler with a shared gate', () => {
  it('enters the gate before each attempt and leaves it exactly once', async () => {
    const gate = new MemoryGate(2);
    const store = new MemoryStore(gate);
    const s = new Scheduler({ concurrency: 8, store, global: { concurrency: 2 } });
    const fences = await Promise.all(Array.from({ length: 10 }, () => s.run(async (ctx) => {
      await flush();
      return ctx.fence;
    })));
    expect(store.options).toEqual({ concurrency: 2 });
    expect(gate.maxHeld).toBe(2);
    expect(gate.entered).toBe(10);
    expect(gate.left).toBe(10);
    expect(new Set(fences).size).toBe(10);
  });

  it('leaves the gate when the task throws', async () => {
    const gate = new MemoryGate(1);
    const s = new Scheduler({ concurrency: 1, store: new MemoryStore(gate) });
    await expect(s.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(gate.left).toBe(1);
  });

  it('rejects with StoreUnavailableError at the timeout while the store is down', async () => {
    vi.useFakeTimers();
    const gate = new MemoryGate(1);
    gate.down = new StoreUnavailableError('redis is down');
    const s = new Scheduler({ concurrency: 1, timeout: 500, store: new MemoryStore(gate) });
    const fn = vi.fn();
    const task = s.run(fn);
    const check = expect(task).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    await vi.advanceTimersByTimeAsync(500);
    await check;
    expect(fn).not.toHaveBeenCalled();
  });

  it('closes its gate once closed and idle, and close() resolves after the gate has closed', async () => {
    const gate = new MemoryGate(1);
    let closes = 0;
    let finishClose!: () => void;
    const closable = Object.assign(gate, {
      close: (): Promise<void> => {
        closes++;
        expect(gate.held).toBe(0);
        return new Promise<void>((resolve) => (finishClose = resolve));
      },
    });
    const s = new Scheduler({ concurrency: 1, store: new MemoryStore(closable) });
    let release!: () => void;
    const running = s.run(() => new Promise<void>((resolve) => (release = resolve)));
    await flush();
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await flush();
    expect(closes).toBe(0);
    release();
    await running;
    await flush();
    expect(closes).toBe(1);
    expect(closed).toBe(false);
    finishClose();
    await closing;
    await s.close();
    expect(closes).toBe(1);
  });

  it('gives the global lease back while a task yields, so a nested fan-out under a global limit of 1 finishes', async () => {
    const gate = new MemoryGate(1);
    const s = new Scheduler({ concurrency: 4, store: new MemoryStore(gate) });
    const fences = await s.run(async (ctx) => {
      const before = ctx.fence;
      const inner = await ctx.yield(Promise.all([s.run((c) => c.fence), s.run((c) => c.fence)]));
      return [before, ...inner, ctx.fence];
    });
    expect(new Set(fences).size).toBe(4);
    expect(gate.maxHeld).toBe(1);
    expect(gate.entered).toBe(4);
    expect(gate.left).toBe(4);
    expect(gate.held).toBe(0);
  });

  it('refuses global limits without a store', () => {
    expect(() => new Scheduler({ concurrency: 1, global: { concurrency: 1 } })).toThrow(TypeError);
    expect(() => new Scheduler({ concurrency: 1, store: {} as GateStore })).toThrow(TypeError);
  });
});
