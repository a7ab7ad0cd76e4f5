// One strategy's timeline as inline SVG: a row per agent, and on it a bar for every stretch
// of time spent queued, waiting for a rate window, behind a paused key, sleeping before a
// retry, or running, coloured by phase. Plain markup with no script, like the charts.

import { escapeXml, f, ticks } from './chart-svg.js';
import { TIMELINE_PHASES, type Timeline, type TimelinePhase } from './timeline.js';

export interface TimelineOptions {
  /** Right end of the time axis in ms; shared with the report's charts. */
  xMaxMs: number;
  /** Agents in the run: one row each, up to MAX_ROWS. */
  agents: number;
  title: string;
}

export const PHASE_LABELS: Record<TimelinePhase, string> = {
  queue: 'queued', rate: 'rate window', pause: 'key paused (429)', retry: 'retry backoff', run: 'running',
};

const W = 880;
const M = { left: 64, right: 16, top: 30, bottom: 36 };
const PW = W - M.left - M.right;
const MAX_ROWS = 200;
const PLOT_HEIGHT = 400;
// A bar narrower than this still shows; gaps narrower than it are merged away.
const MIN_PX = 0.6;

/** Agent-seconds spent in each phase (bars of one agent may overlap: its tool calls run side by side). */
export function phaseTotals(timeline: Timeline): Record<TimelinePhase, number> {
  const totals = { queue: 0, rate: 0, pause: 0, retry: 0, run: 0 };
  const b = timeline.bars;
  for (let i = 0; i < b.length; i += 4) totals[TIMELINE_PHASES[b[i + 1]!]!] += (b[i + 3]! - b[i + 2]!) / 1000;
  return totals;
}

export function renderTimeline(timeline: Timeline, options: TimelineOptions): string {
  const rows = Math.max(1, Math.min(options.agents, MAX_ROWS));
  const rowH = Math.min(12, Math.max(1.5, PLOT_HEIGHT / rows));
  const PH = rowH * rows;
  const H = M.top + PH + M.bottom;
  const xMax = Math.max(options.xMaxMs, 1);
  const x = (ms: number): number => M.left + (Math.min(Math.max(ms, 0), xMax) / xMax) * PW;

  // Per phase, per row: intervals in pixels, merged where they touch, so a busy run stays small.
  const spans: Array<Array<Array<[number, number]>>> = TIMELINE_PHASES.map(() => Array.from({ length: rows }, () => []));
  const b = timeline.bars;
  for (let i = 0; i < b.length; i += 4) {
    const agent = b[i]!;
    if (agent < 0 || agent >= rows) continue;
    spans[b[i + 1]!]![agent]!.push([x(b[i + 2]!), x(b[i + 3]!)]);
  }
  const parts: string[] = [];
  for (const tick of ticks(xMax / 1000, 8)) {
    parts.push(`<path class="grid" d="M${f(x(tick * 1000))} ${M.top}V${f(M.top + PH)}"/>`,
      `<text class="tick" x="${f(x(tick * 1000))}" y="${f(M.top + PH + 18)}" text-anchor="middle">${tick}</text>`);
  }
  const labelEvery = Math.max(1, Math.ceil(12 / rowH));
  for (let r = 0; r < rows; r += labelEvery) {
    parts.push(`<text class="tick" x="${M.left - 6}" y="${f(M.top + r * rowH + Math.min(rowH, 9))}" text-anchor="end">${r}</text>`);
  }
  // Drawn in phase order, so running is on top of the waits it ends.
  TIMELINE_PHASES.forEach((phase, p) => {
    let d = '';
    spans[p]!.forEach((intervals, row) => {
      intervals.sort((a, c) => a[0] - c[0]);
      const y = M.top + row * rowH + rowH * 0.1;
      const h = rowH * 0.8;
      let cur: [number, number] | undefined;
      const flush = (): void => {
        if (cur !== undefined) d += `M${f(cur[0])} ${f(y)}h${f(Math.max(MIN_PX, cur[1] - cur[0]))}v${f(h)}H${f(cur[0])}Z`;
      };
      for (const iv of intervals) {
        if (cur !== undefined && iv[0] <= cur[1] + MIN_PX) cur[1] = Math.max(cur[1], iv[1]);
        else {
          flush();
          cur = [iv[0], iv[1]];
        }
      }
      flush();
    });
    if (d !== '') parts.push(`<path class="tl-${phase}" data-phase="${phase}" shape-rendering="crispEdges" d="${d}"/>`);
  });
  let lx = M.left;
  for (const phase of TIMELINE_PHASES) {
    parts.push(`<rect class="tl-${phase}" x="${lx}" y="${M.top - 20}" width="10" height="10"/>`,
      `<text class="label" x="${lx + 14}" y="${M.top - 11}">${escapeXml(PHASE_LABELS[phase])}</text>`);
    lx += 30 + PHASE_LABELS[phase].length * 7;
  }
  parts.push(`<path class="axis" d="M${M.left} ${M.top}V${f(M.top + PH)}H${M.left + PW}"/>`,
    `<text class="label" x="${M.left + PW / 2}" y="${f(H - 4)}" text-anchor="middle">seconds since the strategy started</text>`,
    `<text class="label" x="12" y="${f(M.top + PH / 2)}" text-anchor="middle" transform="rotate(-90 12 ${f(M.top + PH / 2)})">agent</text>`);
  const title = escapeXml(options.title);
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${f(H)}" width="${W}" height="${f(H)}" role="img" ` +
    `aria-label="${title}"><title>${title}</title>${parts.join('')}</svg>`;
}
