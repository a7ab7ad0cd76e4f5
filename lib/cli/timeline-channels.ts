// Fills a TimelineRecorder from ringleader's own diagnostics channels, as any observer of a
// Scheduler could: the demo's ringleader strategies run untouched and are watched from outside.
// A task's agent is read from its key (`agent-12`) or, failing that, from the async context
// it was submitted in (the demo runs each agent inside `agentContext`).

import { AsyncLocalStorage } from 'node:async_hooks';
import dc from 'node:diagnostics_channel';
import type { LanePauseMessage, RateWaitMessage, RetryMessage, TaskMessage } from '../diagnostics.js';
import type { TimelineRecorder } from './timeline.js';

/** The agent whose steps run inside it: set around each agent by the demo's child process. */
export const agentContext = new AsyncLocalStorage<number>();

/** The agent a key names (`agent-12`), or undefined. */
export function agentOfKey(key: string | undefined): number | undefined {
  return key !== undefined && /^agent-\d+$/.test(key) ? Number(key.slice(6)) : undefined;
}

/** Subscribes; returns the unsubscribe. */
export function recordFromChannels(timeline: TimelineRecorder): () => void {
  // Whose task it is, decided as it is submitted (run() publishes start in the caller's context).
  const owner = new WeakMap<TaskMessage, number>();
  const agentOf = (m: TaskMessage): number | undefined => owner.get(m);
  // When a queued task was first held by the rate windows; cleared as its attempt starts.
  const rateSince = new WeakMap<TaskMessage, number>();
  const task = dc.tracingChannel('ringleader:task');
  const noop = (): void => {};
  const handlers = {
    end: noop, error: noop,
    start: (raw: unknown) => {
      const m = raw as TaskMessage;
      const agent = agentOfKey(m.key) ?? agentContext.getStore();
      if (agent !== undefined) owner.set(m, agent);
    },
    asyncStart: (raw: unknown) => {
      const m = raw as TaskMessage;
      const agent = agentOf(m);
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
      const agent = agentOf(m);
      if (agent === undefined) return;
      // Never started: it waited until now. An attempt ended by a retry was drawn then (its
      // startedAt is older than the queuedAt the retry set).
      if (m.attempt === 0) timeline.add(agent, 'queue', m.queuedAt, performance.now());
      else if (m.startedAt >= m.queuedAt) timeline.add(agent, 'run', m.startedAt, performance.now());
    },
  };
  const onRetry = (raw: unknown): void => {
    const r = raw as RetryMessage;
    const agent = r.task === undefined ? undefined : agentOf(r.task);
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
    const agent = agentOfKey(p.key);
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
