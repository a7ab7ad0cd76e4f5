// The demo's HTML report: the run's settings, the summary and ratio tables, and per strategy
// a chart and a per-agent timeline on a shared time axis. One self-contained file: inline
// CSS and SVG, no script and no network, so it reads the same offline, years later.

import { escapeXml, renderChart } from './chart-svg.js';
import type { ProviderLimits, StrategyRecord } from './demo-types.js';
import { TIMELINE_PHASES } from './timeline.js';
import { PHASE_LABELS, phaseTotals, renderTimeline } from './timeline-svg.js';
import { RATIO_NOTE, summarize, type Table } from './summary.js';

export interface ReportData {
  /** Agents in the run: the timelines' rows. Default: the most any strategy ran. */
  agents?: number;
  /** Sentences describing the run: workload, provider, machine. */
  about: string[];
  limits: ProviderLimits;
  records: Array<StrategyRecord & { description: string }>;
  skipped: Array<{ strategy: string; reason: string }>;
  generatedAt: Date;
}

const STYLE = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2937; margin: 0; background: #f9fafb; }
main { max-width: 960px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 8px; } h2 { font-size: 19px; margin: 28px 0 8px; } h3 { font-size: 16px; margin: 0 0 4px; }
.about { color: #4b5563; margin: 2px 0; }
table { border-collapse: collapse; margin: 8px 0; background: #fff; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f4f6; font-weight: 600; }
.note { color: #6b7280; font-size: 13px; }
section.strategy { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
figure { margin: 8px 0 0; } figcaption { color: #4b5563; font-size: 13px; }
svg { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg .grid { stroke: #e5e7eb; } svg .axis { stroke: #9ca3af; fill: none; }
svg .tick { fill: #6b7280; } svg .label { fill: #374151; font-size: 12px; }
svg .inflight { stroke: #2563eb; stroke-width: 1.5; fill: none; } svg .area { fill: #2563eb; fill-opacity: 0.12; }
svg .limited { fill: #dc2626; fill-opacity: 0.75; } svg .rate, svg .rate.tick { fill: #b91c1c; }
svg .cap { stroke: #6b7280; stroke-dasharray: 5 4; fill: none; } svg .cap-label { fill: #6b7280; }
svg .inflight-label { fill: #1d4ed8; }
svg .tl-queue { fill: #9ca3af; } svg .tl-rate { fill: #f59e0b; } svg .tl-pause { fill: #8b5cf6; }
svg .tl-retry { fill: #ef4444; } svg .tl-run { fill: #16a34a; }
`;

export function renderReport(data: ReportData): string {
  const results = data.records.map((r) => r.result);
  const summary = summarize(results);
  const xMaxMs = Math.max(1, ...data.records.map((r) => Math.max(r.result.wallMs, r.series.t.at(-1) ?? 0)));
  const agents = data.agents ?? Math.max(1, ...results.map((r) => r.completed + r.failed));
  const sections = data.records.map(({ result, series, timeline, description }) => {
    const chart = renderChart(series, {
      xMaxMs, cap: data.limits.concurrency,
      title: `${result.strategy}: requests in flight at the provider and 429s per second over time`,
    });
    const caption = `${result.completed} of ${result.completed + result.failed} agents done, ${result.failed} failed; ` +
      `${result.requests} requests, ${result.rateLimited} answered 429, peak ${result.peakInFlight} in flight; ` +
      `${(result.wallMs / 1000).toFixed(2)} s${result.cutAtDeadline ? ' (cut at the deadline)' : ''}.` +
      (result.learned === undefined ? '' : ` ${result.learned[0]!.toUpperCase()}${result.learned.slice(1)}.`);
    return `<section class="strategy" id="strategy-${escapeXml(result.strategy)}">
<h3>${escapeXml(result.strategy)}</h3>
<p class="note">${escapeXml(description)}</p>
<figure class="chart" data-strategy="${escapeXml(result.strategy)}">${chart}
<figcaption>${escapeXml(caption)}</figcaption></figure>
${timeline === undefined ? '' : timelineFigure(result.strategy, timeline, xMaxMs, agents)}
</section>`;
  });
  const skipped = data.skipped.map((s) => `<p class="note">${escapeXml(`${s.strategy} skipped: ${s.reason}`)}</p>`);
  const ratios = summary.ratios.rows.length === 0 ? ''
    : `<h2>ringleader against each peer</h2>\n${table(summary.ratios)}\n<p class="note">${escapeXml(RATIO_NOTE)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringleader demo report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>ringleader demo: agents against a rate-limited LLM provider</h1>
${data.about.map((line) => `<p class="about">${escapeXml(line)}</p>`).join('\n')}
<h2>Summary</h2>
${table(summary.results)}
<p class="note">Tasks are agents (plan, tool calls, synthesize); latency runs from an agent's plan to its synthesis. ` +
  `Requests, 429s and 500/503s are counted by the provider. * cut at the deadline.</p>
${ratios}
${skipped.join('\n')}
<h2>Requests in flight and 429s over time</h2>
<p class="note">Every chart shares one time axis. Blue: requests the provider is serving; red: 429s it answered, per second; ` +
  `dashed: the provider's concurrency cap. Where nothing is in flight, the provider's requests- or tokens-per-minute ` +
  `window is used up: it admits nothing until the window slides.</p>
<p class="note">Under each chart, its timeline: one row per agent; grey while a step waits in its queue, amber while ` +
  `it waits for a rate window, violet while its key is paused after a 429, red while it sleeps before a retry, ` +
  `green while it runs.</p>
${sections.join('\n')}
<p class="note">Generated by <code>ringleader demo</code> on ${escapeXml(data.generatedAt.toISOString())}.</p>
</main>
</body>
</html>
`;
}

function timelineFigure(strategy: string, timeline: NonNullable<StrategyRecord['timeline']>, xMaxMs: number, agents: number): string {
  const svg = renderTimeline(timeline, {
    xMaxMs, agents, title: `${strategy}: where each agent's time went (queued, rate window, paused, retry backoff, running)`,
  });
  const totals = phaseTotals(timeline);
  const spent = TIMELINE_PHASES.map((p) => `${PHASE_LABELS[p]} ${totals[p].toFixed(1)}`).join(', ');
  const rows = agents > 200 ? ` The first 200 of ${agents} agents are shown.` : '';
  const cut = timeline.dropped > 0 ? ` ${timeline.dropped} bars past the recording bound are not drawn.` : '';
  return `<figure class="timeline" data-strategy="${escapeXml(strategy)}">${svg}
<figcaption>${escapeXml(`Agent-seconds (an agent's tool calls overlap): ${spent}.${rows}${cut}`)}</figcaption></figure>`;
}

function table({ header, rows }: Table): string {
  const head = `<tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
