// Runs one strategy: a fresh mock provider (same seed, so every strategy meets the same
// provider), a child process that drives the agents, and a sampler that records requests
// in flight and 429s at the provider while it runs.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildReport, FromChild, RunConfig, Series, StrategyRecord, ToChild } from './demo-types.js';
import { demoProviderOptions } from './demo-provider.js';
import { startMockProvider, type MockProvider } from './mock-provider.js';

export interface Snapshot {
  elapsedMs: number;
  done: number;
  failed: number;
  inFlight: number;
  rateLimited: number;
}

const CHILD = fileURLToPath(new URL('./strategy-process.js', import.meta.url));
const SAMPLE_MS = 20;
// The deadline bounds a run; this bounds the series even if the clock misbehaves.
const MAX_SAMPLES = 100_000;
// Past its deadline a child gets this long to report before it is killed.
const GRACE_MS = 15_000;

export async function runStrategy(config: Omit<RunConfig, 'url'>, seed: number, onSnapshot: (s: Snapshot) => void,
  signal: AbortSignal): Promise<StrategyRecord> {
  const provider = await startMockProvider(demoProviderOptions(config.durationScale, seed));
  const series: Series = { t: [], inFlight: [], rateLimited: [] };
  const started = { at: 0 };
  try {
    const { result, timeline } = await drive({ ...config, url: provider.url }, provider, series, onSnapshot, signal, started);
    const stats = provider.stats();
    return {
      result: {
        strategy: config.strategy, ...result, requests: stats.requests, rateLimited: stats.rateLimited,
        serverErrors: stats.errors, peakInFlight: stats.peakInFlight,
      },
      series,
      timeline,
      startedAt: started.at,
    };
  } finally {
    await provider.close();
  }
}

function drive(config: RunConfig, provider: MockProvider, series: Series, onSnapshot: (s: Snapshot) => void,
  signal: AbortSignal, started: { at: number }): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
    let t0 = 0;
    let done = 0;
    let failed = 0;
    let sampler: ReturnType<typeof setInterval> | undefined;
    let result: ChildReport | undefined;
    const sample = (): void => {
      const stats = provider.stats();
      const snapshot = { elapsedMs: performance.now() - t0, done, failed, inFlight: stats.inFlight, rateLimited: stats.rateLimited };
      if (series.t.length < MAX_SAMPLES) {
        series.t.push(snapshot.elapsedMs);
        series.inFlight.push(snapshot.inFlight);
        series.rateLimited.push(snapshot.rateLimited);
      }
      onSnapshot(snapshot);
    };
    const killer = setTimeout(() => child.kill('SIGKILL'), config.deadlineMs + GRACE_MS);
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('message', (message: FromChild) => {
      if (message.type === 'started') {
        t0 = performance.now();
        started.at = Date.now();
        sampler = setInterval(sample, SAMPLE_MS);
        sample();
      } else if (message.type === 'progress') {
        done = message.done;
        failed = message.failed;
      } else {
        result = { result: message.result, timeline: message.timeline };
        clearInterval(sampler);
        sample();
      }
    });
    child.once('error', reject);
    child.once('exit', (code, how) => {
      clearTimeout(killer);
      clearInterval(sampler);
      signal.removeEventListener('abort', onAbort);
      if (result !== undefined) {
        resolve(result);
      } else if (signal.aborted) {
        reject(signal.reason);
      } else {
        reject(new Error(`strategy ${config.strategy} exited with ${how ?? `code ${code}`} before reporting`));
      }
    });
    child.send({ type: 'run', config } satisfies ToChild);
  });
}
