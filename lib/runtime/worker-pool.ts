// A pool of worker threads, one per core by default and optionally pinned, with keyed
// routing (same key → same worker, across crashes), bounded per-worker queues, cancellation
// that never kills a worker, and crash isolation that rejects only the tasks that were running.

import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort, type ResourceLimits, type Transferable } from 'node:worker_threads';
import { channels, traceCarrier, type PoolTaskMessage } from '../diagnostics.js';
import { ClosedError, DroppedError, QueueFullError } from '../errors.js';
import { captureContext, type Runner } from '../scheduler/context.js';
import { List, type Linked } from '../scheduler/list.js';
import type { OnFull } from '../scheduler/scheduler.js';
import { abortReason, checkInteger, checkObject, checkSignal, describe, messageOf } from '../validate.js';
import { WorkerCrashedError } from './crashed-error.js';
import { Histogram, type HistogramSummary } from './histogram.js';
import { allowedCores, type PinResult } from './pin.js';
import {
  deserializeError, Op, Outcome, type InitMessage, type ReadyMessage, type Reply, type Request, type TraceCarrier,
} from './protocol.js';

export interface WorkerPoolOptions {
  /** The worker file (a path, relative to the cwd, or a file: URL); it must call `defineWorker(handler)`. */
  filename: string | URL;
  /** Worker threads. Default: the cores this process may use (`os.availableParallelism()`). */
  threads?: number;
  /** Pin worker i to the i-th allowed core (modulo their count) through the native addon. Default false. */
  pin?: boolean;
  /** Tasks per worker that may wait behind the running one (queued here or handed over). Default 100_000. */
  maxQueued?: number;
  /** What `run()` does when the chosen worker's queue is full. Default 'reject'. */
  onFull?: OnFull;
  /** Heap limits per worker; a worker that exceeds them crashes and is replaced. */
  resourceLimits?: ResourceLimits;
  /** Passed to every worker as `worker_threads.workerData`. */
  workerData?: unknown;
}

export interface PoolRunOptions {
  /** Tasks with the same key always run on the same worker, so per-key state stays warm. */
  key?: string;
  /** Removes a queued task at once; aborts the handler's `signal` in the worker if it runs. */
  signal?: AbortSignal;
  /** Moved to the worker instead of copied; they are unusable in this thread afterwards. */
  transferList?: readonly Transferable[];
  /** Which exported function of the worker file runs the task (piscina's `name`). Default: its default export. */
  name?: string;
}

export interface WorkerStats {
  index: number;
  threadId: number;
  /** `{ core }` when pinned, `{ refused }` with the reason when pinning failed, null when not asked. */
  pin: PinResult | null;
  /** Tasks not yet started: in this worker's queue or handed to it but not begun. */
  queued: number;
  running: number;
  /** Callers waiting for room in a full queue (`onFull: 'wait'`). */
  waiting: number;
  completed: number;
  failed: number;
  /** Times this slot's worker died and was replaced. */
  crashes: number;
  /** Time inside the handler. */
  runTime: HistogramSummary;
  /** Time from `run()` to the end of the task, less its run time: queueing plus transport. */
  waitTime: HistogramSummary;
}

export interface WorkerPoolStats {
  threads: number;
  queued: number;
  running: number;
  waiting: number;
  completed: number;
  failed: number;
  /** Refused at `run()`: queue full or pool closed. */
  rejected: number;
  dropped: number;
  /** Aborted by their signal before they settled. */
  cancelled: number;
  crashes: number;
  workers: WorkerStats[];
}

// Tasks a worker holds at once. Enough to keep it busy while replies travel back; small
// enough that a cancel usually overtakes a task before it starts.
const WINDOW = 64;
// Every worker starts in the bootstrap, which loads the user's file. Run from the TypeScript
// sources (the tests do), the compiled one in dist/ stands in: a worker cannot load .ts.
const BOOTSTRAP = ((): URL => {
  const here = new URL('./bootstrap.js', import.meta.url);
  return existsSync(here) ? here : new URL('../../dist/runtime/bootstrap.js', import.meta.url);
})();
const ON_FULL: readonly OnFull[] = ['reject', 'wait', 'drop-oldest'];

const enum State { Waiting, Queued, InFlight }

const direct: Runner = (fn, ...args) => fn(...args);

function publishTask(task: PoolTask, worker: number, ok: boolean, value: unknown): void {
  const cancelled = !ok && task.signal?.aborted === true && value === task.signal.reason;
  const message: PoolTaskMessage = {
    worker, threadId: task.slot.threadId, key: task.key, name: task.name,
    queueWait: Math.max(0, performance.now() - task.submitted - task.runTime), runTime: task.runTime,
    outcome: ok ? 'completed' : cancelled ? 'cancelled' : 'failed', error: ok ? undefined : value,
  };
  channels.poolTask.publish(message);
}

class PoolTask implements Linked {
  next: Linked | undefined = undefined;
  prev: Linked | undefined = undefined;
  id = 0;
  state = State.Queued;
  settled = false;
  // Its transferList went to a worker: the data is gone from this thread.
  moved = false;
  onAbort: (() => void) | undefined = undefined;
  readonly submitted = performance.now();
  // Only while 'ringleader:pool-task' has subscribers: the caller's async context, where the
  // settled task is published, and the handler's run time from the worker's reply.
  observed: Runner | false = false;
  runTime = 0;
  /** The caller's trace context, when an observer asked for it to be carried to the worker. */
  trace: TraceCarrier | undefined = undefined;

  constructor(readonly slot: Slot, readonly data: unknown, readonly key: string | undefined,
    readonly transferList: readonly Transferable[] | undefined, readonly signal: AbortSignal | undefined,
    readonly name: string | undefined,
    readonly resolve: (value: unknown) => void, readonly reject: (reason: unknown) => void) {}
}

class Slot {
  worker: Worker | undefined = undefined;
  port: MessagePort | undefined = undefined;
  started: Int32Array<ArrayBufferLike> = new Int32Array(1);
  ready = false;
  seq = 0;
  lastError: unknown = undefined;
  starting: { resolve: () => void; reject: (err: Error) => void } | undefined = undefined;
  readonly queue = new List<PoolTask>();
  readonly waiting = new List<PoolTask>();
  // Insertion order is dispatch order, which the crash handler relies on.
  readonly inFlight = new Map<number, PoolTask>();
  outbox: Request[] = [];
  outTransfers: Transferable[] = [];
  flushQueued = false;
  pin: PinResult | null = null;
  threadId = -1;
  completed = 0;
  failed = 0;
  crashes = 0;
  readonly runTime = new Histogram();
  readonly waitTime = new Histogram();

  constructor(readonly index: number) {}

  hasStarted(id: number): boolean {
    // Ids wrap at 2^31; the window is tiny, so the signed difference orders them.
    return ((id - Atomics.load(this.started, 0)) | 0) <= 0;
  }
}

interface Normalized {
  path: string;
  threads: number;
  cores: number[] | null;
  maxQueued: number;
  onFull: OnFull;
  resourceLimits: ResourceLimits | undefined;
  workerData: unknown;
}

/**
 * Opened with `WorkerPool.open()`. An idle pool does not keep the process alive; one with
 * work in hand does, until its tasks settle or `close()` finishes.
 */
export class WorkerPool {
  private readonly slots: Slot[];
  private pending = 0;
  private next = 0;
  private closed = false;
  private terminating = false;
  private closing: Promise<void> | undefined = undefined;
  private onClosed: (() => void) | undefined = undefined;
  private dirty: Slot[] = [];
  private flushScheduled = false;
  private rejected = 0;
  private dropped = 0;
  private cancelled = 0;
  private crashes = 0;

  /** Starts the workers and resolves once every one is ready (and pinned, when asked). */
  static async open(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(normalize(options));
    try {
      await Promise.all(pool.slots.map((slot) => new Promise<void>((resolve, reject) => {
        slot.starting = { resolve, reject };
        pool.spawn(slot);
      })));
    } catch (err) {
      await pool.terminate();
      throw err;
    }
    for (const slot of pool.slots) slot.starting = undefined;
    return pool;
  }

  private constructor(private readonly options: Normalized) {
    this.slots = Array.from({ length: options.threads }, (_, i) => new Slot(i));
  }

  /**
   * Runs `data` through the worker's handler and settles with its result or its error (name,
   * message, code and stack rebuilt). Data that cannot be cloned or transferred rejects that
   * task alone with a TypeError whose `cause` is the DataCloneError.
   */
  run<T = unknown>(data: unknown, options?: PoolRunOptions): Promise<T> {
    let key: string | undefined;
    let signal: AbortSignal | undefined;
    let transferList: readonly Transferable[] | undefined;
    let name: string | undefined;
    // Bad options reject, as Scheduler.run's do: a caller awaiting run() sees one error path.
    if (options !== undefined) {
      try {
        checkObject('options', options);
        key = options.key;
        if (key !== undefined && typeof key !== 'string') throw new TypeError(`key must be a string, got ${describe(key)}`);
        signal = checkSignal('signal', options.signal);
        transferList = options.transferList;
        if (transferList !== undefined && !Array.isArray(transferList)) {
          throw new TypeError(`transferList must be an array, got ${describe(transferList)}`);
        }
        name = options.name;
        if (name !== undefined && (typeof name !== 'string' || name === '')) {
          throw new TypeError(`name must be a non-empty string, got ${describe(name)}`);
        }
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.closed) {
      this.rejected++;
      return Promise.reject(new ClosedError('worker pool is closed'));
    }
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    const slot = key === undefined ? this.leastLoaded() : this.slots[hashKey(key) % this.slots.length]!;
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res as (value: unknown) => void;
      reject = rej;
    });
    const task = new PoolTask(slot, data, key, transferList, signal, name, resolve, reject);
    if (channels.poolTask.hasSubscribers) {
      task.observed = captureContext() ?? direct;
      task.trace = traceCarrier();
    }
    this.admit(slot, task);
    return promise;
  }

  stats(): WorkerPoolStats {
    const total: WorkerPoolStats = {
      threads: this.slots.length, queued: 0, running: 0, waiting: 0, completed: 0, failed: 0,
      rejected: this.rejected, dropped: this.dropped, cancelled: this.cancelled, crashes: this.crashes, workers: [],
    };
    for (const slot of this.slots) {
      let running = 0;
      let handedOver = 0;
      for (const [id, task] of slot.inFlight) {
        if (task.settled) continue;
        if (slot.hasStarted(id)) running++;
        else handedOver++;
      }
      const w: WorkerStats = {
        index: slot.index, threadId: slot.threadId, pin: slot.pin,
        queued: slot.queue.size + handedOver, running, waiting: slot.waiting.size,
        completed: slot.completed, failed: slot.failed, crashes: slot.crashes,
        runTime: slot.runTime.summary(), waitTime: slot.waitTime.summary(),
      };
      total.queued += w.queued;
      total.running += w.running;
      total.waiting += w.waiting;
      total.completed += w.completed;
      total.failed += w.failed;
      total.workers.push(w);
    }
    return total;
  }

  /** Refuses new tasks, lets every queued and running task settle, then stops the workers. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closed = true;
      this.closing = new Promise((resolve) => {
        this.onClosed = resolve;
      });
      this.checkDrained();
    }
    return this.closing;
  }

  private leastLoaded(): Slot {
    const n = this.slots.length;
    // Scanning from a rotating start spreads ties instead of piling them on worker 0.
    const first = this.next;
    this.next = first + 1 === n ? 0 : first + 1;
    let best = this.slots[first]!;
    let bestLoad = load(best);
    for (let k = 1; k < n && bestLoad > 0; k++) {
      const slot = this.slots[(first + k) % n]!;
      const l = load(slot);
      if (l < bestLoad) {
        best = slot;
        bestLoad = l;
      }
    }
    return best;
  }

  private admit(slot: Slot, task: PoolTask): void {
    const hasRoom = slot.waiting.size === 0 && occupancy(slot) <= this.options.maxQueued;
    if (!hasRoom) {
      const policy = this.options.onFull;
      if (policy === 'reject' || (policy === 'wait' && slot.waiting.size >= Math.max(this.options.maxQueued, 1))) {
        this.rejected++;
        task.reject(new QueueFullError(`worker ${slot.index}'s queue is full (${this.options.maxQueued} tasks waiting)`));
        return;
      }
      if (policy === 'drop-oldest' && !this.dropOldest(slot)) {
        this.dropped++;
        task.reject(new DroppedError(`dropped: worker ${slot.index} is busy and maxQueued is ${this.options.maxQueued}`));
        return;
      }
    }
    this.track(task);
    if (hasRoom || this.options.onFull === 'drop-oldest') {
      slot.queue.push(task);
    } else {
      task.state = State.Waiting;
      slot.waiting.push(task);
    }
    if (slot.worker === undefined && !this.terminating) this.spawn(slot);
    this.dispatch(slot);
  }

  // The oldest task not yet begun may already sit in the worker's window: cancel it there.
  private dropOldest(slot: Slot): boolean {
    let victim = slot.queue.shift();
    if (victim === undefined) {
      for (const [id, task] of slot.inFlight) {
        if (!task.settled && !slot.hasStarted(id)) {
          victim = task;
          slot.outbox.push([Op.Cancel, id]);
          this.scheduleFlush(slot);
          break;
        }
      }
    }
    if (victim === undefined) return false;
    this.dropped++;
    this.settle(victim, false, new DroppedError());
    return true;
  }

  private track(task: PoolTask): void {
    if (this.pending++ === 0) this.applyRef();
    if (task.signal !== undefined) {
      task.onAbort = () => this.abort(task);
      task.signal.addEventListener('abort', task.onAbort, { once: true });
    }
  }

  private settle(task: PoolTask, ok: boolean, value: unknown): void {
    if (task.settled) return;
    task.settled = true;
    if (task.onAbort !== undefined) task.signal!.removeEventListener('abort', task.onAbort);
    if (ok) task.resolve(value);
    else task.reject(value);
    if (task.observed !== false) task.observed(publishTask, task, this.slots.indexOf(task.slot), ok, value);
    if (--this.pending === 0) {
      this.applyRef();
      this.checkDrained();
    }
  }

  private abort(task: PoolTask): void {
    if (task.settled) return;
    const slot = task.slot;
    if (task.state === State.Waiting) {
      slot.waiting.remove(task);
    } else if (task.state === State.Queued) {
      slot.queue.remove(task);
      this.dispatch(slot);
    } else {
      // Stays in flight until the worker answers: the worker is busy with it until then.
      slot.outbox.push([Op.Cancel, task.id]);
      this.scheduleFlush(slot);
    }
    this.cancelled++;
    this.settle(task, false, abortReason(task.signal!));
  }

  private admitWaiting(slot: Slot): void {
    while (slot.waiting.size > 0 && occupancy(slot) <= this.options.maxQueued) {
      const task = slot.waiting.shift()!;
      task.state = State.Queued;
      slot.queue.push(task);
    }
  }

  private dispatch(slot: Slot): void {
    this.admitWaiting(slot);
    if (!slot.ready) return;
    while (slot.inFlight.size < WINDOW) {
      const task = slot.queue.shift();
      if (task === undefined) break;
      slot.seq = (slot.seq + 1) | 0;
      task.id = slot.seq;
      task.state = State.InFlight;
      slot.inFlight.set(task.id, task);
      if (task.trace !== undefined) slot.outbox.push([Op.Run, task.id, task.data, task.key, task.name, task.trace]);
      else slot.outbox.push(task.name === undefined ? [Op.Run, task.id, task.data, task.key] : [Op.Run, task.id, task.data, task.key, task.name]);
      if (task.transferList !== undefined) slot.outTransfers.push(...task.transferList);
    }
    if (slot.outbox.length > 0) this.scheduleFlush(slot);
  }

  // Everything a turn hands to one worker goes in one postMessage.
  private scheduleFlush(slot: Slot): void {
    if (slot.flushQueued) return;
    slot.flushQueued = true;
    this.dirty.push(slot);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushAll);
    }
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const slot of dirty) {
      slot.flushQueued = false;
      const batch = slot.outbox;
      const transfers = slot.outTransfers;
      slot.outbox = [];
      slot.outTransfers = [];
      if (slot.port === undefined || batch.length === 0) continue;
      try {
        slot.port.postMessage(batch, transfers);
        if (transfers.length > 0) this.markMoved(slot, batch);
      } catch {
        // One task's data that cannot be cloned must not sink the others: resend one by one.
        for (const req of batch) this.postAlone(slot, slot.port, req);
      }
    }
  };

  private markMoved(slot: Slot, batch: Request[]): void {
    for (const req of batch) {
      if (req[0] !== Op.Run) continue;
      const task = slot.inFlight.get(req[1]);
      if (task?.transferList !== undefined && task.transferList.length > 0) task.moved = true;
    }
  }

  private postAlone(slot: Slot, port: MessagePort, req: Request): void {
    const task = req[0] === Op.Run ? slot.inFlight.get(req[1]) : undefined;
    try {
      port.postMessage([req], task?.transferList ?? []);
      if (task?.transferList !== undefined && task.transferList.length > 0) task.moved = true;
    } catch (err) {
      if (task === undefined) return;
      slot.inFlight.delete(task.id);
      if (task.settled) return;
      slot.failed++;
      const message = `pool.run(): the task's data cannot be sent to a worker: ${messageOf(err)}`;
      this.settle(task, false, new TypeError(message, { cause: err }));
      this.dispatch(slot);
    }
  }

  private onReplies(slot: Slot, replies: Reply[]): void {
    this.settleReplies(slot, replies);
    this.dispatch(slot);
  }

  private settleReplies(slot: Slot, replies: Reply[]): void {
    const now = performance.now();
    for (const r of replies) {
      const task = slot.inFlight.get(r[0]);
      if (task === undefined) continue;
      slot.inFlight.delete(r[0]);
      if (r[1] === Outcome.Skipped || task.settled) continue;
      slot.runTime.record(r[3]);
      task.runTime = r[3];
      slot.waitTime.record(Math.max(0, now - task.submitted - r[3]));
      if (r[1] === Outcome.Ok) {
        slot.completed++;
        this.settle(task, true, r[2]);
      } else {
        slot.failed++;
        this.settle(task, false, deserializeError(r[2]));
      }
    }
  }

  private spawn(slot: Slot): void {
    const { port1, port2 } = new MessageChannel();
    const started = new SharedArrayBuffer(4);
    const worker = new Worker(BOOTSTRAP, {
      workerData: this.options.workerData,
      // Workers inherit execArgv, and --input-type (from `node -e`) makes a file worker fail to load.
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type')),
      ...(this.options.resourceLimits === undefined ? {} : { resourceLimits: this.options.resourceLimits }),
    });
    slot.worker = worker;
    slot.port = port1;
    slot.started = new Int32Array(started);
    slot.ready = false;
    slot.seq = 0;
    slot.lastError = undefined;
    const cores = this.options.cores;
    const init: InitMessage = {
      ringleaderInit: true, port: port2, started, core: cores === null ? null : cores[slot.index % cores.length]!,
      filename: this.options.path,
    };
    worker.postMessage(init, [port2]);
    port1.on('message', (message: Reply[] | ReadyMessage) => {
      // Ids restart with each worker: a straggler from a dead one must not settle new tasks.
      if (slot.port !== port1) return;
      if (Array.isArray(message)) this.onReplies(slot, message);
      else this.onReady(slot, worker, message);
    });
    // A reply batch that cannot be deserialized here names none of the tasks it carried.
    // Treat the worker as crashed so each of them settles (WorkerCrashedError, with this
    // as the cause) instead of waiting forever; a replacement takes its queue.
    port1.on('messageerror', (err) => {
      if (slot.port !== port1) return;
      slot.lastError = err;
      void worker.terminate();
    });
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.once('exit', (code) => this.onExit(slot, worker, code));
  }

  private onReady(slot: Slot, worker: Worker, message: ReadyMessage): void {
    slot.ready = true;
    slot.pin = message.ready;
    slot.threadId = worker.threadId;
    slot.starting?.resolve();
    this.applyRef();
    this.dispatch(slot);
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    // Replies the worker posted just before it died may still sit in the port: tasks that
    // finished settle with their results, not as crashed.
    const port = slot.port;
    while (port !== undefined && slot.port === port) {
      const m = receiveMessageOnPort(port);
      if (m === undefined) break;
      if (Array.isArray(m.message)) this.settleReplies(slot, m.message as Reply[]);
    }
    slot.worker = undefined;
    slot.port?.close();
    slot.port = undefined;
    if (this.terminating) return;
    const cause = slot.lastError;
    const why = cause instanceof Error ? cause.message : `exit code ${code}`;
    if (!slot.ready) {
      const err = new WorkerCrashedError(
        `worker ${slot.index} failed to start from ${this.options.path} (${cause === undefined ? `it exited with code ${code} before it was ready` : why})`,
        slot.index, code, { cause });
      if (slot.starting !== undefined) {
        slot.starting.reject(err);
        return;
      }
      // A replacement that cannot start would crash in a loop: fail what waits for it, and
      // try again only when new work arrives for this slot.
      for (let t = slot.queue.shift(); t !== undefined; t = slot.queue.shift()) this.settle(t, false, err);
      for (let t = slot.waiting.shift(); t !== undefined; t = slot.waiting.shift()) this.settle(t, false, err);
      return;
    }
    slot.ready = false;
    slot.crashes++;
    this.crashes++;
    const err = new WorkerCrashedError(`worker ${slot.index} crashed while running this task (${why})`, slot.index, code, { cause });
    const notStarted: PoolTask[] = [];
    for (const [id, task] of slot.inFlight) {
      if (task.settled) continue;
      if (slot.hasStarted(id)) {
        slot.failed++;
        this.settle(task, false, err);
      } else if (task.moved) {
        // Running it again would hand the replacement detached, empty buffers.
        slot.failed++;
        this.settle(task, false, new WorkerCrashedError(
          `worker ${slot.index} crashed (${why}) holding this task's transferred data before it started`, slot.index, code, { cause }));
      } else {
        notStarted.push(task);
      }
    }
    slot.inFlight.clear();
    slot.outbox = [];
    slot.outTransfers = [];
    for (let k = notStarted.length - 1; k >= 0; k--) {
      notStarted[k]!.state = State.Queued;
      slot.queue.unshift(notStarted[k]!);
    }
    // The crash may have settled the last task of a closing pool, which is now terminating.
    if (!this.terminating) this.spawn(slot);
  }

  // An idle pool must not keep the process alive; a busy or starting one must.
  private applyRef(): void {
    for (const slot of this.slots) {
      if (slot.worker === undefined) continue;
      if (this.pending > 0 || !slot.ready) {
        slot.worker.ref();
        slot.port?.ref();
      } else {
        slot.worker.unref();
        slot.port?.unref();
      }
    }
  }

  private checkDrained(): void {
    if (!this.closed || this.pending > 0 || this.terminating) return;
    void this.terminate().then(this.onClosed);
  }

  private async terminate(): Promise<void> {
    this.terminating = true;
    await Promise.all(this.slots.map(async (slot) => {
      const worker = slot.worker;
      slot.worker = undefined;
      slot.port?.close();
      slot.port = undefined;
      if (worker !== undefined) await worker.terminate();
    }));
  }
}

function load(slot: Slot): number {
  return slot.queue.size + slot.waiting.size + slot.inFlight.size;
}

// Admitted tasks a worker owes: queued here or handed over. One of them may be running, so
// `maxQueued` more than the running one fit.
function occupancy(slot: Slot): number {
  return slot.queue.size + slot.inFlight.size;
}

// FNV-1a: cheap, and stable across processes and versions, so a key's worker index only
// depends on the thread count.
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function normalize(options: WorkerPoolOptions): Normalized {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`WorkerPool.open() options must be an object, got ${describe(options)}`);
  }
  const threads = options.threads === undefined ? availableParallelism() : checkInteger('threads', options.threads, 1);
  if (options.pin !== undefined && typeof options.pin !== 'boolean') {
    throw new TypeError(`pin must be a boolean, got ${describe(options.pin)}`);
  }
  const maxQueued = options.maxQueued === undefined ? 100_000 : checkInteger('maxQueued', options.maxQueued, 0, true);
  const onFull = options.onFull ?? 'reject';
  if (!ON_FULL.includes(onFull)) throw new TypeError(`onFull must be one of ${ON_FULL.join(', ')}, got ${describe(onFull)}`);
  checkObject('resourceLimits', options.resourceLimits);
  return {
    path: workerPath(options.filename), threads, cores: options.pin === true ? allowedCores() : null,
    maxQueued, onFull, resourceLimits: options.resourceLimits, workerData: options.workerData,
  };
}

// A missing file would otherwise surface later as an opaque worker 'error' event.
function workerPath(filename: unknown): string {
  let path: string;
  if (filename instanceof URL || (typeof filename === 'string' && filename.startsWith('file:'))) {
    path = fileURLToPath(filename);
  } else if (typeof filename === 'string' && filename !== '') {
    path = resolvePath(filename);
  } else {
    throw new TypeError(`filename must be a path or a file: URL, got ${describe(filename)}`);
  }
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    // Reported below with the resolved path, which is what the user needs to see.
  }
  if (!isFile) throw new TypeError(`filename must name an existing worker file, got ${path}`);
  return path;
}
