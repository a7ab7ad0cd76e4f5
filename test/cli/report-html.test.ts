// The HTML report renders from recorded data: one chart per strategy, drawn with inline
// SVG paths, with no script and nothing fetched from the network.
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../lib/cli/report-html.js';
import { reportFixture } from './report-fixture.js';

describe('renderReport', () => {
  it('draws one chart per strategy', () => {
    const html = renderReport(reportFixture());
    const charts = [...html.matchAll(/<figure class="chart" data-strategy="([^"]+)">\s*<svg /g)].map((m) => m[1]);
    expect(charts).toEqual(['naive', 'p-limit', 'ringleader-js']);
    expect(html.match(/<figure class="chart"/g)).toHaveLength(3);
  });

  it('draws one timeline per strategy, after its chart, with bars only for the phases it recorded', () => {
    const html = renderReport(reportFixture());
    const sections = html.split('<section class="strategy"').slice(1);
    expect(sections.map((s) => /<figure class="chart"[\s\S]*<figure class="timeline"/.test(s))).toEqual([true, true, true]);
    const phases = sections.map((s) => [...s.matchAll(/<path class="tl-(\w+)" data-phase/g)].map((m) => m[1]));
    expect(phases).toEqual([['run'], ['queue', 'retry', 'run'], ['queue', 'rate', 'pause', 'run']]);
  });

  it('leaves the timeline out of a record that has none', () => {
    const data = reportFixture();
    delete data.records[0]!.timeline;
    const html = renderReport(data);
    expect(html.match(/<figure class="timeline"/g)).toHaveLength(2);
  });

  it('draws the in-flight line of every strategy and 429 bars only where 429s happened', () => {
    const html = renderReport(reportFixture());
    expect(html.match(/<path class="inflight" d="M[^"]+"/g)).toHaveLength(3);
    const sections = html.split('<section class="strategy"').slice(1);
    expect(sections.map((s) => /<path class="limited" d="M/.test(s))).toEqual([true, true, false]);
  });

  it('puts every strategy on one time axis', () => {
    const html = renderReport(reportFixture());
    // The longest run (14.8 s) sets the axis, so each chart ends at the same tick.
    const lastTicks = html.split('<svg ').slice(1).map((svg) => {
      const ticks = [...svg.matchAll(/text-anchor="middle">([\d.]+)<\/text>/g)].map((m) => Number(m[1]));
      return Math.max(...ticks);
    });
    expect(new Set(lastTicks).size).toBe(1);
    expect(lastTicks[0]).toBeGreaterThanOrEqual(14);
  });

  it('is self-contained: no script, no external resource', () => {
    const html = renderReport(reportFixture());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('escapes text taken from the run', () => {
    const html = renderReport(reportFixture());
    expect(html).toContain('200 agents &#60;each&#62;');
    expect(html).toContain('127.0.0.1 &#38; friends');
    expect(html).not.toContain('<each>');
  });

  it('includes the summary table and ringleader\'s ratio to each peer', () => {
    const html = renderReport(reportFixture());
    expect(html).toContain('<td>ringleader-js vs naive</td>');
    expect(html).toContain('<td>ringleader-js vs p-limit</td>');
    expect(html).toMatch(/<td>naive<\/td><td>3<\/td><td>197<\/td>/);
  });
});
