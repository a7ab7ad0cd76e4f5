// The figures the demo reports per strategy, and ringleader's ratio to each peer, as rows
// of cells that the terminal table and the HTML report both print.

import type { StrategyResult } from './demo-types.js';

export interface Table {
  header: string[];
  rows: string[][];
}

export interface Summary {
  results: Table;
  /** Empty when no ringleader strategy or no peer ran. */
  ratios: Table;
}

export const RATIO_NOTE = 'ratio = ringleader ÷ peer: above 1 is better for tasks done and done/s, below 1 for the rest';

export function summarize(results: readonly StrategyResult[]): Summary {
  const table: Table = {
    header: ['strategy', 'tasks done', 'failed', 'requests', '429s', '500/503', 'wall s', 'done/s', 'p50 s', 'p99 s', 'peak RSS MB'],
    rows: results.map((r) => [
      r.strategy, `${r.completed}`, `${r.failed}${r.cutAtDeadline ? '*' : ''}`, `${r.requests}`, `${r.rateLimited}`,
      `${r.serverErrors}`, seconds(r.wallMs), perSecond(r).toFixed(1), seconds(r.p50Ms), seconds(r.p99Ms), (r.peakRssBytes / 2 ** 20).toFixed(0),
    ]),
  };
  const ours = results.filter((r) => r.strategy.startsWith('ringleader'));
  const peers = results.filter((r) => !r.strategy.startsWith('ringleader'));
  const ratios: Table = {
    header: ['', 'tasks done', 'done/s', '429s', 'requests', 'wall time', 'p50 latency', 'p99 latency', 'peak RSS'],
    rows: ours.flatMap((o) => peers.map((p) => [
      `${o.strategy} vs ${p.strategy}`, ratio(o.completed, p.completed), ratio(perSecond(o), perSecond(p)), ratio(o.rateLimited, p.rateLimited),
      ratio(o.requests, p.requests), ratio(o.wallMs, p.wallMs), ratio(o.p50Ms, p.p50Ms), ratio(o.p99Ms, p.p99Ms),
      ratio(o.peakRssBytes, p.peakRssBytes),
    ])),
  };
  return { results: table, ratios };
}

/** Agents completed per second of wall time: throughput that counts only finished work. */
function perSecond(r: StrategyResult): number {
  return r.wallMs > 0 ? r.completed / (r.wallMs / 1000) : 0;
}

function seconds(ms: number | null): string {
  return ms === null ? '–' : (ms / 1000).toFixed(2);
}

function ratio(ours: number | null, peer: number | null): string {
  if (ours === null || peer === null) return '–';
  if (peer === 0) return ours === 0 ? '–' : '∞';
  return `${(ours / peer).toFixed(2)}×`;
}
