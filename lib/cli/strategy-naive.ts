// The baseline: every step of every agent fires at once (Promise.all), nothing limits or
// retries it, so the first 429 or 500 a step meets fails its agent.

import type { Strategy, StrategyContext } from './strategies.js';

export function naiveStrategy({ chat, readFile, signal }: StrategyContext): Strategy {
  return {
    executor: {
      llm: (call) => chat.complete(call, signal),
      read: (path) => readFile(path, signal),
    },
    close: async () => {},
  };
}
