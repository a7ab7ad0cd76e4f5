// The js backend: the Engine API on fs.promises, for machines without the addon or
// without Linux. Reads run through one engine-wide bound (shards x queueDepth) so a
// 10,000-path readFiles never opens 10,000 files at once; errors are fs.promises' own.
import { readFile, stat as fsStat, writeFile as fsWriteFile } from 'node:fs/promises';
import { ClosedError } from '../errors.js';
import { ReadJob } from './read-job.js';
import type { EngineBackend, FileStat } from './types.js';

export class FallbackBackend implements EngineBackend {
  readonly name = 'js' as const;
  private readonly limit: number;
  private inFlight = 0;
  private closing = false;
  private idle: (() => void) | undefined;
  // Jobs with paths not yet started; `head` advances instead of shift() (O(1) ends).
  private waiting: ReadJob[] = [];
  private head = 0;

  constructor(options: { shards: number; queueDepth: number }) {
    this.limit = options.shards * options.queueDepth;
  }

  readFiles(paths: readonly string[], settle: false): Promise<Buffer[]>;
  readFiles(paths: readonly string[], settle: true): Promise<PromiseSettledResult<Buffer>[]>;
  readFiles(paths: readonly string[], settle: boolean): Promise<Buffer[] | PromiseSettledResult<Buffer>[]> {
    if (paths.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiting.push(new ReadJob(paths, settle, resolve, reject));
      this.pump();
    });
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.track(fsWriteFile(path, data));
  }

  async stat(path: string): Promise<FileStat> {
    const s = await this.track(fsStat(path));
    return { size: s.size, mtimeMs: s.mtimeMs, isFile: s.isFile(), isDirectory: s.isDirectory() };
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      for (let i = this.head; i < this.waiting.length; i++) {
        this.waiting[i]!.drop(() => new ClosedError('engine closed before the read started'));
      }
      this.waiting = [];
      this.head = 0;
    }
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const previous = this.idle;
      this.idle = () => {
        previous?.();
        resolve();
      };
    });
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight++;
    return promise.finally(() => this.finished());
  }

  private finished(): void {
    this.inFlight--;
    if (!this.closing) this.pump();
    if (this.inFlight === 0 && this.idle !== undefined) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }

  private pump(): void {
    while (this.inFlight < this.limit && this.head < this.waiting.length) {
      const job = this.waiting[this.head]!;
      if (job.done || job.next === job.paths.length) {
        this.head++;
        if (this.head === this.waiting.length) {
          this.waiting = [];
          this.head = 0;
        }
        continue;
      }
      const index = job.next++;
      this.inFlight++;
      readFile(job.paths[index]!).then(
        (value) => job.settleOne(index, value),
        (reason: unknown) => job.settleOne(index, undefined, reason),
      ).finally(() => this.finished());
    }
  }
}
