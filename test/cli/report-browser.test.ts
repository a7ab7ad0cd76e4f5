// The report in a real headless browser (Debian's chromium through playwright-core): it
// loads from file:// with no console errors and its charts are drawn SVG paths.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../lib/cli/report-html.js';
import { reportFixture } from './report-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const hasChromium = existsSync(CHROMIUM);
const title = hasChromium ? 'report in headless chromium'
  : `report in headless chromium: SKIPPED, ${CHROMIUM} is missing (apt-get install chromium)`;

describe.skipIf(!hasChromium)(title, () => {
  it('loads with no console errors and draws non-empty paths in every chart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ringleader-report-'));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const file = join(dir, 'ringleader-report.html');
      await writeFile(file, renderReport(reportFixture()));
      const page = await browser.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const charts = await page.$$eval('figure.chart svg', (svgs) => svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const drawn = [...svg.querySelectorAll('path')].filter((p) => {
          const d = p.getAttribute('d') ?? '';
          const b = p.getBBox();
          return d.trim() !== '' && (b.width > 0 || b.height > 0);
        });
        return { width: box.width, height: box.height, drawn: drawn.length,
          inflight: svg.querySelectorAll('path.inflight').length };
      }));
      expect(errors).toEqual([]);
      expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([]);
      expect(charts).toHaveLength(3);
      for (const chart of charts) {
        expect(chart.width).toBeGreaterThan(100);
        expect(chart.height).toBeGreaterThan(50);
        expect(chart.inflight).toBe(1);
        expect(chart.drawn).toBeGreaterThan(3);
      }
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('draws a timeline under every chart: rows of coloured bars, sized to the page, in the screenshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ringleader-report-'));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const file = join(dir, 'ringleader-report.html');
      await writeFile(file, renderReport(reportFixture()));
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const timelines = await page.$$eval('figure.timeline svg', (svgs) => svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const bars = [...svg.querySelectorAll('path[data-phase]')].map((p) => {
          const b = (p as unknown as { getBBox(): { width: number; height: number } }).getBBox();
          const style = (globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }).getComputedStyle(p);
          return { phase: p.getAttribute('data-phase'), width: b.width, height: b.height, fill: style.fill };
        });
        return { width: box.width, height: box.height, bars, legend: svg.querySelectorAll('rect').length };
      }));
      expect(timelines).toHaveLength(3);
      for (const t of timelines) {
        expect(t.width).toBeGreaterThan(600);
        // 200 agents at 2 px a row, plus axis and legend.
        expect(t.height).toBeGreaterThan(400);
        expect(t.legend).toBe(5);
        for (const bar of t.bars) {
          expect(bar.width).toBeGreaterThan(10);
          expect(bar.height).toBeGreaterThan(300);
        }
      }
      // Each phase has its own colour.
      const fills = new Map(timelines.flatMap((t) => t.bars.map((b) => [b.phase, b.fill] as const)));
      expect(new Set(fills.values()).size).toBe(fills.size);
      expect([...fills.keys()].sort()).toEqual(['pause', 'queue', 'rate', 'retry', 'run']);
      // The screenshot of ringleader's timeline has the size of its box and shows each of its
      // phases' colours over a real area (pixels counted on a canvas in the browser).
      const figure = page.locator('figure.timeline[data-strategy="ringleader-js"]');
      const shot = await figure.screenshot();
      const box = (await figure.boundingBox())!;
      expect(Math.abs(shot.readUInt32BE(16) - box.width)).toBeLessThanOrEqual(1);
      expect(Math.abs(shot.readUInt32BE(20) - box.height)).toBeLessThanOrEqual(1);
      const counter = await browser.newPage();
      await counter.setContent(`<img id="shot" src="data:image/png;base64,${shot.toString('base64')}">`);
      const pixels = await counter.evaluate(`(async () => {
        const img = document.getElementById('shot');
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const g = canvas.getContext('2d');
        g.drawImage(img, 0, 0);
        const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = { queue: [0x9c, 0xa3, 0xaf], rate: [0xf5, 0x9e, 0x0b], pause: [0x8b, 0x5c, 0xf6], run: [0x16, 0xa3, 0x4a] };
        const counts = { queue: 0, rate: 0, pause: 0, run: 0 };
        for (let i = 0; i < data.length; i += 4) {
          for (const [name, c] of Object.entries(colours)) {
            if (Math.abs(data[i] - c[0]) < 6 && Math.abs(data[i + 1] - c[1]) < 6 && Math.abs(data[i + 2] - c[2]) < 6) counts[name]++;
          }
        }
        return counts;
      })()`) as Record<string, number>;
      for (const phase of ['queue', 'rate', 'pause', 'run']) expect(pixels[phase], phase).toBeGreaterThan(5_000);
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
