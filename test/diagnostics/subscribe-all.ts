// Setup file for `npm run test:traced`: subscribes a no-op to every ringleader channel, so the
// scheduler, resilience and timer suites run through the traced paths and must still pass.
import dc from 'node:diagnostics_channel';

const noop = (): void => {};
dc.tracingChannel('ringleader:task').subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop });
for (const name of ['retry', 'rate-wait', 'lane-pause', 'breaker', 'engine-batch', 'pool-task']) dc.subscribe(`ringleader:${name}`, noop);
