// One measurement in a fresh process: `node --expose-gc cell.mjs <mode>`. Runs TASKS trivial
// tasks through a Scheduler (plain run(), and run() with a key and tokens) while the
// diagnostics channels have no subscriber, a no-op subscriber, or ringleader/otel with the
// real SDK behind it. Prints one JSON line.

import dc from 'node:diagnostics_channel';
import { Scheduler } from '../../dist/index.js';

const N = Number(process.env.BENCH_TASKS ?? 300_000);
const [mode] = process.argv.slice(2);

async function setup() {
  if (mode === 'off') return;
  if (mode === 'noop') {
    const noop = () => {};
    dc.tracingChannel('ringleader:task').subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop });
    for (const name of ['retry', 'rate-wait', 'lane-pause', 'breaker']) dc.subscribe(`ringleader:${name}`, noop);
    return;
  }
  if (mode === 'otel') {
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
    const { instrument } = await import('../../dist/otel/index.js');
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    // Spans are dropped as they end: the cell measures making them, not holding 600,000.
    exporter.export = (_spans, done) => done({ code: 0 });
    instrument({ tracerProvider, meterProvider: new MeterProvider() });
    return;
  }
  console.error(`unknown mode ${mode}; one of off, noop, otel`);
  process.exit(2);
}

async function throughput(submit) {
  const all = new Array(N);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) all[i] = submit();
  await Promise.all(all);
  return N / ((performance.now() - t0) / 1000);
}

await setup();
const trivial = async () => {};
const plain = new Scheduler({ concurrency: 16, maxQueued: N });
const keyed = new Scheduler({ concurrency: 16, maxQueued: N, perKey: 4 });
const result = {
  mode,
  plain: await throughput(() => plain.run(trivial)),
  keyed: await throughput(() => keyed.run(trivial, { key: `k${Math.floor(Math.random() * 64)}`, tokens: 100 })),
};
console.log(JSON.stringify(result));
