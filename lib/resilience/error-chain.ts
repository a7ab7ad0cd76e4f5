// What a failure wraps: an error's `cause` chain (fetch, LangChain and most SDKs wrap the
// provider's error) and the AI SDK's RetryError (the attempts its own retry loop made), so
// classify and retryAfterMs read every layer the same way, outermost first.

type Bag = Record<string, unknown>;

// How deep to follow: fetch wraps once, an SDK's error and its retry loop add two more,
// a framework around the SDK one more.
const MAX_CAUSE_DEPTH = 4;

// The AI SDK marks its errors with registered symbols instead of relying on instanceof, so
// two copies of the package recognise each other; reading the same mark needs no import.
const RETRY_ERROR = Symbol.for('vercel.ai.error.AI_RetryError');

/**
 * `err` and the errors inside it, outermost first. A RetryError stands for its last
 * attempt, so the layer yielded in its place is that attempt's error.
 */
export function* errorLayers(err: unknown): Generator<Bag, void, undefined> {
  for (const layer of chain(err)) {
    if (!isRetryError(layer)) yield layer;
  }
}

/**
 * Calls to the provider that one failure stands for: the attempts an AI SDK RetryError
 * collected (its retries already happened, so a caller counting attempts against a limit
 * should count these too), otherwise 1.
 */
export function attemptsSpent(err: unknown): number {
  for (const layer of chain(err)) {
    if (isRetryError(layer)) return Array.isArray(layer.errors) ? Math.max(1, layer.errors.length) : 1;
  }
  return 1;
}

function* chain(err: unknown): Generator<Bag, void, undefined> {
  let layer = err;
  // Bounded so a cycle of causes ends.
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && isBag(layer); depth++) {
    yield layer;
    layer = isRetryError(layer) ? layer.lastError : layer.cause;
  }
}

function isRetryError(layer: Bag): boolean {
  return Reflect.get(layer, RETRY_ERROR) === true;
}

function isBag(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}
