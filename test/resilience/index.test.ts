import { describe, expect, it } from 'vitest';
import * as resilience from '../../lib/resilience/index.js';

describe('resilience index', () => {
  it('re-exports every public policy', () => {
    expect(Object.keys(resilience).sort()).toEqual([
      'CircuitBreaker', 'RateLimiter', 'RetryBudget', 'TokenBucket', 'attemptsSpent', 'backoffDelay', 'backoffSequence',
      'classify',
      'isRetryable', 'normalizeRetryOptions', 'retry', 'retryAfterMs',
    ]);
  });
});
