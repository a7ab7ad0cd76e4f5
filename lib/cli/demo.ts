// A short, real run of the scheduler: simulated agents fan out tool calls against a
// simulated provider that only tolerates a fixed number of calls at once, first with a
// naive Promise.all and then through a Scheduler, and prints what each did.

import { Scheduler, type TaskContext } from '../index.js';

export interface DemoOptions {
  agents: number;
  fanout: number;
  concurrency: number;
  out: (line: string) => void;
}

interface Outcome {
  name: string;
  completed: number;
  failed: number;
  refused: number;
  peakInFlight: number;
  wallMs: number;
}

/** A provider that answers in 2–12 ms and refuses work beyond `capacity` calls in flight. */
class FakeProvider {
  inFlight = 0;
  peak = 0;
  refused = 0;
  private seed = 42;

  constructor(private readonly capacity: number) {}

  async call(signal?: AbortSignal): Promise<string> {
    if (this.inFlight >= this.capacity) {
      this.refused++;
      throw Object.assign(new Error('429 Too Many Requests'), { status: 429 });
    }
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    try {
      await sleep(2 + (this.random() % 10), signal);
      return 'ok';
    } finally {
      this.inFlight--;
    }
  }

  private random(): number {
    // Deterministic so two runs of the demo print the same counts.
    this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31;
    return this.seed;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

async function naive(opts: DemoOptions, provider: FakeProvider): Promise<Outcome> {
  const t0 = performance.now();
  let completed = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: opts.agents }, async () => {
    try {
      await provider.call();
      await Promise.all(Array.from({ length: opts.fanout }, () => provider.call()));
      await provider.call();
      completed++;
    } catch {
      failed++;
    }
  }));
  return { name: 'Promise.all', completed, failed, refused: provider.refused, peakInFlight: provider.peak,
    wallMs: performance.now() - t0 };
}

async function scheduled(opts: DemoOptions, provider: FakeProvider): Promise<Outcome> {
  const s = new Scheduler({ concurrency: opts.concurrency, perKey: Math.max(1, Math.floor(opts.concurrency / 4)) });
  const t0 = performance.now();
  let completed = 0;
  let failed = 0;
  const call = (agent: string, priority: number) =>
    s.run((ctx: TaskContext) => provider.call(ctx.signal), { key: agent, priority, timeout: 1_000 });
  await Promise.all(Array.from({ length: opts.agents }, async (_, i) => {
    const agent = `agent-${i}`;
    try {
      await call(agent, 0);
      await Promise.all(Array.from({ length: opts.fanout }, () => call(agent, 0)));
      // Finishing an agent frees everything it holds, so its last step goes first.
      await call(agent, 1);
      completed++;
    } catch {
      failed++;
    }
  }));
  await s.close();
  return { name: 'ringleader Scheduler', completed, failed, refused: provider.refused,
    peakInFlight: provider.peak, wallMs: performance.now() - t0 };
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const { out } = opts;
  const calls = opts.agents * (opts.fanout + 2);
  out(`${opts.agents} agents × (plan + ${opts.fanout} tool calls + synthesize) = ${calls} calls`);
  out(`simulated provider: refuses (429) beyond ${opts.concurrency} calls in flight`);
  out('');
  const results = [
    await naive(opts, new FakeProvider(opts.concurrency)),
    await scheduled(opts, new FakeProvider(opts.concurrency)),
  ];
  const header = ['strategy', 'agents done', 'agents failed', '429s', 'peak in flight', 'wall ms'];
  const rows = results.map((r) => [r.name, r.completed, r.failed, r.refused, r.peakInFlight, r.wallMs.toFixed(0)]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c]).length)));
  const line = (r: Array<string | number>) => r.map((v, c) => String(v).padEnd(widths[c]!)).join('  ');
  out(line(header));
  for (const r of rows) out(line(r));
  out('');
  const [p, s] = results as [Outcome, Outcome];
  out(`ringleader finished ${s.completed}/${opts.agents} agents with ${s.refused} refusals; ` +
    `Promise.all finished ${p.completed}/${opts.agents} with ${p.refused}.`);
}
