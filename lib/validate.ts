// Argument checks shared by every layer: TypeError for the wrong kind of value,
// RangeError for a value out of range, always with the option's name in the message.

export function checkNumber(name: string, value: unknown, min: number, options: { exclusive?: boolean; integer?: boolean; infinity?: boolean } = {}): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  }
  if (value === Infinity) {
    if (options.infinity === true) return value;
    throw new RangeError(`${name} must be finite, got Infinity`);
  }
  if (options.integer === true && !Number.isInteger(value)) {
    throw new RangeError(`${name} must be an integer, got ${value}`);
  }
  if (options.exclusive === true ? value <= min : value < min) {
    throw new RangeError(`${name} must be ${options.exclusive === true ? '>' : '>='} ${min}, got ${value}`);
  }
  return value;
}

export function checkInteger(name: string, value: unknown, min: number, allowInfinity = false): number {
  return checkNumber(name, value, min, { integer: true, infinity: allowInfinity });
}

/**
 * A duration in ms: >= 0 (or > 0 when `positive`), or Infinity meaning "none". NaN is a
 * number out of range, as Node's own validators say: RangeError, like a negative one.
 */
export function checkDuration(name: string, value: unknown, positive: boolean): number {
  if (typeof value === 'number' && Number.isNaN(value)) throw new RangeError(`${name} must be a number of ms, got NaN`);
  return checkNumber(name, value, 0, { exclusive: positive, infinity: true });
}

export function checkObject(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
}

export function checkFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  }
  return value;
}

export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  // Duck-typed so a signal from another realm or polyfill is accepted.
  if (typeof value !== 'object' || value === null || typeof (value as AbortSignal).aborted !== 'boolean' ||
      typeof (value as AbortSignal).addEventListener !== 'function') {
    throw new TypeError(`${name} must be an AbortSignal, got ${describe(value)}`);
  }
  return value as AbortSignal;
}

/** The reason a signal aborted with, or the standard AbortError when it gave none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The default clock: monotonic, so wall-clock jumps never refill a bucket or expire a window. */
export const monotonicNow = (): number => performance.now();

/** The message of whatever was thrown: an Error's message, anything else as a string. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
