// Child process that runs one demo strategy, so its peak RSS is its own and nothing one
// strategy leaves behind (sockets, timers, garbage) touches the next. Protocol over IPC:
// receives { type: 'run', config }, posts 'started', 'progress' every 50 ms, then 'result'.

import { setMaxListeners } from 'node:events';
import type { ChildReport, FromChild, RunConfig, ToChild } from './demo-types.js';
import { ChatClient } from './llm-client.js';
import { readToolFile } from './read-file.js';
import { STRATEGIES } from './strategies.js';
import { TimelineRecorder } from './timeline.js';
import { agentContext, recordFromChannels } from './timeline-channels.js';
import { runAgent } from './workload.js';

// Bounds open connections for every strategy, even naive, within a default fd limit.
const MAX_SOCKETS = 256;
const PROGRESS_MS = 50;

function send(message: FromChild): void {
  // A parent that went away has nothing left to hear.
  if (process.connected) process.send!(message);
}

async function run(config: RunConfig): Promise<ChildReport> {
  const deadline = new AbortController();
  // Every pending step listens to the one deadline signal.
  setMaxListeners(0, deadline.signal);
  const chat = new ChatClient(config.url, MAX_SOCKETS);
  const timeline = new TimelineRecorder(performance.now());
  // Strategies built on ringleader are drawn from its diagnostics channels; the others draw their own bars.
  const unwatch = recordFromChannels(timeline);
  const strategy = await STRATEGIES[config.strategy].create({
    chat, readFile: readToolFile, signal: deadline.signal, config, timeline,
  });
  const timer = setTimeout(() => deadline.abort(new Error('deadline')), config.deadlineMs);
  let done = 0;
  let failed = 0;
  const latencies: number[] = [];
  const ticker = setInterval(() => send({ type: 'progress', done, failed }), PROGRESS_MS);
  send({ type: 'started' });
  const t0 = performance.now();
  timeline.t0 = t0;
  await Promise.all(Array.from({ length: config.agents }, async (_, agent) => {
    const start = performance.now();
    try {
      await agentContext.run(agent, () => runAgent(agent, config, strategy.executor));
      latencies.push(performance.now() - start);
      done++;
    } catch {
      failed++;
    }
  }));
  const wallMs = performance.now() - t0;
  clearTimeout(timer);
  clearInterval(ticker);
  send({ type: 'progress', done, failed });
  await strategy.close();
  unwatch();
  chat.close();
  latencies.sort((a, b) => a - b);
  const result = {
    completed: done, failed, wallMs, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99),
    peakRssBytes: process.resourceUsage().maxRSS * 1024, cutAtDeadline: deadline.signal.aborted,
    learned: strategy.learned?.(),
  };
  return { result, timeline: timeline.toJSON() };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

// Ctrl-C reaches the whole process group; the parent decides, and kills this child itself.
process.on('SIGINT', () => {});

process.once('message', (message: ToChild) => {
  run(message.config).then(
    ({ result, timeline }) => {
      send({ type: 'result', result, timeline });
      process.disconnect();
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
      process.disconnect();
    },
  );
});
