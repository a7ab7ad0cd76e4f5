// The worker side of a WorkerPool: runs the handlers of the user's worker file (given with
// defineWorker, or exported piscina-style) one task at a time, honours cancels, and
// batches replies to the pool.

import { isMainThread, parentPort, receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { messageOf } from '../validate.js';
import { pinCurrentThread } from './pin.js';
import {
  Op, Outcome, serializeError, type InitMessage, type ReadyMessage, type Reply, type Request, type TraceCarrier,
} from './protocol.js';

export interface WorkerContext {
  /**
   * Aborts when the caller aborts this task while it runs; the worker itself carries on. The
   * cancel arrives as a message, so a handler sees it at its next await, not inside a sync loop.
   */
  readonly signal: AbortSignal;
  /** The `key` the task was run with. */
  readonly key: string | undefined;
  /**
   * The caller's trace context as W3C headers (`traceparent`, `tracestate`) when the pool's
   * thread has ringleader/otel instrumented; pass it to OpenTelemetry's `propagation.extract`
   * so spans made here join the caller's trace. Undefined otherwise.
   */
  readonly traceContext: TraceCarrier | undefined;
  /** Moves these buffers to the pool with the result instead of copying them. */
  transfer(...list: Transferable[]): void;
}

export type WorkerHandler<D = unknown, R = unknown> = (data: D, ctx: WorkerContext) => R | PromiseLike<R>;

/** A worker file's handlers: `default` runs tasks given no `name`. */
export type Handlers = ReadonlyMap<string, WorkerHandler>;

// A reply batch goes out when the worker is about to idle or await, or once it holds
// this many results or this many ms of them, so callers of long runs are not starved.
const FLUSH_COUNT = 64;
const FLUSH_MS = 1;

class Task implements WorkerContext {
  cancelled = false;
  transfers: Transferable[] | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  constructor(readonly id: number, readonly data: unknown, readonly key: string | undefined,
    readonly name: string | undefined, readonly traceContext: TraceCarrier | undefined) {}

  // Most handlers never look at the signal; building the controller lazily keeps tiny tasks cheap.
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.cancelled && !this.controller.signal.aborted) this.controller.abort(cancelReason());
    return this.controller.signal;
  }

  cancel(): void {
    this.cancelled = true;
    this.controller?.abort(cancelReason());
  }

  transfer(...list: Transferable[]): void {
    (this.transfers ??= []).push(...list);
  }
}

function cancelReason(): DOMException {
  return new DOMException('the task was aborted by its caller', 'AbortError');
}

class Runner {
  private readonly queue: Task[] = [];
  private running: Task | undefined = undefined;
  private replies: Reply[] = [];
  private transfers: Transferable[] = [];
  private firstReplyAt = 0;

  private readonly main: WorkerHandler | undefined;

  constructor(private readonly handlers: Handlers, private readonly port: MessagePort,
    private readonly started: Int32Array) {
    this.main = handlers.get('default');
  }

  accept(batch: Request[]): void {
    for (const req of batch) {
      if (req[0] === Op.Run) {
        this.queue.push(new Task(req[1], req[2], req[3], req[4], req[5]));
      } else if (this.running?.id === req[1]) {
        this.running.cancel();
      } else {
        // The pool keeps at most a small window in flight per worker, so this scan is short.
        const task = this.queue.find((t) => t.id === req[1]);
        if (task !== undefined) task.cancelled = true;
      }
    }
  }

  pump(): void {
    while (this.running === undefined) {
      // Picking up messages before each start lets a cancel overtake a task not yet begun.
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        this.accept(m.message as Request[]);
      }
      const task = this.queue.shift();
      if (task === undefined) break;
      if (task.cancelled) {
        this.reply([task.id, Outcome.Skipped], undefined);
        continue;
      }
      Atomics.store(this.started, 0, task.id);
      const t0 = performance.now();
      let out: unknown;
      try {
        out = this.handlerFor(task.name)(task.data, task);
      } catch (err) {
        this.reply([task.id, Outcome.Error, serializeError(err), performance.now() - t0], undefined);
        continue;
      }
      if (typeof (out as PromiseLike<unknown> | null)?.then === 'function') {
        this.running = task;
        this.flush();
        Promise.resolve(out).then(
          (value) => this.finish([task.id, Outcome.Ok, value, performance.now() - t0], task.transfers),
          (err: unknown) => this.finish([task.id, Outcome.Error, serializeError(err), performance.now() - t0], undefined),
        );
        return;
      }
      this.reply([task.id, Outcome.Ok, out, performance.now() - t0], task.transfers);
    }
    if (this.running === undefined) this.flush();
  }

  private handlerFor(name: string | undefined): WorkerHandler {
    const handler = name === undefined ? this.main : this.handlers.get(name);
    if (handler !== undefined) return handler;
    const names = [...this.handlers.keys()].join(', ');
    throw new TypeError(name === undefined
      ? `this worker file has no default handler; run(data, { name }) one of: ${names}`
      : `this worker file has no handler named ${JSON.stringify(name)}; it has: ${names}`);
  }

  private finish(reply: Reply, transfers: Transferable[] | undefined): void {
    this.running = undefined;
    this.reply(reply, transfers);
    this.pump();
  }

  private reply(reply: Reply, transfers: Transferable[] | undefined): void {
    if (this.replies.length === 0) this.firstReplyAt = performance.now();
    this.replies.push(reply);
    if (transfers !== undefined) this.transfers.push(...transfers);
    if (this.replies.length >= FLUSH_COUNT || performance.now() - this.firstReplyAt >= FLUSH_MS) this.flush();
  }

  flush(): void {
    if (this.replies.length === 0) return;
    const replies = this.replies;
    const transfers = this.transfers;
    this.replies = [];
    this.transfers = [];
    try {
      this.port.postMessage(replies, transfers);
    } catch {
      // One result that cannot be cloned must not sink the batch: resend one by one.
      for (const r of replies) this.postAlone(r);
    }
  }

  private postAlone(reply: Reply): void {
    try {
      this.port.postMessage([reply]);
    } catch (err) {
      const message = `the task's result cannot be cloned to the pool: ${messageOf(err)}`;
      const runMs = reply[1] === Outcome.Skipped ? 0 : reply[3];
      this.port.postMessage([[reply[0], Outcome.Error, serializeError(new TypeError(message)), runMs]]);
    }
  }
}

// The bootstrap leaves the pool's init here before it imports the user's file, so that a
// defineWorker() the file calls while loading (from any copy of this module) starts at once.
const INIT = Symbol.for('ringleader.workerInit');
interface InitSlot {
  init: InitMessage;
  started: boolean;
}
const slot = (): InitSlot | undefined => (globalThis as { [INIT]?: InitSlot })[INIT];

/** @internal The bootstrap hands over the pool's init message before loading the worker file. */
export function acceptInit(init: InitMessage): void {
  (globalThis as { [INIT]?: InitSlot })[INIT] = { init, started: false };
}

/** @internal Whether the worker file started itself with defineWorker(). */
export function workerStarted(): boolean {
  return slot()?.started === true;
}

/**
 * Makes this worker file a WorkerPool worker: `handler(data, { signal, key })` runs each task,
 * one at a time per worker (the next starts when an async handler settles); its return value
 * is the task's result, and what it throws rejects that task only. A file may instead export
 * its handler (default export or `module.exports`) and named ones, as with piscina.
 */
export function defineWorker<D = unknown, R = unknown>(handler: WorkerHandler<D, R>): void {
  if (typeof handler !== 'function') throw new TypeError('defineWorker(handler): handler must be a function');
  const pending = slot();
  if (isMainThread || parentPort === null || pending === undefined) {
    throw new Error('defineWorker() must run in a worker started by WorkerPool');
  }
  if (pending.started) throw new Error('defineWorker() was already called in this worker');
  startHandlers(new Map([['default', handler as WorkerHandler]]));
}

/** @internal Starts serving tasks with these handlers (once per worker). */
export function startHandlers(handlers: Handlers): void {
  const pending = slot()!;
  pending.started = true;
  const init = pending.init;
  const ready: ReadyMessage = { ready: init.core === null ? null : pinCurrentThread(init.core) };
  const runner = new Runner(handlers, init.port, new Int32Array(init.started));
  // A handler that calls process.exit() would otherwise take the batched results of the
  // tasks it ran before with it, and the pool would report those tasks as crashed.
  process.on('exit', () => runner.flush());
  init.port.on('message', (batch: Request[]) => {
    runner.accept(batch);
    runner.pump();
  });
  init.port.postMessage(ready);
}
