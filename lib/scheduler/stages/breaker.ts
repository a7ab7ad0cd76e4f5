// Circuit breakers in front of the tasks: one for the scheduler, or one per key when tasks
// have keys. The attempt runs inside `execute` (attempt.ts); an open circuit refuses it.

import { CircuitBreaker, type BreakerOptions } from '../../resilience/circuit-breaker.js';

export class BreakerStage {
  private readonly byKey = new Map<string, CircuitBreaker>();

  /** `shared` is built by the facade, so bad breaker options fail at construction, not at the first task. */
  constructor(private readonly options: BreakerOptions, private readonly shared: CircuitBreaker,
    private readonly now: () => number) {}

  forKey(key: string | undefined): CircuitBreaker {
    if (key === undefined) return this.shared;
    let breaker = this.byKey.get(key);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({ ...this.options, now: this.now });
      this.byKey.set(key, breaker);
    }
    return breaker;
  }

  /** A key went idle: its breaker is kept only while it is not closed, so keys do not pile up. */
  forget(key: string): void {
    const breaker = this.byKey.get(key);
    if (breaker !== undefined && breaker.state === 'closed') this.byKey.delete(key);
  }
}
