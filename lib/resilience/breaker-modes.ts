// What opens a closed circuit, one small counter per breaker mode: failures within a time
// window, consecutive failures, a failure ratio over the last N calls or over a sliding
// stretch of time. Each holds bounded memory whatever the traffic, and no timer.

import { checkNumber, describe } from '../validate.js';

export type BreakerMode = 'window' | 'consecutive' | 'count' | 'sampling';

export interface FailureCounter {
  /** A call succeeded while the circuit was closed. */
  success(now: number): void;
  /** A call failed, and counts, while the circuit was closed: true when it should open. */
  failure(now: number): boolean;
  /** The circuit closed: start afresh. */
  reset(): void;
}

/** The mode-specific options, as the breaker was given them. */
export interface ModeOptions {
  mode?: BreakerMode;
  failureThreshold?: number;
  windowMs?: number;
  threshold?: number;
  size?: number;
  minimumCalls?: number;
  duration?: number;
  minimumRps?: number;
}

const MODES: readonly BreakerMode[] = ['window', 'consecutive', 'count', 'sampling'];
const FIELDS: Record<BreakerMode, ReadonlyArray<keyof ModeOptions>> = {
  window: ['failureThreshold', 'windowMs'],
  consecutive: ['failureThreshold'],
  count: ['threshold', 'size', 'minimumCalls'],
  sampling: ['threshold', 'duration', 'minimumRps'],
};
const ALL_FIELDS = [...new Set(Object.values(FIELDS).flat())];

/** Checks the options of `mode` (and that none of another mode's were given) and builds its counter. */
export function makeCounter(options: ModeOptions): { mode: BreakerMode; counter: FailureCounter; failureThreshold: number | undefined; windowMs: number | undefined } {
  const mode = options.mode ?? 'window';
  if (!MODES.includes(mode)) throw new TypeError(`mode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${describe(mode)}`);
  // A field of another mode is a mistake to report, not a setting to ignore silently.
  for (const field of ALL_FIELDS) {
    if (options[field] !== undefined && !FIELDS[mode].includes(field)) {
      throw new TypeError(`${field} does not apply to a breaker in mode '${mode}'`);
    }
  }
  if (mode === 'window' || mode === 'consecutive') {
    const failureThreshold = checkNumber('failureThreshold', options.failureThreshold, 1, { integer: true });
    if (mode === 'consecutive') return { mode, counter: new Consecutive(failureThreshold), failureThreshold, windowMs: undefined };
    const windowMs = checkNumber('windowMs', options.windowMs ?? 60_000, 0, { exclusive: true, infinity: true });
    return { mode, counter: new Window(failureThreshold, windowMs), failureThreshold, windowMs };
  }
  const threshold = checkRatio(options.threshold);
  if (mode === 'count') {
    const size = checkNumber('size', options.size, 1, { integer: true });
    const minimumCalls = checkNumber('minimumCalls', options.minimumCalls ?? size, 1, { integer: true });
    if (minimumCalls > size) throw new RangeError(`minimumCalls (${minimumCalls}) must be <= size (${size})`);
    return { mode, counter: new Count(threshold, size, minimumCalls), failureThreshold: undefined, windowMs: undefined };
  }
  const duration = checkNumber('duration', options.duration, 0, { exclusive: true });
  // cockatiel's default: enough traffic that the threshold means at least 5 failures a second.
  const minimumRps = checkNumber('minimumRps', options.minimumRps ?? 5 / threshold, 0);
  return { mode, counter: new Sampling(threshold, duration, minimumRps), failureThreshold: undefined, windowMs: undefined };
}

function checkRatio(value: unknown): number {
  const ratio = checkNumber('threshold', value, 0, { exclusive: true });
  if (ratio >= 1) throw new RangeError(`threshold is a share of calls, 0 < threshold < 1, got ${ratio}`);
  return ratio;
}

/** `failureThreshold` failures within `windowMs`; successes do not matter. */
class Window implements FailureCounter {
  // The latest `failureThreshold` failure times, oldest at `next`: enough to decide, bounded.
  private readonly failures: Float64Array;
  private next = 0;
  private recorded = 0;

  constructor(private readonly threshold: number, private readonly windowMs: number) {
    this.failures = new Float64Array(threshold);
  }

  success(): void {}

  failure(now: number): boolean {
    this.failures[this.next] = now;
    this.next = (this.next + 1) % this.threshold;
    this.recorded = Math.min(this.recorded + 1, this.threshold);
    // With the ring full, `next` points at the oldest of the last `threshold` failures.
    return this.recorded === this.threshold && now - this.failures[this.next]! < this.windowMs;
  }

  reset(): void {
    this.next = 0;
    this.recorded = 0;
  }
}

/** `failureThreshold` failures in a row; any success starts the count again. */
class Consecutive implements FailureCounter {
  private run = 0;

  constructor(private readonly threshold: number) {}

  success(): void {
    this.run = 0;
  }

  failure(): boolean {
    return ++this.run >= this.threshold;
  }

  reset(): void {
    this.run = 0;
  }
}

const EMPTY = 0;
const OK = 1;
const FAILED = 2;

/** More than `threshold` of the last `size` calls failed, once `minimumCalls` were seen. */
class Count implements FailureCounter {
  private readonly samples: Uint8Array;
  private next = 0;
  private successes = 0;
  private failures = 0;

  constructor(private readonly threshold: number, size: number, private readonly minimumCalls: number) {
    this.samples = new Uint8Array(size);
  }

  success(): void {
    this.push(OK);
  }

  failure(): boolean {
    this.push(FAILED);
    const total = this.successes + this.failures;
    return total >= this.minimumCalls && this.failures > this.threshold * total;
  }

  reset(): void {
    this.samples.fill(EMPTY);
    this.next = 0;
    this.successes = 0;
    this.failures = 0;
  }

  private push(sample: number): void {
    const old = this.samples[this.next];
    if (old === OK) this.successes--;
    else if (old === FAILED) this.failures--;
    this.samples[this.next] = sample;
    if (sample === OK) this.successes++;
    else this.failures++;
    this.next = (this.next + 1) % this.samples.length;
  }
}

// The sampled stretch slides in tenths: memory stays constant whatever the duration.
const SLOTS = 10;

/**
 * More than `threshold` of the calls in the last `duration` ms failed, once they came at
 * `minimumRps` or more (so a quiet hour's two failures do not open it).
 */
class Sampling implements FailureCounter {
  private readonly slotMs: number;
  private readonly minimumCalls: number;
  private readonly successes = new Float64Array(SLOTS);
  private readonly failures = new Float64Array(SLOTS);
  private readonly epochs = new Float64Array(SLOTS).fill(-Infinity);

  constructor(private readonly threshold: number, duration: number, minimumRps: number) {
    this.slotMs = duration / SLOTS;
    this.minimumCalls = (minimumRps * duration) / 1000;
  }

  success(now: number): void {
    this.successes[this.slot(now)]!++;
  }

  failure(now: number): boolean {
    this.failures[this.slot(now)]!++;
    const epoch = Math.floor(now / this.slotMs);
    let successes = 0;
    let failures = 0;
    for (let i = 0; i < SLOTS; i++) {
      // Slots from older stretches are stale, however long ago they were written.
      if (this.epochs[i]! > epoch - SLOTS) {
        successes += this.successes[i]!;
        failures += this.failures[i]!;
      }
    }
    const total = successes + failures;
    return total >= this.minimumCalls && failures > this.threshold * total;
  }

  reset(): void {
    this.epochs.fill(-Infinity);
  }

  /** Index of the slot for `now`, cleared first if it still holds an older tenth. */
  private slot(now: number): number {
    const epoch = Math.floor(now / this.slotMs);
    const i = ((epoch % SLOTS) + SLOTS) % SLOTS;
    if (this.epochs[i] !== epoch) {
      this.epochs[i] = epoch;
      this.successes[i] = 0;
      this.failures[i] = 0;
    }
    return i;
  }
}
