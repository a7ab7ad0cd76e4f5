// One attempt of a task, from the moment it holds its local slots until its function
// settles: through the global gate, the parent scheduler's budget and the breaker, in
// that order, then back to the core with the outcome.

import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { GlobalGate } from './stages/global-gate.js';
import type { Node } from './task.js';
import type { Context } from './task-context.js';
import type { RunOptions, TaskContext } from './types.js';

/** What an attempt asks of the scheduler that started it. */
export interface AttemptHost {
  _parent(): { run(task: (ctx: TaskContext) => unknown, options: RunOptions): Promise<unknown> } | undefined;
  _parentOptions(ctx: Context, node: Node): RunOptions;
  _finish(node: Node, ctx: Context, ok: boolean, value: unknown): void;
}

export function invoke(s: AttemptHost, node: Node, ctx: Context, breaker: CircuitBreaker | undefined,
  gate: GlobalGate | undefined): void {
  if (breaker === undefined && gate === undefined && s._parent() === undefined) invokePlain(s, node, ctx);
  else void invokeGuarded(s, node, ctx, breaker, gate);
}

// Most attempts pass no gate, breaker or parent: one await and no closure per attempt.
async function invokePlain(s: AttemptHost, node: Node, ctx: Context): Promise<void> {
  let ok = true;
  let value: unknown;
  try {
    value = await node.fn(ctx);
  } catch (err) {
    ok = false;
    value = err;
  }
  s._finish(node, ctx, ok, value);
}

async function invokeGuarded(s: AttemptHost, node: Node, ctx: Context, breaker: CircuitBreaker | undefined,
  gate: GlobalGate | undefined): Promise<void> {
  let ok = true;
  let value: unknown;
  try {
    if (gate !== undefined) {
      ctx.atGate = true;
      ctx.ticket = await gate.enter(ctx, node.x!.tokens);
      ctx.atGate = false;
    }
    const call = (): unknown => (breaker === undefined ? node.fn(ctx) : breaker.execute(async () => node.fn(ctx), {
      // Made only if the attempt has to wait: most attempts never read ctx.signal.
      get signal() {
        return ctx.signal;
      },
      // Waiting on a half-open probe lends the attempt's slots out, as ctx.yield does: one
      // key's probe never holds slots other keys need, and the wait still ends with the
      // attempt's timeout or signal.
      whileWaiting: (wait) => ctx.yield(wait),
    }));
    const parent = s._parent();
    value = await (parent === undefined ? call() : parent.run((pctx) => {
      ctx.parent = pctx as Context;
      // The parent closing without draining stops the child's work too.
      pctx.signal.addEventListener('abort', () => ctx.abort(pctx.signal.reason), { once: true });
      return call();
    }, s._parentOptions(ctx, node)));
  } catch (err) {
    ok = false;
    value = err;
  }
  ctx.leaveGate();
  s._finish(node, ctx, ok, value);
}
