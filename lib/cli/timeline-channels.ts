// Fills a TimelineRecorder from ringleader's own diagnostics channels, as any observer of a
// Scheduler could: the demo's ringleader strategies run untouched and are watched from outside.

import dc from 'node:diagnostics_channel';
import type { LanePauseMessage, RateWaitMessage, RetryMessage, TaskMessage } from '../diagnostics.js';
import type { TimelineRecorder } from './timeline.js';

/** The agent a task belongs to, from its key (`agent-12`), or undefined. */
export type AgentOf = (key: string | undefined) => number | undefined;

/** Subscribes; returns the unsubscribe. */
export function recordFromChannels(timeline: TimelineRecorder, agentOf: AgentOf): () => void {
  // When a queued task was first held by the rate windows; cleared as its attempt starts.
  const rateSince = new WeakMap<TaskMessage, number>();
  const task = dc.tracingChannel('ringleader:task');
  const noop = (): void => {};
  const handlers = {
    start: noop, end: noop, error: noop,
    asyncStart: (raw: unknown) => {
      const m = raw as TaskMessage;
      const agent = agentOf(m.key);
      if (agent === undefined) return;
      const held = rateSince.get(m);
      rateSince.delete(m);
      if (held !== undefined && held < m.startedAt) {
        timeline.add(agent, 'queue', m.queuedAt, held);
        timeline.add(agent, 'rate', held, m.startedAt);
      } else {
        timeline.add(agent, 'queue', m.queuedAt, m.startedAt);
      }
    },
    asyncEnd: (raw: unknown) => {
      const m = raw as TaskMessage;
      const agent = agentOf(m.key);
      if (agent === undefined) return;
      // Never started: it waited until now. An attempt ended by a retry was drawn then (its
      // startedAt is older than the queuedAt the retry set).
      if (m.attempt === 0) timeline.add(agent, 'queue', m.queuedAt, performance.now());
      else if (m.startedAt >= m.queuedAt) timeline.add(agent, 'run', m.startedAt, performance.now());
    },
  };
  const onRetry = (raw: unknown): void => {
    const r = raw as RetryMessage;
    const agent = agentOf(r.key);
    if (agent === undefined || r.task === undefined) return;
    const now = performance.now();
    timeline.add(agent, 'run', r.task.startedAt, now);
    timeline.add(agent, 'retry', now, now + r.delay);
  };
  const onRateWait = (raw: unknown): void => {
    const w = raw as RateWaitMessage;
    if (w.task !== undefined && !rateSince.has(w.task)) rateSince.set(w.task, performance.now());
  };
  const onPause = (raw: unknown): void => {
    const p = raw as LanePauseMessage;
    const agent = agentOf(p.key);
    const now = performance.now();
    if (agent !== undefined && Number.isFinite(p.ms)) timeline.add(agent, 'pause', now, now + p.ms);
  };
  task.subscribe(handlers);
  dc.subscribe('ringleader:retry', onRetry);
  dc.subscribe('ringleader:rate-wait', onRateWait);
  dc.subscribe('ringleader:lane-pause', onPause);
  return () => {
    task.unsubscribe(handlers);
    dc.unsubscribe('ringleader:retry', onRetry);
    dc.unsubscribe('ringleader:rate-wait', onRateWait);
    dc.unsubscribe('ringleader:lane-pause', onPause);
  };
}
