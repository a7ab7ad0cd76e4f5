// A strategy that learned its limits from the provider (ringleader-fetch) says so in its
// report row: the caption under its chart.
import { expect, it } from 'vitest';
import { renderReport } from '../../lib/cli/report-html.js';
import { reportFixture } from './report-fixture.js';

it('puts what a strategy learned in the caption of its chart, and nothing for one that learned nothing', () => {
  const data = reportFixture();
  data.records[2]!.result.learned = 'learned 600 requests (x-ratelimit-remaining-requests, 40 answers)';
  const captions = [...renderReport(data).matchAll(/<figcaption>([^<]*)<\/figcaption>/g)].map((m) => m[1]!);
  expect(captions.filter((c) => c.includes('Learned 600 requests (x-ratelimit-remaining-requests, 40 answers).'))).toHaveLength(1);
  expect(captions.filter((c) => c.includes('earned'))).toHaveLength(1);
});
