// ringleader's public surface: every name users, tests and benchmarks code against.

export {
  RingleaderError, QueueFullError, ClosedError, TimeoutError, CircuitOpenError, DroppedError,
} from './errors.js';
export { Semaphore } from './scheduler/semaphore.js';
export type { Permit, SemaphoreOptions, AcquireOptions, UseOptions } from './scheduler/semaphore.js';
export { Scheduler } from './scheduler/scheduler.js';
export type {
  SchedulerOptions, RunOptions, TaskContext, Task, MapOptions, Settled, SchedulerStats, OnFull,
} from './scheduler/scheduler.js';
export { limit } from './scheduler/limit.js';
export type { LimitFunction, LimitOptions } from './scheduler/limit.js';
