// The native demo strategy's reader: reads asked for in one turn cross as one readFiles
// batch, each caller gets its own file or its own error, and nothing waits for a next turn.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { batchedReader } from '../../lib/cli/read-file.js';
import { Engine } from '../../lib/engine/index.js';

let dir: string;
let engine: Engine;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ringleader-reader-'));
  for (let i = 0; i < 8; i++) await writeFile(join(dir, `f${i}`), `file ${i}`);
  engine = await Engine.open();
});

afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe(`batchedReader (engine backend ${process.env['RINGLEADER_BACKEND'] ?? 'auto'})`, () => {
  it('sends every read of one turn in one readFiles call, results to the right callers', async () => {
    const spy = vi.spyOn(engine, 'readFiles');
    const read = batchedReader(engine);
    const all = await Promise.all(Array.from({ length: 8 }, (_, i) => read(join(dir, `f${i}`))));
    expect(all.map((b) => b.toString())).toEqual(Array.from({ length: 8 }, (_, i) => `file ${i}`));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toHaveLength(8);
    spy.mockRestore();
  });

  it('rejects only the caller whose file is missing', async () => {
    const read = batchedReader(engine);
    const [ok, missing] = await Promise.allSettled([read(join(dir, 'f1')), read(join(dir, 'nope'))]);
    expect(ok).toMatchObject({ status: 'fulfilled' });
    expect((ok as PromiseFulfilledResult<Buffer>).value.toString()).toBe('file 1');
    expect(missing).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
  });

  it('starts a new batch for reads asked for after a batch went out', async () => {
    const spy = vi.spyOn(engine, 'readFiles');
    const read = batchedReader(engine);
    await read(join(dir, 'f2'));
    await read(join(dir, 'f3'));
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
  });

  it('rejects a read whose signal is already aborted, with the reason', async () => {
    const read = batchedReader(engine);
    const reason = new Error('stop');
    await expect(read(join(dir, 'f0'), AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
