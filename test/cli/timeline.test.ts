// The demo's per-agent timeline: bars recorded from ringleader's diagnostics channels as a
// Scheduler runs keyed tasks, the recorder's bound, and the SVG drawn from the bars.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../lib/index.js';
import { TIMELINE_PHASES, TimelineRecorder, type Timeline } from '../../lib/cli/timeline.js';
import { agentContext, recordFromChannels } from '../../lib/cli/timeline-channels.js';
import { phaseTotals, renderTimeline } from '../../lib/cli/timeline-svg.js';
import { deferred } from '../scheduler/helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  vi.useRealTimers();
});

/** [agent, phase, from, to] of every bar, times relative to the recorder's t0. */
function bars(t: Timeline): Array<[number, string, number, number]> {
  const out: Array<[number, string, number, number]> = [];
  for (let i = 0; i < t.bars.length; i += 4) out.push([t.bars[i]!, TIMELINE_PHASES[t.bars[i + 1]!]!, t.bars[i + 2]!, t.bars[i + 3]!]);
  return out;
}

function record(): TimelineRecorder {
  const rec = new TimelineRecorder(performance.now());
  cleanups.push(recordFromChannels(rec));
  return rec;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const http = (status: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe('recordFromChannels', () => {
  it('draws a queued task\'s wait and its run on its agent\'s row', async () => {
    vi.useFakeTimers();
    const rec = record();
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const first = s.run(() => gate.promise, { key: 'agent-0' });
    const second = s.run(() => sleep(20), { key: 'agent-1' });
    await vi.advanceTimersByTimeAsync(100);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(50);
    await Promise.all([first, second]);
    const drawn = bars(rec.toJSON());
    expect(drawn.map(([a, p]) => `${a}:${p}`).sort()).toEqual(['0:run', '1:queue', '1:run']);
    const wait = drawn.find(([a, p]) => a === 1 && p === 'queue')!;
    expect(wait[3] - wait[2]).toBeGreaterThanOrEqual(100);
  });

  it('draws each failed attempt\'s run, its retry backoff (Retry-After as its floor) and the 429\'s key pause', async () => {
    vi.useFakeTimers();
    const rec = record();
    const s = new Scheduler({ concurrency: 1, retry: { retries: 1, minDelay: 50, jitter: 'none' } });
    let n = 0;
    const p = s.run(async () => {
      await sleep(10);
      if (++n === 1) throw http(429, { 'retry-after-ms': '300' });
      return 'ok';
    }, { key: 'agent-3' });
    await vi.advanceTimersByTimeAsync(1000);
    await p;
    const drawn = bars(rec.toJSON()).filter(([a]) => a === 3).map(([, phase, from, to]) => [phase, Math.round(to - from)] as const);
    expect(drawn.map(([phase]) => phase).sort()).toEqual(['pause', 'retry', 'run', 'run']);
    expect(drawn.filter(([phase]) => phase === 'run').map(([, ms]) => ms)).toEqual([10, 10]);
    expect(drawn.find(([phase]) => phase === 'pause')![1]).toBe(300);
    expect(drawn.find(([phase]) => phase === 'retry')![1]).toBe(300);
  });

  it('splits a wait into queue and rate window from the moment the windows held the task', async () => {
    vi.useFakeTimers();
    const rec = record();
    const s = new Scheduler({ concurrency: 2, rate: { limit: 1, interval: 1000 } });
    const all = [s.run(() => 1, { key: 'agent-0' }), s.run(() => 2, { key: 'agent-1' })];
    await vi.advanceTimersByTimeAsync(1500);
    await Promise.all(all);
    const rate = bars(rec.toJSON()).filter(([, p]) => p === 'rate');
    expect(rate).toHaveLength(1);
    expect(rate[0]![0]).toBe(1);
    expect(rate[0]![3] - rate[0]![2]).toBeGreaterThan(900);
  });

  it('finds the agent of a task without a key from the async context it was submitted in', async () => {
    vi.useFakeTimers();
    const rec = record();
    const s = new Scheduler({ concurrency: 4 });
    const p = agentContext.run(5, () => s.run(() => sleep(30)));
    await vi.advanceTimersByTimeAsync(50);
    await p;
    expect(bars(rec.toJSON()).map(([a, phase]) => `${a}:${phase}`)).toEqual(['5:run']);
  });

  it('ignores tasks whose key names no agent', async () => {
    const rec = record();
    await new Scheduler({ concurrency: 1 }).run(() => 1, { key: 'other' });
    expect(rec.toJSON().bars).toEqual([]);
  });
});

describe('TimelineRecorder', () => {
  it('keeps at most 200,000 bars and counts the ones it dropped', () => {
    const rec = new TimelineRecorder(0);
    for (let i = 0; i < 200_010; i++) rec.add(i % 7, 'run', i, i + 1);
    const t = rec.toJSON();
    expect(t.bars.length).toBe(800_000);
    expect(t.dropped).toBe(10);
  });

  it('stores no empty or reversed bars', () => {
    const rec = new TimelineRecorder(0);
    rec.add(0, 'run', 5, 5);
    rec.add(0, 'run', 6, 2);
    expect(rec.toJSON().bars).toEqual([]);
  });
});

describe('renderTimeline', () => {
  const t: Timeline = { bars: [0, 0, 0, 100, 0, 4, 100, 300, 0, 4, 300.1, 400, 1, 3, 0, 50, 250, 4, 0, 10], dropped: 0 };

  it('draws one path per phase present and merges touching bars of a row', () => {
    const svg = renderTimeline(t, { xMaxMs: 1000, agents: 2, title: 't' });
    expect([...svg.matchAll(/<path class="tl-(\w+)" data-phase/g)].map((m) => m[1])).toEqual(['queue', 'retry', 'run']);
    const run = /<path class="tl-run" data-phase="run" [^>]*d="([^"]+)"/.exec(svg)![1]!;
    expect(run.match(/M/g)).toHaveLength(1);
  });

  it('draws at most 200 rows and leaves out agents beyond them', () => {
    const svg = renderTimeline(t, { xMaxMs: 1000, agents: 5000, title: 't' });
    const height = Number(/height="([\d.]+)"/.exec(svg)![1]);
    expect(height).toBeLessThan(500);
    expect(svg).not.toContain('NaN');
  });

  it('sums agent-seconds per phase', () => {
    const totals = phaseTotals(t);
    expect(totals.queue).toBeCloseTo(0.1, 9);
    expect(totals.retry).toBeCloseTo(0.05, 9);
    expect(totals.run).toBeCloseTo(0.3099, 9);
    expect(totals.rate + totals.pause).toBe(0);
  });
});
