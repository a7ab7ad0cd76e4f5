// What people write first: p-limit for concurrency and a retry loop with exponential
// backoff around each call. The loop knows nothing of Retry-After, and a retrying call
// keeps its p-limit slot while it sleeps.

import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from './llm-client.js';
import type { Strategy, StrategyContext } from './strategies.js';

export const P_LIMIT_RETRIES = 5;
// One second, then 2, 4, 8, 16: before --duration-scale.
const BASE_DELAY_MS = 1_000;

export async function pLimitStrategy({ chat, readFile, signal, config }: StrategyContext): Promise<Strategy> {
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(config.limits.concurrency);
  const base = BASE_DELAY_MS * config.durationScale;
  const withRetry = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const transient = !(err instanceof HttpError) || err.status === 429 || err.status >= 500;
        if (attempt >= P_LIMIT_RETRIES || !transient || signal.aborted) throw err;
        await sleep(base * 2 ** attempt, undefined, { signal });
      }
    }
  };
  return {
    executor: {
      llm: (call) => limit(() => withRetry(() => chat.complete(call, signal))),
      read: (path) => limit(() => readFile(path, signal)),
    },
    close: async () => {},
  };
}
