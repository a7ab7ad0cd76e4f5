// Limits shared with other processes (a GateStore such as RedisStore): an attempt enters
// the gate once it holds its local slots and leaves it when its function settles; a task
// back from ctx.yield() takes only a lease again.

import type { Gate, GateTicket } from '../gate.js';
import type { Context } from '../task-context.js';

export class GlobalGate {
  constructor(private readonly gate: Gate) {}

  enter(ctx: Context, tokens: number): Promise<GateTicket> {
    return this.gate.enter({ key: ctx.key, tokens, signal: ctx.signal });
  }

  /** A lease again after a yield: no second rate charge. */
  enterLease(ctx: Context): Promise<GateTicket> {
    return this.gate.enter({ key: ctx.key, tokens: 0, signal: ctx.signal, leaseOnly: true });
  }

  unavailable(): Error | undefined {
    return this.gate.unavailable();
  }

  /**
   * The scheduler closed and nothing of it runs. The last attempts' leaves must reach the
   * store before close() says we are done, or a process that quits its client right after
   * holds their slots for a whole lease.
   */
  close(done: () => void): void {
    const gate = this.gate;
    if (gate.close === undefined) done();
    else void Promise.resolve().then(() => gate.close!()).then(done, done);
  }
}
