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
export { limit, limitFunction } from './scheduler/limit.js';
export { PQueue } from './scheduler/p-queue.js';
export type { PQueueOptions, PQueueAddOptions, PQueueTask, PQueueEvent, RunningTask } from './scheduler/p-queue.js';
export type { LimitFunction, LimitOptions } from './scheduler/limit.js';
export {
  retry, backoffDelay, backoffSequence, normalizeRetryOptions, isRetryable, RetryBudget, classify, retryAfterMs, attemptsSpent,
  TokenBucket, RateLimiter, CircuitBreaker,
} from './resilience/index.js';
export type {
  RetryOptions, NormalizedRetryOptions, BackoffOptions, RetryContext, Jitter, RetryBudgetOptions, FailureClass,
  TokenBucketOptions, TakeOptions, RateOptions, RateLimiterOptions, RateCharge, BreakerOptions, BreakerState, BreakerEvents,
  BreakerOpenError, BackoffSequence, RetryOutcome, RetryEvent, GiveUpEvent, BreakerMode, BreakerEvent, BreakEvent, BreakerIsolation,
  ExecuteOptions, WindowBreakerOptions, ConsecutiveBreakerOptions, CountBreakerOptions, SamplingBreakerOptions,
} from './resilience/index.js';
export { Engine, IdentityLockedError, probe, pinCurrentThread } from './engine/index.js';
export type { BackendChoice, BackendName, EngineOptions, FileStat, ReadFilesOptions } from './engine/index.js';
export { RedisStore } from './distributed/redis-store.js';
export type { RedisStoreOptions } from './distributed/redis-store.js';
export { WorkerPool } from './runtime/worker-pool.js';
export type { WorkerPoolOptions, PoolRunOptions, WorkerStats, WorkerPoolStats } from './runtime/worker-pool.js';
export { WorkerCrashedError } from './runtime/crashed-error.js';
export type { PinResult } from './runtime/pin.js';
export type { HistogramSummary } from './runtime/histogram.js';
export type { WorkerContext, WorkerHandler } from './runtime/worker.js';
export type {
  TaskMessage, TaskOutcome, RetryMessage, RateWaitMessage, LanePauseMessage, BreakerMessage, EngineBatchMessage, PoolTaskMessage,
} from './diagnostics.js';
export { scheduledFetch, scheduledDispatcher, scheduledInterceptor, readLimitHeaders } from './http/index.js';
export type {
  ScheduledFetch, ScheduledFetchOptions, ScheduledFetchStats, ScheduledDispatcherOptions, ScheduledHttpControl, OriginStats, LaneStats,
  LearnedLimit, LimitName, LimitReading, HeaderReading,
} from './http/index.js';
