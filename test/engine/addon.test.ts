// The addon itself: loads from both build paths (node-gyp's build/Release, cmake-js's
// build-cmake/js), refuses bad input with JS errors instead of crashing, and is
// context-aware (a worker_thread loads it and runs an Engine next to the main thread's).
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { type Addon, type NativeEngine, loadAddon, pinCurrentThread, probe } from '../../lib/engine/native.js';
import { root, tempDir } from './helpers.js';

const loaded = loadAddon();
const addon = 'addon' in loaded ? loaded.addon : undefined;
const dir = tempDir('addon');
const file = join(dir, 'file');
writeFileSync(file, 'contents');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noop = (): void => undefined;
const requireAddon = createRequire(import.meta.url);

function openEngine(a: Addon, onRead = noop as (...args: unknown[]) => void): NativeEngine {
  return new a.Engine({ backend: 'threads', shards: 1, pin: false, queueDepth: 8, capacity: 64 }, onRead, noop, noop);
}

describe.skipIf(addon === undefined)('native addon', () => {
  const builds = [
    ['node-gyp', join(root, 'build/Release/ringleader.node')],
    ['cmake-js', join(root, 'build-cmake/js/Release/ringleader.node')],
  ] as const;

  for (const [name, path] of builds) {
    // cmake-js is the developer path; when nobody ran it, there is nothing to load.
    it.skipIf(!existsSync(path))(`loads the ${name} build and reads through it (${path})`, async () => {
      const a = requireAddon(path) as Addon;
      const arena = await new Promise<{ count: number; arena: ArrayBuffer; data: number }>((resolve) => {
        const engine = openEngine(a, ((_token: number, count: number, arena: ArrayBuffer, _adopted: unknown, data: number) => {
          resolve({ count, arena, data });
          engine.close();
        }) as (...args: unknown[]) => void);
        expect(engine.readFiles(file, 1, 1)).toBe(1);
      });
      const results = new Int32Array(arena.arena, 0, arena.count);
      expect(results[0]).toBe(8);
      expect(Buffer.from(arena.arena, arena.data, 8).toString()).toBe('contents');
    });
  }

  it('refuses wrong argument types, bad lengths and use after close with JS errors', () => {
    const a = addon!;
    expect(() => new a.Engine({ backend: 'nope' } as never, noop, noop, noop)).toThrow(RangeError);
    expect(() => new a.Engine({ backend: 'threads', shards: -1 } as never, noop, noop, noop)).toThrow(RangeError);
    expect(() => new (a.Engine as unknown as new () => unknown)()).toThrow(TypeError);
    const engine = openEngine(a);
    expect(() => engine.readFiles([file] as unknown as string, 1, 1)).toThrow(TypeError);
    expect(() => engine.readFiles(42 as unknown as string, 1, 1)).toThrow(TypeError);
    expect(() => engine.readFiles(file, 2, 1)).toThrow(RangeError);
    expect(() => engine.readFiles(`${file}\0${file}`, 1, 1)).toThrow(RangeError);
    expect(() => engine.readFiles(`${file}\0${file}\0`, 2, 1)).toThrow(RangeError);
    expect(() => engine.readFiles(file, -1, 1)).toThrow(RangeError);
    expect(() => engine.readFiles(file, 0, 1)).toThrow(RangeError);
    expect(() => engine.readFiles(file, 1.5, 1)).toThrow(RangeError);
    expect(() => engine.readFiles(file, 2 ** 40, 1)).toThrow(RangeError);
    expect(() => engine.writeFile(file, 'str' as unknown as Uint8Array, 1)).toThrow(TypeError);
    expect(() => engine.writeFile(file, new Uint16Array(2) as unknown as Uint8Array, 1)).toThrow(TypeError);
    expect(() => engine.stat(7 as unknown as string, 1)).toThrow(TypeError);
    engine.close();
    engine.close();
    expect(() => engine.readFiles(file, 1, 1)).toThrow(/closed/);
    expect(() => engine.stat(file, 1)).toThrow(/closed/);
    expect(() => engine.info()).toThrow(/closed/);
  });

  it('reports probe() and pins the calling thread', () => {
    const p = probe();
    expect(typeof p.io_uring).toBe('boolean');
    expect(typeof p.kernel).toBe('string');
    if (p.io_uring) expect(p.opcodes).toContain('OPENAT');
    else expect(p.reason).toBeTruthy();
    expect(pinCurrentThread(1023)).toMatch(/^EINVAL/);  // a core this machine does not have
    expect(() => pinCurrentThread(100_000)).toThrow(RangeError);
    expect(() => pinCurrentThread(-1)).toThrow(RangeError);
  });

  it('loads in a worker_thread and runs an Engine there while the main thread runs one', async () => {
    const main = openEngine(addon!);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const nodeGypBuild = require(workerData.nodeGypBuild);
      const a = nodeGypBuild(workerData.root);
      const pinned = a.pinCurrentThread(0);
      const engine = new a.Engine({ backend: 'threads', shards: 1, pin: false, queueDepth: 4 }, (token, count, arena, adopted, data) => {
        const size = new Int32Array(arena, 0, count)[0];
        parentPort.postMessage({ pinned, text: Buffer.from(arena, data, size).toString() });
        engine.close();
      }, () => {}, () => {});
      engine.readFiles(workerData.file, 1, 1);`;
    const worker = new Worker(source, {
      eval: true,
      workerData: { root, file, nodeGypBuild: requireAddon.resolve('node-gyp-build') },
    });
    const message = await new Promise<{ pinned: number | string; text: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(message.text).toBe('contents');
    expect(message.pinned === 0 || typeof message.pinned === 'string').toBe(true);
    await worker.terminate();
    expect(main.outstanding()).toBe(0);
    main.close();
  });

  it('cleans up an engine left open when its worker exits', async () => {
    const source = `
      const { workerData } = require('node:worker_threads');
      const a = require(workerData.nodeGypBuild)(workerData.root);
      const engine = new a.Engine({ backend: 'threads', shards: 2, pin: false, queueDepth: 4 }, () => {}, () => {}, () => {});
      engine.readFiles(workerData.file + '\\0' + workerData.file, 2, 1);`;
    const worker = new Worker(source, { eval: true, workerData: { root, file, nodeGypBuild: requireAddon.resolve('node-gyp-build') } });
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(code).toBe(0);
  });
});
