// `ringleader demo --trace FILE`: Chrome trace events that Perfetto loads (complete events
// nest on every thread, metadata names processes and threads) and OTLP-JSON whose spans form
// one tree per agent; checked on the report fixture and on a real demo run from dist/.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chromeTrace, otlpTrace } from '../../lib/cli/trace-file.js';
import { reportFixture } from './report-fixture.js';

interface ChromeEvent { ph: string; pid: number; tid: number; name: string; ts?: number; dur?: number; args?: Record<string, unknown> }
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; startTimeUnixNano: string; endTimeUnixNano: string }

const root = fileURLToPath(new URL('../..', import.meta.url));
const records = reportFixture().records.map((r, i) => ({ ...r, startedAt: 1_767_225_600_000 + i * 20_000 }));

/** Complete events on one thread must nest or follow each other: what trace viewers require. */
function overlapsOnAThread(events: ChromeEvent[]): string[] {
  const byThread = new Map<string, ChromeEvent[]>();
  for (const e of events.filter((e) => e.ph === 'X')) {
    const k = `${e.pid}/${e.tid}`;
    byThread.set(k, [...(byThread.get(k) ?? []), e]);
  }
  const bad: string[] = [];
  for (const [k, list] of byThread) {
    list.sort((a, b) => a.ts! - b.ts!);
    for (let i = 1; i < list.length; i++) if (list[i]!.ts! < list[i - 1]!.ts! + list[i - 1]!.dur!) bad.push(k);
  }
  return bad;
}

function checkOtlp(doc: { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }): OtlpSpan[] {
  const spans = doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  const ids = new Set(spans.map((s) => s.spanId));
  for (const s of spans) {
    expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
    if (s.parentSpanId !== undefined) expect(ids.has(s.parentSpanId)).toBe(true);
    expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);
  }
  return spans;
}

describe('chromeTrace', () => {
  it('puts each strategy in a named process and every bar on an agent thread, never overlapping on one', () => {
    const { traceEvents } = chromeTrace(records) as { traceEvents: ChromeEvent[] };
    const processes = traceEvents.filter((e) => e.name === 'process_name').map((e) => e.args!.name);
    expect(processes).toEqual(['naive', 'p-limit', 'ringleader-js']);
    const bars = traceEvents.filter((e) => e.ph === 'X');
    expect(bars).toHaveLength(records.reduce((n, r) => n + r.timeline!.bars.length / 4, 0));
    expect(overlapsOnAThread(traceEvents)).toEqual([]);
    const threads = new Set(traceEvents.filter((e) => e.name === 'thread_name').map((e) => `${e.pid}/${e.tid}`));
    for (const bar of bars) expect(threads.has(`${bar.pid}/${bar.tid}`)).toBe(true);
    expect(new Set(bars.map((b) => b.name))).toEqual(new Set(['queued', 'rate window', 'key paused (429)', 'retry backoff', 'running']));
  });

  it('carries the provider\'s in-flight count as counter events', () => {
    const { traceEvents } = chromeTrace(records) as { traceEvents: ChromeEvent[] };
    const counters = traceEvents.filter((e) => e.ph === 'C' && e.pid === 1);
    expect(counters).toHaveLength(records[0]!.series.t.length);
    expect(counters[0]!.args).toEqual({ 'in flight': 16, '429s so far': 20 });
  });
});

describe('otlpTrace', () => {
  it('makes one trace per strategy, a root span per agent and a child span per bar, on the wall clock', () => {
    const spans = checkOtlp(otlpTrace(records) as never);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(3);
    const roots = spans.filter((s) => s.parentSpanId === undefined);
    expect(roots).toHaveLength(600);
    const first = spans.find((s) => s.name === 'ringleader.run')!;
    expect(Number(BigInt(first.startTimeUnixNano) / 1_000_000n)).toBe(1_767_225_600_000);
  });
});

describe('ringleader demo --trace', () => {
  const cli = (args: string[]): Promise<{ code: number; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'dist/cli/main.js'), 'demo', ...args], { cwd: root, timeout: 60_000 }, (err, _out, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stderr });
    });
  });

  it('writes a Chrome trace of a real run with every strategy\'s agents in it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rl-trace-'));
    try {
      const trace = join(dir, 'run.json');
      const run = await cli(['--agents', '6', '--fanout', '3', '--duration-scale', '0.01', '--strategies', 'p-limit,ringleader-js',
        '--report', join(dir, 'r.html'), '--trace', trace]);
      expect(run.code, run.stderr).toBe(0);
      const { traceEvents } = JSON.parse(await readFile(trace, 'utf8')) as { traceEvents: ChromeEvent[] };
      expect(traceEvents.filter((e) => e.name === 'process_name').map((e) => e.args!.name)).toEqual(['p-limit', 'ringleader-js']);
      for (const pid of [1, 2]) {
        const agents = new Set(traceEvents.filter((e) => e.ph === 'X' && e.pid === pid).map((e) => e.args!.agent));
        expect(agents.size, `pid ${pid}`).toBe(6);
        expect(traceEvents.some((e) => e.ph === 'X' && e.pid === pid && e.name === 'running')).toBe(true);
      }
      expect(overlapsOnAThread(traceEvents)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes OTLP-JSON with --trace-format otlp', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rl-trace-'));
    try {
      const trace = join(dir, 'run.otlp.json');
      const run = await cli(['--agents', '4', '--fanout', '2', '--duration-scale', '0.01', '--strategies', 'ringleader-js',
        '--report', join(dir, 'r.html'), '--trace', trace, '--trace-format', 'otlp']);
      expect(run.code, run.stderr).toBe(0);
      const spans = checkOtlp(JSON.parse(await readFile(trace, 'utf8')));
      expect(spans.filter((s) => s.parentSpanId === undefined).map((s) => s.name).sort()).toEqual(['agent 0', 'agent 1', 'agent 2', 'agent 3']);
      const now = BigInt(Date.now()) * 1_000_000n;
      expect(spans.every((s) => BigInt(s.endTimeUnixNano) <= now && BigInt(s.startTimeUnixNano) > now - 600_000_000_000n)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses --trace-format without --trace, and an unknown format', async () => {
    expect((await cli(['--trace-format', 'otlp'])).code).toBe(2);
    const bad = await cli(['--trace', 'x.json', '--trace-format', 'jaeger']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--trace-format must be one of chrome, otlp');
  });
});
