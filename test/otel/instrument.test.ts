// ringleader/otel against the real OpenTelemetry SDK: span trees, attributes, statuses and
// metric values, with the AsyncLocalStorage context manager a Node service would register.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality, DataPointType, MeterProvider, MetricReader, type HistogramMetricData, type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DroppedError, Engine, Scheduler, WorkerPool } from '../../lib/index.js';
import { instrument, type Uninstrument } from '../../lib/otel/index.js';
import { deferred } from '../scheduler/helpers.js';

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }

  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

let exporter: InMemorySpanExporter;
let tracerProvider: BasicTracerProvider;
let reader: TestReader;
let meterProvider: MeterProvider;
let tracer: Tracer;
let off: Uninstrument;
let contextManager: AsyncLocalStorageContextManager;

beforeEach(() => {
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  exporter = new InMemorySpanExporter();
  tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  reader = new TestReader();
  meterProvider = new MeterProvider({ readers: [reader] });
  tracer = tracerProvider.getTracer('test');
  off = instrument({ tracerProvider, meterProvider });
});

afterEach(async () => {
  off();
  context.disable();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan): string => s.spanContext().spanId;

async function metric(name: string): Promise<MetricData | undefined> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) if (m.descriptor.name === name) return m;
  }
  return undefined;
}

/** Sum of a counter's points whose attributes include `where`. */
async function total(name: string, where: Record<string, unknown> = {}): Promise<number> {
  const m = await metric(name);
  if (m === undefined) return 0;
  let sum = 0;
  for (const p of m.dataPoints) {
    if (Object.entries(where).every(([k, v]) => p.attributes[k] === v)) sum += p.value as number;
  }
  return sum;
}

const http = (status: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe('spans', () => {
  it('makes ringleader.queue a child of the caller\'s span and ringleader.attempt a child of the queue span', async () => {
    const s = new Scheduler({ concurrency: 1, name: 'llm' });
    await tracer.startActiveSpan('request', async (request) => {
      await s.run(() => 'ok', { key: 'tenant', priority: 2 });
      request.end();
    });
    const [request] = spans('request');
    const [queue] = spans('ringleader.queue');
    const [attempt] = spans('ringleader.attempt');
    expect(parentOf(queue!)).toBe(idOf(request!));
    expect(parentOf(attempt!)).toBe(idOf(queue!));
    expect(attempt!.spanContext().traceId).toBe(request!.spanContext().traceId);
    expect(attempt!.links.map((l) => l.context.spanId)).toEqual([idOf(request!)]);
    expect(queue!.attributes).toMatchObject({
      'ringleader.scheduler.name': 'llm', 'ringleader.task.key': 'tenant', 'ringleader.task.priority': 2,
      'ringleader.outcome': 'completed', 'ringleader.attempts': 1,
    });
    expect(attempt!.attributes).toMatchObject({ 'ringleader.attempt': 1, 'ringleader.task.key': 'tenant' });
    expect(queue!.status.code).toBe(SpanStatusCode.UNSET);
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(queue!.instrumentationScope).toEqual({ name: 'ringleader', version, schemaUrl: undefined });
  });

  it('keeps the caller\'s span as parent for a task that waited in the queue', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const blocker = s.run(() => gate.promise);
    const waited = tracer.startActiveSpan('request', (request) => {
      const p = s.run(() => 'later');
      request.end();
      return p;
    });
    gate.resolve();
    await Promise.all([blocker, waited]);
    const [request] = spans('request');
    const queues = spans('ringleader.queue').filter((q) => parentOf(q) === idOf(request!));
    expect(queues).toHaveLength(1);
    const attempt = spans('ringleader.attempt').find((a) => parentOf(a) === idOf(queues[0]!));
    expect(attempt).toBeDefined();
  });

  it('makes the attempt span active inside the task, so spans the task makes nest under it', async () => {
    const s = new Scheduler({ concurrency: 2 });
    const gate = deferred();
    const blocker = s.run(() => gate.promise);
    const p = s.run(async () => {
      await Promise.resolve();
      tracer.startSpan('llm.call').end();
    });
    gate.resolve();
    await Promise.all([blocker, p]);
    const [call] = spans('llm.call');
    const attempt = spans('ringleader.attempt').find((a) => idOf(a) === parentOf(call!));
    expect(attempt).toBeDefined();
  });

  it('ends each failed attempt with error status and the retry delay, and the task span OK once it succeeds', async () => {
    const s = new Scheduler({ concurrency: 1, retry: { retries: 2, minDelay: 5, jitter: 'none' } });
    let n = 0;
    await s.run(() => (++n < 3 ? Promise.reject(http(503)) : 'done'));
    const attempts = spans('ringleader.attempt').sort((a, b) => (a.attributes['ringleader.attempt'] as number) - (b.attributes['ringleader.attempt'] as number));
    expect(attempts.map((a) => [a.attributes['ringleader.attempt'], a.status.code])).toEqual([
      [1, SpanStatusCode.ERROR], [2, SpanStatusCode.ERROR], [3, SpanStatusCode.UNSET],
    ]);
    expect(attempts[0]!.attributes['ringleader.retry.delay_ms']).toBe(5);
    expect(attempts[0]!.status.message).toBe('HTTP 503');
    expect(attempts[0]!.events.map((e) => e.name)).toEqual(['exception']);
    const [queue] = spans('ringleader.queue');
    expect(new Set(attempts.map(parentOf))).toEqual(new Set([idOf(queue!)]));
    expect(queue!.status.code).toBe(SpanStatusCode.UNSET);
    expect(queue!.events.filter((e) => e.name === 'ringleader.retry')).toHaveLength(2);
    expect(await total('ringleader.retries')).toBe(2);
    expect(await total('ringleader.attempts.throttled', { 'ringleader.failure_class': 'wait' })).toBe(2);
  });

  it('marks the task span as an error with the outcome when the task fails', async () => {
    const s = new Scheduler({ concurrency: 1 });
    await expect(s.run(() => Promise.reject(new RangeError('bad input')))).rejects.toThrow('bad input');
    const [queue] = spans('ringleader.queue');
    expect(queue!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad input' });
    expect(queue!.attributes).toMatchObject({ 'ringleader.outcome': 'failed', 'error.type': 'RangeError' });
  });

  it('ends a dropped task\'s span with no attempt under it and counts the drop', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueued: 1, onFull: 'drop-oldest' });
    const gate = deferred();
    const blocker = s.run(() => gate.promise);
    const victim = s.run(() => 1);
    const newer = s.run(() => 2);
    await expect(victim).rejects.toBeInstanceOf(DroppedError);
    gate.resolve();
    await Promise.all([blocker, newer]);
    const dropped = spans('ringleader.queue').filter((q) => q.attributes['ringleader.outcome'] === 'dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.attributes['error.type']).toBe('ERR_DROPPED');
    expect(spans('ringleader.attempt').some((a) => parentOf(a) === idOf(dropped[0]!))).toBe(false);
    expect(await total('ringleader.tasks.dropped')).toBe(1);
  });

  it('nests a WorkerPool task run from an attempt under that attempt\'s span', async () => {
    const pool = await WorkerPool.open({ filename: new URL('../runtime/fixtures/echo.mjs', import.meta.url), threads: 1 });
    try {
      const s = new Scheduler({ concurrency: 1 });
      await s.run(() => pool.run({ x: 1 }, { key: 'k' }));
    } finally {
      await pool.close();
    }
    const [poolTask] = spans('ringleader.pool.task');
    const [attempt] = spans('ringleader.attempt');
    expect(parentOf(poolTask!)).toBe(idOf(attempt!));
    expect(poolTask!.attributes).toMatchObject({ 'ringleader.pool.worker': 0, 'ringleader.outcome': 'completed', 'ringleader.task.key': 'k' });
    const run = await metric('ringleader.pool.run_time');
    expect((run as HistogramMetricData).dataPoints[0]!.value.count).toBe(1);
  });

  it('carries the attempt\'s span to the worker as a W3C traceparent in ctx.traceContext', async () => {
    const pool = await WorkerPool.open({ filename: new URL('./fixtures/trace-worker.mjs', import.meta.url), threads: 1 });
    let seen: Record<string, string> | null;
    try {
      const s = new Scheduler({ concurrency: 1 });
      seen = await s.run(() => pool.run<Record<string, string> | null>({}));
      off();
      expect(await pool.run({})).toBeNull();
    } finally {
      await pool.close();
    }
    const [attempt] = spans('ringleader.attempt');
    const { traceId, spanId } = attempt!.spanContext();
    expect(seen).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
  });

  it('ends the spans of tasks in flight and traces nothing more once uninstrumented', async () => {
    const s = new Scheduler({ concurrency: 1 });
    const gate = deferred();
    const running = s.run(() => gate.promise);
    off();
    expect(spans('ringleader.queue')[0]!.attributes['ringleader.uninstrumented']).toBe(true);
    gate.resolve();
    await running;
    await s.run(() => 1);
    expect(spans('ringleader.queue')).toHaveLength(1);
    expect(spans('ringleader.attempt')).toHaveLength(1);
  });
});

describe('metrics', () => {
  it('records queue wait and run time per attempt and brings the queued and running gauges back to zero', async () => {
    const s = new Scheduler({ concurrency: 2, name: 'm' });
    const gate = deferred();
    const all = [s.run(() => gate.promise), s.run(() => gate.promise), s.run(() => 3), s.run(() => 4)];
    expect(await total('ringleader.tasks.queued', { 'ringleader.scheduler.name': 'm' })).toBe(2);
    expect(await total('ringleader.tasks.running', { 'ringleader.scheduler.name': 'm' })).toBe(2);
    gate.resolve();
    await Promise.all(all);
    expect(await total('ringleader.tasks.queued')).toBe(0);
    expect(await total('ringleader.tasks.running')).toBe(0);
    const wait = (await metric('ringleader.task.queue_wait')) as HistogramMetricData;
    expect(wait.descriptor.unit).toBe('s');
    expect(wait.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(wait.dataPoints[0]!.value.count).toBe(4);
    const run = (await metric('ringleader.attempt.duration')) as HistogramMetricData;
    expect(run.dataPoints[0]!.value.count).toBe(4);
    expect(await total('ringleader.tasks.settled', { 'ringleader.outcome': 'completed' })).toBe(4);
  });

  it('counts tokens charged and the part of an estimate ctx.reportTokens gave back', async () => {
    const s = new Scheduler({ concurrency: 2, rate: { limit: 100_000, interval: 60_000, cost: 'tokens' } });
    await s.run((ctx) => ctx.reportTokens(300), { tokens: 1000 });
    await s.run((ctx) => ctx.reportTokens(1500), { tokens: 1000 });
    await s.run(() => 0, { tokens: 200 });
    expect(await total('ringleader.tokens.charged')).toBe(1000 + 1500 + 200);
    expect(await total('ringleader.tokens.refunded')).toBe(700);
  });

  it('counts a 429 that paused its key, and the breaker opening', async () => {
    const s = new Scheduler({
      concurrency: 1, retry: { retries: 1, minDelay: 1, jitter: 'none' }, breaker: { failureThreshold: 5, halfOpenAfter: 1000 },
    });
    let n = 0;
    await s.run(() => (++n === 1 ? Promise.reject(http(429, { 'retry-after-ms': '5' })) : 'ok'), { key: 'p' });
    expect(await total('ringleader.lane.pauses', { 'ringleader.pause.scope': 'key' })).toBe(1);
    expect(await total('ringleader.attempts.throttled')).toBe(1);
    const b = new Scheduler({ concurrency: 1, name: 'b', breaker: { failureThreshold: 1, halfOpenAfter: 1000 } });
    await expect(b.run(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await total('ringleader.breaker.transitions', { 'ringleader.breaker.state': 'open', 'ringleader.scheduler.name': 'b' })).toBe(1);
  });

  it('counts the files and bytes an Engine batch read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-otel-'));
    writeFileSync(join(dir, 'a'), 'a'.repeat(1000));
    writeFileSync(join(dir, 'b'), 'b'.repeat(24));
    const engine = await Engine.open({ backend: 'js' });
    try {
      await engine.readFiles([join(dir, 'a'), join(dir, 'b')]);
    } finally {
      await engine.close();
    }
    expect(await total('ringleader.engine.files', { 'ringleader.engine.backend': 'js' })).toBe(2);
    expect(await total('ringleader.engine.bytes')).toBe(1024);
  });
});

describe('options', () => {
  it('refuses a provider that is not one with a TypeError, subscribing nothing', async () => {
    expect(() => instrument({ tracerProvider: {} as never })).toThrow(TypeError);
    expect(() => instrument({ meterProvider: 'global' as never })).toThrow(TypeError);
    expect(() => instrument(null as never)).toThrow(TypeError);
    await new Scheduler({ concurrency: 1 }).run(() => 1);
    expect(spans('ringleader.queue')).toHaveLength(1);
  });

  it('reports to the global providers when none are given', async () => {
    off();
    trace.setGlobalTracerProvider(tracerProvider);
    const global = instrument();
    try {
      await new Scheduler({ concurrency: 1 }).run(() => 1);
    } finally {
      global();
      trace.disable();
    }
    expect(spans('ringleader.attempt')).toHaveLength(1);
  });

  it('lets two instrumentations run side by side, each with its own spans', async () => {
    const second = new InMemorySpanExporter();
    const provider2 = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(second)] });
    const off2 = instrument({ tracerProvider: provider2, meterProvider });
    try {
      await new Scheduler({ concurrency: 1 }).run(() => tracer.startSpan('inner').end());
    } finally {
      off2();
    }
    expect(spans('ringleader.attempt')).toHaveLength(1);
    expect(second.getFinishedSpans().filter((s) => s.name === 'ringleader.attempt')).toHaveLength(1);
    // The task runs inside both attempt spans' contexts; the inner one is the last added.
    const [inner] = spans('inner');
    const attempt2 = second.getFinishedSpans().find((s) => s.name === 'ringleader.attempt')!;
    expect(inner!.parentSpanContext?.spanId).toBe(attempt2.spanContext().spanId);
  });
});

describe('without a context manager', () => {
  it('still builds the queue → attempt tree from the messages themselves', async () => {
    context.disable();
    const s = new Scheduler({ concurrency: 1 });
    await s.run(() => 1);
    const [queue] = spans('ringleader.queue');
    const [attempt] = spans('ringleader.attempt');
    expect(parentOf(queue!)).toBeUndefined();
    expect(parentOf(attempt!)).toBe(idOf(queue!));
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
