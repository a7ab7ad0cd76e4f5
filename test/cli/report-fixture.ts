// Recorded-looking data for the HTML report tests: three strategies with series shaped like
// a real run (a naive burst of 429s, a retrying peer, a paced ringleader).
import type { ReportData } from '../../lib/cli/report-html.js';
import type { Series, StrategyName, StrategyResult } from '../../lib/cli/demo-types.js';
import { TIMELINE_PHASES, type Timeline, type TimelinePhase } from '../../lib/cli/timeline.js';

function series(ms: number, inFlight: (t: number) => number, limitedPerSample: (t: number) => number): Series {
  const out: Series = { t: [], inFlight: [], rateLimited: [] };
  let limited = 0;
  for (let t = 0; t <= ms; t += 20) {
    limited += limitedPerSample(t);
    out.t.push(t);
    out.inFlight.push(inFlight(t));
    out.rateLimited.push(limited);
  }
  return out;
}

/** Per agent, `steps` consecutive stretches cycling through `phases`, each `ms` long, staggered by agent. */
function timeline(agents: number, phases: TimelinePhase[], ms: number, steps: number): Timeline {
  const bars: number[] = [];
  for (let agent = 0; agent < agents; agent++) {
    let t = agent * 5;
    for (let i = 0; i < steps; i++) {
      bars.push(agent, TIMELINE_PHASES.indexOf(phases[i % phases.length]!), t, t + ms);
      t += ms;
    }
  }
  return { bars, dropped: 0 };
}

function result(strategy: StrategyName, fields: Partial<StrategyResult>): StrategyResult {
  return {
    strategy, completed: 200, failed: 0, wallMs: 10_000, p50Ms: 4_000, p99Ms: 9_000, peakRssBytes: 80 * 2 ** 20,
    cutAtDeadline: false, requests: 1_200, rateLimited: 0, serverErrors: 6, peakInFlight: 16, ...fields,
  };
}

export function reportFixture(): ReportData {
  return {
    about: ['200 agents <each> plan → 6 tool calls → synthesize.', 'Mock provider on 127.0.0.1 & friends.'],
    limits: { concurrency: 16, rpm: 600, tpm: 800_000, windowMs: 6_000 },
    skipped: [],
    generatedAt: new Date('2026-01-01T00:00:00Z'),
    records: [
      {
        description: 'Promise.all, no limit, no retries',
        result: result('naive', { completed: 3, failed: 197, wallMs: 1_300, requests: 308, rateLimited: 243, p50Ms: 660, p99Ms: 660 }),
        series: series(1_300, (t) => (t < 300 ? 16 : 2), (t) => (t < 200 ? 20 : 0)),
        timeline: timeline(200, ['run'], 300, 1),
      },
      {
        description: 'p-limit(16) around a hand-rolled retry',
        result: result('p-limit', { completed: 186, failed: 14, wallMs: 13_700, requests: 1_429, rateLimited: 237 }),
        series: series(13_700, (t) => (t % 6_000 < 3_000 ? 16 : 0), (t) => (t % 6_000 > 3_200 && t % 6_000 < 4_000 ? 2 : 0)),
        timeline: timeline(200, ['queue', 'run', 'retry', 'run'], 1_500, 8),
      },
      {
        description: 'Scheduler: 16 at once, RPM and TPM windows',
        result: result('ringleader-js', { wallMs: 14_800, requests: 1_206 }),
        series: series(14_800, (t) => (t % 6_000 < 3_100 ? 16 : 0), () => 0),
        timeline: timeline(200, ['queue', 'rate', 'run', 'pause', 'run'], 1_400, 10),
      },
    ],
  };
}
