// The drop-in: agents call the real `openai` SDK, unchanged, with `fetch: scheduledFetch({
// concurrency })` and no rate options. Its windows are learned from the provider's headers
// while it runs; the report says what it learned and from which header.

import { scheduledFetch } from '../http/scheduled-fetch.js';
import type { ScheduledFetchStats } from '../http/types.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { Strategy, StrategyContext } from './strategies.js';

const FILE_READS_AT_ONCE = 32;

export async function fetchStrategy({ readFile, signal, config }: StrategyContext): Promise<Strategy> {
  const { default: OpenAI } = await import('openai');
  const fetch = scheduledFetch({ concurrency: config.limits.concurrency });
  const client = new OpenAI({ apiKey: 'mock', baseURL: `${config.url}/v1`, fetch });
  const io = new Scheduler({ concurrency: FILE_READS_AT_ONCE, maxQueued: config.agents * config.fanout });
  return {
    executor: {
      llm: async (call) => {
        const messages = call.messages.map((m) => ({ role: m.role as 'system' | 'user', content: m.content }));
        const completion = await client.chat.completions.create({ ...call, messages }, { signal });
        if (completion.usage === undefined) throw new Error('the provider sent no usage');
        return { id: completion.id, usage: completion.usage };
      },
      read: (path) => io.run((ctx) => readFile(path, ctx.signal), { signal }),
    },
    learned: () => describeLearned(fetch.stats()),
    close: async () => {
      await Promise.all([fetch.close(), io.close()]);
    },
  };
}

/** One line per origin: each learned limit and the header field it came from. */
export function describeLearned(stats: ScheduledFetchStats): string | undefined {
  const parts: string[] = [];
  for (const origin of Object.values(stats.origins)) {
    for (const lane of Object.values(origin.lanes)) {
      for (const [name, limit] of Object.entries(lane.learned)) {
        parts.push(`${limit.limit?.toLocaleString('en-US') ?? '?'} ${name} (${limit.source}, ${limit.updates} answers)`);
      }
    }
  }
  return parts.length === 0 ? undefined : `learned ${parts.join(', ')}`;
}
