// The native backend's JS bookkeeping against a scripted addon: an operation the addon
// refuses by throwing (it does when it runs out of memory) settles its promise with that
// error instead of leaving it pending, and batches already out still deliver.
import { describe, expect, it } from 'vitest';
import { NativeBackend } from '../../lib/engine/native-backend.js';
import type { Addon, NativeEngine, OnRead } from '../../lib/engine/native.js';

const refusal = new Error('out of memory');

/**
 * An addon whose readFiles calls answer from `script` in turn: take the batch, report the
 * shards full, or throw. Writes and stats always throw.
 */
function scriptedAddon(script: ('take' | 'full' | 'throw')[], capacity = 1024, nextBatch = 2): { addon: Addon; deliver: () => void; offers: number[] } {
  let onRead: OnRead | undefined;
  const out: { token: number; count: number }[] = [];
  let calls = 0;
  const offers: number[] = [];
  const held = (): number => out.reduce((n, b) => n + b.count, 0);
  const engine: NativeEngine = {
    readFiles(_paths, count, token) {
      offers.push(count);
      if (count > capacity - held()) throw new RangeError('offered more than room()');
      const step = script[calls++] ?? 'take';
      if (step === 'throw') throw refusal;
      if (step === 'full') return 0;
      out.push({ token, count });
      return count;
    },
    writeFile() {
      throw refusal;
    },
    stat() {
      throw refusal;
    },
    close() {},
    info: () => ({ backend: 'threads', shards: [] }),
    outstanding: () => out.length,
    room: () => capacity - held(),
  };
  const addon = {
    Engine: function FakeEngine(_options: unknown, read: OnRead) {
      onRead = read;
      return engine;
    },
  } as unknown as Addon;
  // Every file of every batch out comes back as 1 byte, 'x'.
  const deliver = (): void => {
    for (const { token, count } of out.splice(0)) {
      const data = (5 * count + 63) & ~63;
      const arena = new ArrayBuffer(data + count);
      new Int32Array(arena, 0, count).fill(1);
      new Uint8Array(arena, data, count).fill(0x78);
      onRead!(token, count, arena, undefined, data, 1, nextBatch);
    }
  };
  return { addon, deliver, offers };
}

describe('native backend bookkeeping', () => {
  const options = { backend: 'threads', shards: 1, pin: false, queueDepth: 8 } as const;
  const paths = Array.from({ length: 5 }, (_, i) => `/f${i}`);

  it('rejects readFiles with the error of a batch the addon refused after waiting for room', async () => {
    const { addon, deliver } = scriptedAddon(['take', 'full', 'throw']);
    const backend = new NativeBackend(addon, options);
    backend.batch = 2;
    const pending = backend.readFiles(paths, false);
    deliver();
    await expect(pending).rejects.toBe(refusal);
  });

  it('settles the refused part of a settle-mode readFiles with that error and the rest with its bytes', async () => {
    const { addon, deliver } = scriptedAddon(['take', 'full', 'throw']);
    const backend = new NativeBackend(addon, options);
    backend.batch = 2;
    const pending = backend.readFiles(paths, true);
    deliver();
    const settled = await pending;
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    expect((settled[0] as PromiseFulfilledResult<Buffer>).value.toString()).toBe('x');
    expect((settled[4] as PromiseRejectedResult).reason).toBe(refusal);
  });

  it('rejects a queued write and stat the addon refused and keeps serving the queue', async () => {
    const { addon, deliver } = scriptedAddon(['take', 'full']);
    const backend = new NativeBackend(addon, options);
    backend.batch = 2;
    const read = backend.readFiles(paths, false);
    const write = backend.writeFile('/w', new Uint8Array(1));
    const stat = backend.stat('/s');
    deliver();
    await expect(write).rejects.toBe(refusal);
    await expect(stat).rejects.toBe(refusal);
    deliver();
    deliver();
    expect((await read).map((b) => b.toString())).toEqual(['x', 'x', 'x', 'x', 'x']);
  });

  it('offers the addon no more paths than the shards have room for, and all of them arrive', async () => {
    const { addon, deliver, offers } = scriptedAddon([], 24, 256);
    const backend = new NativeBackend(addon, options);
    const many = Array.from({ length: 60 }, (_, i) => `/m${i}`);
    const pending = backend.readFiles(many, false);
    expect(offers).toEqual([24]);
    deliver();
    deliver();
    deliver();
    expect(offers).toEqual([24, 24, 12]);
    expect((await pending).length).toBe(60);
  });
});
