// Public surface of the resilience policies: retry with backoff and budgets, failure
// classification, token buckets and multi-window rate limits, and the circuit breaker.

export { retry, backoffDelay, backoffSequence, normalizeRetryOptions, isRetryable } from './retry.js';
export type {
  RetryOptions, NormalizedRetryOptions, BackoffOptions, BackoffSequence, RetryContext, Jitter, RetryOutcome, RetryEvent, GiveUpEvent,
} from './retry.js';
export { RetryBudget } from './retry-budget.js';
export type { RetryBudgetOptions } from './retry-budget.js';
export { classify } from './classify.js';
export type { FailureClass } from './classify.js';
export { retryAfterMs } from './retry-after.js';
export { attemptsSpent } from './error-chain.js';
export { TokenBucket } from './token-bucket.js';
export type { TokenBucketOptions, TakeOptions } from './token-bucket.js';
export { RateLimiter } from './rate-limiter.js';
export type { RateOptions, RateLimiterOptions, RateCharge } from './rate-limiter.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type {
  BreakerOptions, BreakerState, BreakerEvents, BreakerOpenError, BreakerMode, BreakerEvent, BreakEvent, BreakerIsolation, ExecuteOptions,
  WindowBreakerOptions, ConsecutiveBreakerOptions, CountBreakerOptions, SamplingBreakerOptions,
} from './circuit-breaker.js';
