// FIFO of callers waiting for a resource that refills with time (a token bucket, a set
// of rate windows). One timer at a time, armed for the head only and only while someone
// waits; aborted waiters leave at once and their abort listener goes with them.

import { QueueFullError } from '../errors.js';
import { clearTimer, setTimer, type TimerHandle } from '../timer.js';
import { abortReason } from '../validate.js';

/** What the queue waits on: how long until `req` could be granted, and granting it. */
export interface Refilling<R> {
  /** ms until `req` can be granted; 0 when it can be granted now. */
  wait(req: R): number;
  grant(req: R): void;
}

interface Waiter<R> {
  next: Waiter<R> | undefined;
  prev: Waiter<R> | undefined;
  req: R;
  resolve: () => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}


export class WaitQueue<R> {
  private head: Waiter<R> | undefined;
  private tail: Waiter<R> | undefined;
  private count = 0;
  private timer: TimerHandle | undefined;

  constructor(private readonly source: Refilling<R>, private readonly maxWaiting: number, private readonly label: string) {}

  get size(): number {
    return this.count;
  }

  /** Joins the back of the queue; resolves once granted, in arrival order. */
  enqueue(req: R, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.count >= this.maxWaiting) {
      return Promise.reject(new QueueFullError(`${this.label}: ${this.count} takers already waiting`));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter<R> = { next: undefined, prev: this.tail, req, resolve, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          const wasHead = w === this.head;
          this.unlink(w);
          reject(abortReason(signal));
          if (wasHead) this.drain();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      if (this.tail === undefined) this.head = w;
      else this.tail.next = w;
      this.tail = w;
      this.count++;
      if (this.count === 1) this.drain();
    });
  }

  /**
   * Grants every waiter that can go now, in order, then arms one timer for the new head.
   * Call it whenever the source may have changed (refund, pause, a timer firing).
   */
  drain(): void {
    clearTimer(this.timer);
    this.timer = undefined;
    for (let w = this.head; w !== undefined; w = this.head) {
      const ms = this.source.wait(w.req);
      if (ms > 0) {
        // Rounded up: waking early only to go back to sleep costs a wakeup per waiter.
        this.timer = setTimer(() => {
          this.timer = undefined;
          this.drain();
        }, Math.ceil(ms));
        return;
      }
      this.unlink(w);
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      this.source.grant(w.req);
      w.resolve();
    }
  }

  private unlink(w: Waiter<R>): void {
    if (w.prev === undefined) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.next = undefined;
    w.prev = undefined;
    this.count--;
  }
}
