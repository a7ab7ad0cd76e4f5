// Engine: batched file I/O on the best backend this machine allows. Validates every
// argument before anything reaches native code, picks io_uring -> threads -> js under
// 'auto' (RINGLEADER_BACKEND forces one), and records why it fell back.
import { availableParallelism } from 'node:os';
import { channels, type EngineBatchMessage } from '../diagnostics.js';
import { ClosedError } from '../errors.js';
import { checkInteger, checkObject, describe, messageOf } from '../validate.js';
import { FallbackBackend } from './fallback.js';
import { learnFsErrors } from './fs-error.js';
import { holdIdentity } from './identity-guard.js';
import { NativeBackend } from './native-backend.js';
import { type Addon, loadAddon } from './native.js';
import type { BackendChoice, BackendName, EngineBackend, EngineOptions, FileStat, ReadFilesOptions } from './types.js';

const kChoices: readonly BackendChoice[] = ['auto', 'io_uring', 'threads', 'js'];
const kMaxShards = 256;
const kMaxQueueDepth = 4096;

function checkBackend(name: string, value: unknown): BackendChoice {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (!(kChoices as readonly string[]).includes(value)) {
    throw new RangeError(`${name} must be one of ${kChoices.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as BackendChoice;
}

function checkPath(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  // Same refusal as fs: a NUL byte would silently truncate the path in the kernel.
  if (value.includes('\0')) throw new TypeError(`${name} must not contain null bytes, got ${describe(value)}`);
  return value;
}

interface Resolved {
  backend: EngineBackend;
  fallbackReason: string | undefined;
}

function openNative(addon: Addon, backend: 'io_uring' | 'threads', shards: number, pin: boolean, queueDepth: number): NativeBackend {
  return new NativeBackend(addon, { backend, shards, pin, queueDepth });
}

export class Engine {
  /** The backend that actually runs. */
  readonly backend: BackendName;
  /** Why `auto` (or RINGLEADER_BACKEND) did not give io_uring; undefined when nothing fell back. */
  readonly fallbackReason: string | undefined;
  /** Shard threads (native) or the concurrency scale (js). */
  readonly shards: number;
  private readonly impl: EngineBackend;
  private releaseIdentity: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  private constructor(resolved: Resolved, shards: number) {
    this.impl = resolved.backend;
    this.backend = resolved.backend.name;
    this.fallbackReason = resolved.fallbackReason;
    this.shards = shards;
    if (this.backend === 'io_uring') this.releaseIdentity = holdIdentity();
  }

  static async open(options: EngineOptions = {}): Promise<Engine> {
    checkObject('options', options);
    const forced = process.env['RINGLEADER_BACKEND'];
    const choice = forced !== undefined && forced !== ''
      ? checkBackend('RINGLEADER_BACKEND', forced)
      : checkBackend('backend', options.backend ?? 'auto');
    const shards = checkInteger('shards', options.shards ?? Math.min(availableParallelism(), 2), 1);
    if (shards > kMaxShards) throw new RangeError(`shards must be <= ${kMaxShards}, got ${shards}`);
    const queueDepth = checkInteger('queueDepth', options.queueDepth ?? 64, 1);
    if (queueDepth > kMaxQueueDepth) throw new RangeError(`queueDepth must be <= ${kMaxQueueDepth}, got ${queueDepth}`);
    // Pinning pays when a core is left for the JS thread; with a shard on every core it
    // would fight the event loop for its own CPU.
    const pin = options.pin ?? shards < availableParallelism();
    if (typeof pin !== 'boolean') throw new TypeError(`pin must be a boolean, got ${describe(pin)}`);
    const resolved = Engine.resolve(choice, forced !== undefined && forced !== '', shards, pin, queueDepth);
    // Native errors are built to look like this Node's fs.promises ones (js gets them as is).
    if (resolved.backend.name !== 'js') await learnFsErrors();
    return new Engine(resolved, shards);
  }

  private static resolve(choice: BackendChoice, forced: boolean, shards: number, pin: boolean, queueDepth: number): Resolved {
    const js = (reason: string | undefined): Resolved => ({ backend: new FallbackBackend({ shards, queueDepth }), fallbackReason: reason });
    if (choice === 'js') return js(forced ? 'forced by RINGLEADER_BACKEND=js' : undefined);
    const loaded = loadAddon();
    if ('error' in loaded) {
      if (choice !== 'auto') throw new Error(`backend '${choice}' needs the native addon: ${loaded.error}`);
      return js(loaded.error);
    }
    const { addon } = loaded;
    if (choice === 'threads') {
      return { backend: openNative(addon, 'threads', shards, pin, queueDepth), fallbackReason: forced ? 'forced by RINGLEADER_BACKEND=threads' : undefined };
    }
    if (choice === 'io_uring') return { backend: openNative(addon, 'io_uring', shards, pin, queueDepth), fallbackReason: undefined };
    // auto: probe rather than assume (seccomp, sysctl, memlock, old kernels all say no).
    const probed = addon.probe();
    let reason: string;
    if (probed.io_uring) {
      try {
        return { backend: openNative(addon, 'io_uring', shards, pin, queueDepth), fallbackReason: undefined };
      } catch (err) {
        reason = `io_uring refused: ${messageOf(err)}`;
      }
    } else {
      reason = `io_uring unavailable: ${probed.reason}`;
    }
    try {
      return { backend: openNative(addon, 'threads', shards, pin, queueDepth), fallbackReason: reason };
    } catch (err) {
      return js(`${reason}; threads refused: ${messageOf(err)}`);
    }
  }

  readFile(path: string): Promise<Buffer> {
    return this.readFiles([path]).then((buffers) => buffers[0]!);
  }

  /** One batch; results in input order. Without `settle` the first error rejects the whole call. */
  readFiles(paths: readonly string[], options?: ReadFilesOptions & { settle?: false }): Promise<Buffer[]>;
  readFiles(paths: readonly string[], options: ReadFilesOptions & { settle: true }): Promise<PromiseSettledResult<Buffer>[]>;
  readFiles(paths: readonly string[], options?: ReadFilesOptions): Promise<Buffer[] | PromiseSettledResult<Buffer>[]>;
  async readFiles(paths: readonly string[], options: ReadFilesOptions = {}): Promise<Buffer[] | PromiseSettledResult<Buffer>[]> {
    checkObject('options', options);
    if (!Array.isArray(paths)) throw new TypeError(`paths must be an array, got ${describe(paths)}`);
    // The argument's name is built only for the error: a string per path is a measurable
    // share of a large batch.
    for (let i = 0; i < paths.length; i++) {
      const path: unknown = paths[i];
      if (typeof path !== 'string' || path.includes('\0')) checkPath(`paths[${i}]`, path);
    }
    const settle = options.settle ?? false;
    if (typeof settle !== 'boolean') throw new TypeError(`settle must be a boolean, got ${describe(settle)}`);
    if (this.closed !== undefined) throw new ClosedError('engine is closed');
    if (channels.engineBatch.hasSubscribers) return this.readObserved(paths, settle);
    return settle ? this.impl.readFiles(paths, true) : this.impl.readFiles(paths, false);
  }

  // Always settled underneath so the message counts every file; the caller still sees its own mode.
  private async readObserved(paths: readonly string[], settle: boolean): Promise<Buffer[] | PromiseSettledResult<Buffer>[]> {
    const t0 = performance.now();
    const results = await this.impl.readFiles(paths, true);
    let bytes = 0;
    let failed = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') bytes += r.value.length;
      else failed++;
    }
    const message: EngineBatchMessage = {
      backend: this.backend, files: paths.length, bytes, durationUs: Math.round((performance.now() - t0) * 1000), failed,
    };
    channels.engineBatch.publish(message);
    if (settle) return results;
    const buffers: Buffer[] = [];
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
      buffers.push(r.value);
    }
    return buffers;
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    checkPath('path', path);
    let bytes: Uint8Array;
    if (typeof data === 'string') bytes = Buffer.from(data, 'utf8');
    else if (data instanceof Uint8Array) bytes = data;
    else throw new TypeError(`data must be a string or a Uint8Array, got ${describe(data)}`);
    if (this.closed !== undefined) throw new ClosedError('engine is closed');
    return this.impl.writeFile(path, bytes);
  }

  async stat(path: string): Promise<FileStat> {
    checkPath('path', path);
    if (this.closed !== undefined) throw new ClosedError('engine is closed');
    return this.impl.stat(path);
  }

  /** In-flight operations complete or reject with ClosedError; idempotent. */
  close(): Promise<void> {
    this.closed ??= this.impl.close().finally(() => {
      this.releaseIdentity?.();
      this.releaseIdentity = undefined;
    });
    return this.closed;
  }
}
