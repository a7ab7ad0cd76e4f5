// The file reads the demo's tool calls make. The js strategies use fs.promises; the native
// strategy reads through an Engine, coalescing every read asked for in the same turn of the
// event loop into one readFiles batch, so a fan-out of tool calls costs one N-API crossing.

import { readFile } from 'node:fs/promises';
import type { Engine } from '../engine/index.js';

export type ReadToolFile = (path: string, signal?: AbortSignal) => Promise<Buffer>;

export function readToolFile(path: string, signal?: AbortSignal): Promise<Buffer> {
  return readFile(path, { signal });
}

interface Pending {
  path: string;
  resolve: (data: Buffer) => void;
  reject: (err: unknown) => void;
}

/** A ReadToolFile that batches through `engine`. The caller closes the engine. */
export function batchedReader(engine: Engine): ReadToolFile {
  let pending: Pending[] = [];
  const flush = (): void => {
    const batch = pending;
    pending = [];
    engine.readFiles(batch.map((p) => p.path), { settle: true }).then(
      (results) => {
        for (let i = 0; i < batch.length; i++) {
          const r = results[i]!;
          if (r.status === 'fulfilled') batch[i]!.resolve(r.value);
          else batch[i]!.reject(r.reason);
        }
      },
      (err: unknown) => {
        for (const p of batch) p.reject(err);
      },
    );
  };
  return (path, signal) => {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<Buffer>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ path, resolve, reject });
    });
  };
}
