// OpenTelemetry for ringleader: subscribes to its diagnostics channels and turns them into
// spans (ringleader.queue per task, ringleader.attempt per attempt, ringleader.pool.task) and
// metrics. Only this subpath imports @opentelemetry/api, an optional peer dependency.

import dc from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import {
  context as otelContext, isSpanContextValid, metrics, SpanKind, SpanStatusCode, trace,
  type Attributes, type Context, type Link, type MeterProvider, type Span, type TracerProvider,
} from '@opentelemetry/api';
import {
  addAttemptScope, channels, setTraceCarrier, type AttemptScope, type BreakerMessage, type EngineBatchMessage, type LanePauseMessage,
  type PoolTaskMessage, type RateWaitMessage, type RetryMessage, type TaskMessage,
} from '../diagnostics.js';
import { classify } from '../resilience/classify.js';

export interface InstrumentOptions {
  /** Default: the global provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Default: the global provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
}

/** Stops the instrumentation: unsubscribes, and ends the spans of tasks still in flight. */
export interface Uninstrument {
  (): void;
  [Symbol.dispose](): void;
}

const SCOPE = 'ringleader';
// The instrumentation scope's version, as OpenTelemetry asks libraries to give it: the package's.
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

// What the instrumentation keeps on a task's message, under a symbol only it knows.
interface TaskSpans {
  /** The task's attributes, shared by its queue and attempt spans. */
  attributes: Attributes;
  queue: Span;
  queueCtx: Context;
  /** The caller's span, linked from every attempt. */
  caller: Link[];
  attempt: Span | undefined;
  attemptCtx: Context | undefined;
  /** Counted in the queued gauge (waiting to start, backoff included). */
  queued: boolean;
}

const epoch = (t: number): number => performance.timeOrigin + t;

function errorAttributes(err: unknown): Attributes {
  const attrs: Attributes = {};
  if (err instanceof Error) {
    const code: unknown = (err as Error & { code?: unknown }).code;
    attrs['error.type'] = code !== undefined ? String(code) : err.name;
  }
  return attrs;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Subscribes to ringleader's channels and reports to OpenTelemetry. Spans: `ringleader.queue`
 * from `run()` until the task settles (a child of the caller's active span), and one
 * `ringleader.attempt` per attempt under it, linked to the caller's span and active while
 * the task's function runs, so spans the task makes nest under its attempt. Tasks submitted
 * before this call are not traced.
 */
export function instrument(options: InstrumentOptions = {}): Uninstrument {
  if (typeof options !== 'object' || options === null) throw new TypeError('instrument(options): options must be an object');
  if (options.tracerProvider !== undefined && typeof options.tracerProvider?.getTracer !== 'function') {
    throw new TypeError('instrument(options): tracerProvider must be an OpenTelemetry TracerProvider (with getTracer)');
  }
  if (options.meterProvider !== undefined && typeof options.meterProvider?.getMeter !== 'function') {
    throw new TypeError('instrument(options): meterProvider must be an OpenTelemetry MeterProvider (with getMeter)');
  }
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, VERSION);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, VERSION);
  const key = Symbol('ringleader.otel');
  const live = new Set<TaskMessage>();

  const queued = meter.createUpDownCounter('ringleader.tasks.queued', { description: 'Tasks waiting to start, retry backoff included', unit: '{task}' });
  const running = meter.createUpDownCounter('ringleader.tasks.running', { description: 'Attempts running', unit: '{task}' });
  const queueWait = meter.createHistogram('ringleader.task.queue_wait', { description: 'Time from entering the queue to the start of an attempt', unit: 's' });
  const runTime = meter.createHistogram('ringleader.attempt.duration', { description: 'Run time of an attempt', unit: 's' });
  const settled = meter.createCounter('ringleader.tasks.settled', { description: 'Tasks settled, by ringleader.outcome', unit: '{task}' });
  const retries = meter.createCounter('ringleader.retries', { description: 'Retries scheduled', unit: '{retry}' });
  const throttled = meter.createCounter('ringleader.attempts.throttled', {
    description: 'Attempts refused by overload: 429, 503, 529 (ringleader.failure_class wait or cap)', unit: '{attempt}',
  });
  const drops = meter.createCounter('ringleader.tasks.dropped', { description: 'Tasks evicted by onFull drop-oldest', unit: '{task}' });
  const charged = meter.createCounter('ringleader.tokens.charged', { description: 'Tokens charged to attempts (estimates, plus any excess reported)', unit: '{token}' });
  const refunded = meter.createCounter('ringleader.tokens.refunded', { description: 'Estimated tokens given back by ctx.reportTokens', unit: '{token}' });
  const pauses = meter.createCounter('ringleader.lane.pauses', { description: 'Key or scheduler pauses', unit: '{pause}' });
  const breakerChanges = meter.createCounter('ringleader.breaker.transitions', { description: 'Circuit breaker state changes, by ringleader.breaker.state', unit: '{transition}' });
  const engineFiles = meter.createCounter('ringleader.engine.files', { description: 'Files read by Engine batches', unit: '{file}' });
  const engineBytes = meter.createCounter('ringleader.engine.bytes', { description: 'Bytes read by Engine batches', unit: 'By' });
  const engineBatch = meter.createHistogram('ringleader.engine.batch.duration', { description: 'Duration of an Engine readFiles batch', unit: 's' });
  const poolWait = meter.createHistogram('ringleader.pool.queue_wait', { description: 'WorkerPool task time before it ran', unit: 's' });
  const poolRun = meter.createHistogram('ringleader.pool.run_time', { description: 'WorkerPool task run time', unit: 's' });

  const spansOf = (m: TaskMessage): TaskSpans | undefined => (m as unknown as Record<symbol, TaskSpans | undefined>)[key];
  // Metric attribute sets are made once per scheduler name (and outcome): the SDK hashes each
  // set it is given, and a fresh object per task showed up as a tenth of the cost.
  const byName = new Map<string | undefined, Attributes>();
  const named = (name: string | undefined): Attributes => {
    let attrs = byName.get(name);
    if (attrs === undefined) byName.set(name, (attrs = name === undefined ? {} : { 'ringleader.scheduler.name': name }));
    return attrs;
  };
  const byOutcome = new Map<string, Attributes>();
  const withOutcome = (name: string | undefined, outcome: string): Attributes => {
    const k = `${outcome}\0${name ?? ''}\0${name === undefined ? 0 : 1}`;
    let attrs = byOutcome.get(k);
    if (attrs === undefined) byOutcome.set(k, (attrs = { ...named(name), 'ringleader.outcome': outcome }));
    return attrs;
  };
  const forget = (m: TaskMessage): void => {
    live.delete(m);
    // Set, not deleted: a delete would turn every message into a slow dictionary object.
    (m as unknown as Record<symbol, TaskSpans | undefined>)[key] = undefined;
  };

  function taskAttributes(m: TaskMessage): Attributes {
    const attrs: Attributes = {
      ...named(m.name), 'ringleader.task.id': m.id, 'ringleader.task.priority': m.priority, 'ringleader.task.weight': m.weight,
    };
    if (m.key !== undefined) attrs['ringleader.task.key'] = m.key;
    if (m.tokens > 0) attrs['ringleader.task.tokens'] = m.tokens;
    return attrs;
  }

  // Ends the running attempt: its span, the running gauge, its run time and token charge.
  function endAttempt(m: TaskMessage, spans: TaskSpans, at: number, error: unknown, failed: boolean): void {
    const attrs = named(m.name);
    running.add(-1, attrs);
    runTime.record((at - m.startedAt) / 1000, attrs);
    if (m.tokens > 0 || m.reportedTokens !== undefined) {
      const reported = m.reportedTokens ?? m.tokens;
      charged.add(Math.max(m.tokens, reported), attrs);
      if (reported < m.tokens) refunded.add(m.tokens - reported, attrs);
    }
    const span = spans.attempt;
    if (span === undefined) return;
    if (m.reportedTokens !== undefined) span.setAttribute('ringleader.task.tokens_reported', m.reportedTokens);
    if (failed) {
      const cls = classify(error);
      if (cls === 'wait' || cls === 'cap') throttled.add(1, { ...attrs, 'ringleader.failure_class': cls });
      span.setAttributes(errorAttributes(error));
      if (error instanceof Error) span.recordException(error, epoch(at));
      span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
    }
    span.end(epoch(at));
    spans.attempt = undefined;
    spans.attemptCtx = undefined;
  }

  const onStart = (raw: unknown): void => {
    const m = raw as TaskMessage;
    const parent = otelContext.active();
    const caller = trace.getSpanContext(parent);
    const attributes = taskAttributes(m);
    const queue = tracer.startSpan('ringleader.queue', { kind: SpanKind.INTERNAL, startTime: epoch(m.submittedAt), attributes }, parent);
    const spans: TaskSpans = {
      attributes, queue, queueCtx: trace.setSpan(parent, queue), caller: caller === undefined ? [] : [{ context: caller }],
      attempt: undefined, attemptCtx: undefined, queued: true,
    };
    (m as unknown as Record<symbol, TaskSpans>)[key] = spans;
    live.add(m);
    queued.add(1, named(m.name));
  };

  const onAttempt = (raw: unknown): void => {
    const m = raw as TaskMessage;
    const spans = spansOf(m);
    if (spans === undefined) return;
    const attrs = named(m.name);
    if (spans.queued) {
      spans.queued = false;
      queued.add(-1, attrs);
    }
    running.add(1, attrs);
    const wait = Math.max(0, m.startedAt - m.queuedAt);
    queueWait.record(wait / 1000, attrs);
    spans.attempt = tracer.startSpan('ringleader.attempt', {
      kind: SpanKind.INTERNAL, startTime: epoch(m.startedAt), links: spans.caller,
      attributes: { ...spans.attributes, 'ringleader.attempt': m.attempt, 'ringleader.queue_wait_ms': wait },
    }, spans.queueCtx);
    spans.attemptCtx = trace.setSpan(spans.queueCtx, spans.attempt);
  };

  const onEnd = (raw: unknown): void => {
    const m = raw as TaskMessage;
    const spans = spansOf(m);
    if (spans === undefined) return;
    const at = performance.now();
    const failed = m.outcome !== 'completed';
    if (spans.attempt !== undefined) endAttempt(m, spans, at, m.error, failed);
    const attrs = named(m.name);
    if (spans.queued) queued.add(-1, attrs);
    settled.add(1, withOutcome(m.name, m.outcome!));
    if (m.outcome === 'dropped') drops.add(1, attrs);
    const queue = spans.queue;
    queue.setAttributes({ 'ringleader.outcome': m.outcome!, 'ringleader.attempts': m.attempt });
    if (failed) {
      queue.setAttributes(errorAttributes(m.error));
      queue.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(m.error) });
    }
    queue.end(epoch(at));
    forget(m);
  };

  const onRetry = (raw: unknown): void => {
    const r = raw as RetryMessage;
    retries.add(1, named(r.name));
    const m = r.task;
    const spans = m === undefined ? undefined : spansOf(m);
    if (m === undefined || spans === undefined) return;
    const at = performance.now();
    if (spans.attempt !== undefined) {
      spans.attempt.setAttribute('ringleader.retry.delay_ms', r.delay);
      endAttempt(m, spans, at, r.error, true);
    }
    spans.queue.addEvent('ringleader.retry', { 'ringleader.attempt': r.attempt, 'ringleader.retry.delay_ms': r.delay }, epoch(at));
    spans.queued = true;
    queued.add(1, named(m.name));
  };

  const onRateWait = (raw: unknown): void => {
    const w = raw as RateWaitMessage;
    const spans = w.task === undefined ? undefined : spansOf(w.task);
    spans?.queue.addEvent('ringleader.rate_wait', { 'ringleader.rate.wait_ms': w.waitMs, 'ringleader.task.tokens': w.tokens });
  };

  const onPause = (raw: unknown): void => {
    const p = raw as LanePauseMessage;
    pauses.add(1, { ...named(p.name), 'ringleader.pause.scope': p.key === undefined ? 'scheduler' : 'key' });
  };

  const onBreaker = (raw: unknown): void => {
    const b = raw as BreakerMessage;
    breakerChanges.add(1, { ...named(b.name), 'ringleader.breaker.state': b.to });
  };

  const onEngine = (raw: unknown): void => {
    const e = raw as EngineBatchMessage;
    const attrs = { 'ringleader.engine.backend': e.backend };
    engineFiles.add(e.files, attrs);
    engineBytes.add(e.bytes, attrs);
    engineBatch.record(e.durationUs / 1e6, attrs);
  };

  // Published in the caller's async context: the span nests under whatever was active at pool.run().
  const onPool = (raw: unknown): void => {
    const p = raw as PoolTaskMessage;
    const end = performance.now();
    const attrs: Attributes = { 'ringleader.pool.worker': p.worker, 'ringleader.pool.thread_id': p.threadId, 'ringleader.outcome': p.outcome };
    if (p.key !== undefined) attrs['ringleader.task.key'] = p.key;
    if (p.name !== undefined) attrs['ringleader.pool.handler'] = p.name;
    const span = tracer.startSpan('ringleader.pool.task', { kind: SpanKind.INTERNAL, startTime: epoch(end - p.queueWait - p.runTime), attributes: {
      ...attrs, 'ringleader.queue_wait_ms': p.queueWait, 'ringleader.run_time_ms': p.runTime,
    } });
    if (p.outcome !== 'completed') {
      span.setAttributes(errorAttributes(p.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(p.error) });
    }
    span.end(epoch(end));
    poolWait.record(p.queueWait / 1000, withOutcome(undefined, p.outcome));
    poolRun.record(p.runTime / 1000, withOutcome(undefined, p.outcome));
  };

  // end and error carry nothing asyncEnd does not: the message holds the error by then.
  const ignore = (): void => {};
  const taskHandlers = { start: onStart, end: ignore, asyncStart: onAttempt, error: ignore, asyncEnd: onEnd };
  channels.task.subscribe(taskHandlers);
  const plain: Array<[dc.Channel, (m: unknown) => void]> = [
    [channels.retry, onRetry], [channels.rateWait, onRateWait], [channels.lanePause, onPause], [channels.breaker, onBreaker],
    [channels.engineBatch, onEngine], [channels.poolTask, onPool],
  ];
  for (const [ch, fn] of plain) ch.subscribe(fn);
  const scope: AttemptScope = (m, fn) => {
    const ctx = spansOf(m)?.attemptCtx;
    return ctx === undefined ? fn() : otelContext.with(ctx, fn);
  };
  const removeScope = addAttemptScope(scope);
  // What WorkerPool sends its worker: the caller's span as a W3C traceparent (and tracestate).
  const carry = (): Record<string, string> | undefined => {
    const sc = trace.getSpanContext(otelContext.active());
    if (sc === undefined || !isSpanContextValid(sc)) return undefined;
    const headers: Record<string, string> = {
      traceparent: `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`,
    };
    const state = sc.traceState?.serialize();
    if (state !== undefined && state !== '') headers.tracestate = state;
    return headers;
  };
  setTraceCarrier(carry);

  let disposed = false;
  const uninstrument = (): void => {
    if (disposed) return;
    disposed = true;
    channels.task.unsubscribe(taskHandlers);
    for (const [ch, fn] of plain) ch.unsubscribe(fn);
    removeScope();
    setTraceCarrier(undefined, carry);
    // Tasks still in flight will publish to nobody: their spans end now, marked as cut short.
    const at = performance.now();
    for (const m of live) {
      const spans = spansOf(m)!;
      spans.attempt?.end(epoch(at));
      spans.queue.setAttribute('ringleader.uninstrumented', true);
      spans.queue.end(epoch(at));
      (m as unknown as Record<symbol, TaskSpans | undefined>)[key] = undefined;
    }
    live.clear();
  };
  return Object.assign(uninstrument, { [Symbol.dispose]: uninstrument });
}
