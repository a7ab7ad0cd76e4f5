// The strategies the demo compares, by name: how each is described, whether it can run in
// this install, and how a child process builds its Executor. Each lives in its own module.

import type { ProviderLimits, RunConfig, StrategyName } from './demo-types.js';
import { Engine, probe } from '../engine/index.js';
import { loadAddon } from '../engine/native.js';
import type { ChatClient } from './llm-client.js';
import { batchedReader } from './read-file.js';
import type { TimelineRecorder } from './timeline.js';
import type { Executor } from './workload.js';
import { naiveStrategy } from './strategy-naive.js';
import { pLimitStrategy, P_LIMIT_RETRIES } from './strategy-p-limit.js';
import { fetchStrategy } from './strategy-fetch.js';
import { ringleaderStrategy, RINGLEADER_PER_AGENT, RINGLEADER_RETRIES } from './strategy-ringleader.js';

export interface StrategyContext {
  chat: ChatClient;
  readFile: (path: string, signal?: AbortSignal) => Promise<Buffer>;
  /** Aborts at the run's deadline. */
  signal: AbortSignal;
  config: RunConfig;
  /** Where the strategy's queue waits, retry sleeps and runs are drawn from, per agent. */
  timeline: TimelineRecorder;
}

export interface Strategy {
  executor: Executor;
  /** What it learned while it ran, for its report row. */
  learned?(): string | undefined;
  close(): Promise<void>;
}

interface Entry {
  describe(limits: ProviderLimits): string;
  /** Why it cannot run in this install, or undefined. */
  unavailable(): string | undefined;
  create(ctx: StrategyContext): Promise<Strategy>;
}

export const STRATEGIES: Record<StrategyName, Entry> = {
  'naive': {
    describe: () => 'Promise.all, no limit, no retries',
    unavailable: () => undefined,
    create: async (ctx) => naiveStrategy(ctx),
  },
  'p-limit': {
    describe: (limits) => `p-limit(${limits.concurrency}) around a hand-rolled retry: ${P_LIMIT_RETRIES} retries, ` +
      'exponential backoff, Retry-After ignored',
    unavailable: () => resolvable('p-limit') ? undefined
      : 'the p-limit package is not installed (a devDependency: `npm install` in the repository adds it)',
    create: (ctx) => pLimitStrategy(ctx),
  },
  'ringleader-js': {
    describe: (limits) => `Scheduler: ${limits.concurrency} at once, RPM and TPM windows, ${RINGLEADER_RETRIES} retries ` +
      `honouring Retry-After, ${RINGLEADER_PER_AGENT} per agent, synthesize first; file reads on the js backend`,
    unavailable: () => undefined,
    create: async (ctx) => ringleaderStrategy(ctx),
  },
  'ringleader-native': {
    describe: () => `the same Scheduler as ringleader-js; file reads through the native Engine on ` +
      `${probe().io_uring ? 'io_uring' : 'threads'}, each turn's reads in one batch`,
    unavailable: () => {
      const loaded = loadAddon();
      return 'error' in loaded ? loaded.error : undefined;
    },
    create: async (ctx) => {
      const engine = await Engine.open();
      const strategy = ringleaderStrategy({ ...ctx, readFile: batchedReader(engine) });
      return {
        executor: strategy.executor,
        close: async () => {
          await strategy.close();
          await engine.close();
        },
      };
    },
  },
  'ringleader-fetch': {
    describe: (limits) => `the real openai SDK, unchanged, with fetch: scheduledFetch({ concurrency: ${limits.concurrency} }) and no ` +
      'rate options: limits learned from the x-ratelimit-* headers',
    unavailable: () => resolvable('openai') ? undefined
      : 'the openai package is not installed (a devDependency: `npm install` in the repository adds it)',
    create: (ctx) => fetchStrategy(ctx),
  },
};

function resolvable(specifier: string): boolean {
  try {
    import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}
