// What people write first: p-limit for concurrency and a retry loop with exponential
// backoff around each call. The loop knows nothing of Retry-After, and a retrying call
// keeps its p-limit slot while it sleeps.

import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from './llm-client.js';
import type { Strategy, StrategyContext } from './strategies.js';

export const P_LIMIT_RETRIES = 5;
// One second, then 2, 4, 8, 16: before --duration-scale.
const BASE_DELAY_MS = 1_000;

export async function pLimitStrategy({ chat, readFile, signal, config, timeline }: StrategyContext): Promise<Strategy> {
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(config.limits.concurrency);
  const base = BASE_DELAY_MS * config.durationScale;
  // Each attempt and each backoff is drawn on the agent's timeline; the backoff holds the slot.
  const withRetry = async <T>(agent: number, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const start = performance.now();
      try {
        const value = await fn();
        timeline.add(agent, 'run', start, performance.now());
        return value;
      } catch (err) {
        const slept = performance.now();
        timeline.add(agent, 'run', start, slept);
        const transient = !(err instanceof HttpError) || err.status === 429 || err.status >= 500;
        if (attempt >= P_LIMIT_RETRIES || !transient || signal.aborted) throw err;
        try {
          await sleep(base * 2 ** attempt, undefined, { signal });
        } finally {
          timeline.add(agent, 'retry', slept, performance.now());
        }
      }
    }
  };
  // Time spent waiting for a p-limit slot.
  const queued = <T>(agent: number, fn: () => Promise<T>): Promise<T> => {
    const submitted = performance.now();
    return limit(() => {
      timeline.add(agent, 'queue', submitted, performance.now());
      return fn();
    });
  };
  return {
    executor: {
      llm: (call, step) => queued(step.agent, () => withRetry(step.agent, () => chat.complete(call, signal))),
      read: (path, step) => queued(step.agent, async () => {
        const start = performance.now();
        try {
          return await readFile(path, signal);
        } finally {
          timeline.add(step.agent, 'run', start, performance.now());
        }
      }),
    },
    close: async () => {},
  };
}
