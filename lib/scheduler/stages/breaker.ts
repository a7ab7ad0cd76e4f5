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
      breaker = new CircuitBreaker({ ...this.options, ...this.keyedHooks(key), name: this.shared.name, now: this.now });
      breaker.key = key;
      this.byKey.set(key, breaker);
    }
    return breaker;
  }

  /**
   * A key went idle: its breaker is kept only while it is not closed, so keys do not pile
   * up. Read without consulting the breaker, so no transition (and no hook) runs here.
   */
  forget(key: string): void {
    const breaker = this.byKey.get(key);
    if (breaker !== undefined && breaker.idle) this.byKey.delete(key);
  }

  // The options' hooks are shared by every key's breaker: each event says whose it is.
  private keyedHooks(key: string): Pick<BreakerOptions, 'onBreak' | 'onReset' | 'onHalfOpen'> {
    const { onBreak, onReset, onHalfOpen } = this.options;
    return {
      onBreak: onBreak === undefined ? undefined : (event) => onBreak({ ...event, key }),
      onReset: onReset === undefined ? undefined : (event) => onReset({ ...event, key }),
      onHalfOpen: onHalfOpen === undefined ? undefined : (event) => onHalfOpen({ ...event, key }),
    };
  }
}
