// The Engine API, the same suite on every backend this machine runs (io_uring, threads,
// js), with results compared byte for byte and errors compared field by field with fs.promises.
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../lib/engine/engine.js';
import { ClosedError } from '../../lib/errors.js';
import { availableBackends, distEngine, runChild, tempDir } from './helpers.js';

const backends = availableBackends();
let dir: string;
let sample: string[];

beforeAll(() => {
  dir = tempDir('engine');
  sample = [];
  const sizes = [0, 1, 4095, 4096, 4097, 65536, 100_000, 300_000];
  for (const size of sizes) {
    const p = join(dir, `sample-${size}`);
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) & 0xff;
    writeFileSync(p, bytes);
    sample.push(p);
  }
  mkdirSync(join(dir, 'many'));
  for (let i = 0; i < 10_000; i++) writeFileSync(join(dir, 'many', `f${i}`), `file ${i}\n`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await promise;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected a rejection');
}

function shape(err: NodeJS.ErrnoException): Record<string, unknown> {
  return { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall, path: err.path, keys: Object.keys(err).sort() };
}

/** Everything a caller can see of an error: shape, class, name, own properties, string forms. */
function fullShape(err: NodeJS.ErrnoException): Record<string, unknown> {
  return {
    ...shape(err),
    name: err.name,
    isRangeError: err instanceof RangeError,
    own: Object.getOwnPropertyNames(err),
    string: String(err),
    stackHead: err.stack?.split('\n')[0],
  };
}

/** Bytes this process has read through syscalls so far, its shard and io_uring worker threads included. */
function bytesRead(): number {
  return Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

describe.each(backends)('Engine on %s', (backend) => {
  let engine: Engine;

  beforeAll(async () => {
    engine = await Engine.open({ backend, shards: 2, queueDepth: 32 });
  });

  afterAll(async () => {
    await engine.close();
  });

  it('runs the backend it was asked for', () => {
    expect(engine.backend).toBe(backend);
  });

  it('reads files of every size byte for byte', async () => {
    const buffers = await engine.readFiles(sample);
    expect(buffers.length).toBe(sample.length);
    buffers.forEach((b, i) => expect(b.equals(readFileSync(sample[i]!))).toBe(true));
    expect((await engine.readFile(sample[5]!)).equals(readFileSync(sample[5]!))).toBe(true);
  });

  it('stays byte for byte while slot sizes adapt between small, large and mixed batches', async () => {
    const small = Array.from({ length: 300 }, (_, i) => join(dir, 'many', `f${i}`));
    const rounds = [small, sample, [...sample].reverse(), small, [...small.slice(0, 50), ...sample, ...small.slice(50, 100)], sample];
    for (const paths of rounds) {
      const buffers = await engine.readFiles(paths);
      buffers.forEach((b, i) => expect(b.equals(readFileSync(paths[i]!))).toBe(true));
    }
  });

  it('reads sizeless procfs files to EOF, also when they outgrow the slots a batch of tiny files left', async () => {
    const tiny = Array.from({ length: 20 }, (_, i) => join(dir, 'many', `f${i}`));
    await engine.readFiles(tiny);
    const paths = ['/proc/self/limits', '/proc/self/cmdline', tiny[0]!];
    const buffers = await engine.readFiles(paths);
    buffers.forEach((b, i) => expect(b.equals(readFileSync(paths[i]!))).toBe(true));
    expect(buffers[0]!.length).toBeGreaterThan(64);
  });

  it('reads paths outside ASCII and refuses an over-long one as fs.promises does', async () => {
    const named = join(dir, 'f\u00fcr-\u0444\u0430\u0439\u043b-\ud83d\ude00');
    writeFileSync(named, 'unicode');
    expect((await engine.readFile(named)).toString()).toBe('unicode');
    // Longer than the addon's path scratch buffer, with a multi-byte character at its end.
    const long = join(dir, `${'x/'.repeat(9000)}\u00fc`);
    expect(shape(await errorOf(engine.readFile(long)))).toEqual(shape(await errorOf(readFile(long))));
  });

  it('returns an empty array for no paths', async () => {
    expect(await engine.readFiles([])).toEqual([]);
  });

  it('rejects a missing path with the ENOENT error fs.promises gives', async () => {
    const missing = join(dir, 'missing');
    expect(shape(await errorOf(engine.readFile(missing)))).toEqual(shape(await errorOf(readFile(missing))));
  });

  it('rejects a directory with the EISDIR error fs.promises gives', async () => {
    expect(shape(await errorOf(engine.readFile(dir)))).toEqual(shape(await errorOf(readFile(dir))));
  });

  it('refuses a sparse file over 2 GiB with the RangeError fs.promises gives, reading next to nothing', async () => {
    // Sparse: no disk used; reading it would take seconds and 3 GiB of memory.
    const huge = join(dir, `huge-${backend}`);
    writeFileSync(huge, '');
    truncateSync(huge, 3 * 2 ** 30);
    const before = bytesRead();
    const ours = await errorOf(engine.readFile(huge));
    const read = bytesRead() - before;
    expect(fullShape(ours)).toEqual(fullShape(await errorOf(readFile(huge))));
    expect(read).toBeLessThan(1 << 20);
    const settled = await engine.readFiles([sample[1]!, huge], { settle: true });
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(settled[1]!.status === 'rejected' && settled[1]!.reason).toBeInstanceOf(RangeError);
  });

  // fs.promises reads a sizeless device until memory runs out; the native backends stop
  // one byte past Node's bound and refuse with the same RangeError, naming bytes seen.
  it.skipIf(backend === 'js')(`refuses an endless sizeless device one byte past 2 GiB${backend === 'js' ? ' (skipped: js is fs.promises, which has no bound for sizeless files)' : ''}`, async () => {
    const err = await errorOf(engine.readFile('/dev/zero'));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.code).toBe('ERR_FS_FILE_TOO_LARGE');
    expect(err.message).toBe(`File size (${2 ** 31}) is greater than 2 GiB`);
  });

  it('rejects readFiles on the first error without settle', async () => {
    const err = await errorOf(engine.readFiles([sample[0]!, join(dir, 'missing'), sample[1]!]));
    expect(err.code).toBe('ENOENT');
  });

  it('reports each file in settle mode, in order', async () => {
    const missing = join(dir, 'missing');
    const results = await engine.readFiles([sample[3]!, missing, dir, sample[2]!], { settle: true });
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const first = results[0]!;
    expect(first.status === 'fulfilled' && first.value.equals(readFileSync(sample[3]!))).toBe(true);
    const second = results[1]!;
    expect(second.status === 'rejected' && shape(second.reason)).toEqual(shape(await errorOf(readFile(missing))));
  });

  it('reads 10,000 files in one readFiles', async () => {
    const paths = Array.from({ length: 10_000 }, (_, i) => join(dir, 'many', `f${i}`));
    const buffers = await engine.readFiles(paths);
    expect(buffers.length).toBe(10_000);
    for (let i = 0; i < buffers.length; i += 997) expect(buffers[i]!.toString()).toBe(`file ${i}\n`);
    expect(buffers.every((b, i) => b.length === `file ${i}\n`.length)).toBe(true);
  });

  it('stats like fs.promises.stat', async () => {
    for (const p of [sample[4]!, dir]) {
      const s = await stat(p);
      expect(await engine.stat(p)).toEqual({ size: s.size, mtimeMs: s.mtimeMs, isFile: s.isFile(), isDirectory: s.isDirectory() });
    }
    const missing = join(dir, 'missing');
    expect(shape(await errorOf(engine.stat(missing)))).toEqual(shape(await errorOf(stat(missing))));
  });

  it('writes files that read back identically', async () => {
    const p = join(dir, `written-${backend}`);
    const data = Buffer.alloc(70_000, 7);
    await engine.writeFile(p, data);
    expect(readFileSync(p).equals(data)).toBe(true);
    await engine.writeFile(p, 'text ✓');
    expect(readFileSync(p, 'utf8')).toBe('text ✓');
    expect(shape(await errorOf(engine.writeFile(dir, 'x')))).toEqual(shape(await errorOf(writeFile(dir, 'x'))));
  });

  it('refuses bad arguments with TypeError before any I/O', async () => {
    await expect(engine.readFiles('x' as unknown as string[])).rejects.toThrow(TypeError);
    await expect(engine.readFiles([1 as unknown as string])).rejects.toThrow(TypeError);
    await expect(engine.readFile('a\0b')).rejects.toThrow(TypeError);
    await expect(engine.writeFile(join(dir, 'w'), 5 as unknown as string)).rejects.toThrow(TypeError);
    await expect(engine.readFiles(sample, { settle: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
  });

  it('settles every read with data or ClosedError when closed with 1,000 in flight', async () => {
    const own = await Engine.open({ backend, shards: 2, queueDepth: 16 });
    const paths = Array.from({ length: 1_000 }, (_, i) => join(dir, 'many', `f${i}`));
    const settled = own.readFiles(paths, { settle: true });
    const plain = own.readFiles(paths).then(() => 'ok', (err: unknown) => err);
    await own.close();
    const results = await settled;
    expect(results.length).toBe(1_000);
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') expect(r.value.toString()).toBe(`file ${i}\n`);
      else expect(r.reason).toBeInstanceOf(ClosedError);
    }
    const outcome = await plain;
    expect(outcome === 'ok' || outcome instanceof ClosedError).toBe(true);
  });

  it('rejects use after close with ClosedError, and close is idempotent', async () => {
    const own = await Engine.open({ backend });
    await own.close();
    await own.close();
    await expect(own.readFile(sample[1]!)).rejects.toBeInstanceOf(ClosedError);
    await expect(own.readFiles([sample[1]!])).rejects.toBeInstanceOf(ClosedError);
    await expect(own.writeFile(join(dir, 'late'), 'x')).rejects.toBeInstanceOf(ClosedError);
    await expect(own.stat(sample[1]!)).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('Engine across backends', () => {
  // Comparing one backend with itself proves nothing: without the addon there is only js.
  const compared = backends.length >= 2 ? 'gives byte-identical results on every backend'
    : `gives byte-identical results on every backend (skipped: only ${backends.join(', ')} runs here, nothing to compare)`;
  it.skipIf(backends.length < 2)(compared, async () => {
    const paths = [...sample, ...Array.from({ length: 500 }, (_, i) => join(dir, 'many', `f${i}`))];
    const ran: string[] = [];
    const outputs: Buffer[][] = [];
    for (const backend of backends) {
      const engine = await Engine.open({ backend });
      ran.push(engine.backend);
      outputs.push(await engine.readFiles(paths));
      await engine.close();
    }
    // A native backend and the js fallback, each the one asked for: never js against js.
    expect(ran).toEqual(backends);
    expect(ran).toContain('js');
    expect(ran.some((b) => b === 'io_uring' || b === 'threads')).toBe(true);
    expect(outputs.map((o) => o.length)).toEqual(backends.map(() => paths.length));
    for (const output of outputs.slice(1)) {
      output.forEach((b, i) => expect(Buffer.compare(b, outputs[0]![i]!)).toBe(0));
    }
  });

  // Under vitest a test-runner formatter writes stacks; a user's process has Node's own,
  // which heads Node's errors "RangeError [ERR_FS_FILE_TOO_LARGE]: ...".
  it('heads a too-large refusal\'s stack as fs.promises does under Node\'s own stack formatter', async () => {
    const huge = join(dir, 'huge-child');
    writeFileSync(huge, '');
    truncateSync(huge, 3 * 2 ** 30);
    const source = `
      import { readFile } from 'node:fs/promises';
      import { Engine } from ${JSON.stringify(distEngine)};
      const heads = {};
      for (const backend of ${JSON.stringify(backends)}) {
        const engine = await Engine.open({ backend });
        const err = await engine.readFile(${JSON.stringify(huge)}).catch((e) => e);
        heads[backend] = [err.stack.split('\\n')[0], String(err)];
        await engine.close();
      }
      const ref = await readFile(${JSON.stringify(huge)}).catch((e) => e);
      heads.fs = [ref.stack.split('\\n')[0], String(ref)];
      console.log(JSON.stringify(heads));`;
    const heads = await runChild(source) as Record<string, [string, string]>;
    expect(heads.fs![0]).toMatch(/^RangeError \[ERR_FS_FILE_TOO_LARGE\]: File size \(3221225472\)/);
    for (const backend of backends) expect(heads[backend]).toEqual(heads.fs);
  });

  it('validates options with TypeError and RangeError', async () => {
    await expect(Engine.open({ backend: 'fast' as 'js' })).rejects.toThrow(RangeError);
    await expect(Engine.open({ backend: 1 as unknown as 'js' })).rejects.toThrow(TypeError);
    await expect(Engine.open({ shards: 0 })).rejects.toThrow(RangeError);
    await expect(Engine.open({ shards: 1.5 })).rejects.toThrow(RangeError);
    await expect(Engine.open({ queueDepth: 100_000 })).rejects.toThrow(RangeError);
    await expect(Engine.open({ pin: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
  });

  it('runs two engines at once', async () => {
    const [a, b] = await Promise.all([Engine.open({ backend: backends[0] }), Engine.open({ backend: backends[0] })]);
    const [ra, rb] = await Promise.all([a.readFiles(sample), b.readFiles(sample)]);
    ra.forEach((buf, i) => expect(buf.equals(rb[i]!)).toBe(true));
    await Promise.all([a.close(), b.close()]);
  });
});
