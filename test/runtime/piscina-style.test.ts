// Worker files written for piscina run unchanged: a default export (ESM) or module.exports
// (CJS) is the handler, named exports are picked with run(data, { name }), and the handler
// gets (data, ctx) with the same signal, key, routing and crash isolation as defineWorker.
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerCrashedError } from '../../lib/runtime/crashed-error.js';
import { WorkerPool } from '../../lib/runtime/worker-pool.js';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool with piscina-style worker files', () => {
  it('runs the default export of an ESM file, with ctx.key and keyed routing', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-esm.mjs'), threads: 2 });
    const a = await pool.run<{ doubled: number; key: string; threadId: number }>(21, { key: 'k' });
    const b = await pool.run<{ threadId: number }>(1, { key: 'k' });
    expect(a).toMatchObject({ doubled: 42, key: 'k' });
    expect(b.threadId).toBe(a.threadId);
  });

  it('runs a named export chosen with { name }', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-esm.mjs'), threads: 1 });
    expect(await pool.run({ a: 2, b: 3 }, { name: 'add' })).toBe(5);
  });

  it('rejects a task naming a handler the file does not export, and keeps the worker', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-esm.mjs'), threads: 1 });
    await expect(pool.run(1, { name: 'notAHandler' })).rejects.toThrow(/no handler named "notAHandler"; it has: default, add/);
    expect(await pool.run(2)).toMatchObject({ doubled: 4 });
    expect(pool.stats().crashes).toBe(0);
  });

  it('runs module.exports of a CommonJS file, and its function properties by name', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-cjs.cjs'), threads: 1 });
    expect(await pool.run('x')).toBe('cjs:x');
    expect(await pool.run('x', { name: 'shout' })).toBe('X');
  });

  it('a file with named handlers only wants a name; without one the task rejects', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-named.mjs'), threads: 1 });
    expect(await pool.run('Ab', { name: 'upper' })).toBe('AB');
    expect(await pool.run('Ab', { name: 'lower' })).toBe('ab');
    await expect(pool.run('Ab')).rejects.toThrow(/no default handler; run\(data, \{ name \}\) one of: lower, upper/);
  });

  it('a cancelled task aborts ctx.signal of an exported handler without killing the worker', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-esm.mjs'), threads: 1 });
    const ac = new AbortController();
    const running = pool.run({ op: 'wait-abort' }, { signal: ac.signal });
    // Cancel only once the handler runs (a queued task would just be dropped).
    while (pool.stats().running === 0) await new Promise((resolve) => setImmediate(resolve));
    ac.abort(new Error('caller left'));
    await expect(running).rejects.toThrow('caller left');
    expect(await pool.run(5)).toMatchObject({ doubled: 10 });
    expect(pool.stats().crashes).toBe(0);
  });

  it('a crash rejects only its own task and the worker is replaced', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-esm.mjs'), threads: 1 });
    await expect(pool.run({ op: 'crash' })).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(await pool.run(3)).toMatchObject({ doubled: 6 });
    expect(pool.stats().crashes).toBe(1);
  });

  it('defineWorker() wins over an export of the same file', async () => {
    pool = await WorkerPool.open({ filename: fixture('both.mjs'), threads: 1 });
    expect(await pool.run('x')).toBe('defined:x');
  });

  it('refuses a name that is not a non-empty string', async () => {
    pool = await WorkerPool.open({ filename: fixture('piscina-esm.mjs'), threads: 1 });
    await expect(pool.run(1, { name: 7 as never })).rejects.toThrow(TypeError);
    await expect(pool.run(1, { name: '' })).rejects.toThrow(TypeError);
  });

  it('refuses at open a file that exports nothing callable, saying so', async () => {
    const err = await WorkerPool.open({ filename: fixture('no-define.mjs'), threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect((err as Error).message).toMatch(/exports no function and ended before calling defineWorker\(\)/);
  });
});
