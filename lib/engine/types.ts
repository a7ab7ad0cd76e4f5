// Shapes shared by the Engine facade and its backends. A backend is what actually moves
// bytes (native shards or fs.promises); the Engine validates, picks one and delegates.

export type BackendName = 'io_uring' | 'threads' | 'js';
export type BackendChoice = 'auto' | BackendName;

export interface EngineOptions {
  /** Which backend to run; `auto` tries io_uring, then threads, then js. Default 'auto'. */
  backend?: BackendChoice;
  /** Native shard threads (ignored by `js`, where it scales the concurrency bound). */
  shards?: number;
  /** Pin each shard thread to its own CPU. Default: true when a core is left for the JS thread. */
  pin?: boolean;
  /** Operations in flight per shard at once. Default 64. */
  queueDepth?: number;
}

export interface FileStat {
  size: number;
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

export interface ReadFilesOptions {
  /** Report every file as `{ status, value | reason }` instead of rejecting on the first error. */
  settle?: boolean;
}

/** What every backend implements; paths and data arrive already validated. */
export interface EngineBackend {
  readonly name: BackendName;
  readFiles(paths: readonly string[], settle: false): Promise<Buffer[]>;
  readFiles(paths: readonly string[], settle: true): Promise<PromiseSettledResult<Buffer>[]>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  stat(path: string): Promise<FileStat>;
  /** In-flight operations finish or reject with ClosedError; resolves when none is left. */
  close(): Promise<void>;
}
