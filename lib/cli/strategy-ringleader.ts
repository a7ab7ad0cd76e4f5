// ringleader as its users would set it up for a provider with published RPM and TPM: one
// Scheduler for LLM calls (rate windows, retries that honour Retry-After, a lane per agent,
// synthesize before new plans, token estimates corrected from the response's usage) and
// one for file reads, which must not count against the provider's windows.

import { Scheduler } from '../index.js';
import { HttpError } from './llm-client.js';
import type { Strategy, StrategyContext } from './strategies.js';
import { estimateTokens, type Phase } from './workload.js';

export const RINGLEADER_RETRIES = 8;
export const RINGLEADER_PER_AGENT = 4;
// Client and provider clocks start a window a request's transit apart; 5% under the
// published limits absorbs that skew instead of meeting it as 429s.
const HEADROOM = 0.95;
const FILE_READS_AT_ONCE = 32;
// Finishing an agent frees everything it holds, so its last step goes first.
const PRIORITY: Record<Phase, number> = { plan: 0, tool: 1, synthesize: 2 };

export function ringleaderStrategy({ chat, readFile, signal, config }: StrategyContext): Strategy {
  const { limits, durationScale } = config;
  const steps = config.agents * (config.fanout + 2);
  const llm = new Scheduler({
    name: 'llm',
    concurrency: limits.concurrency,
    maxQueued: steps,
    perKey: RINGLEADER_PER_AGENT,
    rate: [
      { limit: Math.floor(limits.rpm * HEADROOM), interval: limits.windowMs },
      { limit: Math.floor(limits.tpm * HEADROOM), interval: limits.windowMs, cost: 'tokens' },
    ],
    retry: { retries: RINGLEADER_RETRIES, minDelay: 500 * durationScale, maxDelay: 30_000 * durationScale },
  });
  const io = new Scheduler({ name: 'io', concurrency: FILE_READS_AT_ONCE, maxQueued: steps });
  return {
    executor: {
      llm: (call, step) => llm.run(async (ctx) => {
        try {
          const completion = await chat.complete(call, ctx.signal);
          // The provider charged the real prompt plus max_tokens; refund what the estimate overshot.
          ctx.reportTokens(completion.usage.prompt_tokens + call.max_tokens);
          return completion;
        } catch (err) {
          // A refused request was charged nothing by the provider.
          if (err instanceof HttpError && err.status === 429) ctx.reportTokens(0);
          throw err;
        }
      }, { key: `agent-${step.agent}`, priority: PRIORITY[step.phase], tokens: estimateTokens(call), signal }),
      read: (path, step) => io.run((ctx) => readFile(path, ctx.signal), { priority: PRIORITY[step.phase], signal }),
    },
    close: async () => {
      await Promise.all([llm.close(), io.close()]);
    },
  };
}
