// The io_uring and threads backends: JS-side bookkeeping around the addon's Engine. A
// readFiles call crosses into native code once per chunk (not per file), gets one
// callback per finished chunk, and cuts Buffer views out of that chunk's single arena -
// no promise, no finalizer and no native call per file.
import { ClosedError } from '../errors.js';
import { FileTooLargeError, fsError } from './fs-error.js';
import { type Addon, type NativeEngine, kAdopted, kSyscalls } from './native.js';
import { ReadJob } from './read-job.js';
import type { EngineBackend, FileStat } from './types.js';

// Paths offered per crossing until the addon says how many it takes (one arena's worth).
const kChunk = 256;
// Fewer paths than this are not worth a crossing of their own while more are waiting.
const kMinChunk = 16;
const kECANCELED = -125;
const kEFBIG = -27;
const kIfmt = 0o170000;
const kIfreg = 0o100000;
const kIfdir = 0o040000;

/** Work waiting for room in the shards, in arrival order. */
interface Pending {
  /** Submits what fits; true when nothing of this job is left to submit. */
  submit(engine: NativeEngine, backend: NativeBackend): boolean;
  /** The engine closed before this job was (fully) submitted. */
  abandon(): void;
}

/** A readFiles call on the native engine: submitted in chunks, completed chunk by chunk. */
class NativeReadJob extends ReadJob implements Pending {
  submit(engine: NativeEngine, backend: NativeBackend): boolean {
    while (!this.done && this.next < this.paths.length) {
      // Offer no more than the shards have room for: paths joined only to be refused
      // would cost as much as reading them.
      const left = this.paths.length - this.next;
      const room = engine.room();
      // When room is what limits the batch, a sliver waits for more: the shards hold ops,
      // so a delivery pumps again soon.
      if (room < Math.min(kMinChunk, left, backend.batch)) return false;
      const count = Math.min(backend.batch, left, room);
      // One string per batch: the addon converts it in one pass instead of one per path.
      const joined = count === 1 ? this.paths[this.next]! : this.paths.slice(this.next, this.next + count).join('\0');
      const token = backend.register(this, this.next);
      let taken: number;
      try {
        taken = engine.readFiles(joined, count, token);
      } catch (err) {
        // The addon refused the batch (out of memory): what was not submitted fails with
        // its error; batches already out still complete.
        backend.unregister(token);
        this.drop(() => err);
        return true;
      }
      if (taken === 0) {
        backend.unregister(token);
        return false;
      }
      this.next += taken;
    }
    return true;
  }

  /** One finished chunk starting at path index `start`. */
  complete(start: number, count: number, arena: ArrayBuffer, adopted: (Buffer | number | undefined)[] | undefined,
    data: number, slot: number, closing: boolean): void {
    if (this.done) return;
    const results = new Int32Array(arena, 0, count);
    const syscalls = new Uint8Array(arena, 4 * count, count);
    for (let i = 0; i < count; i++) {
      const r = results[i]!;
      if (r >= 0) {
        this.put(start + i, syscalls[i] === kAdopted ? adopted![i] as Buffer : Buffer.from(arena, data + i * slot, r));
        continue;
      }
      let reason: Error;
      if (closing && r === kECANCELED) reason = new ClosedError('engine closed before the read finished');
      else if (r === kEFBIG) reason = new FileTooLargeError(adopted![i] as number);
      else reason = fsError(r, kSyscalls[syscalls[i]!] ?? 'read', this.paths[start + i]!);
      if (!this.putError(start + i, reason)) return;
    }
    this.finished(count);
  }

  abandon(): void {
    this.drop(() => new ClosedError('engine closed before the read was submitted'));
  }
}

class SingleJob implements Pending {
  constructor(
    private readonly run: (engine: NativeEngine) => boolean,
    readonly reject: (reason: unknown) => void,
  ) {}

  submit(engine: NativeEngine): boolean {
    try {
      return this.run(engine);
    } catch (err) {
      // The addon refused it (out of memory): this operation fails, the queue moves on.
      this.reject(err);
      return true;
    }
  }

  abandon(): void {
    this.reject(new ClosedError('engine closed before the operation was submitted'));
  }
}

interface Chunk {
  job: NativeReadJob;
  start: number;
}

interface Waiter<T> {
  path: string;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export class NativeBackend implements EngineBackend {
  readonly name: 'io_uring' | 'threads';
  /** Paths per readFiles crossing, as the addon last asked. */
  batch = kChunk;
  private readonly engine: NativeEngine;
  private readonly chunks = new Map<number, Chunk>();
  private readonly writes = new Map<number, Waiter<void>>();
  private readonly stats = new Map<number, Waiter<FileStat>>();
  // FIFO of jobs waiting for room; `head` advances instead of shift() so both ends are O(1).
  private waiting: Pending[] = [];
  private head = 0;
  private nextToken = 0;
  private closing = false;

  constructor(addon: Addon, options: { backend: 'io_uring' | 'threads'; shards: number; pin: boolean; queueDepth: number }) {
    this.name = options.backend;
    this.engine = new addon.Engine(
      { ...options, capacity: Math.max(options.queueDepth * 16, 2 * kChunk) },
      (token, count, arena, adopted, data, slot, nextBatch) => {
        this.batch = nextBatch;
        this.onRead(token, count, arena, adopted, data, slot);
      },
      (token, result, syscall) => this.onWrite(token, result, syscall),
      (token, result, syscall, size, sec, nsec, mode) => this.onStat(token, result, syscall, size, sec, nsec, mode),
    );
  }

  get info(): ReturnType<NativeEngine['info']> {
    return this.engine.info();
  }

  register(job: NativeReadJob, start: number): number {
    const token = ++this.nextToken;
    this.chunks.set(token, { job, start });
    return token;
  }

  unregister(token: number): void {
    this.chunks.delete(token);
  }

  readFiles(paths: readonly string[], settle: false): Promise<Buffer[]>;
  readFiles(paths: readonly string[], settle: true): Promise<PromiseSettledResult<Buffer>[]>;
  readFiles(paths: readonly string[], settle: boolean): Promise<Buffer[] | PromiseSettledResult<Buffer>[]> {
    if (paths.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => this.enqueue(new NativeReadJob(paths, settle, resolve, reject)));
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter<void> = { path, resolve, reject };
      this.enqueue(new SingleJob((engine) => {
        const token = ++this.nextToken;
        if (!engine.writeFile(path, data, token)) return false;
        this.writes.set(token, waiter);
        return true;
      }, reject));
    });
  }

  stat(path: string): Promise<FileStat> {
    return new Promise<FileStat>((resolve, reject) => {
      const waiter: Waiter<FileStat> = { path, resolve, reject };
      this.enqueue(new SingleJob((engine) => {
        const token = ++this.nextToken;
        if (!engine.stat(path, token)) return false;
        this.stats.set(token, waiter);
        return true;
      }, reject));
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const waiting = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    for (const job of waiting) job.abandon();
    // Synchronous in the addon: cancelled and finished ops alike come back through the
    // callbacks above before it returns, so nothing is left pending after this line.
    this.engine.close();
  }

  private enqueue(job: Pending): void {
    if (this.head === this.waiting.length && job.submit(this.engine, this)) return;
    this.waiting.push(job);
  }

  private pump(): void {
    while (this.head < this.waiting.length) {
      if (!this.waiting[this.head]!.submit(this.engine, this)) return;
      this.waiting[this.head++] = undefined as unknown as Pending;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
    }
  }

  private onRead(token: number, count: number, arena: ArrayBuffer, adopted: (Buffer | number | undefined)[] | undefined,
    data: number, slot: number): void {
    const chunk = this.chunks.get(token);
    if (chunk !== undefined) {
      this.chunks.delete(token);
      chunk.job.complete(chunk.start, count, arena, adopted, data, slot, this.closing);
    }
    if (!this.closing) this.pump();
  }

  private onWrite(token: number, result: number, syscall: number): void {
    const waiter = this.writes.get(token);
    if (waiter !== undefined) {
      this.writes.delete(token);
      if (result >= 0) waiter.resolve();
      else waiter.reject(this.error(result, syscall, waiter.path, 'write'));
    }
    if (!this.closing) this.pump();
  }

  private onStat(token: number, result: number, syscall: number, size: number, sec: number, nsec: number, mode: number): void {
    const waiter = this.stats.get(token);
    if (waiter !== undefined) {
      this.stats.delete(token);
      if (result >= 0) {
        const kind = mode & kIfmt;
        // Node's own formula (lib/internal/fs/utils.js), so mtimeMs matches fs.stat to the bit.
        const stat: FileStat = { size, mtimeMs: sec * 1e3 + nsec / 1e6, isFile: kind === kIfreg, isDirectory: kind === kIfdir };
        waiter.resolve(stat);
      } else {
        waiter.reject(this.error(result, syscall, waiter.path, 'stat'));
      }
    }
    if (!this.closing) this.pump();
  }

  private error(result: number, syscall: number, path: string, fallback: string): Error {
    if (this.closing && result === kECANCELED) return new ClosedError('engine closed before the operation finished');
    return fsError(result, kSyscalls[syscall] || fallback, path);
  }
}
