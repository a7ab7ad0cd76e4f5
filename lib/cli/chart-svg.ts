// One strategy's chart as inline SVG: requests in flight at the provider (a step line over
// a shaded area), 429s per second (bars, right axis) and the provider's concurrency cap.
// Plain markup with no script, so it draws offline and in any browser.

import type { Series } from './demo-types.js';

export interface ChartOptions {
  /** Right end of the time axis in ms; shared by every chart of a report so they compare. */
  xMaxMs: number;
  /** The provider's concurrency cap, drawn as a dashed line. */
  cap: number;
  title: string;
}

const W = 880;
const H = 260;
const M = { left: 52, right: 60, top: 28, bottom: 36 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;
const COLUMNS = 400;
const BARS = 120;
const MIN_RATE_AXIS = 10;

export function renderChart(series: Series, options: ChartOptions): string {
  const xMax = Math.max(options.xMaxMs, 1);
  const x = (ms: number): number => M.left + (Math.min(ms, xMax) / xMax) * PW;
  const inFlight = columnsMax(series, xMax);
  const yMax = niceCeil(Math.max(options.cap, ...inFlight.map((p) => p.value), 1));
  const y = (v: number): number => M.top + PH - (v / yMax) * PH;
  const rates = rateBars(series, xMax);
  // A floor keeps a chart with few or no 429s from stretching them to full height.
  const rMax = niceCeil(Math.max(MIN_RATE_AXIS, ...rates));
  const r = (v: number): number => M.top + PH - (v / rMax) * PH;

  const parts: string[] = [];
  for (const tick of ticks(yMax)) {
    parts.push(`<path class="grid" d="M${M.left} ${f(y(tick))}H${M.left + PW}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${f(y(tick) + 4)}" text-anchor="end">${tick}</text>`);
  }
  for (const tick of ticks(rMax)) {
    parts.push(`<text class="tick rate" x="${M.left + PW + 6}" y="${f(r(tick) + 4)}">${tick}</text>`);
  }
  for (const tick of ticks(xMax / 1000, 8)) {
    parts.push(`<path class="axis" d="M${f(x(tick * 1000))} ${M.top + PH}v5"/>`,
      `<text class="tick" x="${f(x(tick * 1000))}" y="${M.top + PH + 18}" text-anchor="middle">${tick}</text>`);
  }
  const binW = PW / BARS;
  const bars = rates.map((v, i) => (v === 0 ? '' : `M${f(M.left + i * binW)} ${f(M.top + PH)}V${f(r(v))}h${f(binW * 0.8)}V${f(M.top + PH)}Z`)).join('');
  if (bars !== '') parts.push(`<path class="limited" d="${bars}"/>`);
  if (inFlight.length > 0) {
    let line = `M${f(x(inFlight[0]!.from))} ${f(y(inFlight[0]!.value))}`;
    for (const p of inFlight) line += `V${f(y(p.value))}H${f(x(p.to))}`;
    parts.push(`<path class="area" d="${line}V${f(y(0))}H${f(x(inFlight[0]!.from))}Z"/>`, `<path class="inflight" d="${line}"/>`);
  }
  parts.push(`<path class="cap" d="M${M.left} ${f(y(options.cap))}H${M.left + PW}"/>`,
    `<path class="axis" d="M${M.left} ${M.top}V${M.top + PH}H${M.left + PW}V${M.top}"/>`,
    `<text class="label" x="${M.left + PW / 2}" y="${H - 4}" text-anchor="middle">seconds since the strategy started</text>`,
    `<text class="label inflight-label" x="${M.left}" y="${M.top - 10}">requests in flight at the provider</text>`,
    `<text class="label rate" x="${M.left + PW + 52}" y="${M.top - 10}" text-anchor="end">429s per second</text>`,
    `<text class="label cap-label" x="${M.left + PW - 4}" y="${f(y(options.cap) - 5)}" text-anchor="end">provider cap ${options.cap}</text>`);
  const title = escapeXml(options.title);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" ` +
    `aria-label="${title}"><title>${title}</title>${parts.join('')}</svg>`;
}

/** The series cut into COLUMNS time slices, each with the highest in-flight count it saw. */
function columnsMax(series: Series, xMax: number): Array<{ from: number; to: number; value: number }> {
  const n = series.t.length;
  if (n === 0) return [];
  const end = Math.min(series.t[n - 1]!, xMax);
  const width = Math.max(end, 1) / COLUMNS;
  const out: Array<{ from: number; to: number; value: number }> = [];
  let i = 0;
  for (let c = 0; c < COLUMNS && i < n; c++) {
    const to = c === COLUMNS - 1 ? Infinity : (c + 1) * width;
    let value = -1;
    while (i < n && series.t[i]! <= to) value = Math.max(value, series.inFlight[i++]!);
    if (value >= 0) out.push({ from: c * width, to: Math.min(to, end), value });
  }
  return out;
}

/** 429s per second in each of BARS slices of [0, xMax], from the cumulative count. */
function rateBars(series: Series, xMax: number): number[] {
  const width = xMax / BARS;
  const counts = new Array<number>(BARS).fill(0);
  for (let i = 1; i < series.t.length; i++) {
    const added = series.rateLimited[i]! - series.rateLimited[i - 1]!;
    if (added > 0) counts[Math.min(BARS - 1, Math.floor(series.t[i]! / width))]! += added;
  }
  return counts.map((c) => c / (width / 1000));
}

/** The next 1, 2 or 5 × 10^k at or above v. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function ticks(max: number, target = 4): number[] {
  const step = niceCeil(max / target);
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

export function f(v: number): string {
  return v.toFixed(1);
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
