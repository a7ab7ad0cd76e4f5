// The baseline: every step of every agent fires at once (Promise.all), nothing limits or
// retries it, so the first 429 or 500 a step meets fails its agent.

import type { Strategy, StrategyContext } from './strategies.js';

export function naiveStrategy({ chat, readFile, signal, timeline }: StrategyContext): Strategy {
  const timed = <T>(agent: number, p: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    return p().finally(() => timeline.add(agent, 'run', start, performance.now()));
  };
  return {
    executor: {
      llm: (call, step) => timed(step.agent, () => chat.complete(call, signal)),
      read: (path, step) => timed(step.agent, () => readFile(path, signal)),
    },
    close: async () => {},
  };
}
