// What the demo's parent process and its per-strategy child processes say to each other,
// and what one strategy's run produces for the table, the JSON and the HTML report.

import type { Timeline } from './timeline.js';

export const STRATEGY_NAMES = ['naive', 'p-limit', 'ringleader-js', 'ringleader-native', 'ringleader-fetch'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** The provider's published limits, as a client configures itself from them. */
export interface ProviderLimits {
  /** Requests the provider serves at once. */
  concurrency: number;
  /** Requests per window. */
  rpm: number;
  /** Tokens per window (prompt + max_tokens, charged at admission). */
  tpm: number;
  /** The provider's "minute", in real ms after --duration-scale. */
  windowMs: number;
}

/** Everything a child needs to run one strategy against the provider. */
export interface RunConfig {
  strategy: StrategyName;
  url: string;
  agents: number;
  fanout: number;
  files: string[];
  durationScale: number;
  limits: ProviderLimits;
  /** Past it the child aborts what is left; unfinished agents count as failed. */
  deadlineMs: number;
}

/** What the child measured itself. */
export interface ChildResult {
  completed: number;
  failed: number;
  wallMs: number;
  /** Per completed agent, plan to synthesis, in ms; null when none completed. */
  p50Ms: number | null;
  p99Ms: number | null;
  peakRssBytes: number;
  cutAtDeadline: boolean;
  /** What a strategy learned from the provider's answers (ringleader-fetch: its limits and their headers). */
  learned?: string;
}

/** What the child sends at the end: its figures, and where each agent's time went. */
export interface ChildReport {
  result: ChildResult;
  timeline: Timeline;
}

export type ToChild = { type: 'run'; config: RunConfig };

export type FromChild =
  | { type: 'started' }
  | { type: 'progress'; done: number; failed: number }
  | { type: 'result'; result: ChildResult; timeline: Timeline };

/** One strategy's row: the child's figures plus what the provider saw. */
export interface StrategyResult extends ChildResult {
  strategy: StrategyName;
  /** HTTP requests the provider received. */
  requests: number;
  /** 429s the provider gave (window refusals and concurrency refusals). */
  rateLimited: number;
  /** 500s and 503s. */
  serverErrors: number;
  peakInFlight: number;
}

/** Sampled while a strategy ran: time since its start, requests in flight at the provider, 429s so far. */
export interface Series {
  t: number[];
  inFlight: number[];
  rateLimited: number[];
}

export interface StrategyRecord {
  result: StrategyResult;
  series: Series;
  /** Per-agent bars: queue wait, rate wait, pause, retry sleep, run. */
  timeline?: Timeline;
  /** When the strategy started, in epoch ms (the bars' and the series' time 0). */
  startedAt?: number;
}
