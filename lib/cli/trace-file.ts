// `ringleader demo --trace FILE`: the run's timelines as a trace file for the tools people
// already have. Chrome trace event JSON (Perfetto, chrome://tracing) puts each strategy in a
// process and each agent on threads; OTLP-JSON gives one trace per strategy, a root span per
// agent and a child span per bar, as an OpenTelemetry collector or backend would take them.

import { randomBytes } from 'node:crypto';
import type { StrategyRecord } from './demo-types.js';
import { TIMELINE_PHASES } from './timeline.js';
import { PHASE_LABELS } from './timeline-svg.js';

export type TraceFormat = 'chrome' | 'otlp';

/** A strategy's record as the trace needs it: which one, when it started (epoch ms), its bars. */
export type TracedRecord = Pick<StrategyRecord, 'result' | 'timeline' | 'series' | 'startedAt'>;

interface Bar {
  agent: number;
  phase: number;
  from: number;
  to: number;
}

function barsOf(record: TracedRecord): Bar[] {
  const b = record.timeline?.bars ?? [];
  const out: Bar[] = [];
  for (let i = 0; i < b.length; i += 4) out.push({ agent: b[i]!, phase: b[i + 1]!, from: b[i + 2]!, to: b[i + 3]! });
  return out;
}

// An agent's steps overlap (its tool calls run side by side), and Chrome's complete events on
// one thread must nest: each bar goes to the agent's first track free at its start.
function packTracks(bars: Bar[]): Map<Bar, number> {
  const track = new Map<Bar, number>();
  const ends = new Map<number, number[]>();
  for (const bar of [...bars].sort((a, c) => a.from - c.from || a.to - c.to)) {
    let lanes = ends.get(bar.agent);
    if (lanes === undefined) ends.set(bar.agent, (lanes = []));
    let lane = lanes.findIndex((end) => end <= bar.from);
    if (lane === -1) lane = lanes.push(bar.to) - 1;
    else lanes[lane] = bar.to;
    track.set(bar, lane);
  }
  return track;
}

// Thread ids: agent-major, room for 64 overlapping tracks per agent.
const TRACKS = 64;

export function chromeTrace(records: readonly TracedRecord[]): object {
  const events: object[] = [];
  records.forEach((record, i) => {
    const pid = i + 1;
    events.push({ ph: 'M', pid, tid: 0, name: 'process_name', args: { name: record.result.strategy } },
      { ph: 'M', pid, tid: 0, name: 'process_sort_index', args: { sort_index: pid } });
    const bars = barsOf(record);
    const tracks = packTracks(bars);
    const named = new Set<number>();
    for (const bar of bars) {
      const tid = bar.agent * TRACKS + Math.min(tracks.get(bar)!, TRACKS - 1) + 1;
      if (!named.has(tid)) {
        named.add(tid);
        events.push({ ph: 'M', pid, tid, name: 'thread_name', args: { name: `agent ${bar.agent}` } },
          { ph: 'M', pid, tid, name: 'thread_sort_index', args: { sort_index: tid } });
      }
      const phase = TIMELINE_PHASES[bar.phase]!;
      events.push({
        ph: 'X', pid, tid, cat: 'ringleader', name: PHASE_LABELS[phase], ts: us(bar.from), dur: us(bar.to - bar.from),
        args: { agent: bar.agent, phase },
      });
    }
    // The provider's view as counters on the same clock.
    const s = record.series;
    for (let k = 0; k < s.t.length; k++) {
      events.push({ ph: 'C', pid, tid: 0, name: 'provider', ts: us(s.t[k]!), args: { 'in flight': s.inFlight[k], '429s so far': s.rateLimited[k] } });
    }
  });
  return { traceEvents: events, displayTimeUnit: 'ms' };
}

export function otlpTrace(records: readonly TracedRecord[]): object {
  const spans: object[] = [];
  for (const record of records) {
    const traceId = randomBytes(16).toString('hex');
    const start = record.startedAt ?? 0;
    const nanos = (ms: number): string => (BigInt(Math.round((start + ms) * 1000)) * 1000n).toString();
    const strategy = { key: 'ringleader.strategy', value: { stringValue: record.result.strategy } };
    const byAgent = new Map<number, Bar[]>();
    for (const bar of barsOf(record)) {
      let list = byAgent.get(bar.agent);
      if (list === undefined) byAgent.set(bar.agent, (list = []));
      list.push(bar);
    }
    for (const [agent, bars] of byAgent) {
      const agentSpan = randomBytes(8).toString('hex');
      const agentAttr = { key: 'ringleader.agent', value: { intValue: String(agent) } };
      spans.push({
        traceId, spanId: agentSpan, name: `agent ${agent}`, kind: 1,
        startTimeUnixNano: nanos(Math.min(...bars.map((b) => b.from))), endTimeUnixNano: nanos(Math.max(...bars.map((b) => b.to))),
        attributes: [strategy, agentAttr],
      });
      for (const bar of bars) {
        const phase = TIMELINE_PHASES[bar.phase]!;
        spans.push({
          traceId, spanId: randomBytes(8).toString('hex'), parentSpanId: agentSpan, name: `ringleader.${phase}`, kind: 1,
          startTimeUnixNano: nanos(bar.from), endTimeUnixNano: nanos(bar.to),
          attributes: [strategy, agentAttr, { key: 'ringleader.phase', value: { stringValue: phase } }],
        });
      }
    }
  }
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ringleader-demo' } }] },
      scopeSpans: [{ scope: { name: 'ringleader' }, spans }],
    }],
  };
}

function us(ms: number): number {
  return Math.round(ms * 1000);
}
