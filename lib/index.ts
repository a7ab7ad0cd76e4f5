// ringleader's public surface: every name users, tests and benchmarks code against.

export {
  RingleaderError, QueueFullError, ClosedError, TimeoutError, CircuitOpenError, DroppedError, StoreUnavailableError,
} from './errors.js';
export { Semaphore } from './scheduler/semaphore.js';
export type { Permit, SemaphoreOptions, AcquireOptions, UseOptions } from './scheduler/semaphore.js';
export { Scheduler } from './scheduler/scheduler.js';
export type {
  SchedulerOptions, SchedulerRetryOptions, ChildOptions, RunOptions, TaskContext, Task, MapOptions, Settled, SchedulerStats, OnFull,
} from './scheduler/scheduler.js';
export type { Gate, GateRequest, GateStore, GateTicket, GlobalOptions } from './scheduler/gate.js';
export type { AdaptiveConcurrency } from './scheduler/adaptive.js';
export { limit } from './scheduler/limit.js';
export type { LimitFunction, LimitOptions } from './scheduler/limit.js';
export {
  retry, backoffDelay, normalizeRetryOptions, isRetryable, RetryBudget, classify, retryAfterMs,
  TokenBucket, RateLimiter, CircuitBreaker,
} from './resilience/index.js';
export type {
  RetryOptions, NormalizedRetryOptions, BackoffOptions, RetryContext, Jitter, RetryBudgetOptions, FailureClass,
  TokenBucketOptions, TakeOptions, RateOptions, RateLimiterOptions, RateCharge, BreakerOptions, BreakerState, BreakerEvents,
  BreakerOpenError,
} from './resilience/index.js';
