// The `ringleader/otel` entry point: OpenTelemetry spans and metrics from ringleader's
// diagnostics channels. Needs @opentelemetry/api installed; the root entry never loads it.

export { instrument } from './instrument.js';
export type { InstrumentOptions, Uninstrument } from './instrument.js';
