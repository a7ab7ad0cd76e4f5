// Test helpers: deferred promises for gating tasks, and a flush of pending microtasks.

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and immediate run (works under fake timers too: setImmediate is not faked). */
export function flush(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Tracks how many tasks run at once, overall and per key. */
export class Gauge {
  now = 0;
  max = 0;
  byKey = new Map<string, number>();
  maxByKey = 0;

  enter(key?: string): void {
    this.now++;
    this.max = Math.max(this.max, this.now);
    if (key !== undefined) {
      const n = (this.byKey.get(key) ?? 0) + 1;
      this.byKey.set(key, n);
      this.maxByKey = Math.max(this.maxByKey, n);
    }
  }

  leave(key?: string): void {
    this.now--;
    if (key !== undefined) this.byKey.set(key, this.byKey.get(key)! - 1);
  }
}
