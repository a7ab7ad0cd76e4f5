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
});
