// Typed runtime refusals. Argument errors stay TypeError/RangeError; everything the
// library refuses at run time is a RingleaderError with a stable `code` to switch on.

/** Base class of every runtime refusal ringleader makes. `code` is stable across versions. */
export class RingleaderError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Admission refused: the queue is at `maxQueued` and the policy is `reject`. */
export class QueueFullError extends RingleaderError {
  constructor(message = 'queue is full') {
    super('ERR_QUEUE_FULL', message);
  }
}

/** Submitted after `close()`, or still queued when `close({ drain: false })` ran. */
export class ClosedError extends RingleaderError {
  constructor(message = 'closed') {
    super('ERR_CLOSED', message);
  }
}

/** An attempt or an acquire ran past its `timeout`. */
export class TimeoutError extends RingleaderError {
  constructor(message = 'timed out') {
    super('ERR_TIMEOUT', message);
  }
}

/** A circuit breaker refused the call. */
export class CircuitOpenError extends RingleaderError {
  /** Milliseconds until the breaker lets a probe through; absent while a probe runs. */
  retryAfterMs?: number;

  constructor(message = 'circuit is open', retryAfterMs?: number) {
    super('ERR_CIRCUIT_OPEN', message);
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

/** Evicted from a full queue by the `drop-oldest` policy. */
export class DroppedError extends RingleaderError {
  constructor(message = 'dropped from a full queue') {
    super('ERR_DROPPED', message);
  }
}

/** A limit shared through a store (Redis) could not be checked because the store is unreachable. */
export class StoreUnavailableError extends RingleaderError {
  constructor(message = 'shared limit store is unavailable', options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
  }
}
