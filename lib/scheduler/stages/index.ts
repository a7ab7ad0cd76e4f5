// Builds the stages a scheduler's options ask for, and lists them in the order the core
// consults them at each point (the order stages/stage.ts documents).

import type { BreakerOptions, CircuitBreaker } from '../../resilience/circuit-breaker.js';
import type { RateLimiter } from '../../resilience/rate-limiter.js';
import type { AdaptiveLimit } from '../adaptive.js';
import type { Gate } from '../gate.js';
import type { Node } from '../task.js';
import { AdaptiveStage } from './adaptive-limit.js';
import { BreakerStage } from './breaker.js';
import { GlobalGate } from './global-gate.js';
import { Lanes } from './lanes.js';
import { RateStage } from './rate.js';
import { RetryStage } from './retry.js';
import type { Stage } from './stage.js';
import { TimeoutStage } from './timeout.js';

/** The parts of a scheduler's options the stages are made from (resilience parts built already). */
export interface StageConfig {
  /** The scheduler's name, for diagnostics messages. */
  name: string | undefined;
  perKey: number;
  /** Failures classified 'wait' pause their lane (schedulers that opted into resilience). */
  pauseOnWait: boolean;
  adaptive: AdaptiveLimit | undefined;
  limiter: RateLimiter | undefined;
  breaker: { options: BreakerOptions; shared: CircuitBreaker } | undefined;
  gate: Gate | undefined;
}

/** What the stages ask of the core. */
export interface StagesHost {
  /** Attempts running now. */
  readonly running: number;
  /** Tasks waiting to start. */
  readonly queued: number;
  setLimit(limit: number): void;
  /** The scheduler closed without draining: nothing is retried. */
  killed(): boolean;
  /** Puts a task released from its lane at the front of its priority level. */
  readyFront(node: Node): void;
  /** Takes a ready task out of its priority level. */
  unready(node: Node): void;
  /** Holds back every task until `ms` from now. */
  pauseAll(ms: number): void;
  drain(): void;
  timedOut(): void;
  /** Rejects a running task now; its function's outcome is ignored when it comes. */
  failRunning(node: Node, err: unknown): void;
}

export interface Stages {
  lanes: Lanes;
  rate: RateStage | undefined;
  adaptive: AdaptiveStage | undefined;
  breaker: BreakerStage | undefined;
  gate: GlobalGate | undefined;
  waits: Stage[];
  starts: Stage[];
  settles: Stage[];
}

export function buildStages(config: StageConfig, host: StagesHost, now: () => number): Stages {
  const breaker = config.breaker === undefined ? undefined : new BreakerStage(config.breaker.options, config.breaker.shared, now);
  const gate = config.gate === undefined ? undefined : new GlobalGate(config.gate);
  const lanes = new Lanes(config.name, config.perKey, config.pauseOnWait, now, {
    readyFront: (node) => host.readyFront(node),
    unready: (node) => host.unready(node),
    pauseAll: (ms) => host.pauseAll(ms),
    keyIdle: (key) => breaker?.forget(key),
    drain: () => host.drain(),
  });
  const rate = config.limiter === undefined ? undefined : new RateStage(config.limiter, config.name);
  const adaptive = config.adaptive === undefined ? undefined : new AdaptiveStage(config.adaptive, now, host);
  const retry = new RetryStage(() => host.killed());
  const timeout = new TimeoutStage({
    storeDown: (ctx) => (ctx.atGate ? gate?.unavailable() : undefined),
    timedOut: () => host.timedOut(),
    failRunning: (node, err) => host.failRunning(node, err),
    state: () => `queue has ${host.running} running, ${host.queued} waiting`,
  });
  const some = (...stages: Array<Stage | undefined>): Stage[] => stages.filter((s): s is Stage => s !== undefined);
  return {
    lanes, rate, adaptive, breaker, gate,
    waits: some(lanes, rate),
    starts: some(lanes, rate, adaptive, retry, timeout),
    settles: some(timeout, lanes, adaptive, retry),
  };
}
