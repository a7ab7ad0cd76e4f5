// Every timer in the library is armed here. setTimeout turns a delay above 2^31−1 ms (or
// Infinity) into 1 ms with a TimeoutOverflowWarning; here Infinity arms nothing and a
// longer delay is chained, so a 30-day Retry-After pause lasts 30 days.

/** The longest delay one setTimeout keeps (a signed 32-bit count of ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What setTimer hands back: Node's own Timeout for delays it can hold, a chain for longer ones. */
export interface TimerHandle {
  ref(): unknown;
  unref(): unknown;
}

// A delay past MAX_TIMER_MS, as a run of full-length timers and a last, shorter one.
class ChainedTimer implements TimerHandle {
  private handle: ReturnType<typeof setTimeout>;
  private left: number;
  private refed = true;

  constructor(private readonly fn: () => void, ms: number) {
    this.left = ms;
    this.handle = this.arm();
  }

  ref(): this {
    this.refed = true;
    this.handle.ref();
    return this;
  }

  unref(): this {
    this.refed = false;
    this.handle.unref();
    return this;
  }

  clear(): void {
    clearTimeout(this.handle);
  }

  private arm(): ReturnType<typeof setTimeout> {
    const step = Math.min(this.left, MAX_TIMER_MS);
    this.left -= step;
    const handle = setTimeout(() => {
      if (this.left > 0) this.handle = this.arm();
      else this.fn();
    }, step);
    if (!this.refed) handle.unref();
    return handle;
  }
}

/**
 * Calls `fn` once, `ms` from now: never sooner, however long. Infinity arms nothing and
 * returns undefined. A negative or NaN delay is a bug at the call site (each validates
 * what it takes in): RangeError.
 */
export function setTimer(fn: () => void, ms: number): TimerHandle | undefined {
  if (!(ms >= 0)) throw new RangeError(`timer delay must be >= 0 ms, got ${ms}`);
  if (ms === Infinity) return undefined;
  return ms <= MAX_TIMER_MS ? setTimeout(fn, ms) : new ChainedTimer(fn, ms);
}

export function clearTimer(handle: TimerHandle | undefined): void {
  if (handle === undefined) return;
  if (handle instanceof ChainedTimer) handle.clear();
  else clearTimeout(handle as ReturnType<typeof setTimeout>);
}
