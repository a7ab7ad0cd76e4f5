// The typed refusal a pool worker's death produces: each task that was running on the
// worker, had moved its transferList to it, or waits for a worker that cannot start
// rejects with it, and nothing else does.

import { RingleaderError } from '../errors.js';

/** A pool worker died (process.exit, an uncaught error, out of memory) or failed to start. */
export class WorkerCrashedError extends RingleaderError {
  /** Index of the worker slot; the replacement keeps it, so key routing is unchanged. */
  readonly worker: number;
  /** The worker thread's exit code. */
  readonly exitCode: number;

  constructor(message: string, worker: number, exitCode: number, options?: { cause?: unknown }) {
    super('ERR_WORKER_CRASHED', message, options);
    this.worker = worker;
    this.exitCode = exitCode;
  }
}
